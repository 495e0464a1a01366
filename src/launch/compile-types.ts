/** The interface between compile.ts and the per-op compilers. */
import type { ChildFn } from './child.js';
import type { Step } from './plan.js';

export interface CompileContext {
  /** 3 + number of socket-activation fds: every fd at or above it is free game after the shuffle. */
  readonly fdBase: number;
  /** Keeps a Buffer alive as long as the compiled plan (closures hold it too; this makes it explicit). */
  keep(buf: Buffer): Buffer;
}

export interface OpCompiler<S extends Step> {
  /** Ordering key, see PHASE in plan.ts. */
  readonly phase: number;
  /** systemd exit status when this step fails. */
  readonly exitCode: number;
  /** Parent-side: validate the step and build its ChildFn (throw PlanError on bad input). */
  compile(step: S, ctx: CompileContext): ChildFn;
}

/** A mechanism's compiler table: one compiler per op of its step union. */
export type OpTable<S extends Step> = { readonly [K in S['op']]: OpCompiler<Extract<S, { op: K }>> };
