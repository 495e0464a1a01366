/**
 * The `@group` system call sets of SystemCallFilter=/SystemCallLog=, as systemd v255 defines them.
 *
 * Source: `syscall_filter_sets[]` in src/shared/seccomp-util.c. The stored copy of the
 * systemd/systemd-stable tree available to us is older, so the table was transcribed from a fork snapshot
 * that is v255 (bonktree/systemd, commit 221197d05f3c01f69d70333485039dbdf42be510: has fchmodat2,
 * riscv_hwprobe, futex_waitv, quotactl_fd, set_mempolicy_home_node, arm_fadvise64_64, @sandbox; lacks the
 * later additions lsm_*, listmount/statmount, mseal, uretprobe and "@sandbox in @default"), cross-checked
 * against `systemd-analyze syscall-filter` of the systemd 252.38 on this machine: every group matches
 * except @sandbox (new in v254), @known (syscall list, see below) and @default, where 252.38 carries the
 * Oct-2024 stable backport of "uretprobe" (systemd PR #34713, merged after v255.13, so not here).
 * Members that are `#if`-guarded for s390 in older releases are unconditional in v255; names that do not
 * exist on an architecture are skipped when resolving.
 *
 * `@known` is `@obsolete` plus src/basic/syscall-list.txt ("all known syscalls declared in the kernel").
 * That list is taken from elogind/elogind (commit 227f29df113511ae0e32e067e621caabfeb273b6), which tracks
 * systemd v255; it is Linux-6.6 vintage (has fchmodat2/map_shadow_stack, no futex_wake/lsm_*).
 *
 * Nested `@group` references are kept as references; `expandSyscallGroup()` resolves them.
 */

export interface SyscallGroup {
  readonly name: string;
  readonly help: string;
  /** Syscall names and `@group` references, in systemd's order. */
  readonly members: readonly string[];
}

const w = (s: string): readonly string[] => Object.freeze(s.trim().split(/\s+/));

