/**
 * Listen*= address parsing as systemd does it (socket_address_parse() and
 * in_addr_port_ifindex_name_from_string_auto() in src/shared/socket-netlink.c,
 * sockaddr_un_set_path() and parse_ip_port() in src/basic/, v252–v257),
 * producing the sockaddr bytes to bind:
 * - "/path" and "@abstract": AF_UNIX (at most 107 bytes, NUL-terminated);
 * - "80": [::]:80 (dual-stack per BindIPv6Only=) when the kernel has IPv6,
 *   else 0.0.0.0:80; the port follows safe_atou16(): leading blanks, "+",
 *   and 0x/0o/0b prefixes are accepted, 0 and >65535 are not;
 * - "1.2.3.4:80", "[::1]:80", "[fe80::1]:80%eth0" (the interface becomes the
 *   IPv6 scope id; systemd resolves and then ignores it for IPv4);
 * - "vsock:…" is refused (no AF_VSOCK support in sysg);
 * - ListenNetlink=: "family [group]", family by name or number.
 */
import { existsSync } from 'node:fs';
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_UNIX,
  SOCKADDR_IN6_SIZE,
  SOCKADDR_IN_SIZE,
  SOCKADDR_NL_SIZE,
  SOCKADDR_UN_SIZE,
  SUN_PATH_MAX,
  SUN_PATH_OFFSET,
} from '../sys/constants-socket.js';
import { if_nametoindex } from '../sys/libc-socket.js';

/** An address that systemd would refuse; `errno` names systemd's error. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  constructor(
    readonly address: string,
    readonly errno: 'EINVAL' | 'ERANGE' | 'ENAMETOOLONG' | 'ENODEV' | 'EAFNOSUPPORT' | 'EPROTONOSUPPORT',
    why: string,
  ) {
    super(`Failed to parse address value '${address}': ${why}`);
  }
}

export interface UnixAddress {
  readonly family: 'unix';
  /** The path, or "@name" for the abstract namespace. */
  readonly path: string;
  readonly abstract: boolean;
}
export interface InetAddress {
  readonly family: 'inet' | 'inet6';
  /** 4 or 16 bytes, network order. */
  readonly host: Buffer;
  readonly port: number;
  /** IPv6 scope id (the %interface), else 0. */
  readonly scopeId: number;
}
export interface NetlinkAddress {
  readonly family: 'netlink';
  /** NETLINK_* protocol. */
  readonly protocol: number;
  readonly groups: number;
}
export type SocketAddress = UnixAddress | InetAddress | NetlinkAddress;

/** socket_ipv6_is_supported(): the kernel has an IPv6 stack. */
export function ipv6Supported(): boolean {
  return existsSync('/proc/net/if_inet6');
}

/**
 * safe_atou_full(s, 0): strtoul() with systemd's base mangling (0x, 0o, 0b; a
 * plain leading 0 stays decimal), leading whitespace and '+' allowed, '-'
 * refused. undefined on syntax errors, NaN-free; the caller checks the range.
 */
export function safeAtou(s: string): number | undefined {
  let p = s.replace(/^[ \t\n\r\v\f]+/, '');
  if (p.startsWith('+')) p = p.slice(1);
  else if (p.startsWith('-')) return /^-0*$/.test(p) && p.length > 1 ? 0 : undefined;
  let base = 10;
  let digits = /^[0-9]+$/;
  if (/^0[xX]/.test(p)) {
    base = 16;
    digits = /^[0-9a-fA-F]+$/;
    p = p.slice(2);
  } else if (/^0[oO]/.test(p)) {
    base = 8;
    digits = /^[0-7]+$/;
    p = p.slice(2);
  } else if (/^0[bB]/.test(p)) {
    base = 2;
    digits = /^[01]+$/;
    p = p.slice(2);
  }
  if (!digits.test(p)) return undefined;
  const v = parseInt(p, base);
  return v > 0xffffffff ? Infinity : v;
}

/** parse_ip_port(): 1..65535. */
function parsePort(s: string, whole: string): number {
  const v = safeAtou(s);
  if (v === undefined) throw new AddressError(whole, 'EINVAL', `invalid port ${JSON.stringify(s)}`);
  if (v > 0xffff) throw new AddressError(whole, 'ERANGE', `port ${s} out of range`);
  if (v === 0) throw new AddressError(whole, 'EINVAL', 'port 0 is not a listening port');
  return v;
}

