/**
 * Socket activation: a service model's `socket` block → listening fds,
 * created as systemd's socket unit creates them (socket_open_fds(),
 * socket_address_listen(), socket_apply_socket_options(),
 * fifo_address_create(), special_address_create(), mq_address_create(),
 * socket_symlink(), socket_chown(), socket_close_fds() in src/core/socket.c
 * and src/shared/socket-label.c, v252–v257), in the order of the Listen*=
 * lines, each named FileDescriptorName= or the socket unit's name.
 *
 * Order per port: socket(CLOEXEC|NONBLOCK) → IPV6_V6ONLY (unless
 * BindIPv6Only=default) → for IP: SO_BINDTODEVICE, SO_REUSEPORT, IP_FREEBIND,
 * IP_TRANSPARENT → SO_REUSEADDR → bind (AF_UNIX: parents made with
 * DirectoryMode=, umask ~SocketMode=, a stale node unlinked on EADDRINUSE) →
 * listen(Backlog=) for stream/seqpacket → the socket options → Symlinks=.
 * After all ports: SocketUser=/SocketGroup= chown. Option failures are
 * warnings, as in systemd; address, bind, listen and chown failures are errors.
 *
 * Accept=yes: the listeners are watched with koffi.node.poll; each connection
 * is accept4()ed, gets the socket options, is counted against
 * MaxConnections=/MaxConnectionsPerSource=, and goes to a callback.
 * Accept=no: watch() reports the first traffic (for on-demand start).
 *
 * Every field of the `socket` block is either applied here (SOCKET_FIELDS),
 * named by the caller as handled elsewhere (the lifecycle's fields), or
 * refused with an error naming it.
 */
import { chmodSync, chownSync, fchownSync, fstatSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import koffi from 'koffi';
import type { ListenFd } from '../launch/plan.js';
import type { ServiceView } from '../plan/service.js';
import { errno, describeErrno, errnoName } from '../sys/errno.js';
import { close, fcntl, mkfifo, open, poll, read } from '../sys/libc.js';
import { F_GETFL, F_SETFL, O_CLOEXEC, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, POLLFD_SIZE, POLLIN } from '../sys/constants.js';
import { accept4, bind, getpeername, getsockname, getsockopt, listen, mq_open, mq_unlink, setsockopt, setsockoptInt, socket, getsockoptInt } from '../sys/libc-socket.js';
import {
  BACKLOG_DEFAULT,
  F_SETPIPE_SZ,
  IP_FREEBIND,
  IP_PKTINFO,
  IP_TOS,
  IP_TRANSPARENT,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_SCTP,
  IPPROTO_UDPLITE,
  IPV6_FREEBIND,
  IPV6_RECVPKTINFO,
  IPV6_TRANSPARENT,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  NETLINK_PKTINFO,
  SCTP_NODELAY,
  SO_BINDTODEVICE,
  SO_BROADCAST,
  SO_KEEPALIVE,
  SO_MARK,
  SO_PASSCRED,
  SO_PASSSEC,
  SO_PEERCRED,
  SO_PRIORITY,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SO_TIMESTAMP,
  SO_TIMESTAMPNS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOCKADDR_STORAGE_SIZE,
  SOL_NETLINK,
  SOL_SCTP,
  SOL_SOCKET,
  SOL_TCP,
  TCP_CONGESTION,
  TCP_DEFER_ACCEPT,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_NODELAY,
  AF_INET,
  AF_INET6,
  AF_UNIX,
} from '../sys/constants-socket.js';
import { parseTimespan, USEC_PER_SEC } from '../unit/values/timespan.js';
import { fdnameIsValid } from './notify.js';
import { AddressError, formatAddress, formatHost, parseNetlinkAddress, parseSocketAddress, sockaddrOf, type SocketAddress } from './sockets-address.js';

export { AddressError, parseSocketAddress, parseNetlinkAddress } from './sockets-address.js';

/** The `socket.*` fields this module applies. */
export const SOCKET_FIELDS: readonly string[] = [
  'name',
  'fragment',
  'listen',
  'socket_protocol',
  'bind_ipv6_only',
  'backlog',
  'bind_to_device',
  'socket_user',
  'socket_group',
  'socket_mode',
  'directory_mode',
  'accept',
  'writable',
  'max_connections',
  'max_connections_per_source',
  'keep_alive',
  'keep_alive_time_sec',
  'keep_alive_interval_sec',
  'keep_alive_probes',
  'defer_accept_sec',
  'no_delay',
  'priority',
  'receive_buffer',
  'send_buffer',
  'ip_tos',
  'ip_ttl',
  'mark',
  'pipe_size',
  'free_bind',
  'transparent',
  'broadcast',
  'pass_credentials',
  'pass_security',
  'pass_packet_info',
  'timestamping',
  'tcp_congestion',
  'reuse_port',
  'message_queue_max_messages',
  'message_queue_message_size',
  'remove_on_stop',
  'symlinks',
  'file_descriptor_name',
  /** Applied by flushPending(), which the lifecycle calls when the service exits. */
  'flush_pending',
];

/**
 * The `socket.*` fields of the socket unit's life that the service lifecycle
 * must handle (or refuse): pass the ones it does as `handledElsewhere`.
 */
export const SOCKET_LIFECYCLE_FIELDS: readonly string[] = [
  'service',
  'commands',
  'timeout',
  'trigger_limit_interval_sec',
  'trigger_limit_burst',
  'poll_limit_interval_sec',
  'poll_limit_burst',
  'unit',
  'install',
  // The exec context of the socket unit's own ExecStartPre=/… commands.
  'working_dir',
  'sandbox',
  'user',
  'group',
  'supplementary_groups',
  'env',
  'limits',
  'umask',
  'dynamic_user',
  'stdio',
  'logs',
  'exec_search_path',
  'directories',
  'credentials',
  'timeouts',
  'ignore_sigpipe',
  'kill',
];

export type ListenKind = 'stream' | 'datagram' | 'sequential-packet' | 'fifo' | 'special' | 'netlink' | 'message-queue' | 'usb-function';

export interface OpenPort {
  readonly kind: ListenKind;
  /** The Listen*= value. */
  readonly address: string;
  readonly fd: number;
  /** FileDescriptorName= or the socket unit name. */
  readonly name: string;
  /** Parsed address of socket ports. */
  readonly socketAddress?: SocketAddress;
  /** A file system node this port created (AF_UNIX path or FIFO), removed by RemoveOnStop=. */
  readonly node?: string;
  /** Whether connections are accepted on it (stream/seqpacket sockets). */
  readonly canAccept: boolean;
}

/** One Accept=yes connection. */
export interface Connection {
  /** The connected socket (CLOEXEC, blocking). Owned by the Connection: release() closes it. */
  readonly fd: number;
  readonly port: OpenPort;
  /** systemd's instance string: "<n>-<local>-<peer>" (IP) or "<n>-<pid>-<uid>" (AF_UNIX). */
  readonly instance: string;
  /** Peer address (IP) or "pid:uid" (AF_UNIX), if known. */
  readonly peer: string | undefined;
  /** REMOTE_ADDR= and REMOTE_PORT= for the instance's environment (IP connections only), as service_spawn() sets them. */
  readonly env: readonly string[];
  /** The fd as a launch plan ListenFd (named "connection", as systemd names it). */
  readonly listenFd: ListenFd;
  /** Closes the supervisor's copy of the fd (e.g. right after the launch); idempotent. */
  closeFd(): void;
  /** The instance is gone: closes the fd and frees its MaxConnections= slots. Idempotent. */
  release(): void;
}

export interface SocketSetOptions {
  /** Fields of the socket block the caller handles (from SOCKET_LIFECYCLE_FIELDS); any other unknown field is refused. */
  readonly handledElsewhere?: readonly string[];
  /** Option failures that systemd only logs (SO_KEEPALIVE failed: …). */
  readonly onWarning?: (message: string) => void;
  readonly passwdFile?: string;
  readonly groupFile?: string;
}

/** A Listen*= or [Socket] setting that cannot be applied: names the field. */
export class SocketSetupError extends Error {
  override readonly name = 'SocketSetupError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

interface SocketConfig {
  readonly unitName: string;
  readonly fdname: string;
  readonly accept: boolean;
  readonly backlog: number;
  readonly bindIPv6Only: 'default' | 'both' | 'ipv6-only';
  readonly bindToDevice: string | undefined;
  readonly reusePort: boolean;
  readonly freeBind: boolean;
  readonly transparent: boolean;
  readonly socketMode: number;
  readonly directoryMode: number;
  readonly protocol: number;
  readonly writable: boolean;
  readonly keepAlive: boolean;
  readonly keepAliveTime: number;
  readonly keepAliveInterval: number;
  readonly keepAliveProbes: number;
  readonly deferAccept: number;
  readonly noDelay: boolean;
  readonly broadcast: boolean;
  readonly passCred: boolean;
  readonly passSec: boolean;
  readonly passPktinfo: boolean;
  readonly timestamping: 'off' | 'us' | 'ns';
  readonly priority: number | undefined;
  readonly receiveBuffer: number;
  readonly sendBuffer: number;
  readonly mark: number | undefined;
  readonly ipTos: number | undefined;
  readonly ipTtl: number | undefined;
  readonly tcpCongestion: string | undefined;
  readonly pipeSize: number;
  readonly mqMaxMsg: number;
  readonly mqMsgSize: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  readonly removeOnStop: boolean;
  readonly symlinks: readonly string[];
  readonly user: string | undefined;
  readonly group: string | undefined;
  readonly flushPending: boolean;
}

const IPTOS: Readonly<Record<string, number>> = { 'low-delay': 0x10, throughput: 0x08, reliability: 0x04, 'low-cost': 0x02 };

/** A mode given as "0600", "600" or a number (YAML may give 384 or 600). */
function mode(svc: ServiceView, field: string, def: number): number {
  const v = svc.scalar(field);
  if (v === undefined) return def;
  const s = typeof v === 'number' ? String(v) : v;
  if (!/^[0-7]{1,4}$/.test(s)) svc.error(field, `${field}: expected an octal access mode, got ${JSON.stringify(v)}`);
  return parseInt(s, 8);
}

function uint(svc: ServiceView, field: string, max = 0xffffffff): number | undefined {
  const v = svc.num(field);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > max) svc.error(field, `${field}: expected an integer 0..${max}, got ${v}`);
  return v;
}

function int(svc: ServiceView, field: string, min: number, max: number): number | undefined {
  const v = svc.num(field);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) svc.error(field, `${field}: expected an integer ${min}..${max}, got ${v}`);
  return v;
}

