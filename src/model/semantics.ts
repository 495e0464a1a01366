/**
 * Checks a schema-valid manifest for what a JSON Schema cannot express:
 * one start command per service, dependency references and cycles, systemg
 * fields that contradict their systemd counterparts, and value grammars
 * (time spans) re-parsed with the unit-file parsers.
 */
import { ValueError } from '../unit/diagnostics.js';
import { parseTimespan } from '../unit/values/timespan.js';
import { destinationsFor, directiveTable } from '../compat/table.js';

export interface SemanticDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly directive: string;
  readonly message: string;
  readonly line?: number;
}

type Obj = Record<string, unknown>;
type LineOf = (path: readonly (string | number)[]) => number | undefined;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Each project's services, with the YAML path prefix they live under. */
function serviceGroups(m: Obj): Array<{ prefix: string[]; services: Obj }> {
  const groups: Array<{ prefix: string[]; services: Obj }> = [];
  if (isObj(m.services)) groups.push({ prefix: ['services'], services: m.services });
  if (isObj(m.projects)) {
    for (const [id, p] of Object.entries(m.projects)) if (isObj(p) && isObj(p.services)) groups.push({ prefix: ['projects', id, 'services'], services: p.services });
  }
  return groups;
}

/** systemg fields and the systemd-derived fields that mean the same thing. */
const EQUIVALENT: Array<[string[], string[]]> = [
  [['isolation', 'network'], ['sandbox', 'private_network']],
  [['isolation', 'private_tmp'], ['sandbox', 'private_tmp']],
  [['isolation', 'private_devices'], ['sandbox', 'private_devices']],
  [['isolation', 'user'], ['sandbox', 'private_users']],
  [['isolation', 'mount'], ['sandbox', 'private_mounts']],
];

function get(o: Obj, path: readonly string[]): unknown {
  let cur: unknown = o;
  for (const p of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** YAML paths (relative to a service) that hold systemd time spans, from the directive table. */
let timespanPaths: string[][] | undefined;
function timespanDestinations(): string[][] {
  if (!timespanPaths) {
    const set = new Set<string>();
    for (const row of directiveTable().rows) {
      if (row.type !== 'timespan' && row.type !== 'timespan-list') continue;
      for (const s of row.sections) for (const d of destinationsFor(row, s)) set.add(d);
    }
    timespanPaths = [...set].map((d) => d.split('.'));
  }
  return timespanPaths;
}

function checkTimespans(svc: Obj, at: string[], out: (p: (string | number)[], msg: string) => void): void {
  for (const path of timespanDestinations()) {
    const v = get(svc, path);
    const values = Array.isArray(v) ? v : [v];
    values.forEach((item, i) => {
      if (typeof item !== 'string') return;
      try {
        parseTimespan(item);
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
        out(Array.isArray(v) ? [...at, ...path, i] : [...at, ...path], e.message);
      }
    });
  }
}

export function semanticChecks(m: Obj, lineOf: LineOf): SemanticDiagnostic[] {
  const out: SemanticDiagnostic[] = [];
  const err = (path: readonly (string | number)[], message: string, severity: 'error' | 'warning' = 'error'): void => {
    out.push({ severity, directive: path.join('.'), message, line: lineOf(path) });
  };

  for (const { prefix, services } of serviceGroups(m)) {
    for (const [name, svc] of Object.entries(services)) {
      if (!isObj(svc)) continue;
      const at = [...prefix, name];
      const starts = ['command', 'exec'].filter((k) => svc[k] !== undefined);
      const systemdStart = get(svc, ['commands', 'start']);
      if (starts.length > 1) err(at, 'set only one of `command` and `exec`');
      if (starts.length > 0 && systemdStart !== undefined) err([...at, 'commands', 'start'], `\`commands.start\` and \`${starts[0]}\` both say how to start the service; keep one`);
      if (starts.length === 0 && systemdStart === undefined) {
        const hasOther = isObj(svc.commands) && Object.keys(svc.commands).length > 0;
        if (!hasOther) err(at, 'service has no command (`command`, `exec` or `commands.start`); systemd refuses to start such a unit', 'warning');
      }
      for (const [a, b] of EQUIVALENT) {
        const va = get(svc, a);
        const vb = get(svc, b);
        if (va !== undefined && vb !== undefined && va !== vb) err([...at, ...b], `contradicts ${a.join('.')}: ${JSON.stringify(va)} vs ${JSON.stringify(vb)}`);
      }
      if (svc.capabilities !== undefined && get(svc, ['sandbox', 'capability_bounding_set']) !== undefined) {
        err([...at, 'capabilities'], 'set either systemg `capabilities` or `sandbox.capability_bounding_set`/`ambient_capabilities`, not both');
      }
      checkTimespans(svc, at, (p, msg) => err(p, msg));

      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : [];
      deps.forEach((d, i) => {
        const target = typeof d === 'string' ? d : isObj(d) ? String(d.service) : '';
        if (!(target in services)) err([...at, 'depends_on', i], `depends on unknown service '${target}'`);
        if (target === name) err([...at, 'depends_on', i], 'a service cannot depend on itself');
      });
    }
    // Dependency cycles (systemg refuses them at load time).
    const color = new Map<string, number>();
    const visit = (n: string, stack: string[]): void => {
      color.set(n, 1);
      const svc = services[n];
      const deps = isObj(svc) && Array.isArray(svc.depends_on) ? svc.depends_on : [];
      for (const d of deps) {
        const t = typeof d === 'string' ? d : isObj(d) ? String(d.service) : '';
        if (!(t in services) || t === n) continue;
        if (color.get(t) === 1) err([...prefix, n, 'depends_on'], `dependency cycle: ${[...stack, n, t].join(' -> ')}`);
        else if (!color.has(t)) visit(t, [...stack, n]);
      }
      color.set(n, 2);
    };
    for (const n of Object.keys(services)) if (!color.has(n)) visit(n, []);
  }
  return out;
}
