/**
 * `sysg convert`: units → one manifest. Each .service becomes a service; a
 * .socket or .timer joins the service it activates (Service=/Unit=, else the
 * unit with the same prefix), loaded from the given files or the unit path.
 */
import { type Diagnostic } from '../unit/diagnostics.js';
import { type LoadedUnit, loadUnit } from '../unit/load.js';
import { type UnitSearchPath } from '../unit/search-path.js';
import { directiveTable, type DirectiveTable } from '../compat/table.js';
import { specifierExpander } from '../unit/unit-specifiers.js';
import { type Translation, type UnsupportedEntry, translateUnit } from './translate.js';
import { type Provenance } from './emit.js';

export interface ConvertResult {
  readonly manifest?: Record<string, unknown>;
  readonly provenance: Provenance;
  readonly diagnostics: Diagnostic[];
  /** Directives that were not translated (for --strict). */
  readonly untranslated: number;
  /** True when some input could not be read or loaded at all. */
  readonly failed: boolean;
}

/** Order of a service's top-level groups in the output. */
const TOP_ORDER = [
  'semantics', 'unit', 'type', 'commands', 'lifecycle', 'restart_policy', 'restart', 'timeouts', 'kill',
  'user', 'group', 'supplementary_groups', 'dynamic_user', 'working_dir', 'umask', 'exec_search_path', 'ignore_sigpipe',
  'env', 'limits', 'sandbox', 'directories', 'credentials', 'stdio', 'logs', 'socket', 'timer', 'install', 'x_unsupported',
];

function destinationRank(table: DirectiveTable): Map<string, number> {
  const rank = new Map<string, number>();
  table.rows.forEach((row, i) => {
    for (const d of row.yaml) if (!rank.has(d)) rank.set(d, i);
  });
  return rank;
}

function compareDest(rank: Map<string, number>): (a: string, b: string) => number {
  const key = (d: string): [number, number] => {
    const stripped = d.replace(/^(socket|timer)\./, '');
    const top = TOP_ORDER.indexOf(d.split('.')[0]!);
    // The unit's identity (name, file, drop-ins) comes first in its block.
    const meta = /^(unit|socket|timer)\.(name|fragment|dropins)$/.exec(d);
    const metaRank = meta ? ['name', 'fragment', 'dropins'].indexOf(meta[2]!) - 3 : undefined;
    return [top < 0 ? TOP_ORDER.length : top, metaRank ?? rank.get(stripped) ?? rank.get(d) ?? 1e6];
  };
  return (a, b) => {
    const [a1, a2] = key(a);
    const [b1, b2] = key(b);
    return a1 - b1 || a2 - b2 || (a < b ? -1 : a > b ? 1 : 0);
  };
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** `nginx.service` → `nginx`; `getty@.service` → `getty@`. */
export function serviceKey(unitName: string): string {
  return unitName.replace(/\.service$/, '');
}

interface ServiceBuild {
  key: string;
  units: Array<{ unit: LoadedUnit; translation: Translation }>;
}

function activatedService(unit: LoadedUnit, t: Translation): string {
  const explicit = unit.type === 'socket' ? t.fields.get('socket.service') : t.fields.get('timer.unit');
  if (typeof explicit === 'string') return explicit;
  const prefix = unit.name.replace(/\.[a-z]+$/, '');
  const accept = t.fields.get('socket.accept') === true;
  return accept ? `${prefix}@.service` : `${prefix}.service`;
}

export function convertUnits(args: readonly string[], searchPath: UnitSearchPath): ConvertResult {
  const table = directiveTable();
  const diagnostics: Diagnostic[] = [];
  let failed = false;
  const builds = new Map<string, ServiceBuild>();
  const pending: Array<{ unit: LoadedUnit; translation: Translation }> = [];
  const loadedNames = new Set<string>();

  /** Loads and translates one unit; `required` units that fail make the whole conversion fail. */
  const load = (arg: string, required = true): { unit: LoadedUnit; translation: Translation } | undefined => {
    const unit = loadUnit(arg, searchPath);
    if (unit.fatal && !required) return undefined;
    diagnostics.push(...unit.diagnostics);
    if (unit.fatal) {
      failed = true;
      return undefined;
    }
    loadedNames.add(unit.name);
    const translation = translateUnit(unit, { table, expand: specifierExpander(unit) });
    diagnostics.push(...translation.diagnostics);
    if (translation.fatal) {
      failed = true;
      return undefined;
    }
    return { unit, translation };
  };

  for (const arg of args) {
    const r = load(arg);
    if (!r) continue;
    if (r.unit.type === 'service') {
      const key = serviceKey(r.unit.name);
      const b = builds.get(key) ?? { key, units: [] };
      b.units.unshift(r);
      builds.set(key, b);
    } else if (r.unit.type === 'socket' || r.unit.type === 'timer') {
      pending.push(r);
    } else {
      diagnostics.push({ severity: 'error', message: `${r.unit.name}: only .service, .socket and .timer units can be converted` });
      failed = true;
    }
  }
  for (const p of pending) {
    const target = activatedService(p.unit, p.translation);
    const key = serviceKey(target);
    let b = builds.get(key);
    if (!b) {
      // The activated service was not given: take it from the unit path (or the socket's directory).
      const r = loadedNames.has(target) ? undefined : load(target, false);
      b = { key, units: r ? [r] : [] };
      if (!r) diagnostics.push({ severity: 'warning', message: `${p.unit.name}: activates ${target}, which was not found; the service has only its ${p.unit.type}` });
      builds.set(key, b);
    }
    b.units.push(p);
  }
  if (failed) return { provenance: { fields: new Map() }, diagnostics, untranslated: 0, failed };

  const rank = destinationRank(table);
  const services: Record<string, unknown> = {};
  const provenance = new Map<string, string[]>();
  let untranslated = 0;
  for (const b of [...builds.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))) {
    const svc: Record<string, unknown> = { semantics: 'systemd' };
    const fields = new Map<string, unknown>();
    const unsupported: UnsupportedEntry[] = [];
    for (const { unit, translation } of b.units) {
      const meta = unit.type === 'service' ? 'unit' : unit.type;
      fields.set(`${meta}.name`, unit.name);
      if (unit.fragment) fields.set(`${meta}.fragment`, unit.fragment);
      if (unit.type === 'service' && unit.dropins.length > 0) fields.set('unit.dropins', [...unit.dropins]);
      for (const [k, v] of translation.fields) fields.set(k, v);
      for (const [k, v] of translation.provenance) provenance.set(`services.${b.key}.${k}`, v);
      unsupported.push(...translation.unsupported);
    }
    for (const d of [...fields.keys()].sort(compareDest(rank))) setPath(svc, d, fields.get(d));
    if (unsupported.length > 0) svc.x_unsupported = unsupported;
    untranslated += unsupported.length;
    services[b.key] = svc;
  }
  const manifest = { version: '3', interpolate: false, services };
  return { manifest, provenance: { fields: provenance }, diagnostics, untranslated, failed };
}
