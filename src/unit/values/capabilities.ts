/**
 * Linux capabilities as systemd v255 reads them: CapabilityBoundingSet= and AmbientCapabilities=.
 *
 * Sources (systemd v255): src/basic/cap-list.c (capability_from_name, capability_set_from_string,
 * capability_set_to_string), src/basic/cap-to-name.awk (names are printed lowercase, "cap_chown"),
 * src/basic/capability-util.h (CAP_LIMIT 62, CAP_MASK_UNSET = UINT64_MAX, CAP_MASK_ALL = 2^63-1) and
 * config_parse_capability_set() in src/core/load-fragment.c. Numbers from linux/capability.h (6.1).
 *
 * Behaviour worth knowing (all faithful to systemd):
 *  - Names are matched case-insensitively ("CAP_CHOWN", "cap_chown", "Cap_Chown"); "chown" is not a name.
 *  - A plain number 0..62 is accepted too (safe_atoi(): "0x5" and "010" are numbers, in base 16 / 8).
 *  - Unknown names are skipped one by one (systemd logs them at debug level only); the rest of the line
 *    still applies. Only a word-splitting error drops the whole line.
 *  - The masks are full 64-bit values: "~CAP_CHOWN" as a first assignment yields 0xffff_ffff_ffff_fffe,
 *    and "CapabilityBoundingSet=~" (nothing after the tilde) yields UINT64_MAX, i.e. "unset" = all.
 */
import { ValueError } from '../diagnostics.js';
import { EXTRACT_RELAX, EXTRACT_UNQUOTE, ExtractError, extractWords } from '../words.js';
import { safeAtoi } from './cparse.js';

export interface CapabilityInfo {
  /** Bit number. */
  readonly value: number;
  /** As systemd (and capsh) print it: "cap_chown". */
  readonly name: string;
  /** The kernel constant: "CAP_CHOWN". */
  readonly constant: string;
}

const CAP_CONSTANTS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** The capability table, index = bit number (0 CAP_CHOWN … 40 CAP_CHECKPOINT_RESTORE). */
export const CAPABILITIES: readonly CapabilityInfo[] = Object.freeze(
  CAP_CONSTANTS.map((constant, value) => Object.freeze({ value, constant, name: constant.toLowerCase() })),
);

/** Highest capability this table knows (linux/capability.h CAP_LAST_CAP in Linux 6.1). */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;
/** Highest capability number systemd accepts (numerically) and can store in its 64-bit masks. */
export const CAP_LIMIT = 62;

const U64 = (1n << 64n) - 1n;
/** systemd's "not set" marker (CapabilityBoundingSet= never assigned); means "keep everything". */
export const CAP_MASK_UNSET = U64;
/** Every bit systemd can represent (0..62). */
export const CAP_MASK_ALL = (1n << 63n) - 1n;
/** The capabilities of this table (bits 0..CAP_LAST_CAP). */
export const CAP_MASK_KNOWN = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;

const BY_NAME: ReadonlyMap<string, number> = new Map(CAPABILITIES.map((c) => [c.name, c.value]));

/** capability_from_name(): a name (any case) or a number 0..62; undefined when neither. */
export function capabilityFromName(word: string): number | undefined {
  let n: number | undefined;
  try {
    n = safeAtoi(word);
  } catch {
    n = undefined;
  }
  if (n !== undefined) return n >= 0 && n <= CAP_LIMIT ? n : undefined;
  return BY_NAME.get(word.toLowerCase());
}

/** capability_to_string(): "cap_chown", or the numeric fallback "0x29" for bits the table does not name. */
export function capabilityName(value: number): string | undefined {
  if (!Number.isInteger(value) || value < 0 || value > CAP_LIMIT) return undefined;
  return CAPABILITIES[value]?.name ?? `0x${value.toString(16)}`;
}

export interface ParsedCapabilities {
  /** The value started with "~". */
  readonly invert: boolean;
  /** OR of the listed capabilities (before inversion). */
  readonly caps: bigint;
  /** Words that were neither a capability name nor a number 0..62 (systemd skips them). */
  readonly unknown: readonly string[];
}

