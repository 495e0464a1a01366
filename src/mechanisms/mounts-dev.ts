/**
 * PrivateDevices='s /dev, as systemd's mount_private_dev() builds it: a fresh
 * tmpfs (nosuid, noexec, strictatime, mode 755) holding only
 *   null zero full random urandom tty   — copies of the host nodes (mknod; if
 *                                         that is not permitted, e.g. in a user
 *                                         namespace, an empty file with the host
 *                                         node bind-mounted on it)
 *   char/MAJ:MIN                         — symlinks to those nodes
 *   pts, shm, mqueue, hugepages          — binds of the host's (the last two optional)
 *   ptmx                                 — node copy, or "pts/ptmx" when the host has a symlink
 *   log → /run/systemd/journal/dev-log, core → /proc/kcore (when the host has it),
 *   fd → /proc/self/fd, stdin/stdout/stderr → /proc/self/fd/0..2   (dev_setup()).
 * The host nodes are examined in the parent; the child only creates.
 * Bind sources are host paths: they resolve in the old root while the
 * service's tree is built in the staging directory (see mounts.ts).
 */
import { existsSync, lstatSync, statSync } from 'node:fs';
import { MS_BIND } from '../sys/constants.js';
import { S_IFREG } from '../sys/constants-mounts.js';
import { cString } from '../sys/cmem.js';
import { mkdir, mknod, mount, symlink } from '../sys/libc-mounts.js';
import { fail, type ChildFn } from '../launch/child.js';

const EPERM = 1;
const EEXIST = 17;

const NODES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'] as const;
const TMPFS_LIMITS_PRIVATE_DEV = ',size=4m,nr_inodes=64k';

/** glibc's major()/minor() of a dev_t. */
function major(dev: number): number {
  const d = BigInt(dev);
  return Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn));
}
function minor(dev: number): number {
  const d = BigInt(dev);
  return Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn));
}

interface NodeCopy {
  readonly source: Buffer;
  readonly target: Buffer;
  readonly mode: number;
  readonly rdev: number;
  readonly link: Buffer;
  readonly linkTarget: Buffer;
}

/**
 * Compiles the /dev construction at `target` (the staging path of /dev).
 * `mountTmpfs` is the caller's tmpfs mount of target (it owns flags/options).
 */
export function compilePrivateDev(target: string, keep: (b: Buffer) => Buffer): { options: string; populate: ChildFn } {
  const c = (s: string): Buffer => keep(cString(s));
  const nodes: NodeCopy[] = [];
  for (const n of NODES) {
    let st;
    try {
      st = statSync(n);
    } catch {
      continue; // systemd skips a node the host does not have
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice()) continue;
    const name = n.slice('/dev/'.length);
    const kind = st.isCharacterDevice() ? 'char' : 'block';
    nodes.push({
      source: c(n),
      target: c(`${target}/${name}`),
      mode: st.mode,
      rdev: st.rdev,
      link: c(`${target}/${kind}/${major(st.rdev)}:${minor(st.rdev)}`),
      linkTarget: c(`../${name}`),
    });
  }
  let ptmxLink = false;
  let ptmx: NodeCopy | undefined;
  try {
    const l = lstatSync('/dev/ptmx');
    if (l.isSymbolicLink()) ptmxLink = true;
    else if (l.isCharacterDevice()) {
      ptmx = { source: c('/dev/ptmx'), target: c(`${target}/ptmx`), mode: l.mode, rdev: l.rdev, link: c(`${target}/char/${major(l.rdev)}:${minor(l.rdev)}`), linkTarget: c('../ptmx') };
    }
  } catch {
    /* no /dev/ptmx on the host: none inside either */
  }
  const dirs = {
    pts: c(`${target}/pts`),
    shm: c(`${target}/shm`),
    mqueue: c(`${target}/mqueue`),
    hugepages: c(`${target}/hugepages`),
    char: c(`${target}/char`),
    block: c(`${target}/block`),
  };
  const host = { pts: c('/dev/pts'), shm: c('/dev/shm'), mqueue: c('/dev/mqueue'), hugepages: c('/dev/hugepages') };
  const links: [Buffer, Buffer][] = [
    [c('/run/systemd/journal/dev-log'), c(`${target}/log`)],
    [c('/proc/self/fd'), c(`${target}/fd`)],
    [c('/proc/self/fd/0'), c(`${target}/stdin`)],
    [c('/proc/self/fd/1'), c(`${target}/stdout`)],
    [c('/proc/self/fd/2'), c(`${target}/stderr`)],
  ];
  if (existsSync('/proc/kcore')) links.push([c('/proc/kcore'), c(`${target}/core`)]);
  const ptmxLinkTarget = c('pts/ptmx');
  const ptmxPath = c(`${target}/ptmx`);
  if (ptmx) nodes.unshift(ptmx);
  const canMknod = new Int32Array(1);

  /** clone_device_node(): mknod, or an empty file with the host node bound on it. */
  const copyNode = (n: NodeCopy): number => {
    if (canMknod[0] === 1) {
      if (mknod(n.target, n.mode, n.rdev) >= 0) return 0;
      const e = fail();
      if (e !== EPERM) return e;
      canMknod[0] = 0;
    }
    if (mknod(n.target, S_IFREG, 0) < 0) {
      const e = fail();
      if (e !== EEXIST) return e;
    }
    return mount(n.source, n.target, null, MS_BIND, null) < 0 ? fail() : 0;
  };

  const populate: ChildFn = () => {
    canMknod[0] = 1;
    mkdir(dirs.pts, 0o755);
    if (mount(host.pts, dirs.pts, null, MS_BIND, null) < 0) return fail();
    if (ptmxLink && symlink(ptmxLinkTarget, ptmxPath) < 0) return fail();
    mkdir(dirs.shm, 0o755);
    if (mount(host.shm, dirs.shm, null, MS_BIND, null) < 0) return fail();
    mkdir(dirs.mqueue, 0o755);
    mount(host.mqueue, dirs.mqueue, null, MS_BIND, null); // optional, as in systemd
    mkdir(dirs.hugepages, 0o755);
    mount(host.hugepages, dirs.hugepages, null, MS_BIND, null);
    mkdir(dirs.char, 0o755);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const e = copyNode(n);
      if (e !== 0) return e;
      symlink(n.linkTarget, n.link); // /dev/char/1:3 → ../null; failures are ignored by systemd too
    }
    for (let i = 0; i < links.length; i++) symlink(links[i]![0], links[i]![1]);
    return 0;
  };
  return { options: `mode=755${TMPFS_LIMITS_PRIVATE_DEV}`, populate };
}
