# Escape probes for test/mechanisms-seccomp-launch.test.ts, run as a launched service:
#   python3 seccomp-launch-probe.py <scratch dir> <probe> [<probe> ...]
# Prints "<probe> ok" or "<probe> errno <n>" per probe (flushed, so a probe the filter kills still leaves
# the earlier lines), then "status <Seccomp> <NoNewPrivs> <Uid>" from /proc/self/status.
import ctypes, mmap, os, socket, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SCRATCH = sys.argv[1]


def sys_call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r < 0:
        raise OSError(ctypes.get_errno(), 'syscall %d' % nr)


def checked(r):
    if r < 0:
        raise OSError(ctypes.get_errno(), 'call')
    return r


def uname():
    os.uname()


def uname_x32():
    buf = ctypes.create_string_buffer(6 * 65)
    sys_call(0x40000000 | 63, ctypes.addressof(buf))


def af(family, kind):
    def probe():
        socket.socket(family, kind, 0).close()
    return probe


def wx_mmap():
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC).close()


def chmod_suid():
    path = os.path.join(SCRATCH, 'suid-%d' % os.getpid())
    open(path, 'w').close()
    try:
        os.chmod(path, 0o4755)
    finally:
        os.unlink(path)


def unshare(flag):
    def probe():
        checked(libc.unshare(flag))
    return probe


def personality32():
    old = checked(libc.personality(0xffffffff))
    checked(libc.personality(8))  # PER_LINUX32
    libc.personality(old)


def personality_linux():
    checked(libc.personality(0))  # PER_LINUX


def adjtimex_read():
    checked(libc.adjtimex(ctypes.create_string_buffer(256)))  # modes = 0: read only


def clock_settime_monotonic():
    ts = (ctypes.c_long * 2)(1, 0)
    checked(libc.clock_settime(1, ts))  # CLOCK_MONOTONIC cannot be set: EINVAL unless filtered


def sethostname_in_uts():
    checked(libc.unshare(0x04000000))  # CLONE_NEWUTS: the host's name is never touched
    checked(libc.sethostname(b'sysg-probe', 10))


def sched_fifo():
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def delete_module():
    sys_call(176, ctypes.addressof(ctypes.create_string_buffer(b'sysg_no_such_module')), 0)


def syslog_size():
    checked(libc.klogctl(10, None, 0))  # SYSLOG_ACTION_SIZE_BUFFER


def ioperm_off():
    checked(libc.ioperm(0x80, 1, 0))


def become_uid1():
    os.setgroups([])
    os.setresgid(1, 1, 1)
    os.setresuid(1, 1, 1)


PROBES = {
    'uname': uname,
    'uname-x32': uname_x32,
    'af-packet': af(17, socket.SOCK_RAW),
    'af-netlink': af(16, socket.SOCK_DGRAM),
    'af-inet': af(2, socket.SOCK_DGRAM),
    'af-unix': af(1, socket.SOCK_DGRAM),
    'wx-mmap': wx_mmap,
    'chmod-suid': chmod_suid,
    'unshare-net': unshare(0x40000000),
    'unshare-mnt': unshare(0x00020000),
    'personality32': personality32,
    'personality-linux': personality_linux,
    'adjtimex': adjtimex_read,
    'clock-settime': clock_settime_monotonic,
    'sethostname': sethostname_in_uts,
    'sched-fifo': sched_fifo,
    'delete-module': delete_module,
    'syslog': syslog_size,
    'ioperm': ioperm_off,
    'become-uid1': become_uid1,
}

for name in sys.argv[2:]:
    try:
        PROBES[name]()
        print(name, 'ok', flush=True)
    except OSError as e:
        print(name, 'errno', e.errno, flush=True)

fields = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line)
print('status', fields['Seccomp'].strip(), fields['NoNewPrivs'].strip(), fields['Uid'].split()[0], flush=True)
