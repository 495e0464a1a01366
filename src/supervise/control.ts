/**
 * The supervisor's control plane: a Unix stream socket at
 * `<stateDir>/control.sock` speaking newline-delimited JSON (systemg's
 * framing, §2.1 of the systemg notes: one object per line, requests capped at
 * 1 MiB, responses at 64 MiB, owner-only socket plus an SO_PEERCRED check).
 *
 * Wire format (UTF-8, one JSON object per `\n`-terminated line):
 *
 *   request   {"id": 1, "op": "status", "args": {"service": "nginx"}}
 *             id: a string or a finite number chosen by the client, unique
 *             among its in-flight requests on that connection; args: an
 *             object, optional (= {}).
 *   response  {"id": 1, "ok": true, "result": …}
 *             {"id": 1, "ok": false, "error": {"code": "unknown_op", "message": "…"}}
 *   event     {"id": 1, "event": …}    zero or more before the response of a
 *             streaming request (`logs -f`); the response ends the stream.
 *   cancel    {"id": 2, "op": "cancel", "args": {"id": 1}} (handled here, never
 *             passed to the handler) aborts request 1's signal; the end of
 *             the client's input aborts every request on the connection
 *             (each is still answered, then the server ends its side).
 *
 * Every line gets an answer. A line that cannot be attributed to a request
 * (not JSON, not an object, no usable id, over 1 MiB) is answered with
 * `"id": null`. The connection survives all of them: an oversized line is
 * discarded up to its newline. Requests on one connection run concurrently;
 * responses carry their id.
 *
 * Access: the socket is created under umask 0177 (mode 0600) in a directory
 * made 0700 (one owned by another uid, or writable by others, is refused); each accepted connection's SO_PEERCRED uid must be the
 * supervisor's effective uid or 0, else it gets one `forbidden` line (id null)
 * and is closed before any of its bytes are read.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { peerCred, socketFd, type PeerCred } from '../sys/libc-peercred.js';

export const MAX_REQUEST_LINE = 1024 * 1024;
export const MAX_RESPONSE_LINE = 64 * 1024 * 1024;
/** In-flight requests per connection before `busy` refusals. */
export const MAX_IN_FLIGHT = 256;
/** Unsent output on one connection (a stalled `logs -f` reader) before it is dropped. */
export const MAX_BACKLOG = 64 * 1024 * 1024;

export type RequestId = string | number;

export type ErrorCode =
  | 'bad_json'
  | 'bad_request'
  | 'too_large'
  | 'unknown_op'
  | 'bad_args'
  | 'busy'
  | 'forbidden'
  | 'internal'
  | 'cancelled'
  // client side
  | 'no_supervisor'
  | 'timeout'
  | 'closed'
  | 'bad_response'
  // free for handlers (unknown_service, failed, …)
  | (string & {});

/** An error with a code, carried to the client as `{code, message}`. Handlers throw it for expected failures. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Op catalogue and argument checks

/** An argument type; a trailing `?` makes it optional. */
export type ArgType =
  | 'string'
  | 'string?'
  | 'integer'
  | 'integer?'
  | 'number'
  | 'number?'
  | 'boolean'
  | 'boolean?'
  | 'string[]'
  | 'string[]?'
  | 'object'
  | 'object?';

export interface OpSpec {
  readonly args: Readonly<Record<string, ArgType>>;
  /** Streams `{id, event}` lines before its response. */
  readonly stream?: boolean;
}

export type OpTable = Readonly<Record<string, OpSpec>>;

/**
 * sysg's ops, one per CLI verb that needs the supervisor (systemg names where
 * systemg has them). The lead may pass a different table to ControlServer.
 */
export const SYSG_OPS: OpTable = {
  ping: { args: {} },
  version: { args: {} },
  start: { args: { config: 'string?', service: 'string?', units: 'string[]?' } },
  stop: { args: { config: 'string?', service: 'string?', supervisor: 'boolean?' } },
  restart: { args: { config: 'string?', service: 'string?' } },
  reload: { args: { config: 'string?', service: 'string?' } },
  'reset-failed': { args: { service: 'string?' } },
  status: { args: { config: 'string?', service: 'string?' } },
  inspect: { args: { service: 'string' } },
  logs: {
    args: { service: 'string?', lines: 'integer?', follow: 'boolean?', kind: 'string?' },
    stream: true,
  },
  shutdown: { args: {} },
};

const RESERVED_OPS = new Set(['cancel']);

function typeOfArg(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return `a ${typeof v}`;
}

function argMatches(v: unknown, base: string): boolean {
  switch (base) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return false;
  }
}

