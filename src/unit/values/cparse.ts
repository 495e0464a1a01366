/**
 * C number parsing as systemd sees it: glibc strtoull()/strtoll() plus
 * systemd's safe_ato*() wrappers (src/basic/parse-util.c, v255). Shared by the
 * value parsers in this directory; 64-bit arithmetic is done in BigInt so range
 * checks match the C code exactly, results are converted to number at the edge.
 *
 * Surprises worth knowing (all faithful to systemd):
 *  - safe_atou()/safe_atoi() use base 0: "0x10" is 16, "010" is 8 (octal!),
 *    and systemd adds Python-style "0b…"/"0o…" prefixes.
 *  - Leading whitespace and a leading "+" are accepted.
 *  - "-0" parses as 0 for the unsigned variants; any other "-N" is ERANGE.
 */

import { WHITESPACE } from '../words.js';

/** systemd's WHITESPACE set (one definition, in words.ts). */
export { WHITESPACE };

/** What glibc's isspace() accepts in the C locale (strtol skips these). */
const C_SPACE = ' \t\n\v\f\r';

export type CErrno = 'EINVAL' | 'ERANGE';

export class CParseError extends Error {
  constructor(readonly errno: CErrno) {
    super(errno === 'ERANGE' ? 'value out of range' : 'invalid number');
    this.name = 'CParseError';
  }
}

export const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT32_MAX = 0x7fffffffn;
const INT32_MIN = -0x80000000n;

export function skipWhitespace(s: string, i: number, set: string = WHITESPACE): number {
  while (i < s.length && set.includes(s[i]!)) i++;
  return i;
}

export function isDigit(c: string | undefined): c is string {
  return c !== undefined && c >= '0' && c <= '9';
}

function digitValue(c: string | undefined): number {
  if (c === undefined) return 99;
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 87;
  if (c >= 'A' && c <= 'Z') return c.charCodeAt(0) - 55;
  return 99;
}

export interface StrtolResult {
  /** Magnitude with the sign applied (not yet clamped or wrapped). */
  readonly value: bigint;
  /** Index just after the parsed number; equals `start` when nothing was converted. */
  readonly end: number;
  readonly negative: boolean;
}

/**
 * glibc strtol family core: skips isspace(), takes an optional sign, honours
 * base 0 (0x → 16, 0 → 8, else 10) and an optional 0x prefix for base 16.
 * Returns the exact mathematical value; callers apply the type's range.
 */
export function strtoCore(s: string, start: number, base: number): StrtolResult {
  let i = skipWhitespace(s, start, C_SPACE);
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  if ((base === 0 || base === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2]) < 16) {
    i += 2;
    base = 16;
  } else if (base === 0) {
    base = s[i] === '0' ? 8 : 10;
  }
  const b = BigInt(base);
  let v = 0n;
  const digitsStart = i;
  while (digitValue(s[i]) < base) {
    v = v * b + BigInt(digitValue(s[i]));
    i++;
  }
  if (i === digitsStart) return { value: 0n, end: start, negative: false };
  return { value: negative ? -v : v, end: i, negative };
}

/** strtoull(): ERANGE above UINT64_MAX; a "-" wraps modulo 2^64 like C. */
export function strtoull(s: string, start: number, base: number): { value: bigint; end: number; erange: boolean } {
  const r = strtoCore(s, start, base);
  const mag = r.value < 0n ? -r.value : r.value;
  if (mag > UINT64_MAX) return { value: UINT64_MAX, end: r.end, erange: true };
  return { value: r.negative && mag !== 0n ? (1n << 64n) - mag : mag, end: r.end, erange: false };
}

/** strtoll(): ERANGE outside the int64 range. */
export function strtoll(s: string, start: number, base: number): { value: bigint; end: number; erange: boolean } {
  const r = strtoCore(s, start, base);
  if (r.value > INT64_MAX) return { value: INT64_MAX, end: r.end, erange: true };
  if (r.value < INT64_MIN) return { value: INT64_MIN, end: r.end, erange: true };
  return { value: r.value, end: r.end, erange: false };
}

/** systemd's mangle_base(): only with base 0, "0b"/"0o" select base 2/8. */
function mangleBase(s: string, i: number, base: number): { i: number; base: number } {
  if (base !== 0) return { i, base };
  const two = s.slice(i, i + 2);
  if (two === '0b' || two === '0B') return { i: i + 2, base: 2 };
  if (two === '0o' || two === '0O') return { i: i + 2, base: 8 };
  return { i, base };
}

export interface SafeAtouOptions {
  /** 0 (auto, the default), 8, 10 or 16. */
  base?: number;
  refusePlusMinus?: boolean;
  refuseLeadingZero?: boolean;
  refuseLeadingWhitespace?: boolean;
  /** 8, 16, 32 (default) or 64. */
  bits?: 8 | 16 | 32 | 64;
}

/** safe_atou_full() / safe_atollu_full() / safe_atou8/16(): throws CParseError. */
export function safeAtou(s: string, opts: SafeAtouOptions = {}): bigint {
  if (opts.refuseLeadingWhitespace && s.length > 0 && WHITESPACE.includes(s[0]!)) throw new CParseError('EINVAL');
  let i = skipWhitespace(s, 0);
  if (opts.refusePlusMinus && (s[i] === '+' || s[i] === '-')) throw new CParseError('EINVAL');
  if (opts.refuseLeadingZero && s[i] === '0' && s.length > i + 1) throw new CParseError('EINVAL');
  const m = mangleBase(s, i, opts.base ?? 0);
  i = m.i;
  const r = strtoull(s, i, m.base);
  if (r.erange) throw new CParseError('ERANGE');
  if (r.end === i || r.end !== s.length) throw new CParseError('EINVAL');
  if (r.value !== 0n && s[i] === '-') throw new CParseError('ERANGE');
  const bits = opts.bits ?? 32;
  if (bits !== 64 && r.value > (1n << BigInt(bits)) - 1n) throw new CParseError('ERANGE');
  return r.value;
}

/** safe_atoi(): base 0 with systemd's 0b/0o prefixes, int32 range. */
export function safeAtoi(s: string): number {
  let i = skipWhitespace(s, 0);
  const m = mangleBase(s, i, 0);
  i = m.i;
  const r = strtoll(s, i, m.base);
  if (r.erange) throw new CParseError('ERANGE');
  if (r.end === i || r.end !== s.length) throw new CParseError('EINVAL');
  if (r.value > INT32_MAX || r.value < INT32_MIN) throw new CParseError('ERANGE');
  return Number(r.value);
}
