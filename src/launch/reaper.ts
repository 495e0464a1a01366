/**
 * The zygote's child reaping. It is a subreaper, so besides the services it
 * forked it also inherits their orphaned descendants. Each service is watched
 * through a pidfd (readable once the process exits) polled by libuv via
 * koffi.node.poll; SIGCHLD covers the orphans. Both paths call reap(), which
 * collects every zombie with waitpid(-1, WNOHANG) and dispatches by pid.
 */
import koffi from 'koffi';
import { signalName, WNOHANG } from '../sys/constants.js';
import { check } from '../sys/errno.js';
import { close, pidfd_open, waitpid } from '../sys/libc.js';
import type { Exit } from './protocol.js';

/** Decodes a wait(2) status (WIFEXITED / WIFSIGNALED). */
export function decodeStatus(status: number): Exit {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { signal: signalName(sig), signo: sig, core: (status & 0x80) !== 0 };
}

interface Watch {
  readonly pidfd: number;
  readonly handle: ReturnType<typeof koffi.node.poll>;
  readonly onExit: (exit: Exit) => void;
}

export class Reaper {
  private readonly watched = new Map<number, Watch>();
  private readonly status = Buffer.alloc(4);

  constructor(private readonly onOrphan: (pid: number, exit: Exit) => void) {
    process.on('SIGCHLD', () => this.reap());
  }

  /** Number of services being watched. */
  get size(): number {
    return this.watched.size;
  }

  /** Watch an unreaped child (a zombie is fine: its pidfd is readable at once). */
  watch(pid: number, onExit: (exit: Exit) => void): void {
    const pidfd = check(pidfd_open(pid, 0), `pidfd_open(${pid})`);
    const handle = koffi.node.poll(pidfd, { readable: true }, () => this.reap());
    this.watched.set(pid, { pidfd, handle, onExit });
  }

  /** Collects every exited child. */
  reap(): void {
    for (;;) {
      const pid = waitpid(-1, this.status, WNOHANG);
      if (pid <= 0) return; // 0: children left but none exited; -1: ECHILD
      const exit = decodeStatus(this.status.readInt32LE(0));
      const w = this.watched.get(pid);
      if (!w) {
        this.onOrphan(pid, exit);
        continue;
      }
      this.watched.delete(pid);
      w.handle.close(); // stops polling before the fd is closed
      close(w.pidfd);
      w.onExit(exit);
    }
  }
}
