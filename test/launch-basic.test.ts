/**
 * The launcher against the real kernel: exit statuses, environment, cwd,
 * umask, rlimits, stdio and systemd's exit codes for failed steps.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher, LaunchError } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import { cString } from '../src/sys/cmem.js';
import { mkfifo } from '../src/sys/libc.js';

const dir = mkdtempSync(join(tmpdir(), 'sysg-launch-'));
let launcher: Launcher;
t.before(async () => {
  launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher.close();
  rmSync(dir, { recursive: true, force: true });
});

const sh = (script: string, extra: Partial<LaunchPlan> = {}): LaunchPlan => ({ path: '/bin/sh', argv: ['sh', '-c', script], env: ['PATH=/usr/bin:/bin'], ...extra });

/** Runs to completion and returns the exit and what it wrote to stdout. */
async function run(plan: LaunchPlan): Promise<{ exit: unknown; out: string }> {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const l = await launcher.launch({ stdout: { path: out }, ...plan });
  const exit = await l.exited;
  let text = '';
  try {
    text = readFileSync(out, 'utf8');
  } catch {
    // stdout was redirected elsewhere by the plan
  }
  return { exit, out: text };
}

async function launchError(p: Promise<unknown>): Promise<LaunchError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LaunchError) return e;
    throw e;
  }
  throw new Error('expected a LaunchError');
}

t.test('exit statuses: success, exit code, signal death', async (t) => {
  const ok = await launcher.launch({ path: '/bin/true', argv: ['true'], env: [] });
  t.ok(ok.pid > 1);
  t.same(await ok.exited, { code: 0 });
  t.same((await run(sh('exit 7'))).exit, { code: 7 });
  t.same((await run(sh('kill -TERM $$'))).exit, { signal: 'SIGTERM', signo: 15, core: false });
  // node ignores SIGPIPE and SIG_IGN survives execve: the child must reset it.
  t.same((await run(sh('kill -PIPE $$; exit 0'))).exit, { signal: 'SIGPIPE', signo: 13, core: false });
});

t.test('signal mask and dispositions are clean in the service', async (t) => {
  const { out } = await run({ path: '/bin/cat', argv: ['cat', '/proc/self/status'], env: [] });
  const field = (k: string): string | undefined => /^(\w+):\s*(.*)$/m.exec(out.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[2];
  t.equal(field('SigBlk'), '0000000000000000');
  t.equal(field('SigIgn'), '0000000000000000');
});

t.test('env, cwd and umask are visible inside', async (t) => {
  const { exit, out } = await run(sh('echo "$FOO"; pwd; umask; echo "$HOME"', { env: ['FOO=bar baz', 'HOME=/nowhere'], cwd: '/usr/share', umask: 0o027 }));
  t.same(exit, { code: 0 });
  t.equal(out, 'bar baz\n/usr/share\n0027\n/nowhere\n');
  // Only the plan's environment: nothing leaks from the supervisor or the zygote.
  const env = await run({ path: '/usr/bin/env', argv: ['env'], env: ['A=1', 'B=2'] });
  t.equal(env.out, 'A=1\nB=2\n');
});

t.test('argv is passed verbatim, argv[0] included', async (t) => {
  const { out } = await run(sh('echo "$0|$1|$2"', { argv: ['sh', '-c', 'echo "$0|$1|$2"', 'zero', 'one two', ''] }));
  t.equal(out, 'zero|one two|\n');
});

t.test('rlimits: NOFILE soft:hard seen in /proc/self/limits', async (t) => {
  const { exit, out } = await run({
    path: '/bin/cat',
    argv: ['cat', '/proc/self/limits'],
    env: [],
    rlimits: [
      { resource: 'nofile', soft: 1000, hard: 2000 },
      { resource: 'core', soft: 0, hard: 'infinity' },
    ],
  });
  t.same(exit, { code: 0 });
  t.match(out, /^Max open files\s+1000\s+2000\s+files\s*$/m);
  t.match(out, /^Max core file size\s+0\s+unlimited\s+bytes\s*$/m);
});

t.test('a limit that cannot be raised that far is set as close as allowed (systemd\'s setrlimit_closest)', async (t) => {
  // 2^30 is above fs.nr_open (and above the hard limit without CAP_SYS_RESOURCE): EPERM, then capped.
  const { out: before } = await run(sh('ulimit -Hn'));
  const { out } = await run({ ...sh('ulimit -Sn; ulimit -Hn'), rlimits: [{ resource: 'nofile', soft: 1 << 30, hard: 1 << 30 }] });
  const [soft, hard] = out.trim().split('\n');
  t.equal(hard, before.trim(), 'the hard limit stays at the most that was allowed');
  t.equal(soft, hard, 'the soft limit is capped at it too');
  const { out: lowered } = await run({ ...sh('ulimit -Sn; ulimit -Hn'), rlimits: [{ resource: 'nofile', soft: 64, hard: 128 }] });
  t.equal(lowered, '64\n128\n', 'lowering is always exact');
});

t.test('stdout/stderr to files: truncate, append, shared; stdin from /dev/null', async (t) => {
  const f = join(dir, 'log');
  writeFileSync(f, 'old content that must disappear\n');
  await (await launcher.launch(sh('echo one; echo two >&2', { stdout: { path: f, mode: 'truncate' }, stderr: { path: f, mode: 'truncate' } }))).exited;
  t.equal(readFileSync(f, 'utf8'), 'one\ntwo\n', 'stdout and stderr share one open file');
  await (await launcher.launch(sh('echo three', { stdout: { path: f, mode: 'append' } }))).exited;
  t.equal(readFileSync(f, 'utf8'), 'one\ntwo\nthree\n');
  const err = join(dir, 'err');
  await (await launcher.launch(sh('echo to-err >&2', { stdout: { path: f, mode: 'append' }, stderr: { path: err } }))).exited;
  t.equal(readFileSync(err, 'utf8'), 'to-err\n');
  const { out } = await run(sh('readlink /proc/self/fd/0; cat; echo "rc=$?"'));
  t.equal(out, '/dev/null\nrc=0\n');
});

t.test('a file created for stdout gets the service umask', async (t) => {
  const f = join(dir, 'masked');
  await (await launcher.launch(sh('stat -L -c %a /proc/self/fd/1', { stdout: { path: f }, umask: 0o077 }))).exited;
  t.equal(readFileSync(f, 'utf8'), '600\n');
});

t.test('a missing executable fails with 203/EXEC and ENOENT', async (t) => {
  const e = await launchError(launcher.launch({ path: '/nonexistent/daemon', argv: ['daemon'], env: [] }));
  t.equal(e.kind, 'step');
  t.equal(e.step, 'exec');
  t.equal(e.errno, 2);
  t.equal(e.exitCode, 203);
  t.match(e.message, /exec \/nonexistent\/daemon failed: ENOENT .*203\/EXEC/);
  t.ok(e.pid && e.pid > 1, 'the child existed and was reaped');
  const plain = join(dir, 'not-executable');
  writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });
  const noexec = await launchError(launcher.launch({ path: plain, argv: ['x'], env: [] }));
  t.equal(noexec.errno, 13); // EACCES, even for root
});

