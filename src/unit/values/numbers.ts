/**
 * Integer-valued directives, following systemd v255:
 *  - safe_atou()/safe_atoi()/safe_atou64() (src/basic/parse-util.c): base 0,
 *    so "0x1f" is hex, "0b101" binary, "0o17" and "017" octal; leading
 *    whitespace and "+" are fine; trailing junk is not.
 *  - parse_mode(): octal only, no sign, at most 07777.
 *  - parse_permyriad()/parse_percent() (src/basic/percent-util.c).
 *  - the config_parse_exec_*()/cgroup parsers in src/core/load-fragment.c and
 *    cg_weight_parse() (src/basic/cgroup-util.c) for the range checks.
 */
import { ValueError } from '../diagnostics.js';
import { CParseError, safeAtoi, safeAtou } from './cparse.js';

function fail(what: string, value: string, e: unknown): never {
  if (e instanceof CParseError) throw new ValueError(`Failed to parse ${what} "${value}": ${e.message}`);
  throw e;
}

function outOfRange(what: string, value: string, range: string): ValueError {
  return new ValueError(`${what} "${value}" out of range (${range})`);
}

/** safe_atou() → uint32 (config_parse_unsigned: StartLimitBurst=, LogRateLimitBurst=…). */
export function parseUnsigned(value: string): number {
  try {
    return Number(safeAtou(value));
  } catch (e) {
    fail('unsigned integer', value, e);
  }
}

/** safe_atou64() → uint64 (as a JS number; exact up to 2^53). */
export function parseUnsigned64(value: string): number {
  try {
    return Number(safeAtou(value, { bits: 64 }));
  } catch (e) {
    fail('unsigned integer', value, e);
  }
}

/** safe_atoi() → int32 (config_parse_int). */
export function parseInt32(value: string): number {
  try {
    return safeAtoi(value);
  } catch (e) {
    fail('integer', value, e);
  }
}

function intInRange(what: string, value: string, min: number, max: number): number {
  const n = parseInt32Named(what, value);
  if (n < min || n > max) throw outOfRange(what, value, `${min}…${max}`);
  return n;
}

function parseInt32Named(what: string, value: string): number {
  try {
    return safeAtoi(value);
  } catch (e) {
    fail(what, value, e);
  }
}

/** parse_nice() (Nice=): -20…19. */
export function parseNice(value: string): number {
  return intInRange('Nice priority', value, -20, 19);
}

/** parse_oom_score_adjust() (OOMScoreAdjust=): -1000…1000. */
export function parseOOMScoreAdjust(value: string): number {
  return intInRange('OOM score adjustment', value, -1000, 1000);
}

/**
 * config_parse_exec_cpu_sched_prio() (CPUSchedulingPriority=): 0…99. The range
 * that fits the policy (1…99 for fifo/rr, 0 otherwise) is checked later, when
 * the policy is known; systemd clamps it then.
 */
export function parseCPUSchedulingPriority(value: string): number {
  return intInRange('CPU scheduling priority', value, 0, 99);
}

export type SchedPolicy = 'other' | 'batch' | 'idle' | 'fifo' | 'rr';

/** Linux SCHED_* numbers (the same on every architecture). */
export const SCHED_POLICIES: Readonly<Record<SchedPolicy, number>> = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5 };

/**
 * sched_policy_from_string() (CPUSchedulingPolicy=): a name, or a number naming
 * one of them ("2" → "rr"). systemd's string-table fallback also takes any other
 * number up to INT_MAX, which sched_setscheduler() then refuses at exec time
 * (the service fails with EXIT_SETSCHEDULER); such numbers are rejected here.
 */
export function parseCPUSchedulingPolicy(value: string): SchedPolicy {
  if (Object.hasOwn(SCHED_POLICIES, value)) return value as SchedPolicy;
  let n: bigint;
  try {
    n = safeAtou(value);
  } catch {
    throw new ValueError(`Failed to parse CPU scheduling policy "${value}" (expected other, batch, idle, fifo or rr)`);
  }
  const name = (Object.keys(SCHED_POLICIES) as SchedPolicy[]).find((k) => BigInt(SCHED_POLICIES[k]) === n);
  if (name) return name;
  throw new ValueError(`Unsupported CPU scheduling policy number ${value} (systemd would fail at exec time; use other, batch, idle, fifo or rr)`);
}

