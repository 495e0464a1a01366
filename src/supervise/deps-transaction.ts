/**
 * The transaction builder behind src/supervise/deps.ts (systemd v255
 * src/core/transaction.c): adding jobs with their dependencies, which jobs
 * matter, redundant jobs, garbage collection, merging, and the waits-for
 * relation with its cycles. See deps.ts for the semantics.
 */

import {
  type ActiveState,
  isActiveOrReloading,
  isInactiveOrDeactivating,
  type UnitGraph,
} from './deps-graph.js';
import type { JobType, PlanErrorKind, PlanOptions } from './deps.js';

export type TxType = 'start' | 'stop' | 'verify-active' | 'reload' | 'restart' | 'reload-or-start';

interface Link {
  readonly from: TxJob;
  to: TxJob;
  readonly matters: boolean;
  readonly conflicts: boolean;
  readonly why: string;
}

export interface TxJob {
  readonly unit: string;
  type: TxType;
  anchor: boolean;
  matters: boolean;
  readonly ins: Link[];
  readonly outs: Link[];
  deleted: boolean;
}

export class Failure {
  constructor(
    readonly kind: PlanErrorKind,
    readonly error: string,
    readonly cycle?: string[],
  ) {}
}

const PROPAGATE_RESTART = ['required_by', 'requisite_of', 'bound_by', 'consists_of'] as const;
const PROPAGATE_STOP = ['required_by', 'requisite_of', 'bound_by', 'consists_of', 'propagates_stop_to'] as const;

export class Transaction {
  readonly jobs = new Map<string, TxJob[]>();
  readonly warnings: string[] = [];

  constructor(
    readonly graph: UnitGraph,
    readonly state: (u: string) => ActiveState,
    readonly opts: PlanOptions,
  ) {}

  private find(unit: string, type: TxType): TxJob | undefined {
    return this.jobs.get(unit)?.find((j) => j.type === type);
  }

  addAnchor(type: TxType, unit: string): void {
    const r = this.add(type, unit, undefined, true, false, 'request');
    if (r instanceof Failure) throw r;
  }

  add(type: TxType, unit: string, by: TxJob | undefined, matters: boolean, conflicts: boolean, why: string): TxJob | Failure {
    const g = this.graph;
    if (type !== 'stop' && !g.has(unit)) return new Failure('not-found', `Unit ${unit} not found.`);
    if (type === 'reload' && !g.canReload(unit))
      return new Failure('not-applicable', `Job type reload is not applicable for unit ${unit}.`);
    let j = this.find(unit, type);
    const isNew = !j;
    if (!j) {
      j = { unit, type, anchor: !by, matters: !by, ins: [], outs: [], deleted: false };
      const list = this.jobs.get(unit);
      if (list) list.push(j);
      else this.jobs.set(unit, [j]);
    } else if (!by) j.anchor = j.matters = true;
    if (by) {
      const l: Link = { from: by, to: j, matters, conflicts, why };
      by.outs.push(l);
      j.ins.push(l);
    }
    if (!isNew) return j;

    const req = (t: TxType, dep: string, why: string, m: boolean, c = false): Failure | undefined => {
      const r = this.add(t, dep, j, m, c, why);
      if (!(r instanceof Failure)) return undefined;
      if (m && r.kind !== 'not-applicable') return r;
      this.warnings.push(`${why}: ignored: ${r.error}`);
      return undefined;
    };
    let f: Failure | undefined;
    if (type === 'start' || type === 'restart') {
      for (const d of g.get(unit, 'requires')) if ((f = req('start', d, `${unit} Requires=${d}`, true))) return f;
      for (const d of g.get(unit, 'binds_to')) if ((f = req('start', d, `${unit} BindsTo=${d}`, true))) return f;
      for (const d of g.get(unit, 'wants')) req('start', d, `${unit} Wants=${d}`, false);
      for (const d of g.get(unit, 'upholds')) req('start', d, `${unit} Upholds=${d}`, false);
      for (const d of g.get(unit, 'requisite')) if ((f = req('verify-active', d, `${unit} Requisite=${d}`, true))) return f;
      for (const d of g.get(unit, 'conflicts')) if ((f = req('stop', d, `${unit} Conflicts=${d}`, true, true))) return f;
      for (const d of g.get(unit, 'conflicted_by')) req('stop', d, `${d} Conflicts=${unit}`, false);
    }
    const restartDeps = type === 'restart' || (type === 'start' && !by && this.opts.restartDependencies === true);
    if (type === 'stop' || restartDeps) {
      const restarted = new Set<string>();
      if (restartDeps) {
        for (const d of g.getAll(unit, PROPAGATE_RESTART)) {
          restarted.add(d); // not stopped either
          if (isInactiveOrDeactivating(this.state(d))) continue; // try-restart of an inactive unit: nothing
          if ((f = req('restart', d, `restart propagated: ${relName(g, d, unit)}`, true))) return f;
        }
      }
      if (type !== 'start') {
        for (const d of g.getAll(unit, PROPAGATE_STOP)) {
          if (restarted.has(d)) continue;
          if ((f = req('stop', d, `stop propagated: ${relName(g, d, unit)}`, true))) return f;
        }
      }
    }
    if (type === 'reload') {
      for (const d of g.get(unit, 'propagates_reload_to')) {
        if (isInactiveOrDeactivating(this.state(d))) continue; // try-reload
        req('reload', d, `${unit} PropagatesReloadTo=${d}`, false);
      }
    }
    return j;
  }

