/**
 * Launch steps of the seccomp mechanism: install precompiled BPF programs (src/mechanisms/seccomp.ts) and
 * set the no_new_privs bit seccomp needs when the process lacks CAP_SYS_ADMIN.
 *
 * Programs travel in the plan as base64 `struct sock_filter[]` (JSON-safe); compile() decodes and checks
 * them the way the kernel's seccomp_check_filter() would, into off-heap buffers with their
 * `struct sock_fprog`, so the child only calls seccomp(SECCOMP_SET_MODE_FILTER, 0, fprog) per program.
 *
 * Where the filter goes (src/mechanisms/seccomp-plan.ts decides):
 * - `seccomp`: last before execve (PHASE.seccomp), as systemd does ("as close to the execve() as
 *   possible"). The process must still have CAP_SYS_ADMIN there, or no_new_privs set before
 *   (`seccomp-no-new-privs`, PHASE.noNewPrivs).
 * - `seccomp-before-user`: before the uid switch (PHASE.seccompBeforeUser), while the process still has
 *   CAP_SYS_ADMIN: a service that runs as another user gets its filter without no_new_privs, like under
 *   systemd (which keeps CAP_SYS_ADMIN across setresuid() for the same purpose). Only used when the
 *   filter lets the launcher's remaining calls (uid switch, capabilities, chdir) through.
 */
import { decodeFilter } from '../mechanisms/bpf.js';
import { seccompStepsFromBase64 } from '../mechanisms/seccomp.js';
import { PR_SET_NO_NEW_PRIVS, SECCOMP_SET_MODE_FILTER } from '../sys/constants.js';
import { prctl, seccomp } from '../sys/libc.js';
import { fail, type ChildFn } from './child.js';
import type { CompileContext, OpCompiler, OpTable } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { PHASE, PlanError } from './plan.js';

export type SeccompStep =
  /** Installs the programs in order (base64 struct sock_filter[] each), last before execve. */
  | { readonly op: 'seccomp'; readonly programs: readonly string[] }
  /** The same, before the uid switch (see above). */
  | { readonly op: 'seccomp-before-user'; readonly programs: readonly string[] }
  /** prctl(PR_SET_NO_NEW_PRIVS, 1): what systemd implies for seccomp directives without CAP_SYS_ADMIN. */
  | { readonly op: 'seccomp-no-new-privs' };

type S<K extends SeccompStep['op']> = Extract<SeccompStep, { op: K }>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Validates the programs and builds their off-heap filters and sock_fprogs (parent side). */
function installPrograms(step: { readonly programs: readonly string[] }, ctx: CompileContext): ChildFn {
  const programs: unknown = step.programs;
  if (!Array.isArray(programs) || programs.length === 0) throw new PlanError('step.programs', 'expected a non-empty array of base64 BPF programs');
  programs.forEach((p: unknown, i) => {
    if (typeof p !== 'string' || p.length % 4 !== 0 || !BASE64.test(p)) throw new PlanError(`step.programs[${i}]`, 'expected a base64 string');
    try {
      decodeFilter(Buffer.from(p, 'base64'));
    } catch (e) {
      throw new PlanError(`step.programs[${i}]`, `not a struct sock_filter array: ${(e as Error).message}`);
    }
  });
  let installs;
  try {
    installs = seccompStepsFromBase64(programs as string[]);
  } catch (e) {
    throw new PlanError('step.programs', `invalid seccomp program: ${(e as Error).message}`);
  }
  for (const s of installs) {
    ctx.keep(s.filter);
    ctx.keep(s.fprog);
  }
  const fprogs: readonly Buffer[] = installs.map((s) => s.fprog);
  const n = fprogs.length;
  return () => {
    for (let i = 0; i < n; i++) if (seccomp(SECCOMP_SET_MODE_FILTER, 0, fprogs[i]!) < 0) return fail();
    return 0;
  };
}

/**
 * One merged program carries every seccomp directive, so a failed install is EXIT_SECCOMP (systemd uses
 * 228 for all of them except RestrictAddressFamilies=, 232, whose filter it installs separately).
 */
export const seccompOp: OpCompiler<S<'seccomp'>> = {
  phase: PHASE.seccomp,
  exitCode: EXIT.SECCOMP,
  compile: (step, ctx) => installPrograms(step, ctx),
};

export const seccompBeforeUserOp: OpCompiler<S<'seccomp-before-user'>> = {
  phase: PHASE.seccompBeforeUser,
  exitCode: EXIT.SECCOMP,
  compile: (step, ctx) => installPrograms(step, ctx),
};

export const seccompNoNewPrivsOp: OpCompiler<S<'seccomp-no-new-privs'>> = {
  phase: PHASE.noNewPrivs,
  exitCode: EXIT.NO_NEW_PRIVILEGES,
  compile: () => () => (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? fail() : 0),
};

export const SECCOMP_OPS: OpTable<SeccompStep> = {
  seccomp: seccompOp,
  'seccomp-before-user': seccompBeforeUserOp,
  'seccomp-no-new-privs': seccompNoNewPrivsOp,
};
