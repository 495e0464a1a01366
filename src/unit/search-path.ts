/**
 * Finding unit files the way systemd v255 does:
 *  - the search path (src/basic/path-lookup.c lookup_paths_init()),
 *  - the name → fragment map with aliases, linked units and masks
 *    (src/shared/unit-file.c unit_file_build_name_map(), unit_file_find_fragment()),
 *  - drop-ins (src/shared/dropin.c unit_file_find_dropin_paths(), conf_files_list()).
 *
 * Rules worth knowing:
 *  - Directories are searched in order; the first entry with a given file name wins.
 *  - A symlink whose target lies inside one of the search directories is an alias:
 *    the name stands for the *unit named like the target's basename* (looked up in
 *    the map again, so the highest-precedence file of that name is used). Invalid
 *    aliases (type or instance mismatch, types that may not alias) and self-aliases
 *    are ignored, so a lower-precedence entry of the same name is used instead.
 *  - A symlink pointing outside the search path is a "linked" unit: the fragment is
 *    the symlink itself and the unit keeps the symlink's name.
 *  - A fragment that is empty, or resolves to a character device (a symlink to
 *    /dev/null), means the unit is masked.
 *  - `foo@bar.service` without a file of its own uses the template `foo@.service`.
 *  - Drop-in directories, in precedence order (earlier wins for equal file names):
 *    for the unit's name, then for each alias, then for the type ("service.d"):
 *    for every search directory: `<name>.d`, the template's `.d` (for instances),
 *    then the dash-prefix chain (`a-b-c.service` → `a-b-.service.d`, `a-.service.d`).
 *    Only the first `*.conf` of each file name counts; the result is sorted by file name.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ValueError } from './diagnostics.js';
import {
  buildUnitName,
  classifyUnitName,
  instanceOf,
  isValidUnitPrefix,
  prefixOf,
  replaceInstance,
  simplifyPath,
  templateOf,
  unitTypeFromString,
  unitTypeMayAlias,
  unitTypeMayTemplate,
  unitTypeOf,
} from './names.js';

import type { Env, ManagerScope } from './specifiers.js';

export interface SearchPathOptions {
  readonly scope?: ManagerScope;
  /** Explicit directory list (e.g. `--unit-path`); replaces SYSTEMD_UNIT_PATH and the defaults. */
  readonly unitPath?: readonly string[];
  /** Environment for SYSTEMD_UNIT_PATH and the XDG variables; default process.env. */
  readonly env?: Env;
  /** For relative entries in SYSTEMD_UNIT_PATH; default process.cwd(). */
  readonly cwd?: string;
}

export interface ResolvedUnit {
  /** The unit's real name: the fragment's name (with the instance put in), else the requested name. */
  readonly name: string;
  /** The name that was asked for (basename for a path argument). */
  readonly requested: string;
  /** The file the unit is loaded from; undefined when not found. */
  readonly fragment?: string;
  readonly masked: boolean;
  /** Other names of the unit (alias symlinks), sorted. */
  readonly aliases: string[];
  /** Drop-in files in the order systemd applies them. */
  readonly dropins: string[];
  /** The instance, for instance names. */
  readonly instance?: string;
  /** The template name (`foo@.service`) for instance and template names. */
  readonly template?: string;
  /** The directories searched, highest precedence first. */
  readonly searchPath: readonly string[];
}

// ---------------------------------------------------------------------------
// Search path

/** The unit directories for the system manager, highest precedence first. */
export const SYSTEM_UNIT_PATH: readonly string[] = [
  '/etc/systemd/system.control',
  '/run/systemd/system.control',
  '/run/systemd/transient',
  '/run/systemd/generator.early',
  '/etc/systemd/system',
  '/etc/systemd/system.attached',
  '/run/systemd/system',
  '/run/systemd/system.attached',
  '/run/systemd/generator',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  // Upstream v255 only adds this for legacy split-/usr images; Debian 12's systemd 252
  // lists it (before /usr/lib). Harmless where /lib is a symlink to /usr/lib.
  '/lib/systemd/system',
  '/run/systemd/generator.late',
];

