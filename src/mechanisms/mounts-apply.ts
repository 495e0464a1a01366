/**
 * First round of apply_mounts(): one child-side action per mount entry
 * (systemd's apply_one_mount()), over paths in the staging tree. Bind
 * sources are host paths: they resolve in the old root, which the staging
 * tree does not change.
 */
import { readFileSync } from 'node:fs';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_REC } from '../sys/constants.js';
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  STATX_ATTR_MOUNT_ROOT,
  STATX_MODE,
  STATX_OFF_ATTRIBUTES,
  STATX_OFF_ATTRIBUTES_MASK,
  STATX_OFF_MODE,
  STATX_SIZE,
  STATX_TYPE,
} from '../sys/constants-mounts.js';
import { cZero } from '../sys/cmem.js';
import { mkdir, mknod, mount, statx } from '../sys/libc-mounts.js';
import { fail, type ChildFn } from '../launch/child.js';
import { compilePrivateDev } from './mounts-dev.js';
import { MODE, type MountEntry, type MountNamespaceSpec } from './mounts-types.js';

const ENOENT = 2;
const EBUSY = 16;
const EEXIST = 17;
const ELOOP = 40;

export const INACCESSIBLE_KINDS = ['dir', 'reg', 'chr', 'blk', 'fifo', 'sock'] as const;
export type InaccessibleNodes = Record<(typeof INACCESSIBLE_KINDS)[number], Buffer>;

/** What every entry's action shares (built once per compiled namespace). */
export interface ApplyEnv {
  readonly spec: MountNamespaceSpec;
  /** A kept C string. */
  readonly c: (s: string) => Buffer;
  /** Path inside the service's root → path in the staging tree. */
  readonly at: (rel: string) => string;
  readonly keep: (b: Buffer) => Buffer;
  readonly inaccessible: InaccessibleNodes;
  /** [0] = 1 when the 0:0 device nodes could be created (not in a user namespace). */
  readonly haveDevNodes: Int32Array;
  /** Per entry: 1 when the first round skipped it (a missing "-" path), so later rounds skip it too. */
  readonly skipped: Uint8Array;
  readonly fs: ChildFs;
}

export interface ChildFs {
  /** lstat/stat through statx: the st_mode, or -errno. */
  modeOf(path: Buffer, follow: boolean): number;
  /** path_is_mount_point(): 1, 0 or -errno. */
  isMountPoint(path: Buffer): number;
  /** mkdir 0755 of each, errors ignored (mkdir_parents()). */
  mkdirAll(dirs: readonly Buffer[]): void;
}

export function childFs(keep: (b: Buffer) => Buffer): ChildFs {
  const stx = keep(cZero(STATX_SIZE));
  return {
    modeOf: (path, follow) => {
      if (statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE, stx) < 0) return -fail();
      return stx.readUInt16LE(STATX_OFF_MODE);
    },
    isMountPoint: (path) => {
      if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, stx) < 0) return -fail();
      if ((stx.readUInt16LE(STATX_OFF_ATTRIBUTES_MASK) & STATX_ATTR_MOUNT_ROOT) === 0) return -ELOOP; // kernel < 5.8: unsupported
      return (stx.readUInt16LE(STATX_OFF_ATTRIBUTES) & STATX_ATTR_MOUNT_ROOT) !== 0 ? 1 : 0;
    },
    mkdirAll: (dirs) => {
      for (let i = 0; i < dirs.length; i++) mkdir(dirs[i]!, 0o755);
    },
  };
}

