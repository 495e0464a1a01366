/**
 * What a unit's own state change triggers in other units (systemd v255
 * unit_notify() and the queues it feeds, src/core/unit.c). The result is a list
 * of requests; the supervisor turns each into a transaction with planStart()/
 * planStop() (src/supervise/deps.ts), which propagates further (a stop of X
 * stops the units that Requires= X, …).
 *
 *   - Retroactive stop: a unit that goes from active/activating to
 *     inactive/failed/deactivating *without a stop job* (its process exited, a
 *     start failed) stops the units that BindsTo= it and the units it
 *     PropagatesStopTo=. Units that only Requires= or PartOf= it keep running —
 *     systemd propagates those only for explicit stop/restart jobs (planStop/
 *     planRestart) and for automatic restarts (planStart with restartDependencies).
 *   - Retroactive start: a unit that becomes active/activating without a start
 *     job starts its Requires=/BindsTo=/Upholds= units (mode replace) and
 *     Wants= units (mode fail) — except those it is After= (as systemd ≥ v256)
 *     — and stops units it conflicts with (either side).
 *   - OnFailure=: entering "failed" (not when Restart= will restart it) starts
 *     the OnFailure= units (mode OnFailureJobMode=, default replace).
 *     OnSuccess=: entering "inactive" from an active state, likewise.
 *   - Upholds=: a unit found inactive/failed while a unit that Upholds= it is
 *     active is started again (mode fail), unless it has a job.
 *   - BindsTo= (stop-when-bound): an active unit without a job whose BindsTo=
 *     unit is inactive/failed and has no job is stopped.
 *   - StopWhenUnneeded=: an active unit with it set, without a job, that no
 *     active unit Requires=/Requisite=/Wants=/BindsTo=/Upholds= any more is stopped.
 *
 * An automatic restart (Restart=) is not an action here: when the restart timer
 * fires, the supervisor plans `planStart([unit], graph, { restartDependencies:
 * true, automatic: true })`, which restarts the active units that Requires=/
 * BindsTo=/PartOf= it (systemd's JOB_RESTART_DEPENDENCIES).
 */

import {
  type ActiveState,
  isActiveOrActivating,
  isActiveOrReloading,
  isInactiveOrDeactivating,
  isInactiveOrFailed,
  normalizeUnitName,
  stateOf,
  type UnitGraph,
  type UnitStates,
} from './deps-graph.js';

export type Action =
  | { readonly kind: 'start'; readonly unit: string; readonly mode: 'replace' | 'fail'; readonly reason: string }
  | { readonly kind: 'stop'; readonly unit: string; readonly reason: string };

export interface StateChange {
  readonly unit: string;
  readonly from: ActiveState;
  readonly to: ActiveState;
  /**
   * The job of this unit that requested the change, if any: "start" (also the
   * start half of a restart), "stop" (also the stop half), "reload".
   */
  readonly job?: 'start' | 'stop' | 'reload';
  /** Restart= will restart the unit (its failure is not final): no OnFailure=/OnSuccess=. */
  readonly willAutoRestart?: boolean;
}

export interface EventContext {
  /** States of the other units (the changed unit's state is `change.to`). */
  readonly states?: UnitStates;
  /** Whether a unit has a job queued or running (systemd skips those in the upholds/bound/unneeded checks). */
  readonly hasJob?: (unit: string) => boolean;
}

