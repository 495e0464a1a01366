/**
 * API (everything is re-exported from here):
 *   UnitGraph.build({ units, load, loadUnit })  the graph: known units plus the
 *       closure of the units their dependency fields name (deps-graph.ts);
 *   planStart/planStop/planRestart/planReload(roots, graph, { states, … })
 *       → Plan { jobs (each with the ids it waits for), waves, brokenCycles,
 *         warnings } | PlanError { kind, error, cycle? };
 *   new JobRunner(plan, graph): take() the runnable jobs, finish(id, result)
 *       → the jobs that ended with it (deps-run.ts);
 *   onStateChange/onUnitFailed/onUnitStopped(unit, graph, { states, hasJob })
 *       → start/stop requests the unit's own state change triggers (deps-events.ts).
 *
 * systemd's transactions (src/core/transaction.c, v255) as a pure planner: which
 * jobs a start/stop/restart/reload request produces, and in which order they
 * may run. The supervisor executes the jobs (src/supervise/deps-run.ts keeps
 * track of their completion and of failure propagation; deps-events.ts says
 * what a unit's own state change triggers).
 *
 * Building the job set (transaction_add_job_and_dependencies):
 *   start/restart X  — Requires=/BindsTo= → start job, required: a unit that is
 *                      not found fails the whole transaction ("Unit Y not found.");
 *                      Wants=/Upholds= → start job, failures ignored;
 *                      Requisite= → verify-active job (required; not started,
 *                      only checked when the job runs);
 *                      Conflicts= → stop job (required); units that Conflicts= X
 *                      → stop job (not required).
 *   stop/restart X   — units that Requires=/Requisite=/BindsTo=/PartOf= X and
 *                      units X PropagatesStopTo= → stop job (restart: those that
 *                      are active get restarted instead, as try-restart does).
 *   reload X         — units X PropagatesReloadTo= that are active → reload job.
 * Each unit's dependencies are expanded once, whatever its state (starting an
 * already active unit still pulls in its Wants=).
 *
 * Then, like transaction_activate():
 *   1. jobs that matter: reachable from the request through required links only;
 *   2. redundant jobs dropped (start of an active unit, stop of an inactive one),
 *      except the requested ones — those stay as no-op jobs (`noop: true`) so
 *      that the request still waits for its ordering dependencies;
 *   3. garbage: a job nothing pulls in any more is dropped;
 *   4. jobs of one unit merged (start+verify → start, start+reload →
 *      reload-or-start, anything+restart → restart); stop with start cannot
 *      merge: the job that doesn't matter is deleted (with the jobs that
 *      required it), else "Transaction contains conflicting jobs";
 *   5. ordering cycles: a cycle is broken by deleting the jobs of a unit in it
 *      that doesn't matter (typically a Wants= pull-in) together with the jobs
 *      that required it; if every job in the cycle matters the transaction
 *      fails, naming the cycle.
 *
 * Ordering (job_compare()): for units A Before= B (≡ B After= A) that both have
 * a job: when B's job is a stop (or the stop half of a restart), B's job runs
 * first; otherwise A's job runs first. So starts follow After=, stops go in
 * reverse, and a stop is always ordered before a start. A job waits for the
 * jobs it is ordered after to *finish* (any result). Without After=/Before=,
 * jobs are independent and run in parallel — Requires= alone does not order.
 *
 * A restart is planned as two jobs, X/stop then X/start (X/start waits for
 * X/stop), each ordered by the rule above — the same as systemd, whose
 * JOB_RESTART is ordered as a stop until it is patched into a start.
 *
 * Not modelled: jobs already installed by an earlier transaction (systemd
 * merges with them, or replaces/refuses them by job mode: replace, fail,
 * isolate, …; the caller decides, e.g. by waiting for a unit's running job);
 * several roots form one transaction in which each root matters (systemctl
 * queues one transaction per unit); jobs of one unit are merged before the
 * cycle check (systemd checks cycles first) and the job deleted to break a
 * cycle is the first that doesn't matter along the cycle as found here, which
 * may differ from systemd's pick when several qualify; unit aliases and
 * `.wants/`/`.requires/` directories (the caller folds them into UnitDeps);
 * DefaultDependencies= (ignored); JobTimeoutSec=; IgnoreOnIsolate=.
 */

