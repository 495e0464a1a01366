/**
 * Per-service log files and the formatting of `sysg logs` and `sysg status`.
 *
 * File: `<logDir>/<service>.log`, both streams in capture order, one line per
 * output line, in systemg's format (§2.1 of the systemg notes) so the files
 * read the same under either tool and stay greppable:
 *
 *   2026-11-29T14:20:00.123456Z stdout listening on :8080
 *   2026-11-29T14:20:01.000000Z stderr warning: …
 *   2026-11-29T14:20:02.000000Z sysg Main process exited, code=exited, status=1/FAILURE
 *
 * `<RFC3339 UTC, microseconds> <stream> <text>`; stream is stdout, stderr, or
 * sysg for the supervisor's own lines about the service (journald's
 * "systemd[1]:" lines). Text is the output with its newline (and a trailing
 * CR) removed, decoded as UTF-8 (invalid bytes become U+FFFD); lines over
 * 16 KiB are cut with a " …[truncated N bytes]" marker. No pid on the line:
 * systemg's readers would not expect it, and the sysg lines record each
 * start ("Started, main pid 123").
 *
 * Rotation by size (systemg's defaults: 10 MiB, 5 files): before a write that
 * would pass maxBytes, `.log.(N-1)` → `.log.N` … `.log` → `.log.1`; at most
 * maxFiles rotated files are kept. Readers (tail, follow) cross rotations.
 *
 * `--json` (systemg's `logs --format json`): one object per line,
 * `{"ts": "…", "stream": "stdout", "service": "web", "line": "…"}`.
 */
import {
  closeSync,
  constants as fsc,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  watch,
  writeSync,
  type FSWatcher,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 5;
export const MAX_LINE_BYTES = 16 * 1024;

export type LogStream = 'stdout' | 'stderr' | 'sysg';

export interface LogEntry {
  /** ISO time from the file, or null for a line not in the format. */
  readonly ts: string | null;
  readonly stream: string;
  readonly service: string;
  readonly line: string;
}

export function logPath(logDir: string, service: string): string {
  if (!service || service.includes('/') || service === '.' || service === '..' || service.includes('\0')) {
    throw new Error(`sysg: invalid service name for a log file: ${JSON.stringify(service)}`);
  }
  return join(logDir, `${service}.log`);
}

/** RFC3339 UTC with microseconds (performance.timeOrigin gives sub-ms). */
export function timestamp(now: number = performance.timeOrigin + performance.now()): string {
  const ms = Math.floor(now);
  const us = Math.floor((now - ms) * 1000);
  const iso = new Date(ms).toISOString(); // 2026-11-29T14:20:00.123Z
  return `${iso.slice(0, 23)}${String(us).padStart(3, '0')}Z`;
}

/** One file line (with its newline) for a text line. */
export function formatFileLine(stream: string, text: string, ts: string = timestamp()): string {
  let t = text.endsWith('\r') ? text.slice(0, -1) : text;
  const bytes = Buffer.byteLength(t);
  if (bytes > MAX_LINE_BYTES) {
    t = Buffer.from(t).subarray(0, MAX_LINE_BYTES).toString('utf8').replace(/\uFFFD$/, '') + ` …[truncated ${bytes - MAX_LINE_BYTES} bytes]`;
  }
  return `${ts} ${stream} ${t.replace(/\n/g, ' ')}\n`;
}

const LINE_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ([a-z]+) ?(.*)$/s;

/** A file line (without its newline) → entry; lines in no known format keep their text with ts null, stream "unknown". */
export function parseLogLine(raw: string, service: string): LogEntry {
  const m = LINE_RE.exec(raw);
  if (!m) return { ts: null, stream: 'unknown', service, line: raw };
  return { ts: m[1]!, stream: m[2]!, service, line: m[3]! };
}

export interface RotationOptions {
  readonly maxBytes?: number;
  readonly maxFiles?: number;
}

/** Shifts `<file>.(n)` up by one, dropping the oldest; `<file>` becomes `<file>.1`. */
export function rotate(file: string, maxFiles: number): void {
  if (maxFiles <= 0) {
    try {
      unlinkSync(file);
    } catch {
      // gone
    }
    return;
  }
  try {
    unlinkSync(`${file}.${maxFiles}`);
  } catch {
    // fewer files so far
  }
  for (let i = maxFiles - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      // a gap
    }
  }
  try {
    renameSync(file, `${file}.1`);
  } catch {
    // nothing written yet
  }
}

