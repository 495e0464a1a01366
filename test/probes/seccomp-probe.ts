/**
 * Seccomp probe: installs compiled filters into this node process (all threads, TSYNC) and then makes raw
 * system calls, printing one JSON line per call. Run by test/mechanisms-seccomp*.test.ts as
 *
 *   node --import <tap's TS loader> test/probes/seccomp-probe.ts <spec.json>
 *
 * spec: { programs: base64 sock_filter[] buffers, ops: ProbeOp[] }. Output lines:
 *   {"installed":[{ret,errno},…]}  then  {"label":…,"ret":…,"errno":…}  per op, then {"end":true}.
 * A call the filter kills never prints its line: the parent sees SIGSYS as the exit signal instead.
 * The probe ends with a raw exit_group(0), so node's own teardown cannot trip the filter.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import koffi from 'koffi';
import { seccompStepsFromBase64 } from '../../src/mechanisms/seccomp.js';
import { addressOf, installSeccompFilter, setNoNewPrivs } from '../../src/mechanisms/seccomp-syscalls.js';

/** A syscall argument: a number (as u64), a "0x…" u64 string, a C string, a zeroed buffer of n bytes, or bytes. */
export type ProbeArg = number | string | { readonly cstr: string } | { readonly buf: number } | { readonly hex: string };

export type ProbeOp =
  | { readonly label: string; readonly kind: 'syscall'; readonly nr: number; readonly args?: readonly ProbeArg[] }
  /** A 32-bit `int 0x80` system call (AUDIT_ARCH_I386) with up to 6 arguments. */
  | { readonly label: string; readonly kind: 'int80'; readonly nr: number; readonly args?: readonly number[] }
  | { readonly label: string; readonly kind: 'execve'; readonly path: string; readonly argv: readonly string[] }
  /** Ordinary node work after the filter is in place: ret 0 when it completed. */
  | { readonly label: string; readonly kind: 'js'; readonly work: 'alloc' | 'fs' | 'timer' | 'crypto' };

export interface ProbeSpec {
  readonly programs: readonly string[];
  readonly ops: readonly ProbeOp[];
  /** Skip PR_SET_NO_NEW_PRIVS (root may install filters without it). */
  readonly noNnp?: boolean;
}

const libc = koffi.load('libc.so.6');
const syscall6 = libc.func('long syscall(long nr, long a, long b, long c, long d, long e, long f)');
const execve = libc.func('int execve(const char *path, void *argv, void *envp)');
const fcntl = libc.func('int fcntl(int fd, int cmd, long arg)');
const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
const mprotect = libc.func('int mprotect(void *addr, size_t len, int prot)');
const stub80Type = koffi.proto('long stub80()');
const SYS_EXIT_GROUP = 231;

const out = (v: unknown): void => {
  writeSync(1, JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) + '\n');
};

const keep: Buffer[] = []; // every buffer a raw pointer refers to stays reachable

function argValue(a: ProbeArg): bigint {
  if (typeof a === 'number') return BigInt.asIntN(64, BigInt(a));
  if (typeof a === 'string') return BigInt.asIntN(64, BigInt(a));
  const buf = 'cstr' in a ? Buffer.from(a.cstr + '\0') : 'hex' in a ? Buffer.from(a.hex, 'hex') : Buffer.alloc(a.buf);
  keep.push(buf);
  return addressOf(buf);
}

/**
 * A 32-bit system call from 64-bit code: `int 0x80` takes nr in eax and arguments in ebx, ecx, edx, esi, edi,
 * ebp, and the kernel runs it as an i386 call (seccomp sees AUDIT_ARCH_I386). rbx and rbp are callee-saved.
 *   push rbx; push rbp; mov eax,nr; mov ebx,a0; … mov ebp,a5; int 0x80; movsxd rax,eax; pop rbp; pop rbx; ret
 */
function int80Stub(nr: number, args: readonly number[]): unknown {
  const imm = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const movs = [0xbb, 0xb9, 0xba, 0xbe, 0xbf, 0xbd].flatMap((op, i) => [op, ...imm(args[i] ?? 0)]);
  const code = [0x53, 0x55, 0xb8, ...imm(nr), ...movs, 0xcd, 0x80, 0x48, 0x63, 0xc0, 0x5d, 0x5b, 0xc3];
  const page: unknown = mmap(null, 4096, 3, 0x22, -1, 0);
  Buffer.from(code).copy(new Uint8Array(koffi.view(page, 4096)));
  if (mprotect(page, 4096, 5) !== 0) throw new Error('mprotect failed');
  return page;
}