import {
  type ActiveState,
  isActiveOrReloading,
  normalizeUnitName,
  stateOf,
  SUPPORTED_UNIT_TYPES,
  type UnitGraph,
  type UnitStates,
  unitTypeOf,
} from './deps-graph.js';
import { Failure, findCycle, type Node, nodesOf, redundant, Transaction } from './deps-transaction.js';

export * from './deps-graph.js';
export * from './deps-run.js';
export * from './deps-events.js';

/** Job types as executed by the supervisor. */
export type JobType = 'start' | 'stop' | 'verify-active' | 'reload';

export interface PlannedJob {
  /** `unit/type`, unique in a plan. */
  readonly id: string;
  readonly unit: string;
  readonly type: JobType;
  /** Ids of the jobs that must finish (with any result) before this one runs. */
  readonly after: readonly string[];
  /** Requested directly (one of the roots). */
  readonly anchor: boolean;
  /** Required by the request through Requires=/BindsTo=/Requisite=/Conflicts=/stop propagation. */
  readonly matters: boolean;
  /** One half of a restart (X/stop then X/start). */
  readonly restart: boolean;
  /** A requested job with nothing to do (start of an active unit, …): finish it as done once runnable. */
  readonly noop: boolean;
  /** Why the job is in the transaction: "request", "a.service Requires=", … */
  readonly reasons: readonly string[];
}

export interface Plan {
  readonly ok: true;
  /** Jobs in a topological order of `after`. */
  readonly jobs: readonly PlannedJob[];
  /** Jobs grouped in waves: every job's `after` lies in earlier waves. Informational; `after` is the precise relation. */
  readonly waves: readonly (readonly string[])[];
  /** Ordering cycles broken by deleting a job that did not matter. */
  readonly brokenCycles: readonly { readonly cycle: readonly string[]; readonly deleted: readonly string[] }[];
  /** Ignored problems (a Wants= on a missing unit, …). */
  readonly warnings: readonly string[];
}

export type PlanErrorKind =
  | 'not-found'
  | 'ordering-cycle'
  | 'conflicting-jobs'
  | 'refused'
  | 'not-applicable'
  | 'not-active';

export interface PlanError {
  readonly ok: false;
  readonly kind: PlanErrorKind;
  readonly error: string;
  /** For 'ordering-cycle': the job ids, each ordered after the next, the last after the first. */
  readonly cycle?: readonly string[];
  readonly warnings: readonly string[];
}

export type PlanResult = Plan | PlanError;

export interface PlanOptions {
  /** Current unit states; units not listed are inactive. */
  readonly states?: UnitStates;
  /**
   * systemd's JOB_RESTART_DEPENDENCIES (an automatic restart by Restart=): the
   * roots get start jobs and the units that Requires=/BindsTo=/PartOf= them
   * and are active get restarted.
   */
  readonly restartDependencies?: boolean;
  /** Skip RefuseManualStart=/RefuseManualStop= (the request does not come from a user). */
  readonly automatic?: boolean;
}

/** The transaction for starting `roots`. */
export function planStart(roots: readonly string[], graph: UnitGraph, opts: PlanOptions = {}): PlanResult {
  return plan('start', roots, graph, opts);
}

/** The transaction for stopping `roots`: their dependents stop first, in reverse start order. */
export function planStop(roots: readonly string[], graph: UnitGraph, opts: PlanOptions = {}): PlanResult {
  return plan('stop', roots, graph, opts);
}

/** The transaction for restarting `roots` (active dependents are restarted too). */
export function planRestart(roots: readonly string[], graph: UnitGraph, opts: PlanOptions = {}): PlanResult {
  return plan('restart', roots, graph, opts);
}

/** The transaction for reloading `roots`, propagated through PropagatesReloadTo= to active units. */
export function planReload(roots: readonly string[], graph: UnitGraph, opts: PlanOptions = {}): PlanResult {
  return plan('reload', roots, graph, opts);
}

/** Jobs of a plan whose unit type the supervisor does not run (not a service, target or socket). */
export function unsupportedJobs(p: Plan): PlannedJob[] {
  return p.jobs.filter((j) => {
    const t = unitTypeOf(j.unit);
    return !t || !SUPPORTED_UNIT_TYPES.has(t);
  });
}

