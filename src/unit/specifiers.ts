/**
 * `%x` specifier expansion, as systemd v255 does it for unit files
 * (src/shared/specifier.c specifier_printf(), src/core/unit-printf.c).
 *
 * Expansion rules (specifier_printf):
 *  - `%%` is a literal '%';
 *  - `%` + a letter or digit that is not in the table is an error ("Failed to
 *    resolve unit specifiers", the caller ignores the line);
 *  - `%` + any other character is kept literally (`%-` stays `%-`), and a lone
 *    trailing `%` is kept as '%';
 *  - a result longer than the caller's limit is an error (unit names: UNIT_NAME_MAX,
 *    paths: PATH_MAX, other settings: LONG_LINE_MAX).
 *
 * Whose user? In v255 %u %U %g %G resolve to the *manager's* credentials: always
 * root/0 for the system manager (specifier_user_name() etc. use uid 0 when the
 * scope is "system"), getuid()/getgid() for a user manager. %h and %s come from
 * get_home_dir()/get_shell() of the manager process: $HOME/$SHELL if set, else
 * /root and the default root shell for uid 0. PID 1 runs without $HOME/$SHELL, so
 * for the system scope this is /root and /bin/bash (or /bin/sh). User= of the unit
 * is never consulted.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ValueError } from './diagnostics.js';
import {
  instanceOf,
  isValidPath,
  isNormalizedPath,
  nameWithoutSuffix,
  pathUnescape,
  prefixOf,
  simplifyPath,
  unitNameToPath,
  unescape,
  UNIT_NAME_MAX,
  PATH_MAX,
} from './names.js';

export type ManagerScope = 'system' | 'user';

export type Env = Readonly<Record<string, string | undefined>>;

export interface UserInfo {
  readonly name: string;
  readonly uid: number;
  readonly group: string;
  readonly gid: number;
  /** From the user database (passwd). */
  readonly home: string;
  readonly shell: string;
}

/**
 * Facts about the host the specifiers read. Every method may throw (ValueError)
 * when the fact is unavailable; expandSpecifiers() then fails like systemd does.
 */
export interface HostInfo {
  /** gethostname(), with systemd's fallback to "localhost" when unset. */
  hostname(): string;
  /** PRETTY_HOSTNAME= from /etc/machine-info, undefined when unset or empty. */
  prettyHostname(): string | undefined;
  /** /etc/machine-id as 32 lower-case hex digits. */
  machineId(): string;
  /** /proc/sys/kernel/random/boot_id as 32 lower-case hex digits (no dashes). */
  bootId(): string;
  /** uname -r */
  kernelRelease(): string;
  /** systemd's architecture name (x86-64, arm64, …). */
  architecture(): string;
  /** Fields of /etc/os-release (or /usr/lib/os-release); throws when neither exists. */
  osRelease(): ReadonlyMap<string, string>;
  /** The user this process runs as (the manager's user for a user manager). */
  currentUser(): UserInfo;
  /** default_root_shell(): /bin/bash if it exists, else /bin/sh. */
  rootShell(): string;
  /** This process's environment. */
  readonly env: Env;
  /** realpath(3); throws when the path does not exist. */
  realpath(p: string): string;
  isDirectory(p: string): boolean;
}

export interface SpecifierContext {
  /** The unit's id, e.g. `foo@bar.service` (never a template). */
  readonly unitName: string;
  /** The fragment the unit was loaded from (for %y / %Y). */
  readonly fragmentPath?: string;
  readonly scope: ManagerScope;
  readonly host: HostInfo;
  /**
   * The manager's environment. Default: empty for the system manager (PID 1 runs
   * without $HOME, $TMPDIR, …), `host.env` for a user manager.
   */
  readonly managerEnv?: Env;
  /** Root of the manager's cgroup tree (deprecated %R); default "". */
  readonly cgroupRoot?: string;
  /**
   * The unit's slice for the deprecated %c/%r, if one is known when the line is
   * parsed (only a Slice= line earlier in the unit: systemd assigns the default slice
   * after parsing, so by default there is none, giving %c = "/<unit>" and %r = "").
   */
  readonly slice?: string;
  /** Called for deprecated specifiers (%c %r %R), like systemd's warning. */
  readonly warn?: (message: string) => void;
}

