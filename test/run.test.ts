/**
 * `sysg run` end to end: real services started through the launcher, checked
 * from the outside (exit status, result file, files they wrote) — systemd's
 * semantics for the command lists, environment, stdio and directories.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { cleanEnv } from './util/clean-env.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sysg-run-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  result: string;
  exitStatus: number;
  status: string;
  commands: { kind: string; argv: string[]; pid?: number; status: string }[];
}

let n = 0;
function run(unit: string, args: string[] = []): { status: number; stdout: string; stderr: string; outcome: Outcome | undefined } {
  const file = join(dir, `u${++n}.service`);
  writeFileSync(file, unit);
  const resultFile = join(dir, `r${n}.json`);
  const r = spawnSync(process.execPath, [BIN, 'run', '--result-file', resultFile, ...args, file], { encoding: 'utf8', cwd: ROOT, env: cleanEnv(), timeout: 60_000 });
  const outcome = existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as { outcome: Outcome }[])[0]?.outcome : undefined;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, outcome };
}

t.test('oneshot: every ExecStart= in order, $VAR expansion, output prefixed with the unit', async (t) => {
  const r = run(`[Service]\nType=oneshot\nEnvironment="GREETING=hello world" ONE=1\nExecStart=/bin/echo $GREETING\nExecStart=/bin/echo \${GREETING}:$ONE\nExecStart=/bin/sh -c 'echo $$$$ > /dev/null; echo "pwd=$(pwd) umask=$(umask)"'\n`);
  t.equal(r.status, 0, r.stderr);
  const unit = `u${n}.service`;
  t.match(r.stdout, new RegExp(`^${unit}: hello world$`, 'm'));
  t.match(r.stdout, new RegExp(`^${unit}: hello world:\\$ONE$`, 'm'), '$VAR inside a word stays, ${VAR} expands');
  t.match(r.stdout, new RegExp(`^${unit}: pwd=/ umask=0022$`, 'm'), 'systemd defaults: cwd / and umask 0022');
  t.equal(r.outcome?.result, 'success');
  t.same(r.outcome?.commands.map((c) => c.status), ['exit:0', 'exit:0', 'exit:0']);
});

t.test('a failing ExecStart= stops the list; ExecStopPost= sees the result; sysg exits with the status', async (t) => {
  const out = join(dir, 'stoppost');
  const r = run(`[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 3'\nExecStart=/bin/touch ${out}.never\nExecStopPost=/bin/sh -c 'echo "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS" > ${out}'\n`);
  t.equal(r.status, 3);
  t.equal(r.outcome?.status, 'exit:3');
  t.equal(r.outcome?.result, 'exit-code');
  t.notOk(existsSync(`${out}.never`), 'the second command did not run');
  t.equal(readFileSync(out, 'utf8'), 'exit-code exited 3\n');
});

t.test('the - prefix ignores a failure; a missing binary is 203/EXEC; a missing WorkingDirectory= 200/CHDIR', async (t) => {
  t.equal(run(`[Service]\nType=oneshot\nExecStart=-/bin/false\nExecStart=/bin/true\n`).status, 0);
  const missing = run(`[Service]\nType=oneshot\nExecStart=/nonexistent/binary\n`);
  t.equal(missing.status, 203);
  t.match(missing.stderr, /exec \/nonexistent\/binary failed: ENOENT \(no such file or directory\), exit status 203\/EXEC/);
  t.equal(run(`[Service]\nType=oneshot\nWorkingDirectory=/nonexistent-dir\nExecStart=/bin/true\n`).status, 200);
  t.equal(run(`[Service]\nType=oneshot\nWorkingDirectory=-/nonexistent-dir\nExecStart=/bin/true\n`).status, 0);
});

t.test('ExecCondition= exiting 1 skips the unit (not a failure); 255 is a failure', async (t) => {
  const marker = join(dir, 'cond-started');
  const skip = run(`[Service]\nType=oneshot\nExecCondition=/bin/sh -c 'exit 1'\nExecStart=/bin/touch ${marker}\n`);
  t.equal(skip.status, 0);
  t.equal(skip.outcome?.result, 'exec-condition');
  t.notOk(existsSync(marker));
  const fail = run(`[Service]\nType=oneshot\nExecCondition=/bin/sh -c 'exit 255'\nExecStart=/bin/touch ${marker}\n`);
  t.equal(fail.status, 255);
  t.notOk(existsSync(marker));
});

t.test('stdio: StandardInputText= feeds stdin, file:/append:/truncate: outputs, StandardError= separately', async (t) => {
  const out = join(dir, 'out.txt');
  const err = join(dir, 'err.txt');
  writeFileSync(out, 'XXXXXXXXXXXXXXXX-old-content\n');
  const r = run(`[Service]\nType=oneshot\nStandardInputText=line one\nStandardInputText=line two\nStandardOutput=file:${out}\nStandardError=append:${err}\nExecStart=/bin/sh -c 'cat; echo oops >&2'\n`);
  t.equal(r.status, 0, r.stderr);
  const old = 'XXXXXXXXXXXXXXXX-old-content\n';
  t.equal(readFileSync(out, 'utf8'), `line one\nline two\n${old.slice(18)}`, 'file: overwrites from the start without truncating');
  t.equal(readFileSync(err, 'utf8'), 'oops\n');
  run(`[Service]\nType=oneshot\nStandardOutput=truncate:${out}\nExecStart=/bin/echo short\n`);
  t.equal(readFileSync(out, 'utf8'), 'short\n');
});

t.test('RuntimeDirectory= and SetCredential=: created with the env vars, removed after the run', { skip: process.getuid?.() !== 0 ? 'needs root (/run)' : false }, async (t) => {
  const name = `sysg-test-${process.pid}`;
  const r = run(`[Service]\nType=oneshot\nRuntimeDirectory=${name}\nRuntimeDirectoryMode=0710\nSetCredential=token:s3cret\nExecStart=/bin/sh -c 'test "$RUNTIME_DIRECTORY" = /run/${name} && test "$(stat -c %%a $RUNTIME_DIRECTORY)" = 710 && test "$(cat $CREDENTIALS_DIRECTORY/token)" = s3cret'\n`);
  t.equal(r.status, 0, r.stderr);
  t.notOk(existsSync(`/run/${name}`), 'runtime directory removed');
  t.notOk(existsSync(`/run/credentials/u${n}.service`), 'credentials removed');
});

t.test('fail closed: a requested protection sysg does not enforce refuses the unit, naming directive and file:line', async (t) => {
  const r = run(`[Service]\nType=oneshot\nExecStart=/bin/true\nIPAddressDeny=any\n`);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`IPAddressDeny= ${dir}/u${n}\\.service:4: not enforced by sysg`));
  t.equal(r.outcome?.result, 'refused');
  const best = run(`[Service]\nType=oneshot\nExecStart=/bin/true\nIPAddressDeny=any\n`, ['--best-effort-sandbox']);
  t.equal(best.status, 0);
  t.match(best.stderr, /IPAddressDeny= .*: not enforced by sysg .*running without it/);
});

t.test('conditions skip the unit (exit 0); a failed assertion refuses it (exit 1)', async (t) => {
  const marker = join(dir, 'cond-marker');
  const skip = run(`[Unit]\nConditionPathExists=${dir}/nonexistent\n[Service]\nType=oneshot\nExecStart=/bin/touch ${marker}\n`);
  t.equal(skip.status, 0);
  t.equal(skip.outcome?.result, 'condition');
  t.match(skip.stderr, /skipped: condition failed: PathExists=/);
  t.notOk(existsSync(marker));
  const held = run(`[Unit]\nConditionPathExists=${dir}\n[Service]\nType=oneshot\nExecStart=/bin/touch ${marker}\n`);
  t.equal(held.status, 0);
  t.ok(existsSync(marker), 'runs when the condition holds');
  const assert = run(`[Unit]\nAssertPathExists=${dir}/nonexistent\n[Service]\nType=oneshot\nExecStart=/bin/true\n`);
  t.equal(assert.status, 1);
  t.match(assert.stderr, /assertion failed: AssertPathExists=/);
});

t.test('RemoveIPC=: the user\'s POSIX shared memory is gone after the service; kept without it', { skip: process.getuid?.() !== 0 ? 'needs root (User=)' : false }, async (t) => {
  const shm = `/dev/shm/sysg-test-removeipc-${process.pid}`;
  t.teardown(() => rmSync(shm, { force: true }));
  const kept = run(`[Service]\nType=oneshot\nUser=nobody\nExecStart=/bin/touch ${shm}\n`);
  t.equal(kept.status, 0, kept.stderr);
  t.ok(existsSync(shm), 'without RemoveIPC= the object survives the service');
  rmSync(shm, { force: true });
  const removed = run(`[Service]\nType=oneshot\nUser=nobody\nRemoveIPC=yes\nExecStart=/bin/touch ${shm}\n`);
  t.equal(removed.status, 0, removed.stderr);
  t.notOk(existsSync(shm), 'RemoveIPC= removed it');
});
