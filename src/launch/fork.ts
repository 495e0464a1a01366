/**
 * Zygote side of one launch: place the source fds, fork with every signal
 * blocked right after the DOFORK sweep, and wait on the report pipe with a
 * timeout. Runs synchronously: no JS callback can interleave (in particular
 * the reaper cannot collect this child before we know how it went).
 *
 * The report pipe also carries the namespace handshakes (child.ts):
 * - REC_PID: a pid-namespace intermediate forked the service process and
 *   names its outer pid; the intermediate exits at once and is reaped here
 *   (never reported as an exit), after which the service process is our child
 *   (we are a subreaper) and the one launch() reports;
 * - REC_USERNS: the current service process unshared a user namespace and
 *   waits on the sync pipe; hooks.userns maps it and the answer (0 or an
 *   errno) goes back on that pipe.
 */
import { F_DUPFD_CLOEXEC, O_CLOEXEC, POLLFD_SIZE, POLLIN, SIG_SETMASK, SIGKILL, SIGSET_SIZE } from '../sys/constants.js';
import { cZero, int32View } from '../sys/cmem.js';
import { check, errno, SysError } from '../sys/errno.js';
import { close, fcntl, fork, kill, pidfd_getfd, pipe2, poll, pthread_sigmask, read, waitpid, write } from '../sys/libc.js';
import { childState, REC_FAIL, REC_PID, REC_SIZE, REC_USERNS, runChild, SYNC_FD } from './child.js';
import type { CompiledPlan } from './compile.js';
import type { ParentSource } from './fds.js';
import { sweep } from './sweep.js';

const EINTR = 4;
const EAGAIN = 11;

/** Parent-side answers to the child's handshake records. */
export interface ForkHooks {
  /** Maps the user namespace of `pid` (the service's outer pid); returns 0 or an errno. */
  readonly userns?: (pid: number) => number;
}

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
const answerBuf = cZero(4);
const EINVAL = 22;

function waitChild(pid: number): number {
  while (waitpid(pid, statusBuf, 0) < 0) if (errno() !== EINTR) throw new SysError(`waitpid(${pid})`, errno());
  return statusBuf.readInt32LE(0);
}

/** The process the launch is about: the forked child, then each pid-namespace child it names. */
interface Tracked {
  pid: number;
}

/** Answers one REC_USERNS: the child blocks until it reads the int32. */
function answerUserns(syncW: number, pid: number, hooks: ForkHooks): void {
  answerBuf.writeInt32LE(hooks.userns ? hooks.userns(pid) : EINVAL, 0);
  // 4 bytes < PIPE_BUF into an empty pipe: never partial. A failed write
  // leaves the child on EOF (EIO) once we close the pipe.
  write(syncW, answerBuf, 4);
}

/** 'eof' (exec'd), 'record' (rec filled with a REC_FAIL) or 'timeout'. */
function waitReport(fd: number, timeoutMs: number, tracked: Tracked, syncW: number, hooks: ForkHooks): 'eof' | 'record' | 'timeout' {
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
    if (k !== REC_SIZE) throw new Error(`malformed report record (${k} bytes)`);
    if (rec[0] === REC_FAIL) return 'record';
    if (rec[0] === REC_PID && rec[1]! > 0) {
      // The intermediate exits right after this record: reap it, which also
      // makes the zygote (a subreaper) the parent of the new process.
      waitChild(tracked.pid);
      tracked.pid = rec[1]!;
      continue;
    }
    if (rec[0] === REC_USERNS && syncW >= 0) {
      answerUserns(syncW, tracked.pid, hooks);
      continue;
    }
    throw new Error(`malformed report record (kind ${rec[0]})`);
  }
}

/** A CLOEXEC pipe whose child-side end sits at or above base (above every dup2 target). */
function pipeAbove(base: number, childEnd: 0 | 1): { r: number; w: number } {
  check(pipe2(pipeFds, O_CLOEXEC), 'pipe2');
  const ends = [pipeFds.readInt32LE(0), pipeFds.readInt32LE(4)];
  const moved = fcntl(ends[childEnd]!, F_DUPFD_CLOEXEC, base);
  const dupErr = errno();
  close(ends[childEnd]!);
  if (moved < 0) {
    close(ends[1 - childEnd]!);
    throw new SysError('fcntl(F_DUPFD_CLOEXEC)', dupErr);
  }
  ends[childEnd] = moved;
  return { r: ends[0]!, w: ends[1]! };
}

/** Forks and runs plan.fns in the child. The sources must already be placed. */
export function forkExec(plan: CompiledPlan, timeoutMs: number, hooks: ForkHooks = {}): ForkOutcome {
  const { r, w } = pipeAbove(plan.fds.base, 1);
  let sync = { r: -1, w: -1 };
  if (hooks.userns) {
    try {
      sync = pipeAbove(plan.fds.base, 0);
    } catch (e) {
      close(r);
      close(w);
      throw e;
    }
  }
  childState[0] = w;
  childState[SYNC_FD] = sync.r;
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
  if (sync.r >= 0) close(sync.r);
  if (pid < 0) {
    close(r);
    if (sync.w >= 0) close(sync.w);
    throw new SysError('fork', forkErr);
  }
  const tracked: Tracked = { pid };
  let got: 'eof' | 'record' | 'timeout';
  try {
    got = waitReport(r, timeoutMs, tracked, sync.w, hooks);
  } catch (e) {
    got = 'timeout';
    process.stderr.write(`sysg zygote: report pipe of ${tracked.pid}: ${String(e)}; killing it\n`);
  } finally {
    close(r);
    if (sync.w >= 0) close(sync.w);
  }
  if (got === 'eof') return { kind: 'exec', pid: tracked.pid };
  if (got === 'record') return { kind: 'failed', pid: tracked.pid, index: rec[1]!, errno: rec[2]!, status: waitChild(tracked.pid) };
  // If a pid-namespace child exists that we were never told about, killing its
  // parent (the intermediate) makes it fail its wait for the REC_PID go-ahead.
  kill(tracked.pid, SIGKILL);
  return { kind: 'timeout', pid: tracked.pid, status: waitChild(tracked.pid) };
}
