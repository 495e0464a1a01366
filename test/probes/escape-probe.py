#!/usr/bin/python3
"""Escape probes run inside a service by test/escape-probes.test.ts.

Each probe tries one thing a directive should stop and prints ESCAPED when it
worked, BLOCKED (with the reason) when the kernel refused it. Nothing here
changes host state: files are written under a scratch dir given on the
command line, forks exit at once, memory is the probe's own.
"""
import ctypes
import os
import resource
import signal
import sys


def escaped():
    print("ESCAPED", flush=True)
    sys.exit(0)


def blocked(why):
    print(f"BLOCKED {why}", flush=True)
    sys.exit(1)


def nofile(n):
    fds = []
    try:
        for _ in range(int(n)):
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        blocked(f"open #{len(fds)}: {e.strerror}")
    escaped()


def fsize(path, n):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with open(path, "wb") as f:
            f.write(b"x" * int(n))
    except OSError as e:
        blocked(e.strerror)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    escaped()


def nproc(n):
    pids = []
    try:
        for _ in range(int(n)):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            pids.append(pid)
    except OSError as e:
        blocked(f"fork #{len(pids)}: {e.strerror}")
    finally:
        for p in pids:
            os.waitpid(p, 0)
    escaped()


def alloc(mib):
    try:
        buf = bytearray(int(mib) * 1024 * 1024)
        buf[-1] = 1
    except MemoryError:
        blocked("MemoryError")
    escaped()


def cpu(seconds):
    # Spin for `seconds` of CPU time; RLIMIT_CPU delivers SIGXCPU before that.
    signal.signal(signal.SIGXCPU, lambda *_: blocked("SIGXCPU"))
    while resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime < float(seconds):
        pass
    escaped()


def memlock(kib):
    libc = ctypes.CDLL(None, use_errno=True)
    size = int(kib) * 1024
    buf = ctypes.create_string_buffer(size)
    if libc.mlock(buf, ctypes.c_size_t(size)) != 0:
        blocked(os.strerror(ctypes.get_errno()))
    libc.munlock(buf, ctypes.c_size_t(size))
    escaped()


def sigpending(n):
    # Queue real-time signals to ourselves while blocked: RLIMIT_SIGPENDING caps them.
    sig = signal.SIGRTMIN
    signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
    libc = ctypes.CDLL(None, use_errno=True)

    class SigVal(ctypes.Union):
        _fields_ = [("i", ctypes.c_int), ("p", ctypes.c_void_p)]

    for i in range(int(n)):
        if libc.sigqueue(os.getpid(), sig, SigVal(i)) != 0:
            blocked(f"sigqueue #{i}: {os.strerror(ctypes.get_errno())}")
    escaped()


def read(path):
    try:
        with open(path) as f:
            f.read()
    except OSError as e:
        blocked(e.strerror)
    escaped()


def pid_visible(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        blocked("no such process")
    except PermissionError:
        escaped()  # it exists: visible
    escaped()


PROBES = {"nofile": nofile, "fsize": fsize, "nproc": nproc, "alloc": alloc, "cpu": cpu, "memlock": memlock, "sigpending": sigpending, "read": read, "pid-visible": pid_visible}

if __name__ == "__main__":
    PROBES[sys.argv[1]](*sys.argv[2:])
