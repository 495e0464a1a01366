/** The koffi layer: arch data, errno, C memory helpers, a few real calls. */
import t from 'tap';
import koffi from 'koffi';
import { ARCH, SYS } from '../src/sys/arch/index.js';
import { cString, cStringArray, addressOf } from '../src/sys/cmem.js';
import { FD_CLOEXEC, F_GETFD, O_CLOEXEC, signalName } from '../src/sys/constants.js';
import { check, describeErrno, errno, errnoName, SysError } from '../src/sys/errno.js';
import { close, close_range, fcntl, getpid, pidfd_open, pipe2, read, umask, write } from '../src/sys/libc.js';
import { decodeStatus } from '../src/launch/reaper.js';

t.test('arch data matches the running machine', async (t) => {
  t.equal(ARCH.name, process.arch === 'x64' ? 'x86_64' : 'aarch64');
  t.equal(SYS.close_range, 436, 'unified numbering from 403 on');
  t.equal(SYS.seccomp, process.arch === 'x64' ? 317 : 277);
});

t.test('errno is read right after the call', async (t) => {
  t.equal(close(-1), -1);
  t.equal(errno(), 9);
  t.equal(errnoName(2), 'ENOENT');
  t.match(describeErrno(2), /^ENOENT \(no such file or directory\)$/i);
  t.equal(errnoName(4242), 'errno 4242');
  t.throws(() => check(close(-1), 'close(-1)'), new SysError('close(-1)', 9));
  t.equal(check(getpid(), 'getpid'), process.pid);
});

t.test('C strings and pointer arrays', async (t) => {
  const s = cString('héllo');
  t.same([...s], [...Buffer.from('héllo'), 0]);
  t.throws(() => cString('a\0b'), /NUL/);
  const arr = cStringArray(['a', 'bc']);
  t.equal(arr.array.length, 24);
  t.equal(arr.array.readBigUInt64LE(0), addressOf(arr.strings[0]!));
  t.equal(arr.array.readBigUInt64LE(8), addressOf(arr.strings[1]!));
  t.equal(arr.array.readBigUInt64LE(16), 0n);
  t.equal(koffi.decode(arr.array, 8, 'char *'), 'bc', 'the array points at the string');
});

t.test('pipe2, read/write, fcntl, close_range, pidfd_open, umask', async (t) => {
  const fds = Buffer.alloc(8);
  t.equal(pipe2(fds, O_CLOEXEC), 0);
  const [r, w] = [fds.readInt32LE(0), fds.readInt32LE(4)];
  t.equal(fcntl(r, F_GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC);
  t.equal(write(w, Buffer.from('ping'), 4), 4);
  const buf = Buffer.alloc(8);
  t.equal(read(r, buf, 8), 4);
  t.equal(buf.toString('latin1', 0, 4), 'ping');
  // Closing exactly [w, w] through the raw syscall.
  t.equal(close_range(w, w, 0), 0);
  t.equal(fcntl(w, F_GETFD, 0), -1);
  close(r);
  const pidfd = pidfd_open(process.pid, 0);
  t.ok(pidfd > 2);
  t.equal(fcntl(pidfd, F_GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC, 'pidfds are always CLOEXEC');
  close(pidfd);
  const old = umask(0o77);
  t.equal(umask(old), 0o77);
});

t.test('signal names and wait statuses', async (t) => {
  t.equal(signalName(15), 'SIGTERM');
  t.equal(signalName(34), 'SIGRTMIN');
  t.equal(signalName(40), 'SIGRTMIN+6');
  t.same(decodeStatus(7 << 8), { code: 7 });
  t.same(decodeStatus(0), { code: 0 });
  t.same(decodeStatus(15), { signal: 'SIGTERM', signo: 15, core: false });
  t.same(decodeStatus(0x80 | 11), { signal: 'SIGSEGV', signo: 11, core: true });
});
