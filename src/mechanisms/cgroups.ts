/**
 * The service's own cgroup: created by the supervisor (parent side) beneath
 * the cgroup the supervisor itself runs in — `<own>/sysg[/<slices>]/<unit>`
 * in every hierarchy it uses, never at a hierarchy's root — with the limits
 * written before the child joins it (the child's 'cgroup-join' step writes
 * "0" to each directory's cgroup.procs, so nothing it forks escapes).
 *
 * Hierarchies: the v2 one (pure or hybrid) always, for tracking and
 * cgroup.kill; a v1 controller hierarchy only for a limit the v2 one cannot
 * enforce (the controller is not available there, or cannot be enabled
 * because of the "no internal processes" rule). Without a v2 hierarchy,
 * name=systemd (or the first v1 hierarchy) does the tracking. A requested
 * limit that no hierarchy can enforce is an error naming its field: fail
 * closed, never a silently unlimited service.
 */
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync, constants as fsc } from 'node:fs';
import { detectHierarchies, type Hierarchy } from './cgroups-hierarchy.js';
import { CgroupLimitError, planLimits, type CgroupWrite, type LimitPlan } from './cgroups-limits.js';

export { CgroupLimitError } from './cgroups-limits.js';
export type { Hierarchy } from './cgroups-hierarchy.js';