/** Parents of `rel` below the root, shallowest first: "/a/b/c" → ["/a", "/a/b"]. */
function parentsOf(rel: string): string[] {
  const parts = rel.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

/** Mount points directly below `top` in this process's mount table (the zygote's: the host's). */
function hostSubmounts(top: string): string[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const rows = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .map((f) => ({ id: f[0]!, parent: f[1]!, point: unescape(f[4]!) }));
  const tops = new Set(rows.filter((r) => r.point === top).map((r) => r.id));
  return [...new Set(rows.filter((r) => tops.has(r.parent) && r.point !== top && r.point.startsWith(`${top}/`)).map((r) => r.point))];
}

/** Compiles entry `i`'s first-round action. */
export function compileApply(e: MountEntry, i: number, env: ApplyEnv): ChildFn {
  const { spec, c, at, keep, inaccessible, haveDevNodes, skipped } = env;
  const { modeOf, isMountPoint, mkdirAll } = env.fs;
  const path = c(at(e.path));
  const parents = parentsOf(e.path).map((p) => c(at(p)));
  const ignore = e.ignore;
  const skip = (): number => {
    skipped[i] = 1;
    return 0;
  };
  let apply: ChildFn;
  switch (e.mode) {
    case MODE.inaccessible:
      apply = () => {
        const m = modeOf(path, false);
        if (m < 0) return -m === ENOENT && ignore ? skip() : -m;
        const t = m & S_IFMT;
        const node =
          t === S_IFDIR ? inaccessible.dir
          : t === S_IFREG ? inaccessible.reg
          : t === S_IFIFO ? inaccessible.fifo
          : t === S_IFSOCK ? inaccessible.sock
          : t === S_IFCHR ? (haveDevNodes[0] === 1 ? inaccessible.chr : inaccessible.sock)
          : t === S_IFBLK ? (haveDevNodes[0] === 1 ? inaccessible.blk : inaccessible.sock)
          : null;
        if (node === null) return ELOOP; // a symlink: systemd refuses too
        return mount(node, path, null, MS_BIND, null) < 0 ? fail() : 0;
      };
      break;
    case MODE.readOnly:
    case MODE.readWrite:
    case MODE.readWriteImplicit:
    case MODE.exec:
    case MODE.noExec:
      // Make it a mount point (a bind onto itself) so its attributes can change separately.
      apply = () => {
        const r = isMountPoint(path);
        if (r < 0) return -r === ENOENT && ignore ? skip() : -r;
        if (r === 1) return 0;
        return mount(path, path, null, MS_BIND | MS_REC, null) < 0 ? fail() : 0;
      };
      break;
    case MODE.bind:
    case MODE.rbind:
    case MODE.privateTmp:
    case MODE.privateTmpReadOnly: {
      const source = c(e.source!);
      const flags = MS_BIND | (e.mode === MODE.bind ? 0 : MS_REC);
      apply = () => {
        if (mount(source, path, null, flags, null) >= 0) return 0;
        const err = fail();
        if (err !== ENOENT) return err;
        // Either end is missing: a missing source is fine with "-"; a missing mount point is created.
        const sm = modeOf(source, true);
        if (sm < 0) return -sm === ENOENT && ignore ? skip() : -sm;
        mkdirAll(parents);
        const made = (sm & S_IFMT) === S_IFDIR ? mkdir(path, 0o755) : mknod(path, S_IFREG | 0o755, 0);
        if (made < 0) {
          const me = fail();
          if (me !== EEXIST) return me;
        }
        return mount(source, path, null, flags, null) < 0 ? fail() : 0;
      };
      break;
    }
    case MODE.tmpfs:
    case MODE.emptyDir:
    case MODE.run: {
      const fstype = c('tmpfs');
      const data = c(e.options ?? '');
      const flags = e.flags ?? 0;
      const onlyIfNotMounted = e.mode === MODE.run;
      apply = () => {
        if (onlyIfNotMounted && isMountPoint(path) === 1) return 0;
        mkdirAll(parents);
        mkdir(path, 0o755);
        return mount(fstype, path, fstype, flags, data) < 0 ? fail() : 0;
      };
      break;
    }
    case MODE.privateDev: {
      const fstype = c('tmpfs');
      const dev = compilePrivateDev(at(e.path), keep);
      const data = c(dev.options);
      const flags = e.flags ?? 0;
      apply = () => {
        mkdirAll(parents);
        mkdir(path, 0o755);
        if (mount(fstype, path, fstype, flags, data) < 0) return fail();
        return dev.populate();
      };
      break;
    }
    case MODE.bindDev:
    case MODE.sysfs: {
      // MountAPIVFS=: the host's /dev or /sys, unless something is mounted there already.
      const source = c(e.mode === MODE.sysfs ? '/sys' : '/dev');
      apply = () => {
        mkdirAll(parents);
        mkdir(path, 0o755);
        const r = isMountPoint(path);
        if (r < 0) return -r;
        if (r === 1) return 0;
        return mount(source, path, null, MS_BIND | MS_REC, null) < 0 ? fail() : 0;
      };
      break;
    }
    case MODE.privateSysfs: {
      // mount_private_apivfs(): a new sysfs instance (it shows the service's network namespace),
      // then the host's submounts of /sys (cgroup, debugfs, …) bound back on top of it.
      const fstype = c('sysfs');
      const subs = hostSubmounts('/sys').map((m) => [c(m), c(at(m))] as const);
      apply = () => {
        mkdirAll(parents);
        mkdir(path, 0o755);
        if (mount(fstype, path, fstype, MS_NOSUID | MS_NOEXEC | MS_NODEV, null) < 0) {
          const err = fail();
          // EBUSY: the very instance is mounted there already (NetworkNamespacePath= naming our own
          // namespace): /sys shows the right network namespace as it is.
          return err === EBUSY ? 0 : err;
        }
        for (let k = 0; k < subs.length; k++) mount(subs[k]![0], subs[k]![1], null, MS_BIND | MS_REC, null);
        return 0;
      };
      break;
    }
    case MODE.procfs: {
      // A new procfs instance (it matches the service's pid namespace) with ProtectProc=/ProcSubset=.
      const hide = spec.protectProc ?? (spec.procSubset === 'pid' ? 'off' : undefined);
      const opts = [hide !== undefined ? `hidepid=${hide}` : '', spec.procSubset === 'pid' ? 'subset=pid' : ''].filter(Boolean).join(',');
      const fstype = c('proc');
      const data = opts ? c(opts) : null;
      const hostProc = c('/proc');
      const EPERM = 1;
      apply = () => {
        mkdirAll(parents);
        mkdir(path, 0o755);
        if (mount(fstype, path, fstype, MS_NOSUID | MS_NOEXEC | MS_NODEV, data) >= 0) return 0;
        const err = fail();
        // Without the privilege for a new instance (a user namespace without its own pid
        // namespace), systemd keeps the host's /proc. Not when hidepid=/subset= were asked for:
        // those would silently be lost.
        if (err !== EPERM || data !== null) return err;
        const r = isMountPoint(path);
        if (r === 1) return 0;
        return mount(hostProc, path, null, MS_BIND | MS_REC, null) < 0 ? fail() : 0;
      };
      break;
    }
    case MODE.mqueue: {
      const fstype = c('mqueue');
      const flags = e.flags ?? 0;
      apply = () => {
        mkdirAll(parents);
        mkdir(path, 0o755);
        return mount(fstype, path, fstype, flags, null) < 0 ? fail() : 0;
      };
      break;
    }
    default:
      throw new Error(`mount mode ${String(e.mode)} has no implementation`);
  }
  return apply;
}