/** Allocation (heap growth, GC), synchronous fs, a libuv timer and getrandom(), from ordinary JS. */
async function jsWork(work: 'alloc' | 'fs' | 'timer' | 'crypto'): Promise<void> {
  switch (work) {
    case 'alloc': {
      const arrays: number[][] = [];
      for (let i = 0; i < 200; i++) arrays.push(new Array<number>(100_000).fill(i));
      if (arrays.length !== 200) throw new Error('alloc');
      break;
    }
    case 'fs': {
      const f = `/tmp/sysg-seccomp-probe-${process.pid}`;
      writeFileSync(f, 'x');
      if (readFileSync(f, 'utf8') !== 'x') throw new Error('fs');
      rmSync(f);
      break;
    }
    case 'timer':
      await sleep(20);
      break;
    case 'crypto':
      if (randomBytes(16).length !== 16) throw new Error('crypto');
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ProbeSpec;
  // Everything a call needs is prepared before the filters exist.
  type Prepared =
    | { readonly type: 'syscall'; readonly label: string; readonly nr: number; readonly args: bigint[] }
    | { readonly type: 'int80'; readonly label: string; readonly stub: unknown }
    | { readonly type: 'js'; readonly label: string; readonly work: 'alloc' | 'fs' | 'timer' | 'crypto' }
    | { readonly type: 'execve'; readonly label: string; readonly path: Buffer; readonly argv: Buffer; readonly envp: Buffer };
  const prepared = spec.ops.map((op): Prepared => {
    const { label } = op;
    if (op.kind === 'syscall') return { type: 'syscall', label, nr: op.nr, args: (op.args ?? []).map(argValue) };
    if (op.kind === 'int80') return { type: 'int80', label, stub: int80Stub(op.nr, op.args ?? []) };
    if (op.kind === 'js') return { type: 'js', label, work: op.work };
    const strs = [op.path, ...op.argv].map((s) => Buffer.from(s + '\0'));
    keep.push(...strs);
    const argv = Buffer.alloc(8 * (op.argv.length + 1));
    op.argv.forEach((_, i) => argv.writeBigUInt64LE(addressOf(strs[i + 1]!), 8 * i));
    const envp = Buffer.alloc(8);
    keep.push(argv, envp);
    return { type: 'execve', label, path: strs[0]!, argv, envp };
  });
  // The launcher's path: base64 programs → validated off-heap sock_filter + sock_fprog steps.
  const steps = seccompStepsFromBase64(spec.programs, { tsync: true });

  if (!spec.noNnp) {
    const r = setNoNewPrivs();
    if (r.ret !== 0) throw new Error(`PR_SET_NO_NEW_PRIVS failed: errno ${r.errno}`);
  }
  out({ installed: steps.map((st) => installSeccompFilter(st.fprog, st.flags)) });

  for (const p of prepared) {
    let ret: number;
    let errno = 0;
    if (p.type === 'syscall') {
      const a = (i: number): bigint => p.args[i] ?? 0n;
      ret = Number(syscall6(p.nr, a(0), a(1), a(2), a(3), a(4), a(5)));
      if (ret === -1) errno = koffi.errno();
    } else if (p.type === 'int80') {
      ret = Number(koffi.call(p.stub, stub80Type));
      if (ret < 0 && ret > -4096) [ret, errno] = [-1, -ret];
    } else if (p.type === 'js') {
      try {
        await jsWork(p.work);
        ret = 0;
      } catch (e) {
        ret = -1;
        errno = typeof (e as { errno?: unknown }).errno === 'number' ? -(e as { errno: number }).errno : 0;
      }
    } else {
      for (const fd of [0, 1, 2]) fcntl(fd, 2 /* F_SETFD */, 0); // node sets FD_CLOEXEC on stdio
      ret = execve(p.path, p.argv, p.envp) as number;
      errno = koffi.errno();
    }
    out({ label: p.label, ret, errno });
  }
  out({ end: true });
  syscall6(SYS_EXIT_GROUP, 0n, 0n, 0n, 0n, 0n, 0n);
}

await main();
