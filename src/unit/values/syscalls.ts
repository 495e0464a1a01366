/**
 * System call filtering directives as systemd v255 reads them: SystemCallFilter=, SystemCallLog=,
 * SystemCallErrorNumber=, SystemCallArchitectures=, plus syscall name ↔ number lookups per architecture.
 *
 * Sources (systemd v255): config_parse_syscall_filter(), config_parse_syscall_log(),
 * config_parse_syscall_errno(), config_parse_syscall_archs() in src/core/load-fragment.c;
 * seccomp_parse_syscall_filter(), parse_syscall_and_errno(), seccomp_arch_from_string(),
 * seccomp_load_syscall_filter_set_raw(), seccomp_restrict_archs() in src/shared/seccomp-util.c;
 * apply_syscall_filter()/apply_syscall_log() in src/core/exec-invoke.c. Group tables: ./syscall-groups.ts,
 * numbers: ./syscall-tables.ts (generated from the kernel headers).
 *
 * Filter semantics (what the apply/resolve helpers implement):
 *  - The first non-empty assignment picks the mode: a plain list starts an allow-list and implicitly adds
 *    @default; a "~" list starts a deny-list. The empty assignment resets everything (no filter).
 *  - Later lines never change the mode: a line of the same polarity adds syscalls, a line of the other
 *    polarity removes them — except that "~name:ERRNO" (or ":kill") in allow-list mode adds `name` with
 *    that action instead of removing it (test-execute's exec-systemcallfilter-with-errno-in-allow-list).
 *  - "name:ERRNO" is only valid in "~" lines; in a plain line systemd warns and skips the word. The
 *    last action given for a syscall wins. ERRNO is an errno name, a number 0..4095, or "kill".
 *  - Unknown syscall names and unknown @groups are skipped with a warning; the rest of the line applies.
 *    Words are split on whitespace without unquoting (extract_first_word() with no flags).
 *  - At exec time (resolve*): allow-list → default action = SystemCallErrorNumber= (kill when unset),
 *    listed syscalls allowed; deny-list → default allow, listed syscalls get SystemCallErrorNumber=.
 *    A per-syscall ":ERRNO"/":kill" overrides either. A deny-list without entries installs no filter.
 *    Names are resolved per architecture; names an architecture does not have are skipped silently.
 *
 * The state keys syscalls by name, not by number: systemd resolves names to native numbers, but libseccomp
 * translates them back by name for every other architecture, so name keys are equivalent.
 */
import { ValueError } from '../diagnostics.js';
import { EXTRACT_UNQUOTE, ExtractError, extractFirstWord } from '../words.js';
import { parseErrno } from './errno.js';
import { expandSyscallGroup, isSyscallGroup, KERNEL_SYSCALL_LIST, SYSCALL_GROUPS } from './syscall-groups.js';
import { SYSCALLS_ARM64, SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64, type SyscallTableRows } from './syscall-tables.js';

// ---------------------------------------------------------------------------------------------------------
// Architectures and tables

/** Architectures we have syscall tables for (systemd's seccomp architecture names). */
export type SyscallArch = 'x86-64' | 'x86' | 'x32' | 'arm64';
export const SYSCALL_ARCHES: readonly SyscallArch[] = Object.freeze(['x86-64', 'x86', 'x32', 'arm64'] as const);

/** AUDIT_ARCH_* values seccomp_data.arch carries (linux/audit.h). x32 shares x86-64's and sets X32_SYSCALL_BIT. */
export const AUDIT_ARCH: Readonly<Record<SyscallArch, number>> = Object.freeze({
  'x86-64': 0xc000003e,
  x86: 0x40000003,
  x32: 0xc000003e,
  arm64: 0xc00000b7,
});
export const X32_SYSCALL_BIT = 0x40000000;

interface Table {
  readonly byName: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, string>;
}

function indexTable(rows: SyscallTableRows): Table {
  return { byName: new Map(rows), byNumber: new Map(rows.map(([n, nr]) => [nr, n])) };
}

const TABLES: Readonly<Record<SyscallArch, Table>> = {
  'x86-64': indexTable(SYSCALLS_X86_64),
  x86: indexTable(SYSCALLS_X86),
  x32: indexTable(SYSCALLS_X32),
  arm64: indexTable(SYSCALLS_ARM64),
};

/** The syscall number of `name` on `arch` (x32 numbers include X32_SYSCALL_BIT). */
export function syscallNumber(name: string, arch: SyscallArch): number | undefined {
  return TABLES[arch].byName.get(name);
}

export function syscallName(nr: number, arch: SyscallArch): string | undefined {
  return TABLES[arch].byNumber.get(nr);
}

