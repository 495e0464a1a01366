/**
 * The contents of an `EnvironmentFile=`, read as systemd v255 does: load_env_file()
 * (src/basic/env-file.c, parse_env_file_internal()) followed by the executor's
 * strv_env_clean_with_callback() (src/core/execute.c), which drops invalid assignments
 * with "Ignoring invalid environment assignment".
 *
 * Grammar (a byte-level state machine, not line-based):
 *  - leading whitespace is skipped; a line starting with `#` or `;` is a comment. A
 *    backslash at the end of a comment does *not* continue it (v254+);
 *  - KEY is everything up to `=` (trailing whitespace removed); a line without `=` is
 *    dropped silently. The key is not validated by the parser: `export FOO=1` yields the
 *    key "export FOO", which the executor then drops as invalid;
 *  - after `=`, whitespace is skipped; the value is made of pieces:
 *      'single quoted'  — literal, newlines included;
 *      "double quoted"  — `\"` `\\` `` \` `` `\$` unescaped, backslash-newline removed,
 *                          any other `\c` kept as it is (both characters);
 *      unquoted         — `\c` → `c`, backslash-newline removed, quotes are ordinary
 *                          characters once a bare piece started, trailing whitespace
 *                          removed; ends at the newline;
 *    whitespace between pieces is skipped while none has started (`A= 'x' 'y'` → `xy`);
 *  - newline is `\n` or `\r`; an unterminated quote at the end of the file still yields
 *    its value; a later assignment of the same name replaces the earlier one.
 *  - no `$VAR` expansion, no `export` keyword.
 * Whole-file failures (systemd refuses the file; the command fails unless the
 * EnvironmentFile= had the `-` prefix): an embedded NUL byte, invalid UTF-8 in a key or
 * value. These throw ValueError.
 */

import { ValueError } from './diagnostics.js';
import { utf8IsValid } from './escape.js';
import { envAssignmentIsValid } from './expand-env.js';

export interface EnvFileWarning {
  line: number;
  message: string;
}

export interface EnvFileParse {
  /**
   * The resulting assignments: one per name, in order of first appearance, with the
   * value (and 1-based line) of the last assignment, as strv_env_replace_consume() leaves them.
   */
  vars: Array<[name: string, value: string, line: number]>;
  /** Dropped lines and assignments. */
  warnings: EnvFileWarning[];
}

const NEWLINE = '\n\r';
const WS = ' \t\n\r';
const COMMENTS = '#;';
const SHELL_NEED_ESCAPE = '"\\`$';

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type State =
  | 'PRE_KEY' | 'KEY' | 'PRE_VALUE' | 'VALUE' | 'VALUE_ESCAPE'
  | 'SINGLE_QUOTE_VALUE' | 'DOUBLE_QUOTE_VALUE' | 'DOUBLE_QUOTE_VALUE_ESCAPE'
  | 'COMMENT' | 'COMMENT_ESCAPE';

/** Bytes (one char per byte) → text; throws if not valid UTF-8 in systemd's sense. */
function fromBytes(b: string, what: string, file: string, line: number): string {
  let s: string;
  try {
    s = fatalDecoder.decode(Buffer.from(b, 'latin1'));
  } catch {
    s = '\uFFFE'; // forces the error below
  }
  if (!utf8IsValid(s)) throw new ValueError(`${file}:${line}: invalid UTF-8 ${what}, refusing the file`);
  return s;
}

/**
 * Parse environment-file contents. `fileName` is only used in messages.
 * @throws ValueError when systemd would refuse the whole file.
 */
