/**
 * Zygote side of one launch: place the source fds, fork with every signal
 * blocked right after the DOFORK sweep, and wait on the report pipe with a
 * timeout. Runs synchronously: no JS callback can interleave (in particular
 * the reaper cannot collect this child before we know how it went).
 */
import { F_DUPFD_CLOEXEC, O_CLOEXEC, POLLFD_SIZE, POLLIN, SIG_SETMASK, SIGKILL, SIGSET_SIZE } from '../sys/constants.js';
import { cZero, int32View } from '../sys/cmem.js';
import { check, errno, SysError } from '../sys/errno.js';
import { close, fcntl, fork, kill, pidfd_getfd, pipe2, poll, pthread_sigmask, read, waitpid } from '../sys/libc.js';
import { childState, REC_FAIL, REC_SIZE, runChild } from './child.js';
import type { CompiledPlan } from './compile.js';
import type { ParentSource } from './fds.js';
import { sweep } from './sweep.js';

const EINTR = 4;
const EAGAIN = 11;

export type ForkOutcome =
  | { readonly kind: 'exec'; readonly pid: number }
  | { readonly kind: 'failed'; readonly pid: number; readonly index: number; readonly errno: number; readonly status: number }
  | { readonly kind: 'timeout'; readonly pid: number; readonly status: number };

/** A parent-side failure to supply one source fd (for the op that uses the target). */
export class SourceError extends Error {
  constructor(
    readonly target: number,
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FdSources {
  /** The zygote's /dev/null (O_RDWR, CLOEXEC). */
  readonly devnull: number;
  /** pidfd of the process whose fd numbers the plan uses. */
  readonly clientPidfd: number;
}

/**
 * Fills plan.fds.src with CLOEXEC duplicates at or above the fd base and
 * returns them (the caller closes them after fork).
 */
export function placeSources(plan: CompiledPlan, from: FdSources): number[] {
  const placed: number[] = [];
  try {
    for (const { target, source } of plan.fds.parentFds) placed.push((plan.fds.src[target] = placeOne(source, plan.fds.base, from, target)));
  } catch (e) {
    for (const fd of placed) close(fd);
    throw e;
  }
  return placed;
}

function placeOne(source: ParentSource, base: number, from: FdSources, target: number): number {
  let fd = from.devnull;
  if (source !== 'devnull') {
    fd = pidfd_getfd(from.clientPidfd, source, 0);
    if (fd < 0) {
      const e = errno();
      throw new SourceError(target, e, `cannot take the client's fd ${source} for fd ${target} (pidfd_getfd)`);
    }
  }
  const hi = fcntl(fd, F_DUPFD_CLOEXEC, base);
  const e = errno();
  if (fd !== from.devnull) close(fd);
  if (hi < 0) throw new SourceError(target, e, `fcntl(F_DUPFD_CLOEXEC) for fd ${target}`);
  return hi;
}

// Preallocated parent-side scratch.
const allSignals = cZero(SIGSET_SIZE).fill(0xff);
const savedMask = cZero(SIGSET_SIZE);
const pipeFds = cZero(8);
const pollFd = cZero(POLLFD_SIZE);
const recBuf = cZero(REC_SIZE);
const rec = int32View(recBuf);
const statusBuf = cZero(4);

function waitChild(pid: number): number {
  while (waitpid(pid, statusBuf, 0) < 0) if (errno() !== EINTR) throw new SysError(`waitpid(${pid})`, errno());
  return statusBuf.readInt32LE(0);
}

/** 'eof' (exec'd), 'record' (rec filled) or 'timeout'. */
function waitReport(fd: number, timeoutMs: number): 'eof' | 'record' | 'timeout' {
  const deadline = Date.now() + timeoutMs;
  pollFd.writeInt32LE(fd, 0);
  pollFd.writeInt16LE(POLLIN, 4);
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    pollFd.writeInt16LE(0, 6);
    const n = poll(pollFd, 1, Math.min(left, 0x7fffffff));
    if (n < 0) {
      if (errno() === EINTR) continue;
      throw new SysError('poll', errno());
    }
    if (n === 0) return 'timeout';
    const k = read(fd, recBuf, REC_SIZE);
    if (k < 0) {
      const e = errno();
      if (e === EINTR || e === EAGAIN) continue;
      throw new SysError('read', e);
    }
    if (k === 0) return 'eof';
    // 12 bytes < PIPE_BUF: the child's single write is atomic.
    if (k !== REC_SIZE || rec[0] !== REC_FAIL) throw new Error(`malformed report record (${k} bytes, kind ${rec[0]})`);
    return 'record';
  }
}

/** Forks and runs plan.fns in the child. The sources must already be placed. */
export function forkExec(plan: CompiledPlan, timeoutMs: number): ForkOutcome {
  check(pipe2(pipeFds, O_CLOEXEC), 'pipe2');
  const r = pipeFds.readInt32LE(0);
  const w0 = pipeFds.readInt32LE(4);
  // The write end must sit above every dup2 target.
  const w = fcntl(w0, F_DUPFD_CLOEXEC, plan.fds.base);
  const dupErr = errno();
  close(w0);
  if (w < 0) {
    close(r);
    throw new SysError('fcntl(F_DUPFD_CLOEXEC)', dupErr);
  }
  childState[0] = w;
  const fns = plan.fns;
  const codes = plan.exitCodes;

  // Blocked signals keep libuv's handlers from running in the child before it
  // resets them; the child clears the mask itself.
  pthread_sigmask(SIG_SETMASK, allSignals, savedMask);
  sweep(); // the last JS before fork: nothing may allocate in between
  const pid = fork();
  if (pid === 0) runChild(fns, codes);
  const forkErr = pid < 0 ? errno() : 0;
  pthread_sigmask(SIG_SETMASK, savedMask, null);
  close(w);
  if (pid < 0) {
    close(r);
    throw new SysError('fork', forkErr);
  }
  let got: 'eof' | 'record' | 'timeout';
  try {
    got = waitReport(r, timeoutMs);
  } catch (e) {
    got = 'timeout';
    process.stderr.write(`sysg zygote: report pipe of ${pid}: ${String(e)}; killing it\n`);
  } finally {
    close(r);
  }
  if (got === 'eof') return { kind: 'exec', pid };
  if (got === 'record') return { kind: 'failed', pid, index: rec[1]!, errno: rec[2]!, status: waitChild(pid) };
  kill(pid, SIGKILL);
  return { kind: 'timeout', pid, status: waitChild(pid) };
}
