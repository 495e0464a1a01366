/**
 * Process attributes a service inherits across execve: nice level, CPU
 * scheduling policy, CPU affinity, I/O priority, OOM score adjustment,
 * coredump filter, timer slack, personality and the session keyring.
 *
 * Parent side: value conversions (systemd's rules, src/core/exec-invoke.c,
 * src/basic/ioprio-util.h, src/shared/coredump-util.c). Child side: ChildFn
 * factories over buffers built here (rules: src/launch/child.ts).
 */
import { O_CLOEXEC, O_NOCTTY, O_WRONLY, PR_SET_TIMERSLACK } from '../sys/constants.js';
import {
  IOPRIO_CLASS, IOPRIO_CLASS_SHIFT, IOPRIO_DEFAULT_LEVEL, IOPRIO_WHO_PROCESS, KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING,
  KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_LINK, PRIO_PROCESS, SCHED_PARAM_SIZE, SCHED_POLICY, SCHED_RESET_ON_FORK,
  type IoprioClassName, type SchedPolicyName,
} from '../sys/constants-resources.js';
import { cString, cZero } from '../sys/cmem.js';
import { close, open, prctl, write } from '../sys/libc.js';
import {
  getgid, getuid, ioprio_set, keyctl, personality, sched_setaffinity, sched_setscheduler, setpriority, setregid, setreuid,
} from '../sys/libc-resources.js';
import { fail, type ChildFn } from '../launch/child.js';
import { nativeArchitecture, parsePersonality } from '../unit/values/personality.js';

const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;
const EDQUOT = 122;
const NO_ID = 0xffffffff;

// ---------------------------------------------------------------- values

/** The priority systemd uses when only the policy is set: the policy's minimum (config_parse_exec_cpu_sched_policy clamps). */
export function defaultSchedPriority(policy: SchedPolicyName): number {
  return policy === 'fifo' || policy === 'rr' ? 1 : 0;
}

/**
 * The ioprio value systemd sets: class and level default to best-effort/4
 * (IOPRIO_DEFAULT_CLASS_AND_PRIO), and class "none" normalizes to that
 * default (ioprio_normalize()); idle has no levels.
 */
export function ioprioValue(cls: IoprioClassName | undefined, level: number | undefined): number {
  const c = cls ?? 'best-effort';
  if (c === 'none') return (IOPRIO_CLASS['best-effort'] << IOPRIO_CLASS_SHIFT) | IOPRIO_DEFAULT_LEVEL;
  const data = c === 'idle' ? 0 : (level ?? IOPRIO_DEFAULT_LEVEL);
  return (IOPRIO_CLASS[c] << IOPRIO_CLASS_SHIFT) | data;
}

/** coredump_filter bit names (coredump_filter_table[] in systemd's coredump-util.c). */
const COREDUMP_FILTER_BITS: readonly string[] = [
  'private-anonymous', 'shared-anonymous', 'private-file-backed', 'shared-file-backed', 'elf-headers',
  'private-huge', 'shared-huge', 'private-dax', 'shared-dax',
];
/** COREDUMP_FILTER_MASK_DEFAULT: private+shared anonymous, ELF headers, private huge pages (the kernel's 0x33). */
const COREDUMP_FILTER_DEFAULT = 0x33n;
const U64_MAX = 0xffffffffffffffffn;

/**
 * CoredumpFilter= text → mask, as coredump_filter_mask_from_string(): names,
 * "default", "all" and hexadecimal numbers, OR-ed. Throws Error on a bad word.
 */
export function parseCoredumpFilter(text: string): bigint {
  let mask = 0n;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (word === 'default') mask |= COREDUMP_FILTER_DEFAULT;
    else if (word === 'all') mask = U64_MAX;
    else if (COREDUMP_FILTER_BITS.includes(word)) mask |= 1n << BigInt(COREDUMP_FILTER_BITS.indexOf(word));
    else if (/^(0[xX])?[0-9a-fA-F]{1,16}$/.test(word)) mask |= BigInt(word.startsWith('0x') || word.startsWith('0X') ? word : `0x${word}`);
    else throw new Error(`not a coredump filter name or hexadecimal mask: ${JSON.stringify(word)}`);
  }
  return mask;
}

/** Personality= name → persona value for this machine, undefined when the name means nothing here. */
export function personalityValue(name: string): number | undefined {
  try {
    return parsePersonality(name, nativeArchitecture());
  } catch {
    return undefined;
  }
}