  all(): TxJob[] {
    const out: TxJob[] = [];
    for (const l of this.jobs.values()) out.push(...l);
    return out;
  }

  markMatters(): void {
    const stack = this.all().filter((j) => j.anchor);
    const seen = new Set(stack);
    while (stack.length) {
      const j = stack.pop()!;
      j.matters = true;
      for (const l of j.outs)
        if (l.matters && !seen.has(l.to)) {
          seen.add(l.to);
          stack.push(l.to);
        }
    }
  }

  delete(j: TxJob, withDeps: boolean): void {
    if (j.deleted) return;
    j.deleted = true;
    const list = this.jobs.get(j.unit)!;
    list.splice(list.indexOf(j), 1);
    if (list.length === 0) this.jobs.delete(j.unit);
    for (const l of j.outs) remove(l.to.ins, l);
    const ins = j.ins.splice(0);
    for (const l of ins) remove(l.from.outs, l);
    if (withDeps) for (const l of ins) if (l.matters) this.delete(l.from, true);
  }

  deleteUnit(unit: string): void {
    for (const j of [...(this.jobs.get(unit) ?? [])]) this.delete(j, true);
  }

  dropRedundant(): void {
    for (const [unit, list] of [...this.jobs]) {
      const s = this.state(unit);
      if (list.every((j) => !j.anchor && redundant(j.type, s))) for (const j of [...list]) this.delete(j, false);
    }
  }

  collectGarbage(): void {
    let again = true;
    while (again) {
      again = false;
      for (const j of this.all())
        if (!j.anchor && j.ins.length === 0) {
          this.delete(j, true);
          again = true;
        }
    }
  }

  /** transaction_merge_jobs(): one job per unit, or a conflict. */
  merge(): void {
    for (;;) {
      let retry = false;
      for (const [unit, list] of this.jobs) {
        if (list.length < 2) continue;
        let t: TxType | undefined = list[0]!.type;
        for (const k of list.slice(1)) t = t && mergeTypes(t, k.type);
        if (t === undefined) {
          this.deleteOneUnmergeable(unit, list);
          this.collectGarbage();
          retry = true;
          break;
        }
        const [first, ...rest] = list;
        for (const k of rest) {
          first!.anchor ||= k.anchor;
          first!.matters ||= k.matters;
          for (const l of k.ins) {
            l.to = first!;
            first!.ins.push(l);
          }
          for (const l of k.outs) {
            (l as { from: TxJob }).from = first!;
            first!.outs.push(l);
          }
          k.ins.length = 0;
          k.outs.length = 0;
          k.deleted = true;
        }
        first!.type = t;
        list.length = 1;
      }
      if (!retry) return;
    }
  }

  private deleteOneUnmergeable(unit: string, list: TxJob[]): void {
    for (let a = 0; a < list.length; a++)
      for (let b = a + 1; b < list.length; b++) {
        const j = list[a]!;
        const k = list[b]!;
        if (mergeTypes(j.type, k.type) !== undefined) continue;
        let d: TxJob;
        if (!j.matters && !k.matters) {
          // Rather remove the stop than the start, unless the stop comes from a Conflicts=.
          if (j.type === 'stop') d = conflictedBy(j) ? k : j;
          else if (k.type === 'stop') d = conflictedBy(k) ? j : k;
          else d = j;
        } else if (!j.matters) d = j;
        else if (!k.matters) d = k;
        else
          throw new Failure(
            'conflicting-jobs',
            `Transaction contains conflicting jobs '${j.type}' and '${k.type}' for ${unit}. Probably contradicting requirement dependencies configured.`,
          );
        this.warnings.push(`Fixing conflicting jobs ${unit}/${j.type},${unit}/${k.type} by deleting job ${unit}/${d.type}`);
        this.delete(d, true);
        return;
      }
  }
}

