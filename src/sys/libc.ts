/**
 * Every libc function sysg calls, declared once through koffi.
 *
 * Variadic functions (fcntl, open, prctl, syscall) are declared at a fixed
 * arity: ABI-safe on x86-64 and aarch64 Linux, where integer arguments travel
 * in registers, and about twice as fast as koffi's variadic calls.
 * `syscall` gets one prototype per argument shape.
 *
 * Pointer parameters take a Buffer (its data pointer is passed) or null.
 * Code that runs in a fork child must pass only preallocated Buffers
 * (Buffer.allocUnsafeSlow: off the V8 heap, stable address) and Smis.
 */
import koffi from 'koffi';
import { SYS } from './arch/index.js';

/** A C pointer argument: a Buffer's data, or NULL. */
export type Ptr = Buffer | null;

const lib = koffi.load('libc.so.6');

function fn<T>(decl: string): T {
  return lib.func(decl) as unknown as T;
}

// Processes
export const fork = fn<() => number>('int fork()');
export const _exit = fn<(status: number) => void>('void _exit(int status)');
export const execve = fn<(path: Ptr, argv: Ptr, envp: Ptr) => number>('int execve(void *path, void *argv, void *envp)');
export const getpid = fn<() => number>('int getpid()');
export const getppid = fn<() => number>('int getppid()');
export const setsid = fn<() => number>('int setsid()');
export const kill = fn<(pid: number, sig: number) => number>('int kill(int pid, int sig)');
/** status: a 4-byte Buffer (int). */
export const waitpid = fn<(pid: number, status: Ptr, options: number) => number>('int waitpid(int pid, void *status, int options)');
export const prctl = fn<(option: number, a2: number, a3: number, a4: number, a5: number) => number>(
  'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
);
/** rlim: struct rlimit (16 bytes). */
export const setrlimit = fn<(resource: number, rlim: Ptr) => number>('int setrlimit(int resource, void *rlim)');
export const prlimit = fn<(pid: number, resource: number, newLimit: Ptr, oldLimit: Ptr) => number>(
  'int prlimit(int pid, int resource, void *new_limit, void *old_limit)',
);
export const mkfifo = fn<(path: Ptr, mode: number) => number>('int mkfifo(void *path, uint32_t mode)');
export const umask = fn<(mask: number) => number>('uint32_t umask(uint32_t mask)');
export const chdir = fn<(path: Ptr) => number>('int chdir(void *path)');

// Signals. set/oldset: sigset_t (128 bytes); act/oldact: struct sigaction (152 bytes).
export const sigprocmask = fn<(how: number, set: Ptr, oldset: Ptr) => number>('int sigprocmask(int how, void *set, void *oldset)');
/** Returns an error number (not -1/errno). */
export const pthread_sigmask = fn<(how: number, set: Ptr, oldset: Ptr) => number>(
  'int pthread_sigmask(int how, void *set, void *oldset)',
);
export const sigaction = fn<(sig: number, act: Ptr, oldact: Ptr) => number>('int sigaction(int sig, void *act, void *oldact)');

// File descriptors
export const open = fn<(path: Ptr, flags: number, mode: number) => number>('int open(void *path, int flags, uint32_t mode)');
export const close = fn<(fd: number) => number>('int close(int fd)');
export const dup2 = fn<(oldfd: number, newfd: number) => number>('int dup2(int oldfd, int newfd)');
export const dup3 = fn<(oldfd: number, newfd: number, flags: number) => number>('int dup3(int oldfd, int newfd, int flags)');
export const fcntl = fn<(fd: number, cmd: number, arg: number) => number>('int fcntl(int fd, int cmd, long arg)');
/** fds: an 8-byte Buffer receiving int[2]. */
export const pipe2 = fn<(fds: Ptr, flags: number) => number>('int pipe2(void *fds, int flags)');
/** sv: an 8-byte Buffer receiving int[2]. */
export const socketpair = fn<(domain: number, type: number, protocol: number, sv: Ptr) => number>(
  'int socketpair(int domain, int type, int protocol, void *sv)',
);
export const read = fn<(fd: number, buf: Ptr, count: number) => number>('long read(int fd, void *buf, size_t count)');
export const write = fn<(fd: number, buf: Ptr, count: number) => number>('long write(int fd, void *buf, size_t count)');
/** fds: struct pollfd[] (8 bytes each). */
export const poll = fn<(fds: Ptr, nfds: number, timeoutMs: number) => number>('int poll(void *fds, unsigned long nfds, int timeout)');

// Memory. addr is a plain number: user addresses stay below 2^53.
export const madvise = fn<(addr: number, length: number, advice: number) => number>(
  'int madvise(uintptr_t addr, size_t length, int advice)',
);

// Raw system calls, one prototype per argument shape.
const syscall3 = fn<(nr: number, a1: number, a2: number, a3: number) => number>('long syscall(long nr, long a1, long a2, long a3)');
const syscallSignal = fn<(nr: number, pidfd: number, sig: number, info: Ptr, flags: number) => number>(
  'long syscall(long nr, int pidfd, int sig, void *info, uint32_t flags)',
);
const syscallSeccomp = fn<(nr: number, op: number, flags: number, prog: Ptr) => number>(
  'long syscall(long nr, uint32_t op, uint32_t flags, void *prog)',
);

/** close_range(2) (Linux 5.9; CLOSE_RANGE_CLOEXEC needs 5.11). last: FD_MAX for "to the end". */
export function close_range(first: number, last: number, flags: number): number {
  return syscall3(SYS.close_range, first, last, flags);
}
/** pidfd_open(2): a CLOEXEC pidfd (Linux 5.3). */
export function pidfd_open(pid: number, flags: number): number {
  return syscall3(SYS.pidfd_open, pid, flags, 0);
}
/** pidfd_getfd(2): a CLOEXEC duplicate of another process's fd (Linux 5.6; needs ptrace access). */
export function pidfd_getfd(pidfd: number, targetfd: number, flags: number): number {
  return syscall3(SYS.pidfd_getfd, pidfd, targetfd, flags);
}
export function pidfd_send_signal(pidfd: number, sig: number, info: Ptr, flags: number): number {
  return syscallSignal(SYS.pidfd_send_signal, pidfd, sig, info, flags);
}
export function unshare(flags: number): number {
  return syscall3(SYS.unshare, flags, 0, 0);
}
export function setns(fd: number, nstype: number): number {
  return syscall3(SYS.setns, fd, nstype, 0);
}
export function seccomp(op: number, flags: number, prog: Ptr): number {
  return syscallSeccomp(SYS.seccomp, op, flags, prog);
}
