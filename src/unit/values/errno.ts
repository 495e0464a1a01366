/**
 * errno names and numbers: errno_from_name()/errno_to_name() (src/basic/
 * errno-list.c) and parse_errno() (src/basic/parse-util.c), v255, as used by
 * SystemCallErrorNumber= and the ":errno" suffix of SystemCallFilter=.
 *
 * The table is Linux's asm-generic/errno-base.h + errno.h (1…133, no 41 or 58),
 * which x86-64 and aarch64 share; glibc adds the aliases EWOULDBLOCK (=EAGAIN),
 * EDEADLOCK (=EDEADLK) and ENOTSUP (=EOPNOTSUPP), which systemd's name list,
 * generated from <errno.h>, accepts too. Names are case-sensitive. Printing
 * uses the primary names (what strerrorname_np() returns).
 *
 * "kill" (and "log" for SystemCallLog-style settings) are not errnos; the
 * directive parsers check for them before calling parseErrno().
 */
import { ValueError } from '../diagnostics.js';
import { CParseError, safeAtoi } from './cparse.js';

export const ERRNOS: Readonly<Record<string, number>> = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10, EAGAIN: 11,
  ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20,
  EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29,
  EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38,
  ENOTEMPTY: 39, ELOOP: 40, ENOMSG: 42, EIDRM: 43, ECHRNG: 44, EL2NSYNC: 45, EL3HLT: 46, EL3RST: 47, ELNRNG: 48,
  EUNATCH: 49, ENOCSI: 50, EL2HLT: 51, EBADE: 52, EBADR: 53, EXFULL: 54, ENOANO: 55, EBADRQC: 56, EBADSLT: 57,
  EBFONT: 59, ENOSTR: 60, ENODATA: 61, ETIME: 62, ENOSR: 63, ENONET: 64, ENOPKG: 65, EREMOTE: 66, ENOLINK: 67,
  EADV: 68, ESRMNT: 69, ECOMM: 70, EPROTO: 71, EMULTIHOP: 72, EDOTDOT: 73, EBADMSG: 74, EOVERFLOW: 75, ENOTUNIQ: 76,
  EBADFD: 77, EREMCHG: 78, ELIBACC: 79, ELIBBAD: 80, ELIBSCN: 81, ELIBMAX: 82, ELIBEXEC: 83, EILSEQ: 84,
  ERESTART: 85, ESTRPIPE: 86, EUSERS: 87, ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91,
  ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, ESOCKTNOSUPPORT: 94, EOPNOTSUPP: 95, EPFNOSUPPORT: 96, EAFNOSUPPORT: 97,
  EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100, ENETUNREACH: 101, ENETRESET: 102, ECONNABORTED: 103,
  ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ESHUTDOWN: 108, ETOOMANYREFS: 109, ETIMEDOUT: 110,
  ECONNREFUSED: 111, EHOSTDOWN: 112, EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115, ESTALE: 116, EUCLEAN: 117,
  ENOTNAM: 118, ENAVAIL: 119, EISNAM: 120, EREMOTEIO: 121, EDQUOT: 122, ENOMEDIUM: 123, EMEDIUMTYPE: 124,
  ECANCELED: 125, ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128, EKEYREJECTED: 129, EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131, ERFKILL: 132, EHWPOISON: 133,
};

/** glibc's alternative spellings. */
export const ERRNO_ALIASES: Readonly<Record<string, number>> = { EWOULDBLOCK: 11, EDEADLOCK: 35, ENOTSUP: 95 };

/** systemd's ERRNO_MAX: numbers 1…4095 are valid errnos even without a name. */
export const ERRNO_MAX = 4095;

const NAME_BY_NUMBER = new Map(Object.entries(ERRNOS).map(([k, v]) => [v, k]));

/** errno_from_name(): the number for a name (aliases included), or undefined. */
export function errnoFromName(name: string): number | undefined {
  if (Object.hasOwn(ERRNOS, name)) return ERRNOS[name];
  if (Object.hasOwn(ERRNO_ALIASES, name)) return ERRNO_ALIASES[name];
  return undefined;
}

/**
 * parse_errno(): a name ("EPERM") or a number (safe_atoi(), so "0x1" works)
 * in 0…4095. 0 is accepted here; SystemCallErrorNumber= then refuses it.
 */
export function parseErrno(value: string): number {
  const named = errnoFromName(value);
  if (named !== undefined) return named;
  let n: number;
  try {
    n = safeAtoi(value);
  } catch (e) {
    if (e instanceof CParseError) {
      throw new ValueError(e.errno === 'ERANGE' ? `Error number "${value}" out of range 0…${ERRNO_MAX}` : `Failed to parse error number "${value}": not a known errno name or a number`);
    }
    throw e;
  }
  if (n < 0 || n > ERRNO_MAX) throw new ValueError(`Error number "${value}" out of range 0…${ERRNO_MAX}`);
  return n;
}

/** errno_to_name(): 1 → "EPERM", 11 → "EAGAIN"; undefined for numbers without a name. */
export function errnoName(n: number): string | undefined {
  return NAME_BY_NUMBER.get(Math.abs(n));
}
