/**
 * Path-valued directives, following systemd v255: path_simplify() and
 * path_simplify_and_warn() (src/basic/path-util.c, src/shared/parse-helpers.c)
 * and the load-fragment.c parsers config_parse_namespace_path_strv()
 * (ReadWritePaths= & co), config_parse_bind_paths(),
 * config_parse_temporary_filesystems(), config_parse_working_directory(),
 * config_parse_exec_directories() and config_parse_colon_separated_paths().
 *
 * path_simplify() drops duplicate slashes, "." components, a trailing slash and
 * ".." right after the root ("/../a" → "/a"); any other ".." stays and makes the
 * path "not normalized", which systemd refuses.
 *
 * List parsers take an optional `warn` callback: systemd skips a bad entry with
 * a warning and keeps the rest of the line; with `warn` that is what happens,
 * without it the first bad entry throws ValueError.
 */
import { ValueError } from '../diagnostics.js';
import {
  EXTRACT_CUNESCAPE,
  EXTRACT_DONT_COALESCE_SEPARATORS,
  EXTRACT_RETAIN_ESCAPE,
  EXTRACT_UNESCAPE_SEPARATORS,
  EXTRACT_UNQUOTE,
  ExtractError,
  type Extracted,
  WHITESPACE,
  extractFirstWord,
  extractManyWords,
} from '../words.js';

/** Thrown where systemd refuses to load the unit at all (e.g. a bad WorkingDirectory= without "-"). */
export class FatalValueError extends ValueError {
  readonly fatal = true;
  constructor(message: string) {
    super(message);
    this.name = 'FatalValueError';
  }
}

const NAME_MAX = 255;
const PATH_MAX = 4096;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** skip_slash_or_dot(): skips "/" and "./" (not a final "."). */
function skipSlashOrDot(p: string, i: number): number {
  for (; i < p.length; i++) {
    if (p[i] === '/') continue;
    if (p[i] === '.' && p[i + 1] === '/') {
      i++;
      continue;
    }
    break;
  }
  return i;
}

/** path_simplify() (no PATH_SIMPLIFY_KEEP_TRAILING_SLASH). */
export function simplifyPath(path: string): string {
  if (path === '') return path;
  const absolute = path[0] === '/';
  const out: string[] = [];
  let beginning = true;
  let p = absolute ? 1 : 0;
  for (;;) {
    const first = skipSlashOrDot(path, p);
    if (first >= path.length || path.slice(first) === '.') break;
    let end = path.indexOf('/', first);
    if (end < 0) end = path.length;
    const comp = path.slice(first, end);
    if (bytes(comp) > NAME_MAX) {
      // path_find_first_component() failed: the rest is kept as it is.
      const head = (absolute ? '/' : '') + out.join('/');
      return head + (out.length ? '/' : '') + path.slice(p);
    }
    const next = skipSlashOrDot(path, end);
    p = next + (path.slice(next) === '.' ? 1 : 0);
    if (absolute && beginning && comp === '..') continue;
    beginning = false;
    out.push(comp);
  }
  if (absolute) return '/' + out.join('/');
  return out.length ? out.join('/') : '.';
}

/** path_is_valid(): non-empty, components ≤ NAME_MAX bytes, < PATH_MAX bytes in all. */
function pathIsValid(path: string): boolean {
  if (path === '' || bytes(path) >= PATH_MAX) return false;
  return path.split('/').every((c) => bytes(c) <= NAME_MAX);
}

/** path_is_normalized(): valid, no ".." components, no "." components, no "//". */
function pathIsNormalized(path: string): boolean {
  if (!pathIsValid(path)) return false;
  const comps = path.split('/');
  if (comps.includes('..')) return false;
  if (path === '.' || path.startsWith('./') || path.endsWith('/.') || path.includes('/./') || path.includes('//')) return false;
  return true;
}

export type PathCheck = 'absolute' | 'relative' | 'any';

/**
 * path_simplify_and_warn(): checks absolute/relative (before simplifying),
 * simplifies, then checks length and normalization. Returns the simplified path.
 */