/** Checks args against a spec; throws ControlError('bad_args') naming the first problem. */
export function checkArgs(op: string, spec: OpSpec, args: Record<string, unknown>): void {
  for (const key of Object.keys(args)) {
    if (!Object.hasOwn(spec.args, key)) {
      const known = Object.keys(spec.args);
      throw new ControlError(
        'bad_args',
        `${op}: unknown argument "${key}"${known.length ? ` (known: ${known.join(', ')})` : ' (it takes none)'}`,
      );
    }
  }
  for (const [key, type] of Object.entries(spec.args)) {
    const optional = type.endsWith('?');
    const base = optional ? type.slice(0, -1) : type;
    const v = args[key];
    if (v === undefined) {
      if (!optional) throw new ControlError('bad_args', `${op}: missing argument "${key}" (${base})`);
      continue;
    }
    if (!argMatches(v, base)) throw new ControlError('bad_args', `${op}: argument "${key}" must be ${base === 'integer' ? 'an integer' : `a ${base}`}, got ${typeOfArg(v)}`);
  }
}

// ---------------------------------------------------------------------------
// Server

export interface RequestContext {
  /**
   * Aborted by a `cancel` request, by the end of the client's input (a
   * half-closed client can no longer cancel; its requests are still
   * answered), by the connection closing and by the server closing.
   */
  readonly signal: AbortSignal;
  /** Sends `{id, event}` (ignored once the request has been answered or aborted). */
  emit(event: unknown): void;
  readonly id: RequestId;
}

export type OpHandler = (op: string, args: Record<string, unknown>, peer: PeerCred, ctx: RequestContext) => Promise<unknown>;

export interface ControlServerOptions {
  /** Known ops and their argument types (default SYSG_OPS); null: every op goes to the handler unchecked. */
  readonly ops?: OpTable | null;
  /** The uid besides root allowed to connect (default: process.geteuid()). */
  readonly ownerUid?: number;
  /** Called for internal problems (a handler throwing a non-ControlError, a failed peer check); default: ignored. */
  readonly onError?: (err: unknown) => void;
}

/** Whether a peer uid may control a supervisor running as ownerUid. */
export function peerAllowed(peerUid: number, ownerUid: number): boolean {
  return peerUid === ownerUid || peerUid === 0;
}

/** A decoded request line, or the error answer to send for it. */
export type Parsed =
  | { readonly ok: true; readonly id: RequestId; readonly op: string; readonly args: Record<string, unknown> }
  | { readonly ok: false; readonly id: RequestId | null; readonly code: ErrorCode; readonly message: string };

function validId(v: unknown): v is RequestId {
  return (typeof v === 'string' && v.length <= 256) || (typeof v === 'number' && Number.isFinite(v));
}

/** Parses one request line (without its newline). Pure; exported for tests and fuzzing. */
export function parseRequest(line: Buffer | string): Parsed {
  const text = typeof line === 'string' ? line : line.toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, id: null, code: 'bad_json', message: `malformed JSON: ${(e as Error).message}` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { ok: false, id: null, code: 'bad_request', message: `a request must be a JSON object {id, op, args}, got ${typeOfArg(v)}` };
  }
  const o = v as Record<string, unknown>;
  if (!validId(o.id)) {
    return { ok: false, id: null, code: 'bad_request', message: 'a request needs an "id": a string (up to 256 characters) or a finite number' };
  }
  const id = o.id;
  for (const key of Object.keys(o)) {
    if (key !== 'id' && key !== 'op' && key !== 'args') return { ok: false, id, code: 'bad_request', message: `unknown request field "${key}" (expected id, op, args)` };
  }
  if (typeof o.op !== 'string' || o.op === '') return { ok: false, id, code: 'bad_request', message: 'a request needs an "op" string' };
  const args = o.args === undefined || o.args === null ? {} : o.args;
  if (typeof args !== 'object' || Array.isArray(args)) {
    return { ok: false, id, code: 'bad_args', message: `${o.op}: "args" must be an object, got ${typeOfArg(args)}` };
  }
  return { ok: true, id, op: o.op, args: args as Record<string, unknown> };
}

/**
 * Splits a byte stream into lines of at most `max` bytes. A longer line
 * produces one `overflow` callback and is skipped up to its newline.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly max: number,
    private readonly onLine: (line: Buffer) => void,
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.discarding) {
        const piece = chunk.subarray(start, end);
        if (this.size + piece.length > this.max) {
          this.parts = [];
          this.size = 0;
          this.discarding = true;
          this.onOverflow();
        } else if (piece.length) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (nl < 0) break;
      if (this.discarding) this.discarding = false;
      else {
        const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
        this.parts = [];
        this.size = 0;
        this.onLine(line);
      }
      start = nl + 1;
    }
  }

  /** Bytes of an unterminated line held. */
  get pending(): number {
    return this.size;
  }
}

