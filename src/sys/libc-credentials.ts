/**
 * Raw system calls for the credential switch: setgroups, setresgid,
 * setresuid, capget and capset. They are called as raw syscalls on purpose:
 * glibc's wrappers for the id calls broadcast the change to every thread
 * (SIGSETXID), which is pointless in the single-threaded fork child and
 * would run glibc signal machinery there. Raw syscalls change only the
 * calling thread, which is the one that calls execve. prctl comes from
 * libc.ts. Same rules as libc.ts: fixed-arity prototypes, Buffers for
 * pointers, Smis (or numbers captured at compile time) otherwise.
 */
import koffi from 'koffi';
import { SYS } from './arch/index.js';
import type { Ptr } from './libc.js';

const lib = koffi.load('libc.so.6');

function fn<T>(decl: string): T {
  return lib.func(decl) as unknown as T;
}

const syscallIds = fn<(nr: number, a: number, b: number, c: number) => number>('long syscall(long nr, uint32_t a, uint32_t b, uint32_t c)');
const syscallList = fn<(nr: number, size: number, list: Ptr) => number>('long syscall(long nr, int size, void *list)');
const syscallCaps = fn<(nr: number, header: Ptr, data: Ptr) => number>('long syscall(long nr, void *header, void *data)');

/** setgroups(2): list is a gid_t[size] (uint32 each); size 0 clears the supplementary groups. */
export function setgroups(size: number, list: Ptr): number {
  return syscallList(SYS.setgroups, size, list);
}
export function setresgid(rgid: number, egid: number, sgid: number): number {
  return syscallIds(SYS.setresgid, rgid, egid, sgid);
}
export function setresuid(ruid: number, euid: number, suid: number): number {
  return syscallIds(SYS.setresuid, ruid, euid, suid);
}
/** header: 8 bytes {version, pid}; data: 24 bytes (two {effective, permitted, inheritable}). */
export function capget(header: Ptr, data: Ptr): number {
  return syscallCaps(SYS.capget, header, data);
}
export function capset(header: Ptr, data: Ptr): number {
  return syscallCaps(SYS.capset, header, data);
}