/** Longest result of unit_full_printf() (LONG_LINE_MAX). */
export const LONG_LINE_MAX = 1024 * 1024;
export { UNIT_NAME_MAX, PATH_MAX };

/** Specifiers valid in unit_name_printf() (unit names in dependencies, Alias=, …). */
export const UNIT_NAME_SPECIFIERS: ReadonlySet<string> = new Set([
  'i', 'j', 'n', 'N', 'p',
  // COMMON_SYSTEM_SPECIFIERS
  'a', 'A', 'b', 'B', 'H', 'l', 'q', 'm', 'M', 'o', 'v', 'w', 'W',
  // COMMON_CREDS_SPECIFIERS
  'g', 'G', 'u', 'U',
]);

/** Specifiers valid in unit_full_printf() / unit_path_printf() / unit_env_printf(). */
export const UNIT_FULL_SPECIFIERS: ReadonlySet<string> = new Set([
  ...UNIT_NAME_SPECIFIERS,
  'I', 'J', 'P', 'f', 'y', 'Y',
  'c', 'r', 'R', // deprecated
  'C', 'd', 'E', 'L', 'S', 't',
  'h', 's',
  'T', 'V',
]);

type Resolver = (ctx: SpecifierContext) => string;

function managerEnv(ctx: SpecifierContext): Env {
  return ctx.managerEnv ?? (ctx.scope === 'system' ? {} : ctx.host.env);
}

function validAbsolute(p: string | undefined): p is string {
  return p !== undefined && isValidPath(p) && p.startsWith('/');
}

/** get_home_dir() of the manager. */
function managerHome(ctx: SpecifierContext): string {
  const e = managerEnv(ctx)['HOME'];
  if (validAbsolute(e)) return simplifyPath(e);
  if (ctx.scope === 'system') return '/root';
  const u = ctx.host.currentUser();
  if (u.uid === 0) return '/root';
  if (!validAbsolute(u.home)) throw new ValueError(`Home directory of user ${u.name} is not a valid absolute path`);
  return simplifyPath(u.home);
}

/** get_shell() of the manager. */
function managerShell(ctx: SpecifierContext): string {
  const e = managerEnv(ctx)['SHELL'];
  if (validAbsolute(e)) return simplifyPath(e);
  if (ctx.scope === 'system') return ctx.host.rootShell();
  const u = ctx.host.currentUser();
  if (u.uid === 0) return ctx.host.rootShell();
  if (!validAbsolute(u.shell)) throw new ValueError(`Shell of user ${u.name} is not a valid absolute path`);
  return simplifyPath(u.shell);
}

/** sd-path style XDG lookup: $VAR if absolute, else $HOME/<fallback>. */
function xdgDir(ctx: SpecifierContext, variable: string, fallback: string): string {
  const e = managerEnv(ctx)[variable];
  if (e !== undefined && e.startsWith('/')) return e;
  return path.posix.join(managerHome(ctx), fallback);
}

type Dir = 'runtime' | 'state' | 'cache' | 'logs' | 'configuration';

/** Manager::prefix[] — the root directories of RuntimeDirectory= & co. */
function managerPrefix(ctx: SpecifierContext, dir: Dir): string {
  if (ctx.scope === 'system') {
    return { runtime: '/run', state: '/var/lib', cache: '/var/cache', logs: '/var/log', configuration: '/etc' }[dir];
  }
  switch (dir) {
    case 'runtime': {
      const e = managerEnv(ctx)['XDG_RUNTIME_DIR'];
      if (e === undefined || !e.startsWith('/')) throw new ValueError('$XDG_RUNTIME_DIR is not set');
      return e;
    }
    case 'state':
      return xdgDir(ctx, 'XDG_STATE_HOME', '.local/state');
    case 'cache':
      return xdgDir(ctx, 'XDG_CACHE_HOME', '.cache');
    case 'logs':
      return path.posix.join(xdgDir(ctx, 'XDG_STATE_HOME', '.local/state'), 'log');
    case 'configuration':
      return xdgDir(ctx, 'XDG_CONFIG_HOME', '.config');
  }
}

/** tmp_dir() / var_tmp_dir(): $TMPDIR, $TEMP, $TMP if absolute, normalized and a directory. */
function tmpDir(ctx: SpecifierContext, fallback: string): string {
  const env = managerEnv(ctx);
  for (const n of ['TMPDIR', 'TEMP', 'TMP']) {
    const e = env[n];
    if (e === undefined || !e.startsWith('/') || !isNormalizedPath(e)) continue;
    if (!ctx.host.isDirectory(e)) continue;
    return e;
  }
  return fallback;
}

