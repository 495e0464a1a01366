/**
 * Per-architecture kernel data: syscall numbers, the seccomp audit arch, the
 * open(2) flags whose values differ between architectures, and the top of
 * the user address space (for the MADV_DOFORK sweep).
 */
export interface SyscallNumbers {
  readonly mount: number;
  readonly umount2: number;
  readonly pivot_root: number;
  readonly reboot: number;
  readonly sethostname: number;
  readonly setdomainname: number;
  readonly capget: number;
  readonly capset: number;
  readonly setgroups: number;
  readonly setresuid: number;
  readonly setresgid: number;
  readonly gettid: number;
  readonly getpid: number;
  readonly kill: number;
  readonly personality: number;
  readonly ioprio_set: number;
  readonly keyctl: number;
  readonly unshare: number;
  readonly setns: number;
  readonly prlimit64: number;
  readonly seccomp: number;
  readonly pidfd_send_signal: number;
  readonly open_tree: number;
  readonly move_mount: number;
  readonly fsopen: number;
  readonly fsconfig: number;
  readonly fsmount: number;
  readonly fspick: number;
  readonly pidfd_open: number;
  readonly clone3: number;
  readonly close_range: number;
  readonly pidfd_getfd: number;
  readonly mount_setattr: number;
}

export interface ArchInfo {
  /** uname -m spelling. */
  readonly name: 'x86_64' | 'aarch64';
  /** AUDIT_ARCH_* as seccomp_data.arch reports it. */
  readonly auditArch: number;
  readonly sys: SyscallNumbers;
  /** open(2) flags that are not asm-generic on every architecture. */
  readonly O_DIRECT: number;
  readonly O_LARGEFILE: number;
  readonly O_DIRECTORY: number;
  readonly O_NOFOLLOW: number;
  /** Exclusive end of the user address space (TASK_SIZE with the default VA width). */
  readonly userTop: number;
}
