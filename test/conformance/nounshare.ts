/**
 * test-execute.c's run_tests_without_unshare mode: a seccomp filter makes
 * unshare(2) fail with EOPNOTSUPP for sysg and everything it starts, then
 * sysg runs. Services that need a namespace must then refuse to start
 * (226/NAMESPACE, 225/NETWORK) instead of running unsandboxed.
 *
 *   node dist/test/conformance/nounshare.js SYSG_MAIN_JS ARGS...
 *
 * Installed without PR_SET_NO_NEW_PRIVS (the caller is root with
 * CAP_SYS_ADMIN), so it does not change what the services see otherwise.
 */
import { ARCH, SYS } from '../../src/sys/arch/index.js';
import { F_SETFD, SECCOMP_SET_MODE_FILTER } from '../../src/sys/constants.js';
import { cString, cStringArray, cZero } from '../../src/sys/cmem.js';
import { execve, fcntl, seccomp } from '../../src/sys/libc.js';
import koffi from 'koffi';

const EOPNOTSUPP = 95;
// struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;

const insns: Array<[number, number, number, number]> = [
  [BPF_LD_W_ABS, 0, 0, 4], // seccomp_data.arch
  [BPF_JEQ_K, 1, 0, ARCH.auditArch], // native: go on; other ABIs are not sysg's
  [BPF_RET_K, 0, 0, RET_ALLOW],
  [BPF_LD_W_ABS, 0, 0, 0], // seccomp_data.nr
  [BPF_JEQ_K, 0, 1, SYS.unshare],
  [BPF_RET_K, 0, 0, RET_ERRNO | EOPNOTSUPP],
  [BPF_RET_K, 0, 0, RET_ALLOW],
];
const filter = cZero(8 * insns.length);
insns.forEach(([code, jt, jf, k], i) => {
  filter.writeUInt16LE(code, 8 * i);
  filter.writeUInt8(jt, 8 * i + 2);
  filter.writeUInt8(jf, 8 * i + 3);
  filter.writeUInt32LE(k >>> 0, 8 * i + 4);
});
const prog = cZero(16);
prog.writeUInt16LE(insns.length, 0);
prog.writeBigUInt64LE(koffi.address(filter), 8);

if (seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) !== 0) {
  process.stderr.write(`nounshare: seccomp failed: errno ${koffi.errno()}\n`);
  process.exit(70);
}
// node marks fds 0-2 close-on-exec (libuv clears that only in its own spawn).
for (let fd = 0; fd <= 2; fd++) fcntl(fd, F_SETFD, 0);
const argv = [process.execPath, ...process.argv.slice(2)];
const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
const a = cStringArray(argv);
const e = cStringArray(env);
execve(cString(process.execPath), a.array, e.array);
process.stderr.write(`nounshare: execve failed: errno ${koffi.errno()}\n`);
process.exit(70);
