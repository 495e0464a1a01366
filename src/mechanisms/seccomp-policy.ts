/**
 * The seccomp policy of one service: every sandbox directive systemd enforces with seccomp, in a typed,
 * already-merged form, and its derivation from the YAML model's `sandbox` fields
 * (compat/sysg.schema.json `$defs.service.properties.sandbox`).
 *
 * systemd's executor (exec-invoke.c, v255) installs one libseccomp filter per directive and per ABI;
 * src/mechanisms/seccomp-rules.ts mirrors those filters and src/mechanisms/seccomp.ts compiles them.
 */
import { resolveSyscallFilterLines } from '../compat/types-security.js';
import { ValueError } from '../unit/diagnostics.js';
import { addressFamilyFromName, type AddressFamilyPolicy } from '../unit/values/families.js';
import { NAMESPACE_FLAGS_ALL, NAMESPACE_TYPES } from '../unit/values/namespaces.js';
import { PER_LINUX, PER_LINUX32, parsePersonality } from '../unit/values/personality.js';
import {
  applySyscallLog, nativeSyscallArch, parseSyscallErrorNumber, parseSyscallLog,
  type SyscallErrnoAction, type SyscallFilterState, type SyscallLogState,
} from '../unit/values/syscalls.js';

/** Native architectures we compile for (systemd's names). */
export type SeccompArch = 'x86-64' | 'arm64';

export interface SeccompSyscallFilter {
  /** Merged SystemCallFilter= (names; resolved to numbers per ABI when compiling). */
  readonly state: SyscallFilterState;
  /** SystemCallErrorNumber=: an errno 1…4095 or "kill" (systemd's default: SCMP_ACT_KILL_PROCESS). */
  readonly errorNumber: SyscallErrnoAction;
}

export interface SeccompPolicy {
  readonly arch: SeccompArch;
  /**
   * SystemCallArchitectures=: names as systemd accepts them ("native", "x86", "x32", "x86-64", "arm", …).
   * Undefined or empty: every ABI the kernel runs stays usable (and gets the same filters).
   */
  readonly architectures?: readonly string[];
  readonly syscallFilter?: SeccompSyscallFilter;
  readonly syscallLog?: SyscallLogState;
  /** RestrictAddressFamilies= (undefined or {kind:'unrestricted'}: none). */
  readonly addressFamilies?: AddressFamilyPolicy;
  /** RestrictNamespaces=: the CLONE_NEW* flags that stay allowed; undefined = not restricted. */
  readonly namespacesAllowed?: number;
  readonly memoryDenyWriteExecute?: boolean;
  readonly restrictRealtime?: boolean;
  /** LockPersonality=: the personality calls may still set (PER_LINUX or PER_LINUX32); undefined = unlocked. */
  readonly lockPersonality?: number;
  readonly restrictSuidSgid?: boolean;
  readonly protectClock?: boolean;
  readonly protectKernelModules?: boolean;
  readonly protectKernelLogs?: boolean;
  /** ProtectKernelTunables=: systemd also blocks the legacy _sysctl() with seccomp. */
  readonly protectKernelTunables?: boolean;
  readonly protectHostname?: boolean;
  /** PrivateDevices=: systemd also blocks @raw-io with EPERM. */
  readonly privateDevices?: boolean;
  /**
   * Syscalls the launcher itself needs between installing the filter and execve(), kept out of a
   * SystemCallFilter= deny-list and added to an allow-list (systemd does this for "write", which its
   * exec_fd/handoff pipe needs; our launcher reports exec failures through a pipe the same way).
   * Default: ["write"].
   */
  readonly keepSyscalls?: readonly string[];
}

