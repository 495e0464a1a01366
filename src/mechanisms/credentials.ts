/**
 * The uid/gid switch between fork and execve, in systemd's order
 * (enforce_groups() then, after the bounding-set drop, enforce_user() in
 * src/core/execute.c, v252–v255):
 *
 *   setgroups(supplementary) → setresgid(gid) … → [SECURE_KEEP_CAPS] → setresuid(uid)
 *
 * SECURE_KEEP_CAPS is set before a switch to a non-root uid when ambient
 * capabilities or securebits follow: it keeps the permitted set across
 * setresuid(), which PR_CAP_AMBIENT_RAISE and PR_SET_SECUREBITS need. The
 * kernel clears SECURE_KEEP_CAPS again at execve.
 *
 * Raw syscalls (libc-credentials.ts) change the calling thread only, which
 * is all there is in the fork child.
 */
import type { ChildFn } from '../launch/child.js';
import { fail } from '../launch/child.js';
import { cZero } from '../sys/cmem.js';
import { PR_SET_SECUREBITS } from '../sys/constants.js';
import { PR_GET_SECUREBITS, SECURE_KEEP_CAPS } from '../sys/constants-credentials.js';
import { prctl } from '../sys/libc.js';
import { setgroups, setresgid, setresuid } from '../sys/libc-credentials.js';

const EPERM = 1;

/**
 * setgroups(groups) then setresgid(gid). An empty list that the kernel
 * refuses with EPERM (a user namespace with setgroups "deny") is skipped, as
 * systemd's maybe_setgroups() does.
 */
export function setGroups(gid: number, groups: readonly number[], keep: (b: Buffer) => Buffer): ChildFn {
  const n = groups.length;
  const list = keep(cZero(4 * Math.max(1, n)));
  groups.forEach((g, i) => list.writeUInt32LE(g, 4 * i));
  return () => {
    if (setgroups(n, list) < 0) {
      const e = fail();
      if (n !== 0 || e !== EPERM) return e;
    }
    return setresgid(gid, gid, gid) < 0 ? fail() : 0;
  };
}

/** setresuid(uid), keeping the permitted capabilities across it when `keepCaps`. */
export function setUser(uid: number, keepCaps: boolean): ChildFn {
  const keepBit = 1 << SECURE_KEEP_CAPS;
  return () => {
    if (keepCaps) {
      const cur = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
      if (cur < 0) return fail();
      if ((cur & keepBit) === 0 && prctl(PR_SET_SECUREBITS, cur | keepBit, 0, 0, 0) < 0) return fail();
    }
    return setresuid(uid, uid, uid) < 0 ? fail() : 0;
  };
}
