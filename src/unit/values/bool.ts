/**
 * Booleans as systemd's parse_boolean() (src/basic/parse-util.c) reads them:
 * 1/yes/y/true/t/on and 0/no/n/false/f/off, case-insensitively, nothing else
 * (no surrounding whitespace: unit values arrive trimmed).
 */
import { ValueError } from '../diagnostics.js';

const TRUE_WORDS = ['1', 'yes', 'y', 'true', 't', 'on'];
const FALSE_WORDS = ['0', 'no', 'n', 'false', 'f', 'off'];

/** parse_boolean(): true/false, or undefined when the word is not a boolean. */
export function booleanOrUndefined(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  return undefined;
}

/** parse_boolean(), throwing ValueError for anything that is not a boolean. */
export function parseBoolean(value: string): boolean {
  const b = booleanOrUndefined(value);
  if (b === undefined) throw new ValueError(`Failed to parse boolean value "${value}"`);
  return b;
}

/**
 * parse_tristate() (config_parse_tristate, e.g. MemoryKSM=): the empty string
 * means "unset" (undefined), otherwise a boolean.
 */
export function parseTristate(value: string): boolean | undefined {
  return value === '' ? undefined : parseBoolean(value);
}