/** A cgroup could not be set up; `field` is the model field whose enforcement failed, if one. */
export class CgroupError extends Error {
  override readonly name = 'CgroupError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

export interface ServiceCgroupOptions {
  /** The service's uid/gid: with limits.cgroup.delegate, the cgroup is chowned to them. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** The directory beneath the supervisor's cgroup that holds the services (default "sysg"). */
  readonly base?: string;
  /** For tests: the hierarchies to use instead of detecting them. */
  readonly hierarchies?: readonly Hierarchy[];
}

type Controller = LimitPlan['controller'];
/** The v1 hierarchy that carries a controller (v2's io is v1's blkio). */
const V1_NAME: Readonly<Record<Controller, string>> = { memory: 'memory', cpu: 'cpu', pids: 'pids', io: 'blkio', cpuset: 'cpuset' };
const ACCOUNTING: Readonly<Record<string, Controller>> = {
  cpu_accounting: 'cpu', memory_accounting: 'memory', io_accounting: 'io', tasks_accounting: 'pids',
};
/** limits.cgroup keys that ServiceCgroup handles (everything else is refused). Startup* apply only during boot: never here. */
const STRUCTURAL = new Set(['slice', 'delegate', 'startup_cpu_weight', 'startup_io_weight', 'startup_allowed_cpus', 'startup_allowed_memory_nodes', ...Object.keys(ACCOUNTING)]);
const LIMIT_KEYS = new Set([
  'memory_min', 'memory_low', 'memory_high', 'memory_max', 'memory_swap_max', 'memory_zswap_max', 'cpu_weight', 'cpu_quota',
  'cpu_quota_period', 'cpu_max', 'tasks_max', 'io_weight', 'allowed_cpus', 'allowed_memory_nodes',
]);

/** The limits.cgroup fields ServiceCgroup.create() can enforce (it throws when it cannot, for the given machine). */
export const CGROUP_FIELDS: readonly string[] = [...LIMIT_KEYS, ...STRUCTURAL].map((k) => `limits.cgroup.${k}`);

function writeFile(path: string, value: string): void {
  const fd = openSync(path, fsc.O_WRONLY) // libuv adds O_CLOEXEC;
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** "foo-bar.slice" → ["foo.slice", "foo-bar.slice"] (systemd's slice nesting); "-.slice" → []. */
export function slicePath(slice: string): string[] {
  if (!/^[A-Za-z0-9:_.\\-]+\.slice$/.test(slice)) throw new CgroupError(`not a slice unit name: ${JSON.stringify(slice)}`, 'limits.cgroup.slice');
  if (slice === '-.slice') return [];
  const stem = slice.slice(0, -'.slice'.length);
  if (stem.startsWith('-') || stem.endsWith('-') || stem.includes('--')) throw new CgroupError(`invalid slice name ${JSON.stringify(slice)}`, 'limits.cgroup.slice');
  const parts = stem.split('-');
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('-')}.slice`);
}

/** A hierarchy as used by one service: its unit directory and the directories created between own and it. */
interface Placed {
  readonly h: Hierarchy;
  /** own/base, own/base/a.slice, …, own/base/…/unit. */
  readonly chain: readonly string[];
}

export class ServiceCgroup {
  private constructor(
    /** Directories the child joins, one per hierarchy; the first is the tracking one. */
    readonly dirs: readonly string[],
    /** Model fields (limits.cgroup.*) whose values were written or arranged. */
    readonly enforced: ReadonlySet<string>,
    private readonly placed: readonly Placed[],
  ) {}

  /**
   * Creates `<own>/<base>[/<slices>]/<unitName>` in each needed hierarchy and
   * writes the limits of `cgroup` (the model's limits.cgroup mapping).
   * Throws CgroupError naming the field a limit that cannot be enforced.
   */
  static create(unitName: string, cgroup: Readonly<Record<string, unknown>> = {}, opts: ServiceCgroupOptions = {}): ServiceCgroup {
    if (!unitName || unitName.includes('/') || unitName === '.' || unitName === '..' || unitName.includes('\0')) {
      throw new CgroupError(`not usable as a cgroup name: ${JSON.stringify(unitName)}`);
    }
    const requested = Object.keys(cgroup).filter((k) => cgroup[k] !== undefined && cgroup[k] !== null && cgroup[k] !== false);
    for (const k of requested) {
      if (!LIMIT_KEYS.has(k) && !STRUCTURAL.has(k)) throw new CgroupError('not supported by sysg', `limits.cgroup.${k}`);
    }
    let plans: LimitPlan[];
    try {
      plans = planLimits(cgroup);
    } catch (e) {
      if (e instanceof CgroupLimitError) throw new CgroupError(e.message.slice(e.field.length + 2), e.field);
      throw e;
    }
    const slice = typeof cgroup['slice'] === 'string' ? slicePath(cgroup['slice']) : [];
    const rel = [opts.base ?? 'sysg', ...slice, unitName];
    const hs = opts.hierarchies ?? detectHierarchies();
    const v2 = hs.find((h) => h.version === 2);
    const tracking = v2 ?? hs.find((h) => h.controllers.includes('name=systemd')) ?? hs[0];
    if (!tracking) throw new CgroupError('no cgroup hierarchy is mounted (or this process is outside every mounted one)');

    const placed = new Map<Hierarchy, Placed>();
    const place = (h: Hierarchy): Placed => {
      let p = placed.get(h);
      if (!p) {
        p = { h, chain: makeChain(h, rel) };
        placed.set(h, p);
      }
      return p;
    };
    const enforced = new Set<string>();
    try {
      place(tracking);
      // Group the plans by controller; accounting switches and delegated controllers need the controller only.
      const needs = new Map<Controller, LimitPlan[]>();
      const need = (c: Controller): LimitPlan[] => needs.get(c) ?? (needs.set(c, []), needs.get(c)!);
      for (const p of plans) need(p.controller).push(p);
      for (const [k, c] of Object.entries(ACCOUNTING)) if (cgroup[k] === true) need(c);
      const delegate = cgroup['delegate'];
      const delegated = Array.isArray(delegate) ? (delegate as string[]) : [];
      for (const c of delegated) {
        if (!(c in V1_NAME)) throw new CgroupError(`unknown controller ${JSON.stringify(c)}`, 'limits.cgroup.delegate');
        need(c as Controller);
      }

      for (const [c, ps] of needs) {
        const where = chooseHierarchy(c, ps, hs, v2, place);
        const dir = where.chain[where.chain.length - 1]!;
        for (const p of ps) {
          const writes = where.h.version === 2 ? p.v2! : p.v1!;
          for (const w of writes) applyWrite(dir, w, p.field);
          enforced.add(p.field);
        }
      }
      for (const k of Object.keys(ACCOUNTING)) if (cgroup[k] === true) enforced.add(`limits.cgroup.${k}`);
      if (cgroup['slice'] !== undefined) enforced.add('limits.cgroup.slice');
      for (const k of ['startup_cpu_weight', 'startup_io_weight', 'startup_allowed_cpus', 'startup_allowed_memory_nodes']) {
        if (cgroup[k] !== undefined) enforced.add(`limits.cgroup.${k}`);
      }
      if (delegate === true || delegated.length > 0) {
        if (opts.owner) for (const p of placed.values()) chownCgroup(p, opts.owner);
        enforced.add('limits.cgroup.delegate');
      }
    } catch (e) {
      for (const p of placed.values()) removeChain(p);
      if (e instanceof CgroupError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new CgroupError(`cgroup setup failed: ${err.message}`);
    }
    const ordered = [placed.get(tracking)!, ...[...placed.values()].filter((p) => p.h !== tracking)];
    return new ServiceCgroup(ordered.map((p) => p.chain[p.chain.length - 1]!), enforced, ordered);
  }

  /** The tracking directory (first of dirs). */
  get dir(): string {
    return this.dirs[0]!;
  }

  /** Every process in the service's cgroup, including sub-cgroups it made (Delegate=). */
  pids(): number[] {
    const out: number[] = [];
    const walk = (dir: string): void => {
      let text: string;
      try {
        text = readFileSync(`${dir}/cgroup.procs`, 'utf8');
      } catch (e) {
        if (errCode(e) === 'ENOENT') return;
        throw e;
      }
      for (const l of text.split('\n')) if (l) out.push(Number(l));
      for (const d of subdirs(dir)) walk(`${dir}/${d}`);
    };
    walk(this.dir);
    return out;
  }

  empty(): boolean {
    return this.pids().length === 0;
  }

  /**
   * Signals every process of the service. SIGKILL on v2 uses cgroup.kill
   * (atomic against forks); otherwise each listed pid is signalled, and the
   * list re-read until a pass finds no process that was not signalled yet
   * (a fork racing the first pass shows up in the next).
   */
  kill(signal: NodeJS.Signals | number = 'SIGKILL'): void {
    const isKill = signal === 'SIGKILL' || signal === 9;
    if (isKill && this.placed[0]!.h.version === 2 && existsSync(`${this.dir}/cgroup.kill`)) {
      writeFile(`${this.dir}/cgroup.kill`, '1');
      return;
    }
    const done = new Set<number>();
    for (;;) {
      const fresh = this.pids().filter((p) => !done.has(p));
      if (fresh.length === 0) return;
      for (const p of fresh) {
        done.add(p);
        try {
          process.kill(p, signal);
        } catch (e) {
          if (errCode(e) !== 'ESRCH') throw e;
        }
      }
    }
  }

  /**
   * Removes the service's directories (sub-cgroups first) and the now-empty
   * slice and base directories above them. Throws while processes remain.
   */
  remove(): void {
    for (const p of this.placed) {
      const unit = p.chain[p.chain.length - 1]!;
      if (existsSync(unit)) rmdirTree(unit);
      removeChain(p);
    }
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return [];
    throw e;
  }
}

function rmdirTree(dir: string): void {
  for (const d of subdirs(dir)) rmdirTree(`${dir}/${d}`);
  try {
    rmdirSync(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return;
    if (errCode(e) === 'EBUSY') throw new CgroupError(`${dir} still has processes`);
    throw e;
  }
}

/** Removes the chain's directories bottom-up while they are empty (other services may share base and slices). */
function removeChain(p: Placed): void {
  for (let i = p.chain.length - 1; i >= 0; i--) {
    try {
      rmdirSync(p.chain[i]!);
    } catch (e) {
      const c = errCode(e);
      if (c === 'ENOENT') continue;
      if (c === 'EBUSY' || c === 'ENOTEMPTY') return;
      throw e;
    }
  }
}

/** Creates own/rel[0]/…/rel[n-1]; a leftover unit directory without processes is recreated so old limits vanish. */
function makeChain(h: Hierarchy, rel: readonly string[]): string[] {
  const chain: string[] = [];
  let dir = h.own;
  for (const part of rel) {
    dir = `${dir}/${part}`;
    chain.push(dir);
  }
  const unit = chain[chain.length - 1]!;
  if (existsSync(unit)) {
    try {
      rmdirTree(unit);
    } catch (e) {
      if (e instanceof CgroupError) throw new CgroupError(`${unit} is in use (is another instance of the service running?)`);
      throw e;
    }
  }
  for (const d of chain) {
    try {
      mkdirSync(d);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    // v1 cpuset: a new cgroup starts with empty cpus/mems and nothing can join it until they are set.
    if (h.version === 1 && h.controllers.includes('cpuset')) {
      const parent = d.slice(0, d.lastIndexOf('/'));
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (readFileSync(`${d}/${f}`, 'utf8').trim() === '') writeFile(`${d}/${f}`, readFileSync(`${parent}/${f}`, 'utf8').trim() || '\n');
      }
    }
  }
  return chain;
}

/** Enables `c` in cgroup.subtree_control of own and every chain directory above the unit (v2). Returns the failure text or undefined. */
function enableV2(h: Hierarchy, chain: readonly string[], c: Controller): string | undefined {
  const available = readFileSync(`${h.own}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
  if (!available.includes(c)) return `the ${c} controller is not available in cgroup v2 at ${h.own}`;
  for (const d of [h.own, ...chain.slice(0, -1)]) {
    const on = readFileSync(`${d}/cgroup.subtree_control`, 'utf8').trim().split(/\s+/);
    if (on.includes(c)) continue;
    try {
      writeFile(`${d}/cgroup.subtree_control`, `+${c}`);
    } catch (e) {
      if (errCode(e) === 'EBUSY') {
        return `cannot enable the ${c} controller below ${d}: that cgroup has processes of its own (cgroup v2's "no internal processes" rule); run sysg in a cgroup of its own (e.g. move it to a leaf like ${d}/supervisor) to use this limit`;
      }
      return `cannot enable the ${c} controller below ${d}: ${(e as Error).message}`;
    }
  }
  return undefined;
}

function chooseHierarchy(c: Controller, ps: readonly LimitPlan[], hs: readonly Hierarchy[], v2: Hierarchy | undefined, place: (h: Hierarchy) => Placed): Placed {
  const reasons: string[] = [];
  if (v2 && ps.every((p) => p.v2 !== undefined)) {
    const p = place(v2);
    const why = enableV2(v2, p.chain, c);
    if (why === undefined) return p;
    reasons.push(why);
  } else if (!v2) reasons.push('there is no cgroup v2 hierarchy');
  const v1 = hs.find((h) => h.version === 1 && h.controllers.includes(V1_NAME[c]));
  const v1Gap = ps.find((p) => p.v1 === undefined);
  if (v1 && !v1Gap) return place(v1);
  if (v1Gap) reasons.push(v1Gap.v1Missing ?? 'cgroup v1 has no equivalent');
  else reasons.push(`no cgroup v1 hierarchy has the ${V1_NAME[c]} controller`);
  const field = (v1Gap ?? ps[0])?.field;
  throw new CgroupError(`cannot be enforced: ${reasons.join('; ')}`, field ?? `limits.cgroup (${c} controller)`);
}

function applyWrite(dir: string, w: CgroupWrite, field: string): void {
  const target = !existsSync(`${dir}/${w.file}`) && w.fallback ? w.fallback : w;
  if (!existsSync(`${dir}/${target.file}`)) throw new CgroupError(`cannot be enforced: the kernel has no ${w.file}${w.fallback ? ` nor ${w.fallback.file}` : ''} in ${dir}`, field);
  try {
    writeFile(`${dir}/${target.file}`, target.value);
  } catch (e) {
    throw new CgroupError(`writing ${JSON.stringify(target.value)} to ${dir}/${target.file} failed: ${(e as Error).message}`, field);
  }
}

/** Delegate=: the service user may manage its subtree (create sub-cgroups, move its processes). */
function chownCgroup(p: Placed, owner: { readonly uid: number; readonly gid: number }): void {
  const unit = p.chain[p.chain.length - 1]!;
  chownSync(unit, owner.uid, owner.gid);
  const files = p.h.version === 2 ? ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'] : ['cgroup.procs', 'tasks', 'cgroup.clone_children'];
  for (const f of files) if (existsSync(`${unit}/${f}`)) chownSync(`${unit}/${f}`, owner.uid, owner.gid);
}

/**
 * For a supervisor that owns its cgroup (a delegated unit, a container's
 * cgroup namespace) on cgroup v2: moves its own processes (`pids`: the
 * supervisor and its zygote) into `<own>/<leaf>`, so that `<own>` holds no
 * processes and controllers can be enabled for the services beneath it —
 * what systemd documents for delegated managers. Does nothing on a root
 * cgroup (exempt from the rule) and refuses (returns false) when `<own>`
 * holds any process not in `pids`: sysg never moves foreign processes.
 * Call it before ServiceCgroup.create(), passing the hierarchies detected
 * BEFORE the move (ServiceCgroupOptions.hierarchies), since /proc/self/cgroup
 * then names the leaf.
 */
export function claimOwnCgroup(pids: readonly number[], hierarchies: readonly Hierarchy[] = detectHierarchies(), leaf = 'supervisor'): boolean {
  const v2 = hierarchies.find((h) => h.version === 2);
  if (!v2 || !existsSync(`${v2.own}/cgroup.type`)) return true; // no v2, or its root: nothing to do
  const inside = readFileSync(`${v2.own}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  if (inside.some((p) => !pids.includes(p))) return false;
  const target = `${v2.own}/${leaf}`;
  try {
    mkdirSync(target);
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e;
  }
  for (const p of inside) {
    try {
      writeFile(`${target}/cgroup.procs`, String(p));
    } catch (e) {
      if (errCode(e) !== 'ESRCH') throw e;
    }
  }
  return true;
}
