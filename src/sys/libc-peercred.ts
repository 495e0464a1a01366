/**
 * Peer credentials of a connected Unix socket (SO_PEERCRED) and advisory
 * whole-file locks (flock), for the supervisor's control socket and its
 * single-instance lock.
 *
 * Getting the fd of a node net.Socket: libuv's stream handle (the Pipe wrap
 * behind `socket._handle`) exposes the descriptor as a read-only `fd`
 * property on Unix (LibuvStreamWrap::GetFD in node's stream_wrap.cc). It is
 * valid from the server's 'connection' event until the socket is destroyed;
 * node keeps ownership (never close it here). getsockopt on it is a plain,
 * non-blocking query of credentials the kernel recorded at connect(2) time.
 */
import koffi from 'koffi';
import type { Socket } from 'node:net';
import { check } from './errno.js';

const lib = koffi.load('libc.so.6');

// asm-generic values, identical on x86-64 and aarch64.
export const SOL_SOCKET = 1;
export const SO_PEERCRED = 17;
/** struct ucred { pid_t pid; uid_t uid; gid_t gid; } */
export const UCRED_SIZE = 12;

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const getsockopt = lib.func('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)') as unknown as (
  fd: number,
  level: number,
  optname: number,
  optval: Buffer,
  optlen: Buffer,
) => number;

/** flock(2). Returns -1 with errno (EWOULDBLOCK=11 under LOCK_NB when held). */
export const flock = lib.func('int flock(int fd, int op)') as unknown as (fd: number, op: number) => number;

export interface PeerCred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** SO_PEERCRED of a connected AF_UNIX socket fd. Throws SysError. */
export function peerCred(fd: number): PeerCred {
  const buf = Buffer.alloc(UCRED_SIZE);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(UCRED_SIZE, 0);
  check(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len), 'getsockopt(SO_PEERCRED)');
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

/** The OS descriptor of a connected node socket (see the header), or -1 when it has none. */
export function socketFd(sock: Socket): number {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}