export type IOSchedClass = 'none' | 'realtime' | 'best-effort' | 'idle';

/** IOPRIO_CLASS_* numbers. */
export const IO_SCHED_CLASSES: Readonly<Record<IOSchedClass, number>> = { none: 0, realtime: 1, 'best-effort': 2, idle: 3 };

/**
 * ioprio_class_from_string() (IOSchedulingClass=): a name, or its number 0…3.
 * systemd 252–255 also let the numbers 4…8 through (IOPRIO_N_CLASSES fallback)
 * although the kernel knows no such class and ioprio_set() fails at exec time;
 * those are rejected here.
 */
export function parseIOSchedulingClass(value: string): IOSchedClass {
  if (Object.hasOwn(IO_SCHED_CLASSES, value)) return value as IOSchedClass;
  let n: bigint;
  try {
    n = safeAtou(value);
  } catch {
    throw new ValueError(`Failed to parse IO scheduling class "${value}" (expected none, realtime, best-effort or idle)`);
  }
  const name = (Object.keys(IO_SCHED_CLASSES) as IOSchedClass[]).find((k) => BigInt(IO_SCHED_CLASSES[k]) === n);
  if (name) return name;
  throw new ValueError(`Unsupported IO scheduling class number ${value} (expected 0…3 or a name)`);
}

/** ioprio_parse_priority() (IOSchedulingPriority=): 0…7. */
export function parseIOSchedulingPriority(value: string): number {
  return intInRange('IO scheduling priority', value, 0, 7);
}

/** parse_mode() (UMask=, *DirectoryMode=, SocketMode=…): octal, no sign, ≤ 07777. */
export function parseMode(value: string): number {
  let m: bigint;
  try {
    m = safeAtou(value, { base: 8, refusePlusMinus: true });
  } catch (e) {
    fail('mode', value, e);
  }
  if (m > 0o7777n) throw outOfRange('Mode', value, '0…07777');
  return Number(m);
}

/** cg_weight_parse() (IOWeight=, StartupIOWeight=…): 1…10000. */
export function parseIOWeight(value: string): number {
  let n: bigint;
  try {
    n = safeAtou(value, { bits: 64 });
  } catch (e) {
    fail('weight', value, e);
  }
  if (n < 1n || n > 10000n) throw outOfRange('Weight', value, '1…10000');
  return Number(n);
}

/** cg_cpu_weight_parse() (CPUWeight=, StartupCPUWeight=): 1…10000 or "idle" (weight 0). */
export function parseCPUWeight(value: string): number | 'idle' {
  if (value === 'idle') return 'idle';
  return parseIOWeight(value);
}

function parts(value: string, symbol: string, decimals: 0 | 1 | 2, what: string): number {
  const body = value.slice(0, value.length - symbol.length);
  const dot = decimals > 0 ? body.indexOf('.') : -1;
  let whole = body;
  let q = 0;
  if (dot >= 0) {
    const frac = body.slice(dot + 1);
    if (frac.length < 1 || frac.length > decimals || !/^[0-9]+$/.test(frac)) {
      throw new ValueError(`Failed to parse ${what} "${value}": at most ${decimals} digit${decimals > 1 ? 's' : ''} allowed after "."`);
    }
    q = Number(frac.padEnd(decimals, '0'));
    whole = body.slice(0, dot);
  }
  let v: number;
  try {
    v = safeAtoi(whole);
  } catch (e) {
    fail(what, value, e);
  }
  if (v < 0) throw new ValueError(`Failed to parse ${what} "${value}": negative`);
  const scale = 10 ** decimals;
  if (v > Math.floor((2147483647 - q) / scale)) throw new ValueError(`Failed to parse ${what} "${value}": value out of range`);
  return v * scale + q;
}

