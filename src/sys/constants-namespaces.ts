/**
 * Constants for the namespaces mechanism (linux/if.h, linux/sockios.h,
 * linux/socket.h). The same on x86-64 and aarch64.
 */

export const AF_INET = 2;

/** struct ifreq: char ifr_name[IFNAMSIZ]; then a union whose short ifr_flags sits at offset 16. 40 bytes on LP64. */
export const IFNAMSIZ = 16;
export const IFREQ_SIZE = 40;
export const IFREQ_FLAGS_OFFSET = 16;

/** linux/sockios.h */
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;

/** linux/if.h net_device_flags */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