export function checkPath(path: string, check: PathCheck, fatal = false): string {
  const E = fatal ? FatalValueError : ValueError;
  if (LONE_SURROGATE.test(path)) throw new E(`Path is not valid UTF-8: ${path}`);
  const absolute = path.startsWith('/');
  if (check === 'absolute' && !absolute) throw new E(`Path is not absolute: ${path}`);
  if (check === 'relative' && absolute) throw new E(`Path is absolute: ${path}`);
  const s = simplifyPath(path);
  if (!pathIsValid(s)) throw new E(`Path has invalid length (${bytes(s)} bytes): ${s}`);
  if (!pathIsNormalized(s)) throw new E(`Path is not normalized: ${s}`);
  return s;
}

/** An absolute, normalized path (config_parse_path() & co), simplified: "//a/./b/" → "/a/b". */
export function validateAbsolutePath(value: string): string {
  return checkPath(value, 'absolute');
}

/** A relative, normalized path, simplified. */
export function validateRelativePath(value: string): string {
  return checkPath(value, 'relative');
}

function extractOrThrow(value: string, pos: number | null, seps: string, flags: number): Extracted {
  try {
    return extractFirstWord(value, pos, seps, flags);
  } catch (e) {
    if (e instanceof ExtractError) throw new ValueError(`Invalid syntax in "${value}": ${e.message}`);
    throw e;
  }
}

/**
 * Runs `each` on every word; a ValueError from `each` is a skipped entry
 * (warned about, or thrown without `warn`). A syntax error ends the line: what
 * came before is kept (systemd has already stored it), as in systemd.
 */
function eachWord<T>(value: string, flags: number, warn: ((m: string) => void) | undefined, each: (word: string) => T | undefined): T[] {
  const out: T[] = [];
  let pos: number | null = 0;
  for (;;) {
    let r;
    try {
      r = extractOrThrow(value, pos, WHITESPACE, flags);
    } catch (e) {
      if (!warn || !(e instanceof ValueError)) throw e;
      warn(e.message);
      return out;
    }
    if (r.word === null) return out;
    pos = r.pos;
    try {
      const v = each(r.word);
      if (v !== undefined) out.push(v);
    } catch (e) {
      if (!warn || !(e instanceof ValueError)) throw e;
      warn(`${e.message}, ignoring`);
    }
  }
}

export interface PrefixedPath {
  readonly path: string;
  /** "-": ignore the path if it does not exist. */
  readonly ignoreMissing: boolean;
  /** "+": relative to RootDirectory=/RootImage=. */
  readonly rootRelative: boolean;
  /** Canonical text: prefixes + simplified path, e.g. "-+/var/lib/x". */
  readonly text: string;
}

/**
 * One word of ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=, ExecPaths=,
 * NoExecPaths=: optional "-" then optional "+" (only in that order: systemd
 * reads "+-/x" as "+" and the relative path "-/x"), then an absolute path.
 */
export function parsePrefixedPath(word: string): PrefixedPath {
  let w = word;
  const ignoreMissing = w.startsWith('-');
  if (ignoreMissing) w = w.slice(1);
  const rootRelative = w.startsWith('+');
  if (rootRelative) w = w.slice(1);
  const path = checkPath(w, 'absolute');
  return { path, ignoreMissing, rootRelative, text: `${ignoreMissing ? '-' : ''}${rootRelative ? '+' : ''}${path}` };
}

/** config_parse_namespace_path_strv(): a whole ReadWritePaths=-style value (quoted words). */
export function parsePrefixedPathList(value: string, warn?: (m: string) => void): PrefixedPath[] {
  return eachWord(value, EXTRACT_UNQUOTE, warn, parsePrefixedPath);
}

/** config_parse_unit_path_strv_printf(): quoted words, each an absolute path. */
export function parsePathList(value: string, warn?: (m: string) => void): string[] {
  return eachWord(value, EXTRACT_UNQUOTE, warn, (w) => checkPath(w, 'absolute'));
}

/**
 * config_parse_colon_separated_paths() (ExecSearchPath=): "/a:/b", each
 * absolute. systemd stops at the first bad element, keeping the ones before it.
 */
