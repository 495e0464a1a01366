/**
 * Per-service log files: the line format, rotation, tails read from the end,
 * follow across rotation, and the status/logs output helpers.
 */
import t from 'tap';
import { appendFileSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  follow,
  formatDuration,
  formatFileLine,
  formatLogJson,
  formatLogText,
  formatStatusTable,
  LogWriter,
  logFiles,
  logPath,
  MAX_LINE_BYTES,
  parseLogLine,
  rotate,
  streamLogs,
  tailEntries,
  tailFile,
  tailLines,
  timestamp,
  useColor,
  type LogEntry,
} from '../src/supervise/logs.js';

const base = mkdtempSync(join(tmpdir(), 'sysg-logs-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(base, `d${++n}`);
  mkdirSync(d);
  return d;
};

/** Resolves once `pred` holds, re-checking on each call of the returned poke. */
function waitFor(pred: () => boolean): { done: Promise<void>; poke: () => void } {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const poke = (): void => {
    if (pred()) resolve();
  };
  return { done, poke };
}

t.test('line format: systemg-compatible, parsed back', async (t) => {
  t.match(timestamp(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  t.equal(timestamp(Date.UTC(2026, 10, 29, 14, 20, 0, 123) + 0.456), '2026-11-29T14:20:00.123456Z');
  const l = formatFileLine('stdout', 'hello world\r', '2026-11-29T14:20:00.123456Z');
  t.equal(l, '2026-11-29T14:20:00.123456Z stdout hello world\n');
  t.same(parseLogLine(l.slice(0, -1), 'web'), { ts: '2026-11-29T14:20:00.123456Z', stream: 'stdout', service: 'web', line: 'hello world' });
  t.same(parseLogLine('2026-11-29T14:20:00.123456Z stderr ', 'web'), { ts: '2026-11-29T14:20:00.123456Z', stream: 'stderr', service: 'web', line: '' });
  t.same(parseLogLine('free text', 'web'), { ts: null, stream: 'unknown', service: 'web', line: 'free text' });
  const long = formatFileLine('stdout', 'é'.repeat(MAX_LINE_BYTES), 'T');
  t.match(long, /^T stdout é+ …\[truncated 16384 bytes\]\n$/);
  t.throws(() => logPath('/l', '../x'));
  t.throws(() => logPath('/l', ''));
  t.equal(logPath('/l', 'web@1'), '/l/web@1.log');
});

t.test('writer: lines split per stream, partial lines wait, flush on exit', async (t) => {
  const dir = fresh();
  const w = new LogWriter(dir, 'web');
  w.write('stdout', 'one\ntw');
  w.write('stderr', 'err1\n');
  w.write('stdout', Buffer.from('o\nthree'));
  w.writeLine('sysg', 'Started, main pid 42');
  w.write('stdout', Buffer.from([0xe2, 0x82])); // a split UTF-8 sequence (€)
  w.write('stdout', Buffer.from([0xac, 0x0a]));
  w.close();
  const entries = tailEntries(dir, 'web', 100);
  t.same(
    entries.map((e) => [e.stream, e.line]),
    [
      ['stdout', 'one'],
      ['stderr', 'err1'],
      ['stdout', 'two'],
      ['sysg', 'Started, main pid 42'],
      ['stdout', 'three€'],
    ],
  );
  t.ok(entries.every((e) => e.ts && e.service === 'web'));
  const w2 = new LogWriter(dir, 'web');
  w2.write('stdout', 'no newline at exit');
  w2.flush();
  w2.close();
  t.same(tailLines(dir, 'web', 1).map((l) => parseLogLine(l, 'web').line), ['no newline at exit']);
  t.equal(statSync(join(dir, 'web.log')).mode & 0o777, 0o640);
});

t.test('rotation: numbered backups, at most maxFiles kept, no line lost among those kept', async (t) => {
  const dir = fresh();
  const w = new LogWriter(dir, 'svc', { maxBytes: 1000, maxFiles: 3 });
  for (let i = 0; i < 500; i++) w.write(i % 2 ? 'stderr' : 'stdout', `line ${i}\n`);
  w.close();
  t.same(readdirSync(dir).sort(), ['svc.log', 'svc.log.1', 'svc.log.2', 'svc.log.3']);
  for (const f of logFiles(dir, 'svc')) t.ok(statSync(f).size <= 1000, `${f} within maxBytes`);
  const all = tailLines(dir, 'svc', 100000).map((l) => parseLogLine(l, 'svc').line);
  const first = Number(all[0]!.split(' ')[1]);
  t.same(all, Array.from({ length: 500 - first }, (_, i) => `line ${first + i}`), 'contiguous up to the last line');
  t.same(tailLines(dir, 'svc', 3).map((l) => parseLogLine(l, 'svc').line), ['line 497', 'line 498', 'line 499']);
  // tail across a file boundary
  const k = readFileSync(join(dir, 'svc.log'), 'utf8').split('\n').length - 1;
  t.same(
    tailLines(dir, 'svc', k + 2).map((l) => parseLogLine(l, 'svc').line),
    Array.from({ length: k + 2 }, (_, i) => `line ${500 - k - 2 + i}`),
  );
  // rotate() with maxFiles 0 removes the file
  rotate(join(dir, 'svc.log'), 0);
  t.same(logFiles(dir, 'svc'), [join(dir, 'svc.log.1'), join(dir, 'svc.log.2'), join(dir, 'svc.log.3')], 'the base is gone, the backups stay');
  // a single line bigger than maxBytes still goes in (one line per file)
  const w2 = new LogWriter(dir, 'big', { maxBytes: 100, maxFiles: 2 });
  w2.writeLine('stdout', 'x'.repeat(300));
  w2.writeLine('stdout', 'y'.repeat(300));
  w2.close();
  t.same(tailLines(dir, 'big', 5).map((l) => parseLogLine(l, 'big').line.length), [300, 300]);
});

t.test('tail reads from the end: the last lines of an 8 GiB sparse file', async (t) => {
  const dir = fresh();
  const f = join(dir, 'huge.log');
  const fd = openSync(f, 'w');
  ftruncateSync(fd, 8 * 1024 ** 3); // no newline anywhere in 8 GiB: a whole-file read could not finish
  closeSync(fd);
  appendFileSync(f, '\nlast-but-one\nlast\n');
  t.same(tailFile(f, 2), ['last-but-one', 'last']);
  t.same(tailFile(f, 0), []);
  // final line without newline; fewer lines than asked; empty and missing files
  const g = join(dir, 'g.log');
  writeFileSync(g, 'a\nb\nc');
  t.same(tailFile(g, 2), ['b', 'c']);
  t.same(tailFile(g, 10), ['a', 'b', 'c']);
  writeFileSync(g, '');
  t.same(tailFile(g, 3), []);
  t.same(tailFile(join(dir, 'nope'), 3), []);
  // lines longer than the 64 KiB read block
  const long = 'z'.repeat(200 * 1024);
  writeFileSync(g, `first\n${long}\nend\n`);
  t.same(tailFile(g, 2), [long, 'end']);
  t.same(tailFile(g, 3), ['first', long, 'end']);
  // blank lines count
  writeFileSync(g, 'a\n\n\nb\n');
  t.same(tailFile(g, 3), ['', '', 'b']);
});

t.test('follow: appends, rotation, truncation, partial lines', async (t) => {
  const dir = fresh();
  writeFileSync(join(dir, 'web.log'), 'old line, before follow\n');
  const got: string[] = [];
  const w = new LogWriter(dir, 'web', { maxBytes: 600, maxFiles: 2 });
  const want = (k: number): Promise<void> => {
    const { done, poke } = waitFor(() => got.length >= k);
    waiters.push(poke);
    poke();
    return done;
  };
  const waiters: (() => void)[] = [];
  const f = follow(join(dir, 'web.log'), (l) => {
    got.push(parseLogLine(l, 'web').line);
    for (const p of waiters) p();
  }, { pollMs: 50 });
  w.writeLine('stdout', 'first');
  await want(1);
  t.same(got, ['first'], 'starts at the end: the old line is not repeated');
  // many lines across several rotations; the writer rotates under the follower
  for (let i = 0; i < 40; i++) {
    w.writeLine('stdout', `r${i} ${'.'.repeat(40)}`);
    if (i % 3 === 0) await want(2 + i); // let the follower keep up: a reader more than a whole file behind loses it (as tail -F would)
  }
  await want(41);
  t.same(got.slice(1).map((l) => l.split(' ')[0]), Array.from({ length: 40 }, (_, i) => `r${i}`), 'every line once, in order, across rotations');
  t.ok(readdirSync(dir).includes('web.log.1'), 'rotation happened');
  // truncation in place: read from the start again
  truncateSync(join(dir, 'web.log'), 0);
  appendFileSync(join(dir, 'web.log'), 'after truncate\n');
  await want(42);
  t.equal(got[41], 'after truncate');
  // a partial line is delivered when completed
  appendFileSync(join(dir, 'web.log'), 'half');
  f.check();
  t.equal(got.length, 42);
  appendFileSync(join(dir, 'web.log'), ' and half\n');
  await want(43);
  t.equal(got[42], 'half and half');
  f.close();
  w.close();
});

t.test('follow a file that does not exist yet', async (t) => {
  const dir = fresh();
  const got: string[] = [];
  const { done, poke } = waitFor(() => got.length >= 1);
  const ac = new AbortController();
  follow(join(dir, 'late.log'), (l) => {
    got.push(l);
    poke();
  }, { pollMs: 50, signal: ac.signal });
  writeFileSync(join(dir, 'late.log'), 'hello\n');
  await done;
  t.same(got, ['hello'], 'a file created after the follow started is read from its start');
  ac.abort();
});

t.test('streamLogs: tail then follow until aborted; kind filter', async (t) => {
  const dir = fresh();
  const a = new LogWriter(dir, 'a');
  const b = new LogWriter(dir, 'b');
  for (let i = 0; i < 5; i++) a.writeLine(i % 2 ? 'stderr' : 'stdout', `a${i}`);
  b.writeLine('stdout', 'b0');
  const got: LogEntry[] = [];
  const one = await streamLogs(dir, ['a', 'b'], { lines: 2 }, (e) => got.push(e), new AbortController().signal);
  t.same(got.map((e) => `${e.service}:${e.line}`), ['a:a3', 'a:a4', 'b:b0']);
  t.same(one, { lines: 3 });
  const only: LogEntry[] = [];
  await streamLogs(dir, ['a'], { lines: 5, kind: 'stderr' }, (e) => only.push(e), new AbortController().signal);
  t.same(only.map((e) => e.line), ['a1', 'a3']);
  // follow
  const ac = new AbortController();
  const live: LogEntry[] = [];
  const { done, poke } = waitFor(() => live.length >= 3);
  const p = streamLogs(dir, ['a', 'b'], { lines: 1, follow: true }, (e) => {
    live.push(e);
    poke();
  }, ac.signal);
  b.writeLine('stdout', 'b-live');
  await done;
  ac.abort();
  t.same(await p, { lines: 3 });
  t.same(live.map((e) => `${e.service}:${e.line}`), ['a:a4', 'b:b0', 'b:b-live']);
  a.close();
  b.close();
});

t.test('--json lines and text output', async (t) => {
  const e: LogEntry = { ts: '2026-11-29T14:20:00.123456Z', stream: 'stderr', service: 'web', line: 'bad "thing"' };
  t.equal(formatLogJson(e), '{"ts":"2026-11-29T14:20:00.123456Z","stream":"stderr","service":"web","line":"bad \\"thing\\""}');
  t.equal(formatLogText(e), '2026-11-29 14:20:00 web | bad "thing"');
  t.equal(formatLogText(e, { service: false }), '2026-11-29 14:20:00 bad "thing"');
  t.equal(formatLogText(e, { width: 5 }), '2026-11-29 14:20:00 web   | bad "thing"');
  t.match(formatLogText(e, { color: true }), /\x1b\[31mbad "thing"\x1b\[0m/);
  t.equal(formatLogText({ ...e, ts: null }), 'web | bad "thing"');
});

t.test('color: --plain, NO_COLOR, SYSTEMG_AGENT, TTY', async (t) => {
  t.equal(useColor({ env: {}, isTTY: true }), true);
  t.equal(useColor({ env: {}, isTTY: false }), false);
  t.equal(useColor({ plain: true, env: {}, isTTY: true }), false);
  t.equal(useColor({ env: { NO_COLOR: '1' }, isTTY: true }), false);
  t.equal(useColor({ env: { NO_COLOR: '' }, isTTY: true }), true, 'NO_COLOR only counts when non-empty');
  t.equal(useColor({ env: { SYSTEMG_AGENT: '1' }, isTTY: true }), false);
  t.equal(useColor({ env: { SYSTEMG_AGENT: '0' }, isTTY: true }), true);
});

t.test('status table', async (t) => {
  const now = Date.parse('2026-11-29T15:00:00Z');
  const rows = [
    { name: 'nginx', state: 'active', subState: 'running', mainPid: 812, result: 'success', restarts: 0, since: '2026-11-29T12:59:30Z' },
    { name: 'redis-server', state: 'failed', subState: 'failed', mainPid: null, result: 'exit-code', restarts: 5, since: '2026-11-29T14:59:55Z' },
    { name: 'job', state: 'inactive', mainPid: null, result: 'success', restarts: 0, since: null },
  ];
  const plain = formatStatusTable(rows, { now });
  t.equal(
    plain,
    [
      'UNIT          STATE             PID  UPTIME  RESTARTS  RESULT',
      'nginx         active (running)  812  2h 30s  0         success',
      'redis-server  failed (failed)   -    5s      5         exit-code',
      'job           inactive          -    -       0         success',
      '',
    ].join('\n'),
  );
  t.notMatch(plain, /\x1b/, 'no escape codes without color');
  const colored = formatStatusTable(rows, { now, color: true });
  t.match(colored, /\x1b\[32mactive \(running\)\x1b\[0m/);
  t.match(colored, /\x1b\[31mfailed \(failed\)\x1b\[0m/);
  t.equal(colored.replace(/\x1b\[\d+m/g, ''), plain, 'same layout with color');
  t.equal(formatDuration(0), '0s');
  t.equal(formatDuration(59_999), '59s');
  t.equal(formatDuration(61_000), '1min 1s');
  t.equal(formatDuration(3 * 86400_000 + 4 * 3600_000 + 5000), '3d 4h');
  t.equal(formatDuration(-1), '-');
  t.equal(formatDuration(7230_000), '2h 30s');
});
