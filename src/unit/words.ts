/**
 * Word splitting as systemd v255 does it: a port of extract_first_word(),
 * extract_first_word_and_warn() and strv_split_full() (src/basic/extract-word.c,
 * src/basic/strv.c). Every list-valued directive goes through this.
 *
 * Summary of extract_first_word():
 *  - leading separators are skipped (unless EXTRACT_DONT_COALESCE_SEPARATORS, where a
 *    separator right away yields an empty word);
 *  - with EXTRACT_UNQUOTE, '…' and "…" anywhere in a word protect separators and are
 *    removed (`a"b c"d` → `ab cd`); EXTRACT_KEEP_QUOTE protects but keeps them;
 *  - a backslash escapes the next character: with EXTRACT_CUNESCAPE it starts a C
 *    escape (see escape.ts), with EXTRACT_UNESCAPE_SEPARATORS `\<separator>` and `\\`
 *    become the character, with neither flag the backslash is just dropped
 *    (`\x` → `x`); EXTRACT_RETAIN_ESCAPE makes it an ordinary character. Backslashes
 *    work the same inside both kinds of quotes;
 *  - errors: unbalanced quotes (allowed with EXTRACT_RELAX), a trailing backslash
 *    (dropped with EXTRACT_RELAX, kept with EXTRACT_UNESCAPE_RELAX outside quotes), an
 *    unknown escape (kept verbatim with EXTRACT_UNESCAPE_RELAX).
 *
 * Positions are indices into the JS string; `null` plays the part of C's `*p = NULL`
 * ("input exhausted, nothing more to extract").
 */

import { ValueError } from './diagnostics.js';
import { Utf8Builder, appendUnescaped, cunescapeOne } from './escape.js';

export const EXTRACT_RELAX = 1 << 0;
export const EXTRACT_CUNESCAPE = 1 << 1;
export const EXTRACT_UNESCAPE_RELAX = 1 << 2;
export const EXTRACT_UNESCAPE_SEPARATORS = 1 << 3;
export const EXTRACT_KEEP_QUOTE = 1 << 4;
export const EXTRACT_UNQUOTE = 1 << 5;
export const EXTRACT_DONT_COALESCE_SEPARATORS = 1 << 6;
export const EXTRACT_RETAIN_ESCAPE = 1 << 7;
export const EXTRACT_RETAIN_SEPARATORS = 1 << 8;

/** systemd's WHITESPACE: the default separators. */
export const WHITESPACE = ' \t\n\r';

export type ExtractFailure = 'unbalanced-quotes' | 'trailing-backslash' | 'invalid-escape' | 'invalid-utf8';

/** A word could not be extracted (systemd: -EINVAL). */
export class ExtractError extends ValueError {
  constructor(
    readonly reason: ExtractFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ExtractError';
  }
}

export interface Extracted {
  /** The word, or null when there was none left (extract_first_word() returned 0). */
  readonly word: string | null;
  /** Where to continue, or null when the input is exhausted. */
  readonly pos: number | null;
}

const NONE: Extracted = { word: null, pos: null };

function has(flags: number, f: number): boolean {
  return (flags & f) !== 0;
}

function finishWord(out: Utf8Builder, pos: number | null): Extracted {
  try {
    return { word: out.toString(), pos };
  } catch (e) {
    throw new ExtractError('invalid-utf8', e instanceof Error ? e.message : String(e));
  }
}

/**
 * extract_first_word(): extract the word starting at `pos` in `input`.
 * @param separators characters that separate words (null: WHITESPACE).
 * @throws ExtractError (a ValueError) on unbalanced quotes, a trailing backslash or an invalid escape.
 */