function instance(ctx: SpecifierContext): string {
  return instanceOf(ctx.unitName) ?? '';
}

function lastComponent(ctx: SpecifierContext): string {
  const prefix = prefixOf(ctx.unitName);
  const dash = prefix.lastIndexOf('-');
  return dash >= 0 ? prefix.slice(dash + 1) : prefix;
}

function osField(key: string): Resolver {
  return (ctx) => ctx.host.osRelease().get(key) ?? '';
}

function realFragment(ctx: SpecifierContext): string {
  if (ctx.fragmentPath === undefined) throw new ValueError('Unit has no fragment path');
  return ctx.host.realpath(ctx.fragmentPath);
}

// --- deprecated cgroup specifiers -----------------------------------------

const CGROUP_CONTROLLERS = [
  'cpu', 'cpuacct', 'cpuset', 'io', 'blkio', 'memory', 'devices', 'pids',
  'bpf-firewall', 'bpf-devices', 'bpf-foreign', 'bpf-socket-bind', 'bpf-restrict-network-interfaces',
];

/** cg_escape(). */
function cgEscape(p: string): string {
  let needPrefix =
    p === '' || p.startsWith('_') || p.startsWith('.') ||
    ['notify_on_release', 'release_agent', 'tasks'].includes(p) || p.startsWith('cgroup.');
  const dot = p.lastIndexOf('.');
  if (!needPrefix && dot >= 0) needPrefix = CGROUP_CONTROLLERS.includes(p.slice(0, dot));
  return needPrefix ? '_' + p : p;
}

/** cg_slice_to_path(): `a-b.slice` → `a.slice/a-b.slice`; the root slice is "". */
function sliceToPath(slice: string): string {
  if (slice === '-.slice') return '';
  const prefix = slice.slice(0, -'.slice'.length);
  const parts = prefix.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(cgEscape(parts.slice(0, i).join('-') + '.slice'));
  return out.join('/');
}

function joinCgroup(root: string, ...parts: string[]): string {
  return path.posix.join(root === '' ? '/' : root, ...parts.filter((p) => p !== ''));
}


function deprecated(ctx: SpecifierContext, c: string): void {
  ctx.warn?.(
    `Specifier '%${c}' used in unit configuration, which is deprecated. Please update your unit file, as it does not work as intended.`,
  );
}

const RESOLVERS: Readonly<Record<string, Resolver>> = {
  // unit names
  n: (ctx) => ctx.unitName,
  N: (ctx) => nameWithoutSuffix(ctx.unitName),
  p: (ctx) => prefixOf(ctx.unitName),
  P: (ctx) => unescape(prefixOf(ctx.unitName)),
  i: instance,
  I: (ctx) => unescape(instance(ctx)),
  j: lastComponent,
  J: (ctx) => unescape(lastComponent(ctx)),
  f: (ctx) => {
    const inst = instanceOf(ctx.unitName);
    return inst ? pathUnescape(inst) : unitNameToPath(ctx.unitName);
  },
  y: realFragment,
  Y: (ctx) => path.posix.dirname(realFragment(ctx)),

  // deprecated cgroup specifiers
  c: (ctx) => {
    deprecated(ctx, 'c');
    if (ctx.unitName === '-.slice') return ctx.cgroupRoot ?? '';
    const slicePath = ctx.slice === undefined ? '' : sliceToPath(ctx.slice);
    return joinCgroup(ctx.cgroupRoot ?? '', slicePath, cgEscape(ctx.unitName));
  },
  r: (ctx) => {
    deprecated(ctx, 'r');
    if (ctx.slice === undefined || ctx.slice === '-.slice') return ctx.cgroupRoot ?? '';
    return joinCgroup(ctx.cgroupRoot ?? '', sliceToPath(ctx.slice));
  },
  R: (ctx) => {
    deprecated(ctx, 'R');
    return ctx.cgroupRoot ?? '';
  },

  // manager directories
  C: (ctx) => managerPrefix(ctx, 'cache'),
  d: (ctx) => `${managerPrefix(ctx, 'runtime')}/credentials/${ctx.unitName}`,
  E: (ctx) => managerPrefix(ctx, 'configuration'),
  L: (ctx) => managerPrefix(ctx, 'logs'),
  S: (ctx) => managerPrefix(ctx, 'state'),
  t: (ctx) => managerPrefix(ctx, 'runtime'),
  T: (ctx) => tmpDir(ctx, '/tmp'),
  V: (ctx) => tmpDir(ctx, '/var/tmp'),

  // the manager's user
  h: managerHome,
  s: managerShell,
  u: (ctx) => (ctx.scope === 'system' ? 'root' : ctx.host.currentUser().name),
  U: (ctx) => (ctx.scope === 'system' ? '0' : String(ctx.host.currentUser().uid)),
  g: (ctx) => (ctx.scope === 'system' ? 'root' : ctx.host.currentUser().group),
  G: (ctx) => (ctx.scope === 'system' ? '0' : String(ctx.host.currentUser().gid)),

  // the system
  a: (ctx) => ctx.host.architecture(),
  A: osField('IMAGE_VERSION'),
  b: (ctx) => ctx.host.bootId(),
  B: osField('BUILD_ID'),
  H: (ctx) => ctx.host.hostname(),
  l: (ctx) => shortHostname(ctx.host.hostname()),
  q: (ctx) => ctx.host.prettyHostname() ?? shortHostname(ctx.host.hostname()),
  m: (ctx) => ctx.host.machineId(),
  M: osField('IMAGE_ID'),
  o: osField('ID'),
  v: (ctx) => ctx.host.kernelRelease(),
  w: osField('VERSION_ID'),
  W: osField('VARIANT_ID'),
};

