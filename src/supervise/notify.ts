/**
 * The sd_notify(3) receiver: an AF_UNIX SOCK_DGRAM socket per service
 * (NOTIFY_SOCKET), with systemd's reception rules
 * (manager_dispatch_notify_fd() in src/core/manager.c and
 * service_notify_message() in src/core/service.c, v252–v257):
 * - SO_PASSCRED is on, so every datagram carries the sender's pid/uid/gid
 *   (the kernel fills them in; only CAP_SYS_ADMIN/CAP_SETUID senders can
 *   claim other ids — which is how `systemd-notify --pid=` works);
 * - at most NOTIFY_BUFFER_MAX (PIPE_BUF = 4096) bytes and NOTIFY_FD_MAX (768)
 *   fds; longer, truncated, credential-less, NUL-containing datagrams are
 *   dropped with systemd's wording, and their fds closed;
 * - BARRIER=1 (sd_notify_barrier()) is answered before any authorization:
 *   the passed fd is closed, which is the sender's acknowledgement;
 * - NotifyAccess= (none/main/exec/all) is checked per datagram against the
 *   pids the caller supplies; refused senders get systemd's note ("Got
 *   notification message from PID X, but reception only permitted for main
 *   PID Y");
 * - fds not taken by FDSTORE=1 are closed ("Got extra auxiliary fds with
 *   notification message, closing them.").
 * Readability comes from libuv (koffi.node.poll): no busy loop, no threadpool.
 */
