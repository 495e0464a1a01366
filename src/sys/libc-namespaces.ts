/**
 * libc functions used only by the namespaces mechanism (unshare and setns
 * themselves live in libc.ts). Same conventions as libc.ts: fixed-arity
 * prototypes, Buffers for pointers.
 */
import koffi from 'koffi';
import type { Ptr } from './libc.js';

const lib = koffi.load('libc.so.6');

function fn<T>(decl: string): T {
  return lib.func(decl) as unknown as T;
}

export const socket = fn<(domain: number, type: number, protocol: number) => number>('int socket(int domain, int type, int protocol)');
/** ioctl(2) with a pointer argument (struct ifreq for SIOC[GS]IFFLAGS). */
export const ioctlPtr = fn<(fd: number, request: number, arg: Ptr) => number>('int ioctl(int fd, unsigned long request, void *arg)');
export const getsid = fn<(pid: number) => number>('int getsid(int pid)');
