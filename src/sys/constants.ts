/**
 * Kernel and glibc constants that are the same on x86-64 and aarch64
 * (asm-generic values). The few that differ live in ./arch/.
 */
import { ARCH } from './arch/index.js';

// open(2)
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const O_DIRECTORY = ARCH.O_DIRECTORY;
export const O_NOFOLLOW = ARCH.O_NOFOLLOW;

// fcntl(2)
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;

// close_range(2)
export const CLOSE_RANGE_UNSHARE = 1 << 1;
export const CLOSE_RANGE_CLOEXEC = 1 << 2;
/** ~0U: close_range's "to the end of the table". */
export const FD_MAX = 0xffffffff;

// *at(2)
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;

// clone(2) / unshare(2) / setns(2)
export const CLONE_NEWTIME = 0x80;
export const CLONE_PIDFD = 0x1000;
export const CLONE_NEWNS = 0x20000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

// prctl(2)
export const PR_SET_PDEATHSIG = 1;
export const PR_GET_SECCOMP = 21;
export const PR_SET_DUMPABLE = 4;
export const PR_SET_KEEPCAPS = 8;
export const PR_SET_NAME = 15;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_SECUREBITS = 28;
export const PR_SET_TIMERSLACK = 29;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;
/** Yama: let this pid ptrace (and pidfd_getfd) us. */
export const PR_SET_PTRACER = 0x59616d61;

// Resource limits (asm-generic numbering).
export const RLIMIT = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7,
  memlock: 8, as: 9, locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
} as const;
export type RlimitName = keyof typeof RLIMIT;
export const RLIM_INFINITY = 0xffffffffffffffffn;

// Signals (identical numbering on x86-64 and aarch64).
export const SIGNALS = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
} as const;
export const SIGKILL = SIGNALS.SIGKILL;
export const SIGTERM = SIGNALS.SIGTERM;
export const SIGCHLD = SIGNALS.SIGCHLD;
export const SIGRTMIN = 34;
/** _NSIG: signals are 1..64. */
export const NSIG = 65;

const SIGNAL_NAMES = new Map<number, string>(Object.entries(SIGNALS).map(([k, v]) => [v, k]));
/** "SIGTERM", "SIGRTMIN+3", or "SIG<n>" for glibc's internal 32/33. */
export function signalName(n: number): string {
  const name = SIGNAL_NAMES.get(n);
  if (name) return name;
  if (n >= SIGRTMIN && n < NSIG) return n === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${n - SIGRTMIN}`;
  return `SIG${n}`;
}

// sigprocmask(2)
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;
/** glibc's sigset_t is 1024 bits. */
export const SIGSET_SIZE = 128;
/** glibc's struct sigaction: handler 8 + sa_mask 128 + flags 4 + pad 4 + restorer 8 (x86-64 and aarch64). */
export const SIGACTION_SIZE = 152;

// madvise(2)
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;

// wait(2)
export const WNOHANG = 1;
export const WUNTRACED = 2;
export const WEXITED = 4;
export const WNOWAIT = 0x01000000;
export const P_ALL = 0;
export const P_PID = 1;
export const P_PIDFD = 3;

// poll(2); struct pollfd { int fd; short events; short revents; } = 8 bytes
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLFD_SIZE = 8;

/** struct rlimit { u64 cur; u64 max; } */
export const RLIMIT_SIZE = 16;

// mount(2)
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
export const OPEN_TREE_CLONE = 1;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;

// seccomp(2)
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_GET_ACTION_AVAIL = 2;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;

// socket(2)
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const SOCK_NONBLOCK = O_NONBLOCK;