t.test('a bad working directory fails with 200/CHDIR; "-" ignores a missing one', async (t) => {
  const e = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], cwd: '/nonexistent' }));
  t.equal(e.step, 'chdir');
  t.equal(e.exitCode, 200);
  t.equal(e.errno, 2);
  const notDir = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], cwd: '/etc/hostname' }));
  t.equal(notDir.errno, 20); // ENOTDIR
  const ok = await launcher.launch({ path: '/bin/true', argv: ['true'], env: [], steps: [{ op: 'chdir', path: '/nonexistent', ignoreMissing: true }] });
  t.same(await ok.exited, { code: 0 });
});

t.test('unwritable stdout fails with 209/STDOUT, stdin with 208/STDIN', async (t) => {
  const out = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], stdout: { path: '/nonexistent/dir/log' } }));
  t.equal(out.step, 'stdout');
  t.equal(out.exitCode, 209);
  const inp = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], stdin: { path: '/nonexistent' } }));
  t.equal(inp.step, 'stdin');
  t.equal(inp.exitCode, 208);
  const err = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], stderr: { path: dir, mode: 'append' } }));
  t.equal(err.step, 'stderr');
  t.equal(err.errno, 21); // EISDIR
  t.equal(err.exitCode, 222);
});

t.test('setsid makes the service a session and group leader', async (t) => {
  // /proc/<pid>/stat: pid (comm) state ppid pgrp session …
  const ids = async (setsid: boolean): Promise<number[]> => {
    const { out } = await run({ path: '/bin/cat', argv: ['cat', '/proc/self/stat'], env: [], setsid });
    const m = /^(\d+) \(.*\) \S (\d+) (\d+) (\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[3]), Number(m[4])] : [];
  };
  const [pid, pgrp, sid] = await ids(true);
  t.ok(pid);
  t.equal(pgrp, pid);
  t.equal(sid, pid);
  const [pid2, , sid2] = await ids(false);
  t.not(sid2, pid2, 'without setsid the service stays in the zygote session');
});

t.test('invalid plans are refused before any fork', async (t) => {
  const e = await launchError(launcher.launch({ path: 'relative', argv: ['x'], env: [] }));
  t.equal(e.kind, 'plan');
  t.match(e.message, /plan\.path: expected an absolute path/);
  const bad = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: ['NOEQUALS'] }));
  t.match(bad.message, /plan\.env\[0\]/);
  const op = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], steps: [{ op: 'frobnicate' } as never] }));
  t.match(op.message, /unknown op "frobnicate"/);
});

t.test('a child that hangs before exec is killed after the timeout', async (t) => {
  const fifo = join(dir, 'fifo');
  t.equal(mkfifo(cString(fifo), 0o600), 0);
  // open(2) of a FIFO for reading blocks until a writer shows up: a real hang.
  const e = await launchError(launcher.launch({ path: '/bin/true', argv: ['true'], env: [], stdin: { path: fifo } }, { timeoutMs: 300 }));
  t.equal(e.kind, 'timeout');
  t.equal(e.errno, 110);
  t.ok(e.pid);
  t.throws(() => process.kill(e.pid!, 0), { code: 'ESRCH' }, 'killed and reaped');
  const ok = await launcher.launch({ path: '/bin/true', argv: ['true'], env: [] });
  t.same(await ok.exited, { code: 0 }, 'the zygote carries on');
});