function shortHostname(h: string): string {
  const dot = h.indexOf('.');
  return dot >= 0 ? h.slice(0, dot) : h;
}

function isAlnum(c: string): boolean {
  return /^[A-Za-z0-9]$/.test(c);
}

/**
 * Expand `%x` specifiers in `text` for the unit in `ctx`.
 *
 * @param allowed the specifiers valid in this setting (default: UNIT_FULL_SPECIFIERS;
 *   use UNIT_NAME_SPECIFIERS where systemd calls unit_name_printf()).
 * @param maxLength maximum result length in bytes (default LONG_LINE_MAX).
 * @throws ValueError for an unknown specifier, a specifier that cannot be resolved
 *   (e.g. %f of an instance that is not a valid escaped path), or a result that is too long.
 */
export function expandSpecifiers(
  text: string,
  ctx: SpecifierContext,
  allowed: ReadonlySet<string> = UNIT_FULL_SPECIFIERS,
  maxLength: number = LONG_LINE_MAX,
): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) {
      // A stray '%' at the end is kept.
      out += '%';
      break;
    }
    i += 2;
    if (next === '%') {
      out += '%';
      continue;
    }
    const resolve = allowed.has(next) ? RESOLVERS[next] : undefined;
    if (resolve) {
      let value: string;
      try {
        value = resolve(ctx);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new ValueError(`Failed to resolve specifier '%${next}': ${why}`);
      }
      out += value;
    } else if (isAlnum(next)) {
      throw new ValueError(`Unknown specifier '%${next}'`);
    } else {
      // Not a possible specifier character: '%' and the character are kept as they are.
      out += '%' + next;
    }
  }
  if (Buffer.byteLength(out, 'utf8') > maxLength) {
    throw new ValueError(`Result of specifier expansion is longer than ${maxLength} bytes`);
  }
  return out;
}

/** specifier_escape(): make a string safe for inclusion where specifiers are expanded. */
export function escapeSpecifiers(s: string): string {
  return s.replaceAll('%', '%%');
}

// ---------------------------------------------------------------------------
// The real host

/** systemd architecture names by uname machine (src/basic/architecture.c). */
function architectureName(machine: string, little: boolean): string {
  const table: Record<string, string> = {
    x86_64: 'x86-64',
    i386: 'x86', i486: 'x86', i586: 'x86', i686: 'x86',
    aarch64: 'arm64', aarch64_be: 'arm64-be', arm64: 'arm64',
    ppc64le: 'ppc64-le', ppc64: 'ppc64', ppc: 'ppc', ppcle: 'ppc-le',
    s390x: 's390x', s390: 's390',
    riscv64: 'riscv64', riscv32: 'riscv32',
    loongarch64: 'loongarch64',
    sparc64: 'sparc64', sparc: 'sparc',
    ia64: 'ia64', alpha: 'alpha', parisc64: 'parisc64', parisc: 'parisc',
    sh64: 'sh64', sh: 'sh', m68k: 'm68k', tilegx: 'tilegx', cris: 'cris',
    arc: 'arc', arcb: 'arc-be',
  };
  const hit = table[machine];
  if (hit) return hit;
  if (machine.startsWith('mips64')) return little ? 'mips64-le' : 'mips64';
  if (machine.startsWith('mips')) return little ? 'mips-le' : 'mips';
  if (/^arm.*b$/.test(machine)) return 'arm-be';
  if (machine.startsWith('arm')) return 'arm';
  return machine;
}

