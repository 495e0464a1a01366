/**
 * The seccomp filters systemd installs for a service, as data: one layer per directive and ABI, in the order
 * exec-invoke.c (v255) installs them, with the rules of src/shared/seccomp-util.c. Every layer is what one
 * libseccomp filter would be for one architecture (seccomp_init_for_arch(): other architectures pass through).
 *
 * The kernel runs every installed filter and keeps the most restrictive result (KILL_PROCESS > KILL_THREAD >
 * TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW); among results of the same kind, the most recently
 * installed filter wins (seccomp_run_filters() walks newest → oldest and replaces only on "strictly
 * lower"). evaluateLayers() implements exactly that and is the reference the compiled program is checked
 * against.
 *
 * Argument checks compare the low 32 bits of an argument. Every argument checked here is an `int`,
 * `unsigned int`, `umode_t` or a flag word whose checked bits are all in the low half, and the kernel itself
 * truncates those arguments, so the high half cannot change what the kernel does. (libseccomp compares all
 * 64 bits, which lets e.g. socket(0x1_00000011, …) — AF_PACKET to the kernel — slip past an "== 17" rule.)
 */
import { resolveSyscallFilter, resolveSyscallLog, syscallNumber, type SeccompAction, type SyscallArch } from '../unit/values/syscalls.js';
import { expandSyscallGroup } from '../unit/values/syscall-groups.js';
import { AF_MAX } from '../unit/values/families.js';
import { NAMESPACE_FLAGS_ALL, restrictedNamespaceTypes } from '../unit/values/namespaces.js';
import type { SeccompPolicy } from './seccomp-policy.js';

// errno values (asm-generic/errno*.h; identical on x86 and arm64).
export const EPERM = 1;
export const ENOSYS = 38;
export const EAFNOSUPPORT = 97;

// SECCOMP_RET_* (linux/seccomp.h).
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

// Argument constants (asm-generic / x86 uapi headers; the same values on x86-64, i386, x32 and arm64).
const PROT_WRITE = 0x2;
const PROT_EXEC = 0x4;
const SHM_EXEC = 0o100000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const O_CREAT = 0o100;
const O_TMPFILE_BIT = 0o20000000; // __O_TMPFILE: O_TMPFILE creates a file with the given mode, like O_CREAT
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;
const SCHED_IDLE = 5;
const IPC_SHMAT = 21; // ipc(2) call number; the high 16 bits of the call word are a version
const SYS_SOCKET = 1; // socketcall(2) call number

/** The ABIs a native kernel runs; `arm` (AArch32 on arm64) has no table here. */
export type SeccompAbi = SyscallArch | 'arm';

export type ArgCheck =
  | { readonly arg: number; readonly op: 'eq' | 'ne' | 'lt' | 'gt'; readonly value: number }
  /** (arg & mask) == value */
  | { readonly arg: number; readonly op: 'masked-eq'; readonly mask: number; readonly value: number };

export interface SeccompRule {
  readonly nr: number;
  /** All must hold (empty: always). */
  readonly when: readonly ArgCheck[];
  readonly action: SeccompAction;
}

export interface SeccompLayer {
  /** The directive that installs this filter in systemd. */
  readonly directive: string;
  readonly defaultAction: SeccompAction;
  readonly rules: readonly SeccompRule[];
}

const ALLOW: SeccompAction = { kind: 'allow' };
const errno = (e: number): SeccompAction => ({ kind: 'errno', errno: e });

/** The 32-bit value a filter returns for an action. "kill" is SECCOMP_RET_KILL_PROCESS. */
export function actionValue(a: SeccompAction): number {
  switch (a.kind) {
    case 'allow':
      return SECCOMP_RET_ALLOW;
    case 'kill':
      return SECCOMP_RET_KILL_PROCESS;
    case 'log':
      return SECCOMP_RET_LOG;
    case 'errno':
      return (SECCOMP_RET_ERRNO | (a.errno & SECCOMP_RET_DATA)) >>> 0;
  }
}

/** ACTION_ONLY() of the kernel: lower is more restrictive. */
export function actionRank(ret: number): number {
  return (ret & SECCOMP_RET_ACTION_FULL) | 0;
}

/** Collects rules by syscall name for one ABI; names the ABI does not have are skipped (like libseccomp). */
class Layer {
  readonly rules: SeccompRule[] = [];
  constructor(
    readonly abi: SyscallArch,
    readonly directive: string,
    readonly defaultAction: SeccompAction = ALLOW,
  ) {}
  add(name: string, action: SeccompAction, ...when: ArgCheck[]): this {
    const nr = syscallNumber(name, this.abi);
    if (nr !== undefined) this.rules.push({ nr, when, action });
    return this;
  }
  addGroup(group: string, action: SeccompAction): this {
    for (const name of expandSyscallGroup(group) ?? []) this.add(name, action);
    return this;
  }
  done(): SeccompLayer {
    return { directive: this.directive, defaultAction: this.defaultAction, rules: this.rules };
  }
}

const bit = (arg: number, mask: number): ArgCheck => ({ arg, op: 'masked-eq', mask, value: mask });

