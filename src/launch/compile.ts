/**
 * LaunchPlan → CompiledPlan: every string, struct and pointer array the child
 * needs is built here, in the parent, as off-heap Buffers, and every step
 * becomes a ChildFn closure over them (rules: child.ts). A CompiledPlan can be
 * reused for many launches (the zygote is sequential): per launch, only
 * `fds.src` and the report pipe change, and the child patches LISTEN_PID.
 */
import { NSIG, SIG_SETMASK, SIGACTION_SIZE, SIGSET_SIZE } from '../sys/constants.js';
import { cString, cStringArray, cZero } from '../sys/cmem.js';
import { execve, getpid, sigaction, sigprocmask } from '../sys/libc.js';
import { fail, writeDecimal, type ChildFn } from './child.js';
import type { CompileContext, OpCompiler, OpTable } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { compileFds, listenEnv, type FdLayout } from './fds.js';
import { CREDENTIAL_OPS } from './ops-credentials.js';
import { MOUNT_OPS } from './ops-mounts.js';
import { NAMESPACE_OPS } from './ops-namespaces.js';
import { PROCESS_OPS } from './ops-process.js';
import { RESOURCE_OPS } from './ops-resources.js';
import { SECCOMP_OPS } from './ops-seccomp.js';
import { PHASE, PlanError, checkPlan, type LaunchPlan, type Step, type StepOp } from './plan.js';

/**
 * One compiler per step op. Adding an op to `Step` without a compiler in its
 * module's table is a type error: this is where sandbox modules plug in.
 */
const STEP_COMPILERS: OpTable<Step> = {
  ...PROCESS_OPS,
  ...CREDENTIAL_OPS,
  ...MOUNT_OPS,
  ...NAMESPACE_OPS,
  ...RESOURCE_OPS,
  ...SECCOMP_OPS,
};

export interface CompiledOp {
  /** The op name ("exec", "chdir", "stdout", …): LaunchError.step. */
  readonly name: string;
  readonly phase: number;
  readonly exitCode: number;
  /** Index into plan.steps, when the op came from there. */
  readonly planStep: number | undefined;
}

export interface CompiledPlan {
  readonly ops: readonly CompiledOp[];
  /** ops[i]'s child action; dense array, iterated by runChild. */
  readonly fns: readonly ChildFn[];
  readonly exitCodes: Int32Array;
  readonly fds: FdLayout;
  /** Everything the fns point into. */
  readonly keep: readonly Buffer[];
}

interface Pending extends CompiledOp {
  readonly run: ChildFn;
}

function compileStep<K extends StepOp>(step: Extract<Step, { op: K }>, ctx: CompileContext, planStep: number | undefined): Pending {
  const compiler = (STEP_COMPILERS as Record<string, OpCompiler<Extract<Step, { op: K }>> | undefined>)[step.op];
  if (!compiler) throw new PlanError(planStep === undefined ? 'plan' : `plan.steps[${planStep}]`, `unknown op ${JSON.stringify(step.op)}`);
  return { name: step.op, phase: compiler.phase, exitCode: compiler.exitCode, planStep, run: compiler.compile(step, ctx) };
}

/**
 * Signal state for the service: node ignores SIGPIPE and SIG_IGN survives
 * execve; libuv's handlers must not run in the child (they would write to
 * the zygote's signal pipe), so dispositions are reset *before* the mask
 * (blocked by the zygote around fork) is cleared.
 */
function signalReset(ctx: CompileContext): ChildFn {
  const dfl = ctx.keep(cZero(SIGACTION_SIZE));
  const empty = ctx.keep(cZero(SIGSET_SIZE));
  return () => {
    // SIGKILL, SIGSTOP and glibc's internal 32/33 fail with EINVAL: harmless.
    for (let s = 1; s < NSIG; s++) sigaction(s, dfl, null);
    return sigprocmask(SIG_SETMASK, empty, null) < 0 ? fail() : 0;
  };
}

function execOp(plan: LaunchPlan, ctx: CompileContext): ChildFn {
  const path = ctx.keep(cString(plan.path));
  const argv = cStringArray(plan.argv);
  const { env, listenPid } = listenEnv(plan);
  const envp = cStringArray(env);
  for (const b of [argv.array, ...argv.strings, envp.array, ...envp.strings]) ctx.keep(b);
  const argvBuf = argv.array;
  const envpBuf = envp.array;
  const PID_AT = 'LISTEN_PID='.length;
  if (!listenPid) return () => (execve(path, argvBuf, envpBuf), fail());
  return () => {
    // getpid() here, in the process that execs: it is the service's pid (1 in a pid namespace).
    writeDecimal(listenPid, PID_AT, getpid());
    execve(path, argvBuf, envpBuf);
    return fail();
  };
}

/** Validates (checkPlan) and compiles. Throws PlanError. */
export function compilePlan(input: unknown): CompiledPlan {
  const plan = checkPlan(input);
  const keep: Buffer[] = [];
  const fdBase = 3 + (plan.fds?.length ?? 0);
  const ctx: CompileContext = { fdBase, keep: (b) => (keep.push(b), b) };

  const pending: Pending[] = [{ name: 'signals', phase: PHASE.signals, exitCode: EXIT.SIGNAL_MASK, planStep: undefined, run: signalReset(ctx) }];
  const fds = compileFds(plan, ctx);
  for (const op of fds.ops) pending.push({ ...op, planStep: undefined });

  // Plan fields are shorthands for steps.
  const implied: Step[] = [];
  if (plan.setsid) implied.push({ op: 'setsid' });
  if (plan.umask !== undefined) implied.push({ op: 'umask', mask: plan.umask });
  for (const r of plan.rlimits ?? []) implied.push({ op: 'setrlimit', ...r });
  if (plan.cwd !== undefined) implied.push({ op: 'chdir', path: plan.cwd });
  for (const s of implied) pending.push(compileStep(s, ctx, undefined));
  (plan.steps ?? []).forEach((s, i) => pending.push(compileStep(s, ctx, i)));

  pending.push({ name: 'exec', phase: PHASE.exec, exitCode: EXIT.EXEC, planStep: undefined, run: execOp(plan, ctx) });

  // Array.prototype.sort is stable: plan order is kept within a phase.
  pending.sort((a, b) => a.phase - b.phase);
  return {
    ops: pending.map(({ name, phase, exitCode, planStep }) => ({ name, phase, exitCode, planStep })),
    fns: pending.map((p) => p.run),
    exitCodes: Int32Array.from(pending, (p) => p.exitCode),
    fds,
    keep,
  };
}