/** inet_pton(AF_INET): four decimal octets, no leading zeros. */
export function parseIPv4(s: string): Buffer | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** inet_pton(AF_INET6): hex groups, one "::", an optional trailing dotted IPv4. */
export function parseIPv6(s: string): Buffer | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (g.includes('.')) {
        if (i !== items.length - 1) return undefined;
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // A dotted quad may only end the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  let all: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, 2 * i));
  return out;
}

/** ifname_valid_full(IFNAME_VALID_ALTERNATIVE | IFNAME_VALID_NUMERIC). */
function ifnameValid(s: string): boolean {
  if (s.length === 0 || s.length >= 128) return false; // ALTIFNAMSIZ
  if (s === '.' || s === '..') return false;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c > 0x7f || c <= 0x20 || c === 0x7f || ch === '/' || ch === ':' || ch === '%') return false;
  }
  return true;
}

/** rtnl_resolve_interface(): an ifindex, or ENODEV. */
function resolveInterface(name: string, whole: string): number {
  if (/^[0-9]+$/.test(name)) {
    const n = Number(name);
    if (n > 0 && n <= 0x7fffffff) return n;
  }
  const idx = if_nametoindex(name);
  if (idx <= 0) throw new AddressError(whole, 'ENODEV', `no network interface ${JSON.stringify(name)}`);
  return idx;
}

function parseUnix(s: string): UnixAddress {
  const bytes = Buffer.byteLength(s);
  if (bytes < 2) throw new AddressError(s, 'EINVAL', 'an AF_UNIX address needs a name');
  if (s.includes('\0')) throw new AddressError(s, 'EINVAL', 'contains a NUL byte');
  if (bytes + 1 > SUN_PATH_MAX) {
    throw new AddressError(s, s[0] === '@' ? 'EINVAL' : 'ENAMETOOLONG', `longer than ${SUN_PATH_MAX - 1} bytes`);
  }
  return { family: 'unix', path: s, abstract: s[0] === '@' };
}

/** socket_address_parse(). */
export function parseSocketAddress(s: string): SocketAddress {
  if (s.startsWith('/') || s.startsWith('@')) return parseUnix(s);
  if (s.startsWith('vsock:')) throw new AddressError(s, 'EAFNOSUPPORT', 'AF_VSOCK addresses are not supported by sysg');

  // Just a port?
  const portOnly = safeAtou(s);
  if (portOnly !== undefined) {
    const port = parsePort(s, s);
    return ipv6Supported()
      ? { family: 'inet6', host: Buffer.alloc(16), port, scopeId: 0 }
      : { family: 'inet', host: Buffer.alloc(4), port, scopeId: 0 };
  }

  let rest = s;
  if (rest.includes('#')) throw new AddressError(s, 'EINVAL', 'a server name (#…) is not allowed here');
  let ifindex = 0;
  const pct = rest.indexOf('%');
  if (pct >= 0) {
    const ifname = rest.slice(pct + 1);
    if (!ifnameValid(ifname)) throw new AddressError(s, 'EINVAL', `invalid interface name ${JSON.stringify(ifname)}`);
    ifindex = resolveInterface(ifname, s);
    rest = rest.slice(0, pct);
  }
  const colon = rest.lastIndexOf(':');
  if (colon < 0) throw new AddressError(s, 'EINVAL', 'no port');
  if (rest.startsWith('[')) {
    if (rest[colon - 1] !== ']') throw new AddressError(s, 'EINVAL', 'expected [address]:port');
    const port = parsePort(rest.slice(colon + 1), s);
    const host = parseIPv6(rest.slice(1, colon - 1));
    if (!host) throw new AddressError(s, 'EINVAL', 'invalid IPv6 address');
    return { family: 'inet6', host, port, scopeId: ifindex };
  }
  // A bare IPv6 address has no port (port 0: "No port, no go").
  if (parseIPv6(rest)) throw new AddressError(s, 'EINVAL', 'an IPv6 address needs brackets and a port: [address]:port');
  const host = parseIPv4(rest.slice(0, colon));
  if (!host) throw new AddressError(s, 'EINVAL', 'not an IPv4 address, [IPv6] address, port, path or @name');
  // systemd parses and resolves %interface for IPv4 too, then has nowhere to put it.
  return { family: 'inet', host, port: parsePort(rest.slice(colon + 1), s), scopeId: 0 };
}