export function parseEnvFileContents(contents: string | Uint8Array, fileName = '(environment file)'): EnvFileParse {
  const buf = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : Buffer.from(contents);
  if (buf.includes(0)) throw new ValueError(`${fileName}: file contains a NUL byte, refusing it`);
  const text = buf.toString('latin1'); // one char per byte, like the C parser

  const order: string[] = [];
  const found = new Map<string, [value: string, line: number]>();
  const warnings: EnvFileWarning[] = [];

  let state: State = 'PRE_KEY';
  let key = '';
  let value = '';
  let lastKeyWs = -1; // index in key where trailing whitespace starts, -1: none
  let lastValueWs = -1;
  let line = 1; // physical line of the current character
  let keyLine = 1; // line where the current key started

  const push = (): void => {
    const k = fromBytes(lastKeyWs >= 0 ? key.slice(0, lastKeyWs) : key, 'in key', fileName, keyLine);
    const v = fromBytes(value, `in the value of ${k}`, fileName, keyLine);
    if (!found.has(k)) order.push(k);
    found.set(k, [v, keyLine]);
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    switch (state) {
      case 'PRE_KEY':
        if (COMMENTS.includes(c)) state = 'COMMENT';
        else if (!WS.includes(c)) {
          state = 'KEY';
          key = c;
          value = '';
          lastKeyWs = -1;
          keyLine = line;
        }
        break;
      case 'KEY':
        if (NEWLINE.includes(c)) {
          warnings.push({ line: keyLine, message: `line has no '=', ignored (silently, by systemd): ${fromLossy(key)}` });
          state = 'PRE_KEY';
        } else if (c === '=') {
          state = 'PRE_VALUE';
          lastValueWs = -1;
        } else {
          if (!WS.includes(c)) lastKeyWs = -1;
          else if (lastKeyWs < 0) lastKeyWs = key.length;
          key += c;
        }
        break;
      case 'PRE_VALUE':
        if (NEWLINE.includes(c)) {
          push();
          state = 'PRE_KEY';
        } else if (c === "'") state = 'SINGLE_QUOTE_VALUE';
        else if (c === '"') state = 'DOUBLE_QUOTE_VALUE';
        else if (c === '\\') state = 'VALUE_ESCAPE';
        else if (!WS.includes(c)) {
          state = 'VALUE';
          value += c;
        }
        break;
      case 'VALUE':
        if (NEWLINE.includes(c)) {
          if (lastValueWs >= 0) value = value.slice(0, lastValueWs);
          push();
          state = 'PRE_KEY';
        } else if (c === '\\') {
          state = 'VALUE_ESCAPE';
          lastValueWs = -1;
        } else {
          if (!WS.includes(c)) lastValueWs = -1;
          else if (lastValueWs < 0) lastValueWs = value.length;
          value += c;
        }
        break;
      case 'VALUE_ESCAPE':
        state = 'VALUE';
        if (!NEWLINE.includes(c)) value += c; // an escaped newline is eaten
        break;
      case 'SINGLE_QUOTE_VALUE':
        if (c === "'") state = 'PRE_VALUE';
        else value += c;
        break;
      case 'DOUBLE_QUOTE_VALUE':
        if (c === '"') state = 'PRE_VALUE';
        else if (c === '\\') state = 'DOUBLE_QUOTE_VALUE_ESCAPE';
        else value += c;
        break;
      case 'DOUBLE_QUOTE_VALUE_ESCAPE':
        state = 'DOUBLE_QUOTE_VALUE';
        if (SHELL_NEED_ESCAPE.includes(c)) value += c;
        else if (c !== '\n') value += '\\' + c; // like the shell; "\<newline>" is a continuation
        break;
      case 'COMMENT':
        if (c === '\\') state = 'COMMENT_ESCAPE';
        else if (NEWLINE.includes(c)) state = 'PRE_KEY';
        break;
      case 'COMMENT_ESCAPE':
        state = NEWLINE.includes(c) ? 'PRE_KEY' : 'COMMENT';
        break;
    }
    if (c === '\n') line++;
  }

  switch (state) {
    case 'VALUE':
      if (lastValueWs >= 0) value = value.slice(0, lastValueWs);
      push();
      break;
    case 'PRE_VALUE':
    case 'VALUE_ESCAPE':
    case 'SINGLE_QUOTE_VALUE':
    case 'DOUBLE_QUOTE_VALUE':
    case 'DOUBLE_QUOTE_VALUE_ESCAPE':
      push();
      break;
    case 'KEY':
      warnings.push({ line: keyLine, message: `line has no '=', ignored (silently, by systemd): ${fromLossy(key)}` });
      break;
    default:
      break;
  }

  // The executor then drops invalid assignments (strv_env_clean_with_callback()).
  const vars: Array<[string, string, number]> = [];
  for (const k of order) {
    const [v, l] = found.get(k)!;
    if (!envAssignmentIsValid(`${k}=${v}`)) {
      warnings.push({ line: l, message: `Ignoring invalid environment assignment '${k}=${v}': ${fileName}` });
      continue;
    }
    vars.push([k, v, l]);
  }
  warnings.sort((a, b) => a.line - b.line);
  return { vars, warnings };
}

function fromLossy(b: string): string {
  return Buffer.from(b, 'latin1').toString('utf8');
}
