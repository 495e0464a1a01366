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
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

export function prepareExecDirectories(svc: ServiceView, identity: Identity | undefined, root = ''): PreparedDirectories {
  const dirs: ExecDirectory[] = [];
  const removeAtStop: string[] = [];
  const dynamic = identity?.dynamic === true;
  for (const kind of Object.keys(BASES) as ExecDirectory['kind'][]) {
    const field = `directories.${kind}`;
    const paths = svc.strings(`${field}.paths`) ?? [];
    if (paths.length === 0) continue;
    const modeValue = svc.scalar(`${field}.mode`);
    const mode = modeValue === undefined ? 0o755 : typeof modeValue === 'number' ? modeValue : parseInt(modeValue, 8);
    const base = root + BASES[kind];
    const usePrivate = dynamic && kind !== 'runtime' && kind !== 'configuration';
    for (const entry of paths) {
      const [rel, link] = entry.split(':') as [string, string | undefined];
      const visible = join(base, rel);
      const host = usePrivate ? join(base, 'private', rel) : visible;
      try {
        if (usePrivate) {
          mkdirSync(join(base, 'private'), { recursive: true, mode: 0o700 });
          chmodSync(join(base, 'private'), 0o700);
          // A plain directory from before DynamicUser= was set is migrated into private/.
          if (existsSync(visible) && !lstatSync(visible).isSymbolicLink() && !existsSync(host)) {
            mkdirParents(host);
            rmSync(host, { force: true, recursive: true });
            renameSync(visible, host);
          }
        }
        mkdirParents(host);
        mkdirSync(host, { recursive: true, mode });
        chmodSync(host, mode);
        if (identity && kind !== 'configuration') chownSync(host, identity.uid, identity.gid);
        if (usePrivate) {
          mkdirParents(visible);
          if (lstatSync(visible, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(visible);
          symlinkSync(join('private', rel), visible);
        }
        if (link) {
          const linkPath = join(base, link);
          mkdirParents(linkPath);
          if (lstatSync(linkPath, { throwIfNoEntry: false })) rmSync(linkPath, { recursive: false, force: true });
          symlinkSync(visible, linkPath);
          if (identity) lchownSync(linkPath, identity.uid, identity.gid);
        }
      } catch (e) {
        throw new SetupError(`${field}.paths`, svc.source(`${field}.paths`), EXIT_FOR[kind], `cannot set up ${visible}: ${(e as Error).message}`);
      }
      dirs.push({ kind, hostPath: host, path: visible.slice(root.length) || '/' });
      if (kind === 'runtime' && svc.value(`${field}.preserve`) !== true && svc.value(`${field}.preserve`) !== 'yes') {
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

export function removePaths(paths: readonly string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}