/** Every syscall name of `arch`, ordered by number. */
export function syscallNames(arch: SyscallArch): string[] {
  return [...TABLES[arch].byName.keys()];
}

/**
 * Names libseccomp would resolve (an approximation of its all-architecture table): every name in our
 * per-architecture tables, systemd's syscall-list.txt, and every syscall named by a group.
 */
const KNOWN_NAMES: ReadonlySet<string> = new Set([
  ...KERNEL_SYSCALL_LIST,
  ...SYSCALL_ARCHES.flatMap((a) => [...TABLES[a].byName.keys()]),
  ...[...SYSCALL_GROUPS.values()].flatMap((g) => g.members.filter((m) => !m.startsWith('@'))),
]);

export function isKnownSyscall(name: string): boolean {
  return KNOWN_NAMES.has(name);
}

/** Our table for the architecture Node runs on, if we have one. */
export function nativeSyscallArch(arch: string = process.arch): SyscallArch | undefined {
  if (arch === 'x64') return 'x86-64';
  if (arch === 'arm64') return 'arm64';
  if (arch === 'ia32') return 'x86';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Shared pieces

/** A per-syscall action: an errno (0..4095; 0 makes the call a successful no-op) or "kill". */
export type SyscallErrnoAction = number | 'kill';

/** What a BPF filter does for a call. "kill" is SCMP_ACT_KILL_PROCESS. */
export type SeccompAction =
  | { readonly kind: 'allow' }
  | { readonly kind: 'kill' }
  | { readonly kind: 'log' }
  | { readonly kind: 'errno'; readonly errno: number };

const ALLOW: SeccompAction = Object.freeze({ kind: 'allow' });
const KILL: SeccompAction = Object.freeze({ kind: 'kill' });
const LOG: SeccompAction = Object.freeze({ kind: 'log' });

function actionOf(e: SyscallErrnoAction): SeccompAction {
  return e === 'kill' ? KILL : { kind: 'errno', errno: e };
}

export interface ResolvedSyscallFilter {
  readonly arch: SyscallArch;
  readonly defaultAction: SeccompAction;
  /** Syscall number on `arch` → action, for every listed syscall that exists there. */
  readonly syscalls: ReadonlyMap<number, SeccompAction>;
}

/** Words of `value` until the end or a splitting error (whose message is returned too). */
function wordsOf(value: string, flags: number): { words: string[]; error?: string } {
  const words: string[] = [];
  let pos: number | null = 0;
  for (;;) {
    try {
      const r = extractFirstWord(value, pos, null, flags);
      if (r.word === null) return { words };
      words.push(r.word);
      pos = r.pos;
    } catch (e) {
      if (e instanceof ExtractError) return { words, error: e.message };
      throw e;
    }
  }
}

/** The syscall names an entry stands for (groups expanded, unknown groups empty). */
function namesOf(entry: string): readonly string[] {
  return entry.startsWith('@') ? (expandSyscallGroup(entry) ?? []) : [entry];
}

// ---------------------------------------------------------------------------------------------------------
// SystemCallFilter=

export interface SyscallFilterEntry {
  /** A syscall name or an @group. */
  readonly name: string;
  /** ":ERRNO" / ":kill" suffix (only in "~" lines). */
  readonly errno?: SyscallErrnoAction;
}

export interface ParsedSyscallFilter {
  readonly invert: boolean;
  /** Valid entries in order; skipped words are in `warnings`. */
  readonly entries: readonly SyscallFilterEntry[];
  /** systemd's warnings for skipped words ("Failed to parse system call, ignoring: fexecve"). */
  readonly warnings: readonly string[];
}

/** parse_syscall_and_errno(): "name" or "name:ERRNO"; throws ValueError. */
export function parseSyscallAndErrno(word: string): SyscallFilterEntry {
  const colon = word.indexOf(':');
  const name = colon < 0 ? word : word.slice(0, colon);
  let errno: SyscallErrnoAction | undefined;
  if (colon >= 0) {
    const e = word.slice(colon + 1);
    errno = e === 'kill' ? 'kill' : parseErrno(e);
  }
  if (name === '') throw new ValueError(`Empty system call name: ${word}`);
  return errno === undefined ? { name } : { name, errno };
}

/** One non-empty SystemCallFilter= value. Never throws: bad words become warnings, as in systemd. */
export function parseSyscallFilter(value: string): ParsedSyscallFilter {
  const invert = value.startsWith('~');
  const { words, error } = wordsOf(invert ? value.slice(1) : value, 0);
  const entries: SyscallFilterEntry[] = [];
  const warnings: string[] = [];
  for (const word of words) {
    let entry: SyscallFilterEntry;
    try {
      entry = parseSyscallAndErrno(word);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      warnings.push(`Failed to parse syscall:errno, ignoring: ${word}`);
      continue;
    }
    if (!invert && entry.errno !== undefined) {
      warnings.push(`Allow-listed system calls cannot take error number, ignoring: ${word}`);
      continue;
    }
    if (entry.name.startsWith('@')) {
      if (!isSyscallGroup(entry.name)) {
        warnings.push(`Unknown system call group, ignoring: ${entry.name}`);
        continue;
      }
    } else if (!isKnownSyscall(entry.name)) {
      warnings.push(`Failed to parse system call, ignoring: ${entry.name}`);
      continue;
    }
    entries.push(entry);
  }
  if (error !== undefined) warnings.push(`Invalid syntax, ignoring: ${value} (${error})`);
  return { invert, entries, warnings };
}

export interface SyscallFilterState {
  /** true: only listed syscalls run; false: listed syscalls are denied. */
  readonly allowList: boolean;
  /** Syscall name → its own action (undefined: the mode's listed-syscall action). Groups are expanded. */
  readonly syscalls: ReadonlyMap<string, SyscallErrnoAction | undefined>;
}

/**
 * Merges one SystemCallFilter= assignment into the state (undefined = never assigned / reset). Pure:
 * returns a new state.
 */
export function applySyscallFilter(
  state: SyscallFilterState | undefined,
  parsed: ParsedSyscallFilter | undefined,
  isEmptyAssignment = false,
): SyscallFilterState | undefined {
  if (isEmptyAssignment || parsed === undefined) return undefined;
  const allowList = state === undefined ? !parsed.invert : state.allowList;
  const syscalls = new Map(state?.syscalls ?? []);
  if (state === undefined && allowList) for (const n of namesOf('@default')) syscalls.set(n, undefined);
  for (const entry of parsed.entries) {
    const add = !parsed.invert === allowList || (parsed.invert && allowList && entry.errno !== undefined);
    for (const n of namesOf(entry.name)) {
      if (add) syscalls.set(n, entry.errno);
      else syscalls.delete(n);
    }
  }
  return { allowList, syscalls };
}

/**
 * The filter systemd would load for `arch`, or undefined when it loads none. `errorNumber` is
 * SystemCallErrorNumber= ("kill" when unset).
 */
export function resolveSyscallFilter(
  state: SyscallFilterState | undefined,
  arch: SyscallArch,
  errorNumber: SyscallErrnoAction = 'kill',
): ResolvedSyscallFilter | undefined {
  if (state === undefined || (!state.allowList && state.syscalls.size === 0)) return undefined;
  const negative = actionOf(errorNumber);
  const listed = state.allowList ? ALLOW : negative;
  const syscalls = new Map<number, SeccompAction>();
  for (const [name, own] of state.syscalls) {
    const nr = syscallNumber(name, arch);
    if (nr !== undefined) syscalls.set(nr, own === undefined ? listed : actionOf(own));
  }
  return { arch, defaultAction: state.allowList ? negative : ALLOW, syscalls };
}

// ---------------------------------------------------------------------------------------------------------
// SystemCallLog=

export interface ParsedSyscallLog {
  readonly invert: boolean;
  /** Syscall names and @groups. */
  readonly names: readonly string[];
  readonly warnings: readonly string[];
}

/** One non-empty SystemCallLog= value: like SystemCallFilter= but without ":ERRNO" (a colon makes an unknown name). */
export function parseSyscallLog(value: string): ParsedSyscallLog {
  const invert = value.startsWith('~');
  const { words, error } = wordsOf(invert ? value.slice(1) : value, 0);
  const names: string[] = [];
  const warnings: string[] = [];
  for (const w of words) {
    if (w.startsWith('@') && !isSyscallGroup(w)) warnings.push(`Unknown system call group, ignoring: ${w}`);
    else if (!w.startsWith('@') && !isKnownSyscall(w)) warnings.push(`Failed to parse system call, ignoring: ${w}`);
    else names.push(w);
  }
  if (error !== undefined) warnings.push(`Invalid syntax, ignoring: ${value} (${error})`);
  return { invert, names, warnings };
}

export interface SyscallLogState {
  /** true: log only the listed syscalls; false: log everything but them. */
  readonly allowList: boolean;
  readonly syscalls: ReadonlySet<string>;
}

/** config_parse_syscall_log(): first line picks the mode (no implicit @default), later lines add/remove. */
export function applySyscallLog(
  state: SyscallLogState | undefined,
  parsed: ParsedSyscallLog | undefined,
  isEmptyAssignment = false,
): SyscallLogState | undefined {
  if (isEmptyAssignment || parsed === undefined) return undefined;
  const allowList = state === undefined ? !parsed.invert : state.allowList;
  const syscalls = new Set(state?.syscalls ?? []);
  const add = !parsed.invert === allowList;
  for (const entry of parsed.names)
    for (const n of namesOf(entry)) {
      if (add) syscalls.add(n);
      else syscalls.delete(n);
    }
  return { allowList, syscalls };
}

/** The SCMP_ACT_LOG filter for `arch`, or undefined when systemd installs none. */
export function resolveSyscallLog(state: SyscallLogState | undefined, arch: SyscallArch): ResolvedSyscallFilter | undefined {
  if (state === undefined || (!state.allowList && state.syscalls.size === 0)) return undefined;
  const listed = state.allowList ? LOG : ALLOW;
  const syscalls = new Map<number, SeccompAction>();
  for (const name of state.syscalls) {
    const nr = syscallNumber(name, arch);
    if (nr !== undefined) syscalls.set(nr, listed);
  }
  return { arch, defaultAction: state.allowList ? ALLOW : LOG, syscalls };
}

// ---------------------------------------------------------------------------------------------------------
// SystemCallErrorNumber=

/**
 * config_parse_syscall_errno(): "" and "kill" mean kill (the default); otherwise an errno name or number
 * 1..4095 (0 is refused: "Invalid error number"). Throws ValueError.
 */
export function parseSyscallErrorNumber(value: string): SyscallErrnoAction {
  if (value === '' || value === 'kill') return 'kill';
  let e: number;
  try {
    e = parseErrno(value);
  } catch (err) {
    if (err instanceof ValueError) throw new ValueError(`Failed to parse error number, ignoring: ${value}`);
    throw err;
  }
  if (e === 0) throw new ValueError(`Invalid error number, ignoring: ${value}`);
  return e;
}

// ---------------------------------------------------------------------------------------------------------
// SystemCallArchitectures=

/** seccomp_arch_from_string() names in v255 (parisc/riscv64 depend on libseccomp support). */
export const SECCOMP_ARCH_NAMES: readonly string[] = Object.freeze([
  'native', 'x86', 'x86-64', 'x32', 'arm', 'arm64', 'mips', 'mips64', 'mips64-n32', 'mips-le', 'mips64-le',
  'mips64-le-n32', 'parisc', 'parisc64', 'ppc', 'ppc64', 'ppc64-le', 'riscv64', 's390', 's390x',
]);

export interface ParsedSyscallArchitectures {
  readonly archs: readonly string[];
  readonly warnings: readonly string[];
}

/** One non-empty SystemCallArchitectures= value; unknown names are skipped with a warning. */
export function parseSyscallArchitectures(value: string): ParsedSyscallArchitectures {
  const { words, error } = wordsOf(value, EXTRACT_UNQUOTE);
  const archs: string[] = [];
  const warnings: string[] = [];
  for (const w of words) {
    if (SECCOMP_ARCH_NAMES.includes(w)) archs.push(w);
    else warnings.push(`Failed to parse system call architecture "${w}", ignoring: Invalid argument`);
  }
  if (error !== undefined) warnings.push(`Invalid syntax, ignoring: ${value} (${error})`);
  return { archs, warnings };
}

/** config_parse_syscall_archs(): empty resets (no restriction), every other line adds to the set. */
export function applySyscallArchitectures(
  current: ReadonlySet<string> | undefined,
  parsed: ParsedSyscallArchitectures | undefined,
  isEmptyAssignment = false,
): ReadonlySet<string> | undefined {
  if (isEmptyAssignment || parsed === undefined) return undefined;
  return new Set([...(current ?? []), ...parsed.archs]);
}

/** seccomp_local_archs[]: the ABIs a kernel of this native architecture runs (native last). */
const LOCAL_ARCHS: Readonly<Record<string, readonly string[]>> = {
  'x86-64': ['x86', 'x32', 'x86-64'],
  x86: ['x86'],
  arm64: ['arm', 'arm64'],
  arm: ['arm'],
  'ppc64-le': ['ppc', 'ppc64', 'ppc64-le'],
  ppc64: ['ppc', 'ppc64-le', 'ppc64'],
  s390x: ['s390', 's390x'],
  riscv64: ['riscv64'],
};

/**
 * seccomp_restrict_archs(): which of the kernel's ABIs stay usable. The native ABI is never blocked
 * ("native" in the list is only a way to name it); with no set (undefined/empty) nothing is blocked.
 */
export function restrictSyscallArchitectures(
  set: ReadonlySet<string> | undefined,
  native: string,
): { readonly allowed: readonly string[]; readonly blocked: readonly string[] } {
  const local = LOCAL_ARCHS[native] ?? [native];
  if (set === undefined || set.size === 0) return { allowed: [...local], blocked: [] };
  const allowed = local.filter((a) => a === native || set.has(a));
  return { allowed, blocked: local.filter((a) => !allowed.includes(a)) };
}
