/**
 * Unit names, the way systemd v255 reads them (src/basic/unit-name.c, src/basic/path-util.c).
 *
 *   foo.service        plain
 *   foo@.service       template
 *   foo@bar.service    instance (prefix "foo", instance "bar")
 *
 * Escaping works on the UTF-8 bytes of a string, like the C code: every byte
 * outside [0-9A-Za-z:_.] (and '-' and '\' themselves) becomes `\xNN` (lower-case
 * hex), '/' becomes '-', and a leading '.' is escaped too.
 */

import { ValueError } from './diagnostics.js';

export const UNIT_TYPES = [
  'service',
  'mount',
  'swap',
  'socket',
  'target',
  'device',
  'automount',
  'timer',
  'path',
  'slice',
  'scope',
] as const;

export type UnitType = (typeof UNIT_TYPES)[number];

export type UnitNameKind = 'plain' | 'template' | 'instance';

/** A unit name must be shorter than this (strlen(name) < UNIT_NAME_MAX). */
export const UNIT_NAME_MAX = 256;
/** Longest path systemd accepts (PATH_MAX), including the terminating NUL. */
export const PATH_MAX = 4096;
/** Longest path component (NAME_MAX). */
export const NAME_MAX = 255;

const DIGITS = '0123456789';
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const VALID_CHARS = new Set(DIGITS + LETTERS + ':-_.\\');
const VALID_CHARS_WITH_AT = new Set([...VALID_CHARS, '@']);

const TYPE_SET: ReadonlySet<string> = new Set(UNIT_TYPES);

export function unitTypeFromString(s: string): UnitType | undefined {
  return TYPE_SET.has(s) ? (s as UnitType) : undefined;
}

function inCharset(s: string, set: ReadonlySet<string>): boolean {
  for (const c of s) if (!set.has(c)) return false;
  return true;
}

/**
 * unit_name_classify(): which kind of valid unit name this is, or undefined when
 * the name is not a valid unit name at all.
 */
export function classifyUnitName(name: string): UnitNameKind | undefined {
  if (name.length === 0 || Buffer.byteLength(name, 'utf8') >= UNIT_NAME_MAX) return undefined;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  if (!unitTypeFromString(name.slice(dot + 1))) return undefined;
  const body = name.slice(0, dot);
  if (!inCharset(body, VALID_CHARS_WITH_AT)) return undefined;
  const at = body.indexOf('@');
  if (at === 0) return undefined;
  if (at < 0) return 'plain';
  return at + 1 === dot ? 'template' : 'instance';
}

/** unit_name_is_valid(name, kinds); without kinds any kind is accepted (UNIT_NAME_ANY). */
export function isValidUnitName(name: string, kinds?: Iterable<UnitNameKind>): boolean {
  const k = classifyUnitName(name);
  if (!k) return false;
  if (!kinds) return true;
  for (const want of kinds) if (want === k) return true;
  return false;
}

export function isValidUnitPrefix(p: string): boolean {
  return p.length > 0 && inCharset(p, VALID_CHARS);
}

export function isValidUnitInstance(i: string): boolean {
  return i.length > 0 && inCharset(i, VALID_CHARS_WITH_AT);
}

function requireValid(name: string): UnitNameKind {
  const k = classifyUnitName(name);
  if (!k) throw new ValueError(`Invalid unit name: "${name}"`);
  return k;
}

/** unit_name_to_type(): the type suffix of a valid unit name. */
export function unitTypeOf(name: string): UnitType | undefined {
  if (!classifyUnitName(name)) return undefined;
  return unitTypeFromString(name.slice(name.lastIndexOf('.') + 1));
}

/** unit_name_to_prefix(): the part before the first '@', or before the type suffix. */
export function prefixOf(name: string): string {
  requireValid(name);
  const at = name.indexOf('@');
  return name.slice(0, at >= 0 ? at : name.lastIndexOf('.'));
}

/**
 * unit_name_to_instance(): the part between the first '@' and the type suffix.
 * undefined for plain names, '' for templates.
 */
export function instanceOf(name: string): string | undefined {
  requireValid(name);
  const at = name.indexOf('@');
  if (at < 0) return undefined;
  return name.slice(at + 1, name.lastIndexOf('.'));
}