interface Conn {
  readonly socket: Socket;
  readonly peer: PeerCred;
  readonly inFlight: Map<RequestId, AbortController>;
  /** The client half-closed: end our side once every request is answered. */
  readEnded: boolean;
}

export class ControlServer {
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  private readonly ops: OpTable | null;
  private readonly ownerUid: number;
  private readonly onError: (err: unknown) => void;

  constructor(
    readonly path: string,
    private readonly handler: OpHandler,
    options: ControlServerOptions = {},
  ) {
    this.ops = options.ops === undefined ? SYSG_OPS : options.ops;
    this.ownerUid = options.ownerUid ?? process.geteuid!();
    this.onError = options.onError ?? (() => {});
  }

  /**
   * Creates the directory (0700) and the socket (0600) and starts accepting.
   * A leftover socket nobody answers on is replaced; one that answers means
   * another supervisor is live: ControlError('busy'). (The single-instance
   * lock in state.ts should be taken first; this is a second line.)
   */
  async listen(): Promise<void> {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (st.uid !== this.ownerUid && st.uid !== 0) {
      throw new ControlError('forbidden', `sysg: ${dir} belongs to uid ${st.uid}, not to this supervisor's uid ${this.ownerUid}; refusing to put the control socket there`);
    }
    if (st.uid === this.ownerUid && (st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    else if ((st.mode & 0o022) !== 0) throw new ControlError('forbidden', `sysg: ${dir} is writable by others; refusing to put the control socket there`);
    let existing = false;
    try {
      existing = lstatSync(this.path).isSocket();
      if (!existing) throw new ControlError('busy', `sysg: ${this.path} exists and is not a socket; remove it`);
    } catch (e) {
      if (e instanceof ControlError) throw e;
    }
    if (existing) {
      if (await answers(this.path)) throw new ControlError('busy', `sysg: a supervisor is already listening on ${this.path}`);
      unlinkSync(this.path);
    }
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Pipes bind synchronously inside listen() in the primary process, so
      // the umask applies to the socket inode and nothing else.
      const old = process.umask(0o177);
      try {
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(old);
      }
    });
    server.on('error', (e) => this.onError(e));
    chmodSync(this.path, 0o600);
  }

  /** Stops accepting, aborts every request, closes every connection and removes the socket. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of this.conns) {
      for (const ac of c.inFlight.values()) ac.abort();
      c.socket.destroy();
    }
    this.conns.clear();
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  /** Open connections (for tests and the status of the supervisor itself). */
  get connections(): number {
    return this.conns.size;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {}); // EPIPE/ECONNRESET from a vanished client: the 'close' handler cleans up
    let peer: PeerCred;
    try {
      const fd = socketFd(socket);
      if (fd < 0) throw new Error('accepted socket has no file descriptor');
      peer = peerCred(fd);
    } catch (e) {
      this.onError(e);
      refuse(socket, 'forbidden', `sysg: cannot verify the peer of a control connection (${(e as Error).message}); refused`);
      return;
    }
    if (!peerAllowed(peer.uid, this.ownerUid)) {
      refuse(socket, 'forbidden', `sysg: permission denied: uid ${peer.uid} (pid ${peer.pid}) may not control this supervisor, which belongs to uid ${this.ownerUid}`);
      return;
    }
    const conn: Conn = { socket, peer, inFlight: new Map(), readEnded: false };
    this.conns.add(conn);
    const splitter = new LineSplitter(
      MAX_REQUEST_LINE,
      (line) => this.onLine(conn, line),
      () => send(conn, { id: null, ok: false, error: { code: 'too_large', message: `request line over ${MAX_REQUEST_LINE} bytes; discarded` } }),
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('end', () => {
      if (splitter.pending) send(conn, { id: null, ok: false, error: { code: 'bad_request', message: 'request line not terminated by a newline before the end of input' } });
      // The client can no longer cancel: abort what waits on the signal (a
      // follow ends), answer everything, then end our side.
      conn.readEnded = true;
      for (const ac of conn.inFlight.values()) ac.abort();
      if (conn.inFlight.size === 0) socket.end();
    });
    socket.on('close', () => {
      this.conns.delete(conn);
      for (const ac of conn.inFlight.values()) ac.abort();
      conn.inFlight.clear();
    });
    socket.resume();
  }

