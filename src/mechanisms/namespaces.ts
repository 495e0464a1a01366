/**
 * Non-mount namespaces, kernel side: the child-side actions (built in the
 * parent, run between fork and execve under child.ts's rules) and the
 * zygote-side half of the user-namespace handshake.
 *
 * - unshare(2) of net/ipc/uts/cgroup, and setns(2) into a namespace file
 *   (NetworkNamespacePath=, IPCNamespacePath=), opened in the child at
 *   launch time so the zygote never holds a namespace alive.
 * - pid namespace: unshare(CLONE_NEWPID) only moves the caller's *children*,
 *   so the child forks once more. The intermediate reports the new process's
 *   outer pid (REC_PID) and exits; the new process is pid 1 of the namespace
 *   and carries on with the remaining steps. The zygote, a subreaper,
 *   inherits it. The kernel delivers to the init of a pid namespace only the
 *   signals it has installed a handler for (pid_namespaces(7)); from an
 *   ancestor namespace SIGKILL and SIGSTOP are forced through as well. So a
 *   service that relies on the default action of SIGTERM (a shell script,
 *   `sleep`) does not stop on SIGTERM and has to be SIGKILLed, exactly as
 *   under systemd's PrivatePIDs=; daemons that handle SIGTERM are unaffected.
 *   When pid 1 exits, the kernel SIGKILLs the rest of the namespace.
 * - user namespace: the child unshares CLONE_NEWUSER and reports REC_USERNS;
 *   the zygote (in the parent user namespace, with CAP_SETUID/CAP_SETGID)
 *   writes setgroups, gid_map and uid_map and answers on the sync pipe.
 *   Only a privileged writer may map more than the writer's own id, which is
 *   why the child cannot do this itself.
 */
import { cString, cZero, int32View } from '../sys/cmem.js';
import { CLONE_NEWPID, CLONE_NEWUSER, O_CLOEXEC, O_RDONLY, O_WRONLY } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { _exit, close, fork, getpid, open, pipe2, read, setns, setsid, unshare, write } from '../sys/libc.js';
import { getsid } from '../sys/libc-namespaces.js';
import { childState, fail, REC_PID, REC_USERNS, sendRecord, SYNC_FD, type ChildFn } from '../launch/child.js';
import { sweepInChild } from '../launch/sweep.js';

const EIO = 5;

type Keep = (b: Buffer) => Buffer;

/** unshare(flags). */
export function unshareFn(flags: number): ChildFn {
  return () => (unshare(flags) < 0 ? fail() : 0);
}

/** setns() into the namespace file at path; nstype (a CLONE_NEW* flag) makes the kernel check the file's kind. */
export function joinFn(path: string, nstype: number, keep: Keep): ChildFn {
  const p = keep(cString(path));
  return () => {
    const fd = open(p, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return fail();
    const e = setns(fd, nstype) < 0 ? fail() : 0;
    close(fd);
    return e;
  };
}

/**
 * unshare(CLONE_NEWUSER), then the handshake: REC_USERNS out, one int32 back
 * on the sync pipe (0, or the errno of the zygote's map writes).
 */
export function userNamespaceFn(keep: Keep): ChildFn {
  const answerBuf = keep(cZero(4));
  const answer = int32View(answerBuf);
  return () => {
    if (unshare(CLONE_NEWUSER) < 0) return fail();
    const e = sendRecord(REC_USERNS, 0, 0);
    if (e !== 0) return e;
    answer[0] = EIO;
    const n = read(childState[SYNC_FD]!, answerBuf, 4);
    if (n < 0) return fail();
    if (n !== 4) return EIO; // the zygote went away
    return answer[0]!;
  };
}

/**
 * unshare(CLONE_NEWPID) and fork; returns 0 in the new pid-1 process.
 *
 * The new process waits on a private pipe until the intermediate has sent
 * REC_PID, so that record always comes before any record of the service
 * process (and a process the zygote never heard of never runs a step). It
 * also becomes a session leader again if the intermediate was one (setsid
 * ran before the fork).
 */
export function pidNamespaceFn(keep: Keep): ChildFn {
  const fdsBuf = keep(cZero(8));
  const fds = int32View(fdsBuf);
  const byte = keep(cZero(4));
  return () => {
    const leader = getsid(0) === getpid();
    if (unshare(CLONE_NEWPID) < 0) return fail();
    if (pipe2(fdsBuf, O_CLOEXEC) < 0) return fail();
    const r = fds[0]!;
    const w = fds[1]!;
    // Pages mapped since the zygote's sweep may be DONTFORK again (launcher-notes §1).
    sweepInChild();
    const pid = fork();
    if (pid < 0) {
      const e = fail();
      close(r);
      close(w);
      return e;
    }
    if (pid === 0) {
      close(w);
      const n = read(r, byte, 1);
      close(r);
      if (n !== 1) return EIO; // the intermediate died before reporting us
      if (leader && setsid() < 0) return fail();
      return 0;
    }
    close(r);
    if (sendRecord(REC_PID, pid, 0) === 0) write(w, byte, 1);
    _exit(0);
    return EIO; // not reached
  };
}

/** One line of a uid_map/gid_map: ids [inside, inside+count) map to [outside, outside+count). */
export interface IdMapRange {
  readonly inside: number;
  readonly outside: number;
  readonly count: number;
}

export interface UserNamespaceMaps {
  readonly uidMap: readonly IdMapRange[];
  readonly gidMap: readonly IdMapRange[];
  /** "deny" disables setgroups(2) in the namespace for good (systemd's choice for PrivateUsers=). */
  readonly setgroups: 'allow' | 'deny';
}

export function formatIdMap(map: readonly IdMapRange[]): string {
  return map.map((r) => `${r.inside} ${r.outside} ${r.count}\n`).join('');
}

/** Writes a whole /proc file in one write(2), as the id map files require. Returns 0 or an errno. */
function writeProcFile(path: string, text: string): number {
  const fd = open(cString(path), O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return errno() || EIO;
  const data = Buffer.from(text, 'latin1');
  const n = write(fd, data, data.length);
  const e = n < 0 ? errno() || EIO : n !== data.length ? EIO : 0;
  close(fd);
  return e;
}

/**
 * Zygote side: maps the user namespace of `pid`. setgroups must be written
 * before gid_map (the kernel refuses "deny" once a gid map exists).
 * Returns 0 or an errno (sent to the child, which fails its step with it).
 */
export function writeIdMaps(pid: number, maps: UserNamespaceMaps): number {
  return (
    writeProcFile(`/proc/${pid}/setgroups`, `${maps.setgroups}\n`) ||
    writeProcFile(`/proc/${pid}/gid_map`, formatIdMap(maps.gidMap)) ||
    writeProcFile(`/proc/${pid}/uid_map`, formatIdMap(maps.uidMap))
  );
}