/**
 * Parse an env-style file such as os-release or machine-info (parse_env_file()):
 * KEY=VALUE lines, '#' and ';' comments, single and double quotes, backslash escapes.
 */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const v = line.slice(eq + 1).trim();
    let value = '';
    let quote: string | undefined;
    for (let i = 0; i < v.length; i++) {
      const ch = v[i]!;
      if (quote === "'") {
        if (ch === "'") quote = undefined;
        else value += ch;
      } else if (quote === '"') {
        if (ch === '"') quote = undefined;
        else if (ch === '\\' && i + 1 < v.length && '"\\`$'.includes(v[i + 1]!)) value += v[++i];
        else value += ch;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && i + 1 < v.length) value += v[++i];
      else value += ch;
    }
    out.set(key, quote === undefined ? value.replace(/\s+$/, '') : value);
  }
  return out;
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function readId128(p: string, what: string): string {
  const t = readText(p);
  if (t === undefined) throw new ValueError(`${what} is not available (${p} cannot be read)`);
  const id = t.trim().replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id) || /^0+$/.test(id)) throw new ValueError(`${p} does not contain a valid ID`);
  return id;
}

function groupName(gid: number): string {
  if (gid === 0) return 'root';
  const t = readText('/etc/group');
  for (const line of t?.split('\n') ?? []) {
    const f = line.split(':');
    if (f.length >= 3 && f[2] === String(gid) && f[0]) return f[0];
  }
  return String(gid);
}

function once<T>(f: () => T): () => T {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  return () => {
    if (!done) {
      try {
        value = f();
      } catch (e) {
        error = e;
      }
      done = true;
    }
    if (error !== undefined) throw error;
    return value as T;
  };
}

let cachedHost: HostInfo | undefined;

/**
 * The real host. Each fact is read on first use and cached for the life of the
 * process (/etc/os-release, /etc/machine-id, … are read at most once).
 */
export function systemHostInfo(): HostInfo {
  if (cachedHost) return cachedHost;
  const osRelease = once(() => {
    const t = readText('/etc/os-release') ?? readText('/usr/lib/os-release');
    if (t === undefined) throw new ValueError('Neither /etc/os-release nor /usr/lib/os-release exists');
    return parseEnvFile(t) as ReadonlyMap<string, string>;
  });
  cachedHost = {
    hostname: once(() => {
      const h = os.hostname();
      return h === '' || h === '(none)' ? 'localhost' : h;
    }),
    prettyHostname: once(() => {
      const t = readText('/etc/machine-info');
      const v = t === undefined ? undefined : parseEnvFile(t).get('PRETTY_HOSTNAME');
      return v ? v : undefined;
    }),
    machineId: once(() => readId128('/etc/machine-id', 'Machine ID')),
    bootId: once(() => readId128('/proc/sys/kernel/random/boot_id', 'Boot ID')),
    kernelRelease: once(() => os.release()),
    architecture: once(() => architectureName(os.machine(), os.endianness() === 'LE')),
    osRelease,
    currentUser: once(() => {
      const u = os.userInfo();
      return {
        name: u.uid === 0 ? 'root' : u.username,
        uid: u.uid,
        gid: u.gid,
        group: groupName(u.gid),
        home: u.homedir,
        shell: u.shell ?? '',
      };
    }),
    rootShell: once(() => (fs.existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh')),
    env: process.env,
    realpath: (p) => {
      try {
        return fs.realpathSync(p);
      } catch (e) {
        throw new ValueError(`Cannot resolve ${p}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    isDirectory: (p) => {
      try {
        return fs.statSync(p).isDirectory();
      } catch {
        return false;
      }
    },
  };
  return cachedHost;
}
