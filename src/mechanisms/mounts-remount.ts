/**
 * Child-side mount attribute changes (systemd's make_read_only(),
 * make_noexec(), make_nosuid()) with mount_setattr(2).
 *
 * systemd flips an entry's attribute on its whole subtree *except* below the
 * other entries of the list (the "deny list": a ReadWritePaths= entry below
 * a ProtectSystem=strict "/" keeps its own flags). One mount_setattr with
 * AT_RECURSIVE is exact when no other entry lies below the path; otherwise
 * the child walks /proc/self/mountinfo and changes every mount below the
 * path but outside the excluded subtrees, one by one. The walk is a byte
 * state machine over preallocated buffers (child.ts rules: no allocation).
 */
import { AT_FDCWD, AT_RECURSIVE, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_RDONLY } from '../sys/constants.js';
import { MOUNT_ATTR_SIZE, SEEK_SET } from '../sys/constants-mounts.js';
import { cString, cZero } from '../sys/cmem.js';
import { close, open, read } from '../sys/libc.js';
import { lseek, mount_setattr } from '../sys/libc-mounts.js';
import { fail, type ChildFn } from '../launch/child.js';

const ENOENT = 2;
const ENOTDIR = 20;
const EINVAL = 22;
const PATH_MAX = 4096;
const CHUNK = 65536;

/** The child's fd on /proc/self/mountinfo (opened after unshare, so it shows the new namespace). */
export interface MountinfoHandle {
  /** [0] = fd or -1. */
  readonly fd: Int32Array;
  readonly open: ChildFn;
  readonly close: () => void;
}

export function mountinfoHandle(): MountinfoHandle {
  const path = cString('/proc/self/mountinfo');
  const fd = new Int32Array([-1]);
  return {
    fd,
    open: () => {
      const f = open(path, O_RDONLY | O_CLOEXEC, 0);
      if (f < 0) return fail();
      fd[0] = f;
      return 0;
    },
    close: () => {
      if (fd[0]! >= 0) close(fd[0]!);
      fd[0] = -1;
    },
  };
}

// One set of scratch buffers for every scan (the zygote launches one plan at a time).
let chunkBuf: Buffer | undefined;
let pathBuf: Buffer | undefined;

export interface RemountSpec {
  /** Host-namespace path of the entry (in the staging tree). */
  readonly path: string;
  /** Other entries' paths strictly below `path`: their subtrees are left alone. */
  readonly exclude: readonly string[];
  readonly set: number;
  readonly clear: number;
  /** Also the mounts below (else just the mount at path). */
  readonly recursive: boolean;
  /** "-": a missing path is fine. */
  readonly ignoreMissing: boolean;
}

function attrBuffer(set: number, clear: number): Buffer {
  const b = cZero(MOUNT_ATTR_SIZE);
  b.writeBigUInt64LE(BigInt(set), 0);
  b.writeBigUInt64LE(BigInt(clear), 8);
  return b;
}

/** path is prefix or lies below it: buf[0..len) vs p (NUL-terminated cString, without the NUL in plen). */
function belowOrEqual(buf: Buffer, len: number, p: Buffer, plen: number): boolean {
  if (len < plen) return false;
  for (let i = 0; i < plen; i++) if (buf[i] !== p[i]) return false;
  return len === plen || buf[plen] === 47 /* '/' */;
}

/** Compiles one entry's attribute change into a child-side action. */
export function compileRemount(spec: RemountSpec, info: MountinfoHandle, keep: (b: Buffer) => Buffer): ChildFn {
  const path = keep(cString(spec.path));
  const attr = keep(attrBuffer(spec.set, spec.clear));
  const ignoreMissing = spec.ignoreMissing;
  const top = (flags: number): number => {
    if (mount_setattr(AT_FDCWD, path, flags | AT_SYMLINK_NOFOLLOW, attr, MOUNT_ATTR_SIZE) >= 0) return 0;
    const e = fail();
    return e === ENOENT && ignoreMissing ? 0 : e;
  };
  if (!spec.recursive) return () => top(0);
  if (spec.exclude.length === 0) return () => top(AT_RECURSIVE);

  chunkBuf ??= cZero(CHUNK);
  pathBuf ??= cZero(PATH_MAX + 1);
  const chunk = chunkBuf;
  const cur = pathBuf;
  const plen = Buffer.byteLength(spec.path);
  const excl = spec.exclude.map((x) => keep(cString(x)));
  const exclLen = Int32Array.from(spec.exclude, (x) => Buffer.byteLength(x));
  const nExcl = excl.length;
  const fdCell = info.fd;

  /** One mount point from mountinfo (in cur[0..len)): change it unless excluded. */
  const visit = (len: number): number => {
    if (!belowOrEqual(cur, len, path, plen)) return 0;
    for (let k = 0; k < nExcl; k++) if (belowOrEqual(cur, len, excl[k]!, exclLen[k]!)) return 0;
    cur[len] = 0;
    if (mount_setattr(AT_FDCWD, cur, AT_SYMLINK_NOFOLLOW, attr, MOUNT_ATTR_SIZE) >= 0) return 0;
    const e = fail();
    // A mount hidden under a later one resolves to the upper mount (or to no mount root at all):
    // the visible mount at that path has its own line.
    if (len !== plen && (e === ENOENT || e === ENOTDIR || e === EINVAL)) return 0;
    return e === ENOENT && ignoreMissing ? 0 : e;
  };

  return () => {
    // The entry itself first: a missing "-" path ends here.
    const first = top(0);
    if (first !== 0) return first;
    const fd = fdCell[0]!;
    if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) return fd < 0 ? EINVAL : fail();
    // Field 5 (index 4) of each line is the mount point, with \ooo octal escapes.
    let field = 0;
    let len = 0;
    let esc = 0;
    let escVal = 0;
    let overflow = false;
    for (;;) {
      const n = read(fd, chunk, CHUNK);
      if (n < 0) return fail();
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const c = chunk[i]!;
        if (c === 10) {
          if (field >= 4 && !overflow) {
            const e = visit(len);
            if (e !== 0) return e;
          }
          field = 0;
          len = 0;
          esc = 0;
          overflow = false;
          continue;
        }
        if (c === 32) {
          field++;
          continue;
        }
        if (field !== 4) continue;
        if (esc > 0) {
          escVal = escVal * 8 + (c - 48);
          if (--esc === 0) {
            if (len < PATH_MAX) cur[len++] = escVal & 0xff;
            else overflow = true;
          }
          continue;
        }
        if (c === 92) {
          esc = 3;
          escVal = 0;
          continue;
        }
        if (len < PATH_MAX) cur[len++] = c;
        else overflow = true;
      }
    }
    return 0;
  };
}
