/**
 * Launch steps for process resources: cgroup placement, OOM score, coredump
 * filter, nice, CPU scheduling and affinity, I/O priority, timer slack,
 * personality and the session keyring. The kernel work is in
 * src/mechanisms/resources.ts; this module validates steps and picks the
 * phase and systemd exit status of each.
 *
 * All of them run in PHASE.resources: before the rlimits (a low
 * RLIMIT_NOFILE must not stop the child from opening cgroup.procs or
 * /proc/self/oom_score_adj), before CLONE_NEWUSER (lowering nice, realtime
 * scheduling, a negative OOM score and cgroup writes need the host's
 * privileges) and before the user switch (systemd's order in exec_child():
 * cgroup, OOM score, coredump filter, nice, scheduler, affinity, ioprio,
 * timer slack, personality; the keyring later but still as root).
 */
import { IOPRIO_CLASS_SHIFT, SCHED_POLICY, type SchedPolicyName } from '../sys/constants-resources.js';
import {
  affinityFn, cgroupJoinFn, ioprioFn, keyringFn, niceFn, personalityFn, schedulerFn, timerSlackFn, writeFileFn,
} from '../mechanisms/resources.js';
import type { OpCompiler, OpTable } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { PHASE, PlanError } from './plan.js';

/** systemd's EXIT_KEYRING (src/basic/exit-status.h); not in EXIT yet. */
export const EXIT_KEYRING = 237;

export type ResourceStep =
  /** Join the service's cgroups (one directory per hierarchy) by writing "0" to their cgroup.procs. */
  | { readonly op: 'cgroup-join'; readonly dirs: readonly string[] }
  /** OOMScoreAdjust= (-1000…1000), written to /proc/self/oom_score_adj. */
  | { readonly op: 'oom-score-adjust'; readonly value: number }
  /** CoredumpFilter=: the mask as hexadecimal text ("0x33"; 64 bits do not fit a JSON number). */
  | { readonly op: 'coredump-filter'; readonly mask: string }
  /** Nice= (-20…19). */
  | { readonly op: 'nice'; readonly value: number }
  /** CPUSchedulingPolicy=/Priority=/ResetOnFork=. */
  | { readonly op: 'cpu-scheduling'; readonly policy: SchedPolicyName; readonly priority: number; readonly resetOnFork: boolean }
  /** CPUAffinity=: CPU numbers. */
  | { readonly op: 'cpu-affinity'; readonly cpus: readonly number[] }
  /** IOSchedulingClass=/Priority=: the ioprio_set(2) value (class << 13 | level). */
  | { readonly op: 'ioprio'; readonly value: number }
  /** TimerSlackNSec= in nanoseconds. */
  | { readonly op: 'timer-slack'; readonly ns: number }
  /** Personality=: the persona value (PER_LINUX, PER_LINUX32). */
  | { readonly op: 'personality'; readonly persona: number }
  /** KeyringMode=private/shared; uid/gid: the service's ids (absent: the supervisor's). */
  | { readonly op: 'keyring'; readonly mode: 'private' | 'shared'; readonly uid?: number; readonly gid?: number };

type S<K extends ResourceStep['op']> = Extract<ResourceStep, { op: K }>;

function int(v: unknown, where: string, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw new PlanError(where, `expected an integer ${min}…${max}`);
  return v as number;
}

const cgroupJoinOp: OpCompiler<S<'cgroup-join'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.CGROUP,
  compile: (step, ctx) => {
    if (!Array.isArray(step.dirs) || step.dirs.length === 0) throw new PlanError('cgroup-join.dirs', 'expected a non-empty list of directories');
    step.dirs.forEach((d, i) => {
      if (typeof d !== 'string' || !d.startsWith('/') || d.includes('\0')) throw new PlanError(`cgroup-join.dirs[${i}]`, 'expected an absolute path');
    });
    return cgroupJoinFn(step.dirs, (b) => ctx.keep(b));
  },
};