/** The `sandbox` fields this module reads, with their YAML shapes. */
export interface SandboxSeccompFields {
  readonly system_call_filter?: readonly string[];
  readonly system_call_error_number?: string;
  readonly system_call_architectures?: readonly string[];
  readonly system_call_log?: readonly string[];
  readonly restrict_address_families?: { readonly allow: readonly string[] } | { readonly deny: readonly string[] };
  readonly restrict_namespaces?: boolean | { readonly allow: readonly string[] };
  readonly memory_deny_write_execute?: boolean;
  readonly restrict_realtime?: boolean;
  readonly lock_personality?: boolean;
  readonly personality?: string;
  readonly restrict_suid_sgid?: boolean;
  readonly protect_clock?: boolean;
  readonly protect_kernel_modules?: boolean;
  readonly protect_kernel_logs?: boolean;
  readonly protect_kernel_tunables?: boolean;
  readonly protect_hostname?: boolean;
  readonly private_devices?: boolean;
}

export class SeccompPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeccompPolicyError';
  }
}

export interface SeccompPolicyOptions {
  /** Defaults to the architecture Node runs on. */
  readonly arch?: SeccompArch;
  /**
   * The personality the launcher runs with, for LockPersonality= without Personality= (systemd's
   * opinionated_personality(): PER_LINUX32 if the low byte says so, else PER_LINUX). Default PER_LINUX.
   */
  readonly currentPersonality?: number;
  readonly keepSyscalls?: readonly string[];
  /** Receives systemd's warnings for ignored words in SystemCallLog= lines. */
  readonly warn?: (message: string) => void;
}

/** The native architecture, or a SeccompPolicyError where we have no syscall table. */
export function nativeSeccompArch(nodeArch: string = process.arch): SeccompArch {
  const a = nativeSyscallArch(nodeArch);
  if (a === 'x86-64' || a === 'arm64') return a;
  throw new SeccompPolicyError(`seccomp filters are not supported on ${nodeArch}`);
}

const BOOL_FIELDS = [
  'memory_deny_write_execute', 'restrict_realtime', 'lock_personality', 'restrict_suid_sgid', 'protect_clock',
  'protect_kernel_modules', 'protect_kernel_logs', 'protect_kernel_tunables', 'protect_hostname', 'private_devices',
] as const;
const LIST_FIELDS = ['system_call_filter', 'system_call_architectures', 'system_call_log'] as const;

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Narrows an untyped `sandbox` object (e.g. from a loaded manifest); throws SeccompPolicyError on a bad shape. */
export function sandboxSeccompFields(sandbox: unknown): SandboxSeccompFields {
  if (sandbox === undefined || sandbox === null) return {};
  if (typeof sandbox !== 'object' || Array.isArray(sandbox)) throw new SeccompPolicyError('sandbox: expected a mapping');
  const s = sandbox as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new SeccompPolicyError(`sandbox.${field}: expected ${want}`);
  };
  for (const f of BOOL_FIELDS) if (s[f] !== undefined && typeof s[f] !== 'boolean') bad(f, 'a boolean');
  for (const f of LIST_FIELDS) if (s[f] !== undefined && !isStringList(s[f])) bad(f, 'a list of strings');
  for (const f of ['system_call_error_number', 'personality'] as const)
    if (s[f] !== undefined && typeof s[f] !== 'string') bad(f, 'a string');
  const raf = s.restrict_address_families;
  if (raf !== undefined) {
    const o = raf as Record<string, unknown>;
    const keys = typeof raf === 'object' && raf !== null ? Object.keys(o) : [];
    if (keys.length !== 1 || !['allow', 'deny'].includes(keys[0]!) || !isStringList(o[keys[0]!]))
      bad('restrict_address_families', '{allow: [...]} or {deny: [...]}');
  }
  const rn = s.restrict_namespaces;
  if (rn !== undefined && typeof rn !== 'boolean') {
    const o = rn as Record<string, unknown>;
    if (typeof rn !== 'object' || rn === null || Object.keys(o).join() !== 'allow' || !isStringList(o.allow))
      bad('restrict_namespaces', 'a boolean or {allow: [...]}');
  }
  return s as SandboxSeccompFields;
}

function addressFamiliesOf(v: SandboxSeccompFields['restrict_address_families']): AddressFamilyPolicy | undefined {
  if (v === undefined) return undefined;
  const allow = 'allow' in v;
  const names = allow ? v.allow : v.deny;
  const families = names.map((n) => {
    const af = addressFamilyFromName(n);
    if (af === undefined) throw new SeccompPolicyError(`sandbox.restrict_address_families: unknown address family '${n}'`);
    return af;
  });
  const sorted = [...new Set(families)].sort((a, b) => a - b);
  if (allow) return { kind: 'allow', families: sorted };
  return sorted.length === 0 ? { kind: 'unrestricted' } : { kind: 'deny', families: sorted };
}

