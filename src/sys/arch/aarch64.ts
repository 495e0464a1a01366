/** aarch64: include/uapi/asm-generic/unistd.h and arch/arm64/include/uapi/asm/fcntl.h. */
import type { ArchInfo } from './types.js';

export const AARCH64: ArchInfo = {
  name: 'aarch64',
  auditArch: 0xc00000b7,
  sys: {
    mount: 40, umount2: 39, pivot_root: 41, reboot: 142, sethostname: 161, setdomainname: 162,
    capget: 90, capset: 91, setgroups: 159, setresuid: 147, setresgid: 149, gettid: 178, getpid: 172, kill: 129, personality: 92, ioprio_set: 30,
    keyctl: 219, unshare: 97, setns: 268, prlimit64: 261, seccomp: 277, pidfd_send_signal: 424,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433,
    pidfd_open: 434, clone3: 435, close_range: 436, pidfd_getfd: 438, mount_setattr: 442,
  },
  O_DIRECTORY: 0o40000,
  O_NOFOLLOW: 0o100000,
  O_DIRECT: 0o200000,
  O_LARGEFILE: 0o400000,
  // 48-bit VA (the arm64 default); with 39/42-bit VA the excess is simply unmapped.
  userTop: 0x1000000000000,
};
