/**
 * Path and option helpers of the mount list (parent side): systemd's
 * path_simplify(), path_startswith(), path_compare(), chase_symlinks() inside a
 * root, and mount_option_mangle().
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { MS_DIRSYNC, MS_LAZYTIME, MS_MANDLOCK, MS_NOATIME, MS_NODIRATIME, MS_NOSYMFOLLOW, MS_RELATIME, MS_SILENT, MS_STRICTATIME, MS_SYNCHRONOUS } from '../sys/constants-mounts.js';
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../sys/constants.js';
import { MountTableError } from './mounts-types.js';

/** path_simplify(): no duplicate slashes, no "." components, no trailing slash. ".." is refused. */
export function normalizePath(p: string, what: string): string {
  if (!p.startsWith('/')) throw new MountTableError(what, `not an absolute path: ${JSON.stringify(p)}`);
  if (p.includes('\0')) throw new MountTableError(what, 'path contains a NUL byte');
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new MountTableError(what, `path is not normalized: ${JSON.stringify(p)}`);
  return `/${parts.join('/')}`;
}

/** path_startswith() as a predicate: p equals prefix or lies below it. */
export function isBelowOrEqual(p: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return p === prefix || p.startsWith(`${prefix}/`);
}

/** path_compare(): component by component, bytewise, so a parent sorts right before its children. */
export function comparePaths(a: string, b: string): number {
  const ca = a.split('/').filter(Boolean);
  const cb = b.split('/').filter(Boolean);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = Buffer.compare(Buffer.from(ca[i]!), Buffer.from(cb[i]!));
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/** The known mount(2) flags of mount_option_mangle() (libmount's option map): [name, set, clear]. */
const MOUNT_FLAG_OPTIONS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['ro', [MS_RDONLY, 0]],
  ['rw', [0, MS_RDONLY]],
  ['nosuid', [MS_NOSUID, 0]],
  ['suid', [0, MS_NOSUID]],
  ['nodev', [MS_NODEV, 0]],
  ['dev', [0, MS_NODEV]],
  ['noexec', [MS_NOEXEC, 0]],
  ['exec', [0, MS_NOEXEC]],
  ['sync', [MS_SYNCHRONOUS, 0]],
  ['async', [0, MS_SYNCHRONOUS]],
  ['dirsync', [MS_DIRSYNC, 0]],
  ['mand', [MS_MANDLOCK, 0]],
  ['nomand', [0, MS_MANDLOCK]],
  ['noatime', [MS_NOATIME, 0]],
  ['atime', [0, MS_NOATIME]],
  ['nodiratime', [MS_NODIRATIME, 0]],
  ['diratime', [0, MS_NODIRATIME]],
  ['relatime', [MS_RELATIME, 0]],
  ['norelatime', [0, MS_RELATIME]],
  ['strictatime', [MS_STRICTATIME, 0]],
  ['nostrictatime', [0, MS_STRICTATIME]],
  ['lazytime', [MS_LAZYTIME, 0]],
  ['nolazytime', [0, MS_LAZYTIME]],
  ['silent', [MS_SILENT, 0]],
  ['loud', [0, MS_SILENT]],
  ['nosymfollow', [MS_NOSYMFOLLOW, 0]],
]);

/** mount_option_mangle(): splits "a,b=c,ro" into mount(2) flags and the file-system data string. */
export function mangleMountOptions(options: string, initialFlags: number, what: string): { flags: number; data: string } {
  let flags = initialFlags;
  const data: string[] = [];
  for (const word of options.split(',')) {
    if (word === '') continue;
    const known = MOUNT_FLAG_OPTIONS.get(word);
    if (known) flags = (flags | known[0]) & ~known[1];
    else if (word.includes('\0')) throw new MountTableError(what, 'mount option contains a NUL byte');
    else data.push(word);
  }
  return { flags, data: data.join(',') };
}

/**
 * Maximum symlink hops while resolving one path (CHASE_SYMLINKS_MAX).
 */
const MAX_HOPS = 32;

/**
 * chase_symlinks(path, root, CHASE_NONEXISTENT): resolves the existing part of
 * `path` inside `root` (absolute links restart at the root, ".." never leaves
 * it); the missing rest is kept as written.
 */
export function resolveInRoot(path: string, root: string): string {
  const rootPrefix = root === '/' ? '' : root;
  let todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = `${rootPrefix}/${[...done, c].join('/')}`;
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return `/${[...done, c, ...todo].join('/')}`;
    }
    if (!st.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++hops > MAX_HOPS) throw new MountTableError(path, 'too many levels of symbolic links');
    const target = readlinkSync(host, 'utf8');
    const parts = target.split('/').filter(Boolean);
    if (target.startsWith('/')) done.length = 0;
    todo = [...parts, ...todo];
  }
  return `/${done.join('/')}`;
}