import { chmodSync, mkdirSync, unlinkSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import koffi from 'koffi';
import { errno, describeErrno, SysError } from '../sys/errno.js';
import { close, fcntl } from '../sys/libc.js';
import { bind, recvmsg, setsockoptInt, socket } from '../sys/libc-socket.js';
import { F_GETFL } from '../sys/constants.js';
import {
  AF_UNIX,
  cmsgLen,
  cmsgSpace,
  cmsgAlign,
  CMSGHDR_SIZE,
  IOVEC_SIZE,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MSGHDR,
  MSGHDR_SIZE,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SO_PASSCRED,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCKADDR_UN_SIZE,
  SOL_SOCKET,
  SUN_PATH_MAX,
  SUN_PATH_OFFSET,
  UCRED_SIZE,
} from '../sys/constants-socket.js';
import { ERRNOS } from '../unit/values/errno.js';
import type { ListenFd } from '../launch/plan.js';

type PollHandle = ReturnType<typeof koffi.node.poll>;

/** systemd's NOTIFY_BUFFER_MAX (PIPE_BUF): the largest datagram accepted. */
export const NOTIFY_BUFFER_MAX = 4096;
/** systemd's NOTIFY_FD_MAX: the most fds one datagram may carry. */
export const NOTIFY_FD_MAX = 768;
/** systemd's STATUS_TEXT_MAX. */
export const STATUS_TEXT_MAX = 16 * 1024;
/** systemd's NOTIFY_RCVBUF_SIZE (8 MiB), set with SO_RCVBUFFORCE. */
const NOTIFY_RCVBUF_SIZE = 8 * 1024 * 1024;
/** FDNAME_MAX. */
const FDNAME_MAX = 255;
/** Datagrams handled per wakeup: uv_poll is level-triggered, so the rest wake us again. */
const DRAIN_BUDGET = 64;
const EAGAIN = 11;
const EINTR = 4;

export type NotifyAccess = 'none' | 'main' | 'exec' | 'all';
export const NOTIFY_ACCESS_VALUES: readonly NotifyAccess[] = ['none', 'main', 'exec', 'all'];

/** Who may notify right now (asked for each datagram). */
export interface NotifyAccessState {
  readonly access: NotifyAccess;
  /** The main process (systemd's main PID), if known. */
  readonly mainPid?: number | undefined;
  /** The running control process (ExecStartPre=, ExecReload=, …), if any. */
  readonly controlPid?: number | undefined;
  /**
   * Whether a pid belongs to the service (its cgroup). systemd only routes a
   * datagram to a unit whose cgroup holds the sender (or that watches its pid);
   * with NotifyAccess=all that is the whole check. Default: every sender belongs.
   */
  readonly belongs?: ((pid: number) => boolean) | undefined;
}

export interface NotifySender {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** A parsed, authorized datagram. Absent fields were not sent (or were invalid: see warnings). */
export interface NotifyMessage {
  readonly sender: NotifySender;
  /** The datagram's assignments, in order. */
  readonly tags: readonly string[];
  /** STOPPING=1 (it wins over READY=1 and RELOADING=1 in systemd's state logic). */
  readonly stopping: boolean;
  readonly ready: boolean;
  readonly reloading: boolean;
  /** MONOTONIC_USEC= (sent with RELOADING=1 by sd_notify_reloading()). */
  readonly monotonicUsec?: bigint;
  /** STATUS=: the new status text; null clears it (empty, not UTF-8, or over STATUS_TEXT_MAX). */
  readonly status?: string | null;
  /** ERRNO=, a number 0..4095 (systemd's parse_errno() also takes names like ENOENT). */
  readonly errno?: number;
  /** BUSERROR=: null clears it. */
  readonly busError?: string | null;
  /** VARLINKERROR= (v257+): null clears it. */
  readonly varlinkError?: string | null;
  /** MAINPID=. The lifecycle decides whether the pid is suitable (systemd's service_is_suitable_main_pid()). */
  readonly mainPid?: number;
  /** NOTIFYACCESS= (v254+): a new NotifyAccess= for the service. */
  readonly notifyAccess?: NotifyAccess;
  /** WATCHDOG=1 → 'ping'; WATCHDOG=trigger → 'trigger'. */
  readonly watchdog?: 'ping' | 'trigger';
  /** WATCHDOG_USEC=: a new watchdog timeout. */
  readonly watchdogUsec?: bigint;
  /** EXTEND_TIMEOUT_USEC=. */
  readonly extendTimeoutUsec?: bigint;
  /** RESTART_RESET=1 (v254+). */
  readonly restartReset: boolean;
  /**
   * FDSTORE=1: the received fds, now OWNED BY THE HANDLER (keep them in an
   * FdStore or close them). name: FDNAME= when valid. poll: false for FDPOLL=0.
   */
  readonly fdStore?: { readonly fds: readonly number[]; readonly name: string | undefined; readonly poll: boolean };
  /** FDSTOREREMOVE=1 with a valid FDNAME=: the stored fds of that name go. */
  readonly fdStoreRemove?: string;
  /** Fields that were present but invalid, worded like systemd's warnings. */
  readonly warnings: readonly string[];
}

/** Why a datagram was not delivered (systemd logs these; so should the caller). */
export interface NotifyNote {
  readonly level: 'warning' | 'debug';
  readonly message: string;
  readonly pid?: number;
}

export interface NotifySocketOptions {
  /** A file system path (its parent directories are created 0755) or "@name" for the abstract namespace. */
  readonly address: string;
  /** Asked for each datagram (after BARRIER=1 handling). */
  readonly access: () => NotifyAccessState;
  readonly onMessage: (m: NotifyMessage) => void;
  readonly onNote?: (n: NotifyNote) => void;
}

/** fdname_is_valid(): printable ASCII but ':', at most 255 characters (empty is valid). */
export function fdnameIsValid(s: string): boolean {
  if (s.length > FDNAME_MAX) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x3a) return false;
  }
  return true;
}

/** safe_atou64(): decimal (leading whitespace and '+' allowed, as strtoull), no sign, no overflow. */
function parseU64(s: string): bigint | undefined {
  const m = /^[ \t\n\r\v\f]*\+?([0-9]+)$/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[1]!);
  return v <= 0xffffffffffffffffn ? v : undefined;
}

/** parse_errno(): an errno name or a number 0..4095. */
function parseErrno(s: string): number | undefined {
  const named = ERRNOS[s];
  if (named !== undefined) return named;
  const m = /^[ \t]*\+?([0-9]+)$/.exec(s);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v <= 4095 ? v : undefined;
}

/** parse_pid(): a positive decimal pid (pid_t range). */
function parsePid(s: string): number | undefined {
  const v = parseU64(s);
  return v !== undefined && v > 0n && v <= 0x7fffffffn ? Number(v) : undefined;
}

/** string_is_safe_ascii(): printable ASCII (no control characters). */
function safeAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/**
 * strv_split_newlines(): words separated by '\n'/'\r' runs (empty lines
 * vanish); a backslash escapes the next character and is removed
 * (extract_first_word() without flags); a trailing lone backslash makes the
 * whole datagram invalid (systemd then drops it). Returns undefined then.
 */
