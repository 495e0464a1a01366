/**
 * The unit dependency graph that src/supervise/deps.ts plans transactions on.
 *
 * A unit's dependency fields come from the service model (`unit.requires`, …,
 * `install.wanted_by`, …). Every relation is stored in both directions, like
 * systemd's unit_add_dependency() does (Requires= ↔ RequiredBy, PartOf= ↔
 * ConsistsOf, …), so "the units that Requires= X" is a lookup, not a scan.
 *
 * Install-section fields (`wanted_by`, `required_by`, `upheld_by`) are honoured
 * as if the unit were enabled (systemd needs a symlink in `T.wants/` for that):
 * fill them only for units that count as enabled (every service of a manifest).
 *
 * DefaultDependencies= is ignored: sysg has no sysinit.target/basic.target/
 * shutdown.target boot sequence, so the implicit Requires=/After=/Conflicts= that
 * systemd adds for it would only pull in units that do nothing here.
 */

import { unitTypeFromString, type UnitType } from '../unit/names.js';

/** The dependency fields of one unit, as in the service model (snake_case). */
export interface UnitDeps {
  /** The unit name; `foo` is read as `foo.service`. */
  readonly name: string;
  readonly requires?: readonly string[];
  readonly requisite?: readonly string[];
  readonly wants?: readonly string[];
  readonly binds_to?: readonly string[];
  readonly part_of?: readonly string[];
  readonly upholds?: readonly string[];
  readonly conflicts?: readonly string[];
  readonly before?: readonly string[];
  readonly after?: readonly string[];
  readonly on_failure?: readonly string[];
  readonly on_success?: readonly string[];
  readonly propagates_reload_to?: readonly string[];
  readonly reload_propagated_from?: readonly string[];
  readonly propagates_stop_to?: readonly string[];
  readonly stop_propagated_from?: readonly string[];
  /** Ignored (see the module comment); kept so a model object can be passed as is. */
  readonly default_dependencies?: boolean;
  readonly stop_when_unneeded?: boolean;
  readonly refuse_manual_start?: boolean;
  readonly refuse_manual_stop?: boolean;
  /** Job mode for OnFailure= units: only "fail" and "replace" differ for sysg; default "replace". */
  readonly on_failure_job_mode?: string;
  readonly on_success_job_mode?: string;
  /** Install section, honoured as if enabled: T.wants/ X ⇔ X WantedBy=T. */
  readonly wanted_by?: readonly string[];
  readonly required_by?: readonly string[];
  readonly upheld_by?: readonly string[];
  /**
   * Whether a reload job applies (systemd: a service with ExecReload= or
   * Type=notify-reload). Default: true for services, false for everything else.
   */
  readonly can_reload?: boolean;
}

/** How a unit is looked up by name; undefined = not found (systemd's load state "not-found"). */
export type LoadUnit = (name: string) => UnitDeps | undefined;

/** Unit types the sysg supervisor runs. Others are reported as unsupported by the caller. */
export const SUPPORTED_UNIT_TYPES: ReadonlySet<UnitType> = new Set<UnitType>(['service', 'target', 'socket']);

/**
 * `foo` → `foo.service`; names that already end in a unit type suffix
 * (`.target`, `.socket`, `.mount`, …) are kept as they are.
 */
export function normalizeUnitName(name: string): string {
  const n = name.trim();
  const dot = n.lastIndexOf('.');
  if (dot > 0 && unitTypeFromString(n.slice(dot + 1))) return n;
  return `${n}.service`;
}

/** The unit type of a (normalized) name. */
export function unitTypeOf(name: string): UnitType | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? unitTypeFromString(name.slice(dot + 1)) : undefined;
}

/** Dependency fields of a service-model object (`{ unit: {...}, install: {...} }`). */
export function unitDepsFromModel(name: string, svc: { unit?: object; install?: object }): UnitDeps {
  const u = (svc.unit ?? {}) as Record<string, unknown>;
  const i = (svc.install ?? {}) as Record<string, unknown>;
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  const out: Record<string, unknown> = { name: typeof u.name === 'string' ? u.name : name };
  for (const k of LIST_FIELDS) {
    const v = list(u[k]);
    if (v) out[k] = v;
  }
  for (const k of ['wanted_by', 'required_by', 'upheld_by'] as const) {
    const v = list(i[k]);
    if (v) out[k] = v;
  }
  for (const k of ['default_dependencies', 'stop_when_unneeded', 'refuse_manual_start', 'refuse_manual_stop'] as const) {
    if (typeof u[k] === 'boolean') out[k] = u[k];
  }
  for (const k of ['on_failure_job_mode', 'on_success_job_mode'] as const) {
    if (typeof u[k] === 'string') out[k] = u[k];
  }
  return out as unknown as UnitDeps;
}