/** seccomp_restrict_address_families(). */
function addressFamilies(l: Layer, policy: SeccompPolicy): void {
  const p = policy.addressFamilies;
  if (p === undefined || p.kind === 'unrestricted') return;
  const deny = errno(EAFNOSUPPORT);
  const socketRules = (name: string, guard: ArgCheck[]): void => {
    if (p.kind === 'deny') {
      for (const af of p.families) l.add(name, deny, ...guard, { arg: 0, op: 'eq', value: af });
      return;
    }
    const valid = p.families.filter((af) => af > 0 && af < AF_MAX);
    if (valid.length === 0) {
      l.add(name, deny, ...guard);
      return;
    }
    const first = Math.min(...valid);
    const last = Math.max(...valid);
    l.add(name, deny, ...guard, { arg: 0, op: 'lt', value: first });
    l.add(name, deny, ...guard, { arg: 0, op: 'gt', value: last });
    for (let af = first + 1; af < last; af++) if (!valid.includes(af)) l.add(name, deny, ...guard, { arg: 0, op: 'eq', value: af });
  };
  socketRules('socket', []);
  if (l.abi === 'x86') {
    // systemd skips i386 entirely (socketcall() passes the family in user memory), which leaves a hole
    // for 32-bit programs. We filter the direct socket() (Linux ≥ 4.3) and refuse socketcall(SYS_SOCKET).
    l.add('socketcall', deny, { arg: 0, op: 'eq', value: SYS_SOCKET });
  }
}

/** seccomp_memory_deny_write_execute(). */
function memoryDenyWriteExecute(l: Layer): void {
  const eperm = errno(EPERM);
  if (l.abi === 'x86') {
    l.add('mmap2', eperm, bit(2, PROT_WRITE | PROT_EXEC));
    l.add('mmap', eperm); // old_mmap() takes a struct pointer: blocked outright, as systemd does
  } else l.add('mmap', eperm, bit(2, PROT_WRITE | PROT_EXEC));
  l.add('mprotect', eperm, bit(2, PROT_EXEC));
  l.add('pkey_mprotect', eperm, bit(2, PROT_EXEC));
  l.add('shmat', eperm, bit(2, SHM_EXEC));
  // i386 also reaches shmat through ipc(SHMAT, shmid, shmflg, …), which systemd leaves open.
  if (l.abi === 'x86') l.add('ipc', eperm, { arg: 0, op: 'masked-eq', mask: 0xffff, value: IPC_SHMAT }, bit(2, SHM_EXEC));
}

/** seccomp_restrict_realtime(): sched_setscheduler() with a policy other than OTHER/BATCH/IDLE. */
function restrictRealtime(l: Layer): void {
  const eperm = errno(EPERM);
  const permitted = [SCHED_OTHER, SCHED_BATCH, SCHED_IDLE];
  const max = Math.max(...permitted);
  for (let p = 0; p < max; p++) if (!permitted.includes(p)) l.add('sched_setscheduler', eperm, { arg: 1, op: 'eq', value: p });
  l.add('sched_setscheduler', eperm, { arg: 1, op: 'gt', value: max });
  // systemd does not filter sched_setattr(), whose policy is in user memory: a privileged service can
  // use it to get SCHED_FIFO/RR/DEADLINE anyway. ENOSYS makes callers fall back to sched_setscheduler().
  l.add('sched_setattr', errno(ENOSYS));
}

/** seccomp_restrict_suid_sgid() → seccomp_restrict_sxid() for S_ISUID and S_ISGID. */
function restrictSuidSgid(l: Layer): void {
  const eperm = errno(EPERM);
  for (const m of [S_ISUID, S_ISGID]) {
    l.add('chmod', eperm, bit(1, m));
    l.add('fchmod', eperm, bit(1, m));
    l.add('fchmodat', eperm, bit(2, m));
    l.add('fchmodat2', eperm, bit(2, m));
    l.add('mkdir', eperm, bit(1, m));
    l.add('mkdirat', eperm, bit(2, m));
    l.add('mknod', eperm, bit(1, m));
    l.add('mknodat', eperm, bit(2, m));
    for (const create of [O_CREAT, O_TMPFILE_BIT]) {
      // systemd checks O_CREAT only; O_TMPFILE applies the mode too (then linkat() publishes the file).
      l.add('open', eperm, bit(1, create), bit(2, m));
      l.add('openat', eperm, bit(2, create), bit(3, m));
    }
    l.add('creat', eperm, bit(1, m));
  }
  l.add('openat2', errno(ENOSYS)); // flags and mode live in a struct: callers fall back to openat()
}

/** seccomp_restrict_namespaces(retain). */
function restrictNamespaces(l: Layer, retain: number): void {
  const eperm = errno(EPERM);
  l.add('clone3', errno(ENOSYS)); // flags in a struct: ENOSYS so glibc falls back to clone()
  const none = (retain & NAMESPACE_FLAGS_ALL) === 0;
  if (none) l.add('setns', eperm);
  else l.add('setns', eperm, { arg: 1, op: 'eq', value: 0 });
  for (const t of restrictedNamespaceTypes(retain)) {
    l.add('unshare', eperm, bit(0, t.flag));
    l.add('clone', eperm, bit(0, t.flag)); // (s390 swaps clone's first two arguments; not an ABI here)
    if (!none) l.add('setns', eperm, bit(1, t.flag));
  }
}

