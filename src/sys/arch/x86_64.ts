/** x86-64: arch/x86/entry/syscalls/syscall_64.tbl and arch/x86/include/uapi/asm (via asm-generic/fcntl.h overrides). */
import type { ArchInfo } from './types.js';

export const X86_64: ArchInfo = {
  name: 'x86_64',
  auditArch: 0xc000003e,
  sys: {
    mount: 165, umount2: 166, pivot_root: 155, reboot: 169, sethostname: 170, setdomainname: 171,
    capget: 125, capset: 126, setgroups: 116, setresuid: 117, setresgid: 119, gettid: 186, getpid: 39, kill: 62, personality: 135, ioprio_set: 251,
    keyctl: 250, unshare: 272, setns: 308, prlimit64: 302, seccomp: 317, pidfd_send_signal: 424,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433,
    pidfd_open: 434, clone3: 435, close_range: 436, pidfd_getfd: 438, mount_setattr: 442,
  },
  O_DIRECT: 0o40000,
  O_LARGEFILE: 0o100000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  // 47-bit user space (4-level paging; 5-level only hands out higher addresses on request).
  userTop: 0x7ffffffff000,
};
