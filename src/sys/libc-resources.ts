/**
 * libc and raw system calls for process resources: nice, scheduling policy,
 * CPU affinity, I/O priority, personality, session keyrings and the real-id
 * switch systemd does around the keyring setup. Same rules as libc.ts:
 * fixed-arity prototypes, Buffers (or null) for pointers, Smis otherwise.
 */
import koffi from 'koffi';
import { SYS } from './arch/index.js';
import type { Ptr } from './libc.js';

const lib = koffi.load('libc.so.6');

function fn<T>(decl: string): T {
  return lib.func(decl) as unknown as T;
}

/** setpriority(PRIO_PROCESS, 0, nice). */
export const setpriority = fn<(which: number, who: number, prio: number) => number>('int setpriority(int which, uint32_t who, int prio)');
export const getpriority = fn<(which: number, who: number) => number>('int getpriority(int which, uint32_t who)');
/** param: struct sched_param (one int). policy may carry SCHED_RESET_ON_FORK. */
export const sched_setscheduler = fn<(pid: number, policy: number, param: Ptr) => number>(
  'int sched_setscheduler(int pid, int policy, void *param)',
);
export const sched_getscheduler = fn<(pid: number) => number>('int sched_getscheduler(int pid)');
/** mask: a cpu_set_t of `size` bytes. */
export const sched_setaffinity = fn<(pid: number, size: number, mask: Ptr) => number>(
  'int sched_setaffinity(int pid, size_t size, void *mask)',
);
/** personality(2); 0xffffffff queries. Returns the previous persona or -1. */
export const personality = fn<(persona: number) => number>('int personality(unsigned long persona)');
export const getuid = fn<() => number>('uint32_t getuid()');
export const getgid = fn<() => number>('uint32_t getgid()');
/** -1 (as 0xffffffff) leaves an id unchanged. */
export const setreuid = fn<(ruid: number, euid: number) => number>('int setreuid(uint32_t ruid, uint32_t euid)');
export const setregid = fn<(rgid: number, egid: number) => number>('int setregid(uint32_t rgid, uint32_t egid)');

const syscallInt3 = fn<(nr: number, a1: number, a2: number, a3: number) => number>('long syscall(long nr, int a1, int a2, int a3)');
const syscallKeyctl = fn<(nr: number, op: number, a2: number, a3: number, a4: number, a5: number) => number>(
  'long syscall(long nr, int op, long a2, long a3, long a4, long a5)',
);

/** ioprio_set(2): which = IOPRIO_WHO_PROCESS, who = 0 for the caller. */
export function ioprio_set(which: number, who: number, ioprio: number): number {
  return syscallInt3(SYS.ioprio_set, which, who, ioprio);
}

/** keyctl(2) with integer arguments only (JOIN_SESSION_KEYRING with a NULL name, LINK, …). */
export function keyctl(op: number, a2: number, a3: number, a4: number, a5: number): number {
  return syscallKeyctl(SYS.keyctl, op, a2, a3, a4, a5);
}
