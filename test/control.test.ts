/**
 * The control socket: real Unix sockets, every request answered or refused,
 * garbage survived, other users refused by mode and by SO_PEERCRED.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ControlClient,
  ControlError,
  ControlServer,
  LineSplitter,
  MAX_REQUEST_LINE,
  parseRequest,
  peerAllowed,
  type OpHandler,
} from '../src/supervise/control.js';
import { peerCred, socketFd } from '../src/sys/libc-peercred.js';
import { packageRoot } from '../src/package-root.js';

const ROOT = packageRoot();
const isRoot = process.geteuid!() === 0;
const CONTROL_JS = join(ROOT, 'dist', 'src', 'supervise', 'control.js');

const base = mkdtempSync(join(tmpdir(), 'sysg-control-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const sockPath = (): string => join(base, `s${++n}`, 'control.sock');

/** A handler with a few ops: echo, fail, boom (non-ControlError), slow (waits for abort), tail (streams). */
const handler: OpHandler = async (op, args, peer, ctx) => {
  switch (op) {
    case 'status':
      return { op, args, peer };
    case 'inspect':
      if (args.service === 'missing') throw new ControlError('unknown_service', `no service "missing"`);
      if (args.service === 'boom') throw new TypeError('kaboom');
      return { service: args.service };
    case 'logs': {
      const count = (args.lines as number | undefined) ?? 3;
      for (let i = 0; i < count; i++) ctx.emit({ line: `l${i}` });
      if (args.follow) {
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        return { cancelled: true };
      }
      return { lines: count };
    }
    default:
      return { op };
  }
};

async function server(h: OpHandler = handler): Promise<ControlServer> {
  const s = new ControlServer(sockPath(), h);
  await s.listen();
  t.teardown(() => s.close());
  return s;
}

/** A raw connection that collects response lines. */
function raw(path: string): Promise<{ sock: Socket; next: () => Promise<Record<string, unknown>>; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const lines: string[] = [];
    const waiters: ((l: string) => void)[] = [];
    let buf = '';
    let endResolve!: () => void;
    const ended = new Promise<void>((r) => (endResolve = r));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiters.shift();
        if (w) w(l);
        else lines.push(l);
      }
    });
    sock.on('close', () => endResolve());
    sock.on('error', () => {});
    sock.once('connect', () =>
      resolve({
        sock,
        ended,
        next: () =>
          new Promise((r) => {
            const l = lines.shift();
            if (l !== undefined) r(JSON.parse(l));
            else waiters.push((x) => r(JSON.parse(x)));
          }),
      }),
    );
    sock.once('error', reject);
  });
}

t.test('socket 0600 in a 0700 directory; peer credentials through the handle fd', async (t) => {
  const s = await server();
  t.equal(statSync(s.path).mode & 0o777, 0o600);
  t.equal(statSync(join(s.path, '..')).mode & 0o777, 0o700);
  const c = await ControlClient.connect(s.path);
  const r = (await c.request('status', { service: 'web' })) as { peer: { uid: number; pid: number; gid: number } };
  t.same(r.peer, { uid: process.geteuid!(), gid: process.getegid!(), pid: process.pid });
  c.close();
  // socketFd + peerCred on a plain pair
  const other = await raw(s.path);
  t.ok(socketFd(other.sock) >= 0);
  t.equal(peerCred(socketFd(other.sock)).pid, process.pid, 'client side sees the server pid (same process)');
  other.sock.destroy();
});

t.test('requests, results, handler errors and arg checks', async (t) => {
  const s = await server();
  const c = await ControlClient.connect(s.path);
  t.same(await c.request('ping'), { op: 'ping' });
  t.same(await c.request('inspect', { service: 'web' }), { service: 'web' });
  await t.rejects(c.request('inspect', { service: 'missing' }), { code: 'unknown_service', message: 'no service "missing"' });
  await t.rejects(c.request('inspect', { service: 'boom' }), { code: 'internal', message: /inspect: internal error: kaboom/ });
  await t.rejects(c.request('inspect', {}), { code: 'bad_args', message: 'inspect: missing argument "service" (string)' });
  await t.rejects(c.request('inspect', { service: 3 }), { code: 'bad_args', message: 'inspect: argument "service" must be a string, got an integer' });
  await t.rejects(c.request('logs', { lines: 1.5 }), { code: 'bad_args', message: /"lines" must be an integer, got a number/ });
  await t.rejects(c.request('status', { bogus: 1 }), { code: 'bad_args', message: /unknown argument "bogus"/ });
  await t.rejects(c.request('frobnicate'), { code: 'unknown_op', message: /unknown op "frobnicate" \(known: ping, version, start/ });
  // concurrent requests on one connection
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request('inspect', { service: `s${i}` })));
  t.same(all.map((x) => (x as { service: string }).service), Array.from({ length: 50 }, (_, i) => `s${i}`));
  c.close();
  await t.rejects(c.request('ping'), { code: 'closed' });
});