/** The filter layers of `policy` for one ABI, in systemd's installation order. */
export function seccompLayers(policy: SeccompPolicy, abi: SyscallArch): SeccompLayer[] {
  const layers: SeccompLayer[] = [];
  const layer = (directive: string, fill: (l: Layer) => void): void => {
    const l = new Layer(abi, directive);
    fill(l);
    if (l.rules.length > 0) layers.push(l.done());
  };
  const eperm = errno(EPERM);
  // apply_protect_hostname() runs during namespace setup, before the other seccomp steps.
  if (policy.protectHostname) layer('ProtectHostname', (l) => l.add('sethostname', eperm).add('setdomainname', eperm));
  layer('RestrictAddressFamilies', (l) => addressFamilies(l, policy));
  if (policy.memoryDenyWriteExecute) layer('MemoryDenyWriteExecute', memoryDenyWriteExecute);
  if (policy.restrictRealtime) layer('RestrictRealtime', restrictRealtime);
  if (policy.restrictSuidSgid) layer('RestrictSUIDSGID', restrictSuidSgid);
  const retain = policy.namespacesAllowed;
  if (retain !== undefined && restrictedNamespaceTypes(retain).length > 0) layer('RestrictNamespaces', (l) => restrictNamespaces(l, retain));
  if (policy.protectKernelTunables) layer('ProtectKernelTunables', (l) => l.add('_sysctl', eperm));
  if (policy.protectKernelModules) layer('ProtectKernelModules', (l) => l.addGroup('@module', eperm));
  if (policy.protectKernelLogs) layer('ProtectKernelLogs', (l) => l.add('syslog', eperm));
  if (policy.protectClock) layer('ProtectClock', (l) => l.addGroup('@clock', eperm));
  if (policy.privateDevices) layer('PrivateDevices', (l) => l.addGroup('@raw-io', eperm));
  // (SystemCallArchitectures= comes here in systemd; it is the architecture dispatch of the compiled program.)
  const persona = policy.lockPersonality;
  if (persona !== undefined)
    // systemd: personality(arg != persona) → EPERM. We also let the pure query personality(0xffffffff) through.
    layer('LockPersonality', (l) => l.add('personality', eperm, { arg: 0, op: 'ne', value: persona >>> 0 }, { arg: 0, op: 'ne', value: 0xffffffff }));
  const log = resolveSyscallLog(policy.syscallLog, abi);
  if (log !== undefined) layers.push({ directive: 'SystemCallLog', defaultAction: log.defaultAction, rules: rulesOf(log.syscalls) });
  const f = policy.syscallFilter;
  if (f !== undefined) {
    // Like systemd's seccomp_filter_set_add_by_name(filter, allow_list, "write") for its exec_fd.
    const syscalls = new Map(f.state.syscalls);
    for (const name of policy.keepSyscalls ?? ['write']) {
      if (f.state.allowList) syscalls.set(name, undefined);
      else syscalls.delete(name);
    }
    const resolved = resolveSyscallFilter({ allowList: f.state.allowList, syscalls }, abi, f.errorNumber);
    if (resolved !== undefined) layers.push({ directive: 'SystemCallFilter', defaultAction: resolved.defaultAction, rules: rulesOf(resolved.syscalls) });
  }
  return layers;
}

function rulesOf(m: ReadonlyMap<number, SeccompAction>): SeccompRule[] {
  return [...m].sort(([a], [b]) => a - b).map(([nr, action]) => ({ nr, when: [], action }));
}

/** Does `check` hold for a 64-bit argument (low 32 bits compared)? */
export function checkHolds(c: ArgCheck, arg: bigint): boolean {
  const v = Number(BigInt.asUintN(32, arg));
  switch (c.op) {
    case 'eq':
      return v === c.value >>> 0;
    case 'ne':
      return v !== c.value >>> 0;
    case 'lt':
      return v < c.value >>> 0;
    case 'gt':
      return v > c.value >>> 0;
    case 'masked-eq':
      return ((v & c.mask) >>> 0) === c.value >>> 0;
  }
}

/** What one layer returns for a call: the first matching rule, else its default. */
export function evaluateLayer(layer: SeccompLayer, nr: number, args: readonly bigint[]): number {
  for (const r of layer.rules)
    if (r.nr === nr && r.when.every((c) => checkHolds(c, args[c.arg] ?? 0n))) return actionValue(r.action);
  return actionValue(layer.defaultAction);
}

/** The kernel's combination of all layers (installed in array order): the reference semantics. */
export function evaluateLayers(layers: readonly SeccompLayer[], nr: number, args: readonly bigint[]): number {
  let ret = SECCOMP_RET_ALLOW;
  for (let i = layers.length - 1; i >= 0; i--) {
    const cur = evaluateLayer(layers[i]!, nr, args);
    if (actionRank(cur) < actionRank(ret)) ret = cur;
  }
  return ret >>> 0;
}