/** A cpu_set_t covering `cpus` (at least glibc's 1024-bit size, so the kernel never sees a short mask). */
export function cpuMask(cpus: readonly number[]): Buffer {
  const max = Math.max(1023, ...cpus);
  const mask = cZero(Math.ceil((max + 1) / 64) * 8);
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  return mask;
}

// ---------------------------------------------------------------- child side

/**
 * Writes `data` to the file at `path` (no O_CREAT). With `ignorePrivilege`,
 * EPERM/EACCES count as success: systemd treats those as "containerized,
 * ignoring" for oom_score_adj and coredump_filter.
 */
export function writeFileFn(path: string, data: string, ignorePrivilege: boolean, keep: (b: Buffer) => Buffer): ChildFn {
  const p = keep(cString(path));
  const d = keep(cString(data));
  const len = d.length - 1;
  return (): number => {
    const fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY, 0);
    let e = 0;
    if (fd < 0) e = fail();
    else {
      if (write(fd, d, len) !== len) e = fail();
      close(fd);
    }
    if (ignorePrivilege && (e === EPERM || e === EACCES)) return 0;
    return e;
  };
}

/** Joins every cgroup directory: writes "0" (the writer itself) to each cgroup.procs. */
export function cgroupJoinFn(dirs: readonly string[], keep: (b: Buffer) => Buffer): ChildFn {
  const fns = dirs.map((d) => writeFileFn(`${d}/cgroup.procs`, '0', false, keep));
  const n = fns.length;
  return (): number => {
    for (let i = 0; i < n; i++) {
      const e = fns[i]!();
      if (e !== 0) return e;
    }
    return 0;
  };
}

export function niceFn(nice: number): ChildFn {
  return () => (setpriority(PRIO_PROCESS, 0, nice) < 0 ? fail() : 0);
}

export function schedulerFn(policy: SchedPolicyName, priority: number, resetOnFork: boolean, keep: (b: Buffer) => Buffer): ChildFn {
  const param = keep(cZero(SCHED_PARAM_SIZE));
  param.writeInt32LE(priority, 0);
  const pol = SCHED_POLICY[policy] | (resetOnFork ? SCHED_RESET_ON_FORK : 0);
  return () => (sched_setscheduler(0, pol, param) < 0 ? fail() : 0);
}

export function affinityFn(cpus: readonly number[], keep: (b: Buffer) => Buffer): ChildFn {
  const mask = keep(cpuMask(cpus));
  const size = mask.length;
  return () => (sched_setaffinity(0, size, mask) < 0 ? fail() : 0);
}

export function ioprioFn(ioprio: number): ChildFn {
  return () => (ioprio_set(IOPRIO_WHO_PROCESS, 0, ioprio) < 0 ? fail() : 0);
}

export function timerSlackFn(ns: number): ChildFn {
  return () => (prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) < 0 ? fail() : 0);
}

export function personalityFn(persona: number): ChildFn {
  return () => (personality(persona) < 0 ? fail() : 0);
}

/**
 * KeyringMode=private/shared, as systemd's setup_keyring(): join a new
 * anonymous session keyring with the real ids switched to the service's (so
 * the keyring and the user keyring are the service user's), then for
 * "shared" link the user keyring into it, then switch the real ids back.
 * ENOSYS/EACCES/EPERM/EDQUOT from the join are ignored, as systemd does.
 * uid/gid: -1 when the service runs as the supervisor's user.
 */
export function keyringFn(shared: boolean, uid: number, gid: number): ChildFn {
  return (): number => {
    const savedUid = getuid();
    const savedGid = getgid();
    let e = 0;
    if (gid >= 0 && gid !== savedGid && setregid(gid, NO_ID) < 0) return fail();
    if (uid >= 0 && uid !== savedUid && setreuid(uid, NO_ID) < 0) e = fail();
    if (e === 0) {
      if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0) {
        const j = fail();
        if (j !== ENOSYS && j !== EACCES && j !== EPERM && j !== EDQUOT) e = j;
      } else if (shared && keyctl(KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING, 0, 0) < 0) {
        e = fail();
      }
    }
    if (getuid() !== savedUid && setreuid(savedUid, NO_ID) < 0 && e === 0) e = fail();
    if (getgid() !== savedGid && setregid(savedGid, NO_ID) < 0 && e === 0) e = fail();
    return e;
  };
}