/** systemd v255 src/basic/syscall-list.txt (see header). */
export const KERNEL_SYSCALL_LIST: readonly string[] = w(`
_llseek _newselect _sysctl accept accept4 access acct add_key adjtimex alarm arc_gettls arc_settls
arc_usr_cmpxchg arch_prctl arm_fadvise64_64 atomic_barrier atomic_cmpxchg_32 bdflush bind bpf brk cachectl
cacheflush capget capset chdir chmod chown chown32 chroot clock_adjtime clock_adjtime64 clock_getres
clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 clock_settime
clock_settime64 clone clone2 clone3 close close_range connect copy_file_range creat create_module
delete_module dipc dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
epoll_wait epoll_wait_old eventfd eventfd2 exec_with_loader execv execve execveat exit exit_group faccessat
faccessat2 fadvise64 fadvise64_64 fallocate fanotify_init fanotify_mark fchdir fchmod fchmodat fchmodat2
fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr finit_module flistxattr flock fork fp_udfiex_crtl
fremovexattr fsconfig fsetxattr fsmount fsopen fspick fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat get_kernel_syms get_mempolicy get_robust_list
get_thread_area getcpu getcwd getdents getdents64 getdomainname getdtablesize getegid getegid32 geteuid
geteuid32 getgid getgid32 getgroups getgroups32 gethostname getitimer getpagesize getpeername getpgid getpgrp
getpid getpmsg getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getrusage
getsid getsockname getsockopt gettid gettimeofday getuid getuid32 getunwind getxattr getxgid getxpid getxuid
idle init_module inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy
io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit io_uring_enter io_uring_register
io_uring_setup ioctl ioperm iopl ioprio_get ioprio_set ipc kcmp kern_features kexec_file_load kexec_load
keyctl kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link
linkat listen listxattr llistxattr lookup_dcookie lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack mbind membarrier memfd_create memfd_secret memory_ordering migrate_pages mincore mkdir
mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 modify_ldt mount mount_setattr move_mount move_pages
mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync multiplexer munlock munlockall munmap
name_to_handle_at nanosleep newfstatat nfsservctl nice old_adjtimex old_getpagesize oldfstat oldlstat
oldolduname oldstat oldumount olduname open open_by_handle_at open_tree openat openat2 or1k_atomic
osf_adjtime osf_afs_syscall osf_alt_plock osf_alt_setsid osf_alt_sigpending osf_asynch_daemon osf_audcntl
osf_audgen osf_chflags osf_execve osf_exportfs osf_fchflags osf_fdatasync osf_fpathconf osf_fstat
osf_fstatfs osf_fstatfs64 osf_fuser osf_getaddressconf osf_getdirentries osf_getdomainname osf_getfh
osf_getfsstat osf_gethostid osf_getitimer osf_getlogin osf_getmnt osf_getrusage osf_getsysinfo
osf_gettimeofday osf_kloadcall osf_kmodcall osf_lstat osf_memcntl osf_mincore osf_mount osf_mremap
osf_msfs_syscall osf_msleep osf_mvalid osf_mwakeup osf_naccept osf_nfssvc osf_ngetpeername osf_ngetsockname
osf_nrecvfrom osf_nrecvmsg osf_nsendmsg osf_ntp_adjtime osf_ntp_gettime osf_old_creat osf_old_fstat
osf_old_getpgrp osf_old_killpg osf_old_lstat osf_old_open osf_old_sigaction osf_old_sigblock
osf_old_sigreturn osf_old_sigsetmask osf_old_sigvec osf_old_stat osf_old_vadvise osf_old_vtrace osf_old_wait
osf_oldquota osf_pathconf osf_pid_block osf_pid_unblock osf_plock osf_priocntlset osf_profil
osf_proplist_syscall osf_reboot osf_revoke osf_sbrk osf_security osf_select osf_set_program_attributes
osf_set_speculative osf_sethostid osf_setitimer osf_setlogin osf_setsysinfo osf_settimeofday osf_shmat
osf_signal osf_sigprocmask osf_sigsendset osf_sigstack osf_sigwaitprim osf_sstk osf_stat osf_statfs
osf_statfs64 osf_subsys_info osf_swapctl osf_swapon osf_syscall osf_sysinfo osf_table osf_uadmin
osf_usleep_thread osf_uswitch osf_utc_adjtime osf_utc_gettime osf_utimes osf_utsname osf_wait4 osf_waitid
pause pciconfig_iobase pciconfig_read pciconfig_write perf_event_open perfctr personality pidfd_getfd
pidfd_open pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_madvise process_mrelease process_vm_readv
process_vm_writev pselect6 pselect6_time64 ptrace pwrite64 pwritev pwritev2 query_module quotactl
quotactl_fd read readahead readdir readlink readlinkat readv reboot recv recvfrom recvmmsg recvmmsg_time64
recvmsg remap_file_pages removexattr rename renameat renameat2 request_key restart_syscall
riscv_flush_icache riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo rtas
s390_guarded_storage s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr s390_sthyi
sched_get_affinity sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr
sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_set_affinity
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget
semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_mempolicy
set_mempolicy_home_node set_robust_list set_thread_area set_tid_address setdomainname setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 sethae sethostname setitimer setns setpgid
setpgrp setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit setsid setsockopt settimeofday setuid setuid32 setxattr sgetmask shmat shmctl shmdt shmget
shutdown sigaction sigaltstack signal signalfd signalfd4 sigpending sigprocmask sigreturn sigsuspend socket
socketcall socketpair splice spu_create spu_run ssetmask stat stat64 statfs statfs64 statx stime
subpage_prot swapcontext swapoff swapon switch_endian symlink symlinkat sync sync_file_range
sync_file_range2 syncfs sys_debug_setcontext syscall sysfs sysinfo syslog sysmips tee tgkill time
timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
timerfd timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
truncate truncate64 ugetrlimit umask umount umount2 uname unlink unlinkat unshare uselib userfaultfd ustat
utime utimensat utimensat_time64 utimes utrap_install vfork vhangup vm86 vm86old vmsplice wait4 waitid
waitpid write writev
`);

