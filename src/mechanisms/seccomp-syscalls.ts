/**
 * Installing seccomp programs: thin wrappers over the koffi bindings of src/sys (prctl, seccomp(2)), with
 * errno captured right after each call. No binding is declared here: src/sys/libc.ts has all we need.
 *
 * Usable in a fork child: no allocation besides the small result object (callers on the child-side hot path
 * can call `seccomp()`/`prctl()` from src/sys/libc.ts directly with the prebuilt fprog Buffer).
 */
import { addressOf } from '../sys/cmem.js';
import { PR_GET_SECCOMP, PR_SET_NO_NEW_PRIVS, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_GET_ACTION_AVAIL, SECCOMP_SET_MODE_FILTER } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { prctl, seccomp } from '../sys/libc.js';

export { addressOf, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_SET_MODE_FILTER };

/** Result of a raw call: the return value, and errno when it is -1. */
export interface SysResult {
  readonly ret: number;
  readonly errno: number;
}

const result = (ret: number): SysResult => (ret === -1 ? { ret, errno: errno() } : { ret, errno: 0 });

/** prctl(PR_SET_NO_NEW_PRIVS, 1): required before seccomp() unless the caller has CAP_SYS_ADMIN. */
export function setNoNewPrivs(): SysResult {
  return result(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

/** prctl(PR_GET_SECCOMP): 0 none, 2 filter mode; -1/EINVAL without seccomp support. */
export function getSeccompMode(): SysResult {
  return result(prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
}

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, fprog) with a `struct sock_fprog` (see bpf.ts sockFprog()). With
 * SECCOMP_FILTER_FLAG_TSYNC, a positive return is the id of a thread that could not be synchronized.
 */
export function installSeccompFilter(fprog: Buffer, flags: number): SysResult {
  return result(Number(seccomp(SECCOMP_SET_MODE_FILTER, flags, fprog)));
}

/** seccomp(SECCOMP_GET_ACTION_AVAIL): does the kernel know this SECCOMP_RET_* action (e.g. LOG, KILL_PROCESS)? */
export function seccompActionAvailable(action: number): boolean {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(action >>> 0, 0);
  return Number(seccomp(SECCOMP_GET_ACTION_AVAIL, 0, buf)) === 0;
}
