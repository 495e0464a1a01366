/**
 * Socket activation and fd hygiene: supervisor fds placed at 3..2+N with
 * LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, stdio from supervisor fds, and no
 * other fd reaching the service.
 */
import t from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher, LaunchError } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from '../src/sys/constants.js';
import { close, socketpair } from '../src/sys/libc.js';

const dir = mkdtempSync(join(tmpdir(), 'sysg-fds-'));
let launcher: Launcher;
const opened: number[] = [];
t.before(async () => {
  launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher.close();
  for (const fd of opened) close(fd);
  rmSync(dir, { recursive: true, force: true });
});

function sockets(): [number, number] {
  const sv = Buffer.alloc(8);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error('socketpair');
  const pair: [number, number] = [sv.readInt32LE(0), sv.readInt32LE(4)];
  opened.push(...pair);
  return pair;
}

/**
 * The shell's own fds, one per line. No pipeline: dash holds the pipe fds of
 * `ls | …` itself until every stage is forked, so they could show up.
 */
const LIST_FDS = 'ls /proc/$$/fd';

const sh = (script: string, out: string, extra: Partial<LaunchPlan> = {}): LaunchPlan => ({
  path: '/bin/sh',
  argv: ['sh', '-c', script],
  env: ['PATH=/usr/bin:/bin', 'LISTEN_PID=stale', 'LISTEN_FDS=99'],
  stdout: { path: out },
  ...extra,
});

t.test('fds land at 3..N with LISTEN_* and LISTEN_PID is the service pid', async (t) => {
  const [sock] = sockets();
  const file = join(dir, 'data');
  writeFileSync(file, 'x');
  const ro = openSync(file, 'r');
  t.teardown(() => closeSync(ro));
  const out = join(dir, 'listen');
  const l = await launcher.launch(
    sh(`echo "$LISTEN_PID $$ $LISTEN_FDS $LISTEN_FDNAMES"; readlink /proc/$$/fd/3 /proc/$$/fd/4; ${LIST_FDS}`, out, {
      fds: [{ fd: sock, name: 'web' }, { fd: ro }],
    }),
  );
  t.same(await l.exited, { code: 0 });
  const [ids, link3, link4, ...fds] = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(ids, `${l.pid} ${l.pid} 2 web:unknown`);
  t.same(fds.map(Number).sort((a, b) => a - b), [0, 1, 2, 3, 4], 'exactly 0-2 and the two activation fds');
  t.equal(link3, readlinkSync(`/proc/self/fd/${sock}`), 'fd 3 is the very socket');
  t.equal(link4, file);
});

t.test('many fds: sources never clobber each other, no zygote fd leaks', async (t) => {
  // With 6 fds the targets 3..8 overlap the zygote's own low fds (control socket, pidfds, …).
  const socks = Array.from({ length: 6 }, () => sockets()[0]);
  const out = join(dir, 'many');
  const l = await launcher.launch(sh(`echo "$LISTEN_FDS \${LISTEN_FDNAMES-unset}"; for i in 3 4 5 6 7 8; do readlink /proc/$$/fd/$i; done; ${LIST_FDS}`, out, { fds: socks.map((fd) => ({ fd })) }));
  t.same(await l.exited, { code: 0 });
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(lines[0], '6 unset', 'no LISTEN_FDNAMES without names');
  t.same(lines.slice(1, 7), socks.map((fd) => readlinkSync(`/proc/self/fd/${fd}`)));
  t.same(lines.slice(7).map(Number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

t.test('without fds only 0-2 are open and no LISTEN_* is added', async (t) => {
  const out = join(dir, 'plain');
  const l = await launcher.launch({ path: '/bin/sh', argv: ['sh', '-c', LIST_FDS], env: ['A=1'], stdout: { path: out } });
  await l.exited;
  t.same(readFileSync(out, 'utf8').trim().split('\n').map(Number).sort(), [0, 1, 2]);
  const env = join(dir, 'plain-env');
  await (await launcher.launch({ path: '/usr/bin/env', argv: ['env'], env: ['A=1'], stdout: { path: env } })).exited;
  t.equal(readFileSync(env, 'utf8'), 'A=1\n', 'no LISTEN_* added');
});

t.test('stdio from supervisor fds', async (t) => {
  const outFile = join(dir, 'by-fd');
  const w = openSync(outFile, 'w');
  const inFile = join(dir, 'input');
  writeFileSync(inFile, 'hello from stdin\n');
  const r = openSync(inFile, 'r');
  try {
    const l = await launcher.launch({ path: '/bin/sh', argv: ['sh', '-c', 'cat; echo err >&2'], env: [], stdin: r, stdout: w, stderr: w });
    t.same(await l.exited, { code: 0 });
  } finally {
    closeSync(w);
    closeSync(r);
  }
  t.equal(readFileSync(outFile, 'utf8'), 'hello from stdin\nerr\n');
});

t.test('a supervisor fd that is not open fails with 202/FDS (or the stdio code)', async (t) => {
  const e = await launcher.launch({ path: '/bin/true', argv: ['true'], env: [], fds: [{ fd: 999_999 }] }).catch((x: unknown) => x);
  t.ok(e instanceof LaunchError);
  const le = e as LaunchError;
  t.equal(le.step, 'fds');
  t.equal(le.errno, 9); // EBADF
  t.equal(le.exitCode, 202);
  t.equal(le.pid, undefined, 'nothing was forked');
  const s = (await launcher.launch({ path: '/bin/true', argv: ['true'], env: [], stdout: 999_999 }).catch((x: unknown) => x)) as LaunchError;
  t.equal(s.step, 'stdout');
  t.equal(s.exitCode, 209);
});

t.test('LISTEN_PID is patched with the pid of each launch', async (t) => {
  const [sock] = sockets();
  const pids = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const out = join(dir, `again-${i}`);
    const l = await launcher.launch(sh('echo "$LISTEN_PID $$"', out, { fds: [{ fd: sock }] }));
    await l.exited;
    const [a, b] = readFileSync(out, 'utf8').trim().split(' ');
    t.equal(a, b);
    t.equal(a, String(l.pid));
    pids.add(a!);
  }
  t.equal(pids.size, 3);
});
