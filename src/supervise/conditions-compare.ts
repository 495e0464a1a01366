/**
 * The comparison machinery of systemd's Condition*= checks:
 * strverscmp_improved() (src/fundamental/string-util-fundamental.c),
 * parse_compare_operator()/test_order()/version_or_fnmatch_compare()
 * (src/basic/compare-operator.c), and glibc's fnmatch(3)/glob(3) themselves
 * (called through koffi, so pattern semantics are glibc's, as in systemd).
 */
import koffi from 'koffi';

/** A condition could not be evaluated (systemd: the test returned -errno): it counts as failed, negated or not. */
export class ConditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionError';
  }
}

// ---------------------------------------------------------------------------------------------
// strverscmp_improved()

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isValidVersionChar = (c: string): boolean => isDigit(c) || isAlpha(c) || c === '~' || c === '-' || c === '^' || c === '.';
const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
/** CMP(*a, *b) on C chars: the end of the string is NUL (0). */
const code = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);

/**
 * strverscmp_improved(): version comparison treating '-' and '.' as separators, '~' as
 * "older than anything", '^' as "patched release"; numeric segments compare by value
 * (leading zeros ignored), alphabetic ones lexically. Returns -1, 0 or 1.
 */
export function strverscmpImproved(a: string, b: string): number {
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isValidVersionChar(a[i]!)) i++;
    while (j < b.length && !isValidVersionChar(b[j]!)) j++;

    // '~' marks a pre-release: older than anything, even the end of the string.
    if (a[i] === '~' || b[j] === '~') {
      const r = cmp(a[i] !== '~' ? 1 : 0, b[j] !== '~' ? 1 : 0);
      if (r !== 0) return r;
      i++;
      j++;
    }
    // One string ended: the longer one is newer.
    if (i >= a.length || j >= b.length) return cmp(code(a, i), code(b, j));

    for (const sep of ['-', '^', '.']) {
      if (a[i] === sep || b[j] === sep) {
        const r = cmp(a[i] !== sep ? 1 : 0, b[j] !== sep ? 1 : 0);
        if (r !== 0) return r;
        i++;
        j++;
      }
    }

    let ii = i;
    let jj = j;
    if (isDigit(a[i]) || isDigit(b[j])) {
      while (isDigit(a[ii])) ii++;
      while (isDigit(b[jj])) jj++;
      // A numeric segment is newer than an empty one.
      let r = cmp(ii !== i ? 1 : 0, jj !== j ? 1 : 0);
      if (r !== 0) return r;
      while (a[i] === '0') i++;
      while (b[j] === '0') j++;
      r = cmp(ii - i, jj - j);
      if (r !== 0) return r;
      r = cmp(a.slice(i, ii) < b.slice(j, jj) ? -1 : a.slice(i, ii) > b.slice(j, jj) ? 1 : 0, 0);
      if (r !== 0) return r;
    } else {
      while (isAlpha(a[ii])) ii++;
      while (isAlpha(b[jj])) jj++;
      const n = Math.min(ii - i, jj - j);
      const x = a.slice(i, i + n);
      const y = b.slice(j, j + n);
      let r = x < y ? -1 : x > y ? 1 : 0;
      if (r !== 0) return r;
      r = cmp(ii - i, jj - j);
      if (r !== 0) return r;
    }
    i = ii;
    j = jj;
  }
}

// ---------------------------------------------------------------------------------------------
// Operators

export type CompareOperator = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'string=' | 'string!=' | 'fnmatch=' | 'fnmatch!=';

export const COMPARE_ALLOW_FNMATCH = 1 << 0;
export const COMPARE_EQUAL_BY_STRING = 1 << 1;
export const COMPARE_ALLOW_TEXTUAL = 1 << 2;

/** The characters that can start an operator (COMPARE_OPERATOR_WITH_FNMATCH_CHARS). */
export const COMPARE_OPERATOR_WITH_FNMATCH_CHARS = '!<=>$';

const OPERATORS: readonly { op: CompareOperator; str: string; valid?: number; need?: number }[] = [
  { op: 'fnmatch=', str: '$=', valid: COMPARE_ALLOW_FNMATCH },
  { op: 'fnmatch!=', str: '!$=', valid: COMPARE_ALLOW_FNMATCH },
  { op: '!=', str: '<>' },
  { op: '<=', str: '<=' },
  { op: '>=', str: '>=' },
  { op: '<', str: '<' },
  { op: '>', str: '>' },
  { op: '==', str: '==' },
  { op: 'string=', str: '=', need: COMPARE_EQUAL_BY_STRING },
  { op: '==', str: '=' },
  { op: 'string!=', str: '!=', need: COMPARE_EQUAL_BY_STRING },
  { op: '!=', str: '!=' },
  { op: '<', str: 'lt', valid: COMPARE_ALLOW_TEXTUAL },
  { op: '<=', str: 'le', valid: COMPARE_ALLOW_TEXTUAL },
  { op: '==', str: 'eq', valid: COMPARE_ALLOW_TEXTUAL },
  { op: '!=', str: 'ne', valid: COMPARE_ALLOW_TEXTUAL },
  { op: '>=', str: 'ge', valid: COMPARE_ALLOW_TEXTUAL },
  { op: '>', str: 'gt', valid: COMPARE_ALLOW_TEXTUAL },
];

