/**
 * Messages between the supervisor (launcher.ts) and the zygote
 * (zygote-main.ts): one JSON object per line on the zygote's fd 3.
 */
import type { LaunchPlan } from './plan.js';
import type { DontForkReport } from './sweep.js';

export type Exit = { readonly code: number } | { readonly signal: string; readonly signo: number; readonly core: boolean };

export type LaunchErrorKind =
  /** A step failed in the child (or the zygote could not prepare it): step/errno/exitCode are set. */
  | 'step'
  /** The child neither exec'd nor reported within the timeout; it was SIGKILLed. */
  | 'timeout'
  /** The plan is invalid (PlanError). */
  | 'plan'
  /** The zygote failed internally (fork, pipe, …) or died. */
  | 'internal'
  | 'zygote';

export interface WireError {
  readonly kind: LaunchErrorKind;
  /** Op name ("exec", "chdir", "stdout", "setrlimit", …), or the kind for non-step errors. */
  readonly step: string;
  /** Position in the compiled op list; -1 when not applicable. */
  readonly index: number;
  /** Index into plan.steps when the failed op came from there. */
  readonly planStep?: number;
  readonly errno: number;
  /** systemd exit status of the failed step (the child's exit code); null if no step failed. */
  readonly exitCode: number | null;
  /** The child's pid, if one was forked (it has been reaped). */
  readonly pid?: number;
  readonly message?: string;
}

export type Request =
  | { readonly id: number; readonly op: 'launch'; readonly plan: LaunchPlan; readonly timeoutMs: number }
  | { readonly id: number; readonly op: 'sweep-check' };

export type Reply =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'exec'; readonly id: number; readonly pid: number }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  /** A watched service exited (id set) or an orphan re-parented to the zygote was reaped (no id). */
  | { readonly type: 'exit'; readonly pid: number; readonly id?: number; readonly exit: Exit }
  | ({ readonly type: 'sweep-check'; readonly id: number } & DontForkReport);