/** Requests triggered by one unit's state change. */
export function onStateChange(change: StateChange, graph: UnitGraph, ctx: EventContext = {}): Action[] {
  const u = normalizeUnitName(change.unit);
  const { from: os, to: ns } = change;
  const st = (x: string): ActiveState => (x === u ? ns : stateOf(ctx.states, x));
  const hasJob = (x: string): boolean => ctx.hasJob?.(x) ?? false;
  const out: Action[] = [];
  const seen = new Set<string>();
  const push = (a: Action): void => {
    const k = `${a.kind}\0${a.unit}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(a);
  };

  let unexpected = true;
  if (change.job === 'start') unexpected = !isActiveOrReloading(ns) && ns !== 'activating';
  else if (change.job === 'stop') unexpected = !isInactiveOrFailed(ns) && ns !== 'deactivating';
  else if (change.job === 'reload') unexpected = !isActiveOrReloading(ns) && ns !== 'activating';

  if (unexpected && os !== ns) {
    if (isInactiveOrFailed(os) && isActiveOrActivating(ns)) {
      // Units this one is ordered after are not started behind its back (systemd ≥ v256 skips them).
      const ordered = graph.get(u, 'after');
      for (const d of graph.getAll(u, ['requires', 'binds_to', 'upholds']))
        if (!ordered.has(d) && !isActiveOrActivating(st(d)))
          push({ kind: 'start', unit: d, mode: 'replace', reason: `${u} became active without a job` });
      for (const d of graph.get(u, 'wants'))
        if (!ordered.has(d) && !isActiveOrActivating(st(d)))
          push({ kind: 'start', unit: d, mode: 'fail', reason: `${u} became active without a job` });
      for (const d of graph.getAll(u, ['conflicts', 'conflicted_by']))
        if (!isInactiveOrDeactivating(st(d))) push({ kind: 'stop', unit: d, reason: `${u} conflicts with it and became active` });
    } else if (isActiveOrActivating(os) && isInactiveOrDeactivating(ns)) {
      for (const d of graph.get(u, 'bound_by'))
        if (!isInactiveOrDeactivating(st(d))) push({ kind: 'stop', unit: d, reason: `${d} BindsTo=${u}, which stopped` });
      for (const d of graph.get(u, 'propagates_stop_to'))
        if (!isInactiveOrDeactivating(st(d))) push({ kind: 'stop', unit: d, reason: `${u} PropagatesStopTo=${d} and stopped` });
    }
  }

  const deps = graph.deps(u);
  if (ns === 'failed' && os !== 'failed' && !change.willAutoRestart)
    for (const d of graph.get(u, 'on_failure'))
      push({ kind: 'start', unit: d, mode: jobMode(deps?.on_failure_job_mode), reason: `${u} OnFailure=${d}` });
  if (ns === 'inactive' && os !== 'failed' && os !== 'inactive' && !change.willAutoRestart)
    for (const d of graph.get(u, 'on_success'))
      push({ kind: 'start', unit: d, mode: jobMode(deps?.on_success_job_mode), reason: `${u} OnSuccess=${d}` });

  // Upholds=: this unit, if it is down while an upholder is up.
  if (isInactiveOrFailed(ns) && !change.willAutoRestart && !hasJob(u)) {
    const by = [...graph.get(u, 'upheld_by')].find((x) => isActiveOrReloading(st(x)));
    if (by) push({ kind: 'start', unit: u, mode: 'fail', reason: `${by} Upholds=${u}` });
  }
  // Upholds=: the units this one upholds, if it is up and they are down.
  if (isActiveOrReloading(ns))
    for (const d of graph.get(u, 'upholds'))
      if (isInactiveOrFailed(st(d)) && !hasJob(d)) push({ kind: 'start', unit: d, mode: 'fail', reason: `${u} Upholds=${d}` });

  // BindsTo=: units that cannot be active without another.
  const boundStop = (x: string): void => {
    if (!isActiveOrReloading(st(x)) || hasJob(x)) return;
    for (const b of graph.get(x, 'binds_to'))
      if (isInactiveOrFailed(st(b)) && !hasJob(b)) {
        push({ kind: 'stop', unit: x, reason: `${x} BindsTo=${b}, which is ${st(b)}` });
        return;
      }
  };
  boundStop(u);
  for (const d of graph.get(u, 'bound_by')) boundStop(d);

  // StopWhenUnneeded=
  const unneeded = (x: string): void => {
    if (!graph.deps(x)?.stop_when_unneeded || !isActiveOrReloading(st(x)) || hasJob(x)) return;
    for (const p of graph.getAll(x, ['required_by', 'requisite_of', 'wanted_by', 'bound_by', 'upheld_by']))
      if (hasJob(p) || !isInactiveOrFailed(st(p))) return;
    push({ kind: 'stop', unit: x, reason: `${x} has StopWhenUnneeded=yes and no active unit needs it` });
  };
  unneeded(u);
  if (isInactiveOrFailed(ns))
    for (const d of graph.getAll(u, ['requires', 'requisite', 'wants', 'binds_to', 'upholds'])) unneeded(d);

  return out;
}

/** The unit entered "failed" (from `from`, default active). */
export function onUnitFailed(
  unit: string,
  graph: UnitGraph,
  ctx: EventContext & { from?: ActiveState; job?: StateChange['job']; willAutoRestart?: boolean } = {},
): Action[] {
  return onStateChange(
    { unit, from: ctx.from ?? 'active', to: 'failed', job: ctx.job, willAutoRestart: ctx.willAutoRestart },
    graph,
    ctx,
  );
}

/** The unit became inactive (from `from`, default active); `job: 'stop'` when a stop job did it. */
export function onUnitStopped(
  unit: string,
  graph: UnitGraph,
  ctx: EventContext & { from?: ActiveState; job?: StateChange['job']; willAutoRestart?: boolean } = {},
): Action[] {
  return onStateChange(
    { unit, from: ctx.from ?? 'active', to: 'inactive', job: ctx.job, willAutoRestart: ctx.willAutoRestart },
    graph,
    ctx,
  );
}

function jobMode(m: string | undefined): 'replace' | 'fail' {
  return m === 'fail' ? 'fail' : 'replace';
}
