/**
 * Socket calls through koffi (node has no AF_UNIX datagram sockets, no
 * SCM_CREDENTIALS/SCM_RIGHTS, and no way to create a listening fd with
 * systemd's options). Same conventions as libc.ts: fixed-arity prototypes,
 * pointers as Buffers (allocUnsafeSlow when the address is stored in another
 * struct), -1 + koffi.errno() on failure. Parent-side only (these are never
 * called between fork and execve).
 */
import koffi from 'koffi';
import type { Ptr } from './libc.js';

const lib = koffi.load('libc.so.6');

function fn<T>(decl: string): T {
  return lib.func(decl) as unknown as T;
}

export const socket = fn<(domain: number, type: number, protocol: number) => number>('int socket(int domain, int type, int protocol)');
/** addr: a sockaddr Buffer; len: its meaningful length. */
export const bind = fn<(fd: number, addr: Ptr, len: number) => number>('int bind(int fd, void *addr, uint32_t len)');
export const connect = fn<(fd: number, addr: Ptr, len: number) => number>('int connect(int fd, void *addr, uint32_t len)');
export const listen = fn<(fd: number, backlog: number) => number>('int listen(int fd, int backlog)');
/** addr/len may be null; len: a 4-byte Buffer (socklen_t, in/out). */
export const accept4 = fn<(fd: number, addr: Ptr, len: Ptr, flags: number) => number>('int accept4(int fd, void *addr, void *len, int flags)');
export const setsockopt = fn<(fd: number, level: number, name: number, value: Ptr, len: number) => number>(
  'int setsockopt(int fd, int level, int name, void *value, uint32_t len)',
);
/** len: a 4-byte Buffer (socklen_t, in/out). */
export const getsockopt = fn<(fd: number, level: number, name: number, value: Ptr, len: Ptr) => number>(
  'int getsockopt(int fd, int level, int name, void *value, void *len)',
);
export const getsockname = fn<(fd: number, addr: Ptr, len: Ptr) => number>('int getsockname(int fd, void *addr, void *len)');
export const getpeername = fn<(fd: number, addr: Ptr, len: Ptr) => number>('int getpeername(int fd, void *addr, void *len)');
/** msg: struct msghdr (56 bytes) whose pointers are koffi.address() values of stable Buffers. */
export const recvmsg = fn<(fd: number, msg: Ptr, flags: number) => number>('long recvmsg(int fd, void *msg, int flags)');
export const sendmsg = fn<(fd: number, msg: Ptr, flags: number) => number>('long sendmsg(int fd, void *msg, int flags)');
export const sendto = fn<(fd: number, buf: Ptr, len: number, flags: number, addr: Ptr, addrLen: number) => number>(
  'long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addr_len)',
);
export const shutdown = fn<(fd: number, how: number) => number>('int shutdown(int fd, int how)');
/** 0 when the interface does not exist. */
export const if_nametoindex = fn<(name: string) => number>('unsigned int if_nametoindex(const char *name)');
/** attr: struct mq_attr (64 bytes) or null. Returns an mqd_t (an fd on Linux). */
export const mq_open = fn<(name: string, oflag: number, mode: number, attr: Ptr) => number>(
  'int mq_open(const char *name, int oflag, uint32_t mode, void *attr)',
);
export const mq_unlink = fn<(name: string) => number>('int mq_unlink(const char *name)');

/** An int socket option. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): number {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value | 0, 0);
  return setsockopt(fd, level, name, v, 4);
}

/** An int socket option's value, or -1 with errno set. */
export function getsockoptInt(fd: number, level: number, name: number): { ret: number; value: number } {
  const v = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4, 0);
  const ret = getsockopt(fd, level, name, v, len);
  return { ret, value: v.readInt32LE(0) };
}