/**
 * parse_compare_operator(): the operator at the start of `s` and the rest of the string,
 * or undefined (no operator, or one the flags do not allow).
 */
export function parseCompareOperator(s: string, flags: number): { op: CompareOperator; rest: string } | undefined {
  for (const o of OPERATORS) {
    if (o.need !== undefined && (flags & o.need) !== o.need) continue;
    if (s.startsWith(o.str)) {
      if (o.valid !== undefined && (flags & o.valid) !== o.valid) return undefined;
      return { op: o.op, rest: s.slice(o.str.length) };
    }
  }
  return undefined;
}

/** test_order(): an ordering operator applied to a comparison result. */
export function testOrder(k: number, op: CompareOperator): boolean {
  switch (op) {
    case '<':
      return k < 0;
    case '<=':
      return k <= 0;
    case '==':
      return k === 0;
    case '!=':
      return k !== 0;
    case '>=':
      return k >= 0;
    case '>':
      return k > 0;
    default:
      throw new ConditionError(`operator ${op} is not an ordering`);
  }
}

/** version_or_fnmatch_compare(op, actual, expected); `actual` undefined is C's NULL (a missing os-release key). */
export function versionOrFnmatchCompare(op: CompareOperator, actual: string | undefined, expected: string): boolean {
  switch (op) {
    case 'string=':
      return actual === expected;
    case 'string!=':
      return actual !== expected;
    case 'fnmatch=':
    case 'fnmatch!=': {
      const r = fnmatch(expected, actual ?? '', 0);
      if (r === undefined) throw new ConditionError(`fnmatch() failed on pattern "${expected}"`);
      return op === 'fnmatch=' ? r : !r;
    }
    default:
      return testOrder(strverscmpImproved(actual ?? '', expected), op);
  }
}

// ---------------------------------------------------------------------------------------------
// glibc fnmatch(3) and glob(3)

export const FNM_CASEFOLD = 1 << 4;
const FNM_NOMATCH = 1;
const GLOB_NOSORT = 1 << 2;
const GLOB_BRACE = 1 << 10;
const GLOB_NOSPACE = 1;
const GLOB_NOMATCH = 3;
/** sizeof(glob_t) is 72 on 64-bit glibc; a generous zeroed buffer. */
const GLOB_T_SIZE = 256;

interface Libc {
  fnmatch: (pattern: string, str: string, flags: number) => number;
  glob: (pattern: string, flags: number, errfunc: null, pglob: Buffer) => number;
  globfree: (pglob: Buffer) => void;
}
let libc: Libc | undefined;
function getLibc(): Libc {
  if (!libc) {
    const lib = koffi.load('libc.so.6');
    libc = {
      fnmatch: lib.func('int fnmatch(const char *pattern, const char *string, int flags)') as unknown as Libc['fnmatch'],
      glob: lib.func('int glob(const char *pattern, int flags, void *errfunc, void *pglob)') as unknown as Libc['glob'],
      globfree: lib.func('void globfree(void *pglob)') as unknown as Libc['globfree'],
    };
  }
  return libc;
}

/** fnmatch(3): true on a match, false on FNM_NOMATCH, undefined on an error (an invalid pattern). */
export function fnmatch(pattern: string, str: string, flags: number): boolean | undefined {
  const r = getLibc().fnmatch(pattern, str, flags);
  return r === 0 ? true : r === FNM_NOMATCH ? false : undefined;
}

/** glob_exists(): glob(path, GLOB_NOSORT|GLOB_BRACE) found at least one path. */
export function globExists(pattern: string): boolean {
  const l = getLibc();
  const g = Buffer.alloc(GLOB_T_SIZE);
  const r = l.glob(pattern, GLOB_NOSORT | GLOB_BRACE, null, g);
  try {
    if (r === GLOB_NOMATCH) return false;
    if (r === GLOB_NOSPACE) throw new ConditionError('glob(): out of memory');
    if (r !== 0) throw new ConditionError(`glob() failed on "${pattern}"`);
    return g.readBigUInt64LE(0) > 0n; // gl_pathc
  } finally {
    l.globfree(g); // glob() initialises the structure whatever it returns
  }
}
