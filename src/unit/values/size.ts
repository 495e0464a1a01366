/**
 * Byte sizes: parse_size() (src/basic/parse-util.c), parse_permyriad()
 * (src/basic/percent-util.c) and config_parse_memory_limit()
 * (src/core/load-fragment.c), v255.
 *
 * parse_size() quirks reproduced: suffixes are B K M G T P E (uppercase only,
 * powers of `base`), parts may be concatenated in strictly descending unit
 * order ("1G 512M" works, "512M 1G" does not, and a bare number may follow the
 * last unit: "1K1" is 1025), fractions are computed in C doubles and truncated
 * ("1.5G" = 1610612736, "0.1K" = 102), "10.M" is accepted.
 */
import { ValueError } from '../diagnostics.js';
import { UINT64_MAX, WHITESPACE, isDigit, skipWhitespace, strtoull } from './cparse.js';
import { parsePermyriad } from './numbers.js';

const SUFFIXES = ['E', 'P', 'T', 'G', 'M', 'K', 'B', ''] as const;

function factors(base: 1000 | 1024): bigint[] {
  const b = BigInt(base);
  return [b ** 6n, b ** 5n, b ** 4n, b ** 3n, b ** 2n, b, 1n, 1n];
}

/** Why parsing stopped at `p` where a number (or unit) was expected. */
function noNumber(value: string, p: number, startPos: number): string {
  if (p >= value.length) return 'no number given';
  if (p === 0 || startPos === 0) return `invalid number at "${value.slice(p)}"`;
  const word = value.slice(p).match(/^[^\s0-9.]*/)?.[0] ?? '';
  if (word === '') return `unexpected "${value.slice(p)}"`;
  return (SUFFIXES as readonly string[]).includes(word[0]!) && word.length === 1 ? `unit "${word}" out of order` : `unknown unit "${word}"`;
}

/** parse_size() as a BigInt (the exact uint64 systemd computes). */
export function parseSizeBig(value: string, base: 1000 | 1024 = 1024): bigint {
  const fail = (reason: string): ValueError => new ValueError(`Failed to parse size "${value}": ${reason}`);
  const table = factors(base);
  let p = 0;
  let r = 0n;
  let startPos = 0;
  do {
    p = skipWhitespace(value, p);
    const n = strtoull(value, p, 10);
    if (n.erange) throw fail('number out of range');
    if (n.end === p) throw fail(noNumber(value, p, startPos));
    if (value[p] === '-') throw fail('negative sizes are not allowed');
    const l = n.value;
    let e = n.end;
    let frac = 0;
    if (value[e] === '.') {
      e++;
      // strtoull() itself would accept space/+/-, hence the digit check.
      if (isDigit(value[e])) {
        const f = strtoull(value, e, 10);
        if (f.erange) throw fail('fraction out of range');
        frac = Number(f.value);
        for (; e < f.end; e++) frac /= 10;
      }
    }
    e = skipWhitespace(value, e, WHITESPACE);
    let i = startPos;
    for (; i < SUFFIXES.length; i++) if (value.startsWith(SUFFIXES[i]!, e)) break;
    if (i >= SUFFIXES.length) throw fail(e >= value.length ? `unexpected "${value.slice(p).trim()}"` : noNumber(value, e, startPos));
    const factor = table[i]!;
    if (l + (frac > 0 ? 1n : 0n) > UINT64_MAX / factor) throw fail('value out of range');
    // (unsigned long long) (frac * factor): double arithmetic, truncated, as in C.
    const tmp = l * factor + BigInt(Math.trunc(frac * Number(factor)));
    if (tmp > UINT64_MAX - r) throw fail('value out of range');
    r += tmp;
    p = e + SUFFIXES[i]!.length;
    startPos = i + 1;
  } while (p < value.length);
  return r;
}

/**
 * parse_size(value, base) → bytes. Base 1024 (K = 1024) for memory and file
 * sizes (MemoryMax=, LimitFSIZE=…), base 1000 for IO bandwidths. "infinity" is
 * not part of this grammar; the directive-specific parsers handle it.
 */
export function parseSize(value: string, base: 1000 | 1024 = 1024): number {
  return Number(parseSizeBig(value, base));
}

export type MemoryLimit =
  | { readonly kind: 'bytes'; readonly bytes: number }
  /** Share of physical memory in 1/10000 (parse_permyriad(): "N%", "N.N%", "N.NN%", "N‰", "N.N‰", "N‱"). */
  | { readonly kind: 'percent'; readonly permyriad: number }
  | { readonly kind: 'infinity' };

/** Directives for which systemd accepts a limit of 0 bytes (and 0%). */
const ZERO_OK = new Set([
  'MemorySwapMax', 'StartupMemorySwapMax', 'MemoryZSwapMax', 'StartupMemoryZSwapMax',
  'MemoryLow', 'StartupMemoryLow', 'MemoryMin', 'DefaultMemoryLow', 'DefaultStartupMemoryLow', 'DefaultMemoryMin',
]);

/**
 * config_parse_memory_limit() for MemoryMax=/MemoryHigh=/MemoryLow=/MemoryMin=/
 * MemorySwapMax=… (non-empty values; an empty one resets, to 0 for *Low/*Min and
 * to infinity otherwise). Percentages above 100% are rejected (parse_permyriad()
 * fails and the text is then not a size either). Pass the directive name to get
 * systemd's "0 is out of range" check, which spares the swap, Low and Min
 * limits; without it 0 is accepted.
 */
export function parseMemoryLimit(value: string, directive?: string): MemoryLimit {
  if (value === 'infinity') return { kind: 'infinity' };
  const zeroOk = directive === undefined || ZERO_OK.has(directive);
  let pm: number | undefined;
  try {
    pm = parsePermyriad(value);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
  }
  if (pm !== undefined) {
    if (pm === 0 && !zeroOk) throw new ValueError(`Memory limit "${value}" out of range`);
    return { kind: 'percent', permyriad: pm };
  }
  let bytes: bigint;
  try {
    bytes = parseSizeBig(value, 1024);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    throw new ValueError(`Invalid memory limit "${value}": ${e.message.replace(/^Failed to parse size "[^"]*": /, '')}`);
  }
  if (bytes >= UINT64_MAX || (bytes === 0n && !zeroOk)) throw new ValueError(`Memory limit "${value}" out of range`);
  return { kind: 'bytes', bytes: Number(bytes) };
}