export function splitNotifyTags(text: string): string[] | undefined {
  const tags: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      if (i + 1 >= text.length) return undefined;
      cur += text[++i];
      inWord = true;
    } else if (c === '\n' || c === '\r') {
      if (inWord) tags.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) tags.push(cur);
  return tags;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** strv_find_startswith(): the value after the first tag with this prefix. */
function find(tags: readonly string[], prefix: string): string | undefined {
  for (const t of tags) if (t.startsWith(prefix)) return t.slice(prefix.length);
  return undefined;
}

/**
 * service_notify_message()'s interpretation of the tags (without the state
 * machine: that is the lifecycle's). `fds` are handed to fdStore when
 * FDSTORE=1 is present; `utf8Valid` is false when the datagram was not UTF-8.
 */
export function interpretNotify(sender: NotifySender, tags: readonly string[], fds: readonly number[], utf8Valid = true): NotifyMessage {
  const warnings: string[] = [];
  const has = (t: string): boolean => tags.includes(t);
  const m: { -readonly [K in keyof NotifyMessage]: NotifyMessage[K] } = {
    sender,
    tags,
    stopping: has('STOPPING=1'),
    ready: has('READY=1'),
    reloading: has('RELOADING=1'),
    restartReset: has('RESTART_RESET=1'),
    warnings,
  };
  let e = find(tags, 'MAINPID=');
  if (e !== undefined) {
    const pid = parsePid(e);
    if (pid === undefined) warnings.push(`Failed to parse MAINPID=${e} field in notification message, ignoring.`);
    else m.mainPid = pid;
  }
  e = find(tags, 'MONOTONIC_USEC=');
  if (e !== undefined) {
    const v = parseU64(e);
    if (v === undefined) warnings.push(`Failed to parse MONOTONIC_USEC= field in notification message, ignoring: ${e}`);
    else m.monotonicUsec = v;
  }
  e = find(tags, 'STATUS=');
  if (e !== undefined) {
    if (e === '') m.status = null;
    else if (e.length > STATUS_TEXT_MAX) {
      warnings.push(`Status message overly long (${e.length} > ${STATUS_TEXT_MAX}), ignoring.`);
      m.status = null;
    } else if (!utf8Valid) {
      warnings.push('Status message in notification message is not UTF-8 clean, ignoring.');
      m.status = null;
    } else m.status = e;
  }
  e = find(tags, 'NOTIFYACCESS=');
  if (e !== undefined) {
    if ((NOTIFY_ACCESS_VALUES as readonly string[]).includes(e)) m.notifyAccess = e as NotifyAccess;
    else warnings.push(`Failed to parse NOTIFYACCESS= field value '${e}' in notification message, ignoring.`);
  }
  e = find(tags, 'ERRNO=');
  if (e !== undefined) {
    const v = parseErrno(e);
    if (v === undefined) warnings.push(`Failed to parse ERRNO= field value '${e}' in notification message.`);
    else m.errno = v;
  }
  for (const [tag, key] of [['BUSERROR=', 'busError'], ['VARLINKERROR=', 'varlinkError']] as const) {
    e = find(tags, tag);
    if (e === undefined) continue;
    if (e !== '' && !safeAscii(e)) warnings.push(`Got invalid ${tag} string, ignoring: ${JSON.stringify(e)}`);
    else m[key] = e === '' ? null : e;
  }
  e = find(tags, 'EXTEND_TIMEOUT_USEC=');
  if (e !== undefined) {
    const v = parseU64(e);
    if (v === undefined) warnings.push(`Failed to parse EXTEND_TIMEOUT_USEC=${e}`);
    else m.extendTimeoutUsec = v;
  }
  e = find(tags, 'WATCHDOG=');
  if (e !== undefined) {
    if (e === '1') m.watchdog = 'ping';
    else if (e === 'trigger') m.watchdog = 'trigger';
    else warnings.push('Passed WATCHDOG= field is invalid, ignoring.');
  }
  e = find(tags, 'WATCHDOG_USEC=');
  if (e !== undefined) {
    const v = parseU64(e);
    if (v === undefined) warnings.push(`Failed to parse WATCHDOG_USEC=${e}`);
    else m.watchdogUsec = v;
  }
  const fdname = find(tags, 'FDNAME=');
  if (has('FDSTOREREMOVE=1')) {
    if (fdname === undefined || !fdnameIsValid(fdname)) warnings.push('FDSTOREREMOVE=1 requested, but no valid file descriptor name passed, ignoring.');
    else m.fdStoreRemove = fdname;
  } else if (has('FDSTORE=1')) {
    let name = fdname;
    if (name !== undefined && !fdnameIsValid(name)) {
      warnings.push('Passed FDNAME= name is invalid, ignoring.');
      name = undefined;
    }
    m.fdStore = { fds: [...fds], name, poll: !has('FDPOLL=0') };
  }
  return m;
}