const oomScoreAdjustOp: OpCompiler<S<'oom-score-adjust'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.OOM_ADJUST,
  compile: (step, ctx) => {
    const v = int(step.value, 'oom-score-adjust.value', -1000, 1000);
    return writeFileFn('/proc/self/oom_score_adj', String(v), true, (b) => ctx.keep(b));
  },
};

const coredumpFilterOp: OpCompiler<S<'coredump-filter'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.LIMITS, // systemd: "Failed to adjust coredump_filter" → EXIT_LIMITS
  compile: (step, ctx) => {
    if (typeof step.mask !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(step.mask)) throw new PlanError('coredump-filter.mask', 'expected "0x" and up to 16 lowercase hex digits');
    return writeFileFn('/proc/self/coredump_filter', step.mask, true, (b) => ctx.keep(b));
  },
};

const niceOp: OpCompiler<S<'nice'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.NICE,
  compile: (step) => niceFn(int(step.value, 'nice.value', -20, 19)),
};

const cpuSchedulingOp: OpCompiler<S<'cpu-scheduling'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.SETSCHEDULER,
  compile: (step, ctx) => {
    if (typeof step.policy !== 'string' || !(step.policy in SCHED_POLICY)) throw new PlanError('cpu-scheduling.policy', `expected one of ${Object.keys(SCHED_POLICY).join(', ')}`);
    const priority = int(step.priority, 'cpu-scheduling.priority', 0, 99);
    if (typeof step.resetOnFork !== 'boolean') throw new PlanError('cpu-scheduling.resetOnFork', 'expected a boolean');
    return schedulerFn(step.policy, priority, step.resetOnFork, (b) => ctx.keep(b));
  },
};

const cpuAffinityOp: OpCompiler<S<'cpu-affinity'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.CPUAFFINITY,
  compile: (step, ctx) => {
    if (!Array.isArray(step.cpus) || step.cpus.length === 0) throw new PlanError('cpu-affinity.cpus', 'expected a non-empty list of CPU numbers');
    step.cpus.forEach((c, i) => int(c, `cpu-affinity.cpus[${i}]`, 0, 8191));
    return affinityFn(step.cpus, (b) => ctx.keep(b));
  },
};

const ioprioOp: OpCompiler<S<'ioprio'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.IOPRIO,
  compile: (step) => {
    const v = int(step.value, 'ioprio.value', 0, (4 << IOPRIO_CLASS_SHIFT) - 1);
    return ioprioFn(v);
  },
};

const timerSlackOp: OpCompiler<S<'timer-slack'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.TIMERSLACK,
  compile: (step) => timerSlackFn(int(step.ns, 'timer-slack.ns', 0, Number.MAX_SAFE_INTEGER)),
};

const personalityOp: OpCompiler<S<'personality'>> = {
  phase: PHASE.resources,
  exitCode: EXIT.PERSONALITY,
  compile: (step) => personalityFn(int(step.persona, 'personality.persona', 0, 0xfffffffe)),
};

const keyringOp: OpCompiler<S<'keyring'>> = {
  phase: PHASE.resources,
  exitCode: EXIT_KEYRING,
  compile: (step) => {
    if (step.mode !== 'private' && step.mode !== 'shared') throw new PlanError('keyring.mode', 'expected "private" or "shared"');
    const uid = step.uid === undefined ? -1 : int(step.uid, 'keyring.uid', 0, 0xfffffffe);
    const gid = step.gid === undefined ? -1 : int(step.gid, 'keyring.gid', 0, 0xfffffffe);
    return keyringFn(step.mode === 'shared', uid, gid);
  },
};

export const RESOURCE_OPS: OpTable<ResourceStep> = {
  'cgroup-join': cgroupJoinOp,
  'oom-score-adjust': oomScoreAdjustOp,
  'coredump-filter': coredumpFilterOp,
  nice: niceOp,
  'cpu-scheduling': cpuSchedulingOp,
  'cpu-affinity': cpuAffinityOp,
  ioprio: ioprioOp,
  'timer-slack': timerSlackOp,
  personality: personalityOp,
  keyring: keyringOp,
};