/** parse_percent_unbounded(): "N%" → N (whole percent only, may exceed 100). */
export function parsePercentUnbounded(value: string): number {
  if (!value.endsWith('%')) throw new ValueError(`Failed to parse percentage "${value}": missing "%"`);
  return parts(value, '%', 0, 'percentage');
}

/** parse_percent(): "N%" with N ≤ 100. */
export function parsePercent(value: string): number {
  const v = parsePercentUnbounded(value);
  if (v > 100) throw outOfRange('Percentage', value, '0%…100%');
  return v;
}

/**
 * parse_permyriad_unbounded(): "N‱", "N‰"/"N.N‰", or "N%"/"N.N%"/"N.NN%" →
 * ten-thousandths. The number before the symbol goes through safe_atoi(), so
 * " 5%" and even "0x10%" are accepted, as in systemd.
 */
export function parsePermyriadUnbounded(value: string): number {
  if (value.endsWith('\u2031')) return parts(value, '\u2031', 0, 'percentage');
  if (value.endsWith('\u2030')) return parts(value, '\u2030', 1, 'percentage');
  if (value.endsWith('%')) return parts(value, '%', 2, 'percentage');
  throw new ValueError(`Failed to parse percentage "${value}": missing "%", "‰" or "‱"`);
}

/** parse_permyriad(): as above, at most 100%. */
export function parsePermyriad(value: string): number {
  const v = parsePermyriadUnbounded(value);
  if (v > 10000) throw outOfRange('Percentage', value, '0%…100%');
  return v;
}

/** Formats ten-thousandths as systemd's percentage text: 2000 → "20%", 1250 → "12.5%", 1 → "0.01%". */
export function formatPermyriad(permyriad: number): string {
  const whole = Math.floor(permyriad / 100);
  const frac = permyriad % 100;
  if (frac === 0) return `${whole}%`;
  return `${whole}.${String(frac).padStart(2, '0').replace(/0$/, '')}%`;
}

/**
 * config_parse_cpu_quota() (CPUQuota=): a positive parse_permyriad_unbounded()
 * value, may exceed 100% ("200%" = two CPUs). Returns ten-thousandths of one
 * CPU; systemd stores permyriad × 1s / 10000 of CPU time per second.
 */
export function parseCPUQuotaPermyriad(value: string): number {
  const v = parsePermyriadUnbounded(value);
  if (v <= 0) throw new ValueError(`Invalid CPU quota "${value}": must be greater than 0%`);
  return v;
}

/** CPUQuota= as a percentage of one CPU: "20%" → 20, "12.5%" → 12.5, "150%" → 150. */
export function parseCPUQuota(value: string): number {
  return parseCPUQuotaPermyriad(value) / 100;
}

export type TasksMax =
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'percent'; readonly permyriad: number }
  | { readonly kind: 'infinity' };

/**
 * config_parse_tasks_max() (TasksMax=, non-empty values): "infinity", a share of
 * the system's kernel.pid_max/threads-max via parse_permyriad() ("40%", ≤ 100%),
 * or a count ≥ 1 (safe_atou64()).
 */
export function parseTasksMaxFull(value: string): TasksMax {
  if (value === 'infinity') return { kind: 'infinity' };
  try {
    return { kind: 'percent', permyriad: parsePermyriad(value) };
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
  }
  let n: bigint;
  try {
    n = safeAtou(value, { bits: 64 });
  } catch (e) {
    if (e instanceof CParseError) throw new ValueError(`Invalid maximum tasks value "${value}": ${e.message}`);
    throw e;
  }
  if (n <= 0n || n >= (1n << 64n) - 1n) throw new ValueError(`Maximum tasks value "${value}" out of range`);
  return { kind: 'count', count: Number(n) };
}

/** TasksMax= in YAML form: a count, "infinity", or the normalized percentage text ("40%", "12.5%"). */
export function parseTasksMax(value: string): number | 'infinity' | `${number}%` {
  const t = parseTasksMaxFull(value);
  if (t.kind === 'infinity') return 'infinity';
  if (t.kind === 'count') return t.count;
  return formatPermyriad(t.permyriad) as `${number}%`;
}