/** netlink_family_to_string() table (NETLINK_* numbers from linux/netlink.h). */
const NETLINK_FAMILIES: Readonly<Record<string, number>> = {
  route: 0,
  firewall: 3,
  'inet-diag': 4,
  nflog: 5,
  xfrm: 6,
  selinux: 7,
  iscsi: 8,
  audit: 9,
  'fib-lookup': 10,
  connector: 11,
  netfilter: 12,
  'ip6-fw': 13,
  dnrtmsg: 14,
  'kobject-uevent': 15,
  generic: 16,
  scsitransport: 18,
  ecryptfs: 19,
  rdma: 20,
};

/** socket_address_parse_netlink(): "family [group]". */
export function parseNetlinkAddress(s: string): NetlinkAddress {
  const m = /^[ \t\n]*(\S+)(?:[ \t\n]+(.*?))?[ \t\n]*$/.exec(s);
  if (!m) throw new AddressError(s, 'EINVAL', 'expected "family [group]"');
  const fam = m[1]!;
  let protocol = NETLINK_FAMILIES[fam];
  if (protocol === undefined && /^[0-9]+$/.test(fam) && Number(fam) <= 0x7fffffff) protocol = Number(fam);
  if (protocol === undefined) throw new AddressError(s, 'EINVAL', `unknown netlink family ${JSON.stringify(fam)}`);
  let groups = 0;
  if (m[2]) {
    const g = safeAtou(m[2]);
    if (g === undefined || g > 0xffffffff) throw new AddressError(s, 'EINVAL', `invalid netlink group ${JSON.stringify(m[2])}`);
    groups = g;
  }
  return { family: 'netlink', protocol, groups };
}

/** The sockaddr to bind(2), and its length. */
export function sockaddrOf(a: SocketAddress): { addr: Buffer; len: number; domain: number } {
  switch (a.family) {
    case 'unix': {
      const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
      addr.writeUInt16LE(AF_UNIX, 0);
      const bytes = Buffer.from(a.path, 'utf8');
      bytes.copy(addr, SUN_PATH_OFFSET);
      if (a.abstract) {
        addr[SUN_PATH_OFFSET] = 0;
        return { addr, len: SUN_PATH_OFFSET + bytes.length, domain: AF_UNIX };
      }
      return { addr, len: SUN_PATH_OFFSET + bytes.length + 1, domain: AF_UNIX };
    }
    case 'inet': {
      const addr = Buffer.alloc(SOCKADDR_IN_SIZE);
      addr.writeUInt16LE(AF_INET, 0);
      addr.writeUInt16BE(a.port, 2);
      a.host.copy(addr, 4);
      return { addr, len: SOCKADDR_IN_SIZE, domain: AF_INET };
    }
    case 'inet6': {
      const addr = Buffer.alloc(SOCKADDR_IN6_SIZE);
      addr.writeUInt16LE(AF_INET6, 0);
      addr.writeUInt16BE(a.port, 2);
      a.host.copy(addr, 8);
      addr.writeUInt32LE(a.scopeId, 24);
      return { addr, len: SOCKADDR_IN6_SIZE, domain: AF_INET6 };
    }
    case 'netlink': {
      const addr = Buffer.alloc(SOCKADDR_NL_SIZE);
      addr.writeUInt16LE(AF_NETLINK, 0);
      addr.writeUInt32LE(a.groups >>> 0, 8);
      return { addr, len: SOCKADDR_NL_SIZE, domain: AF_NETLINK };
    }
  }
}

/** IPv4 dotted quad or IPv6 text (v4-mapped shown as IPv4, as systemd's sockaddr_pretty(translate_ipv6)). */
export function formatHost(family: 'inet' | 'inet6', host: Buffer): string {
  if (family === 'inet') return [...host].join('.');
  if (host.subarray(0, 10).every((b) => b === 0) && host[10] === 0xff && host[11] === 0xff) return [...host.subarray(12)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(host.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** socket_address_print()-like text: "1.2.3.4:80", "[::1]:80", "/path", "@name". */
export function formatAddress(a: SocketAddress): string {
  switch (a.family) {
    case 'unix':
      return a.path;
    case 'inet':
      return `${formatHost('inet', a.host)}:${a.port}`;
    case 'inet6':
      return `[${formatHost('inet6', a.host)}]:${a.port}${a.scopeId ? `%${a.scopeId}` : ''}`;
    case 'netlink':
      return `netlink ${a.protocol} ${a.groups}`;
  }
}