function namespacesOf(v: SandboxSeccompFields['restrict_namespaces']): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 0;
  let mask = 0;
  for (const name of v.allow) {
    const t = NAMESPACE_TYPES.find((n) => n.name === name);
    if (t === undefined) throw new SeccompPolicyError(`sandbox.restrict_namespaces: unknown namespace type '${name}'`);
    mask |= t.flag;
  }
  return (mask & NAMESPACE_FLAGS_ALL) === NAMESPACE_FLAGS_ALL ? undefined : mask;
}

function syscallLogOf(lines: readonly string[] | undefined, warn: (m: string) => void): SyscallLogState | undefined {
  let state: SyscallLogState | undefined;
  for (const line of lines ?? []) {
    const parsed = line === '' ? undefined : parseSyscallLog(line);
    parsed?.warnings.forEach(warn);
    state = applySyscallLog(state, parsed, line === '');
  }
  return state;
}

/** The seccomp policy of a service's `sandbox` (YAML model). Throws SeccompPolicyError on invalid values. */
export function seccompPolicyFromSandbox(sandbox: SandboxSeccompFields, opts: SeccompPolicyOptions = {}): SeccompPolicy {
  const arch = opts.arch ?? nativeSeccompArch();
  const warn = opts.warn ?? ((): void => {});

  const filterState = sandbox.system_call_filter === undefined ? undefined : resolveSyscallFilterLines(sandbox.system_call_filter);
  let errorNumber: SyscallErrnoAction = 'kill';
  if (sandbox.system_call_error_number !== undefined) {
    try {
      errorNumber = parseSyscallErrorNumber(sandbox.system_call_error_number);
    } catch (e) {
      if (e instanceof ValueError) throw new SeccompPolicyError(`sandbox.system_call_error_number: ${e.message}`);
      throw e;
    }
  }

  let lockPersonality: number | undefined;
  if (sandbox.lock_personality === true) {
    if (sandbox.personality !== undefined) {
      try {
        lockPersonality = parsePersonality(sandbox.personality, arch);
      } catch (e) {
        if (e instanceof ValueError) throw new SeccompPolicyError(`sandbox.personality: ${e.message}`);
        throw e;
      }
    }
    // opinionated_personality(): only PER_LINUX and PER_LINUX32 are told apart (mask 0xff).
    lockPersonality ??= ((opts.currentPersonality ?? PER_LINUX) & 0xff) === PER_LINUX32 ? PER_LINUX32 : PER_LINUX;
  }

  const archs = sandbox.system_call_architectures;
  return {
    arch,
    ...(archs !== undefined && archs.length > 0 ? { architectures: [...archs] } : {}),
    ...(filterState !== undefined ? { syscallFilter: { state: filterState, errorNumber } } : {}),
    ...optional('syscallLog', syscallLogOf(sandbox.system_call_log, warn)),
    ...optional('addressFamilies', addressFamiliesOf(sandbox.restrict_address_families)),
    ...optional('namespacesAllowed', namespacesOf(sandbox.restrict_namespaces)),
    ...optional('lockPersonality', lockPersonality),
    memoryDenyWriteExecute: sandbox.memory_deny_write_execute === true,
    restrictRealtime: sandbox.restrict_realtime === true,
    restrictSuidSgid: sandbox.restrict_suid_sgid === true,
    protectClock: sandbox.protect_clock === true,
    protectKernelModules: sandbox.protect_kernel_modules === true,
    protectKernelLogs: sandbox.protect_kernel_logs === true,
    protectKernelTunables: sandbox.protect_kernel_tunables === true,
    protectHostname: sandbox.protect_hostname === true,
    privateDevices: sandbox.private_devices === true,
    keepSyscalls: [...(opts.keepSyscalls ?? ['write'])],
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