/**
 * service_notify_message_authorized(): undefined when the sender may notify,
 * else the note systemd logs.
 */
export function notifyRefusal(pid: number, st: NotifyAccessState): string | undefined {
  // systemd's routing: a datagram only reaches a unit that owns the sender.
  if (st.belongs && !st.belongs(pid) && pid !== st.mainPid && pid !== st.controlPid) {
    return `Cannot find unit for notify message of PID ${pid}, ignoring.`;
  }
  switch (st.access) {
    case 'none':
      return `Got notification message from PID ${pid}, but reception is disabled`;
    case 'all':
      return undefined;
    case 'main':
      if (pid === st.mainPid) return undefined;
      return st.mainPid !== undefined
        ? `Got notification message from PID ${pid}, but reception only permitted for main PID ${st.mainPid}`
        : `Got notification message from PID ${pid}, but reception only permitted for main PID which is currently not known`;
    case 'exec':
      if (pid === st.mainPid || pid === st.controlPid) return undefined;
      if (st.mainPid !== undefined && st.controlPid !== undefined) {
        return `Got notification message from PID ${pid}, but reception only permitted for main PID ${st.mainPid} and control PID ${st.controlPid}`;
      }
      if (st.mainPid !== undefined) return `Got notification message from PID ${pid}, but reception only permitted for main PID ${st.mainPid}`;
      if (st.controlPid !== undefined) return `Got notification message from PID ${pid}, but reception only permitted for control PID ${st.controlPid}`;
      return `Got notification message from PID ${pid}, but reception only permitted for main PID and control PID which are currently not known`;
  }
}

/** A sockaddr_un for a path or "@abstract" (sockaddr_un_set_path()); returns the buffer and its length. */
export function unixSockaddr(address: string): { addr: Buffer; len: number } {
  const bytes = Buffer.from(address, 'utf8');
  if (bytes.length < 2 || (address[0] !== '/' && address[0] !== '@')) throw new Error(`not an AF_UNIX address: ${JSON.stringify(address)}`);
  if (bytes.includes(0)) throw new Error(`AF_UNIX address contains a NUL byte: ${JSON.stringify(address)}`);
  if (bytes.length + 1 > SUN_PATH_MAX) throw new Error(`AF_UNIX address too long (${bytes.length} bytes, at most ${SUN_PATH_MAX - 1}): ${address}`);
  const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, SUN_PATH_OFFSET);
  if (address[0] === '@') {
    addr[SUN_PATH_OFFSET] = 0;
    return { addr, len: SUN_PATH_OFFSET + bytes.length }; // no trailing NUL for abstract names
  }
  return { addr, len: SUN_PATH_OFFSET + bytes.length + 1 };
}

/**
 * NotifyAccess= in effect (service_add_extras()): none (configured or not)
 * becomes main for Type=notify/notify-reload, a WatchdogSec= or a
 * FileDescriptorStoreMax=; any other configured value stays.
 */
export function effectiveNotifyAccess(opts: {
  readonly configured?: NotifyAccess | undefined;
  readonly type?: string | undefined;
  readonly watchdogUsec?: number | undefined;
  readonly fdStoreMax?: number | undefined;
}): NotifyAccess {
  // An explicit NotifyAccess=none is indistinguishable from the default in systemd: it is upgraded too.
  if (opts.configured !== undefined && opts.configured !== 'none') return opts.configured;
  const needs = opts.type === 'notify' || opts.type === 'notify-reload' || (opts.watchdogUsec ?? 0) > 0 || (opts.fdStoreMax ?? 0) > 0;
  return needs ? 'main' : 'none';
}

/**
 * service_exec_needs_notify_socket(): whether a process gets NOTIFY_SOCKET=
 * (and FDSTORE=<max> when FileDescriptorStoreMax= > 0). Main processes: unless
 * none; control processes (ExecStartPre=, ExecReload=, …): only exec and all.
 */
