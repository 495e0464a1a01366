/**
 * `ExecStart=` and the rest of the command-line family (ExecStartPre=, ExecStartPost=,
 * ExecCondition=, ExecReload=, ExecStop=, ExecStopPost=, and the socket/mount/swap
 * Exec*= settings): a port of config_parse_exec() from systemd v255
 * (src/core/load-fragment.c).
 *
 * Grammar, as systemd implements it:
 *  - One value may hold several commands separated by a `;` word. A separator is a `;`
 *    followed by whitespace or the end of the value, seen *unquoted* at the start of an
 *    argument; `\;` in the same place is a literal `;` argument. (`";"` and `a;` are
 *    ordinary arguments.) A leading or trailing `;` produces no empty command.
 *  - Words are split with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE via extract_first_word_and_warn():
 *    quotes anywhere in a word, C escapes inside and outside quotes; an unknown escape
 *    is kept verbatim with a warning ("Ignoring unknown escape sequences").
 *  - The first word starts with any number of prefixes, each at most once:
 *    `-` ignore failure, `@` argv[0] is the next word, `:` no $VAR expansion, and one of
 *    `+` (full privileges), `!` (no setuid), `!!` (no setuid, ambient capabilities).
 *    `+` combined with `!`/`!!` (either order), or `!!!`, is not a prefix: the extra
 *    character stays at the start of the path, which is then rejected as invalid.
 *  - Specifiers are expanded after unquoting and unescaping, word by word: the path
 *    (prefixes removed) with unit_path_printf(), each further argument with
 *    unit_full_printf(). So `"%%"` and `\x25%` both give `%`, and `\x25n` gives the
 *    unit name. They are not expanded in the prefixes.
 *  - The path must be absolute or a plain file name (searched for in ExecSearchPath=/
 *    $PATH at run time); it may not be empty, end in `/`, or contain quotes, backslashes
 *    or control characters. It is simplified (`/usr//bin/` style) for `path`, but
 *    argv[0] keeps the spelling after specifier expansion.
 *  - `$VAR` expansion is not done here: it happens at execution (expand-env.ts).
 *
 * Failures: systemd logs them, and for most returns -ENOEXEC, which makes the whole
 * unit fail to load ("bad-setting") — unless the command has the `-` prefix, in which
 * case the rest of the value is ignored. Commands before the failing one (in a `;`
 * list) stay. A quoting error in a command's *first* word is never fatal (systemd
 * returns 0 there). parseExec() reports all of this with ExecLineError.
 */

import { ValueError } from '../diagnostics.js';
import { isValidPath, simplifyPath, NAME_MAX } from '../names.js';
import { EXTRACT_CUNESCAPE, EXTRACT_UNQUOTE, WHITESPACE, type Extracted, extractFirstWordAndWarn } from '../words.js';

export type ExecPrivileges = 'none' | 'full' | 'no-setuid' | 'no-setuid-ambient';

export interface ExecCommand {
  /** Executable: absolute (simplified) or a bare file name to search for. */
  path: string;
  /** The full argument vector, argv[0] included. */
  argv: string[];
  /** `-`: a non-zero exit (or a missing executable) is not a failure. */
  ignoreFailure: boolean;
  /** `:`: no $VAR / ${VAR} expansion at execution. */
  noEnvExpand: boolean;
  /** `+` full, `!` no-setuid, `!!` no-setuid-ambient. */
  privileged: ExecPrivileges;
  /** `@`: argv[0] was given separately (the second word). */
  argv0Separate: boolean;
}

/** Which printf systemd uses: unit_path_printf() (PATH_MAX) or unit_full_printf() (LONG_LINE_MAX). */
export type ExecSpecifierKind = 'path' | 'arg';

export interface ParseExecOptions {
  /** Specifier expansion; throws (ValueError) when a specifier cannot be resolved. */
  expandSpecifiers?: (text: string, kind: ExecSpecifierKind) => string;
  /** Non-fatal complaints systemd logs (e.g. "Ignoring unknown escape sequences: …"). */
  onWarning?: (message: string) => void;
}

/**
 * A command line systemd rejects. `fatal`: systemd returned -ENOEXEC, the unit fails to
 * load. Otherwise the error is only logged. Either way `commands` holds what systemd
 * had already added to the list before the failure (earlier `;`-separated commands).
 */