/** unit_name_to_prefix_and_instance(): the name without its type suffix (%N). */
export function nameWithoutSuffix(name: string): string {
  requireValid(name);
  return name.slice(0, name.lastIndexOf('.'));
}

/** unit_name_template(): `foo@bar.service` → `foo@.service` (also accepts a template). */
export function templateOf(name: string): string {
  const k = requireValid(name);
  if (k === 'plain') throw new ValueError(`Not a template or instance unit name: "${name}"`);
  return name.slice(0, name.indexOf('@') + 1) + name.slice(name.lastIndexOf('.'));
}

/** unit_name_replace_instance(): put `instance` into a template or instance name. */
export function replaceInstance(name: string, instance: string): string {
  const k = requireValid(name);
  if (k === 'plain') throw new ValueError(`Not a template or instance unit name: "${name}"`);
  if (!isValidUnitInstance(instance)) throw new ValueError(`Invalid unit instance: "${instance}"`);
  const s = name.slice(0, name.indexOf('@') + 1) + instance + name.slice(name.lastIndexOf('.'));
  if (classifyUnitName(s) !== 'instance') throw new ValueError(`Invalid unit name: "${s}"`);
  return s;
}

/** unit_name_build_from_type(). */
export function buildUnitName(prefix: string, instance: string | undefined, type: UnitType): string {
  if (!isValidUnitPrefix(prefix)) throw new ValueError(`Invalid unit prefix: "${prefix}"`);
  if (instance !== undefined && !isValidUnitInstance(instance)) {
    throw new ValueError(`Invalid unit instance: "${instance}"`);
  }
  const s = instance === undefined ? `${prefix}.${type}` : `${prefix}@${instance}.${type}`;
  if (classifyUnitName(s) !== (instance === undefined ? 'plain' : 'instance')) {
    throw new ValueError(`Invalid unit name: "${s}"`);
  }
  return s;
}

/** unit_type_may_alias(): only these types may have alias symlinks. */
export function unitTypeMayAlias(type: UnitType): boolean {
  return ['service', 'socket', 'target', 'device', 'timer', 'path'].includes(type);
}

/** unit_type_may_template(): only these types may be templated. */
export function unitTypeMayTemplate(type: UnitType): boolean {
  return ['service', 'socket', 'target', 'timer', 'path'].includes(type);
}

// ---------------------------------------------------------------------------
// Escaping

const HEX = '0123456789abcdef';
const BYTE_VALID = new Set([...VALID_CHARS].map((c) => c.charCodeAt(0)));
const SLASH = 0x2f;
const DASH = 0x2d;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

function escapeByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/** unit_name_escape() — `systemd-escape STRING`. */
export function escape(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (i === 0 && b === DOT) out += escapeByte(b);
    else if (b === SLASH) out += '-';
    else if (b === DASH || b === BACKSLASH || !BYTE_VALID.has(b)) out += escapeByte(b);
    else out += String.fromCharCode(b);
  }
  return out;
}

function unhex(c: string | undefined): number {
  if (c === undefined) return -1;
  const i = '0123456789abcdef'.indexOf(c.toLowerCase());
  return i;
}

/**
 * unit_name_unescape() — `systemd-escape --unescape STRING`: '-' → '/', `\xNN` → byte NN.
 * A '\' not followed by 'x' and two hex digits is an error. Like the C string it
 * builds, the result ends at an escaped NUL byte (`\x00`).
 */
export function unescape(s: string): string {
  const out: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === DASH) out.push(SLASH);
    else if (b === BACKSLASH) {
      if (bytes[i + 1] !== 0x78 /* x */) throw new ValueError(`Invalid escape sequence in "${s}"`);
      const hi = unhex(charAt(bytes, i + 2));
      const lo = unhex(charAt(bytes, i + 3));
      if (hi < 0 || lo < 0) throw new ValueError(`Invalid escape sequence in "${s}"`);
      out.push((hi << 4) | lo);
      i += 3;
    } else out.push(b);
  }
  const nul = out.indexOf(0);
  return Buffer.from(nul >= 0 ? out.slice(0, nul) : out).toString('utf8');
}

function charAt(bytes: Buffer, i: number): string | undefined {
  const b = bytes[i];
  return b === undefined ? undefined : String.fromCharCode(b);
}

