/**
 * Time spans as systemd reads and prints them: parse_time()/parse_sec()/
 * parse_nsec() and format_timespan() from src/basic/time-util.c (v255).
 * Values are microseconds as JS numbers; "infinity" is Infinity (USEC_INFINITY).
 *
 * Grammar quirks reproduced on purpose:
 *  - Units are matched as prefixes in a fixed order, case-sensitively: "m" is
 *    minutes, "M" months, "ms" milliseconds; "1Min" fails ("M" then "in").
 *  - A number without unit takes the default unit, also in the middle:
 *    "5 5" is 10s, "1s1" is 2s; "12.34 .56" is 12.9s; ".5" is 0.5s.
 *  - Fractions are truncated to the microsecond, digit by digit.
 *  - A leading "+" is accepted (strtoll), any "-" is an error, even "-0".
 *  - Sums reaching 2^64-1 µs are out of range.
 */
import { ValueError } from '../diagnostics.js';
import { WHITESPACE, isDigit, skipWhitespace, strtoll } from './cparse.js';

export const USEC_PER_MSEC = 1000;
export const USEC_PER_SEC = 1_000_000;
export const USEC_PER_MINUTE = 60 * USEC_PER_SEC;
export const USEC_PER_HOUR = 60 * USEC_PER_MINUTE;
export const USEC_PER_DAY = 24 * USEC_PER_HOUR;
export const USEC_PER_WEEK = 7 * USEC_PER_DAY;
/** 30.44 days, as systemd defines a month. */
export const USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC;
/** 365.25 days. */
export const USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC;

/** USEC_INFINITY / NSEC_INFINITY: (uint64_t) -1. */
const U64_INFINITY = (1n << 64n) - 1n;

/** A default unit for numbers without suffix; 'ns' selects parse_nsec()'s grammar. */
export type TimeUnit = 'ns' | 'us' | 'ms' | 's' | 'min' | 'h' | 'd' | 'w' | 'M' | 'y';

const UNIT_USEC: Record<Exclude<TimeUnit, 'ns'>, number> = {
  us: 1, ms: USEC_PER_MSEC, s: USEC_PER_SEC, min: USEC_PER_MINUTE, h: USEC_PER_HOUR, d: USEC_PER_DAY, w: USEC_PER_WEEK, M: USEC_PER_MONTH, y: USEC_PER_YEAR,
};

/** extract_multiplier()'s table, in systemd's order (first prefix match wins); values in µs. */
const USEC_SUFFIXES: readonly (readonly [string, bigint])[] = [
  ['seconds', 1_000_000n], ['second', 1_000_000n], ['sec', 1_000_000n], ['s', 1_000_000n],
  ['minutes', 60_000_000n], ['minute', 60_000_000n], ['min', 60_000_000n],
  ['months', 2_629_800_000_000n], ['month', 2_629_800_000_000n], ['M', 2_629_800_000_000n],
  ['msec', 1000n], ['ms', 1000n], ['m', 60_000_000n],
  ['hours', 3_600_000_000n], ['hour', 3_600_000_000n], ['hr', 3_600_000_000n], ['h', 3_600_000_000n],
  ['days', 86_400_000_000n], ['day', 86_400_000_000n], ['d', 86_400_000_000n],
  ['weeks', 604_800_000_000n], ['week', 604_800_000_000n], ['w', 604_800_000_000n],
  ['years', 31_557_600_000_000n], ['year', 31_557_600_000_000n], ['y', 31_557_600_000_000n],
  ['usec', 1n], ['us', 1n], ['\u03bcs', 1n], ['\u00b5s', 1n],
];

/** extract_nsec_multiplier()'s table: the same units in ns, plus nsec/ns and an empty default. */
const NSEC_SUFFIXES: readonly (readonly [string, bigint])[] = [
  ...USEC_SUFFIXES.map(([s, v]) => [s, v * 1000n] as const),
  ['nsec', 1n], ['ns', 1n], ['', 1n],
];

class SpanError extends Error {}

function spanError(value: string, reason: string): ValueError {
  return new ValueError(`Failed to parse time span "${value}": ${reason}`);
}

/** The word a failed unit lookup stopped at, for the message. */
function unitWord(s: string, i: number): string {
  let j = i;
  while (j < s.length && !WHITESPACE.includes(s[j]!) && !isDigit(s[j]) && s[j] !== '.') j++;
  return s.slice(i, j === i ? i + 1 : j);
}

