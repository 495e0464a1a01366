/**
 * Durable supervisor state: directory choice, the single-instance lock, and
 * atomic writes that survive a writer killed mid-write.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acquireLock,
  checkState,
  emptyState,
  loadState,
  readState,
  removeStaleTemps,
  runtimeDirs,
  StateError,
  StateStore,
  writeState,
  writeStateSync,
  type SupervisorState,
} from '../src/supervise/state.js';
import { packageRoot } from '../src/package-root.js';

const STATE_JS = join(packageRoot(), 'dist', 'src', 'supervise', 'state.js');
const base = mkdtempSync(join(tmpdir(), 'sysg-state-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(base, `d${++n}`);

function sample(): SupervisorState {
  const s = emptyState(4242, new Date('2026-11-29T10:00:00Z'));
  s.services.web = { state: 'active', subState: 'running', mainPid: 1234, result: 'success', restarts: 2, since: '2026-11-29T10:00:01.000Z', configPath: '/etc/systemd/system/web.service' };
  s.services.job = { state: 'failed', mainPid: null, result: 'exit-code', restarts: 0, since: null, configPath: '/x/job.yaml', exitCode: 'exited', exitStatus: 3 };
  return s;
}

t.test('directories follow systemg', async (t) => {
  const env = { HOME: '/home/u' };
  const u = runtimeDirs({ env, uid: 1000 });
  t.match(u, {
    mode: 'user',
    stateDir: '/home/u/.local/share/systemg',
    logDir: '/home/u/.local/share/systemg/logs',
    configDir: '/home/u/.config/systemg',
    socketPath: '/home/u/.local/share/systemg/control.sock',
    lockPath: '/home/u/.local/share/systemg/supervisor.lock',
    statePath: '/home/u/.local/share/systemg/state.json',
  });
  t.equal(u.warning, undefined);
  t.match(runtimeDirs({ env: { HOME: '/h', XDG_DATA_HOME: '/xd', XDG_CONFIG_HOME: '/xc' }, uid: 1000 }), { stateDir: '/xd/systemg', configDir: '/xc/systemg' });
  t.match(runtimeDirs({ env: { HOME: '/h', XDG_DATA_HOME: 'relative' }, uid: 1000 }), { stateDir: '/h/.local/share/systemg' }, 'relative XDG paths are ignored');
  t.match(runtimeDirs({ sys: true, env, uid: 0 }), { mode: 'system', stateDir: '/var/lib/systemg', logDir: '/var/log/systemg', configDir: '/etc/systemg' });
  t.throws(() => runtimeDirs({ sys: true, env, uid: 1000 }), { code: 'not_root', message: /--sys .* needs root/ });
  t.match(runtimeDirs({ sys: true, env, uid: 1000, requireRoot: false }), { stateDir: '/var/lib/systemg' });
  t.match(runtimeDirs({ env: { HOME: '/root' }, uid: 0 }).warning, /running as root without --sys/);
  t.match(runtimeDirs({ env: { HOME: '/h', SYSG_STATE_DIR: '/tmp/s' }, uid: 1000 }), { stateDir: '/tmp/s', logDir: '/tmp/s/logs' });
});

t.test('single instance: a second lock on the same dir names the holder', async (t) => {
  const dir = fresh();
  const a = acquireLock(dir);
  t.equal(readFileSync(a.path, 'utf8'), `${process.pid}\n`);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(a.path).mode & 0o777, 0o600);
  // flock is per open file: a second open in this process conflicts too
  t.throws(() => acquireLock(dir), { code: 'locked', detail: { pid: process.pid }, message: new RegExp(`another supervisor \\(pid ${process.pid}\\) is already running on ${dir}`) });
  a.release();
  a.release(); // idempotent
  const b = acquireLock(dir);
  b.release();
});

t.test('two supervisors, two processes: the second is refused, and the lock dies with its holder', async (t) => {
  const dir = fresh();
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { acquireLock } from ${JSON.stringify(STATE_JS)};
    acquireLock(${JSON.stringify(dir)});
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1 << 30);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('locked') && resolve()));
  try {
    acquireLock(dir);
    t.fail('second lock taken');
  } catch (e) {
    t.type(e, StateError);
    t.equal((e as StateError).code, 'locked');
    t.equal((e as StateError).detail.pid, child.pid);
    t.match((e as Error).message, `(pid ${child.pid})`);
  }
  // the pid is also found through /proc/locks when the file holds none
  writeFileSync(join(dir, 'supervisor.lock'), '');
  t.throws(() => acquireLock(dir), { code: 'locked', message: `(pid ${child.pid})` }, '/proc/locks fallback');
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  const l = acquireLock(dir); // no stale-pid cleanup needed
  t.pass('taken after the holder died');
  l.release();
});

t.test('atomic writes round-trip; schema check', async (t) => {
  const dir = fresh();
  const file = join(dir, 'state.json');
  acquireLock(dir).release();
  writeStateSync(file, sample());
  t.same(readState(file), sample());
  t.equal(statSync(file).mode & 0o777, 0o600);
  const s2 = sample();
  s2.services.web!.restarts = 3;
  await writeState(file, s2);
  t.equal(readState(file)!.services.web!.restarts, 3);
  t.same(readdirSync(dir).sort(), ['state.json', 'supervisor.lock'], 'no temp files left');
  t.equal(readState(join(dir, 'missing.json')), null);
  // extra fields of a newer writer are kept
  const s3 = sample() as SupervisorState & { services: { web: { future: number } } };
  (s3.services.web as unknown as Record<string, unknown>).future = 1;
  writeStateSync(file, s3);
  t.equal((readState(file)!.services.web as Record<string, unknown>).future, 1);
  // refuses to write an invalid state
  const bad = sample();
  (bad.services.web as unknown as Record<string, unknown>).mainPid = -1;
  t.throws(() => writeStateSync(file, bad), { code: 'invalid', message: /services\.web\.mainPid: expected a pid or null, got -1/ });
  t.same(checkState(sample()), []);
  t.match(checkState({ format: 'sysg-state', version: 1, supervisorPid: 1, startedAt: 'x', updatedAt: '2026-01-01T00:00:00Z', services: { a: { state: 'running' } } }), [
    /startedAt/,
    /services\.a\.state: expected one of inactive\|activating/,
    /services\.a\.mainPid/,
    /services\.a\.result/,
    /services\.a\.restarts/,
    /services\.a\.since/,
    /services\.a\.configPath/,
  ]);
});

t.test('corrupt or foreign state: a clear error and a .bad backup, never a crash', async (t) => {
  const dir = fresh();
  const file = join(dir, 'state.json');
  acquireLock(dir).release();
  const cases: [string, RegExp][] = [
    ['{"format":"sysg-state","version":1,"supervis', /not JSON/],
    ['', /not JSON/],
    ['\u0000\u0001binary', /not JSON/],
    ['[]', /holds an array, not an object/],
    ['{"projects":{}}', /"format" is undefined, not "sysg-state": not a sysg state file/],
    ['{"format":"sysg-state","version":99}', /"version" is 99; this sysg reads version 1/],
    ['{"format":"sysg-state","version":1,"supervisorPid":"x","startedAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","services":[]}', /supervisorPid: expected a pid.*services: expected an object/],
  ];
  for (const [text, why] of cases) {
    writeFileSync(file, text);
    // read-only readers (the CLI) leave the file alone
    t.throws(() => readState(file, { quarantine: false }), { code: 'corrupt', message: why });
    t.ok(existsSync(file));
    const { state, problem } = loadState(file);
    t.equal(state, null);
    t.equal(problem?.code, 'corrupt');
    t.match(problem?.message, why);
    t.match(problem?.message, `moved it to ${file}.bad`);
    t.equal(problem?.detail.backupPath, `${file}.bad`);
    t.notOk(existsSync(file));
    t.equal(readFileSync(`${file}.bad`, 'utf8'), text, 'the bad file is kept');
  }
});

t.test('a writer killed between fsync and rename leaves the previous state readable', async (t) => {
  const dir = fresh();
  const file = join(dir, 'state.json');
  acquireLock(dir).release();
  const before = sample();
  writeStateSync(file, before);
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { writeStateSync, emptyState } from ${JSON.stringify(STATE_JS)};
    const s = emptyState(777);
    s.services.other = { state: 'active', mainPid: 5, result: 'success', restarts: 0, since: null, configPath: '/o' };
    writeStateSync(${JSON.stringify(file)}, s, { beforeRename: (tmp) => {
      process.stdout.write(tmp + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // hang until killed
    } });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const tmp = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.endsWith('\n')) resolve(out.trim());
    });
  });
  t.ok(existsSync(tmp), 'the new state is in the temp file');
  t.equal(JSON.parse(readFileSync(tmp, 'utf8')).supervisorPid, 777);
  t.same(readState(file), before, 'the file still holds the previous state during the write');
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  t.same(readState(file), before, 'and after the writer died');
  // the next supervisor sweeps the orphaned temp file and loads the previous state
  const store = new StateStore(file);
  t.notOk(existsSync(tmp), 'orphan temp removed');
  t.same(store.previous, before);
  t.equal(store.loadProblem, undefined);
  t.same(removeStaleTemps(file), []);
});

t.test('StateStore coalesces writes and flushes', async (t) => {
  const dir = fresh();
  const file = join(dir, 'state.json');
  acquireLock(dir).release();
  writeFileSync(file, 'garbage');
  const store = new StateStore(file);
  t.equal(store.previous, null);
  t.equal(store.loadProblem?.code, 'corrupt', 'a corrupt file is reported, not thrown');
  for (let i = 0; i < 100; i++) store.setService(`s${i % 10}`, { state: 'active', mainPid: 1000 + i, configPath: `/u/s${i % 10}.service` });
  store.setService('s0', { state: 'failed', result: 'signal' });
  await store.flush();
  const s = readState(file)!;
  t.equal(Object.keys(s.services).length, 10);
  t.match(s.services.s0, { state: 'failed', result: 'signal', mainPid: 1090, restarts: 0, configPath: '/u/s0.service' });
  t.equal(s.services.s9!.mainPid, 1099);
  t.equal(s.supervisorPid, process.pid);
  store.removeService('s9'); // an async write starts...
  store.flushSync(); // ...and a synchronous one overtakes it
  t.notOk('s9' in readState(file)!.services);
  store.setService('late', { state: 'inactive' });
  store.flushSync();
  await store.flush();
  t.ok('late' in readState(file)!.services, 'the overtaken async write did not rename an older state over the newer one');
  t.same(readdirSync(dir).filter((f) => f.includes('.tmp.')), [], 'no temp files left');
  // a write failure is reported by flush, and the next change retries
  const errors: unknown[] = [];
  const s2 = new StateStore(join(dir, 'nodir', 'state.json'), { onError: (e) => errors.push(e) });
  s2.setService('x', { state: 'active' });
  await t.rejects(s2.flush(), { code: 'ENOENT' });
  t.equal(errors.length, 1);
});
