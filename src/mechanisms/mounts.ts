/**
 * The mount namespace, natively: systemd's setup_namespace() and
 * apply_mounts() (src/core/namespace.c) as a compiled list of child-side
 * actions.
 *
 * Child sequence (all paths precomputed in the parent):
 *  1. umask(0) (the service's UMask= must not shape the nodes and mount
 *     points created here), unshare(CLONE_NEWNS), / made a recursive slave:
 *     nothing mounted from here on reaches the host.
 *  2. open_tree(root, OPEN_TREE_CLONE|AT_RECURSIVE): a detached copy of the
 *     host tree (or RootDirectory=), taken before anything changes.
 *  3. A small tmpfs on the staging directory (a host directory nobody
 *     uses); in it the clone is attached at <staging>/root and the
 *     "inaccessible" nodes are created (systemd's /run/systemd/inaccessible:
 *     a 0000 dir, file, fifo, socket, char and block device).
 *     The service's tree is built at <staging>/root while bind sources still
 *     resolve in the untouched old root, as systemd does with
 *     /run/systemd/unit-root.
 *  4. The sorted entries are applied (first round), then the read-only,
 *     noexec and nosuid rounds flip attributes (mounts-remount.ts).
 *  5. <staging>/root is moved onto / and chrooted into; / gets the
 *     MountFlags= propagation (shared by default, which cannot reconnect to
 *     the host: the copies are slaves of it).
 * Everything happens in the child's namespace: the host sees no change
 * except directories systemd would create too (missing bind mount points).
 */
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AT_FDCWD,
  AT_RECURSIVE,
  AT_SYMLINK_NOFOLLOW,
  CLONE_NEWNS,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  MOVE_MOUNT_F_EMPTY_PATH,
  MS_BIND,
  MS_MOVE,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_REC,
  MS_SHARED,
  MS_SLAVE,
  O_CLOEXEC,
  OPEN_TREE_CLONE,
} from '../sys/constants.js';
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
import { cString, cZero } from '../sys/cmem.js';
import { chdir, close, umask, unshare } from '../sys/libc.js';
import { chroot, mkdir, mknod, mount, move_mount, open_tree, statx } from '../sys/libc-mounts.js';
import { fail, type ChildFn } from '../launch/child.js';
import { compilePrivateDev } from './mounts-dev.js';
import { failure, STAGE, type FailureStage } from './mounts-failure.js';
import { compileRemount, mountinfoHandle } from './mounts-remount.js';
import { buildMountTable, entryExec, entryNoExec, entryReadOnly, isBelowOrEqual, MODE, type MountEntry, type MountNamespaceSpec } from './mounts-table.js';

const ENOENT = 2;
const EEXIST = 17;
const EBUSY = 16;
const ELOOP = 40;

/** Default staging directory on the host (created by the parent, mode 0700; only ever a mount point). */
export const DEFAULT_STAGING = '/run/sysg/mount-staging';

const INACCESSIBLE_KINDS = ['dir', 'reg', 'chr', 'blk', 'fifo', 'sock'] as const;

export interface CompiledNamespace {
  readonly run: ChildFn;
  /** The sorted, pruned mount list (for messages and tests). */
  readonly entries: readonly MountEntry[];
}

