/**
 * Compilers for the base process-attribute steps: setsid, umask, setrlimit,
 * chdir. Each turns a step into a ChildFn over buffers built here.
 */
import { RLIMIT, RLIM_INFINITY, RLIMIT_SIZE, SIGACTION_SIZE, SIGNALS } from '../sys/constants.js';
import { cString, cZero } from '../sys/cmem.js';
import { chdir, prlimit, setrlimit, setsid, sigaction, umask } from '../sys/libc.js';
import { fail } from './child.js';
import { EXIT } from './exit-codes.js';
import { PHASE, type ProcessStep, type RlimitValue } from './plan.js';
import type { OpCompiler, OpTable } from './compile-types.js';

const ENOENT = 2;
const ENOTDIR = 20;

type S<K extends ProcessStep['op']> = Extract<ProcessStep, { op: K }>;

export const setsidOp: OpCompiler<S<'setsid'>> = {
  phase: PHASE.session,
  exitCode: EXIT.SETSID,
  compile: () => () => (setsid() < 0 ? fail() : 0),
};

export const umaskOp: OpCompiler<S<'umask'>> = {
  phase: PHASE.umask,
  exitCode: EXIT.SIGNAL_MASK, // umask(2) cannot fail; the code is never used
  compile: (step) => {
    const mask = step.mask;
    return () => {
      umask(mask);
      return 0;
    };
  },
};

function rlim(v: RlimitValue): bigint {
  return v === 'infinity' ? RLIM_INFINITY : BigInt(v);
}

const EPERM = 1;

/** a[ai..ai+3] > b[bi..bi+3] as little-endian u64s. */
function above(a: Uint16Array, ai: number, b: Uint16Array, bi: number): boolean {
  for (let i = 3; i >= 0; i--) {
    if (a[ai + i]! !== b[bi + i]!) return a[ai + i]! > b[bi + i]!;
  }
  return false;
}

/**
 * systemd's setrlimit_closest(): raising a limit above the hard limit needs
 * CAP_SYS_RESOURCE; without it the limit is set as close as allowed (both
 * values capped at the current hard limit) rather than failing the service.
 * Lowering always works, so a limit meant as a restriction is never weakened.
 */
export const setrlimitOp: OpCompiler<S<'setrlimit'>> = {
  phase: PHASE.limits,
  exitCode: EXIT.LIMITS,
  compile: (step, ctx) => {
    const buf = ctx.keep(cZero(RLIMIT_SIZE));
    buf.writeBigUInt64LE(rlim(step.soft), 0);
    buf.writeBigUInt64LE(rlim(step.hard), 8);
    const cur = ctx.keep(cZero(RLIMIT_SIZE));
    // u16 views: every element read is a small integer, so the child allocates nothing.
    const w = new Uint16Array(buf.buffer, buf.byteOffset, 8);
    const c = new Uint16Array(cur.buffer, cur.byteOffset, 8);
    const resource = RLIMIT[step.resource];
    return (): number => {
      if (setrlimit(resource, buf) >= 0) return 0;
      const e = fail();
      if (e !== EPERM || prlimit(0, resource, null, cur) < 0) return e;
      // Cap the hard (words 4..7) and the soft (words 0..3) limit at the current hard limit.
      if (above(w, 4, c, 4)) for (let i = 0; i < 4; i++) w[4 + i] = c[4 + i]!;
      if (above(w, 0, c, 4)) for (let i = 0; i < 4; i++) w[i] = c[4 + i]!;
      return setrlimit(resource, buf) < 0 ? fail() : 0;
    };
  },
};

export const chdirOp: OpCompiler<S<'chdir'>> = {
  phase: PHASE.cwd,
  exitCode: EXIT.CHDIR,
  compile: (step, ctx) => {
    const path = ctx.keep(cString(step.path));
    if (!step.ignoreMissing) return () => (chdir(path) < 0 ? fail() : 0);
    return (): number => {
      if (chdir(path) >= 0) return 0;
      const e = fail();
      return e === ENOENT || e === ENOTDIR ? 0 : e;
    };
  },
};

/** Runs in the signals phase after the reset to SIG_DFL (the compiler keeps plan order within a phase). */
export const ignoreSigpipeOp: OpCompiler<S<'ignore-sigpipe'>> = {
  phase: PHASE.signals,
  exitCode: EXIT.SIGNAL_MASK,
  compile: (_step, ctx) => {
    const act = ctx.keep(cZero(SIGACTION_SIZE));
    act.writeBigUInt64LE(1n, 0); // sa_handler = SIG_IGN
    return () => (sigaction(SIGNALS.SIGPIPE, act, null) < 0 ? fail() : 0);
  },
};

export const PROCESS_OPS: OpTable<ProcessStep> = {
  setsid: setsidOp,
  umask: umaskOp,
  'ignore-sigpipe': ignoreSigpipeOp,
  setrlimit: setrlimitOp,
  chdir: chdirOp,
};