function uniq(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function homeDir(env: Env): string {
  const h = env['HOME'];
  return h && h.startsWith('/') ? h : os.homedir();
}

function splitDirs(value: string | undefined, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  return value.split(':').filter((s) => s !== '');
}

/** The default search path of a manager (lookup_paths_init() without SYSTEMD_UNIT_PATH). */
export function defaultSearchPath(scope: ManagerScope = 'system', env: Env = process.env): string[] {
  if (scope === 'system') return [...SYSTEM_UNIT_PATH];
  const home = homeDir(env);
  const configHome = env['XDG_CONFIG_HOME'] ?? path.posix.join(home, '.config');
  const rt = env['XDG_RUNTIME_DIR'];
  const runtime = (suffix: string): string[] => (rt ? [path.posix.join(rt, suffix)] : []);
  const dataHomeEnv = env['XDG_DATA_HOME'];
  const dataHome =
    dataHomeEnv && dataHomeEnv.startsWith('/') ? dataHomeEnv : path.posix.join(home, '.local/share');
  const configDirs = splitDirs(env['XDG_CONFIG_DIRS'], ['/etc/xdg']);
  const dataDirs = splitDirs(env['XDG_DATA_DIRS'], ['/usr/local/share', '/usr/share']);
  const list = [
    path.posix.join(configHome, 'systemd/user.control'),
    ...runtime('systemd/user.control'),
    ...runtime('systemd/transient'),
    ...runtime('systemd/generator.early'),
    path.posix.join(configHome, 'systemd/user'),
    ...configDirs.map((d) => path.posix.join(d, 'systemd/user')),
    '/etc/systemd/user',
    ...runtime('systemd/user'),
    '/run/systemd/user',
    ...runtime('systemd/generator'),
    path.posix.join(dataHome, 'systemd/user'),
    ...dataDirs.map((d) => path.posix.join(d, 'systemd/user')),
    '/usr/local/lib/systemd/user',
    '/usr/local/share/systemd/user',
    '/usr/lib/systemd/user',
    '/usr/share/systemd/user',
    ...runtime('systemd/generator.late'),
  ];
  return uniq(list.map((p) => simplifyPath(path.posix.resolve('/', p))));
}

/**
 * Parse a SYSTEMD_UNIT_PATH-style value: colon-separated directories (empty entries
 * dropped, relative ones made absolute); a trailing ':' appends the default path.
 * An empty string means no directories at all.
 */
export function parseUnitPath(
  value: string,
  scope: ManagerScope = 'system',
  env: Env = process.env,
  cwd: string = process.cwd(),
): string[] {
  const dirs = value
    .split(':')
    .filter((s) => s !== '')
    .map((s) => simplifyPath(path.posix.resolve(cwd, s)));
  if (value.endsWith(':')) dirs.push(...defaultSearchPath(scope, env));
  return uniq(dirs);
}

/** The effective search path: explicit list, else $SYSTEMD_UNIT_PATH, else the defaults. */
export function resolveSearchPath(options: SearchPathOptions = {}): string[] {
  const scope = options.scope ?? 'system';
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.unitPath) return uniq(options.unitPath.map((s) => simplifyPath(path.posix.resolve(cwd, s))));
  const e = env['SYSTEMD_UNIT_PATH'];
  if (e !== undefined) return parseUnitPath(e, scope, env, cwd);
  return defaultSearchPath(scope, env);
}

// ---------------------------------------------------------------------------
// File system helpers

function realpathOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

function readdirOrEmpty(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * chase(path, CHASE_NOFOLLOW|CHASE_NONEXISTENT): resolve "." and ".." and symlinks in
 * every component but the last; components that do not exist are taken literally.
 */
function chaseNoFollow(p: string): string {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  let cur = '/';
  let exists = true;
  parts.forEach((c, i) => {
    if (c === '..') {
      cur = path.posix.dirname(cur);
      return;
    }
    const next = path.posix.join(cur, c);
    if (exists && i < parts.length - 1) {
      const real = realpathOrUndefined(next);
      if (real !== undefined) {
        cur = real;
        return;
      }
      exists = false;
    }
    cur = next;
  });
  return cur;
}

/** path_startswith_strv(): the directory in `dirs` that contains `p`, if any. */
function insideAny(p: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => p === d || p.startsWith(d === '/' ? '/' : d + '/'));
}