/** Parents of `rel` below the root, shallowest first: "/a/b/c" → ["/a", "/a/b"]. */
function parentsOf(rel: string): string[] {
  const parts = rel.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

/**
 * Parent side: builds the mount table and compiles it. `staging` must be an
 * existing directory or creatable (it is created 0700 here).
 */
export function compileMountNamespace(spec: MountNamespaceSpec, staging: string, keep: (b: Buffer) => Buffer): CompiledNamespace {
  const entries = buildMountTable(spec);
  prepareStaging(staging);
  const c = (s: string): Buffer => keep(cString(s));
  const rootDir = `${staging}/root`;
  const inaccDir = `${staging}/inaccessible`;
  const at = (rel: string): string => (rel === '/' ? rootDir : rootDir + rel);

  const stx = keep(cZero(STATX_SIZE));
  /** lstat/stat through statx: the st_mode, or -errno. */
  const modeOf = (path: Buffer, follow: boolean): number => {
    if (statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE, stx) < 0) return -fail();
    return stx.readUInt16LE(STATX_OFF_MODE);
  };
  /** path_is_mount_point(): 1, 0 or -errno. */
  const isMountPoint = (path: Buffer): number => {
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, stx) < 0) return -fail();
    if ((stx.readUInt16LE(STATX_OFF_ATTRIBUTES_MASK) & STATX_ATTR_MOUNT_ROOT) === 0) return -ELOOP; // kernel < 5.8: unsupported
    return (stx.readUInt16LE(STATX_OFF_ATTRIBUTES) & STATX_ATTR_MOUNT_ROOT) !== 0 ? 1 : 0;
  };
  const mkdirAll = (dirs: readonly Buffer[]): void => {
    for (let i = 0; i < dirs.length; i++) mkdir(dirs[i]!, 0o755);
  };

  const n = entries.length;
  /** Per entry: 1 when the first round skipped it (a missing "-" path), so later rounds skip it too. */
  const skipped = new Uint8Array(n);
  const applies: ChildFn[] = [];
  const roRound: (ChildFn | null)[] = [];
  const noexecRound: (ChildFn | null)[] = [];
  const nosuidRound: (ChildFn | null)[] = [];
  const info = mountinfoHandle();

  const inaccessible: Record<(typeof INACCESSIBLE_KINDS)[number], Buffer> = {
    dir: c(`${inaccDir}/dir`),
    reg: c(`${inaccDir}/reg`),
    chr: c(`${inaccDir}/chr`),
    blk: c(`${inaccDir}/blk`),
    fifo: c(`${inaccDir}/fifo`),
    sock: c(`${inaccDir}/sock`),
  };
  /** [0] = 1 when the 0:0 device nodes could be created (not in a user namespace). */
  const haveDevNodes = new Int32Array(1);

  entries.forEach((e, i) => {
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
    applies.push(apply);

    // Second round: read-only (and an entry's own nosuid), as make_read_only().
    const below = entries.filter((o) => o !== e && o.path !== e.path && isBelowOrEqual(o.path, e.path)).map((o) => at(o.path));
    const ro = entryReadOnly(e);
    const roSet = (ro || e.mode === MODE.privateDev ? MOUNT_ATTR_RDONLY : 0) | (e.nosuid ? MOUNT_ATTR_NOSUID : 0);
    const roSubmounts = ro && e.mode !== MODE.emptyDir && e.mode !== MODE.tmpfs;
    roRound.push(roSet === 0 ? null : compileRemount({ path: at(e.path), exclude: below, set: roSet, clear: 0, recursive: roSubmounts, ignoreMissing: ignore }, info, keep));

    // Third round: noexec/exec, as make_noexec().
    const submounts = e.mode !== MODE.emptyDir && e.mode !== MODE.tmpfs;
    const noexec = entryNoExec(e);
    const exec = !noexec && entryExec(e);
    noexecRound.push(
      noexec || exec
        ? compileRemount({ path: at(e.path), exclude: below, set: noexec ? MOUNT_ATTR_NOEXEC : 0, clear: exec ? MOUNT_ATTR_NOEXEC : 0, recursive: submounts, ignoreMissing: ignore }, info, keep)
        : null,
    );

    // Fourth round: NoNewPrivileges= makes every entry nosuid, without exclusions (make_nosuid()).
    nosuidRound.push(spec.nosuid ? compileRemount({ path: at(e.path), exclude: [], set: MOUNT_ATTR_NOSUID, clear: 0, recursive: submounts, ignoreMissing: ignore }, info, keep) : null);
  });

  const needInaccessible = entries.some((e) => e.mode === MODE.inaccessible);
  const stagingC = c(staging);
  const rootC = c(rootDir);
  const inaccC = c(inaccDir);
  const slash = c('/');
  const dot = c('.');
  const empty = c('');
  const tmpfsC = c('tmpfs');
  const stagingOpts = c('mode=0700,size=4m,nr_inodes=1k');
  const treeSource = c(spec.rootDirectory ?? '/');
  const propagation = { shared: MS_SHARED, slave: MS_SLAVE, private: MS_PRIVATE }[spec.propagation ?? 'shared'];
  const scratch = new Int32Array(2); // [0] saved umask, [1] clone fd
  const fail2 = (stage: FailureStage, index: number, err: number): number => failure.record(stage, index, err);

  const setup = (): number => {
    if (unshare(CLONE_NEWNS) < 0) return fail2(STAGE['unshare'], -1, fail());
    if (mount(null, slash, null, MS_SLAVE | MS_REC, null) < 0) return fail2(STAGE['slave'], -1, fail());
    const tree = open_tree(AT_FDCWD, treeSource, OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
    if (tree < 0) return fail2(STAGE['clone'], -1, fail());
    scratch[1] = tree;
    if (mount(tmpfsC, stagingC, tmpfsC, MS_NOSUID | MS_NODEV, stagingOpts) < 0) return fail2(STAGE['staging'], -1, fail());
    if (mkdir(rootC, 0o755) < 0) return fail2(STAGE['staging'], -1, fail());
    if (move_mount(tree, empty, AT_FDCWD, rootC, MOVE_MOUNT_F_EMPTY_PATH) < 0) return fail2(STAGE['clone'], -1, fail());
    close(tree);
    scratch[1] = -1;
    if (needInaccessible) {
      if (mkdir(inaccC, 0o755) < 0) return fail2(STAGE['staging'], -1, fail());
      // Mode 0000 nodes of every type, bound over inaccessible paths of the same type.
      if (mkdir(inaccessible.dir, 0) < 0 || mknod(inaccessible.reg, S_IFREG, 0) < 0 || mknod(inaccessible.fifo, S_IFIFO, 0) < 0 || mknod(inaccessible.sock, S_IFSOCK, 0) < 0) {
        return fail2(STAGE['staging'], -1, fail());
      }
      // Device nodes need CAP_MKNOD in the initial user namespace; a socket node stands in otherwise.
      haveDevNodes[0] = mknod(inaccessible.chr, S_IFCHR, 0) >= 0 && mknod(inaccessible.blk, S_IFBLK, 0) >= 0 ? 1 : 0;
    }
    return 0;
  };

  const rounds = (list: readonly (ChildFn | null)[], stage: FailureStage): number => {
    for (let i = 0; i < n; i++) {
      const f = list[i];
      if (f === null || f === undefined || skipped[i] === 1) continue;
      const err = f();
      if (err !== 0) return fail2(stage, i, err);
    }
    return 0;
  };

  const body = (): number => {
    skipped.fill(0);
    failure.reset();
    let err = setup();
    if (err !== 0) return err;
    for (let i = 0; i < n; i++) {
      err = applies[i]!();
      if (err !== 0) return fail2(STAGE['apply'], i, err);
    }
    err = info.open();
    if (err !== 0) return fail2(STAGE['mountinfo'], -1, err);
    err = rounds(roRound, STAGE['read-only']);
    if (err === 0) err = rounds(noexecRound, STAGE['noexec']);
    if (err === 0) err = rounds(nosuidRound, STAGE['nosuid']);
    info.close();
    if (err !== 0) return err;
    // mount_move_root(): the built tree becomes /.
    if (chdir(rootC) < 0 || mount(rootC, slash, null, MS_MOVE, null) < 0 || chroot(dot) < 0 || chdir(slash) < 0) return fail2(STAGE['move-root'], -1, fail());
    if (mount(null, slash, null, propagation | MS_REC, null) < 0) return fail2(STAGE['propagation'], -1, fail());
    return 0;
  };

  const run: ChildFn = () => {
    scratch[0] = umask(0);
    scratch[1] = -1;
    const err = body();
    umask(scratch[0]!);
    return err;
  };
  failure.describe(entries);
  return { run, entries };
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

/** The staging directory: a root-owned directory that is not a symlink (created 0700 when missing). */
function prepareStaging(staging: string): void {
  if (!staging.startsWith('/') || staging === '/') throw new Error(`mount staging directory must be an absolute path other than /: ${staging}`);
  mkdirSync(dirname(staging), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(staging, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(staging);
  if (!st.isDirectory() || st.uid !== 0) throw new Error(`mount staging directory ${staging} must be a root-owned directory`);
}
