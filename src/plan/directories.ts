/**
 * Runtime/State/Cache/Logs/ConfigurationDirectory= and the credentials
 * directory, created by the supervisor (as root) before the service starts,
 * as systemd's setup_exec_directory() and setup_credentials() do:
 * - each directory under its base (/run, /var/lib, /var/cache, /var/log, /etc),
 *   with its mode (default 0755) and owned by the service user (except
 *   ConfigurationDirectory=);
 * - with DynamicUser=, state/cache/logs live under <base>/private/ (0700) and
 *   <base>/<name> is a symlink to it, so a recycled uid cannot reach old data;
 * - "PATH:LINK" also creates <base>/<LINK> → PATH;
 * - LoadCredential=/SetCredential= files land in /run/credentials/<unit>/,
 *   read-only for the service user.
 * Removal at stop: runtime directories unless RuntimeDirectoryPreserve=, and
 * the credentials directory.
 */
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { EXIT } from '../launch/exit-codes.js';
import type { ExecDirectory, Identity } from './context.js';
import { SetupError } from './process.js';
import type { ServiceView } from './service.js';

const BASES: Record<ExecDirectory['kind'], string> = {
  runtime: '/run',
  state: '/var/lib',
  cache: '/var/cache',
  logs: '/var/log',
  configuration: '/etc',
};
const EXIT_FOR: Record<ExecDirectory['kind'], number> = {
  runtime: 233, // EXIT_RUNTIME_DIRECTORY
  state: 238, // EXIT_STATE_DIRECTORY
  cache: 239, // EXIT_CACHE_DIRECTORY
  logs: 240, // EXIT_LOGS_DIRECTORY
  configuration: 241, // EXIT_CONFIGURATION_DIRECTORY
};

export interface PreparedDirectories {
  readonly dirs: ExecDirectory[];
  /** Paths to remove when the service stops. */
  readonly removeAtStop: string[];
}

function mkdirParents(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
}

/** "a\\:b:c" → ["a:b", "c"]: the model keeps systemd's "\\:" escape for a literal colon. */
function splitEntry(entry: string): { rel: string; link: string | undefined } {
  const parts: string[] = [''];
  for (let i = 0; i < entry.length; i++) {
    if (entry[i] === '\\' && entry[i + 1] === ':') {
      parts[parts.length - 1] += ':';
      i++;
    } else if (entry[i] === ':') parts.push('');
    else parts[parts.length - 1] += entry[i];
  }
  return { rel: parts[0]!, link: parts[1] };
}

/**
 * Whether a kind lives under <base>/private/ (exec_directory_is_private()):
 * only with DynamicUser=, never ConfigurationDirectory=, and RuntimeDirectory=
 * only when preserved (otherwise it is removed at stop anyway).
 */
function isPrivate(kind: ExecDirectory['kind'], dynamic: boolean, preserve: boolean): boolean {
  if (!dynamic || kind === 'configuration') return false;
  return kind !== 'runtime' || preserve;
}