  private onLine(conn: Conn, line: Buffer): void {
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (line.length === 0 || /^\s*$/.test(line.toString('latin1'))) return; // blank lines are keep-alives
    const p = parseRequest(line);
    if (!p.ok) {
      send(conn, { id: p.id, ok: false, error: { code: p.code, message: p.message } });
      return;
    }
    const { id, op, args } = p;
    if (conn.inFlight.has(id)) {
      send(conn, { id, ok: false, error: { code: 'bad_request', message: `request id ${JSON.stringify(id)} is already in flight on this connection` } });
      return;
    }
    if (op === 'cancel') {
      const target = args.id;
      if (!validId(target)) {
        send(conn, { id, ok: false, error: { code: 'bad_args', message: 'cancel: argument "id" must be the id of a request on this connection' } });
        return;
      }
      const ac = conn.inFlight.get(target);
      ac?.abort();
      send(conn, { id, ok: true, result: { cancelled: ac !== undefined } });
      return;
    }
    if (this.ops) {
      const spec = Object.hasOwn(this.ops, op) ? this.ops[op] : undefined;
      if (!spec || RESERVED_OPS.has(op)) {
        send(conn, { id, ok: false, error: { code: 'unknown_op', message: `unknown op "${op.slice(0, 64)}" (known: ${Object.keys(this.ops).join(', ')}, cancel)` } });
        return;
      }
      try {
        checkArgs(op, spec, args);
      } catch (e) {
        send(conn, { id, ok: false, error: { code: (e as ControlError).code, message: (e as Error).message } });
        return;
      }
    }
    if (conn.inFlight.size >= MAX_IN_FLIGHT) {
      send(conn, { id, ok: false, error: { code: 'busy', message: `too many requests in flight on this connection (${MAX_IN_FLIGHT})` } });
      return;
    }
    const ac = new AbortController();
    conn.inFlight.set(id, ac);
    let done = false;
    const ctx: RequestContext = {
      id,
      signal: ac.signal,
      emit: (event) => {
        if (!done && !ac.signal.aborted) send(conn, { id, event: event ?? null });
      },
    };
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(this.handler(op, args, conn.peer, ctx));
    } catch (e) {
      promise = Promise.reject(e);
    }
    const finish = (): void => {
      done = true;
      if (conn.inFlight.get(id) === ac) conn.inFlight.delete(id);
    };
    const endIfIdle = (): void => {
      if (conn.readEnded && conn.inFlight.size === 0) conn.socket.end();
    };
    promise.then(
      (result) => {
        finish();
        send(conn, { id, ok: true, result: result === undefined ? null : result });
        endIfIdle();
      },
      (e: unknown) => {
        finish();
        if (e instanceof ControlError) send(conn, { id, ok: false, error: { code: e.code, message: e.message } });
        else {
          this.onError(e);
          const message = e instanceof Error ? e.message : String(e);
          send(conn, { id, ok: false, error: { code: 'internal', message: `${op}: internal error: ${message}` } });
        }
        endIfIdle();
      },
    );
  }
}

function encode(msg: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(msg);
  } catch (e) {
    const id = (msg as { id?: unknown }).id ?? null;
    text = JSON.stringify({ id, ok: false, error: { code: 'internal', message: `response not serializable: ${(e as Error).message}` } });
  }
  if (text.length > MAX_RESPONSE_LINE) {
    const id = (msg as { id?: unknown }).id ?? null;
    text = JSON.stringify({ id, ok: false, error: { code: 'internal', message: `response over ${MAX_RESPONSE_LINE} bytes` } });
  }
  return text + '\n';
}

function send(conn: Conn, msg: unknown): void {
  const s = conn.socket;
  if (s.destroyed || !s.writable) return;
  if (s.writableLength > MAX_BACKLOG) {
    s.destroy(); // a reader that stopped reading: drop it rather than buffer without bound
    return;
  }
  s.write(encode(msg));
}

function refuse(socket: Socket, code: ErrorCode, message: string): void {
  socket.end(encode({ id: null, ok: false, error: { code, message } }));
  socket.resume(); // read and drop whatever the peer sends, so its close is noticed
  socket.setTimeout(5000, () => socket.destroy());
}

/** Whether something accepts connections on path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------
// Client

export interface RequestOptions {
  /** Rejects with ControlError('timeout') after this long (default: no timeout). */
  readonly timeoutMs?: number;
}

export interface StreamHandle {
  /** The final result (after the events); rejects with a ControlError. */
  readonly done: Promise<unknown>;
  /** Cancels the request on the supervisor; `done` then settles with the handler's answer. */
  cancel(): void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?: (event: unknown) => void;
  timer?: NodeJS.Timeout;
}

