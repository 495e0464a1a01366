/**
 * Socket constants for sd_notify and socket activation. The SO_*, SOL_* and
 * IP* values are the asm-generic ones, identical on x86-64 and aarch64
 * (include/uapi/asm-generic/socket.h, include/uapi/linux/in.h, in6.h, tcp.h).
 * Struct layouts are those of LP64 Linux (both architectures).
 */

// Address families (include/linux/socket.h)
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_VSOCK = 40;

// Socket types
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

// Levels
export const SOL_SOCKET = 1;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
export const SOL_TCP = IPPROTO_TCP;
export const SOL_SCTP = IPPROTO_SCTP;
export const SOL_NETLINK = 270;

// SOL_SOCKET options (asm-generic/socket.h)
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_PRIORITY = 12;
export const SO_REUSEPORT = 15;
export const SO_PASSCRED = 16;
export const SO_PEERCRED = 17;
export const SO_BINDTODEVICE = 25;
export const SO_TIMESTAMP = 29; // SO_TIMESTAMP_OLD: what glibc's SO_TIMESTAMP is on 64-bit
export const SO_ACCEPTCONN = 30;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_PASSSEC = 34;
export const SO_TIMESTAMPNS = 35; // SO_TIMESTAMPNS_OLD
export const SO_MARK = 36;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;

// IPPROTO_IP (linux/in.h)
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_PKTINFO = 8;
export const IP_FREEBIND = 15;
export const IP_TRANSPARENT = 19;
// IPPROTO_IPV6 (linux/in6.h, ipv6.h)
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_TRANSPARENT = 75;
export const IPV6_FREEBIND = 78;
// SOL_TCP (linux/tcp.h)
export const TCP_NODELAY = 1;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_DEFER_ACCEPT = 9;
export const TCP_CONGESTION = 13;
// SOL_SCTP (linux/sctp.h)
export const SCTP_NODELAY = 3;
// SOL_NETLINK (linux/netlink.h)
export const NETLINK_PKTINFO = 3;

// Ancillary data (linux/socket.h)
export const SCM_RIGHTS = 1;
export const SCM_CREDENTIALS = 2;

// send/recv flags
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** systemd's SOMAXCONN_DELUXE: the kernel caps the backlog at net.core.somaxconn. */
export const BACKLOG_DEFAULT = 0x7fffffff;

// fcntl(2)
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;

// Struct sizes and offsets (LP64)
/** struct sockaddr_un: sa_family_t + char sun_path[108]. */
export const SOCKADDR_UN_SIZE = 110;
export const SUN_PATH_OFFSET = 2;
export const SUN_PATH_MAX = 108;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** struct sockaddr_nl: family u16, pad u16, pid u32, groups u32. */
export const SOCKADDR_NL_SIZE = 12;
/** struct sockaddr_storage. */
export const SOCKADDR_STORAGE_SIZE = 128;
/** struct msghdr: name ptr, namelen u32 (+pad), iov ptr, iovlen size_t, control ptr, controllen size_t, flags int (+pad). */
export const MSGHDR_SIZE = 56;
export const MSGHDR = { name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 } as const;
/** struct iovec: base ptr, len size_t. */
export const IOVEC_SIZE = 16;
/** struct cmsghdr: len size_t, level int, type int; data follows at CMSG_ALIGN(16). */
export const CMSGHDR_SIZE = 16;
/** struct ucred: pid, uid, gid. */
export const UCRED_SIZE = 12;

/** CMSG_ALIGN(n): rounded up to sizeof(size_t). */
export const cmsgAlign = (n: number): number => (n + 7) & ~7;
/** CMSG_SPACE(n). */
export const cmsgSpace = (n: number): number => CMSGHDR_SIZE + cmsgAlign(n);
/** CMSG_LEN(n). */
export const cmsgLen = (n: number): number => CMSGHDR_SIZE + n;