export function extractFirstWord(input: string, pos: number | null, separators: string | null, flags: number): Extracted {
  if (has(flags, EXTRACT_KEEP_QUOTE) && has(flags, EXTRACT_UNQUOTE)) {
    throw new RangeError('EXTRACT_KEEP_QUOTE and EXTRACT_UNQUOTE are mutually exclusive');
  }
  if (pos === null) return NONE;
  const seps = separators ?? WHITESPACE;
  const isSep = (c: string): boolean => seps.includes(c);
  let p = pos;

  // Skip leading separators. With DONT_COALESCE_SEPARATORS the word exists from the start.
  let pre: Utf8Builder | undefined = has(flags, EXTRACT_DONT_COALESCE_SEPARATORS) ? new Utf8Builder() : undefined;
  for (;; p++) {
    const c = input[p];
    if (c === undefined) return pre ? finishWord(pre, null) : NONE;
    if (isSep(c)) {
      if (pre) {
        if (!has(flags, EXTRACT_RETAIN_SEPARATORS)) p++;
        return finishWord(pre, p);
      }
    } else break;
  }
  const out = pre ?? new Utf8Builder();
  const quoting = has(flags, EXTRACT_KEEP_QUOTE) || has(flags, EXTRACT_UNQUOTE);
  const unquote = has(flags, EXTRACT_UNQUOTE);
  const escapes = !has(flags, EXTRACT_RETAIN_ESCAPE);
  let quote = '';
  let backslash = false;

  for (;; p++) {
    let c = input[p];
    if (backslash) {
      if (c === undefined) {
        if (has(flags, EXTRACT_UNESCAPE_RELAX) && (quote === '' || has(flags, EXTRACT_RELAX))) {
          out.text('\\');
          return finishWord(out, null);
        }
        if (has(flags, EXTRACT_RELAX)) return finishWord(out, null);
        throw new ExtractError('trailing-backslash', 'trailing backslash');
      }
      if (has(flags, EXTRACT_CUNESCAPE) || has(flags, EXTRACT_UNESCAPE_SEPARATORS)) {
        const u = has(flags, EXTRACT_CUNESCAPE) ? cunescapeOne(input, p, false) : undefined;
        if (u) {
          appendUnescaped(out, u);
          p += u.length - 1;
        } else if (has(flags, EXTRACT_UNESCAPE_SEPARATORS) && (isSep(c) || c === '\\')) {
          out.text(c);
        } else if (has(flags, EXTRACT_UNESCAPE_RELAX)) {
          out.text('\\' + c);
        } else {
          throw new ExtractError('invalid-escape', `invalid escape sequence "\\${c}"`);
        }
      } else {
        out.text(c);
      }
      backslash = false;
    } else if (quote !== '') {
      for (;; p++) {
        c = input[p];
        if (c === undefined) {
          if (has(flags, EXTRACT_RELAX)) return finishWord(out, null);
          throw new ExtractError('unbalanced-quotes', 'unbalanced quotes');
        }
        if (c === quote) {
          quote = '';
          if (unquote) break;
        } else if (c === '\\' && escapes) {
          backslash = true;
          break;
        }
        out.text(c);
        if (quote === '') break;
      }
    } else {
      for (;; p++) {
        c = input[p];
        if (c === undefined) return finishWord(out, null);
        if ((c === "'" || c === '"') && quoting) {
          quote = c;
          if (unquote) break;
        } else if (c === '\\' && escapes) {
          backslash = true;
          break;
        } else if (isSep(c)) {
          if (has(flags, EXTRACT_DONT_COALESCE_SEPARATORS)) {
            if (!has(flags, EXTRACT_RETAIN_SEPARATORS)) p++;
            return finishWord(out, p);
          }
          if (!has(flags, EXTRACT_RETAIN_SEPARATORS)) {
            // Skip the run of separators.
            for (;; p++) {
              const d = input[p];
              if (d === undefined) return finishWord(out, null);
              if (!isSep(d)) break;
            }
          }
          return finishWord(out, p);
        }
        out.text(c);
        if (quote !== '') break;
      }
    }
  }
}

/**
 * extract_first_word_and_warn(): like extractFirstWord(), but an invalid escape is
 * not fatal: the word is extracted again with EXTRACT_UNESCAPE_RELAX (the backslash
 * is kept) and a warning is reported. Other failures throw a ValueError carrying
 * systemd's message ("Unbalanced quoting, ignoring: "RVALUE""; `rvalue` defaults to `input`).
 */
export function extractFirstWordAndWarn(
  input: string,
  pos: number | null,
  separators: string | null,
  flags: number,
  onWarning?: (message: string) => void,
  rvalue: string = input,
): Extracted {
  try {
    return extractFirstWord(input, pos, separators, flags);
  } catch (e) {
    if (!(e instanceof ExtractError)) throw e;
    if (e.reason !== 'invalid-utf8' && !has(flags, EXTRACT_UNESCAPE_RELAX)) {
      let r: Extracted;
      try {
        r = extractFirstWord(input, pos, separators, flags | EXTRACT_UNESCAPE_RELAX);
      } catch (e2) {
        if (e2 instanceof ExtractError && e2.reason !== 'invalid-utf8') {
          throw new ExtractError(e2.reason, `Unbalanced quoting, ignoring: "${rvalue}"`);
        }
        throw e2 instanceof ExtractError
          ? new ExtractError(e2.reason, `Unable to decode word "${rvalue}", ignoring: ${e2.message}`)
          : e2;
      }
      onWarning?.(`Ignoring unknown escape sequences: "${r.word ?? ''}"`);
      return r;
    }
    throw new ExtractError(e.reason, `Unable to decode word "${rvalue}", ignoring: ${e.message}`);
  }
}

/**
 * strv_split_full(): all words of `value`.
 * @throws ExtractError (a ValueError) as extractFirstWord().
 */
export function extractWords(value: string, flags: number, separators: string | null = null): string[] {
  const words: string[] = [];
  let pos: number | null = 0;
  for (;;) {
    const r = extractFirstWord(value, pos, separators, flags);
    if (r.word === null) return words;
    words.push(r.word);
    pos = r.pos;
  }
}

export interface ExtractedMany {
  /** Exactly `n` entries; those past the end of the input are null. */
  readonly words: readonly (string | null)[];
  /** How many words were extracted (extract_many_words()'s return value). */
  readonly count: number;
  /** Where to continue, or null when the input is exhausted. */
  readonly pos: number | null;
}

/**
 * extract_many_words(): up to `n` words, one extractFirstWord() call each, stopping
 * early when the input runs out (the missing words are null).
 * @throws ExtractError (a ValueError) as extractFirstWord().
 */
export function extractManyWords(
  input: string,
  pos: number | null,
  n: number,
  separators: string | null,
  flags: number,
): ExtractedMany {
  const words: (string | null)[] = [];
  let count = 0;
  for (; count < n; count++) {
    const r = extractFirstWord(input, pos, separators, flags);
    pos = r.pos;
    if (r.word === null) break;
    words.push(r.word);
  }
  while (words.length < n) words.push(null);
  return { words, count, pos };
}