function noSupervisorMessage(path: string, code: string | undefined): string {
  if (code === 'ECONNREFUSED') return `sysg: no supervisor running (stale socket at ${path}); start one with \`sysg start\``;
  return `sysg: no supervisor running (no socket at ${path}); start one with \`sysg start\``;
}

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private closedError: ControlError | null = null;

  private constructor(
    readonly path: string,
    private readonly socket: Socket,
  ) {
    const splitter = new LineSplitter(
      MAX_RESPONSE_LINE,
      (line) => this.onLine(line),
      () => this.fail(new ControlError('bad_response', `sysg: a response from the supervisor exceeded ${MAX_RESPONSE_LINE} bytes`)),
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (e) => this.fail(new ControlError('closed', `sysg: control connection error: ${e.message}`)));
    socket.on('close', () => this.fail(new ControlError('closed', 'sysg: the supervisor closed the connection')));
  }

  /**
   * Connects to a supervisor. No socket (ENOENT) or nobody listening
   * (ECONNREFUSED) → ControlError('no_supervisor'); EACCES →
   * ControlError('forbidden').
   */
  static connect(path: string, options: RequestOptions = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(path);
      let timer: NodeJS.Timeout | undefined;
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          socket.destroy();
          reject(new ControlError('timeout', `sysg: connecting to the supervisor at ${path} timed out after ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      socket.once('connect', () => {
        if (timer) clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(path, socket));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTDIR') reject(new ControlError('no_supervisor', noSupervisorMessage(path, e.code)));
        else if (e.code === 'EACCES' || e.code === 'EPERM') {
          reject(new ControlError('forbidden', `sysg: permission denied on ${path}: the supervisor belongs to another user (system supervisor: use --sys as root)`));
        } else reject(new ControlError('no_supervisor', `sysg: cannot reach the supervisor at ${path}: ${e.message}`));
      });
    });
  }

  /** One request → its result; a refusal rejects with ControlError(code, message). */
  request(op: string, args: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<unknown> {
    return this.start(op, args, undefined, options);
  }

  /** A streaming request: onEvent for each `{id, event}`, then `done` settles with the response. */
  stream(op: string, args: Record<string, unknown>, onEvent: (event: unknown) => void, options: RequestOptions = {}): StreamHandle {
    const id = this.nextId;
    const done = this.start(op, args, onEvent, options);
    return {
      done,
      cancel: () => {
        if (this.pending.has(id)) this.request('cancel', { id }).catch(() => {});
      },
    };
  }

  /** Closes the connection; pending requests reject with ControlError('closed'). */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  /** Sends raw bytes (tests: garbage on the socket). */
  writeRaw(data: Buffer | string): void {
    this.socket.write(data);
  }

  private start(op: string, args: Record<string, unknown>, onEvent: ((e: unknown) => void) | undefined, options: RequestOptions): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (onEvent) p.onEvent = onEvent;
      if (options.timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          if (onEvent) this.socket.write(encode({ id: this.nextId++, op: 'cancel', args: { id } }));
          reject(new ControlError('timeout', `sysg: the supervisor did not answer "${op}" within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.pending.set(id, p);
      this.socket.write(encode({ id, op, args }));
    });
  }

  private onLine(line: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line.toString('utf8'));
    } catch {
      this.fail(new ControlError('bad_response', 'sysg: the supervisor sent a malformed line (is something else listening on the control socket?)'));
      this.socket.destroy();
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as { id?: unknown; ok?: unknown; result?: unknown; event?: unknown; error?: { code?: unknown; message?: unknown } };
    const err = (): ControlError =>
      new ControlError(typeof m.error?.code === 'string' ? m.error.code : 'internal', typeof m.error?.message === 'string' ? m.error.message : 'unknown error');
    if (m.id === null || m.id === undefined) {
      // Connection-level refusal (forbidden) or an answer to a line we did not send correctly.
      if (m.ok === false) this.fail(err());
      return;
    }
    const p = this.pending.get(m.id as RequestId);
    if (!p) return;
    if ('event' in m && m.ok === undefined) {
      p.onEvent?.(m.event);
      return;
    }
    this.pending.delete(m.id as RequestId);
    if (p.timer) clearTimeout(p.timer);
    if (m.ok === true) p.resolve(m.result);
    else p.reject(err());
  }

  private fail(e: ControlError): void {
    if (!this.closedError) this.closedError = e;
    const err = this.closedError;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}

/** Connect, one request, close: what most CLI verbs need. */
export async function controlRequest(path: string, op: string, args: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<unknown> {
  const client = await ControlClient.connect(path, options);
  try {
    return await client.request(op, args, options);
  } finally {
    client.close();
  }
}
