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
import { lstatSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AT_FDCWD,
  AT_RECURSIVE,
  CLONE_NEWNS,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  MOVE_MOUNT_F_EMPTY_PATH,
  MS_MOVE,
  MS_NODEV,
  MS_NOSUID,
  MS_PRIVATE,
  MS_REC,
  MS_SHARED,
  MS_SLAVE,
  O_CLOEXEC,
  OPEN_TREE_CLONE,
} from '../sys/constants.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK } from '../sys/constants-mounts.js';
import { cString } from '../sys/cmem.js';
import { chdir, close, umask, unshare } from '../sys/libc.js';
import { chroot, mkdir, mknod, mount, move_mount, open_tree } from '../sys/libc-mounts.js';
import { fail, type ChildFn } from '../launch/child.js';
import { childFs, compileApply, type ApplyEnv, type InaccessibleNodes } from './mounts-apply.js';
import { failure, STAGE, type FailureStage } from './mounts-failure.js';
import { compileRemount, mountinfoHandle, type RemountSpec } from './mounts-remount.js';
import { buildMountTable, entryExec, entryNoExec, entryReadOnly, isBelowOrEqual, MODE, type MountEntry, type MountNamespaceSpec } from './mounts-table.js';

/** Default staging directory on the host (created by the parent, mode 0700; only ever a mount point). */
export const DEFAULT_STAGING = '/run/sysg/mount-staging';

export interface CompiledNamespace {
  readonly run: ChildFn;
  /** The sorted, pruned mount list (for messages and tests). */
  readonly entries: readonly MountEntry[];
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

  const fs = childFs(keep);
  const n = entries.length;
  /** Per entry: 1 when the first round skipped it (a missing "-" path), so later rounds skip it too. */
  const skipped = new Uint8Array(n);
  const applies: ChildFn[] = [];
  const roRound: (ChildFn | null)[] = [];
  const noexecRound: (ChildFn | null)[] = [];
  const nosuidRound: (ChildFn | null)[] = [];
  const info = mountinfoHandle();
  /** Whether some attribute change has to walk /proc/self/mountinfo (then it is opened once, after unshare). */
  const scans: boolean[] = [];
  const remount = (r: RemountSpec): ChildFn => {
    scans.push(r.recursive && r.exclude.length > 0);
    return compileRemount(r, info, keep);
  };

  const inaccessible: InaccessibleNodes = {
    dir: c(`${inaccDir}/dir`),
    reg: c(`${inaccDir}/reg`),
    chr: c(`${inaccDir}/chr`),
    blk: c(`${inaccDir}/blk`),
    fifo: c(`${inaccDir}/fifo`),
    sock: c(`${inaccDir}/sock`),
  };
  /** [0] = 1 when the 0:0 device nodes could be created (not in a user namespace). */
  const haveDevNodes = new Int32Array(1);

  const env: ApplyEnv = { spec, c, at, keep, inaccessible, haveDevNodes, skipped, fs };
  entries.forEach((e, i) => {
    applies.push(compileApply(e, i, env));
    const ignore = e.ignore;

    // Second round: read-only (and an entry's own nosuid), as make_read_only().
    const below = entries.filter((o) => o !== e && o.path !== e.path && isBelowOrEqual(o.path, e.path)).map((o) => at(o.path));
    const ro = entryReadOnly(e);
    const roSet = (ro || e.mode === MODE.privateDev ? MOUNT_ATTR_RDONLY : 0) | (e.nosuid ? MOUNT_ATTR_NOSUID : 0);
    const roSubmounts = ro && e.mode !== MODE.emptyDir && e.mode !== MODE.tmpfs;
    roRound.push(roSet === 0 ? null : remount({ path: at(e.path), exclude: below, set: roSet, clear: 0, recursive: roSubmounts, ignoreMissing: ignore }));

    // Third round: noexec/exec, as make_noexec().
    const submounts = e.mode !== MODE.emptyDir && e.mode !== MODE.tmpfs;
    const noexec = entryNoExec(e);
    const exec = !noexec && entryExec(e);
    noexecRound.push(
      noexec || exec
        ? remount({ path: at(e.path), exclude: below, set: noexec ? MOUNT_ATTR_NOEXEC : 0, clear: exec ? MOUNT_ATTR_NOEXEC : 0, recursive: submounts, ignoreMissing: ignore })
        : null,
    );

    // Fourth round: NoNewPrivileges= makes every entry nosuid, without exclusions (make_nosuid()).
    nosuidRound.push(spec.nosuid ? remount({ path: at(e.path), exclude: [], set: MOUNT_ATTR_NOSUID, clear: 0, recursive: submounts, ignoreMissing: ignore }) : null);
  });

  const needInaccessible = entries.some((e) => e.mode === MODE.inaccessible);
  const needMountinfo = scans.some(Boolean);
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
    if (needMountinfo) {
      err = info.open();
      if (err !== 0) return fail2(STAGE['mountinfo'], -1, err);
    }
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
  if (!st.isDirectory() || st.uid !== (process.geteuid?.() ?? 0)) throw new Error(`mount staging directory ${staging} must be a directory owned by the launcher's user`);
}
