/**
 * limits.cgroup.* (the model's values) → the files and values to write, per
 * cgroup version, with systemd's conversions (src/core/cgroup.c,
 * src/basic/cgroup-util.h): CPUWeight → cpu.shares, IOWeight → blkio/bfq
 * weights, CPUQuota= → cpu.max / cfs_quota_us, percentages of RAM and of the
 * system's task limit.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { parseTimespan } from '../unit/values/timespan.js';

/** One file write into the service's cgroup directory of a hierarchy. */
export interface CgroupWrite {
  readonly file: string;
  readonly value: string;
  /** Written instead when `file` does not exist (io.weight of io.cost vs. BFQ's io.bfq.weight). */
  readonly fallback?: CgroupWrite;
}

/** What one model field needs: a controller, and the writes for v2 or for v1 (undefined: that version cannot do it). */
export interface LimitPlan {
  readonly field: string;
  readonly controller: 'memory' | 'cpu' | 'pids' | 'io' | 'cpuset';
  readonly v2: readonly CgroupWrite[] | undefined;
  readonly v1: readonly CgroupWrite[] | undefined;
  /** Why v1 cannot enforce it (for the error message). */
  readonly v1Missing?: string;
}

export class CgroupLimitError extends Error {
  override readonly name = 'CgroupLimitError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const PAGE = 4096;
const CGROUP_WEIGHT_MIN = 1;
const CGROUP_WEIGHT_DEFAULT = 100;
const CGROUP_WEIGHT_MAX = 10000;
const USEC_PER_SEC = 1_000_000;

const isPercent = (v: unknown): v is string => typeof v === 'string' && /^[0-9]+(\.[0-9]+)?%$/.test(v);

/** "12.5%" → 1250 (1/10000 units, systemd's permyriad). */
function permyriad(v: string): number {
  return Math.round(parseFloat(v) * 100);
}

/** Memory limit in bytes, "max" for infinity; percentages scale physical RAM, rounded down to pages. */
function memoryBytes(field: string, v: unknown): number | 'max' {
  if (v === 'infinity') return 'max';
  if (Number.isSafeInteger(v) && (v as number) >= 0) return v as number;
  if (isPercent(v)) return Math.floor((totalmem() * permyriad(v)) / 10000 / PAGE) * PAGE;
  throw new CgroupLimitError(field, `expected bytes, "infinity" or a percentage, got ${JSON.stringify(v)}`);
}

/** systemd's system_tasks_max(): the smaller of kernel.pid_max - 1 and kernel.threads-max. */
function systemTasksMax(): number {
  const read = (p: string): number => parseInt(readFileSync(p, 'utf8'), 10);
  return Math.min(read('/proc/sys/kernel/pid_max') - 1, read('/proc/sys/kernel/threads-max'));
}

function weight(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < CGROUP_WEIGHT_MIN || (v as number) > CGROUP_WEIGHT_MAX) {
    throw new CgroupLimitError(field, `expected a weight 1…10000, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** cgroup_cpu_weight_to_shares(). */
export function cpuWeightToShares(w: number): number {
  return clamp(Math.floor((w * 1024) / CGROUP_WEIGHT_DEFAULT), 2, 262144);
}
/** cgroup_weight_io_to_blkio() (CFQ's blkio.weight 10…1000). */
export function ioWeightToBlkio(w: number): number {
  return clamp(Math.floor((w * 500) / CGROUP_WEIGHT_DEFAULT), 10, 1000);
}
/** BFQ_WEIGHT(): io weight 1…10000 → BFQ's 1…1000, 100 staying 100. */
export function ioWeightToBfq(w: number): number {
  return w <= CGROUP_WEIGHT_DEFAULT
    ? CGROUP_WEIGHT_DEFAULT - Math.floor(((CGROUP_WEIGHT_DEFAULT - w) * 99) / (CGROUP_WEIGHT_DEFAULT - CGROUP_WEIGHT_MIN))
    : CGROUP_WEIGHT_DEFAULT + Math.floor(((w - CGROUP_WEIGHT_DEFAULT) * 900) / (CGROUP_WEIGHT_MAX - CGROUP_WEIGHT_DEFAULT));
}

/** CPUQuotaPeriodSec= → µs, clamped to systemd's 1ms…1000s; default 100ms. */
function quotaPeriodUsec(v: unknown): number {
  if (v === undefined) return 100_000;
  let us: number;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) us = Math.round(v * USEC_PER_SEC);
  else if (typeof v === 'string') us = parseTimespan(v);
  else throw new CgroupLimitError('limits.cgroup.cpu_quota_period', `expected a time span, got ${JSON.stringify(v)}`);
  if (!Number.isFinite(us)) return 100_000; // "infinity": systemd's "unset", the default period
  return clamp(us, 1000, 1000 * USEC_PER_SEC);
}

/** cpu.max "QUOTA PERIOD" / "max PERIOD" → v1 writes (period first: the kernel checks quota against it). */
function cpuMaxToV1(field: string, text: string): CgroupWrite[] {
  const m = /^(max|\d+)(?:\s+(\d+))?$/.exec(text.trim());
  if (!m) throw new CgroupLimitError(field, `expected "QUOTA PERIOD" or "max PERIOD", got ${JSON.stringify(text)}`);
  return [
    { file: 'cpu.cfs_period_us', value: m[2] ?? '100000' },
    { file: 'cpu.cfs_quota_us', value: m[1] === 'max' ? '-1' : m[1]! },
  ];
}

/** A cpuset list "0-2,5" from CPU/node numbers. */
function cpusetText(field: string, v: unknown): string {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new CgroupLimitError(field, 'expected a list of numbers');
  return [...new Set(v as number[])].sort((a, b) => a - b).join(',');
}

/**
 * The plans for the requested cgroup fields. `cgroup` is the model's
 * limits.cgroup mapping; fields handled elsewhere (slice, delegate, the
 * accounting switches) are skipped here. Unknown fields throw: fail closed.
 */
export function planLimits(cgroup: Readonly<Record<string, unknown>>): LimitPlan[] {
  const out: LimitPlan[] = [];
  const f = (k: string): string => `limits.cgroup.${k}`;
  const set = (k: string): boolean => cgroup[k] !== undefined && cgroup[k] !== null;

  for (const [k, file] of [['memory_min', 'memory.min'], ['memory_low', 'memory.low'], ['memory_high', 'memory.high'], ['memory_swap_max', 'memory.swap.max'], ['memory_zswap_max', 'memory.zswap.max']] as const) {
    if (!set(k)) continue;
    const b = memoryBytes(f(k), cgroup[k]);
    out.push({ field: f(k), controller: 'memory', v2: [{ file, value: String(b) }], v1: undefined, v1Missing: `${file} exists only in cgroup v2` });
  }
  if (set('memory_max')) {
    const b = memoryBytes(f('memory_max'), cgroup['memory_max']);
    out.push({
      field: f('memory_max'), controller: 'memory',
      v2: [{ file: 'memory.max', value: String(b) }],
      v1: [{ file: 'memory.limit_in_bytes', value: b === 'max' ? '-1' : String(b) }],
    });
  }
  if (set('cpu_weight')) {
    const v = cgroup['cpu_weight'];
    if (v === 'idle') out.push({ field: f('cpu_weight'), controller: 'cpu', v2: [{ file: 'cpu.idle', value: '1' }], v1: undefined, v1Missing: 'cpu.idle exists only in cgroup v2' });
    else {
      const w = weight(f('cpu_weight'), v);
      out.push({ field: f('cpu_weight'), controller: 'cpu', v2: [{ file: 'cpu.weight', value: String(w) }], v1: [{ file: 'cpu.shares', value: String(cpuWeightToShares(w)) }] });
    }
  }
  if (set('cpu_quota') || set('cpu_quota_period')) {
    const period = quotaPeriodUsec(cgroup['cpu_quota_period']);
    let quota: number | 'max' = 'max';
    if (set('cpu_quota')) {
      const q = cgroup['cpu_quota'];
      if (!isPercent(q)) throw new CgroupLimitError(f('cpu_quota'), `expected a percentage, got ${JSON.stringify(q)}`);
      // systemd: MAX(quota_per_sec * period / 1s, 1ms)
      const perSec = (permyriad(q) * USEC_PER_SEC) / 10000;
      quota = Math.max(Math.floor((perSec * period) / USEC_PER_SEC), 1000);
    }
    const text = `${quota} ${period}`;
    const field = set('cpu_quota') ? f('cpu_quota') : f('cpu_quota_period');
    out.push({ field, controller: 'cpu', v2: [{ file: 'cpu.max', value: text }], v1: cpuMaxToV1(field, text) });
    if (set('cpu_quota') && set('cpu_quota_period')) out.push({ field: f('cpu_quota_period'), controller: 'cpu', v2: [], v1: [] });
  }
  if (set('cpu_max')) {
    const text = cgroup['cpu_max'];
    if (typeof text !== 'string') throw new CgroupLimitError(f('cpu_max'), 'expected "QUOTA PERIOD" or "max PERIOD"');
    out.push({ field: f('cpu_max'), controller: 'cpu', v2: [{ file: 'cpu.max', value: text.trim() }], v1: cpuMaxToV1(f('cpu_max'), text) });
  }
  if (set('tasks_max')) {
    const v = cgroup['tasks_max'];
    let n: string;
    if (v === 'infinity') n = 'max';
    else if (Number.isSafeInteger(v) && (v as number) >= 1) n = String(v);
    else if (isPercent(v)) n = String(Math.max(1, Math.floor((systemTasksMax() * permyriad(v)) / 10000)));
    else throw new CgroupLimitError(f('tasks_max'), `expected a count, "infinity" or a percentage, got ${JSON.stringify(v)}`);
    out.push({ field: f('tasks_max'), controller: 'pids', v2: [{ file: 'pids.max', value: n }], v1: [{ file: 'pids.max', value: n }] });
  }
  if (set('io_weight')) {
    const w = weight(f('io_weight'), cgroup['io_weight']);
    // io.weight (io.cost) or io.bfq.weight, whichever the kernel offers; v1: CFQ's blkio.weight or BFQ's.
    out.push({
      field: f('io_weight'), controller: 'io',
      v2: [{ file: 'io.weight', value: `default ${w}`, fallback: { file: 'io.bfq.weight', value: String(ioWeightToBfq(w)) } }],
      v1: [{ file: 'blkio.weight', value: String(ioWeightToBlkio(w)), fallback: { file: 'blkio.bfq.weight', value: String(ioWeightToBfq(w)) } }],
    });
  }
  if (set('allowed_cpus')) {
    const t = cpusetText(f('allowed_cpus'), cgroup['allowed_cpus']);
    out.push({ field: f('allowed_cpus'), controller: 'cpuset', v2: [{ file: 'cpuset.cpus', value: t }], v1: [{ file: 'cpuset.cpus', value: t }] });
  }
  if (set('allowed_memory_nodes')) {
    const t = cpusetText(f('allowed_memory_nodes'), cgroup['allowed_memory_nodes']);
    out.push({ field: f('allowed_memory_nodes'), controller: 'cpuset', v2: [{ file: 'cpuset.mems', value: t }], v1: [{ file: 'cpuset.mems', value: t }] });
  }
  return out;
}