export class ExecLineError extends ValueError {
  constructor(
    message: string,
    readonly fatal: boolean,
    readonly commands: ExecCommand[],
  ) {
    super(message);
    this.name = 'ExecLineError';
  }
}

const FLAGS = EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE;

function isWhitespace(c: string | undefined): boolean {
  return c !== undefined && WHITESPACE.includes(c);
}

function skipWhitespace(s: string, p: number): number {
  while (isWhitespace(s[p])) p++;
  return p;
}

/** string_is_safe(): no control characters, quotes, backslashes or DEL. */
function stringIsSafe(s: string): boolean {
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if ((c > 0 && c < 0x20) || c === 0x7f || ch === '"' || ch === "'" || ch === '\\') return false;
  }
  return true;
}

/** filename_is_valid(): non-empty, not "." or "..", no "/", at most NAME_MAX bytes. */
function filenameIsValid(s: string): boolean {
  if (s === '' || s === '.' || s === '..' || s.includes('/')) return false;
  return Buffer.byteLength(s, 'utf8') <= NAME_MAX;
}

interface Prefixes {
  ignore: boolean;
  separateArgv0: boolean;
  noEnvExpand: boolean;
  privileged: ExecPrivileges;
  rest: string;
}

/** The prefix loop of config_parse_exec(). */
function splitPrefixes(word: string): Prefixes {
  const r: Prefixes = { ignore: false, separateArgv0: false, noEnvExpand: false, privileged: 'none', rest: word };
  let i = 0;
  for (;; i++) {
    const c = word[i];
    if (c === '-' && !r.ignore) r.ignore = true;
    else if (c === '@' && !r.separateArgv0) r.separateArgv0 = true;
    else if (c === ':' && !r.noEnvExpand) r.noEnvExpand = true;
    else if (c === '+' && r.privileged === 'none') r.privileged = 'full';
    else if (c === '!' && r.privileged === 'none') r.privileged = 'no-setuid';
    else if (c === '!' && r.privileged === 'no-setuid') r.privileged = 'no-setuid-ambient';
    else break;
  }
  r.rest = word.slice(i);
  return r;
}

/**
 * config_parse_exec(): parse one non-empty ExecStart=-style value. (An empty value
 * resets the list; that is the caller's business.)
 * @throws ExecLineError (a ValueError) when systemd would log an error for the value.
 */