/**
 * One CapabilityBoundingSet=/AmbientCapabilities= value. Throws ValueError only when the value cannot be
 * split into words (systemd then ignores the whole line); unknown capability names are reported in
 * `unknown` and otherwise ignored, exactly like systemd.
 */
export function parseCapabilityList(value: string): ParsedCapabilities {
  let rest = value;
  let invert = false;
  if (rest.startsWith('~')) {
    invert = true;
    rest = rest.slice(1);
  }
  let words: string[];
  try {
    words = extractWords(rest, EXTRACT_UNQUOTE | EXTRACT_RELAX);
  } catch (e) {
    if (e instanceof ExtractError) throw new ValueError(`Failed to parse capability set "${value}": ${e.message}`);
    throw e;
  }
  let caps = 0n;
  const unknown: string[] = [];
  for (const w of words) {
    const n = capabilityFromName(w);
    if (n === undefined) unknown.push(w);
    else caps |= 1n << BigInt(n);
  }
  return { invert, caps, unknown };
}

const EMPTY: ParsedCapabilities = { invert: false, caps: 0n, unknown: [] };

/**
 * config_parse_capability_set(): `def` is the "never assigned" value (UNSET for the bounding set, 0 for
 * ambient). An empty list ("", "~") or a still-default value is replaced; otherwise the line merges
 * (OR, or AND-NOT for "~").
 */
function applyCapabilitySet(current: bigint, def: bigint, parsed: ParsedCapabilities): bigint {
  const { invert, caps } = parsed;
  if (caps === 0n || current === def) return invert ? ~caps & U64 : caps;
  return invert ? current & ~caps & U64 : current | caps;
}

/**
 * CapabilityBoundingSet=. `current` undefined means never assigned (systemd's CAP_MASK_UNSET, i.e. all
 * capabilities kept); the result is a 64-bit mask where CAP_MASK_UNSET still means "all". An empty
 * assignment resets to the empty set (test-execute: "Bounding set =").
 */
export function applyCapabilityBoundingSet(current: bigint | undefined, parsed: ParsedCapabilities, isEmptyAssignment = false): bigint {
  return applyCapabilitySet(current ?? CAP_MASK_UNSET, CAP_MASK_UNSET, isEmptyAssignment ? EMPTY : parsed);
}

/** AmbientCapabilities=: same rules with 0 as the initial value; an empty assignment resets to 0. */
export function applyAmbientCapabilities(current: bigint | undefined, parsed: ParsedCapabilities, isEmptyAssignment = false): bigint {
  return applyCapabilitySet(current ?? 0n, 0n, isEmptyAssignment ? EMPTY : parsed);
}

/** The part of a mask the running kernel can use: bits 0..lastCap (cap_last_cap()). */
export function effectiveCapabilities(mask: bigint, lastCap: number = CAP_LAST_CAP): bigint {
  return mask & ((1n << BigInt(lastCap + 1)) - 1n);
}

/**
 * Names of the bits set in `mask`, ascending, limited to 0..lastCap like capability_set_to_string().
 * Lowercase ("cap_chown", as systemd and capsh print them) by default; `constant` gives "CAP_CHOWN".
 */
export function capsToNames(mask: bigint, opts: { lastCap?: number; form?: 'name' | 'constant' } = {}): string[] {
  const last = opts.lastCap ?? CAP_LAST_CAP;
  const out: string[] = [];
  for (let i = 0; i <= Math.min(last, CAP_LIMIT); i++) {
    if ((mask & (1n << BigInt(i))) === 0n) continue;
    const info = CAPABILITIES[i];
    out.push(info ? (opts.form === 'constant' ? info.constant : info.name) : `0x${i.toString(16)}`);
  }
  return out;
}

/** The mask as /proc/self/status prints it (CapAmb:, CapBnd:): 16 lowercase hex digits. */
export function capsToHex(mask: bigint): string {
  return (mask & U64).toString(16).padStart(16, '0');
}