export function needsNotifySocket(access: NotifyAccess, isControl: boolean): boolean {
  return isControl ? access === 'exec' || access === 'all' : access !== 'none';
}

/**
 * A NOTIFY_SOCKET path for a unit under `dir`: `dir/<unit>` when it fits in
 * sun_path (107 bytes), else `dir/<sha256 of the name, 32 hex digits>`.
 */
export function notifySocketPath(dir: string, unitName: string): string {
  const plain = `${dir.replace(/\/+$/, '')}/${unitName}`;
  if (Buffer.byteLength(plain) + 1 <= SUN_PATH_MAX && !unitName.includes('/')) return plain;
  return `${dir.replace(/\/+$/, '')}/${createHash('sha256').update(unitName).digest('hex').slice(0, 32)}`;
}

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) close(fd);
}

/** The receiving end of NOTIFY_SOCKET for one service. */
export class NotifySocket {
  /** The NOTIFY_SOCKET value to put in the service's environment. */
  readonly address: string;
  private fd: number;
  private readonly handle: PollHandle;
  private readonly msg = Buffer.allocUnsafeSlow(MSGHDR_SIZE).fill(0);
  private readonly iov = Buffer.allocUnsafeSlow(IOVEC_SIZE).fill(0);
  /** NOTIFY_BUFFER_MAX+1 so an oversized datagram is recognisable (systemd's buf[NOTIFY_BUFFER_MAX+1]). */
  private readonly data = Buffer.allocUnsafeSlow(NOTIFY_BUFFER_MAX + 1);
  private readonly control = Buffer.allocUnsafeSlow(cmsgSpace(UCRED_SIZE) + cmsgSpace(4 * NOTIFY_FD_MAX));
  private readonly opts: NotifySocketOptions;
  private closed = false;