const LIST_FIELDS = [
  'requires',
  'requisite',
  'wants',
  'binds_to',
  'part_of',
  'upholds',
  'conflicts',
  'before',
  'after',
  'on_failure',
  'on_success',
  'propagates_reload_to',
  'reload_propagated_from',
  'propagates_stop_to',
  'stop_propagated_from',
] as const;

/** Relations held per unit, both directions (systemd's UnitDependency). */
export type Relation =
  | 'requires'
  | 'required_by'
  | 'requisite'
  | 'requisite_of'
  | 'wants'
  | 'wanted_by'
  | 'binds_to'
  | 'bound_by'
  | 'upholds'
  | 'upheld_by'
  | 'part_of'
  | 'consists_of'
  | 'conflicts'
  | 'conflicted_by'
  | 'before'
  | 'after'
  | 'on_failure'
  | 'on_failure_of'
  | 'on_success'
  | 'on_success_of'
  | 'propagates_reload_to'
  | 'reload_propagated_from'
  | 'propagates_stop_to'
  | 'stop_propagated_from';

const INVERSE: Record<Relation, Relation> = {
  requires: 'required_by',
  required_by: 'requires',
  requisite: 'requisite_of',
  requisite_of: 'requisite',
  wants: 'wanted_by',
  wanted_by: 'wants',
  binds_to: 'bound_by',
  bound_by: 'binds_to',
  upholds: 'upheld_by',
  upheld_by: 'upholds',
  part_of: 'consists_of',
  consists_of: 'part_of',
  conflicts: 'conflicted_by',
  conflicted_by: 'conflicts',
  before: 'after',
  after: 'before',
  on_failure: 'on_failure_of',
  on_failure_of: 'on_failure',
  on_success: 'on_success_of',
  on_success_of: 'on_success',
  propagates_reload_to: 'reload_propagated_from',
  reload_propagated_from: 'propagates_reload_to',
  propagates_stop_to: 'stop_propagated_from',
  stop_propagated_from: 'propagates_stop_to',
};

/** Field of UnitDeps → the relation it sets on the unit itself (X field=Y ⇒ X rel Y). */
const FIELD_RELATION: Record<(typeof LIST_FIELDS)[number], Relation> = {
  requires: 'requires',
  requisite: 'requisite',
  wants: 'wants',
  binds_to: 'binds_to',
  part_of: 'part_of',
  upholds: 'upholds',
  conflicts: 'conflicts',
  before: 'before',
  after: 'after',
  on_failure: 'on_failure',
  on_success: 'on_success',
  propagates_reload_to: 'propagates_reload_to',
  reload_propagated_from: 'reload_propagated_from',
  propagates_stop_to: 'propagates_stop_to',
  stop_propagated_from: 'stop_propagated_from',
};

/** Install fields: X field=T ⇒ T rel X. */
const INSTALL_RELATION = { wanted_by: 'wants', required_by: 'requires', upheld_by: 'upholds' } as const;

/** Fields whose targets are loaded into the graph (ordering-only names are not: they matter only when they have jobs). */
const LOADED_FIELDS: ReadonlySet<string> = new Set([
  'requires',
  'requisite',
  'wants',
  'binds_to',
  'part_of',
  'upholds',
  'conflicts',
  'on_failure',
  'on_success',
  'propagates_reload_to',
  'reload_propagated_from',
  'propagates_stop_to',
  'stop_propagated_from',
]);

/** One loaded unit in the graph. */
export interface GraphUnit {
  readonly name: string;
  readonly type: UnitType | undefined;
  readonly deps: UnitDeps;
  readonly rel: ReadonlyMap<Relation, ReadonlySet<string>>;
}

export class UnitGraph {
  private readonly loaded = new Map<string, UnitDeps>();
  /** Relations of every name mentioned, loaded or not (a missing unit can still be ordered or required). */
  private readonly rels = new Map<string, Map<Relation, Set<string>>>();
  /** Names referenced by a dependency field that loadUnit() did not find. */
  readonly missing = new Set<string>();
  /** Diagnostics: self-dependencies ignored, and the like. */
  readonly warnings: string[] = [];

