/**
 * Resource limits (Limit*=): rlimit_parse() and the per-resource parsers in
 * src/basic/rlimit-util.c, v255.
 *
 * "soft:hard" or one value for both. Per resource:
 *  - CPU: a time span in seconds (parse_sec(): "1min", "90", "1.5s"), rounded
 *    up to whole seconds;
 *  - RTTIME: a time span whose bare numbers are microseconds;
 *  - FSIZE DATA STACK CORE RSS AS MEMLOCK MSGQUEUE: sizes with base-1024
 *    suffixes ("4K", "1.5G");
 *  - NICE: "+N"/"-N" as a nice level (+19…-20 → rlimit 1…40; "+0"/"-0" → 20)
 *    or a raw rlimit value 0…40; "infinity" is NOT accepted for NICE;
 *  - the rest (NOFILE NPROC LOCKS SIGPENDING RTPRIO): plain numbers
 *    (safe_atou64(): "0x400" works, "010" is octal).
 * "infinity" (exact spelling) is RLIM_INFINITY. A soft limit above the hard one
 * is refused (systemd: "Soft resource limit chosen higher than hard limit").
 */
import { ValueError } from '../diagnostics.js';
import { EXTRACT_DONT_COALESCE_SEPARATORS, ExtractError, type Extracted, extractFirstWord } from '../words.js';
import { CParseError, safeAtou } from './cparse.js';
import { parseSizeBig } from './size.js';
import { parseTimespan } from './timespan.js';

export type RlimitKind = 'sec' | 'usec' | 'size' | 'nice' | 'number';

export interface RlimitInfo {
  /** Lower-case resource name (sysg YAML key). */
  readonly name: string;
  /** RLIMIT_* number on x86-64 and aarch64 (asm-generic numbering; alpha/mips/sparc differ). */
  readonly number: number;
  readonly directive: string;
  readonly kind: RlimitKind;
}

const TABLE: readonly (readonly [string, number, RlimitKind])[] = [
  ['cpu', 0, 'sec'], ['fsize', 1, 'size'], ['data', 2, 'size'], ['stack', 3, 'size'], ['core', 4, 'size'], ['rss', 5, 'size'],
  ['nproc', 6, 'number'], ['nofile', 7, 'number'], ['memlock', 8, 'size'], ['as', 9, 'size'], ['locks', 10, 'number'],
  ['sigpending', 11, 'number'], ['msgqueue', 12, 'size'], ['nice', 13, 'nice'], ['rtprio', 14, 'number'], ['rttime', 15, 'usec'],
];

/** The 16 resources in RLIMIT_* order. */
export const RLIMITS: readonly RlimitInfo[] = TABLE.map(([name, number, kind]) => ({ name, number, kind, directive: `Limit${name.toUpperCase()}` }));

/**
 * rlimit_from_string_harder(): "LimitNOFILE", "RLIMIT_NOFILE", "NOFILE" (and,
 * for convenience, "nofile") → the resource; undefined when unknown.
 */
export function rlimitFromString(s: string): RlimitInfo | undefined {
  const bare = s.startsWith('RLIMIT_') ? s.slice(7) : s.startsWith('Limit') ? s.slice(5) : s;
  const lower = bare.toLowerCase();
  if (bare !== bare.toUpperCase() && bare !== lower) return undefined;
  return RLIMITS.find((r) => r.name === lower);
}

export type RlimitValue = number | 'infinity';

export interface Rlimit {
  readonly soft: RlimitValue;
  readonly hard: RlimitValue;
}

const RLIM_INFINITY = (1n << 64n) - 1n;

/** rlimit_parse_one(): one side of the limit as a BigInt (RLIM_INFINITY for infinity). */
function parseOne(kind: RlimitKind, val: string): bigint {
  if (val === 'infinity' && kind !== 'nice') return RLIM_INFINITY;
  switch (kind) {
    case 'number': {
      const u = safeAtou(val, { bits: 64 });
      if (u >= RLIM_INFINITY) throw new CParseError('ERANGE');
      return u;
    }
    case 'size': {
      const u = parseSizeBig(val, 1024);
      if (u >= RLIM_INFINITY) throw new CParseError('ERANGE');
      return u;
    }
    case 'sec': {
      const us = parseTimespan(val, 's');
      if (us === Infinity) return RLIM_INFINITY;
      // DIV_ROUND_UP(t, USEC_PER_SEC)
      return (BigInt(us) + 999_999n) / 1_000_000n;
    }
    case 'usec': {
      const us = parseTimespan(val, 'us');
      return us === Infinity ? RLIM_INFINITY : BigInt(us);
    }
    case 'nice': {
      // Linux maps nice -20…19 to RLIMIT_NICE 40…1; 0 is the kernel default.
      if (val[0] === '+') {
        const rl = safeAtou(val.slice(1), { bits: 64 });
        if (rl >= 20n) throw new CParseError('ERANGE');
        return 20n - rl;
      }
      if (val[0] === '-') {
        const rl = safeAtou(val.slice(1), { bits: 64 });
        if (rl > 20n) throw new CParseError('ERANGE');
        return 20n + rl;
      }
      const rl = safeAtou(val, { bits: 64 });
      if (rl > 40n) throw new CParseError('ERANGE');
      return rl;
    }
  }
}

function toValue(v: bigint): RlimitValue {
  return v === RLIM_INFINITY ? 'infinity' : Number(v);
}

/**
 * rlimit_parse() for a Limit*= directive (any spelling rlimitFromString()
 * accepts) and its non-empty value → { soft, hard }.
 * parseRlimit('LimitNOFILE', '1024:524288') → { soft: 1024, hard: 524288 }.
 */
export function parseRlimit(directive: string, value: string): Rlimit {
  const info = rlimitFromString(directive);
  if (!info) throw new Error(`unknown resource limit "${directive}"`);
  const bad = (reason: string): ValueError => new ValueError(`Failed to parse resource value "${value}" for ${info.directive}=: ${reason}`);
  const one = (text: string): bigint => {
    try {
      return parseOne(info.kind, text);
    } catch (e) {
      if (e instanceof CParseError) throw bad(text === '' ? 'empty limit' : `"${text}": ${e.message}`);
      if (e instanceof ValueError) throw bad(e.message);
      throw e;
    }
  };
  // extract_first_word(":", DONT_COALESCE) twice; a third field is an error.
  const field = (pos: number | null): Extracted => {
    try {
      return extractFirstWord(value, pos, ':', EXTRACT_DONT_COALESCE_SEPARATORS);
    } catch (e) {
      if (e instanceof ExtractError) throw bad(e.message);
      throw e;
    }
  };
  const first = field(0);
  if (first.word === null) throw bad('empty value');
  const soft = one(first.word);
  const second = field(first.pos);
  if (second.pos !== null && second.pos < value.length) throw bad('more than two fields');
  if (second.word === null) return { soft: toValue(soft), hard: toValue(soft) };
  const hard = one(second.word);
  if (soft > hard) throw new ValueError(`Soft resource limit chosen higher than hard limit, ignoring: ${value}`);
  return { soft: toValue(soft), hard: toValue(hard) };
}

/** rlimit_format(): "infinity", "1024", "1024:4096", "infinity:4096", "1024:infinity". */
export function formatRlimit(r: Rlimit): string {
  if (r.soft === 'infinity' && r.hard === 'infinity') return 'infinity';
  if (r.soft === r.hard) return String(r.soft);
  return `${r.soft}:${r.hard}`;
}