/**
 * The writer for one service: feed it raw chunks from the service's pipes;
 * it splits lines per stream (a partial line waits for its end), stamps them
 * and appends them, rotating by size. Synchronous appends: the bytes are in
 * the page cache when write() returns, so a follower sees them at once and a
 * supervisor crash loses nothing already written.
 */
export class LogWriter {
  private fd = -1;
  private size = 0;
  private readonly partial = new Map<string, Buffer>();
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;

  constructor(
    logDir: string,
    readonly service: string,
    options: RotationOptions = {},
  ) {
    this.path = logPath(logDir, service);
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  }

  private open(): void {
    if (this.fd >= 0) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.fd = openSync(this.path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o640);
    this.size = fstatSync(this.fd).size;
  }

  /** Raw output bytes from a stream. */
  write(stream: LogStream | string, chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const held = this.partial.get(stream);
    if (held) buf = Buffer.concat([held, buf]);
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      lines.push(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    let rest = buf.subarray(start);
    if (rest.length > MAX_LINE_BYTES) {
      lines.push(rest.toString('utf8')); // a line that never ends: write it (truncated) rather than hold it
      rest = Buffer.alloc(0);
    }
    if (rest.length) this.partial.set(stream, Buffer.from(rest));
    else this.partial.delete(stream);
    if (lines.length) this.append(lines.map((l) => formatFileLine(stream, l)).join(''));
  }

  /** Whole lines (a supervisor message, or text already split). */
  writeLine(stream: LogStream | string, text: string): void {
    this.append(text.split('\n').map((l) => formatFileLine(stream, l)).join(''));
  }

  /** Writes out held partial lines (the process exited without a final newline). */
  flush(): void {
    const held = [...this.partial.entries()];
    this.partial.clear();
    if (held.length) this.append(held.map(([s, b]) => formatFileLine(s, b.toString('utf8'))).join(''));
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private append(text: string): void {
    const data = Buffer.from(text);
    this.open();
    if (this.size > 0 && this.size + data.length > this.maxBytes) {
      closeSync(this.fd);
      this.fd = -1;
      rotate(this.path, this.maxFiles);
      this.open();
    }
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off);
    this.size += data.length;
  }
}

// ---------------------------------------------------------------------------
// Reading

/** Files of a service's log, newest first: `x.log`, `x.log.1`, … (those that exist). */
export function logFiles(logDir: string, service: string, maxFiles = 100): string[] {
  const base = logPath(logDir, service);
  const out: string[] = [];
  if (existsSync(base)) out.push(base);
  for (let i = 1; i <= maxFiles; i++) {
    const f = `${base}.${i}`;
    if (!existsSync(f)) break;
    out.push(f);
  }
  return out;
}

const CHUNK = 64 * 1024;

/**
 * The last n lines of one file, reading backwards from its end in 64 KiB
 * blocks (never the whole file). A final line without a newline counts.
 */
export function tailFile(file: string, n: number): string[] {
  if (n <= 0) return [];
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    let pos = fstatSync(fd).size;
    const blocks: Buffer[] = [];
    let newlines = 0;
    let first = true;
    // n lines need n+1 newlines before them (or the start of the file); the file's own final newline is not a separator.
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const b = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const r = readSync(fd, b, got, len - got, pos + got);
        if (r === 0) break;
        got += r;
      }
      const scan = b.subarray(0, got);
      if (first && scan.length && scan[scan.length - 1] === 0x0a) newlines--; // the terminator of the last line
      first = false;
      blocks.unshift(scan);
      for (let i = 0; i < scan.length; i++) if (scan[i] === 0x0a) newlines++;
      if (newlines >= n) break;
    }
    let text = Buffer.concat(blocks).toString('utf8');
    if (text.endsWith('\n')) text = text.slice(0, -1);
    if (text === '') return [];
    const lines = text.split('\n');
    // the first line is partial when we stopped before the start of the file
    if (pos > 0) lines.shift();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}

/** The last n lines of a service's log across its rotated files, oldest first. */
export function tailLines(logDir: string, service: string, n: number): string[] {
  let out: string[] = [];
  for (const f of logFiles(logDir, service)) {
    if (out.length >= n) break;
    out = tailFile(f, n - out.length).concat(out);
  }
  return out;
}

/** tailLines, parsed. */
export function tailEntries(logDir: string, service: string, n: number): LogEntry[] {
  return tailLines(logDir, service, n).map((l) => parseLogLine(l, service));
}

