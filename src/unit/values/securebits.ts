/**
 * SecureBits= as systemd v255 reads it.
 *
 * Sources (systemd v255): secure_bits_from_string() in src/basic/securebits-util.c and
 * config_parse_exec_secure_bits() in src/core/load-fragment.c; bit numbers from linux/securebits.h.
 *
 * Rules: the empty assignment resets to 0; every other line ORs its bits into the value. Unknown words are
 * ignored silently (secure_bits_from_string() has no error path for them), and a word-splitting error
 * (unbalanced quote, trailing backslash) just ends the list — words before it still count.
 */
import { EXTRACT_UNQUOTE, ExtractError, extractFirstWord } from '../words.js';

export const SECURE_NOROOT = 0;
export const SECURE_NOROOT_LOCKED = 1;
export const SECURE_NO_SETUID_FIXUP = 2;
export const SECURE_NO_SETUID_FIXUP_LOCKED = 3;
export const SECURE_KEEP_CAPS = 4;
export const SECURE_KEEP_CAPS_LOCKED = 5;

/** Names in the order systemd prints them (secure_bits_to_string_alloc()). */
export const SECURE_BITS: ReadonlyArray<readonly [name: string, bit: number]> = Object.freeze([
  ['keep-caps', SECURE_KEEP_CAPS],
  ['keep-caps-locked', SECURE_KEEP_CAPS_LOCKED],
  ['no-setuid-fixup', SECURE_NO_SETUID_FIXUP],
  ['no-setuid-fixup-locked', SECURE_NO_SETUID_FIXUP_LOCKED],
  ['noroot', SECURE_NOROOT],
  ['noroot-locked', SECURE_NOROOT_LOCKED],
] as const);

export interface ParsedSecureBits {
  /** OR of 1 << bit for every recognised word. */
  readonly bits: number;
  /** Words systemd ignores silently. */
  readonly ignored: readonly string[];
}

/** secure_bits_from_string(): never fails. */
export function parseSecureBits(value: string): ParsedSecureBits {
  let bits = 0;
  const ignored: string[] = [];
  let pos: number | null = 0;
  for (;;) {
    let word: string | null;
    try {
      const r = extractFirstWord(value, pos, null, EXTRACT_UNQUOTE);
      word = r.word;
      pos = r.pos;
    } catch (e) {
      if (e instanceof ExtractError) break;
      throw e;
    }
    if (word === null) break;
    const entry = SECURE_BITS.find(([name]) => name === word);
    if (entry) bits |= 1 << entry[1];
    else ignored.push(word);
  }
  return { bits, ignored };
}

/** config_parse_exec_secure_bits(): empty resets to 0, anything else ORs. */
export function applySecureBits(current: number | undefined, parsed: ParsedSecureBits | undefined, isEmptyAssignment = false): number {
  if (isEmptyAssignment || parsed === undefined) return 0;
  return (current ?? 0) | parsed.bits;
}

/** secure_bits_to_string_alloc(): "keep-caps noroot …" in systemd's order. */
export function secureBitsToString(bits: number): string {
  return SECURE_BITS.filter(([, bit]) => (bits & (1 << bit)) !== 0)
    .map(([name]) => name)
    .join(' ');
}
