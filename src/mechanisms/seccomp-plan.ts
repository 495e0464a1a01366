/**
 * Model → launch steps for the seccomp mechanism (see src/plan/context.ts).
 *
 * Every seccomp-based directive is compiled into one BPF program (src/mechanisms/seccomp.ts; several only
 * when it would exceed BPF_MAXINSNS) that the child installs. Where, and whether no_new_privs comes with
 * it, follows systemd (exec-invoke.c, v255):
 *
 * - systemd installs its filters after setresuid() and chdir(), as the last thing before execve(), and sets
 *   NoNewPrivileges only when the process lacks CAP_SYS_ADMIN then (context_has_no_new_privileges()).
 * - For a service with User= (a non-root uid), a privileged manager keeps CAP_SYS_ADMIN across setresuid()
 *   (PR_SET_KEEPCAPS, keep_seccomp_privileges) when the filter allows the capget/capset/prctl calls it
 *   needs to drop it again afterwards (seccomp_allows_drop_privileges()); so NoNewPrivs stays 0
 *   (test-execute: exec-systemcallfilter-nonewprivileges*.service). Otherwise it falls back to NNP.
 *
 * We get the same outcome by installing such a service's filter *before* the uid switch (PHASE
 * .seccompBeforeUser), while the child is still root: the service sees the same filter and NoNewPrivs 0,
 * and the capability sets are never widened. The condition mirrors systemd's: the filter must let the
 * launcher's remaining calls through (the @setuid calls, capget, capset, prctl, chdir); else the filter
 * goes last with an implied no_new_privs, as systemd's fallback does.
 *
 * An unprivileged supervisor (no CAP_SYS_ADMIN) always gets the implied no_new_privs, before the filter.
 * NoNewPrivileges=yes itself is the credentials mechanism's step; a duplicate prctl is harmless.
 */
import type { Step } from '../launch/plan.js';
import type { BuildContext, Fragment, PlannedStep } from '../plan/context.js';
import { currentPersonality } from '../sys/libc-seccomp.js';
import { AUDIT_ARCH, syscallNumber, type SyscallArch } from '../unit/values/syscalls.js';
import { expandSyscallGroup } from '../unit/values/syscall-groups.js';
import { decodeFilter } from './bpf.js';
import { runSeccompFilter } from './bpf-run.js';
import {
  compileSeccomp, programsToBase64, sandboxSeccompFields, seccompPolicyFromSandbox, SeccompPolicyError,
  type CompiledSeccomp, type SeccompArch,
} from './seccomp.js';
import { actionRank, SECCOMP_RET_LOG } from './seccomp-rules.js';

/** Sandbox fields whose seccomp part this fragment enforces (the model's order of precedence for error messages). */
export const SECCOMP_FIELDS = [
  'sandbox.system_call_filter',
  'sandbox.system_call_error_number',
  'sandbox.system_call_architectures',
  'sandbox.system_call_log',
  'sandbox.restrict_address_families',
  'sandbox.restrict_namespaces',
  'sandbox.lock_personality',
  'sandbox.memory_deny_write_execute',
  'sandbox.restrict_realtime',
  'sandbox.restrict_suid_sgid',
  // Composite directives: the other parts are other mechanisms' (see the report / build.ts).
  'sandbox.protect_clock',
  'sandbox.protect_hostname',
  'sandbox.protect_kernel_modules',
  'sandbox.protect_kernel_logs',
  'sandbox.protect_kernel_tunables',
  'sandbox.private_devices',
] as const;

/** Calls the launcher makes after a `seccomp-before-user` install and before execve (credentials, capabilities, cwd). */
export const CALLS_AFTER_EARLY_INSTALL: readonly string[] = [...(expandSyscallGroup('@setuid') ?? []), 'capget', 'capset', 'prctl', 'chdir'];

function seccompArchOf(name: 'x86_64' | 'aarch64'): SeccompArch {
  return name === 'x86_64' ? 'x86-64' : 'arm64';
}

/** Does every program let the native call `name` through (ALLOW or LOG), with all-zero arguments? */
export function programsAllow(compiled: CompiledSeccomp, arch: SeccompArch, name: string): boolean {
  const nr = syscallNumber(name, arch as SyscallArch);
  if (nr === undefined) return true; // the ABI has no such call (e.g. setuid32 on x86-64)
  const data = { nr, arch: AUDIT_ARCH[arch as SyscallArch], args: [] };
  return compiled.programs.every((p) => actionRank(runSeccompFilter(decodeFilter(p.filter), data)) >= actionRank(SECCOMP_RET_LOG));
}