/** parse_time() / parse_nsec() core, in the table's base unit; returns U64_INFINITY for "infinity". */
function parseCore(t: string, defaultMultiplier: bigint, table: readonly (readonly [string, bigint])[]): bigint {
  let p = skipWhitespace(t, 0);
  if (t.startsWith('infinity', p)) {
    if (skipWhitespace(t, p + 8) !== t.length) throw new SpanError('trailing characters after "infinity"');
    return U64_INFINITY;
  }
  let total = 0n;
  let something = false;
  for (;;) {
    p = skipWhitespace(t, p);
    if (p >= t.length) {
      if (!something) throw new SpanError('no value given');
      return total;
    }
    if (t[p] === '-') throw new SpanError('negative values are not allowed');
    const n = strtoll(t, p, 10);
    if (n.erange) throw new SpanError('number out of range');
    if (n.value < 0n) throw new SpanError('negative values are not allowed');
    const e = n.end;
    const hasDot = t[e] === '.';
    if (hasDot) {
      p = e + 1;
      while (isDigit(t[p])) p++;
    } else if (n.end === p) {
      throw new SpanError(`invalid number at "${t.slice(p)}"`);
    } else {
      p = e;
    }
    const q = skipWhitespace(t, p);
    let multiplier = defaultMultiplier;
    let s = q;
    for (const [suffix, mult] of table) {
      if (t.startsWith(suffix, q)) {
        multiplier = mult;
        s = q + suffix.length;
        break;
      }
    }
    // "12.34.56" and "1x" fail here; "12.34 .56" and "12.34s.56" do not.
    if (s === p && s < t.length) throw new SpanError(t[s] === '.' ? `unexpected "." at "${t.slice(s)}"` : `unknown unit "${unitWord(t, s)}"`);
    p = s;
    if (n.value >= U64_INFINITY / multiplier) throw new SpanError('value out of range');
    let k = n.value * multiplier;
    if (k >= U64_INFINITY - total) throw new SpanError('value out of range');
    total += k;
    something = true;
    if (hasDot) {
      let m = multiplier / 10n;
      let b = e + 1;
      for (; isDigit(t[b]); b++, m /= 10n) {
        k = BigInt(t.charCodeAt(b) - 48) * m;
        if (k >= U64_INFINITY - total) throw new SpanError('value out of range');
        total += k;
      }
      if (b === e + 1) throw new SpanError('missing digits after "."');
    }
  }
}

function run(value: string, defaultMultiplier: bigint, table: readonly (readonly [string, bigint])[]): bigint {
  try {
    return parseCore(value, defaultMultiplier, table);
  } catch (e) {
    if (e instanceof SpanError) throw spanError(value, e.message);
    throw e;
  }
}

/**
 * parse_time(value, default_unit) → microseconds, Infinity for "infinity".
 * The default unit applies to bare numbers: 's' for parse_sec() (TimeoutSec=,
 * RestartSec=…), 'us' for LimitRTTIME=. 'ns' switches to parse_nsec()'s grammar
 * (which also knows "ns"/"nsec", e.g. TimerSlackNSec=); the result is still in
 * microseconds and may then be fractional.
 */
export function parseTimespan(value: string, defaultUnit: TimeUnit = 's'): number {
  if (defaultUnit === 'ns') {
    const ns = run(value, 1n, NSEC_SUFFIXES);
    return ns === U64_INFINITY ? Infinity : Number(ns) / 1000;
  }
  const us = run(value, BigInt(UNIT_USEC[defaultUnit]), USEC_SUFFIXES);
  return us === U64_INFINITY ? Infinity : Number(us);
}

/** parse_nsec() → nanoseconds (Infinity for "infinity"); bare numbers are nanoseconds. */
export function parseTimespanNsec(value: string): number {
  const ns = run(value, 1n, NSEC_SUFFIXES);
  return ns === U64_INFINITY ? Infinity : Number(ns);
}

/** parse_sec_fix_0() (TimeoutSec=, TimeoutStartSec=, JobTimeoutSec=…): 0 means infinity. */
export function parseTimespanFix0(value: string): number {
  const us = parseTimespan(value);
  return us === 0 ? Infinity : us;
}

/** parse_sec_def_infinity() (CPUQuotaPeriodSec=…): an empty value means infinity. */
export function parseTimespanDefInfinity(value: string): number {
  return value.trim() === '' ? Infinity : parseTimespan(value);
}

const FORMAT_TABLE: readonly (readonly [string, bigint])[] = [
  ['y', 31_557_600_000_000n], ['month', 2_629_800_000_000n], ['w', 604_800_000_000n], ['d', 86_400_000_000n],
  ['h', 3_600_000_000n], ['min', 60_000_000n], ['s', 1_000_000n], ['ms', 1000n], ['us', 1n],
];

/**
 * format_timespan(buf, l, t, accuracy): the canonical text systemd prints (and
 * parse_sec() reads back). Largest units first; below one minute a remainder is
 * written as a decimal fraction of the largest unit: 90e6 → "1min 30s",
 * 1500 → "1.500ms", 90.5e6 → "1min 30.500000s". Accuracy is in µs (systemctl
 * show uses 0/1, i.e. exact). Non-integer input is truncated to whole µs.
 */
export function formatTimespan(us: number, accuracy: number = 1): string {
  if (us === Infinity || us >= 2 ** 64 - 1) return 'infinity';
  if (!(us > 0)) return '0';
  let t = BigInt(Math.floor(us));
  if (t === 0n) return '0';
  const acc = BigInt(Math.max(0, Math.floor(accuracy)));
  const parts: string[] = [];
  for (const [suffix, unit] of FORMAT_TABLE) {
    if (t <= 0n) break;
    if (t < acc && parts.length > 0) break;
    if (t < unit) continue;
    const a = t / unit;
    let b = t % unit;
    if (t < 60_000_000n && b > 0n) {
      let j = 0;
      for (let cc = unit; cc > 1n; cc /= 10n) j++;
      for (let cc = acc; cc > 1n; cc /= 10n) {
        b /= 10n;
        j--;
      }
      if (j > 0) {
        parts.push(`${a}.${b.toString().padStart(j, '0')}${suffix}`);
        t = 0n;
        continue;
      }
    }
    parts.push(`${a}${suffix}`);
    t = b;
  }
  return parts.join(' ');
}
