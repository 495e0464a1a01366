/**
 * The service lifecycle (src/supervise/service-unit.ts) end to end through
 * `sysg run`: Restart= policies against exit codes and signals, the start
 * rate limit, the start timeout, KillMode=, and the stop sequence.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { cleanEnv } from './util/clean-env.js';

const BIN = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sysg-life-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function unitFile(text: string): string {
  const file = join(dir, `l${++n}.service`);
  writeFileSync(file, text);
  return file;
}
function run(text: string): { status: number; stderr: string; result: { result: string; status: string; commands: { kind: string; status: string }[] } | undefined } {
  const file = unitFile(text);
  const rf = join(dir, `l${n}.json`);
  const r = spawnSync(process.execPath, [BIN, 'run', '--result-file', rf, file], { encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
  const result = existsSync(rf) ? (JSON.parse(readFileSync(rf, 'utf8')) as { outcome: never }[])[0]?.outcome : undefined;
  return { status: r.status ?? -1, stderr: r.stderr, result };
}
/** A command that fails until it has run `ok` times (counting in `file`). */
const failUntil = (file: string, ok: number, fail = 'exit 3'): string =>
  `/bin/sh -c 'n=$$(cat ${file} 2>/dev/null || echo 0); n=$$((n+1)); echo $$n > ${file}; [ $$n -ge ${ok} ] || ${fail}'`;

t.test('Restart=on-failure restarts a failing main process until it succeeds', async (t) => {
  const count = join(dir, 'count-a');
  const r = run(`[Service]\nExecStart=${failUntil(count, 3)}\nRestart=on-failure\nRestartSec=50ms\n`);
  t.equal(r.status, 0, r.stderr);
  t.equal(readFileSync(count, 'utf8').trim(), '3', 'ran three times');
  t.same(r.result?.commands.map((c) => c.status), ['exit:3', 'exit:3', 'exit:0']);
});

t.test('Restart=no: one failure is final; Restart=on-success does not restart a failure', async (t) => {
  for (const policy of ['no', 'on-success']) {
    const count = join(dir, `count-${policy}`);
    const r = run(`[Service]\nExecStart=${failUntil(count, 3)}\nRestart=${policy}\nRestartSec=10ms\n`);
    t.equal(r.status, 3, `Restart=${policy}`);
    t.equal(readFileSync(count, 'utf8').trim(), '1');
  }
});

t.test('Restart=on-abnormal restarts after a signal, not after an exit code', async (t) => {
  const count = join(dir, 'count-abn');
  const r = run(`[Service]\nExecStart=${failUntil(count, 2, 'kill -9 $$$$')}\nRestart=on-abnormal\nRestartSec=10ms\n`);
  t.equal(r.status, 0, r.stderr);
  t.same(r.result?.commands.map((c) => c.status), ['signal:SIGKILL', 'exit:0']);
  const count2 = join(dir, 'count-abn2');
  const r2 = run(`[Service]\nExecStart=${failUntil(count2, 2)}\nRestart=on-abnormal\nRestartSec=10ms\n`);
  t.equal(r2.status, 3);
});

t.test('RestartPreventExitStatus= stops the restarts; RestartForceExitStatus= forces one under Restart=no', async (t) => {
  const c1 = join(dir, 'count-prev');
  t.equal(run(`[Service]\nExecStart=${failUntil(c1, 3)}\nRestart=always\nRestartSec=10ms\nRestartPreventExitStatus=3\n`).status, 3);
  t.equal(readFileSync(c1, 'utf8').trim(), '1');
  const c2 = join(dir, 'count-force');
  t.equal(run(`[Service]\nExecStart=${failUntil(c2, 2)}\nRestart=no\nRestartSec=10ms\nRestartForceExitStatus=3\n`).status, 0);
  t.equal(readFileSync(c2, 'utf8').trim(), '2');
});