/** null_or_empty_path(): true for an empty regular file or a character device; undefined if stat fails. */
function nullOrEmpty(p: string): boolean | undefined {
  try {
    const st = fs.statSync(p);
    return (st.isFile() && st.size <= 0) || st.isCharacterDevice();
  } catch {
    return undefined;
  }
}

/** hidden_or_backup_file(). */
function hiddenOrBackup(name: string): boolean {
  if (name.startsWith('.') || ['lost+found', 'aquota.user', 'aquota.group'].includes(name) || name.endsWith('~')) {
    return true;
  }
  const dot = name.lastIndexOf('.');
  if (dot < 0) return false;
  return [
    'rpmnew', 'rpmsave', 'rpmorig', 'dpkg-old', 'dpkg-new', 'dpkg-tmp', 'dpkg-dist', 'dpkg-bak',
    'dpkg-backup', 'dpkg-remove', 'ucf-new', 'ucf-old', 'ucf-dist', 'swp', 'bak', 'old', 'new',
  ].includes(name.slice(dot + 1));
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------
// Alias validation

/** unit_validate_alias_symlink_and_warn(): may `src` be an alias symlink to `dst`? */
export function isValidAlias(src: string, dst: string): boolean {
  const srcKind = classifyUnitName(src);
  const srcType = unitTypeOf(src);
  if (!srcKind || !srcType) return false;
  if (!unitTypeMayAlias(srcType)) return false;
  if (srcKind !== 'plain' && !unitTypeMayTemplate(srcType)) return false;
  const dstKind = classifyUnitName(dst);
  if (!dstKind) return false;
  if (!(dstKind === srcKind || (srcKind === 'instance' && dstKind === 'template'))) return false;
  if (dstKind === 'instance' && instanceOf(src) !== instanceOf(dst)) return false;
  return unitTypeOf(dst) === srcType;
}

// ---------------------------------------------------------------------------
// Name map

const FOLLOW_MAX = 8;

type Lookup = { readonly path: string } | { readonly error: 'ENOENT' | 'ENXIO' | 'ELOOP' };

class NameMap {
  /** unit file name → absolute fragment path, or the name of the unit it aliases. */
  readonly ids = new Map<string, string>();
  /** unit name → every name that resolves to it (including itself when it exists). */
  readonly names = new Map<string, string[]>();

  constructor(dirs: readonly string[]) {
    const expanded = uniq(dirs.flatMap((d) => [d, realpathOrUndefined(d) ?? d]));
    for (const dir of dirs) {
      for (const de of readdirOrEmpty(dir)) {
        const name = de.name;
        if (!classifyUnitName(name) || this.ids.has(name)) continue;
        const full = path.posix.join(dir, name);
        let dst: string;
        if (de.isSymbolicLink()) {
          let target: string;
          try {
            target = fs.readlinkSync(full);
          } catch {
            continue;
          }
          const simplified = chaseNoFollow(path.posix.isAbsolute(target) ? target : path.posix.join(dir, target));
          if (!insideAny(simplified, expanded)) {
            dst = full; // linked unit file or mask
          } else {
            const targetName = path.posix.basename(simplified);
            if (targetName === name || !isValidAlias(name, targetName)) continue;
            dst = targetName;
          }
        } else if (de.isDirectory()) {
          continue;
        } else {
          dst = full;
        }
        this.ids.set(name, dst);
      }
    }

    for (const src of this.ids.keys()) {
      const r = this.get(src);
      if (!('path' in r) || nullOrEmpty(r.path) !== false) continue;
      let dst = path.posix.basename(r.path);
      if (classifyUnitName(dst) === 'template' && classifyUnitName(src) === 'instance') {
        try {
          dst = replaceInstance(dst, instanceOf(src)!);
        } catch {
          continue;
        }
      }
      const list = this.names.get(dst);
      if (list) list.push(src);
      else this.names.set(dst, [src]);
    }
  }

  /** unit_ids_map_get(): follow aliases (at most FOLLOW_MAX hops) to a fragment path. */
  get(unitName: string): Lookup {
    let id: string | undefined;
    for (let n = 0; n < FOLLOW_MAX; n++) {
      let t = this.ids.get(id ?? unitName);
      if (t === undefined) {
        if (id === undefined) return { error: 'ENOENT' };
        if (classifyUnitName(id) === 'plain') return { error: 'ENXIO' };
        t = this.ids.get(templateOf(id));
        if (t === undefined) return { error: 'ENXIO' };
      }
      if (t.startsWith('/')) return { path: t };
      id = t;
    }
    return { error: 'ELOOP' };
  }

  fragmentOf(unitName: string): string | undefined {
    const r = this.get(unitName);
    if ('path' in r) return r.path;
    if (r.error === 'ELOOP') throw new ValueError(`Cannot load unit ${unitName}: too many levels of alias symlinks`);
    return undefined;
  }

  /** add_names() */
  addNames(
    names: Set<string>,
    unitKind: 'plain' | 'template' | 'instance',
    instance: string | undefined,
    fragmentBasename: string | undefined,
    name: string,
  ): void {
    if (unitKind !== 'template') names.add(name);
    for (const alias of this.names.get(name) ?? []) {
      if (unitKind === 'instance' && instance && classifyUnitName(alias) === 'template') {
        let inst: string;
        try {
          inst = replaceInstance(alias, instance);
        } catch {
          continue;
        }
        const instFragment = this.fragmentOf(inst);
        if (instFragment && fragmentBasename && path.posix.basename(instFragment) !== fragmentBasename) continue;
        names.add(inst);
      } else {
        names.add(alias);
      }
    }
  }
}

/**
 * unit_file_expand_dropin_names(): the names whose `.d` directories apply to `name`:
 * the name, its template, and the dash-prefix chain (each expanded the same way).
 */
export function dropinNames(name: string): string[] {
  const out = [name];
  const kind = classifyUnitName(name);
  if (kind === 'instance') out.push(...dropinNames(templateOf(name)));
  if (unitTypeFromString(name) || !kind) return out;

  let prefix = prefixOf(name);
  let chopped = false;
  for (;;) {
    const dash = prefix.lastIndexOf('-');
    if (dash <= 0) return out;
    if (dash + 1 < prefix.length || chopped) {
      prefix = prefix.slice(0, dash + 1);
      break;
    }
    prefix = prefix.slice(0, dash);
    chopped = true;
  }
  if (!isValidUnitPrefix(prefix)) return out;
  const type = unitTypeOf(name)!;
  let built: string;
  try {
    built = buildUnitName(prefix, kind === 'instance' ? instanceOf(name) : undefined, type);
  } catch {
    return out;
  }
  out.push(...dropinNames(built));
  return out;
}

// ---------------------------------------------------------------------------

export class UnitSearchPath {
  /** The unit directories, highest precedence first. */
  readonly dirs: readonly string[];
  private map: NameMap | undefined;
  /** Search paths with a unit file's directory in front, one per directory (scanning is the expensive part). */
  private derived = new Map<string, UnitSearchPath>();

  constructor(options: SearchPathOptions = {}) {
    this.dirs = resolveSearchPath(options);
  }

  /** A search path with exactly these directories. */
  static fromDirs(dirs: readonly string[]): UnitSearchPath {
    return new UnitSearchPath({ unitPath: dirs });
  }

  /** Forget the cached directory scan (after files changed). */
  refresh(): void {
    this.map = undefined;
    this.derived.clear();
  }

  private nameMap(): NameMap {
    this.map ??= new NameMap(this.dirs);
    return this.map;
  }

  /**
   * Resolve a unit name, or a path to a unit file. A path is handled like
   * `systemd-analyze verify FILE`: the file's directory is put in front of the
   * search path and the file's name is looked up.
   */
  resolveUnit(nameOrPath: string): ResolvedUnit {
    if (nameOrPath.includes('/')) {
      const abs = path.posix.resolve(nameOrPath);
      const dir = path.posix.dirname(abs);
      let derived = this.derived.get(dir);
      if (!derived) this.derived.set(dir, (derived = UnitSearchPath.fromDirs([dir, ...this.dirs])));
      return derived.resolveUnit(path.posix.basename(abs));
    }
    return this.resolveName(nameOrPath);
  }

  private resolveName(requested: string): ResolvedUnit {
    const kind = classifyUnitName(requested);
    if (!kind) throw new ValueError(`Invalid unit name: "${requested}"`);
    const map = this.nameMap();
    const instance = kind === 'instance' ? instanceOf(requested) : undefined;
    const template = kind === 'plain' ? undefined : templateOf(requested);

    // unit_file_find_fragment()
    const names = new Set<string>();
    map.addNames(names, kind, instance, undefined, requested);
    let fragment = map.fragmentOf(requested);
    if (!fragment && kind === 'instance') fragment = map.fragmentOf(template!);
    let name = requested;
    if (fragment) {
      const base = path.posix.basename(fragment);
      if (base !== requested) map.addNames(names, kind, instance, base, base);
      name = classifyUnitName(base) === 'template' && instance ? replaceInstance(base, instance) : base;
    }

    // merge_by_names(): template names stand for the same instance.
    const all = new Set<string>();
    for (const n of names) {
      all.add(classifyUnitName(n) === 'template' && instance ? replaceInstance(n, instance) : n);
    }
    all.delete(name);
    const aliases = [...all].sort(byteCompare);

    const masked = fragment !== undefined && nullOrEmpty(fragment) === true;
    return {
      name,
      requested,
      ...(fragment !== undefined ? { fragment } : {}),
      masked,
      aliases,
      dropins: this.dropinPaths(name, aliases),
      ...(instance !== undefined ? { instance } : {}),
      ...(template !== undefined ? { template } : {}),
      searchPath: this.dirs,
    };
  }

  /**
   * The existing drop-in directories for a unit, highest precedence first
   * (unit_file_find_dropin_paths() before conf_files_list()). `suffix` is ".d" for
   * drop-ins; ".wants"/".requires"/".upholds" work the same way.
   */
  dropinDirs(name: string, aliases: readonly string[] = [], suffix = '.d'): string[] {
    const type = unitTypeOf(name);
    if (!type) throw new ValueError(`Invalid unit name: "${name}"`);
    const dirs: string[] = [];
    const add = (p: string): void => {
      const real = realpathOrUndefined(p);
      if (real !== undefined && fs.statSync(real).isDirectory()) dirs.push(real);
    };
    for (const n of [name, ...aliases]) {
      const candidates = dropinNames(n);
      for (const p of this.dirs) for (const c of candidates) add(path.posix.join(p, c + suffix));
    }
    for (const p of this.dirs) add(path.posix.join(p, type + suffix));
    return dirs;
  }

  /** The `*.conf` drop-ins for a unit, in the order they are applied (conf_files_list_strv()). */
  dropinPaths(name: string, aliases: readonly string[] = []): string[] {
    const seen = new Map<string, string>();
    for (const dir of this.dropinDirs(name, aliases, '.d')) {
      for (const de of readdirOrEmpty(dir)) {
        const f = de.name;
        if (hiddenOrBackup(f) || !f.endsWith('.conf') || seen.has(f)) continue;
        const full = path.posix.join(dir, f);
        if (de.isDirectory() || (de.isSymbolicLink() && isDir(full))) continue;
        seen.set(f, full);
      }
    }
    return [...seen.keys()].sort(byteCompare).map((f) => seen.get(f)!);
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