export interface FollowOptions {
  /** Safety-net poll interval (fs.watch can miss events on some filesystems). Default 1000 ms. */
  readonly pollMs?: number;
  /** Start at the current end of the file (default) or at offset 0. */
  readonly fromStart?: boolean;
  readonly signal?: AbortSignal;
}

export interface Follower {
  /** Stops watching; lines already read are delivered. */
  close(): void;
  /** Reads whatever is new now (also what the watch and the poll call). */
  check(): void;
}

/**
 * Follows a log file: calls onLine for each complete line appended after the
 * start point. Handles rotation (the file renamed and recreated: the rest of
 * the old file is read first, then the new one from its start) and
 * truncation (read again from the start). Partial lines wait for their end.
 */
export function follow(file: string, onLine: (line: string) => void, options: FollowOptions = {}): Follower {
  let fd = -1;
  let ino = -1;
  let pos = 0;
  let partial = '';
  let closed = false;
  let decoder = new StringDecoder('utf8');

  const openCurrent = (atEnd: boolean): boolean => {
    try {
      fd = openSync(file, fsc.O_RDONLY);
    } catch {
      fd = -1;
      return false;
    }
    const st = fstatSync(fd);
    ino = st.ino;
    pos = atEnd ? st.size : 0;
    partial = '';
    decoder = new StringDecoder('utf8');
    return true;
  };

  const drain = (): void => {
    if (fd < 0) return;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const r = readSync(fd, buf, 0, CHUNK, pos);
      if (r <= 0) break;
      pos += r;
      const text = partial + decoder.write(buf.subarray(0, r));
      const parts = text.split('\n');
      partial = parts.pop()!;
      for (const l of parts) if (!closed) onLine(l);
    }
  };

  let busy = false;
  let again = false;
  const check = (): void => {
    if (closed) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        if (fd < 0) {
          if (openCurrent(false)) drain();
          continue;
        }
        drain();
        let st: { ino: number; size: number } | null;
        try {
          st = statSync(file);
        } catch {
          st = null; // rotated away, the new file not there yet
        }
        if (st && st.ino !== ino) {
          drain(); // the rest of the rotated file
          if (partial) onLine(partial);
          closeSync(fd);
          fd = -1;
          if (openCurrent(false)) drain();
        } else if (st && st.size < pos) {
          pos = 0; // truncated in place
          partial = '';
          decoder = new StringDecoder('utf8');
          drain();
        }
      } while (again && !closed);
    } finally {
      busy = false;
    }
  };

  if (!openCurrent(options.fromStart !== true)) fd = -1;
  let watcher: FSWatcher | null = null;
  try {
    const name = basename(file);
    watcher = watch(dirname(file), { persistent: true }, (_ev, f) => {
      if (f === null || f === name || String(f).startsWith(`${name}.`)) check();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null; // no directory yet or no inotify: the poll covers it
  }
  const timer = setInterval(check, options.pollMs ?? 1000);
  const close = (): void => {
    if (closed) return;
    check();
    closed = true;
    clearInterval(timer);
    watcher?.close();
    if (fd >= 0) closeSync(fd);
    fd = -1;
  };
  options.signal?.addEventListener('abort', close, { once: true });
  if (options.signal?.aborted) close();
  if (fd >= 0) check();
  return { close, check };
}

/**
 * The `logs` op for the control handler: the last `lines` entries of each
 * service (oldest first, services in the given order), then with follow
 * every new entry until the signal aborts. Emits LogEntry objects.
 */
export async function streamLogs(
  logDir: string,
  services: readonly string[],
  options: { lines?: number; follow?: boolean; kind?: string },
  emit: (entry: LogEntry) => void,
  signal: AbortSignal,
): Promise<{ lines: number }> {
  let count = 0;
  const want = (e: LogEntry): boolean => !options.kind || e.stream === options.kind;
  const send = (e: LogEntry): void => {
    if (want(e)) {
      count++;
      emit(e);
    }
  };
  const n = options.lines ?? 100;
  const followers: Follower[] = [];
  // The follower starts at the end of each file, then the tail is read: both
  // synchronously, so in the supervisor (the only writer, writing
  // synchronously on the same thread) no line falls between them or shows twice.
  if (options.follow) for (const s of services) followers.push(follow(logPath(logDir, s), (l) => send(parseLogLine(l, s)), { signal }));
  for (const s of services) for (const e of tailEntries(logDir, s, n)) send(e);
  if (options.follow && !signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  for (const f of followers) f.close();
  return { lines: count };
}

// ---------------------------------------------------------------------------
// Output formatting

export interface ColorOptions {
  readonly plain?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly isTTY?: boolean;
}

/**
 * Whether to color: not with --plain, not when NO_COLOR is set and non-empty
 * (no-color.org), not when SYSTEMG_AGENT is set to anything but "" or "0"
 * (systemg's agent mode), not when output is not a terminal.
 */
export function useColor(options: ColorOptions = {}): boolean {
  const env = options.env ?? process.env;
  if (options.plain) return false;
  if (env.NO_COLOR) return false;
  if (env.SYSTEMG_AGENT && env.SYSTEMG_AGENT !== '0') return false;
  return options.isTTY ?? process.stdout.isTTY === true;
}

const SGR = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m' } as const;
export type Style = keyof typeof SGR;

export function paint(text: string, style: Style, color: boolean): string {
  return color ? `${SGR[style]}${text}${SGR.reset}` : text;
}

/** `sysg logs --json`: one line per entry. */
export function formatLogJson(e: LogEntry): string {
  return JSON.stringify({ ts: e.ts, stream: e.stream, service: e.service, line: e.line });
}

/** `sysg logs`: `<ts> <service> | <line>`; stderr in red, sysg lines dim when colored. */
export function formatLogText(e: LogEntry, options: { color?: boolean; service?: boolean; width?: number } = {}): string {
  const color = options.color ?? false;
  const ts = e.ts ? paint(e.ts.replace('T', ' ').replace(/\.\d+Z$/, ''), 'dim', color) + ' ' : '';
  const who = options.service === false ? '' : `${paint(e.service.padEnd(options.width ?? 0), 'cyan', color)} | `;
  const line = e.stream === 'stderr' ? paint(e.line, 'red', color) : e.stream === 'sysg' ? paint(e.line, 'bold', color) : e.line;
  return `${ts}${who}${line}`;
}

/** "3d 4h", "2h 5min", "2h 30s", "4min 10s", "12s": the two largest non-zero units, as systemctl status shows them. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  let rest = Math.floor(ms / 1000);
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  for (const [size, name] of units) {
    if (parts.length === 2) break;
    const k = Math.floor(rest / size);
    rest %= size;
    if (k > 0) parts.push(`${k}${name}`);
  }
  return parts.length ? parts.join(' ') : '0s';
}

export interface StatusRow {
  readonly name: string;
  /** ActiveState. */
  readonly state: string;
  readonly subState?: string | undefined;
  readonly mainPid: number | null;
  readonly result: string;
  readonly restarts: number;
  /** ISO time the state was entered. */
  readonly since: string | null;
}

const STATE_STYLE: Record<string, Style> = {
  active: 'green',
  reloading: 'yellow',
  activating: 'yellow',
  deactivating: 'yellow',
  refreshing: 'yellow',
  failed: 'red',
  maintenance: 'yellow',
  inactive: 'dim',
};

/**
 * The `sysg status` table: UNIT, STATE (active/sub), PID, UPTIME (time in
 * that state), RESTARTS, RESULT. Columns padded on the uncolored text;
 * without color it is plain ASCII with no escape codes.
 */
export function formatStatusTable(rows: readonly StatusRow[], options: { color?: boolean; now?: number } = {}): string {
  const color = options.color ?? false;
  const now = options.now ?? Date.now();
  const header = ['UNIT', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'RESULT'];
  const cells = rows.map((r) => [
    r.name,
    r.subState ? `${r.state} (${r.subState})` : r.state,
    r.mainPid === null ? '-' : String(r.mainPid),
    r.since ? formatDuration(now - Date.parse(r.since)) : '-',
    String(r.restarts),
    r.result,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[], styles: (Style | null)[]): string =>
    c
      .map((v, i) => {
        const padded = i === c.length - 1 ? v : v.padEnd(widths[i]!);
        const st = styles[i];
        return st ? paint(v, st, color) + padded.slice(v.length) : padded;
      })
      .join('  ')
      .trimEnd();
  const out = [line(header, header.map(() => 'bold'))];
  rows.forEach((r, i) => {
    const st = STATE_STYLE[r.state] ?? null;
    out.push(line(cells[i]!, [null, st, null, null, r.restarts > 0 ? 'yellow' : null, r.result === 'success' ? null : 'red']));
  });
  return out.join('\n') + '\n';
}
