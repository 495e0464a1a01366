/**
 * errno helpers. koffi keeps the errno of the last foreign call per thread:
 * read it with errno() immediately after the call, before any other koffi call.
 */
import koffi from 'koffi';
import { getSystemErrorMap } from 'node:util';

/** errno left by the most recent koffi call on this thread. */
export function errno(): number {
  return koffi.errno();
}

// libuv's map is keyed by -errno on Linux: [-2, ['ENOENT', 'no such file or directory']].
let byErrno: Map<number, readonly [string, string]> | undefined;
function table(): Map<number, readonly [string, string]> {
  if (!byErrno) {
    byErrno = new Map();
    for (const [k, v] of getSystemErrorMap()) byErrno.set(-k, v);
  }
  return byErrno;
}

/** 2 → "ENOENT"; unknown numbers → "errno 999". */
export function errnoName(e: number): string {
  return table().get(e)?.[0] ?? `errno ${e}`;
}

/** 2 → "ENOENT (no such file or directory)". */
export function describeErrno(e: number): string {
  const row = table().get(e);
  return row ? `${row[0]} (${row[1]})` : `errno ${e}`;
}

/** A failed system call, with its errno. */
export class SysError extends Error {
  override readonly name = 'SysError';
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${describeErrno(errno)}`);
  }
}

/**
 * Throws SysError when a libc call returned a negative value. Use as
 * `check(close(fd), 'close')`: the call is evaluated first, so errno is fresh.
 * Parent-side only: it allocates and throws.
 */
export function check(ret: number, call: string): number {
  if (ret < 0) throw new SysError(call, koffi.errno());
  return ret;
}