/** chown -R, as systemd does when a directory's owner is not the service user (a new dynamic uid). */
function chownTree(path: string, uid: number, gid: number): void {
  const st = lstatSync(path);
  if (st.uid === uid && st.gid === gid) return;
  const walk = (p: string): void => {
    const s = lstatSync(p);
    lchownSync(p, uid, gid);
    if (s.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(path);
}

function isSymlink(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
}

/** Replaces whatever is at linkPath by a relative symlink to target. */
function symlinkRelative(target: string, linkPath: string): void {
  mkdirParents(linkPath);
  const rel = relative(dirname(linkPath), target);
  const st = lstatSync(linkPath, { throwIfNoEntry: false });
  if (st?.isSymbolicLink() && readlinkSync(linkPath) === rel) return;
  if (st) rmSync(linkPath, { recursive: st.isSymbolicLink() ? false : true, force: true });
  symlinkSync(rel, linkPath);
}

/**
 * systemd's setup_exec_directory(): entries sorted, an entry below another one
 * only created (inside its parent, no symlink of its own), private/ with its
 * symlink for DynamicUser=, migration of a plain directory into private/ (and
 * back when DynamicUser= is turned off), ownership fixed recursively.
 */
export function prepareExecDirectories(svc: ServiceView, identity: Identity | undefined, root = ''): PreparedDirectories {
  const dirs: ExecDirectory[] = [];
  const removeAtStop: string[] = [];
  const dynamic = identity?.dynamic === true;
  for (const kind of Object.keys(BASES) as ExecDirectory['kind'][]) {
    const field = `directories.${kind}`;
    const entries = (svc.strings(`${field}.paths`) ?? []).map(splitEntry);
    if (entries.length === 0) continue;
    // exec_directory_sort(): by path; a child of another entry is only created.
    entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    const modeValue = svc.scalar(`${field}.mode`);
    const mode = modeValue === undefined ? 0o755 : typeof modeValue === 'number' ? modeValue : parseInt(modeValue, 8);
    const preserveValue = svc.value(`${field}.preserve`);
    const preserve = preserveValue === true || preserveValue === 'yes' || preserveValue === 'restart';
    const base = root + BASES[kind];
    const priv = isPrivate(kind, dynamic, preserve);
    const seen = new Set<string>();
    for (const { rel, link } of entries) {
      const onlyCreate = [...seen].some((other) => rel.startsWith(`${other}/`));
      const visible = join(base, rel);
      const host = priv ? join(base, 'private', rel) : visible;
      try {
        if (priv) {
          mkdirSync(join(base, 'private'), { recursive: true, mode: 0o700 });
          chmodSync(join(base, 'private'), 0o700);
          // A plain directory from before DynamicUser= was set is migrated into private/.
          if (!onlyCreate && existsSync(visible) && !isSymlink(visible) && !existsSync(host)) {
            mkdirParents(host);
            renameSync(visible, host);
          }
        } else if (isSymlink(visible)) {
          // No longer private (DynamicUser= off, or no longer preserved): move the data back from private/.
          const old = join(base, 'private', rel);
          if (existsSync(old)) {
            rmSync(visible);
            renameSync(old, visible);
          }
        }
        mkdirParents(host);
        mkdirSync(host, { recursive: true, mode });
        chmodSync(host, mode);
        if (identity && kind !== 'configuration') chownTree(host, identity.uid, identity.gid);
        if (priv && !onlyCreate) symlinkRelative(host, visible);
        if (link !== undefined) {
          // The link sits beside the directory's visible path; inside private/ when that is where it resolves.
          const linkPath = join(base, link);
          const linkHost = priv && [...seen, rel].some((o) => link.startsWith(`${o}/`)) ? join(base, 'private', link) : linkPath;
          symlinkRelative(host, linkHost);
        }
      } catch (e) {
        throw new SetupError(`${field}.paths`, svc.source(`${field}.paths`), EXIT_FOR[kind], `cannot set up ${visible}: ${(e as Error).message}`);
      }
      seen.add(rel);
      dirs.push({ kind, hostPath: host, path: visible.slice(root.length) || '/' });
      if (kind === 'runtime' && !preserve) {
        removeAtStop.push(visible);
        if (link) removeAtStop.push(join(base, link));
      }
    }
  }
  return { dirs, removeAtStop };
}

const CREDSTORES = ['/etc/credstore', '/run/credstore', '/usr/lib/credstore'];

/** Creates /run/credentials/<unit>/ with LoadCredential=/SetCredential= files; returns its path or undefined. */
export function prepareCredentials(svc: ServiceView, identity: Identity | undefined, runRoot = '/run'): string | undefined {
  const load = (svc.list('credentials.load') ?? []) as Array<{ id: string; path?: string }>;
  const set = (svc.list('credentials.set') ?? []) as Array<{ id: string; data: string }>;
  if (load.length === 0 && set.length === 0) return undefined;
  const dir = join(runRoot, 'credentials', svc.unitName);
  const files = new Map<string, Buffer>();
  for (const s of set) files.set(s.id, Buffer.from(s.data, 'utf8'));
  for (const l of load) {
    const candidates = l.path?.startsWith('/') ? [l.path] : CREDSTORES.map((d) => join(d, l.path ?? l.id));
    let found: Buffer | undefined;
    for (const c of candidates) {
      try {
        found = readFileSync(c);
        break;
      } catch {
        /* next store */
      }
    }
    if (found) files.set(l.id, found);
    else if (l.path?.startsWith('/') && !files.has(l.id)) {
      throw new SetupError('credentials.load', svc.source('credentials.load'), EXIT.CREDENTIALS, `LoadCredential=${l.id}:${l.path}: cannot read the file`);
    }
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [id, data] of files) writeFileSync(join(dir, id), data, { mode: 0o400 });
    if (identity) {
      for (const id of files.keys()) chownSync(join(dir, id), identity.uid, identity.gid);
      chownSync(dir, identity.uid, identity.gid);
    }
    chmodSync(dir, 0o500);
  } catch (e) {
    throw new SetupError('credentials', svc.source('credentials'), EXIT.CREDENTIALS, `cannot set up ${dir}: ${(e as Error).message}`);
  }
  return dir;
}

/** Removes what a service left to remove at stop; best effort (the next start recreates what it needs). */
export function removePaths(paths: readonly string[]): void {
  for (const p of paths) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      /* busy or gone: nothing more to do */
    }
  }
}