t.test('garbage: each bad line is answered and the connection survives', async (t) => {
  const s = await server();
  const r = await raw(s.path);
  const cases: [string, string, unknown][] = [
    ['{not json', 'bad_json', null],
    ['[1,2]', 'bad_request', null],
    ['"str"', 'bad_request', null],
    ['{"op":"ping"}', 'bad_request', null],
    ['{"id":{"x":1},"op":"ping"}', 'bad_request', null],
    ['{"id":7}', 'bad_request', 7],
    ['{"id":8,"op":5}', 'bad_request', 8],
    ['{"id":9,"op":"ping","args":[1]}', 'bad_args', 9],
    ['{"id":10,"op":"ping","extra":true}', 'bad_request', 10],
    ['{"id":11,"op":"__proto__"}', 'unknown_op', 11],
    ['{"id":12,"op":"constructor"}', 'unknown_op', 12],
    ['{"id":13,"op":"inspect","args":{"__proto__":{"x":1}}}', 'bad_args', 13],
  ];
  for (const [line, code, id] of cases) {
    r.sock.write(line + '\n');
    const m = (await r.next()) as { id: unknown; ok: boolean; error: { code: string; message: string } };
    t.equal(m.ok, false, line);
    t.equal(m.error.code, code, `${line} → ${code}`);
    t.equal(m.id, id, `${line} id`);
    t.type(m.error.message, 'string');
  }
  // blank lines and CRLF
  r.sock.write('\n\r\n   \n{"id":"a","op":"ping"}\r\n');
  t.same(await r.next(), { id: 'a', ok: true, result: { op: 'ping' } });
  // binary garbage, then a good request on the same connection
  for (let i = 0; i < 50; i++) {
    const g = randomBytes(1 + (i * 97) % 2000).filter((b) => b !== 0x0a);
    r.sock.write(Buffer.concat([Buffer.from([0xff]), g, Buffer.from('\n')])); // 0xff: never blank, never JSON
    const m = (await r.next()) as { ok: boolean; id: unknown };
    t.equal(m.ok, false);
  }
  r.sock.write('{"id":99,"op":"ping"}\n');
  t.same(await r.next(), { id: 99, ok: true, result: { op: 'ping' } });
  // oversized line: refused once, discarded to its newline, connection still usable
  const big = Buffer.alloc(MAX_REQUEST_LINE + 10, 0x61);
  r.sock.write(big);
  r.sock.write('still the same line\n{"id":100,"op":"ping"}\n');
  t.match(await r.next(), { id: null, ok: false, error: { code: 'too_large' } });
  t.same(await r.next(), { id: 100, ok: true, result: { op: 'ping' } });
  // a line exactly at the limit is accepted (as bad JSON, not too_large)
  r.sock.write(Buffer.concat([Buffer.alloc(MAX_REQUEST_LINE, 0x20), Buffer.from('\n')]));
  r.sock.write('{"id":101,"op":"ping"}\n');
  t.same(await r.next(), { id: 101, ok: true, result: { op: 'ping' } }, 'a line of only spaces is a keep-alive');
  // duplicate in-flight id
  r.sock.write('{"id":"f","op":"logs","args":{"follow":true,"lines":0}}\n{"id":"f","op":"ping"}\n');
  t.match(await r.next(), { id: 'f', ok: false, error: { code: 'bad_request', message: /already in flight/ } });
  r.sock.write('{"id":"c","op":"cancel","args":{"id":"f"}}\n');
  const a = await r.next();
  const b = await r.next();
  t.same([a, b].sort((x, y) => String(x.id).localeCompare(String(y.id))), [
    { id: 'c', ok: true, result: { cancelled: true } },
    { id: 'f', ok: true, result: { cancelled: true } },
  ]);
  // unterminated line at end of input: answered, then closed
  r.sock.end('{"id":5,"op":"ping"}');
  t.match(await r.next(), { id: null, ok: false, error: { code: 'bad_request', message: /not terminated/ } });
  await r.ended;
  t.equal(s.connections, 0);
  // the server still serves
  const c = await ControlClient.connect(s.path);
  t.same(await c.request('ping'), { op: 'ping' });
  c.close();
});