export function parseColonSeparatedPaths(value: string, warn?: (m: string) => void): string[] {
  const out: string[] = [];
  let pos: number | null = 0;
  for (;;) {
    const r = extractOrThrow(value, pos, ':', EXTRACT_DONT_COALESCE_SEPARATORS);
    if (r.word === null) return out;
    pos = r.pos;
    try {
      out.push(checkPath(r.word, 'absolute'));
    } catch (e) {
      if (!warn || !(e instanceof ValueError)) throw e;
      warn(`${e.message}, ignoring the rest of the line`);
      return out;
    }
  }
}

export interface BindPath {
  readonly source: string;
  readonly destination: string;
  /** "-" before the source: ignore a missing source. */
  readonly optional: boolean;
  /** rbind (default) or norbind. */
  readonly recursive: boolean;
}

/**
 * config_parse_bind_paths() (BindPaths=, BindReadOnlyPaths=): entries
 * "[-]SOURCE[:DEST[:rbind|norbind]]" separated by whitespace, quotable, with
 * "\:" for a literal colon. Separators do not coalesce, so two spaces in a row
 * produce an empty (invalid, skipped) entry, as in systemd.
 */
export function parseBindPaths(value: string, warn?: (m: string) => void): BindPath[] {
  const out: BindPath[] = [];
  const seps = ':' + WHITESPACE;
  const flags = EXTRACT_UNQUOTE | EXTRACT_DONT_COALESCE_SEPARATORS;
  const skip = (e: unknown): void => {
    if (!warn || !(e instanceof ValueError)) throw e;
    warn(`${e.message}, ignoring`);
  };
  let pos: number | null = 0;
  for (;;) {
    let r;
    try {
      r = extractOrThrow(value, pos, seps, flags);
    } catch (e) {
      if (!warn || !(e instanceof ValueError)) throw e;
      warn(e.message);
      return out;
    }
    if (r.word === null) return out;
    pos = r.pos;
    const tookColon = (): boolean => pos !== null && value[pos - 1] === ':';
    let s = r.word;
    const optional = s.startsWith('-');
    if (optional) s = s.slice(1);
    let source: string;
    try {
      source = checkPath(s, 'absolute');
    } catch (e) {
      skip(e);
      continue;
    }
    let destination = source;
    let recursive = true;
    if (tookColon()) {
      let d;
      try {
        d = extractOrThrow(value, pos, seps, flags);
      } catch (e) {
        if (!warn || !(e instanceof ValueError)) throw e;
        warn(e.message);
        return out;
      }
      pos = d.pos;
      try {
        destination = checkPath(d.word ?? '', 'absolute');
      } catch (e) {
        skip(e);
        continue;
      }
      if (tookColon()) {
        let o;
        try {
          o = extractOrThrow(value, pos, WHITESPACE, EXTRACT_UNQUOTE);
        } catch (e) {
          if (!warn || !(e instanceof ValueError)) throw e;
          warn(e.message);
          return out;
        }
        pos = o.pos;
        const opt = o.word ?? '';
        if (opt === '' || opt === 'rbind') recursive = true;
        else if (opt === 'norbind') recursive = false;
        else {
          skip(new ValueError(`Invalid option string "${opt}" (expected rbind or norbind)`));
          continue;
        }
      }
    }
    out.push({ source, destination, optional, recursive });
  }
}

export interface TemporaryFileSystem {
  readonly path: string;
  /** Mount options after the first ":" (e.g. "ro,size=10M"); absent when none or empty. */
  readonly options?: string;
}

/** One word of TemporaryFileSystem=: "PATH[:OPTIONS]". Options are checked at mount time, not here. */
export function parseTemporaryFileSystem(word: string): TemporaryFileSystem {
  const r = extractOrThrow(word, 0, ':', EXTRACT_DONT_COALESCE_SEPARATORS);
  const path = checkPath(r.word ?? '', 'absolute');
  const options = r.pos === null ? '' : word.slice(r.pos);
  return options === '' ? { path } : { path, options };
}

