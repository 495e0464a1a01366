/**
 * The file-system checks of src/shared/condition.c: PathIsMountPoint=, PathIsEncrypted=,
 * DirectoryNotEmpty= and NeedsUpdate= (the one-liners live in the table of conditions-checks.ts).
 */
import { type BigIntStats, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { booleanOrUndefined } from '../unit/values/bool.js';
import { parseEnvFileContents } from '../unit/envfile.js';
import type { ConditionContext } from './conditions.js';
import { exists, fsTypeAt, mountInfo, pathIsReadOnlyFs, readOneLine } from './conditions-system.js';
import { procCmdline } from './conditions-kernel.js';

const at = (ctx: ConditionContext, p: string): string => (ctx.root ? join(ctx.root, p) : p);

export function statOrUndefined(p: string, follow: boolean): ReturnType<typeof statSync> | undefined {
  try {
    return follow ? statSync(p) : lstatSync(p);
  } catch {
    return undefined;
  }
}

/** hidden_or_backup_file() (src/basic/path-util.c). */
function hiddenOrBackupFile(name: string): boolean {
  if (name.startsWith('.') || name === 'lost+found' || name === 'aquota.user' || name === 'aquota.group' || name.endsWith('~')) return true;
  const dot = name.lastIndexOf('.');
  if (dot < 0) return false;
  return [
    'ignore', 'rpmnew', 'rpmsave', 'rpmorig', 'dpkg-old', 'dpkg-new', 'dpkg-tmp', 'dpkg-dist', 'dpkg-bak', 'dpkg-backup',
    'dpkg-remove', 'ucf-new', 'ucf-old', 'ucf-dist', 'swp', 'bak', 'old', 'new',
  ].includes(name.slice(dot + 1));
}

export function needsUpdateTest(value: string, ctx: ConditionContext): boolean {
  for (const w of procCmdlineOrEmpty(ctx)) {
    const m = /^systemd\.condition_needs_update(?:=(.*))?$/.exec(w);
    if (m) {
      const b = m[1] === undefined ? true : booleanOrUndefined(m[1]);
      if (b !== undefined) return b;
    }
  }
  if (inInitrd(ctx)) return false;
  if (!value.startsWith('/')) return true;
  const path = at(ctx, value);
  if (pathIsReadOnlyFs(path) === true) return false;
  const updated = path.replace(/\/+$/, '') + '/.updated';
  let other: BigIntStats;
  let usr: BigIntStats;
  try {
    other = lstatSync(updated, { bigint: true });
    usr = lstatSync(at(ctx, '/usr/'), { bigint: true });
  } catch {
    return true;
  }
  const sec = (ns: bigint): bigint => ns / 1_000_000_000n;
  const nsec = (ns: bigint): bigint => ns % 1_000_000_000n;
  if (sec(usr.mtimeNs) !== sec(other.mtimeNs)) return sec(usr.mtimeNs) > sec(other.mtimeNs);
  if (nsec(usr.mtimeNs) === 0n || nsec(other.mtimeNs) > 0n) return nsec(usr.mtimeNs) > nsec(other.mtimeNs);
  // The file system keeps no nanoseconds for .updated: its TIMESTAMP_NSEC= line says when it was written.
  let stamp: string | undefined;
  try {
    stamp = parseEnvFileContents(readFileSync(updated), updated).vars.find(([k]) => k === 'TIMESTAMP_NSEC')?.[1];
  } catch {
    return true;
  }
  if (stamp === undefined || !/^[0-9]+$/.test(stamp)) return true;
  return usr.mtimeNs > BigInt(stamp);
}
function procCmdlineOrEmpty(ctx: ConditionContext): string[] {
  try {
    return procCmdline(ctx);
  } catch {
    return [];
  }
}

/** in_initrd(): $SYSTEMD_IN_INITRD, else /etc/initrd-release on a tmpfs/ramfs root. */
function inInitrd(ctx: ConditionContext): boolean {
  const e = ctx.managerEnv['SYSTEMD_IN_INITRD'];
  if (e !== undefined && e !== 'lenient') {
    const b = booleanOrUndefined(e);
    if (b !== undefined) return b;
  }
  const t = fsTypeAt('/');
  return exists('/etc/initrd-release') && (e === 'lenient' || t === 'tmpfs' || t === 'ramfs');
}

/** dir_is_empty(path, ignore_hidden_or_backup=true): errors other than ENOENT/ENOTDIR count as "not empty". */
export function directoryNotEmpty(p: string): boolean {
  try {
    return readdirSync(p).some((n) => !hiddenOrBackupFile(n));
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    return c !== 'ENOENT' && c !== 'ENOTDIR';
  }
}

/** path_is_mount_point(path, NULL, AT_SYMLINK_FOLLOW): the resolved path is a mount point in /proc/self/mountinfo. */
export function isMountPoint(p: string): boolean {
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    return false;
  }
  if (real === '/') return true;
  return mountInfo().some((m) => m.mountPoint === real);
}

/** path_is_encrypted(): the block device under the file system is dm-crypt, directly or through its slaves. */
export function isEncrypted(p: string): boolean {
  let dev: bigint;
  try {
    dev = statSync(p, { bigint: true }).dev;
  } catch {
    return false;
  }
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  if (major === 0n) return false;
  const walk = (sysdir: string, depth: number): boolean => {
    if (depth > 16) return false;
    if ((readOneLine(`${sysdir}/dm/uuid`) ?? '').startsWith('CRYPT-')) return true;
    let slaves: string[];
    try {
      slaves = readdirSync(`${sysdir}/slaves`);
    } catch {
      return false;
    }
    return slaves.some((s) => walk(`${sysdir}/slaves/${s}`, depth + 1));
  };
  return walk(`/sys/dev/block/${major}:${minor}`, 0);
}