t.test('half-closed client still gets its answers', async (t) => {
  const s = await server(async (op) => {
    await new Promise((r) => setImmediate(r));
    return op;
  });
  const r = await raw(s.path);
  r.sock.end('{"id":1,"op":"ping"}\n{"id":2,"op":"version"}\n');
  const got = [await r.next(), await r.next()];
  t.same(got, [
    { id: 1, ok: true, result: 'ping' },
    { id: 2, ok: true, result: 'version' },
  ]);
  await r.ended;
});

t.test('random fuzz of the parser and splitter never throws', async (t) => {
  let lines = 0;
  let over = 0;
  const sp = new LineSplitter(64, () => lines++, () => over++);
  const threw: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const b = randomBytes(i % 300);
    try {
      parseRequest(b);
      sp.push(b);
    } catch {
      threw.push(b.toString('hex'));
    }
  }
  t.same(threw, [], 'no input throws');
  t.ok(lines + over > 0);
  for (const s of ['{"id":1,"op":"x","args":null}', '{"id":1e400,"op":"x"}', '{"id":-0,"op":"x"}', '{"id":"' + 'x'.repeat(300) + '","op":"x"}']) {
    t.doesNotThrow(() => parseRequest(s));
  }
  t.match(parseRequest('{"id":1,"op":"x","args":null}'), { ok: true, args: {} });
  t.match(parseRequest('{"id":1e400,"op":"x"}'), { ok: false, id: null }, 'Infinity is not an id');
});

t.test('streaming: events then the result; cancel ends a follow', async (t) => {
  const s = await server();
  const c = await ControlClient.connect(s.path);
  const events: unknown[] = [];
  const h = c.stream('logs', { lines: 4 }, (e) => events.push(e));
  t.same(await h.done, { lines: 4 });
  t.same(events, [{ line: 'l0' }, { line: 'l1' }, { line: 'l2' }, { line: 'l3' }]);
  const ev2: unknown[] = [];
  let cancel!: () => void;
  const got2 = new Promise<void>((resolve) => {
    const h2 = c.stream('logs', { lines: 2, follow: true }, (e) => {
      ev2.push(e);
      if (ev2.length === 2) resolve();
    });
    cancel = () => h2.cancel();
    t.teardown(() => void h2.done.catch(() => {}));
    void h2.done.then((r) => ev2.push({ done: r }));
  });
  await got2;
  cancel();
  // the other requests on the connection keep working meanwhile
  t.same(await c.request('ping'), { op: 'ping' });
  await new Promise<void>((r) => {
    const poll = (): void => (ev2.length === 3 ? r() : void setImmediate(poll));
    poll();
  });
  t.same(ev2, [{ line: 'l0' }, { line: 'l1' }, { done: { cancelled: true } }]);
  c.close();
});

t.test('closing the connection aborts its requests', async (t) => {
  let aborted!: () => void;
  const wasAborted = new Promise<void>((r) => (aborted = r));
  let started!: () => void;
  const wasStarted = new Promise<void>((r) => (started = r));
  const s = await server(async (_op, _args, _peer, ctx) => {
    started();
    await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
    aborted();
    return null;
  });
  const c = await ControlClient.connect(s.path);
  const p = c.request('logs', { follow: true });
  await wasStarted;
  c.close();
  await t.rejects(p, { code: 'closed' });
  await wasAborted;
  t.pass('handler saw the abort');
});

t.test('client timeout is a clear error', async (t) => {
  const s = await server(() => new Promise(() => {}));
  const c = await ControlClient.connect(s.path);
  await t.rejects(c.request('ping', {}, { timeoutMs: 1 }), { code: 'timeout', message: /did not answer "ping" within 1 ms/ });
  c.close();
});

t.test('no supervisor: a clear error naming the socket', async (t) => {
  const p = join(base, 'none', 'control.sock');
  await t.rejects(ControlClient.connect(p), {
    code: 'no_supervisor',
    message: `sysg: no supervisor running (no socket at ${p}); start one with \`sysg start\``,
  });
  // stale socket: a listener that went away
  const s = await server();
  const path = s.path;
  await s.close();
  await t.rejects(ControlClient.connect(path), { code: 'no_supervisor' });
  // a leftover socket file nobody listens on is replaced by the next supervisor
  const s2 = new ControlServer(path, handler);
  await s2.listen();
  const c = await ControlClient.connect(path);
  t.same(await c.request('ping'), { op: 'ping' });
  c.close();
  // a second server on a live socket is refused
  await t.rejects(new ControlServer(path, handler).listen(), { code: 'busy', message: /already listening/ });
  await s2.close();
  // a non-socket at the path is not removed
  writeFileSync(path, 'x');
  await t.rejects(new ControlServer(path, handler).listen(), { message: /not a socket/ });
});