  constructor(opts: NotifySocketOptions) {
    this.opts = opts;
    this.address = opts.address;
    const { addr, len } = unixSockaddr(opts.address);
    const isPath = opts.address.startsWith('/');
    const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw new SysError('socket(AF_UNIX, SOCK_DGRAM)', errno());
    try {
      if (isPath) {
        mkdirSync(dirname(opts.address), { recursive: true, mode: 0o755 });
        try {
          unlinkSync(opts.address);
        } catch {
          // not there
        }
      }
      if (bind(fd, addr, len) < 0) throw new SysError(`bind(${opts.address})`, errno());
      // Services running as other users must be able to send (systemd's manager runs with umask 0).
      if (isPath) chmodSync(opts.address, 0o777);
      if (setsockoptInt(fd, SOL_SOCKET, SO_PASSCRED, 1) < 0) throw new SysError('setsockopt(SO_PASSCRED)', errno());
      // Best effort, as systemd's fd_increase_rxbuf(): bursts of notifications must not be lost.
      setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, NOTIFY_RCVBUF_SIZE);
    } catch (e) {
      close(fd);
      throw e;
    }
    this.fd = fd;
    this.iov.writeBigUInt64LE(koffi.address(this.data), 0);
    this.iov.writeBigUInt64LE(BigInt(NOTIFY_BUFFER_MAX), 8);
    this.msg.writeBigUInt64LE(koffi.address(this.iov), MSGHDR.iov);
    this.msg.writeBigUInt64LE(1n, MSGHDR.iovlen);
    this.msg.writeBigUInt64LE(koffi.address(this.control), MSGHDR.control);
    this.handle = koffi.node.poll(fd, { readable: true }, () => this.drain());
  }

  /** The socket fd (for diagnostics; owned by this object). */
  get socketFd(): number {
    return this.fd;
  }

  /**
   * Stops reading (datagrams queue in the kernel; senders that wait for a
   * barrier wait too). Use it while the main pid is not known yet, e.g. from
   * before launch() until it resolves, so NotifyAccess=main can be decided.
   */
  pause(): void {
    if (!this.closed) this.handle.stop();
  }

  /** Reads again (queued datagrams are handled right away). */
  resume(): void {
    if (!this.closed) this.handle.start({ readable: true }, () => this.drain());
  }

  /** Lets the process exit while the socket is still open (libuv unref). */
  unref(): void {
    this.handle.unref();
  }

  /** Stops receiving, closes the socket and removes its file. Pending datagrams are discarded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close(); // before close(fd): libuv must not poll a closed (or reused) fd
    close(this.fd);
    this.fd = -1;
    if (this.address.startsWith('/')) {
      try {
        unlinkSync(this.address);
      } catch {
        // already gone
      }
    }
  }

  /** Handles every queued datagram (up to a budget; level-triggered polling brings us back). */
  drain(): void {
    for (let i = 0; i < DRAIN_BUDGET && !this.closed; i++) if (!this.receiveOne()) return;
  }

  private note(level: NotifyNote['level'], message: string, pid?: number): void {
    this.opts.onNote?.(pid === undefined ? { level, message } : { level, message, pid });
  }

  /** One recvmsg(); false when the queue is empty (or the socket failed). */
  private receiveOne(): boolean {
    this.msg.writeBigUInt64LE(0n, MSGHDR.name);
    this.msg.writeUInt32LE(0, MSGHDR.namelen);
    this.msg.writeBigUInt64LE(BigInt(this.control.length), MSGHDR.controllen);
    this.msg.writeInt32LE(0, MSGHDR.flags);
    const n = recvmsg(this.fd, this.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) {
      const e = errno();
      if (e === EAGAIN || e === EINTR) return false;
      // A real error: stop, rather than be woken up forever (systemd does the same).
      this.note('warning', `Failed to receive notification message: ${describeErrno(e)}`);
      this.handle.stop();
      return false;
    }
    const flags = this.msg.readInt32LE(MSGHDR.flags);
    const controlLen = Number(this.msg.readBigUInt64LE(MSGHDR.controllen));
    const { fds, cred } = this.parseControl(Math.min(controlLen, this.control.length));
    if (flags & MSG_CTRUNC) {
      closeAll(fds);
      this.note('warning', 'Got message with truncated control data (too many fds sent?), ignoring.');
      return true;
    }
    try {
      this.dispatch(n, flags, fds, cred);
    } catch (e) {
      // A handler threw: the fds not handed over are closed; the socket keeps working.
      this.note('warning', `notification handler failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return true;
  }

  private parseControl(len: number): { fds: number[]; cred: NotifySender | undefined } {
    const fds: number[] = [];
    let cred: NotifySender | undefined;
    for (let off = 0; off + CMSGHDR_SIZE <= len; ) {
      const cmsgLenField = Number(this.control.readBigUInt64LE(off));
      if (cmsgLenField < CMSGHDR_SIZE || off + cmsgLenField > len) break;
      const level = this.control.readInt32LE(off + 8);
      const type = this.control.readInt32LE(off + 12);
      const data = off + CMSGHDR_SIZE;
      if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        const count = Math.floor((cmsgLenField - CMSGHDR_SIZE) / 4);
        for (let i = 0; i < count; i++) fds.push(this.control.readInt32LE(data + 4 * i));
      } else if (level === SOL_SOCKET && type === SCM_CREDENTIALS && cmsgLenField === cmsgLen(UCRED_SIZE)) {
        cred = { pid: this.control.readInt32LE(data), uid: this.control.readUInt32LE(data + 4), gid: this.control.readUInt32LE(data + 8) };
      }
      off += cmsgAlign(cmsgLenField);
    }
    return { fds, cred };
  }

  private dispatch(n: number, flags: number, fds: number[], cred: NotifySender | undefined): void {
    let handedOver = false;
    try {
      if (!cred || cred.pid <= 0) {
        this.note('warning', 'Received notify message without valid credentials. Ignoring.');
        return;
      }
      if (n > NOTIFY_BUFFER_MAX || flags & MSG_TRUNC) {
        this.note('warning', 'Received notify message exceeded maximum size. Ignoring.', cred.pid);
        return;
      }
      const bytes = this.data.subarray(0, n);
      // One trailing NUL is tolerated, any other NUL is not.
      const nul = bytes.indexOf(0);
      if (nul >= 0 && nul < n - 1) {
        this.note('warning', 'Received notify message with embedded NUL bytes. Ignoring.', cred.pid);
        return;
      }
      const body = nul === n - 1 ? bytes.subarray(0, n - 1) : bytes;
      let text: string;
      let utf8Valid = true;
      try {
        text = utf8.decode(body);
      } catch {
        utf8Valid = false;
        text = body.toString('latin1');
      }
      const tags = splitNotifyTags(text);
      if (!tags) {
        this.note('warning', 'Failed to split notification message into tags, ignoring.', cred.pid);
        return;
      }
      // manager_process_barrier_fd(): before any routing or authorization.
      if (tags.includes('BARRIER=1')) {
        if (tags.length === 1) {
          if (fds.length !== 1) this.note('warning', 'Got incorrect number of fds with BARRIER=1, closing them.', cred.pid);
        } else this.note('warning', 'Extra notification messages sent with BARRIER=1, ignoring everything.', cred.pid);
        return;
      }
      const refusal = notifyRefusal(cred.pid, this.opts.access());
      if (refusal !== undefined) {
        this.note(refusal.includes('reception is disabled') || refusal.startsWith('Cannot find') ? 'warning' : 'debug', refusal, cred.pid);
        return;
      }
      const m = interpretNotify(cred, tags, fds, utf8Valid);
      handedOver = m.fdStore !== undefined && fds.length > 0;
      this.opts.onMessage(m);
      if (!handedOver && fds.length > 0) this.note('warning', 'Got extra auxiliary fds with notification message, closing them.', cred.pid);
    } finally {
      if (!handedOver) closeAll(fds);
    }
  }
}

interface StoredFd {
  readonly fd: number;
  readonly name: string;
  readonly handle: PollHandle | undefined;
  readonly dev: number;
  readonly ino: number;
  readonly flags: number;
}

/**
 * A service's file descriptor store (FileDescriptorStoreMax=, FDSTORE=1,
 * FDSTOREREMOVE=1), as service_add_fd_store() keeps it: full store → the
 * remaining fds are closed; a duplicate of a stored fd is dropped; unless
 * FDPOLL=0 an fd is dropped when it reports POLLHUP/POLLERR. The stored fds
 * are passed to the next start of the service after its socket fds, named
 * (FDNAME=, default "stored"), via `listenFds()`.
 */
export class FdStore {
  private readonly entries: StoredFd[] = [];

  constructor(
    /** FileDescriptorStoreMax=. */
    private readonly max: number,
    private readonly onNote: (n: NotifyNote) => void = () => undefined,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Takes ownership of every fd (each is either stored or closed). */
  add(fds: readonly number[], name: string | undefined, poll = true): void {
    const label = name ?? 'stored';
    for (let i = 0; i < fds.length; i++) {
      const fd = fds[i]!;
      if (this.entries.length >= this.max) {
        this.onNote({ level: 'warning', message: `Cannot store more fds than FileDescriptorStoreMax=${this.max}, closing remaining.` });
        closeAll(fds.slice(i));
        return;
      }
      let st;
      try {
        st = fstatSync(fd);
      } catch {
        close(fd);
        continue;
      }
      const flags = fcntl(fd, F_GETFL, 0);
      if (this.entries.some((e) => e.dev === st.dev && e.ino === st.ino && e.flags === flags)) {
        this.onNote({ level: 'debug', message: `Suppressing duplicate fd ${fd} in fd store.` });
        close(fd);
        continue;
      }
      const entry: StoredFd = {
        fd,
        name: label,
        dev: st.dev,
        ino: st.ino,
        flags,
        // Only hangups/errors: libuv reports POLLHUP/POLLERR as a disconnect. Regular files and
        // directories cannot be polled (epoll says EPERM; systemd accepts them unpolled).
        handle: poll && !st.isFile() && !st.isDirectory() ? koffi.node.poll(fd, { disconnect: true }, () => this.drop(fd)) : undefined,
      };
      entry.handle?.unref();
      // LIST_PREPEND in service_add_fd_store(): the newest fd is passed first.
      this.entries.unshift(entry);
    }
  }

  /** FDSTOREREMOVE=1: closes every stored fd of that name. */
  remove(name: string): number {
    const gone = this.entries.filter((e) => e.name === name);
    for (const e of gone) this.drop(e.fd);
    return gone.length;
  }

  /** The stored fds for the next launch, newest first as systemd passes them (the caller appends them after the socket fds). */
  listenFds(): ListenFd[] {
    return this.entries.map((e) => ({ fd: e.fd, name: e.name }));
  }

  /** Closes everything (FileDescriptorStorePreserve=no at stop). */
  clear(): void {
    for (const e of [...this.entries]) this.drop(e.fd);
  }

  private drop(fd: number): void {
    const i = this.entries.findIndex((e) => e.fd === fd);
    if (i < 0) return;
    const [e] = this.entries.splice(i, 1);
    e!.handle?.close();
    close(fd);
  }
}