// ---------------------------------------------------------------------------
// Paths (path-util.c)

/** path_is_valid(): non-empty, no component longer than NAME_MAX, shorter than PATH_MAX. */
export function isValidPath(p: string): boolean {
  if (p.length === 0) return false;
  if (Buffer.byteLength(p, 'utf8') >= PATH_MAX) return false;
  for (const c of p.split('/')) if (Buffer.byteLength(c, 'utf8') > NAME_MAX) return false;
  return true;
}

/** path_is_normalized(): valid, and no ".", ".." components or "//". */
export function isNormalizedPath(p: string): boolean {
  if (!isValidPath(p)) return false;
  if (p === '..' || p.startsWith('../') || p.endsWith('/..') || p.includes('/../')) return false;
  if (p === '.' || p.startsWith('./') || p.endsWith('/.') || p.includes('/./')) return false;
  if (p.includes('//')) return false;
  return true;
}

/**
 * path_simplify(): drop duplicate and trailing slashes and "." components, and
 * ".." components at the very start of an absolute path ("/../a" → "/a");
 * other ".." stay. Everything stripped from a relative path gives ".".
 */
export function simplifyPath(p: string): string {
  if (p.length === 0) return p;
  const absolute = p.startsWith('/');
  const parts: string[] = [];
  let beginning = true;
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (absolute && beginning && c === '..') continue;
    beginning = false;
    parts.push(c);
  }
  const joined = parts.join('/');
  if (absolute) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/**
 * unit_name_path_escape() — `systemd-escape --path PATH`: simplify the path, "/" (or "")
 * becomes "-", otherwise strip the leading and trailing slashes and escape.
 * A path that is not normalized after simplification (e.g. "a/../b") is an error.
 */
export function pathEscape(path: string): string {
  const p = simplifyPath(path);
  if (p === '' || p === '/') return '-';
  if (!isNormalizedPath(p)) throw new ValueError(`Path "${path}" is not normalized, cannot escape it`);
  return escape(p.replace(/\/+$/, '').replace(/^\/+/, ''));
}

/**
 * unit_name_path_unescape() — `systemd-escape --unescape --path STRING`:
 * "-" is "/", anything else is unescaped and gets a leading "/"; the result must
 * be a normalized path without a trailing slash.
 */
export function pathUnescape(s: string): string {
  if (s.length === 0) throw new ValueError('Cannot unescape an empty string as a path');
  if (s === '-') return '/';
  const w = unescape(s);
  if (w.startsWith('/') || w.endsWith('/')) {
    throw new ValueError(`"${s}" does not unescape to a valid path`);
  }
  const p = '/' + w;
  if (!isNormalizedPath(p)) throw new ValueError(`"${s}" does not unescape to a normalized path`);
  return p;
}

/** unit_name_from_path(): `/dev/sda` + `.device` → `dev-sda.device`. */
export function unitNameFromPath(path: string, suffix: string): string {
  if (!suffix.startsWith('.') || !unitTypeFromString(suffix.slice(1))) {
    throw new ValueError(`Invalid unit suffix: "${suffix}"`);
  }
  const s = pathEscape(path) + suffix;
  // systemd replaces over-long names by a hashed name (unit_name_hash_long); we do not.
  if (Buffer.byteLength(s, 'utf8') >= UNIT_NAME_MAX) throw new ValueError(`Unit name "${s}" is too long`);
  if (classifyUnitName(s) !== 'plain') throw new ValueError(`Invalid unit name: "${s}"`);
  return s;
}

/** unit_name_is_hashed(): a name shortened by unit_name_hash_long() (`…_0123456789abcdef.mount`). */
export function isHashedUnitName(name: string): boolean {
  if (classifyUnitName(name) !== 'plain') return false;
  return /_[0-9a-f]{16}$/.test(name.slice(0, name.lastIndexOf('.')));
}

/** unit_name_to_path(): `foo-bar.mount` → `/foo/bar`. */
export function unitNameToPath(name: string): string {
  const prefix = prefixOf(name);
  if (isHashedUnitName(name)) throw new ValueError(`Unit name "${name}" is hashed, cannot turn it into a path`);
  return pathUnescape(prefix);
}