/** Split programs: the native ABI's own program last, so it cannot refuse the seccomp() of the others. */
function installOrder(compiled: CompiledSeccomp, arch: SeccompArch): string[] {
  const b64 = programsToBase64(compiled);
  const isNative = (i: number): boolean => compiled.programs[i]!.covers === arch;
  return [...b64.filter((_, i) => !isNative(i)), ...b64.filter((_, i) => isNative(i))];
}

function fieldOfError(message: string): string {
  const m = /^(sandbox\.[a-z_]+):/.exec(message);
  return m?.[1] ?? 'sandbox';
}

export interface SeccompPlacement {
  /** 'last': PHASE.seccomp; 'before-user': PHASE.seccompBeforeUser. */
  readonly where: 'last' | 'before-user';
  /** An implied PR_SET_NO_NEW_PRIVS before the filter. */
  readonly noNewPrivs: boolean;
}

/** Where the filter goes and whether no_new_privs is implied (see the module comment). */
export function seccompPlacement(ctx: Pick<BuildContext, 'supervisorPrivileged' | 'identity'>, compiled: CompiledSeccomp, arch: SeccompArch): SeccompPlacement {
  if (!ctx.supervisorPrivileged) return { where: 'last', noNewPrivs: true };
  const switchesToNonRoot = ctx.identity !== undefined && ctx.identity.uid !== 0;
  if (!switchesToNonRoot) return { where: 'last', noNewPrivs: false };
  // PrivateUsers='s namespace (PHASE.userNamespace) comes before: the process then has CAP_SYS_ADMIN in it.
  if (CALLS_AFTER_EARLY_INSTALL.every((name) => programsAllow(compiled, arch, name))) return { where: 'before-user', noNewPrivs: false };
  return { where: 'last', noNewPrivs: true };
}

/**
 * Compiled programs by policy input: a service's filter is the same for each of
 * its commands and restarts, and compiling @system-service-sized filters costs
 * tens of milliseconds of supervisor time.
 */
const compiledCache = new Map<string, { compiled: CompiledSeccomp; policyWarnings: string[] }>();
const CACHE_MAX = 128;

function compileCached(fields: ReturnType<typeof sandboxSeccompFields>, arch: ReturnType<typeof seccompArchOf>, persona: number | undefined): { compiled: CompiledSeccomp; policyWarnings: string[] } {
  const key = JSON.stringify([fields, arch, persona ?? null]);
  const hit = compiledCache.get(key);
  if (hit) return hit;
  const policyWarnings: string[] = [];
  const policy = seccompPolicyFromSandbox(fields, {
    arch,
    ...(persona !== undefined ? { currentPersonality: persona } : {}),
    warn: (m) => policyWarnings.push(m),
  });
  const entry = { compiled: compileSeccomp(policy), policyWarnings };
  if (compiledCache.size >= CACHE_MAX) compiledCache.delete(compiledCache.keys().next().value as string);
  compiledCache.set(key, entry);
  return entry;
}

function build(ctx: BuildContext): PlannedStep[] {
  if (!ctx.sandbox) return [];
  const { svc } = ctx;
  const requested = SECCOMP_FIELDS.filter((f) => svc.has(f));
  if (requested.length === 0) return [];
  const arch = seccompArchOf(ctx.arch.name);
  let compiled: CompiledSeccomp;
  try {
    const fields = sandboxSeccompFields(svc.obj('sandbox'));
    const entry = compileCached(fields, arch, currentPersonality());
    for (const m of entry.policyWarnings) ctx.warn('sandbox.system_call_log', m);
    compiled = entry.compiled;
  } catch (e) {
    if (e instanceof SeccompPolicyError) svc.error(fieldOfError(e.message), e.message);
    if (e instanceof Error) svc.error(requested[0]!, `cannot compile the seccomp filter: ${e.message}`);
    throw e;
  }
  for (const w of compiled.warnings) ctx.warn('sandbox.system_call_architectures', w);

  const out: PlannedStep[] = [];
  // RestrictRealtime= also sets RLIMIT_RTPRIO to 0 unless LimitRTPRIO= says otherwise (systemd, exec-invoke.c).
  if (svc.bool('sandbox.restrict_realtime') === true && !svc.has('limits.rlimits.rtprio'))
    out.push({ step: { op: 'setrlimit', resource: 'rtprio', soft: 0, hard: 0 }, field: 'sandbox.restrict_realtime' });
  if (compiled.programs.length === 0) return out;

  const field = requested[0]!;
  const programs = installOrder(compiled, arch);
  const place = seccompPlacement(ctx, compiled, arch);
  if (place.noNewPrivs) out.push({ step: { op: 'seccomp-no-new-privs' }, field });
  const install: Step = place.where === 'before-user' ? { op: 'seccomp-before-user', programs } : { op: 'seccomp', programs };
  out.push({ step: install, field });
  return out;
}

export const seccompFragment: Fragment = {
  name: 'seccomp',
  fields: SECCOMP_FIELDS,
  build,
};