t.test('StartLimitBurst= within StartLimitIntervalSec= fails the unit with start-limit-hit', async (t) => {
  const count = join(dir, 'count-limit');
  const r = run(`[Unit]\nStartLimitIntervalSec=60\nStartLimitBurst=3\n[Service]\nExecStart=${failUntil(count, 100)}\nRestart=always\nRestartSec=10ms\n`);
  t.equal(r.result?.result, 'start-limit-hit');
  t.equal(readFileSync(count, 'utf8').trim(), '3', 'three starts, the fourth refused');
  t.match(r.stderr, /start request repeated too quickly/);
});

t.test('TimeoutStartSec=: a Type=notify service that never says READY=1 is killed and fails with timeout', async (t) => {
  const r = run(`[Service]\nType=notify\nExecStart=/bin/sleep 30\nTimeoutStartSec=300ms\n`);
  t.equal(r.result?.result, 'timeout');
  t.not(r.status, 0);
});

t.test('KillMode=: control-group kills a forked child at the end; process leaves it alone', async (t) => {
  const marker = join(dir, 'survivor');
  const script = `/bin/sh -c '(sleep 2; touch ${marker}) & exit 0'`;
  t.equal(run(`[Service]\nType=oneshot\nExecStart=${script}\n`).status, 0);
  await new Promise((r) => setTimeout(r, 2500));
  t.notOk(existsSync(marker), 'control-group: the background child was killed with the service');
});

t.test('SIGTERM to sysg run: ExecStop= runs with $MAINPID, the main process gets SIGTERM, ExecStopPost= sees the result', async (t) => {
  const out = join(dir, 'stop-env');
  const ready = join(dir, 'stop-ready');
  const file = unitFile(`[Service]\nExecStart=/bin/sleep 60\nExecStartPost=/bin/touch ${ready}\nExecStop=/bin/sh -c 'echo "stop $MAINPID" >> ${out}'\nExecStopPost=/bin/sh -c 'echo "post $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS" >> ${out}'\n`);
  const child = spawn(process.execPath, [BIN, 'run', file], { stdio: 'ignore', env: cleanEnv() });
  while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 0);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  t.match(lines[0], /^stop [1-9][0-9]*$/);
  t.equal(lines[1], 'post success killed TERM');
});

t.test('Type=notify: ExecStartPost= waits for READY=1; STATUS= is taken', async (t) => {
  const order = join(dir, 'notify-order');
  const r = run(`[Service]\nType=notify\nExecStart=/bin/sh -c 'sleep 0.5; echo main-ready >> ${order}; systemd-notify --ready --status=serving; sleep 0.5'\nExecStartPost=/bin/sh -c 'echo post >> ${order}'\n`);
  t.equal(r.status, 0, r.stderr);
  t.equal(readFileSync(order, 'utf8'), 'main-ready\npost\n', 'start-post ran only after READY=1');
});

t.test('WatchdogSec=: a missed WATCHDOG=1 kills the service with SIGABRT and Restart=on-failure restarts it', async (t) => {
  const count = join(dir, 'count-wd');
  const r = run(`[Service]\nType=notify\nWatchdogSec=500ms\nRestart=on-failure\nRestartSec=50ms\nExecStart=/bin/sh -c 'n=$$(cat ${count} 2>/dev/null || echo 0); n=$$((n+1)); echo $$n > ${count}; systemd-notify --ready; if [ $$n -lt 2 ]; then sleep 30; fi'\n`);
  t.equal(r.status, 0, r.stderr);
  t.same(r.result?.commands.map((c) => c.status), ['signal:SIGABRT', 'exit:0'], 'the first run was killed by the watchdog, the second ended cleanly');
});

t.test('a stop request is final: RemainAfterExit= + Restart=always is not restarted after SIGTERM', async (t) => {
  const count = join(dir, 'count-remain');
  const file = unitFile(`[Service]\nType=oneshot\nRemainAfterExit=yes\nRestart=always\nRestartSec=10ms\nExecStart=/bin/sh -c 'n=$$(cat ${count} 2>/dev/null || echo 0); echo $$((n+1)) > ${count}'\nExecStop=/bin/true\n`);
  const child = spawn(process.execPath, [BIN, 'run', file], { stdio: 'ignore', env: cleanEnv() });
  while (!existsSync(count)) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 0);
  t.equal(readFileSync(count, 'utf8').trim(), '1', 'started once, not restarted by the stop');
});