/** config_parse_temporary_filesystems(): a whole TemporaryFileSystem= value. */
export function parseTemporaryFileSystems(value: string, warn?: (m: string) => void): TemporaryFileSystem[] {
  return eachWord(value, EXTRACT_UNQUOTE, warn, parseTemporaryFileSystem);
}

export interface WorkingDirectory {
  /** "~": the user's home directory. */
  readonly home: boolean;
  /** The absolute directory, unless `home`. */
  readonly path?: string;
  /** "-" prefix: a missing directory is not an error. */
  readonly missingOk: boolean;
  /** Canonical text: "-~", "/srv/x", "-/srv/x". */
  readonly text: string;
}

/**
 * config_parse_working_directory() for a non-empty value: "[-]~" or
 * "[-]/absolute/path". An invalid path without "-" makes systemd refuse the
 * unit (FatalValueError); with "-" the line is just ignored (ValueError).
 */
export function parseWorkingDirectory(value: string): WorkingDirectory {
  const missingOk = value.startsWith('-');
  const rest = missingOk ? value.slice(1) : value;
  const prefix = missingOk ? '-' : '';
  if (rest === '~') return { home: true, missingOk, text: `${prefix}~` };
  const path = checkPath(rest, 'absolute', !missingOk);
  return { home: false, path, missingOk, text: `${prefix}${path}` };
}

export interface DirectoryEntry {
  /** Relative to the directory type's base (/run, /var/lib, /var/cache, /var/log, /etc). */
  readonly path: string;
  /** Second field ("foo:bar"): an additional symlink bar → foo, also relative. */
  readonly symlink?: string;
}

/**
 * config_parse_exec_directories() (RuntimeDirectory=, StateDirectory=,
 * CacheDirectory=, LogsDirectory=, ConfigurationDirectory=): quoted words
 * "PATH[:SYMLINK]", both relative and normalized, "\:" for a literal colon.
 * "private" (and below) is refused; ConfigurationDirectory= takes no symlink.
 * In v255 colons coalesce ("a::b" = "a:b") and a third field is ignored.
 */
export function parseDirectoryEntries(value: string, directive?: string, warn?: (m: string) => void): DirectoryEntry[] {
  const out: DirectoryEntry[] = [];
  let pos: number | null = 0;
  for (;;) {
    const r = extractOrThrow(value, pos, WHITESPACE, EXTRACT_UNQUOTE | EXTRACT_RETAIN_ESCAPE);
    if (r.word === null) return out;
    pos = r.pos;
    const tuple = r.word;
    let parts;
    try {
      parts = extractManyWords(tuple, 0, 2, ':', EXTRACT_CUNESCAPE | EXTRACT_UNESCAPE_SEPARATORS);
    } catch (e) {
      if (!(e instanceof ExtractError)) throw e;
      parts = undefined;
    }
    if (!parts || parts.count === 0) {
      const msg = `Invalid syntax in "${tuple}"`;
      if (!warn) throw new ValueError(msg);
      warn(`${msg}, ignoring the rest of the line`);
      return out;
    }
    try {
      const path = checkPath(parts.words[0]!, 'relative');
      if (path === 'private' || path.startsWith('private/')) throw new ValueError(`Path can't be 'private': ${tuple}`);
      const dest = parts.words[1];
      if (dest === null || dest === undefined || dest === '') {
        out.push({ path });
        continue;
      }
      if (directive === 'ConfigurationDirectory') throw new ValueError(`Destination parameter is not supported for ConfigurationDirectory: ${tuple}`);
      out.push({ path, symlink: checkPath(dest, 'relative') });
    } catch (e) {
      if (!warn || !(e instanceof ValueError)) throw e;
      warn(`${e.message}, ignoring`);
    }
  }
}

const escapeColon = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

/** parseDirectoryEntries() as text items: "foo", "foo:bar" (":" and "\" in names escaped). */
export function parseDirectoryList(value: string, directive?: string, warn?: (m: string) => void): string[] {
  return parseDirectoryEntries(value, directive, warn).map((e) => (e.symlink === undefined ? escapeColon(e.path) : `${escapeColon(e.path)}:${escapeColon(e.symlink)}`));
}