  /**
   * Build a graph from the known units (e.g. every service of a manifest) and
   * pull in, through loadUnit(), every unit named in a dependency field of a
   * loaded unit (the closure), plus the given extra names (e.g. the roots).
   */
  static build(opts: { units?: Iterable<UnitDeps>; load?: Iterable<string>; loadUnit?: LoadUnit }): UnitGraph {
    const g = new UnitGraph();
    const queue: string[] = [];
    for (const u of opts.units ?? []) queue.push(...g.add(u));
    for (const n of opts.load ?? []) queue.push(normalizeUnitName(n));
    while (queue.length > 0) {
      const n = queue.pop()!;
      if (g.loaded.has(n) || g.missing.has(n)) continue;
      const d = opts.loadUnit?.(n);
      if (d === undefined) g.missing.add(n);
      else queue.push(...g.add({ ...d, name: n }));
    }
    return g;
  }

  /** Add one unit; returns the names it references that should be loaded. */
  add(deps: UnitDeps): string[] {
    const name = normalizeUnitName(deps.name);
    this.loaded.set(name, deps);
    this.missing.delete(name);
    const wanted: string[] = [];
    for (const f of LIST_FIELDS) {
      for (const raw of deps[f] ?? []) {
        const other = normalizeUnitName(raw);
        if (other === name) {
          this.warnings.push(`${name}: ${f} on itself ignored`);
          continue;
        }
        this.link(name, FIELD_RELATION[f], other);
        if (LOADED_FIELDS.has(f)) wanted.push(other);
      }
    }
    for (const f of ['wanted_by', 'required_by', 'upheld_by'] as const) {
      for (const raw of deps[f] ?? []) {
        const t = normalizeUnitName(raw);
        if (t === name) continue;
        this.link(t, INSTALL_RELATION[f], name);
        wanted.push(t);
      }
    }
    this.rel(name); // make sure the unit exists in rels
    return wanted.filter((n) => !this.loaded.has(n));
  }

  private rel(name: string): Map<Relation, Set<string>> {
    let m = this.rels.get(name);
    if (!m) this.rels.set(name, (m = new Map()));
    return m;
  }

  private link(from: string, r: Relation, to: string): void {
    add(this.rel(from), r, to);
    add(this.rel(to), INVERSE[r], from);
  }

  has(name: string): boolean {
    return this.loaded.has(name);
  }

  deps(name: string): UnitDeps | undefined {
    return this.loaded.get(name);
  }

  /** Every loaded unit name. */
  names(): IterableIterator<string> {
    return this.loaded.keys();
  }

  /** The units `name` has relation `r` to (empty when none). */
  get(name: string, r: Relation): ReadonlySet<string> {
    return this.rels.get(name)?.get(r) ?? EMPTY;
  }

  /** Union over several relations, in a stable order. */
  getAll(name: string, rs: readonly Relation[]): string[] {
    const out = new Set<string>();
    for (const r of rs) for (const o of this.get(name, r)) out.add(o);
    return [...out];
  }

  /** Whether a's jobs and b's jobs are ordered (After=/Before= either way); -1: a before b, 1: a after b, 0: none. */
  order(a: string, b: string): -1 | 0 | 1 {
    if (this.get(a, 'before').has(b)) return -1;
    if (this.get(a, 'after').has(b)) return 1;
    return 0;
  }

  canReload(name: string): boolean {
    const d = this.loaded.get(name);
    if (!d) return false;
    return d.can_reload ?? unitTypeOf(name) === 'service';
  }

  node(name: string): GraphUnit | undefined {
    const d = this.loaded.get(name);
    if (!d) return undefined;
    return { name, type: unitTypeOf(name), deps: d, rel: this.rels.get(name) ?? new Map() };
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function add(m: Map<Relation, Set<string>>, r: Relation, v: string): void {
  let s = m.get(r);
  if (!s) m.set(r, (s = new Set()));
  s.add(v);
}

/** A unit's active state (systemd's UnitActiveState). Units not listed are inactive. */
export type ActiveState = 'inactive' | 'activating' | 'active' | 'reloading' | 'deactivating' | 'failed';
export type UnitStates = ReadonlyMap<string, ActiveState> | ((unit: string) => ActiveState | undefined);

export function stateOf(states: UnitStates | undefined, unit: string): ActiveState {
  if (!states) return 'inactive';
  return (typeof states === 'function' ? states(unit) : states.get(unit)) ?? 'inactive';
}

export const isActiveOrReloading = (s: ActiveState): boolean => s === 'active' || s === 'reloading';
export const isActiveOrActivating = (s: ActiveState): boolean => s === 'active' || s === 'reloading' || s === 'activating';
export const isInactiveOrFailed = (s: ActiveState): boolean => s === 'inactive' || s === 'failed';
export const isInactiveOrDeactivating = (s: ActiveState): boolean =>
  s === 'inactive' || s === 'failed' || s === 'deactivating';
