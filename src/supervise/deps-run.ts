/**
 * Running a planned transaction (src/supervise/deps.ts): which jobs may run
 * now, and how a job's result propagates (src/core/job.c, v255). Pure
 * bookkeeping: the supervisor performs each job and reports its result.
 *
 *   - A job is runnable once every job in its `after` list has finished, with
 *     any result: After= only orders, it never makes a failure spread.
 *   - A start or verify-active job that ends with a result other than "done"
 *     ends every unfinished start/verify-active job of the units that
 *     Requires=/Requisite=/BindsTo= its unit with result "dependency", and
 *     recursively so (job_fail_dependencies(UNIT_ATOM_PROPAGATE_START_FAILURE)).
 *     This is independent of ordering, but only *unfinished* jobs can end this
 *     way: with After=, the dependent's job is still waiting, so the dependent is
 *     never started; without After= its job ran in parallel and usually has
 *     already finished ("done" — the dependent stays up), and if it is still
 *     running (a Type=notify unit not yet READY) the job ends with "dependency"
 *     but the unit's processes are left alone (`running: true` in the outcome).
 *   - A start job that ends "done" while the unit is not active (a failed
 *     Condition*=, a oneshot that already exited) fails the jobs of units that
 *     Requisite= it (UNIT_ATOM_PROPAGATE_INACTIVE_START_AS_FAILURE).
 *   - A stop job that fails ends the start jobs of the units that Conflicts= its
 *     unit with "dependency" (UNIT_ATOM_PROPAGATE_STOP_FAILURE).
 *   - A restart whose stop half fails ends its start half with the same result.
 *   - Requested jobs with nothing to do (`noop`) finish as "done" as soon as
 *     they are runnable; they are never handed out.
 * Units whose start job ended with "dependency" stay inactive (not "failed"),
 * so their OnFailure= does not run, as in systemd.
 */

import type { ActiveState, UnitGraph } from './deps-graph.js';
import type { Plan, PlannedJob } from './deps.js';

/** systemd's JobResult. */
export type JobResult =
  | 'done'
  | 'canceled'
  | 'timeout'
  | 'failed'
  | 'dependency'
  | 'skipped'
  | 'invalid'
  | 'assert'
  | 'unsupported'
  | 'collected'
  | 'once';

export interface JobOutcome {
  readonly id: string;
  readonly unit: string;
  readonly type: PlannedJob['type'];
  readonly result: JobResult;
  /** Id of the job whose result caused this one (for "dependency"). */
  readonly cause?: string;
  /** The job had been handed out (its unit is activating): the unit is left as it is. */
  readonly running: boolean;
}

type Status = 'waiting' | 'running' | JobResult;

export class JobRunner {
  private readonly jobs = new Map<string, PlannedJob>();
  private readonly status = new Map<string, Status>();
  private readonly byUnit = new Map<string, PlannedJob[]>();
  private readonly left = new Map<string, number>();
  private readonly dependents = new Map<string, string[]>();
  private readonly ready: string[] = [];
  private open: number;

  constructor(
    plan: Plan,
    private readonly graph: UnitGraph,
  ) {
    for (const j of plan.jobs) {
      this.jobs.set(j.id, j);
      this.status.set(j.id, 'waiting');
      const l = this.byUnit.get(j.unit);
      if (l) l.push(j);
      else this.byUnit.set(j.unit, [j]);
    }
    for (const j of plan.jobs) {
      this.left.set(j.id, j.after.length);
      for (const a of j.after) {
        const l = this.dependents.get(a);
        if (l) l.push(j.id);
        else this.dependents.set(a, [j.id]);
      }
      if (j.after.length === 0) this.ready.push(j.id);
    }
    this.open = plan.jobs.length;
  }

  /** Every job has finished. */
  get finished(): boolean {
    return this.open === 0;
  }

  /** A job's status: waiting, running, or its result. */
  statusOf(id: string): Status | undefined {
    return this.status.get(id);
  }

  /** Results of the finished jobs. */
  results(): Map<string, JobResult> {
    const out = new Map<string, JobResult>();
    for (const [id, s] of this.status) if (s !== 'waiting' && s !== 'running') out.set(id, s);
    return out;
  }

  /** The jobs that may run now; they are marked running. */
  take(): PlannedJob[] {
    const out: PlannedJob[] = [];
    while (this.ready.length) {
      const id = this.ready.shift()!;
      if (this.status.get(id) !== 'waiting') continue;
      const j = this.jobs.get(id)!;
      if (j.noop) {
        this.end(id, 'done', undefined, []);
        continue;
      }
      this.status.set(id, 'running');
      out.push(j);
    }
    return out;
  }

  /**
   * Report a job's result. `unitActive` says whether the unit is active now
   * (default: result === "done"). Returns the other jobs that ended because of
   * it; jobs that became runnable are returned by the next take().
   */
  finish(id: string, result: JobResult, unitActive = result === 'done'): JobOutcome[] {
    const s = this.status.get(id);
    if (s === undefined) throw new Error(`no job ${id} in this transaction`);
    if (s !== 'waiting' && s !== 'running') return []; // already ended (e.g. by a dependency failure)
    const out: JobOutcome[] = [];
    this.end(id, result, undefined, out);
    const j = this.jobs.get(id)!;
    if (result === 'done' && j.type === 'start' && !unitActive) {
      for (const d of this.graph.get(j.unit, 'requisite_of')) this.failStarts(d, id, out);
    }
    return out;
  }

  private end(id: string, result: JobResult, cause: string | undefined, out: JobOutcome[], propagate = true): void {
    const j = this.jobs.get(id)!;
    const was = this.status.get(id);
    this.status.set(id, result);
    this.open--;
    if (cause !== undefined) out.push({ id, unit: j.unit, type: j.type, result, cause, running: was === 'running' });
    for (const d of this.dependents.get(id) ?? []) {
      const left = this.left.get(d)! - 1;
      this.left.set(d, left);
      if (left === 0) this.ready.push(d);
    }
    if (result === 'done' || !propagate) return;
    if (j.restart && j.type === 'stop') {
      // systemd's JOB_RESTART fails as a whole, and a failed restart job propagates nothing.
      const start = `${j.unit}/start`;
      const st = this.status.get(start);
      if (st === 'waiting' || st === 'running') this.end(start, result, id, out, false);
      return;
    }
    if (j.type === 'start' || j.type === 'verify-active') {
      for (const d of this.graph.getAll(j.unit, ['required_by', 'requisite_of', 'bound_by'])) this.failStarts(d, id, out);
    } else if (j.type === 'stop') {
      for (const d of this.graph.get(j.unit, 'conflicted_by')) this.failStarts(d, id, out);
    }
  }

  private failStarts(unit: string, cause: string, out: JobOutcome[]): void {
    for (const j of this.byUnit.get(unit) ?? []) {
      if (j.type !== 'start' && j.type !== 'verify-active') continue;
      const s = this.status.get(j.id);
      if (s === 'waiting' || s === 'running') this.end(j.id, 'dependency', cause, out);
    }
  }
}

/**
 * The result of a verify-active job (Requisite=) for the unit's current state:
 * done when active, undefined (keep waiting) while activating, else "skipped"
 * (which fails the requiring units' jobs with "dependency").
 */
export function verifyActiveResult(state: ActiveState): JobResult | undefined {
  if (state === 'active' || state === 'reloading') return 'done';
  if (state === 'activating') return undefined;
  return 'skipped';
}