/** Timespan fields (strings like "2min" from convert, or seconds as numbers) → whole seconds, as systemd divides. */
function seconds(svc: ServiceView, field: string): number {
  const v = svc.scalar(field);
  if (v === undefined) return 0;
  let usec: number;
  try {
    usec = typeof v === 'number' ? v * USEC_PER_SEC : parseTimespan(v);
  } catch (e) {
    return svc.error(field, `${field}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Number.isFinite(usec)) return 0;
  return Math.min(Math.floor(usec / USEC_PER_SEC), 0x7fffffff);
}

function readConfig(svc: ServiceView): SocketConfig {
  const f = (name: string): string => `socket.${name}`;
  const unitName = svc.str(f('name')) ?? svc.unitName.replace(/\.service$/, '.socket');
  const fdname = svc.str(f('file_descriptor_name'));
  if (fdname !== undefined && (!fdnameIsValid(fdname) || fdname === '')) {
    svc.error(f('file_descriptor_name'), `FileDescriptorName=${fdname}: invalid file descriptor name (printable ASCII but ':', at most 255 characters)`);
  }
  const ipv6only = svc.str(f('bind_ipv6_only')) ?? 'default';
  if (ipv6only !== 'default' && ipv6only !== 'both' && ipv6only !== 'ipv6-only') {
    svc.error(f('bind_ipv6_only'), `BindIPv6Only=${ipv6only}: expected default, both or ipv6-only`);
  }
  const proto = svc.str(f('socket_protocol'));
  if (proto !== undefined && proto !== 'udplite' && proto !== 'sctp') svc.error(f('socket_protocol'), `SocketProtocol=${proto}: expected udplite or sctp`);
  let device = svc.str(f('bind_to_device'));
  if (device === '' || device === '*') device = undefined;
  if (device !== undefined && (device.length >= 16 || /[\s/:%]/.test(device) || device === '.' || device === '..')) {
    svc.error(f('bind_to_device'), `BindToDevice=${device}: invalid interface name`);
  }
  const tosRaw = svc.scalar(f('ip_tos'));
  let ipTos: number | undefined;
  if (tosRaw !== undefined) {
    ipTos = typeof tosRaw === 'number' ? tosRaw : (IPTOS[tosRaw] ?? (/^[0-9]+$/.test(tosRaw) ? Number(tosRaw) : NaN));
    if (!Number.isInteger(ipTos) || ipTos < 0 || ipTos > 0xff) svc.error(f('ip_tos'), `IPTOS=${tosRaw}: expected low-delay, throughput, reliability, low-cost or 0..255`);
  }
  const ts = svc.scalar(f('timestamping'));
  let timestamping: SocketConfig['timestamping'] = 'off';
  if (ts !== undefined) {
    const s = String(ts);
    if (['us', 'usec', 'µs', 'μs', 'yes', 'true', 'on', '1', 'y', 't'].includes(s)) timestamping = 'us';
    else if (['ns', 'nsec'].includes(s)) timestamping = 'ns';
    else if (!['off', 'no', 'false', '0', 'n', 'f'].includes(s)) svc.error(f('timestamping'), `Timestamping=${s}: expected off, us or ns`);
  }
  const maxConnections = uint(svc, f('max_connections')) ?? 64;
  const bool = (name: string): boolean => svc.bool(f(name)) ?? false;
  return {
    unitName,
    fdname: fdname ?? unitName,
    accept: bool('accept'),
    backlog: Math.min(uint(svc, f('backlog')) ?? BACKLOG_DEFAULT, BACKLOG_DEFAULT),
    bindIPv6Only: ipv6only as SocketConfig['bindIPv6Only'],
    bindToDevice: device,
    reusePort: bool('reuse_port'),
    freeBind: bool('free_bind'),
    transparent: bool('transparent'),
    socketMode: mode(svc, f('socket_mode'), 0o666),
    directoryMode: mode(svc, f('directory_mode'), 0o755),
    protocol: proto === 'sctp' ? IPPROTO_SCTP : proto === 'udplite' ? IPPROTO_UDPLITE : 0,
    writable: bool('writable'),
    keepAlive: bool('keep_alive'),
    keepAliveTime: seconds(svc, f('keep_alive_time_sec')),
    keepAliveInterval: seconds(svc, f('keep_alive_interval_sec')),
    keepAliveProbes: uint(svc, f('keep_alive_probes'), 0x7fffffff) ?? 0,
    deferAccept: seconds(svc, f('defer_accept_sec')),
    noDelay: bool('no_delay'),
    broadcast: bool('broadcast'),
    passCred: bool('pass_credentials'),
    passSec: bool('pass_security'),
    passPktinfo: bool('pass_packet_info'),
    timestamping,
    priority: int(svc, f('priority'), 0, 0x7fffffff),
    receiveBuffer: uint(svc, f('receive_buffer'), 0x7fffffff) ?? 0,
    sendBuffer: uint(svc, f('send_buffer'), 0x7fffffff) ?? 0,
    mark: int(svc, f('mark'), 0, 0x7fffffff),
    ipTos,
    ipTtl: int(svc, f('ip_ttl'), 0, 255),
    tcpCongestion: svc.str(f('tcp_congestion')),
    pipeSize: uint(svc, f('pipe_size'), 0x7fffffff) ?? 0,
    mqMaxMsg: int(svc, f('message_queue_max_messages'), 0, 0x7fffffff) ?? 0,
    mqMsgSize: int(svc, f('message_queue_message_size'), 0, 0x7fffffff) ?? 0,
    maxConnections,
    maxConnectionsPerSource: uint(svc, f('max_connections_per_source')) ?? maxConnections,
    removeOnStop: bool('remove_on_stop'),
    symlinks: svc.strings(f('symlinks')) ?? [],
    user: svc.str(f('socket_user')) || undefined,
    group: svc.str(f('socket_group')) || undefined,
    flushPending: bool('flush_pending'),
  };
}

interface ListenSpec {
  readonly kind: ListenKind;
  readonly address: string;
}

function listenSpecs(svc: ServiceView): ListenSpec[] {
  const raw = svc.list('socket.listen') ?? [];
  return raw.map((item, i) => {
    const o = item as { type?: unknown; address?: unknown } | null;
    if (!o || typeof o !== 'object' || typeof o.type !== 'string' || typeof o.address !== 'string') {
      return svc.error('socket.listen', `socket.listen[${i}]: expected {type, address}`);
    }
    return { kind: o.type as ListenKind, address: o.address };
  });
}

function sockType(kind: ListenKind): number {
  return kind === 'stream' ? SOCK_STREAM : kind === 'datagram' ? SOCK_DGRAM : kind === 'sequential-packet' ? SOCK_SEQPACKET : SOCK_RAW;
}

/**
 * socket_verify() and the Listen*= parsing, without side effects: the parsed
 * ports, or a SocketSetupError / ModelError naming the field.
 */
function planPorts(svc: ServiceView, cfg: SocketConfig): { spec: ListenSpec; addr?: SocketAddress }[] {
  const specs = listenSpecs(svc);
  if (specs.length === 0) {
    throw new SocketSetupError('socket.listen', `${cfg.unitName}: Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). Refusing.`);
  }
  const ports = specs.map((spec) => {
    const field = 'socket.listen';
    switch (spec.kind) {
      case 'stream':
      case 'datagram':
      case 'sequential-packet': {
        let addr: SocketAddress;
        try {
          addr = parseSocketAddress(spec.address);
        } catch (e) {
          if (e instanceof AddressError) throw new SocketSetupError(field, `${svc.source(field)}: ${e.message}`);
          throw e;
        }
        if (spec.kind === 'sequential-packet' && addr.family !== 'unix') {
          throw new SocketSetupError(field, `${svc.source(field)}: ListenSequentialPacket=${spec.address}: Address family not supported (AF_UNIX only)`);
        }
        return { spec, addr };
      }
      case 'netlink': {
        try {
          return { spec, addr: parseNetlinkAddress(spec.address) };
        } catch (e) {
          if (e instanceof AddressError) throw new SocketSetupError(field, `${svc.source(field)}: ListenNetlink=${spec.address}: ${e.message}`);
          throw e;
        }
      }
      case 'fifo':
      case 'special':
        if (!spec.address.startsWith('/')) throw new SocketSetupError(field, `${svc.source(field)}: ${spec.address} is not an absolute path`);
        return { spec };
      case 'message-queue':
        if (!/^\/[^/]+$/.test(spec.address)) throw new SocketSetupError(field, `${svc.source(field)}: ${spec.address} is not a valid message queue name`);
        return { spec };
      default:
        throw new SocketSetupError(field, `${svc.source(field)}: Listen type ${JSON.stringify(spec.kind)} is not supported by sysg`);
    }
  });
  if (cfg.accept) {
    const bad = ports.find((p) => p.addr === undefined || p.addr.family === 'netlink' || !(p.spec.kind === 'stream' || p.spec.kind === 'sequential-packet'));
    if (bad) throw new SocketSetupError('socket.accept', `${svc.source('socket.accept')}: Unit configured for accepting sockets, but sockets are non-accepting (${bad.spec.address}). Refusing.`);
    if (cfg.maxConnections <= 0) throw new SocketSetupError('socket.max_connections', `${svc.source('socket.max_connections')}: MaxConnection= setting too small. Refusing.`);
    if (svc.has('socket.service')) throw new SocketSetupError('socket.service', `${svc.source('socket.service')}: Explicit service configuration for accepting socket units not supported. Refusing.`);
  }
  if (cfg.symlinks.length > 0 && symlinkTarget(ports) === undefined) {
    throw new SocketSetupError('socket.symlinks', `${svc.source('socket.symlinks')}: Unit has symlinks set but none or more than one node in the file system. Refusing.`);
  }
  for (const l of cfg.symlinks) if (!l.startsWith('/')) throw new SocketSetupError('socket.symlinks', `${svc.source('socket.symlinks')}: ${l} is not an absolute path`);
  return ports;
}

/** socket_find_symlink_target(): the single file system node (AF_UNIX path or FIFO), else undefined. */
function symlinkTarget(ports: readonly { spec: ListenSpec; addr?: SocketAddress }[]): string | undefined {
  let found: string | undefined;
  for (const p of ports) {
    const f = p.spec.kind === 'fifo' ? p.spec.address : p.addr?.family === 'unix' && !p.addr.abstract ? p.addr.path : undefined;
    if (f === undefined) continue;
    if (found !== undefined) return undefined;
    found = f;
  }
  return found;
}

/** mkdir_parents(): every missing parent directory, with exactly `mode` (systemd runs with umask 0). */
function mkdirParents(path: string, mode: number): void {
  const parent = dirname(path);
  const missing: string[] = [];
  for (let d = parent; d !== '/' && d !== '.'; d = dirname(d)) {
    try {
      lstatSync(d);
      break;
    } catch {
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
      chmodSync(d, mode);
    } catch {
      return; // as systemd: (void) mkdir_parents_label(); bind/mkfifo reports the real error
    }
  }
}

/** Runs fn with the process umask set to `mask`: systemd's WITH_UMASK(). Synchronous, so no other JS runs meanwhile. */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

function sysFail(field: string, what: string, e = errno()): never {
  throw new SocketSetupError(field, `${what}: ${describeErrno(e)}`);
}

/** Small passwd/group lookups for SocketUser=/SocketGroup= (get_user_creds()/get_group_creds()). */
function lookupIds(cfg: SocketConfig, opts: SocketSetOptions): { uid: number; gid: number } {
  const db = (file: string): string[][] => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  let uid = -1;
  let gid = -1;
  if (cfg.user !== undefined) {
    const u = cfg.user;
    if (u === 'root' || u === '0') [uid, gid] = [0, 0];
    else if (u === 'nobody' || u === '65534') [uid, gid] = [65534, 65534];
    else {
      const e = db(opts.passwdFile ?? '/etc/passwd').find((f) => f.length >= 7 && (/^[0-9]+$/.test(u) ? f[2] === u : f[0] === u));
      if (!e) throw new SocketSetupError('socket.socket_user', `SocketUser=${u}: Failed to resolve user: no such user`);
      [uid, gid] = [Number(e[2]), Number(e[3])];
    }
  }
  if (cfg.group !== undefined) {
    const g = cfg.group;
    if (g === 'root' || g === '0') gid = 0;
    else if (g === 'nogroup' || g === '65534') gid = 65534;
    else {
      const e = db(opts.groupFile ?? '/etc/group').find((f) => f.length >= 3 && (/^[0-9]+$/.test(g) ? f[2] === g : f[0] === g));
      if (!e) throw new SocketSetupError('socket.socket_group', `SocketGroup=${g}: Failed to resolve group: no such group`);
      gid = Number(e[2]);
    }
  }
  return { uid, gid };
}

/** socket_address_listen(). */
function listenSocket(cfg: SocketConfig, spec: ListenSpec, a: SocketAddress, warn: (m: string) => void): { fd: number; node?: string } {
  const field = 'socket.listen';
  const what = `${spec.address}`;
  const { addr, len, domain } = sockaddrOf(a);
  const type = a.family === 'netlink' ? SOCK_RAW : sockType(spec.kind);
  let protocol = a.family === 'netlink' ? a.protocol : 0;
  // SocketProtocol=: sctp for stream/seqpacket, udplite for datagram.
  if (a.family !== 'netlink' && a.family !== 'unix') {
    if ((type === SOCK_STREAM || type === SOCK_SEQPACKET) && cfg.protocol === IPPROTO_SCTP) protocol = IPPROTO_SCTP;
    if (type === SOCK_DGRAM && cfg.protocol === IPPROTO_UDPLITE) protocol = IPPROTO_UDPLITE;
  }
  const fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) sysFail(field, `Failed to create listening socket (${what})`);
  try {
    if (a.family === 'inet6' && cfg.bindIPv6Only !== 'default') {
      if (setsockoptInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, cfg.bindIPv6Only === 'ipv6-only' ? 1 : 0) < 0) sysFail('socket.bind_ipv6_only', `IPV6_V6ONLY (${what})`);
    }
    if (a.family === 'inet' || a.family === 'inet6') {
      if (cfg.bindToDevice !== undefined) {
        const name = Buffer.from(cfg.bindToDevice + '\0');
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length - 1) < 0) sysFail('socket.bind_to_device', `SO_BINDTODEVICE ${cfg.bindToDevice} (${what})`);
      }
      if (cfg.reusePort && setsockoptInt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0) warn(`SO_REUSEPORT failed: ${describeErrno(errno())}`);
      if (cfg.freeBind && setsockoptInt(fd, a.family === 'inet' ? IPPROTO_IP : IPPROTO_IPV6, a.family === 'inet' ? IP_FREEBIND : IPV6_FREEBIND, 1) < 0) {
        warn(`IP_FREEBIND/IPV6_FREEBIND failed: ${describeErrno(errno())}`);
      }
      if (cfg.transparent && setsockoptInt(fd, a.family === 'inet' ? IPPROTO_IP : IPPROTO_IPV6, a.family === 'inet' ? IP_TRANSPARENT : IPV6_TRANSPARENT, 1) < 0) {
        warn(`IP_TRANSPARENT/IPV6_TRANSPARENT failed: ${describeErrno(errno())}`);
      }
    }
    if (setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) sysFail(field, `SO_REUSEADDR (${what})`);
    let node: string | undefined;
    if (a.family === 'unix' && !a.abstract) {
      mkdirParents(a.path, cfg.directoryMode);
      withUmask(~cfg.socketMode & 0o777, () => {
        if (bind(fd, addr, len) < 0) {
          const e = errno();
          if (errnoName(e) !== 'EADDRINUSE') sysFail(field, `Failed to create listening socket (${what})`, e);
          // A stale node from an earlier run: unlink it and try again.
          try {
            unlinkSync(a.path);
          } catch {
            sysFail(field, `Failed to create listening socket (${what})`, e);
          }
          if (bind(fd, addr, len) < 0) sysFail(field, `Failed to create listening socket (${what})`);
        }
      });
      node = a.path;
    } else if (bind(fd, addr, len) < 0) sysFail(field, `Failed to create listening socket (${what})`);
    if (type === SOCK_STREAM || type === SOCK_SEQPACKET) {
      if (listen(fd, cfg.backlog) < 0) sysFail(field, `listen(${what})`);
    }
    return node === undefined ? { fd } : { fd, node };
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** fd_set_rcvbuf()/fd_set_sndbuf() (increase=false): the kernel doubles the value; FORCE past the sysctl limit. */
function setBuffer(fd: number, n: number, opt: number, force: number): number {
  const cur = getsockoptInt(fd, SOL_SOCKET, opt);
  if (cur.ret >= 0 && cur.value === n * 2) return 0;
  if (setsockoptInt(fd, SOL_SOCKET, opt, n) < 0) return -1;
  const now = getsockoptInt(fd, SOL_SOCKET, opt);
  if (now.ret >= 0 && now.value >= n * 2) return 0;
  return setsockoptInt(fd, SOL_SOCKET, force, n);
}

/** socket_apply_socket_options(): failures are warnings, as in systemd. */
function applySocketOptions(cfg: SocketConfig, family: SocketAddress['family'], fd: number, warn: (m: string) => void): void {
  const opt = (ok: boolean, name: string, level: number, option: number, value: number): void => {
    if (ok && setsockoptInt(fd, level, option, value) < 0) warn(`${name} failed: ${describeErrno(errno())}`);
  };
  opt(cfg.keepAlive, 'SO_KEEPALIVE', SOL_SOCKET, SO_KEEPALIVE, 1);
  opt(cfg.keepAliveTime > 0, 'TCP_KEEPIDLE', SOL_TCP, TCP_KEEPIDLE, cfg.keepAliveTime);
  opt(cfg.keepAliveInterval > 0, 'TCP_KEEPINTVL', SOL_TCP, TCP_KEEPINTVL, cfg.keepAliveInterval);
  opt(cfg.keepAliveProbes > 0, 'TCP_KEEPCNT', SOL_TCP, TCP_KEEPCNT, cfg.keepAliveProbes);
  opt(cfg.deferAccept > 0, 'TCP_DEFER_ACCEPT', SOL_TCP, TCP_DEFER_ACCEPT, cfg.deferAccept);
  if (cfg.protocol === IPPROTO_SCTP) opt(cfg.noDelay, 'SCTP_NODELAY', SOL_SCTP, SCTP_NODELAY, 1);
  else opt(cfg.noDelay, 'TCP_NODELAY', SOL_TCP, TCP_NODELAY, 1);
  opt(cfg.broadcast, 'SO_BROADCAST', SOL_SOCKET, SO_BROADCAST, 1);
  opt(cfg.passCred, 'SO_PASSCRED', SOL_SOCKET, SO_PASSCRED, 1);
  opt(cfg.passSec, 'SO_PASSSEC', SOL_SOCKET, SO_PASSSEC, 1);
  if (cfg.passPktinfo) {
    // socket_set_recvpktinfo(): per family.
    if (family === 'inet') opt(true, 'IP_PKTINFO', IPPROTO_IP, IP_PKTINFO, 1);
    else if (family === 'inet6') opt(true, 'IPV6_RECVPKTINFO', IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    else if (family === 'netlink') opt(true, 'NETLINK_PKTINFO', SOL_NETLINK, NETLINK_PKTINFO, 1);
    else warn('Failed to enable packet info socket option: EAFNOSUPPORT (address family not supported by protocol)');
  }
  if (cfg.timestamping !== 'off') opt(true, 'Timestamping', SOL_SOCKET, cfg.timestamping === 'ns' ? SO_TIMESTAMPNS : SO_TIMESTAMP, 1);
  if (cfg.priority !== undefined) opt(true, 'SO_PRIORITY', SOL_SOCKET, SO_PRIORITY, cfg.priority);
  if (cfg.receiveBuffer > 0 && setBuffer(fd, cfg.receiveBuffer, SO_RCVBUF, SO_RCVBUFFORCE) < 0) warn(`SO_RCVBUF/SO_RCVBUFFORCE failed: ${describeErrno(errno())}`);
  if (cfg.sendBuffer > 0 && setBuffer(fd, cfg.sendBuffer, SO_SNDBUF, SO_SNDBUFFORCE) < 0) warn(`SO_SNDBUF/SO_SNDBUFFORCE failed: ${describeErrno(errno())}`);
  if (cfg.mark !== undefined) opt(true, 'SO_MARK', SOL_SOCKET, SO_MARK, cfg.mark);
  if (cfg.ipTos !== undefined) opt(true, 'IP_TOS', IPPROTO_IP, IP_TOS, cfg.ipTos);
  if (cfg.ipTtl !== undefined) {
    // socket_set_ttl(): IPv6 sockets get the hop limit.
    if (family === 'inet6') opt(true, 'IPV6_UNICAST_HOPS', IPPROTO_IPV6, IPV6_UNICAST_HOPS, cfg.ipTtl);
    else if (family === 'inet') opt(true, 'IP_TTL', IPPROTO_IP, IP_TTL, cfg.ipTtl);
    else warn('IP_TTL/IPV6_UNICAST_HOPS failed: EAFNOSUPPORT (address family not supported by protocol)');
  }
  if (cfg.tcpCongestion !== undefined) {
    const name = Buffer.from(cfg.tcpCongestion + '\0');
    if (setsockopt(fd, SOL_TCP, TCP_CONGESTION, name, name.length) < 0) warn(`TCP_CONGESTION failed: ${describeErrno(errno())}`);
  }
}

/** fifo_address_create(). */
function createFifo(cfg: SocketConfig, path: string, warn: (m: string) => void): number {
  const field = 'socket.listen';
  mkdirParents(path, cfg.directoryMode);
  const cpath = Buffer.from(path + '\0');
  // umask ~SocketMode= (systemd as PID 1 has umask 0, so nothing else is masked).
  const r = withUmask(~cfg.socketMode & 0o777, () => mkfifo(cpath, cfg.socketMode));
  if (r < 0) {
    const e = errno();
    if (errnoName(e) !== 'EEXIST') sysFail(field, `Failed to open FIFO ${path}`, e);
  }
  const fd = open(cpath, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, 0);
  if (fd < 0) sysFail(field, `Failed to open FIFO ${path}`);
  const st = fstatSync(fd);
  if (!st.isFIFO() || (st.mode & 0o777) !== cfg.socketMode || st.uid !== process.getuid!() || st.gid !== process.getgid!()) {
    close(fd);
    throw new SocketSetupError(field, `Failed to open FIFO ${path}: EEXIST (a different file, mode or owner is in the way)`);
  }
  // socket_apply_fifo_options(): a warning only.
  if (cfg.pipeSize > 0 && fcntl(fd, F_SETPIPE_SZ, cfg.pipeSize) < 0) warn(`Setting pipe size failed, ignoring: ${describeErrno(errno())}`);
  return fd;
}

/** special_address_create(). */
function openSpecial(cfg: SocketConfig, path: string): number {
  const fd = open(Buffer.from(path + '\0'), (cfg.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, 0);
  if (fd < 0) sysFail('socket.listen', `Failed to open special file ${path}`);
  const st = fstatSync(fd);
  if (!st.isFile() && !st.isCharacterDevice()) {
    close(fd);
    throw new SocketSetupError('socket.listen', `Failed to open special file ${path}: EEXIST (not a regular file or character device)`);
  }
  return fd;
}

/** mq_address_create(). */
function openMessageQueue(cfg: SocketConfig, name: string): number {
  let attr: Buffer | null = null;
  if (cfg.mqMaxMsg > 0 && cfg.mqMsgSize > 0) {
    // struct mq_attr { long mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs; long pad[4]; }
    attr = Buffer.alloc(64);
    attr.writeBigInt64LE(BigInt(O_NONBLOCK), 0);
    attr.writeBigInt64LE(BigInt(cfg.mqMaxMsg), 8);
    attr.writeBigInt64LE(BigInt(cfg.mqMsgSize), 16);
  }
  const O_CREAT = 0o100;
  const fd = withUmask(~cfg.socketMode & 0o777, () => mq_open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_CREAT, cfg.socketMode, attr));
  if (fd < 0) sysFail('socket.listen', `Failed to open message queue ${name}`);
  const st = fstatSync(fd);
  if ((st.mode & 0o777) !== cfg.socketMode || st.uid !== process.getuid!() || st.gid !== process.getgid!()) {
    close(fd);
    throw new SocketSetupError('socket.listen', `Failed to open message queue ${name}: EEXIST (a queue with another mode or owner exists)`);
  }
  return fd;
}

/** symlink_idempotent(target, link). */
function symlinkIdempotent(target: string, link: string): 'ok' | 'exists' | string {
  try {
    symlinkSync(target, link);
    return 'ok';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') return code ?? String(e);
    try {
      return readlinkSync(link) === target ? 'ok' : 'exists';
    } catch {
      return 'exists';
    }
  }
}

type PollHandle = ReturnType<typeof koffi.node.poll>;

/** systemd's MAX_FLUSH_ITERATIONS. */
const MAX_FLUSH_ITERATIONS = 1024;

/** The listening fds of one socket unit. */
export class SocketSet {
  readonly ports: readonly OpenPort[];
  readonly accept: boolean;
  /** The socket unit's name (FileDescriptorName= default, messages). */
  readonly unitName: string;
  private readonly cfg: SocketConfig;
  private readonly warn: (m: string) => void;
  private handles: PollHandle[] = [];
  private closed = false;
  private nAccepted = 0;
  private nConnections = 0;
  private readonly perSource = new Map<string, number>();

  private constructor(cfg: SocketConfig, ports: OpenPort[], warn: (m: string) => void) {
    this.cfg = cfg;
    this.ports = ports;
    this.accept = cfg.accept;
    this.unitName = cfg.unitName;
    this.warn = warn;
  }

  /**
   * Creates every listener of `svc.socket` (systemd's SOCKET_START_CHOWN:
   * after the socket unit's ExecStartPre=, before its ExecStartPost=).
   * Throws SocketSetupError or ModelError (both name the field); nothing
   * stays open on failure (created nodes stay unless RemoveOnStop=, as in systemd).
   */
  static open(svc: ServiceView, opts: SocketSetOptions = {}): SocketSet {
    const block = svc.obj('socket');
    if (!block) throw new SocketSetupError('socket', `${svc.key}: no socket block`);
    const elsewhere = new Set(opts.handledElsewhere ?? []);
    for (const key of Object.keys(block)) {
      if (block[key] === undefined || SOCKET_FIELDS.includes(key) || elsewhere.has(key)) continue;
      const field = `socket.${key}`;
      throw new SocketSetupError(field, `${svc.source(field)}: ${field} is not supported by sysg's socket activation; refusing to start (fail closed)`);
    }
    const cfg = readConfig(svc);
    const planned = planPorts(svc, cfg);
    const warn = opts.onWarning ?? (() => undefined);
    const ports: OpenPort[] = [];
    const set = new SocketSet(cfg, ports, warn);
    try {
      const target = symlinkTarget(planned);
      for (const { spec, addr } of planned) {
        let fd: number;
        let node: string | undefined;
        switch (spec.kind) {
          case 'fifo':
            fd = createFifo(cfg, spec.address, warn);
            node = spec.address;
            break;
          case 'special':
            fd = openSpecial(cfg, spec.address);
            break;
          case 'message-queue':
            fd = openMessageQueue(cfg, spec.address);
            node = spec.address;
            break;
          default: {
            const opened = listenSocket(cfg, spec, addr!, warn);
            fd = opened.fd;
            node = opened.node;
            applySocketOptions(cfg, addr!.family, fd, warn);
          }
        }
        const port: OpenPort = {
          kind: spec.kind,
          address: spec.address,
          fd,
          name: cfg.fdname,
          canAccept: addr !== undefined && addr.family !== 'netlink' && (spec.kind === 'stream' || spec.kind === 'sequential-packet'),
          ...(addr ? { socketAddress: addr } : {}),
          ...(node ? { node } : {}),
        };
        ports.push(port);
        if (target !== undefined && node === target) set.symlink(target);
      }
      set.chown(opts);
    } catch (e) {
      // socket_open_fds()' cleanup: close everything; nodes go only with RemoveOnStop=, as at stop.
      set.close();
      throw e;
    }
    return set;
  }

  /** socket_symlink(). */
  private symlink(target: string): void {
    for (const link of this.cfg.symlinks) {
      mkdirParents(link, this.cfg.directoryMode);
      let r = symlinkIdempotent(target, link);
      if (r === 'exists' && this.cfg.removeOnStop) {
        try {
          unlinkSync(link);
          r = symlinkIdempotent(target, link);
        } catch {
          // keep r
        }
      }
      if (r !== 'ok') this.warn(`Failed to create symlink ${target} → ${link}, ignoring: ${r === 'exists' ? 'EEXIST' : r}`);
    }
  }

  /** socket_chown(): the AF_UNIX nodes and FIFOs by path, message queues by fd. */
  private chown(opts: SocketSetOptions): void {
    if (this.cfg.user === undefined && this.cfg.group === undefined) return;
    const { uid, gid } = lookupIds(this.cfg, opts);
    for (const p of this.ports) {
      try {
        if (p.kind === 'message-queue') fchownSync(p.fd, uid, gid);
        else if (p.node !== undefined) chownSync(p.node, uid, gid);
      } catch (e) {
        throw new SocketSetupError(this.cfg.user !== undefined ? 'socket.socket_user' : 'socket.socket_group', `Failed to chown ${p.address}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * The fds to pass to the service (Accept=no), in Listen*= order, as the
   * launch plan's `fds` (the zygote dups them; they stay open here).
   */
  listenFds(): ListenFd[] {
    return this.ports.map((p) => ({ fd: p.fd, name: p.name }));
  }

  /**
   * NonBlocking= for the service about to start (systemd's flags_fds() in
   * the child): socket fds are passed blocking unless NonBlocking=yes. The
   * flag lives on the open file description the service shares, so setting
   * it here, before the launch, is what the child would do. The supervisor
   * copes with either mode (it only polls these fds; flushPending() polls
   * before reading). Connection fds of Accept=yes: use setFdNonBlocking().
   */
  applyNonBlocking(nonBlocking: boolean): void {
    for (const p of this.ports) setFdNonBlocking(p.fd, nonBlocking);
  }

  /**
   * Starts watching the listeners (systemd's socket_watch_fds()).
   * Accept=yes: every connection is accepted and given to onConnection
   * (over MaxConnections=/MaxConnectionsPerSource=, it is closed with a warning).
   * Accept=no: the first readable port calls onTraffic once and the watch
   * stops (start the service, then call watch() again after it exits).
   */
  watch(handlers: { readonly onConnection?: (c: Connection) => void; readonly onTraffic?: (port: OpenPort) => void }): void {
    if (this.closed) throw new Error(`${this.unitName}: socket set is closed`);
    this.unwatch();
    for (const port of this.ports) {
      const handle = koffi.node.poll(port.fd, { readable: true }, () => {
        if (this.accept && port.canAccept) this.acceptAll(port, handlers.onConnection);
        else {
          this.unwatch();
          handlers.onTraffic?.(port);
        }
      });
      this.handles.push(handle);
    }
  }

  /** Stops watching (socket_unwatch_fds()). */
  unwatch(): void {
    for (const h of this.handles) h.close();
    this.handles = [];
  }

  /** Connections currently counted against MaxConnections=. */
  get connections(): number {
    return this.nConnections;
  }

  private acceptAll(port: OpenPort, onConnection: ((c: Connection) => void) | undefined): void {
    for (let i = 0; i < 64; i++) {
      const cfd = accept4(port.fd, null, null, SOCK_CLOEXEC);
      if (cfd < 0) {
        const name = errnoName(errno());
        if (name !== 'EAGAIN' && name !== 'EINTR' && name !== 'ECONNABORTED') this.warn(`${this.unitName}: accept(${port.address}) failed: ${name}`);
        return;
      }
      this.handleConnection(port, cfd, onConnection);
    }
  }

  private handleConnection(port: OpenPort, cfd: number, onConnection: ((c: Connection) => void) | undefined): void {
    applySocketOptions(this.cfg, port.socketAddress?.family ?? 'unix', cfd, this.warn);
    if (this.nConnections >= this.cfg.maxConnections) {
      this.warn(`${this.unitName}: Too many incoming connections (${this.nConnections}), dropping connection.`);
      close(cfd);
      return;
    }
    const { instance, peer, source, env } = describeConnection(cfd, this.nAccepted);
    if (source !== undefined) {
      const n = (this.perSource.get(source) ?? 0) + 1;
      if (n > this.cfg.maxConnectionsPerSource) {
        this.warn(`${this.unitName}: Too many incoming connections (${n}) from source ${source}, dropping connection.`);
        close(cfd);
        return;
      }
      this.perSource.set(source, n);
    }
    this.nAccepted++;
    this.nConnections++;
    let fdOpen = true;
    let released = false;
    const conn: Connection = {
      fd: cfd,
      port,
      instance,
      peer,
      env,
      listenFd: { fd: cfd, name: 'connection' },
      closeFd: () => {
        if (fdOpen) close(cfd);
        fdOpen = false;
      },
      release: () => {
        conn.closeFd();
        if (released) return;
        released = true;
        this.nConnections--;
        if (source !== undefined) {
          const left = (this.perSource.get(source) ?? 1) - 1;
          if (left <= 0) this.perSource.delete(source);
          else this.perSource.set(source, left);
        }
      },
    };
    if (!onConnection) {
      conn.release();
      return;
    }
    onConnection(conn);
  }

  /**
   * FlushPending=yes, when the service exits (Accept=no): queued connections
   * are accepted and closed, queued data read and dropped (socket_flush_fds()).
   */
  flushPending(): void {
    if (!this.cfg.flushPending) return;
    const buf = Buffer.alloc(4096);
    // The service may have made the shared fds blocking (NonBlocking=no does): poll with a zero
    // timeout before each accept/read, as flush_accept()/flush_fd() do, at most 1024 times.
    const pfd = Buffer.alloc(POLLFD_SIZE);
    const ready = (fd: number): boolean => {
      pfd.writeInt32LE(fd, 0);
      pfd.writeInt16LE(POLLIN, 4);
      pfd.writeInt16LE(0, 6);
      return poll(pfd, 1, 0) > 0 && (pfd.readInt16LE(6) & POLLIN) !== 0;
    };
    for (const p of this.ports) {
      if (p.kind === 'message-queue') continue;
      for (let i = 0; i < MAX_FLUSH_ITERATIONS && ready(p.fd); i++) {
        if (p.canAccept) {
          const cfd = accept4(p.fd, null, null, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (cfd >= 0) close(cfd);
        } else if (read(p.fd, buf, buf.length) <= 0) break;
      }
    }
  }

  /**
   * Closes every fd (socket_close_fds()); with RemoveOnStop= also removes the
   * AF_UNIX nodes, FIFOs, message queues and Symlinks=. The service may hold
   * its own copies (systemd deletes nodes only on request for that reason).
   */
  close(removeNodes = this.cfg.removeOnStop): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    for (const p of this.ports) {
      close(p.fd);
      if (!removeNodes || p.node === undefined) continue;
      if (p.kind === 'message-queue') mq_unlink(p.node);
      else {
        try {
          unlinkSync(p.node);
        } catch {
          // already gone
        }
      }
    }
    if (removeNodes) {
      for (const l of this.cfg.symlinks) {
        try {
          unlinkSync(l);
        } catch {
          // already gone
        }
      }
    }
  }
}

/** fd_nonblock(): sets or clears O_NONBLOCK (F_SETFL). Returns false if fcntl failed. */
export function setFdNonBlocking(fd: number, nonBlocking: boolean): boolean {
  const flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) return false;
  const want = nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  return want === flags || fcntl(fd, F_SETFL, want) >= 0;
}

/** instance_from_socket() and the MaxConnectionsPerSource= key. */
function describeConnection(cfd: number, nr: number): { instance: string; peer: string | undefined; source: string | undefined; env: string[] } {
  const local = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
  const remote = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
  const llen = Buffer.alloc(4);
  const rlen = Buffer.alloc(4);
  llen.writeUInt32LE(SOCKADDR_STORAGE_SIZE, 0);
  rlen.writeUInt32LE(SOCKADDR_STORAGE_SIZE, 0);
  if (getsockname(cfd, local, llen) < 0 || getpeername(cfd, remote, rlen) < 0) return { instance: `${nr}-unknown`, peer: undefined, source: undefined, env: [] };
  const family = local.readUInt16LE(0);
  const ip = (b: Buffer): string | undefined => {
    const f = b.readUInt16LE(0);
    if (f === AF_INET) return `${formatHost('inet', b.subarray(4, 8))}:${b.readUInt16BE(2)}`;
    if (f === AF_INET6) {
      const host = b.subarray(8, 24);
      // instance_from_socket(): v4-mapped as IPv4, IPv6 without brackets ("0-::1:80-::1:41234").
      return `${formatHost('inet6', host)}:${b.readUInt16BE(2)}`;
    }
    return undefined;
  };
  if (family === AF_INET || family === AF_INET6) {
    const l = ip(local)!;
    const r = ip(remote)!;
    const host = r.replace(/:[0-9]+$/, '');
    return { instance: `${nr}-${l}-${r}`, peer: r, source: host, env: [`REMOTE_ADDR=${host}`, `REMOTE_PORT=${remote.readUInt16BE(2)}`] };
  }
  if (family === AF_UNIX) {
    const cred = Buffer.alloc(12);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(12, 0);
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, cred, len) >= 0) {
      const pid = cred.readInt32LE(0);
      const uid = cred.readUInt32LE(4);
      return { instance: `${nr}-${pid}-${uid}`, peer: `${pid}:${uid}`, source: `uid:${uid}`, env: [] };
    }
  }
  return { instance: `${nr}-unknown`, peer: undefined, source: undefined, env: [] };
}

/** For messages: "ListenStream=[::]:80". */
export function describePort(p: OpenPort): string {
  const directive = { stream: 'ListenStream', datagram: 'ListenDatagram', 'sequential-packet': 'ListenSequentialPacket', fifo: 'ListenFIFO', special: 'ListenSpecial', netlink: 'ListenNetlink', 'message-queue': 'ListenMessageQueue', 'usb-function': 'ListenUSBFunction' }[p.kind];
  return `${directive}=${p.socketAddress ? formatAddress(p.socketAddress) : p.address}`;
}
