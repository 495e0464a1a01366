/**
 * Environment helpers from systemd v255 src/basic/env-util.c: name/assignment
 * validity, and the `$VAR` expansion systemd applies to a command's arguments right
 * before exec (replace_env_argv(), called from the executor unless the command has
 * the `:` prefix).
 *
 * replace_env_argv(), per argument:
 *  - an argument that is `$NAME` as a whole (`$` not followed by `{` or `$`) is replaced
 *    by the value split into words: at whitespace, with quotes removed
 *    (EXTRACT_RELAX|EXTRACT_UNQUOTE: unbalanced quotes are tolerated, a backslash escapes
 *    the next character and is dropped). An unset or empty variable removes the
 *    argument. If the rest is not a valid name (`$FOO-bar`, a lone `$`), the argument is
 *    removed too and the name is reported as invalid;
 *  - otherwise `${NAME}` is replaced by the value as it is (inside the one argument),
 *    `$$` by `$`; unset variables and invalid names give ''. Anything else stays,
 *    including `$NAME` inside a longer word, an unterminated `${NAME`, and the shell's
 *    `${NAME:-default}` forms (not supported for command lines).
 * Only argv is expanded; the executable path is not.
 */

import { utf8IsValid } from './escape.js';
import { EXTRACT_RELAX, EXTRACT_UNQUOTE, WHITESPACE, extractWords } from './words.js';

/** sysconf(_SC_ARG_MAX) on Linux with the default 8 MiB stack limit. */
export const SC_ARG_MAX = 2 * 1024 * 1024;

/** Variables to expand: a Map, or a plain record (undefined = unset). */
export type EnvLookup = ReadonlyMap<string, string> | Readonly<Record<string, string | undefined>>;

function isMap(env: EnvLookup): env is ReadonlyMap<string, string> {
  return env instanceof Map;
}

function lookup(env: EnvLookup, name: string): string | undefined {
  if (isMap(env)) return env.get(name);
  return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** env_name_is_valid(): [A-Za-z_][A-Za-z0-9_]* (bash's rules), at most ARG_MAX-2 bytes. */
export function envNameIsValid(name: string): boolean {
  return name.length > 0 && name.length <= SC_ARG_MAX - 2 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** env_value_is_valid(): valid UTF-8 (control characters are fine), at most ARG_MAX-3 bytes. */
export function envValueIsValid(value: string): boolean {
  return utf8IsValid(value) && bytes(value) <= SC_ARG_MAX - 3;
}

/** env_assignment_is_valid(): `NAME=VALUE` with a valid name and value. */
export function envAssignmentIsValid(assignment: string): boolean {
  const eq = assignment.indexOf('=');
  if (eq < 0) return false;
  if (!envNameIsValid(assignment.slice(0, eq))) return false;
  if (!envValueIsValid(assignment.slice(eq + 1))) return false;
  return bytes(assignment) <= SC_ARG_MAX - 1;
}

/**
 * env_match(): does environment entry `entry` (`NAME=VALUE`) match `pattern`? A bare
 * name matches any value, `NAME=VALUE` only that exact assignment (UnsetEnvironment=).
 */
export function envMatch(entry: string, pattern: string): boolean {
  if (entry === pattern) return true;
  if (!pattern.includes('=')) return entry.startsWith(pattern + '=');
  return false;
}

export interface ReplaceEnvResult {
  value: string;
  /** Valid names that were referenced but not set (in order of appearance). */
  unset: string[];
  /** Referenced names that are not valid variable names. */
  invalid: string[];
}

/**
 * replace_env() with flags 0: `${NAME}` → value ('' if unset or invalid), `$$` → `$`;
 * everything else is copied.
 */
export function replaceEnv(format: string, env: EnvLookup): ReplaceEnvResult {
  const unset: string[] = [];
  const invalid: string[] = [];
  let out = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = format[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const close = format.indexOf('}', i + 2);
      const colon = format.indexOf(':', i + 2);
      if (close < 0 || (colon >= 0 && colon < close)) {
        // Unterminated, or ${NAME:…} (extended syntax, not enabled): no replacement.
        // systemd resumes scanning right after the ':' (or gives up at the end).
        const stop = close < 0 ? (colon >= 0 ? colon + 1 : format.length) : colon + 1;
        out += format.slice(i, stop);
        i = stop;
        continue;
      }
      const name = format.slice(i + 2, close);
      if (envNameIsValid(name)) {
        const v = lookup(env, name);
        if (v === undefined) unset.push(name);
        else out += v;
      } else {
        invalid.push(name);
      }
      i = close + 1;
    } else {
      out += '$';
      i++;
    }
  }
  return { value: out, unset, invalid };
}

export interface ReplaceEnvArgvResult {
  argv: string[];
  /** Sorted, without duplicates: "Referenced but unset environment variable evaluates to an empty string". */
  unset: string[];
  /** Sorted, without duplicates: "Invalid environment variable name evaluates to an empty string". */
  invalid: string[];
}

function sortedUnique(list: Iterable<string>): string[] {
  return [...new Set(list)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** replace_env_argv(): expand `$NAME`, `${NAME}` and `$$` in each argument (see the module comment). */
export function replaceEnvArgv(argv: readonly string[], env: EnvLookup): ReplaceEnvArgvResult {
  const out: string[] = [];
  const unset: string[] = [];
  const invalid: string[] = [];
  for (const word of argv) {
    if (word[0] === '$' && word[1] !== '{' && word[1] !== '$') {
      const name = word.slice(1);
      if (envNameIsValid(name)) {
        const v = lookup(env, name);
        if (v !== undefined) out.push(...extractWords(v, EXTRACT_RELAX | EXTRACT_UNQUOTE, WHITESPACE));
        else unset.push(name);
      } else {
        invalid.push(name);
      }
      continue;
    }
    const r = replaceEnv(word, env);
    out.push(r.value);
    unset.push(...r.unset);
    invalid.push(...r.invalid);
  }
  return { argv: out, unset: sortedUnique(unset), invalid: sortedUnique(invalid) };
}

/**
 * What the executor runs: argv after replace_env_argv(), or argv untouched for a
 * command with the `:` prefix.
 */
export function expandExecArgv(cmd: { readonly argv: readonly string[]; readonly noEnvExpand: boolean }, env: EnvLookup): ReplaceEnvArgvResult {
  if (cmd.noEnvExpand) return { argv: [...cmd.argv], unset: [], invalid: [] };
  return replaceEnvArgv(cmd.argv, env);
}