function relName(g: UnitGraph, dependent: string, unit: string): string {
  for (const [r, label] of [
    ['requires', 'Requires='],
    ['binds_to', 'BindsTo='],
    ['requisite', 'Requisite='],
    ['part_of', 'PartOf='],
  ] as const)
    if (g.get(dependent, r).has(unit)) return `${dependent} ${label}${unit}`;
  return `${unit} PropagatesStopTo=${dependent}`;
}

function conflictedBy(j: TxJob): boolean {
  return j.ins.some((l) => l.conflicts);
}

function remove<T>(arr: T[], x: T): void {
  const i = arr.indexOf(x);
  if (i >= 0) arr.splice(i, 1);
}

/** job_type_is_redundant() */
export function redundant(t: TxType, s: ActiveState): boolean {
  switch (t) {
    case 'start':
    case 'verify-active':
      return isActiveOrReloading(s);
    case 'stop':
      return s === 'inactive' || s === 'failed';
    case 'reload':
      return s === 'reloading';
    case 'restart':
      return s === 'activating';
    case 'reload-or-start':
      return false;
  }
}

/** job_type_lookup_merge() */
function mergeTypes(a: TxType, b: TxType): TxType | undefined {
  if (a === b) return a;
  if (a === 'stop' || b === 'stop') return undefined;
  const has = (t: TxType) => a === t || b === t;
  if (has('restart')) return 'restart';
  if (has('reload-or-start')) return 'reload-or-start';
  if (has('start') && has('verify-active')) return 'start';
  if (has('start') && has('reload')) return 'reload-or-start';
  if (has('verify-active') && has('reload')) return 'reload';
  return undefined;
}

/** One schedulable node: a job, or one half of a restart. */
export interface Node {
  readonly id: string;
  readonly unit: string;
  readonly type: JobType;
  readonly job: TxJob;
  readonly restart: boolean;
  readonly waits: Set<Node>;
}

export function nodesOf(tx: Transaction): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  for (const [unit, [j]] of tx.jobs) {
    if (!j) continue;
    const s = tx.state(unit);
    let type = j.type;
    if (type === 'reload-or-start') type = isActiveOrReloading(s) ? 'reload' : 'start'; // job_type_collapse()
    if (type === 'restart' && (s === 'inactive' || s === 'failed')) {
      out.set(unit, [{ id: `${unit}/start`, unit, type: 'start', job: j, restart: true, waits: new Set() }]);
    } else if (type === 'restart') {
      const stop: Node = { id: `${unit}/stop`, unit, type: 'stop', job: j, restart: true, waits: new Set() };
      const start: Node = { id: `${unit}/start`, unit, type: 'start', job: j, restart: true, waits: new Set([stop]) };
      out.set(unit, [stop, start]);
    } else {
      out.set(unit, [{ id: `${unit}/${type}`, unit, type: type as JobType, job: j, restart: false, waits: new Set() }]);
    }
  }
  for (const [unit, ns] of out) {
    for (const other of tx.graph.get(unit, 'before')) {
      const os = out.get(other);
      if (!os) continue;
      // unit Before= other: other's stop goes first, anything else goes after unit's job.
      for (const a of ns)
        for (const b of os) {
          if (b.type === 'stop') a.waits.add(b);
          else b.waits.add(a);
        }
    }
    for (const other of tx.graph.get(unit, 'after')) {
      const os = out.get(other);
      if (!os) continue;
      for (const b of ns)
        for (const a of os) {
          if (b.type === 'stop') a.waits.add(b);
          else b.waits.add(a);
        }
    }
  }
  return out;
}

/** A cycle in the waits-for relation, as a list of nodes each waiting for the next (the last waits for the first). */
export function findCycle(nodes: Map<string, Node[]>): Node[] | undefined {
  const color = new Map<Node, 1 | 2>();
  for (const ns of nodes.values())
    for (const root of ns) {
      if (color.has(root)) continue;
      const path: Node[] = [root];
      const iters: Iterator<Node>[] = [root.waits.values()];
      color.set(root, 1);
      while (path.length) {
        const it = iters[iters.length - 1]!.next();
        if (it.done) {
          color.set(path.pop()!, 2);
          iters.pop();
          continue;
        }
        const n = it.value;
        const c = color.get(n);
        if (c === 2) continue;
        if (c === 1) return path.slice(path.indexOf(n));
        color.set(n, 1);
        path.push(n);
        iters.push(n.waits.values());
      }
    }
  return undefined;
}