const GROUP_LIST: readonly SyscallGroup[] = [
  {
    name: '@default',
    help: 'System calls that are always permitted',
    members: w(`arch_prctl brk cacheflush clock_getres clock_getres_time64 clock_gettime clock_gettime64
      clock_nanosleep clock_nanosleep_time64 execve exit exit_group futex futex_time64 futex_waitv
      get_robust_list get_thread_area getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
      getgroups32 getpgid getpgrp getpid getppid getrandom getresgid getresgid32 getresuid getresuid32
      getrlimit getsid gettid gettimeofday getuid getuid32 membarrier mmap mmap2 mprotect munmap nanosleep
      pause prlimit64 restart_syscall riscv_flush_icache riscv_hwprobe rseq rt_sigreturn sched_getaffinity
      sched_yield set_robust_list set_thread_area set_tid_address set_tls sigreturn time ugetrlimit`),
  },
  {
    name: '@aio',
    help: 'Asynchronous IO',
    members: w(`io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit
      io_uring_enter io_uring_register io_uring_setup`),
  },
  {
    name: '@basic-io',
    help: 'Basic IO',
    members: w(`_llseek close close_range dup dup2 dup3 lseek pread64 preadv preadv2 pwrite64 pwritev pwritev2
      read readv write writev`),
  },
  {
    name: '@chown',
    help: 'Change ownership of files and directories',
    members: w('chown chown32 fchown fchown32 fchownat lchown lchown32'),
  },
  {
    name: '@clock',
    help: 'Change the system time',
    members: w('adjtimex clock_adjtime clock_adjtime64 clock_settime clock_settime64 settimeofday'),
  },
  {
    name: '@cpu-emulation',
    help: 'System calls for CPU emulation functionality',
    members: w('modify_ldt subpage_prot switch_endian vm86 vm86old'),
  },
  {
    name: '@debug',
    help: 'Debugging, performance monitoring and tracing functionality',
    members: w('lookup_dcookie perf_event_open pidfd_getfd ptrace rtas s390_runtime_instr sys_debug_setcontext'),
  },
  {
    name: '@file-system',
    help: 'File system operations',
    members: w(`access chdir chmod close creat faccessat faccessat2 fallocate fchdir fchmod fchmodat fchmodat2
      fcntl fcntl64 fgetxattr flistxattr fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64
      ftruncate ftruncate64 futimesat getcwd getdents getdents64 getxattr inotify_add_watch inotify_init
      inotify_init1 inotify_rm_watch lgetxattr link linkat listxattr llistxattr lremovexattr lsetxattr lstat
      lstat64 mkdir mkdirat mknod mknodat newfstatat oldfstat oldlstat oldstat open openat openat2 readlink
      readlinkat removexattr rename renameat renameat2 rmdir setxattr stat stat64 statfs statfs64 statx
      symlink symlinkat truncate truncate64 unlink unlinkat utime utimensat utimensat_time64 utimes`),
  },
  {
    name: '@io-event',
    help: 'Event loop system calls',
    members: w(`_newselect epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
      epoll_wait_old eventfd eventfd2 poll ppoll ppoll_time64 pselect6 pselect6_time64 select`),
  },
  {
    name: '@ipc',
    help: 'SysV IPC, POSIX Message Queues or other IPC',
    members: w(`ipc memfd_create mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
      mq_timedsend mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd pipe pipe2 process_madvise
      process_vm_readv process_vm_writev semctl semget semop semtimedop semtimedop_time64 shmat shmctl shmdt
      shmget`),
  },
  { name: '@keyring', help: 'Kernel keyring access', members: w('add_key keyctl request_key') },
  { name: '@memlock', help: 'Memory locking control', members: w('mlock mlock2 mlockall munlock munlockall') },
  {
    name: '@module',
    help: 'Loading and unloading of kernel modules',
    members: w('delete_module finit_module init_module'),
  },
  {
    name: '@mount',
    help: 'Mounting and unmounting of file systems',
    members: w(`chroot fsconfig fsmount fsopen fspick mount mount_setattr move_mount open_tree pivot_root umount
      umount2`),
  },
  {
    name: '@network-io',
    help: 'Network or Unix socket IO, should not be needed if not network facing',
    members: w(`accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
      recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socket socketcall socketpair`),
  },
  {
    name: '@obsolete',
    help: 'Unusual, obsolete or unimplemented system calls',
    members: w(`_sysctl afs_syscall bdflush break create_module ftime get_kernel_syms getpmsg gtty idle lock mpx
      prof profil putpmsg query_module security sgetmask ssetmask stime stty sysfs tuxcall ulimit uselib ustat
      vserver`),
  },
  {
    name: '@pkey',
    help: 'System calls used for memory protection keys',
    members: w('pkey_alloc pkey_free pkey_mprotect'),
  },
  {
    name: '@privileged',
    help: 'All system calls which need super-user capabilities',
    members: w(`@chown @clock @module @raw-io @reboot @swap _sysctl acct bpf capset chroot fanotify_init
      fanotify_mark nfsservctl open_by_handle_at pivot_root quotactl quotactl_fd setdomainname setfsuid
      setfsuid32 setgroups setgroups32 sethostname setresuid setresuid32 setreuid setreuid32 setuid setuid32
      vhangup`),
  },
  {
    name: '@process',
    help: 'Process control, execution, namespacing operations',
    members: w(`capget clone clone3 execveat fork getrusage kill pidfd_open pidfd_send_signal prctl
      rt_sigqueueinfo rt_tgsigqueueinfo setns swapcontext tgkill times tkill unshare vfork wait4 waitid
      waitpid`),
  },
  {
    name: '@raw-io',
    help: 'Raw I/O port access',
    members: w('ioperm iopl pciconfig_iobase pciconfig_read pciconfig_write s390_pci_mmio_read s390_pci_mmio_write'),
  },
  { name: '@reboot', help: 'Reboot and reboot preparation/kexec', members: w('kexec_file_load kexec_load reboot') },
  {
    name: '@resources',
    help: 'Alter resource settings',
    members: w(`ioprio_set mbind migrate_pages move_pages nice sched_setaffinity sched_setattr sched_setparam
      sched_setscheduler set_mempolicy set_mempolicy_home_node setpriority setrlimit`),
  },
  {
    name: '@sandbox',
    help: 'Sandbox functionality',
    members: w('landlock_add_rule landlock_create_ruleset landlock_restrict_self seccomp'),
  },
  {
    name: '@setuid',
    help: 'Operations for changing user/group credentials',
    members: w(`setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid setresgid32 setresuid
      setresuid32 setreuid setreuid32 setuid setuid32`),
  },
  {
    name: '@signal',
    help: 'Process signal handling',
    members: w(`rt_sigaction rt_sigpending rt_sigprocmask rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
      sigaction sigaltstack signal signalfd signalfd4 sigpending sigprocmask sigsuspend`),
  },
  { name: '@swap', help: 'Enable/disable swap devices', members: w('swapoff swapon') },
  {
    name: '@sync',
    help: 'Synchronize files and memory to storage',
    members: w('fdatasync fsync msync sync sync_file_range sync_file_range2 syncfs'),
  },
  {
    name: '@system-service',
    help: 'General system service operations',
    members: w(`@aio @basic-io @chown @default @file-system @io-event @ipc @keyring @memlock @network-io
      @process @resources @setuid @signal @sync @timer arm_fadvise64_64 capget capset copy_file_range
      fadvise64 fadvise64_64 flock get_mempolicy getcpu getpriority ioctl ioprio_get kcmp madvise mremap
      name_to_handle_at oldolduname olduname personality readahead readdir remap_file_pages
      sched_get_priority_max sched_get_priority_min sched_getattr sched_getparam sched_getscheduler
      sched_rr_get_interval sched_rr_get_interval_time64 sched_yield sendfile sendfile64 setfsgid setfsgid32
      setfsuid setfsuid32 setpgid setsid splice sysinfo tee umask uname userfaultfd vmsplice`),
  },
  {
    name: '@timer',
    help: 'Schedule operations by time',
    members: w(`alarm getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime
      timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64
      timerfd_settime timerfd_settime64 times`),
  },
  {
    name: '@known',
    help: 'All known syscalls declared in the kernel',
    members: Object.freeze(['@obsolete', ...KERNEL_SYSCALL_LIST]),
  },
];

/** All groups by name, in systemd's table order (@default first, @known last). */
export const SYSCALL_GROUPS: ReadonlyMap<string, SyscallGroup> = new Map(GROUP_LIST.map((g) => [g.name, g]));

export function isSyscallGroup(name: string): boolean {
  return SYSCALL_GROUPS.has(name);
}

/**
 * The syscall names a group stands for, nested groups resolved (depth first, in table order, each name
 * once). Returns undefined for an unknown group — systemd warns "Unknown system call group" and ignores it.
 */
export function expandSyscallGroup(name: string): string[] | undefined {
  if (!SYSCALL_GROUPS.has(name)) return undefined;
  const out: string[] = [];
  const seen = new Set<string>();
  const visiting = new Set<string>();
  const walk = (group: string): void => {
    const g = SYSCALL_GROUPS.get(group);
    if (g === undefined || visiting.has(group)) return;
    visiting.add(group);
    for (const m of g.members) {
      if (m.startsWith('@')) walk(m);
      else if (!seen.has(m)) {
        seen.add(m);
        out.push(m);
      }
    }
    visiting.delete(group);
  };
  walk(name);
  return out;
}
