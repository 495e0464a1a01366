/**
 * Bringing `lo` up in a fresh network namespace, child-side.
 *
 * A new netns has exactly one interface, `lo`, and it is down. Setting
 * IFF_UP is enough: on NETDEV_UP the kernel gives a loopback device its
 * 127.0.0.1/8 and ::1 addresses itself (net/ipv4/devinet.c inetdev_event,
 * net/ipv6/addrconf.c init_loopback), so no rtnetlink is needed. The
 * SIOC[GS]IFFLAGS ioctls take a `struct ifreq` naming the interface and work
 * on any socket of the namespace; CAP_NET_ADMIN over the netns is needed.
 */
import { cZero } from '../sys/cmem.js';
import { SOCK_CLOEXEC, SOCK_DGRAM } from '../sys/constants.js';
import { AF_INET, IFF_UP, IFREQ_FLAGS_OFFSET, IFREQ_SIZE, SIOCGIFFLAGS, SIOCSIFFLAGS } from '../sys/constants-namespaces.js';
import { close } from '../sys/libc.js';
import { ioctlPtr, socket } from '../sys/libc-namespaces.js';
import { fail, type ChildFn } from '../launch/child.js';

/** A ChildFn that sets IFF_UP on `lo` of the current network namespace. `keep` holds its buffer. */
export function loopbackUp(keep: (b: Buffer) => Buffer): ChildFn {
  const ifr = keep(cZero(IFREQ_SIZE));
  ifr.write('lo', 0, 'latin1'); // NUL-terminated by the zero fill
  const flagsLow = IFREQ_FLAGS_OFFSET; // IFF_UP lives in the low byte of the little-endian short
  return () => {
    const s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return fail();
    let e = 0;
    if (ioctlPtr(s, SIOCGIFFLAGS, ifr) < 0) e = fail();
    else {
      ifr[flagsLow] = ifr[flagsLow]! | IFF_UP;
      if (ioctlPtr(s, SIOCSIFFLAGS, ifr) < 0) e = fail();
    }
    close(s);
    return e;
  };
}
