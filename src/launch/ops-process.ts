/**
 * Compilers for the base process-attribute steps: setsid, umask, setrlimit,
 * chdir. Each turns a step into a ChildFn over buffers built here.
 */
import { RLIMIT, RLIM_INFINITY, RLIMIT_SIZE, SIGACTION_SIZE, SIGNALS } from '../sys/constants.js';
import { cString, cZero } from '../sys/cmem.js';
import { chdir, setrlimit, setsid, sigaction, umask } from '../sys/libc.js';
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

export const setrlimitOp: OpCompiler<S<'setrlimit'>> = {
  phase: PHASE.limits,
  exitCode: EXIT.LIMITS,
  compile: (step, ctx) => {
    const buf = ctx.keep(cZero(RLIMIT_SIZE));
    buf.writeBigUInt64LE(rlim(step.soft), 0);
    buf.writeBigUInt64LE(rlim(step.hard), 8);
    const resource = RLIMIT[step.resource];
    return () => (setrlimit(resource, buf) < 0 ? fail() : 0);
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
