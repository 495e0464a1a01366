/**
 * systemd's extract_first_word() (src/basic/extract-word.c, v255) and
 * cunescape_one() (src/basic/escape.c), for the value parsers here that split
 * lists (paths, CPU sets, exit statuses, rlimit soft:hard, bind mounts).
 * src/unit/words.ts offers the general-purpose splitter; this copy exists so the
 * scalar grammars can follow the exact C control flow, including where the read
 * position ends up (BindPaths= looks at the separator just consumed).
 */
import { WHITESPACE } from './cparse.js';

export interface ExtractFlags {
  /** EXTRACT_UNQUOTE: '…' and "…" group and the quotes are removed. */
  unquote?: boolean;
  /** EXTRACT_CUNESCAPE: C escapes (\n, \x41, \s, …) are decoded. */
  cunescape?: boolean;
  /** EXTRACT_UNESCAPE_SEPARATORS: "\<separator>" and "\\" are accepted as escapes. */
  unescapeSeparators?: boolean;
  /** EXTRACT_UNESCAPE_RELAX: unknown escapes are kept verbatim. */
  unescapeRelax?: boolean;
  /** EXTRACT_RELAX: unbalanced quotes and a trailing backslash are tolerated. */
  relax?: boolean;
  /** EXTRACT_DONT_COALESCE_SEPARATORS: each separator ends a (possibly empty) word. */
  dontCoalesce?: boolean;
  /** EXTRACT_RETAIN_ESCAPE: backslashes are ordinary characters. */
  retainEscape?: boolean;
}

export interface ExtractResult {
  /** null when there was no word left (extract_first_word() returned 0). */
  readonly word: string | null;
  /** Read position for the next call; null once the input is exhausted (C's *p = NULL). */
  readonly next: number | null;
}

/** Thrown for -EINVAL: unbalanced quotes, a trailing or unknown escape. */
export class ExtractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractError';
  }
}

function unhex(c: string | undefined): number {
  if (c === undefined) return -1;
  const v = '0123456789abcdef'.indexOf(c.toLowerCase());
  return c.length === 1 ? v : -1;
}

/**
 * cunescape_one() with accept_nul=false: decodes the escape whose first
 * character (after the backslash) is at `i`. Returns the decoded text and how
 * many input characters it used, or null when it is not a valid escape.
 * "\xNN"/octal above 0x7f are raw bytes in C; here they become U+0080…U+00FF.
 */
export function cunescapeOne(s: string, i: number): { text: string; length: number } | null {
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ' };
  const c = s[i];
  if (c === undefined) return null;
  if (Object.hasOwn(simple, c)) return { text: simple[c]!, length: 1 };
  const hexRun = (n: number): number | null => {
    let v = 0;
    for (let k = 1; k <= n; k++) {
      const d = unhex(s[i + k]);
      if (d < 0) return null;
      v = v * 16 + d;
    }
    return v;
  };
  if (c === 'x') {
    const v = hexRun(2);
    return v === null || v === 0 ? null : { text: String.fromCharCode(v), length: 3 };
  }
  if (c === 'u' || c === 'U') {
    const n = c === 'u' ? 4 : 8;
    const v = hexRun(n);
    if (v === null || v === 0) return null;
    if (c === 'U' && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))) return null;
    if (v >= 0xd800 && v <= 0xdfff) return { text: String.fromCharCode(v), length: n + 1 };
    return { text: String.fromCodePoint(v), length: n + 1 };
  }
  if (c >= '0' && c <= '7') {
    const oct = (x: string | undefined): number => (x !== undefined && x >= '0' && x <= '7' ? x.charCodeAt(0) - 48 : -1);
    const a = oct(s[i]), b = oct(s[i + 1]), d = oct(s[i + 2]);
    if (a < 0 || b < 0 || d < 0) return null;
    const v = (a << 6) | (b << 3) | d;
    if (v === 0 || v > 255) return null;
    return { text: String.fromCharCode(v), length: 3 };
  }
  return null;
}

/**
 * extract_first_word(&p, &word, separators, flags). `pos` null means C's
 * p == NULL (nothing left). Separators default to WHITESPACE, as in C.
 */
export function extractFirstWord(input: string, pos: number | null, separators: string = WHITESPACE, flags: ExtractFlags = {}): ExtractResult {
  if (pos === null) return { word: null, next: null };
  const isSep = (c: string): boolean => separators.includes(c);
  let i = pos;
  let s: string | null = flags.dontCoalesce ? '' : null;

  // Leading separators: skipped, or (DONT_COALESCE) each one yields an empty word.
  for (;; i++) {
    const c = input[i];
    if (c === undefined) return { word: s, next: null };
    if (isSep(c)) {
      if (flags.dontCoalesce) return { word: '', next: i + 1 };
      continue;
    }
    s = '';
    break;
  }

  let word = s;
  let quote = '';
  let backslash = false;
  for (;; i++) {
    let c = input[i];
    if (backslash) {
      if (c === undefined) {
        if (flags.unescapeRelax && (!quote || flags.relax)) return { word: word + '\\', next: null };
        if (flags.relax) return { word, next: null };
        throw new ExtractError('trailing backslash');
      }
      if (flags.cunescape || flags.unescapeSeparators) {
        const u = flags.cunescape ? cunescapeOne(input, i) : null;
        if (u) {
          word += u.text;
          i += u.length - 1;
        } else if (flags.unescapeSeparators && (isSep(c) || c === '\\')) {
          word += c;
        } else if (flags.unescapeRelax) {
          word += '\\' + c;
        } else {
          throw new ExtractError(`invalid escape sequence "\\${c}"`);
        }
      } else {
        word += c;
      }
      backslash = false;
    } else if (quote) {
      for (;; i++) {
        c = input[i];
        if (c === undefined) {
          if (flags.relax) return { word, next: null };
          throw new ExtractError('unbalanced quoting');
        }
        if (c === quote) {
          quote = '';
          break;
        }
        if (c === '\\' && !flags.retainEscape) {
          backslash = true;
          break;
        }
        word += c;
      }
    } else {
      for (;; i++) {
        c = input[i];
        if (c === undefined) return { word, next: null };
        if ((c === "'" || c === '"') && flags.unquote) {
          quote = c;
          break;
        }
        if (c === '\\' && !flags.retainEscape) {
          backslash = true;
          break;
        }
        if (isSep(c)) {
          if (flags.dontCoalesce) return { word, next: i + 1 };
          for (;; i++) {
            const d = input[i];
            if (d === undefined) return { word, next: null };
            if (!isSep(d)) break;
          }
          return { word, next: i };
        }
        word += c;
      }
    }
  }
}

/** Every word of `input` (strv_split_full() style). */
export function extractAllWords(input: string, separators: string = WHITESPACE, flags: ExtractFlags = {}): string[] {
  const out: string[] = [];
  let pos: number | null = 0;
  for (;;) {
    const r = extractFirstWord(input, pos, separators, flags);
    if (r.word === null) return out;
    out.push(r.word);
    pos = r.next;
  }
}

/** extract_many_words(): up to `n` words; missing ones are null. Returns the read position too. */
export function extractManyWords(input: string, pos: number | null, n: number, separators: string, flags: ExtractFlags = {}): { words: (string | null)[]; count: number; next: number | null } {
  const words: (string | null)[] = [];
  let count = 0;
  for (; count < n; count++) {
    const r = extractFirstWord(input, pos, separators, flags);
    pos = r.next;
    if (r.word === null) break;
    words.push(r.word);
  }
  while (words.length < n) words.push(null);
  return { words, count, next: pos };
}
