/**
 * Environment=, PassEnvironment=, UnsetEnvironment= and EnvironmentFile= values, as
 * systemd v255 parses them (config_parse_environ(), config_parse_pass_environ(),
 * config_parse_unset_environ(), config_parse_unit_env_file() in src/core/load-fragment.c).
 *
 * For all four an empty value resets everything set by earlier lines; that is the
 * caller's business (these functions only see non-empty values, and return nothing
 * for an empty one).
 *
 * Nothing here is fatal for the unit: systemd logs and ignores bad words, so these
 * functions return what was accepted plus the messages (`warnings`). Only
 * parseEnvironmentFile() throws (ValueError), for a value systemd ignores as a whole.
 */

import { ValueError } from '../diagnostics.js';
import { utf8IsValid } from '../escape.js';
import { envAssignmentIsValid, envNameIsValid } from '../expand-env.js';
import { isNormalizedPath, isValidPath, simplifyPath } from '../names.js';
import { EXTRACT_CUNESCAPE, EXTRACT_UNQUOTE, type Extracted, extractFirstWord } from '../words.js';

export interface EnvironmentOptions {
  /**
   * Specifier expansion (unit_env_printf() / unit_full_printf_full()); throws ValueError
   * for an unresolvable specifier. Applied per word, after unquoting and unescaping
   * (for EnvironmentFile=: to the whole value).
   */
  expandSpecifiers?: (text: string) => string;
}

export interface EnvironmentAssignments {
  /** In order; a later assignment of the same name wins (strv_env_replace_consume()). */
  assignments: Array<[name: string, value: string]>;
  /** Words that are not valid `NAME=VALUE` assignments ("Invalid environment assignment, ignoring"). */
  invalid: string[];
  /** Everything systemd would log for this value. */
  warnings: string[];
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Split `value` like the four parsers do: extract_first_word() word by word; a syntax
 * error ends the list (earlier words stay) with `onError`. Yields the words after
 * specifier expansion; a failed expansion skips the word.
 */
function* words(
  value: string,
  flags: number,
  options: EnvironmentOptions,
  warnings: string[],
  onError: (reason: string) => string,
): Generator<string> {
  let pos: number | null = 0;
  for (;;) {
    let r: Extracted;
    try {
      r = extractFirstWord(value, pos, null, flags);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      warnings.push(onError(e.message));
      return;
    }
    if (r.word === null) return;
    pos = r.pos;
    let resolved = r.word;
    if (options.expandSpecifiers) {
      try {
        resolved = options.expandSpecifiers(r.word);
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
        warnings.push(`Failed to resolve specifiers in ${r.word}, ignoring: ${e.message}`);
        continue;
      }
    }
    yield resolved;
  }
}

/**
 * config_parse_environ(): `Environment=` — words split with EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE,
 * each `NAME=VALUE`. `"VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6"` gives three
 * assignments; `$` has no meaning here (the value is kept literally).
 */
export function parseEnvironment(value: string, options: EnvironmentOptions = {}): EnvironmentAssignments {
  const result: EnvironmentAssignments = { assignments: [], invalid: [], warnings: [] };
  const onError = (reason: string): string => `Invalid syntax, ignoring: ${value} (${reason})`;
  for (const w of words(value, EXTRACT_CUNESCAPE | EXTRACT_UNQUOTE, options, result.warnings, onError)) {
    if (!envAssignmentIsValid(w)) {
      result.invalid.push(w);
      result.warnings.push(`Invalid environment assignment, ignoring: ${w}`);
      continue;
    }
    const eq = w.indexOf('=');
    result.assignments.push([w.slice(0, eq), w.slice(eq + 1)]);
  }
  return result;
}

export interface EnvironmentNames {
  /**
   * PassEnvironment=: variable names. UnsetEnvironment=: names or exact `NAME=VALUE`
   * assignments (see envMatch()). Without duplicates within the value; systemd also
   * drops names already listed by earlier lines.
   */
  names: string[];
  invalid: string[];
  warnings: string[];
}

/**
 * config_parse_pass_environ(): `PassEnvironment=` — names, split with EXTRACT_UNQUOTE
 * only (no C escapes: a backslash just escapes the next character).
 */
export function parsePassEnvironment(value: string, options: EnvironmentOptions = {}): EnvironmentNames {
  const result: EnvironmentNames = { names: [], invalid: [], warnings: [] };
  const onError = (reason: string): string => `Trailing garbage in PassEnvironment, ignoring: ${value} (${reason})`;
  for (const w of words(value, EXTRACT_UNQUOTE, options, result.warnings, onError)) {
    if (!envNameIsValid(w)) {
      result.invalid.push(w);
      result.warnings.push(`Invalid environment name for PassEnvironment, ignoring: ${w}`);
      continue;
    }
    if (!result.names.includes(w)) result.names.push(w);
  }
  return result;
}

/**
 * config_parse_unset_environ(): `UnsetEnvironment=` — names or `NAME=VALUE`
 * assignments, split with EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE. A name removes the
 * variable whatever its value; an assignment only that exact assignment.
 */
export function parseUnsetEnvironment(value: string, options: EnvironmentOptions = {}): EnvironmentNames {
  const result: EnvironmentNames = { names: [], invalid: [], warnings: [] };
  const onError = (reason: string): string => `Trailing garbage in UnsetEnvironment, ignoring: ${value} (${reason})`;
  for (const w of words(value, EXTRACT_CUNESCAPE | EXTRACT_UNQUOTE, options, result.warnings, onError)) {
    if (!envAssignmentIsValid(w) && !envNameIsValid(w)) {
      result.invalid.push(w);
      result.warnings.push(`Invalid environment name or assignment UnsetEnvironment, ignoring: ${w}`);
      continue;
    }
    if (!result.names.includes(w)) result.names.push(w);
  }
  return result;
}

export interface EnvironmentFileSetting {
  /** Absolute, simplified; may contain glob characters (systemd globs it at execution). */
  path: string;
  /** `-` prefix: a missing file is not an error. */
  optional: boolean;
}

/**
 * config_parse_unit_env_file(): `EnvironmentFile=[-]PATH`. The whole value is one path
 * (no unquoting, spaces included). Specifiers are expanded on the whole value (before
 * the `-` is looked at), then the path must be absolute, valid and normalized.
 * @throws ValueError for a value systemd ignores (with its message).
 */
export function parseEnvironmentFile(value: string, options: EnvironmentOptions = {}): EnvironmentFileSetting {
  let n = value;
  if (options.expandSpecifiers) {
    try {
      n = options.expandSpecifiers(value);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw new ValueError(`Failed to resolve unit specifiers in '${value}', ignoring: ${errorText(e)}`);
    }
  }
  const optional = n.startsWith('-');
  const raw = optional ? n.slice(1) : n;
  if (!utf8IsValid(raw)) throw new ValueError(`EnvironmentFile= path is not valid UTF-8, ignoring: ${raw}`);
  if (!raw.startsWith('/')) throw new ValueError(`EnvironmentFile= path is not absolute, ignoring: ${raw}`);
  const path = simplifyPath(raw);
  if (!isValidPath(path)) {
    throw new ValueError(`EnvironmentFile= path has invalid length (${Buffer.byteLength(path, 'utf8')} bytes), ignoring.`);
  }
  if (!isNormalizedPath(path)) throw new ValueError(`EnvironmentFile= path is not normalized, ignoring: ${path}`);
  return { path, optional };
}