export function parseExec(value: string, options: ParseExecOptions = {}): ExecCommand[] {
  const { expandSpecifiers, onWarning } = options;
  const commands: ExecCommand[] = [];
  let p: number | null = 0;
  let semicolon: boolean;
  // systemd's messages quote the rest of the value from the current command on.
  let rvalue = value;

  do {
    semicolon = false;
    let first: Extracted;
    try {
      first = extractFirstWordAndWarn(value, p, null, FLAGS, onWarning, rvalue);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      // config_parse_exec() returns 0 here: logged, not fatal.
      throw new ExecLineError(e.message, false, commands);
    }
    if (first.word === null) return commands;
    p = first.pos;
    if (first.word === ';') {
      // A lone ";" as first word is a separator, not an executable.
      semicolon = true;
      continue;
    }

    const pre = splitPrefixes(first.word);
    const ignore = pre.ignore;
    const fail = (message: string): ExecLineError => new ExecLineError(message, !ignore, commands);
    const ignoring = ignore ? ', ignoring' : '';

    let path: string;
    try {
      path = expandSpecifiers ? expandSpecifiers(pre.rest, 'path') : pre.rest;
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw fail(`Failed to resolve unit specifiers in '${pre.rest}'${ignoring}: ${e.message}`);
    }
    if (path === '') throw fail(`Empty path in command line${ignoring}: '${rvalue}'`);
    if (!stringIsSafe(path)) throw fail(`Executable name contains special characters${ignoring}: ${path}`);
    if (path.endsWith('/')) throw fail(`Executable path specifies a directory${ignoring}: ${path}`);
    if (!(path.startsWith('/') ? isValidPath(path) : filenameIsValid(path))) {
      throw fail(`Neither a valid executable name nor an absolute path${ignoring}: ${path}`);
    }

    const argv: string[] = pre.separateArgv0 ? [] : [path];
    const simplified = simplifyPath(path);

    while (p !== null && p < value.length) {
      // An unquoted ";" word separates commands.
      if (value[p] === ';' && (p + 1 === value.length || isWhitespace(value[p + 1]))) {
        p = skipWhitespace(value, p + 1);
        semicolon = true;
        break;
      }
      // "\;" as a whole word is a literal ";" (checked before unescaping, so that
      // "\\;", "\;x" and "\";\"" are not confused with it).
      if (value[p] === '\\' && value[p + 1] === ';' && (p + 2 === value.length || isWhitespace(value[p + 2]))) {
        p = skipWhitespace(value, p + 2);
        argv.push(';');
        continue;
      }
      let w: Extracted;
      try {
        w = extractFirstWordAndWarn(value, p, null, FLAGS, onWarning, rvalue);
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
        throw fail(e.message);
      }
      if (w.word === null) break;
      p = w.pos;
      let resolved: string;
      try {
        resolved = expandSpecifiers ? expandSpecifiers(w.word, 'arg') : w.word;
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
        throw fail(`Failed to resolve unit specifiers in ${w.word}${ignoring}: ${e.message}`);
      }
      argv.push(resolved);
    }

    if (argv.length === 0) throw fail(`Empty executable name or zeroeth argument${ignoring}: ${rvalue}`);

    commands.push({
      path: simplified,
      argv,
      ignoreFailure: pre.ignore,
      noEnvExpand: pre.noEnvExpand,
      privileged: pre.privileged,
      argv0Separate: pre.separateArgv0,
    });
    rvalue = p === null ? '' : value.slice(p);
  } while (semicolon);

  return commands;
}

// ---------------------------------------------------------------------------
// Rendering

const PRIVILEGE_PREFIX: Readonly<Record<ExecPrivileges, string>> = {
  none: '',
  full: '+',
  'no-setuid': '!',
  'no-setuid-ambient': '!!',
};

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
  '\\': '\\\\', '"': '\\"',
};

export interface FormatExecOptions {
  /** Double every '%' so systemd's specifier expansion gives the text back (default true). */
  escapeSpecifiers?: boolean;
}

/**
 * Quote one word so that extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) gives
 * it back: bare when it has no whitespace, quotes, backslashes or control characters;
 * otherwise in double quotes with C escapes.
 */
export function quoteExecWord(word: string, options: FormatExecOptions = {}): string {
  const w = options.escapeSpecifiers === false ? word : word.replaceAll('%', '%%');
  if (w === '') return '""';
  if (w === ';') return '\\;';
  if (!/[\s"'\\\x00-\x1f\x7f]/u.test(w)) return w;
  let out = '"';
  for (const ch of w) {
    const named = NAMED_ESCAPES[ch];
    const c = ch.codePointAt(0) ?? 0;
    if (named !== undefined) out += named;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/**
 * Render a command in unit-file syntax (prefixes, quoting, `%%`), such that
 * parseExec() of the result gives the same command back.
 */
export function formatExecCommand(cmd: ExecCommand, options: FormatExecOptions = {}): string {
  const argv0 = cmd.argv[0];
  // Without '@' the first word is argv[0] and path = simplify(argv[0]); use '@' when
  // the command does not have that shape.
  const separate = cmd.argv0Separate || argv0 === undefined || simplifyPath(argv0) !== cmd.path;
  const prefix =
    (separate ? '@' : '') + (cmd.ignoreFailure ? '-' : '') + (cmd.noEnvExpand ? ':' : '') + PRIVILEGE_PREFIX[cmd.privileged];
  const words = separate ? [cmd.path, ...cmd.argv] : cmd.argv;
  const [head = '', ...rest] = words;
  return [prefix + quoteExecWord(head, options), ...rest.map((w) => quoteExecWord(w, options))].join(' ');
}

/** Several commands as one value, separated by " ; ". */
export function formatExecCommands(cmds: readonly ExecCommand[], options: FormatExecOptions = {}): string {
  return cmds.map((c) => formatExecCommand(c, options)).join(' ; ');
}