t.test('a socket directory of another user, or open to others, is refused', async (t) => {
  const d = join(base, 'foreign');
  mkdirSync(d, { mode: 0o700 });
  if (isRoot) {
    chownSync(d, 4322, 4322);
    await t.rejects(new ControlServer(join(d, 'control.sock'), handler).listen(), { code: 'forbidden', message: /belongs to uid 4322, not to this supervisor's uid 0/ });
  }
  const d2 = join(base, 'open');
  mkdirSync(d2);
  chmodSync(d2, 0o777);
  const s = new ControlServer(join(d2, 'control.sock'), handler);
  await s.listen();
  t.equal(statSync(d2).mode & 0o777, 0o700, 'an own directory is tightened to 0700');
  await s.close();
});

t.test('peerAllowed: owner and root only', async (t) => {
  t.ok(peerAllowed(1000, 1000));
  t.ok(peerAllowed(0, 1000));
  t.notOk(peerAllowed(1001, 1000));
  t.notOk(peerAllowed(65534, 0));
});

function asNobody(script: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}


t.test('another user: refused by the socket mode', { skip: !isRoot && 'needs root to run a client as nobody' }, async (t) => {
  const s = await server();
  const dir = join(s.path, '..');
  chmodSync(join(dir, '..'), 0o711);
  const r = await asNobody(`
    import { ControlClient } from ${JSON.stringify(CONTROL_JS)};
    try { await ControlClient.connect(${JSON.stringify(s.path)}); console.log('connected'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
  `);
  t.equal(r.code, 0, r.err);
  t.match(JSON.parse(r.out), { code: 'forbidden', message: /permission denied on .*control\.sock/ });
});

t.test('another user: refused by SO_PEERCRED even when the mode lets it in', { skip: !isRoot && 'needs root to run a client as nobody' }, async (t) => {
  let handled = 0;
  const s = await server(async () => ++handled);
  const dir = join(s.path, '..');
  chmodSync(join(dir, '..'), 0o711);
  chmodSync(dir, 0o711); // test only: open the door so the peer check is what refuses
  chmodSync(s.path, 0o666);
  const r = await asNobody(`
    import { ControlClient } from ${JSON.stringify(CONTROL_JS)};
    import { connect } from 'node:net';
    const c = await ControlClient.connect(${JSON.stringify(s.path)});
    try { await c.request('ping'); console.log('answered'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    c.close();
    // raw: the refusal line, then EOF, whatever is sent
    const s = connect(${JSON.stringify(s.path)});
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => console.log(got.trim()));
    s.on('error', () => {});
    s.write('{"id":1,"op":"shutdown"}\\n');
  `);
  t.equal(r.code, 0, r.err);
  const [first, second] = r.out.trim().split('\n');
  t.match(JSON.parse(first!), { code: 'forbidden', message: /^sysg: permission denied: uid 65534 \(pid \d+\) may not control this supervisor, which belongs to uid 0$/ });
  t.match(JSON.parse(second!), { id: null, ok: false, error: { code: 'forbidden' } });
  t.equal(handled, 0, 'the handler never ran for the refused peer');
  // and root still gets in
  const c = await ControlClient.connect(s.path);
  t.equal(await c.request('ping'), 1);
  c.close();
});

t.test('wired together: `logs -f` over the socket with streamLogs', async (t) => {
  const { LogWriter, streamLogs } = await import('../src/supervise/logs.js');
  const logDir = join(base, 'logs-wired');
  const w = new LogWriter(logDir, 'web');
  w.writeLine('stdout', 'before');
  const s = await server(async (op, args, _peer, ctx) => {
    if (op !== 'logs') throw new ControlError('unknown_op', op);
    return streamLogs(logDir, [String(args.service)], { lines: args.lines as number, follow: args.follow === true }, (e) => ctx.emit(e), ctx.signal);
  });
  const c = await ControlClient.connect(s.path);
  const seen: { line: string; service: string }[] = [];
  let reached!: () => void;
  const two = new Promise<void>((r) => (reached = r));
  const h = c.stream('logs', { service: 'web', lines: 10, follow: true }, (e) => {
    seen.push(e as { line: string; service: string });
    if (seen.length === 1) w.writeLine('stderr', 'live');
    if (seen.length === 2) reached();
  });
  await two;
  h.cancel();
  t.same(await h.done, { lines: 2 });
  t.same(seen.map((e) => `${e.service}:${e.line}`), ['web:before', 'web:live']);
  c.close();
  w.close();
});