function plan(kind: 'start' | 'stop' | 'restart' | 'reload', roots: readonly string[], graph: UnitGraph, opts: PlanOptions): PlanResult {
  const state = (u: string): ActiveState => stateOf(opts.states, u);
  const tx = new Transaction(graph, state, opts);
  const brokenCycles: { cycle: string[]; deleted: string[] }[] = [];
  try {
    for (const raw of roots) {
      const unit = normalizeUnitName(raw);
      const d = graph.deps(unit);
      if (!opts.automatic && d) {
        if ((kind === 'start' || kind === 'restart') && d.refuse_manual_start)
          throw new Failure('refused', `Operation refused, unit ${unit} may be requested by dependency only (it is configured to refuse manual start/stop).`);
        if ((kind === 'stop' || kind === 'restart') && d.refuse_manual_stop)
          throw new Failure('refused', `Operation refused, unit ${unit} may be requested by dependency only (it is configured to refuse manual start/stop).`);
      }
      if (kind === 'reload' && graph.has(unit) && !isActiveOrReloading(state(unit)))
        throw new Failure('not-active', `Unit ${unit} is not active, cannot reload.`);
      tx.addAnchor(kind, unit);
    }
    tx.markMatters();
    tx.dropRedundant();
    tx.collectGarbage();
    tx.merge();
    tx.dropRedundant();
    for (;;) {
      tx.collectGarbage();
      const nodes = nodesOf(tx);
      const cycle = findCycle(nodes);
      if (!cycle) return finish(nodes, tx, brokenCycles);
      const ids = cycle.map((n) => n.id);
      const victim = cycle.find((n) => !n.job.matters);
      if (!victim)
        throw new Failure(
          'ordering-cycle',
          `Transaction order is cyclic: ${[...ids, ids[0]].join(' after ')}; every job in the cycle is required by the request, so none can be deleted to break it.`,
          ids,
        );
      const before = new Set(tx.all());
      tx.deleteUnit(victim.unit);
      const deleted = [...before].filter((j) => j.deleted).map((j) => `${j.unit}/${j.type}`);
      tx.warnings.push(
        `Found ordering cycle: ${[...ids, ids[0]].join(' after ')}; deleted job ${victim.id} (not required by the request) to break it` +
          (deleted.length > 1 ? `, with ${deleted.filter((d) => !d.startsWith(victim.unit + '/')).join(', ')} that required it` : ''),
      );
      brokenCycles.push({ cycle: ids, deleted });
    }
  } catch (e) {
    if (e instanceof Failure)
      return { ok: false, kind: e.kind, error: e.error, ...(e.cycle ? { cycle: e.cycle } : {}), warnings: tx.warnings };
    throw e;
  }
}

function finish(nodes: Map<string, Node[]>, tx: Transaction, brokenCycles: Plan['brokenCycles']): Plan {
  const all: Node[] = [];
  for (const ns of nodes.values()) all.push(...ns);
  // Kahn's algorithm, with the waves (longest path from a job without predecessors).
  const pending = new Map<Node, number>();
  const dependents = new Map<Node, Node[]>();
  for (const n of all) {
    pending.set(n, n.waits.size);
    for (const w of n.waits) {
      const l = dependents.get(w);
      if (l) l.push(n);
      else dependents.set(w, [n]);
    }
  }
  const waves: string[][] = [];
  const ordered: Node[] = [];
  let wave = all.filter((n) => n.waits.size === 0);
  while (wave.length) {
    waves.push(wave.map((n) => n.id));
    ordered.push(...wave);
    const next: Node[] = [];
    for (const n of wave)
      for (const d of dependents.get(n) ?? []) {
        const left = pending.get(d)! - 1;
        pending.set(d, left);
        if (left === 0) next.push(d);
      }
    wave = next;
  }
  const jobs: PlannedJob[] = ordered.map((n) => {
    const s = tx.state(n.unit);
    const noop = !n.restart && redundant(n.type, s) && n.job.anchor;
    return {
      id: n.id,
      unit: n.unit,
      type: n.type,
      after: [...n.waits].map((w) => w.id),
      anchor: n.job.anchor,
      matters: n.job.matters,
      restart: n.restart,
      noop,
      reasons: [...(n.job.anchor ? ['request'] : []), ...new Set(n.job.ins.map((l) => l.why))],
    };
  });
  return { ok: true, jobs, waves, brokenCycles, warnings: tx.warnings };
}
