/**
 * The service cgroup against the real kernel: ServiceCgroup creates
 * `<own>/sysg-test-<pid>/<unit>` beneath this test's own cgroups (v2 and/or
 * v1, whatever is mounted), writes the limits, a launched service joins it
 * with the 'cgroup-join' step, and the test checks tracking (forked children
 * are listed), kill (all die), MemoryMax= (an allocation beyond it is
 * OOM-killed, and succeeds without it), TasksMax= (forks beyond it fail, and
 * succeed without it) and the limit files. Everything is removed afterwards.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import { detectHierarchies, type Hierarchy } from '../src/mechanisms/cgroups-hierarchy.js';
import { cpuWeightToShares, ioWeightToBfq, ioWeightToBlkio, planLimits } from '../src/mechanisms/cgroups-limits.js';
import { CgroupError, ServiceCgroup, claimOwnCgroup, slicePath } from '../src/mechanisms/cgroups.js';

const hs = process.platform === 'linux' ? detectHierarchies() : [];
const skip = process.platform !== 'linux' ? 'Linux only' : process.getuid?.() !== 0 ? 'needs root' : hs.length === 0 ? 'no cgroup hierarchy' : false;
const opts = skip ? { skip } : {};
const BASE = `sysg-test-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'sysg-cgroups-'));
const made: ServiceCgroup[] = [];

let launcher: Launcher | undefined;
t.before(async () => {
  if (!skip) launcher = await Launcher.start();
});
t.teardown(async () => {
  for (const cg of made) {
    try {
      cg.kill();
      for (let i = 0; i < 200 && !cg.empty(); i++) await new Promise((r) => setTimeout(r, 10));
      cg.remove();
    } catch {
      // reported by the tests themselves
    }
  }
  await launcher?.close();
  rmSync(dir, { recursive: true, force: true });
});

function create(unit: string, limits: Record<string, unknown> = {}, owner?: { uid: number; gid: number }): ServiceCgroup {
  const cg = ServiceCgroup.create(unit, limits, { base: BASE, ...(owner ? { owner } : {}) });
  made.push(cg);
  return cg;
}

let runs = 0;
async function launch(cg: ServiceCgroup, argv: string[], plan: Partial<LaunchPlan> = {}): Promise<{ pid: number; exited: Promise<unknown>; out: string }> {
  const out = join(dir, `out-${runs++}`);
  const l = await launcher!.launch({ path: argv[0]!, argv, env: ['PATH=/usr/bin:/bin'], stdout: { path: out }, stderr: { path: `${out}.err` }, steps: [{ op: 'cgroup-join', dirs: cg.dirs }], ...plan });
  return { pid: l.pid, exited: l.exited, out };
}

/** Polls (no timing assertion: the cap only keeps a broken kernel from hanging the test). */
async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** The file in one of the service's directories (v2 name or v1 name), or undefined. */
function limitFile(cg: ServiceCgroup, ...names: string[]): string | undefined {
  for (const d of cg.dirs) for (const n of names) if (existsSync(`${d}/${n}`)) return readFileSync(`${d}/${n}`, 'utf8').trim();
  return undefined;
}

t.test('hierarchy detection: pure v2, hybrid, cgroup namespace', async (t) => {
  const v2 = detectHierarchies('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n', '0::/user.slice/session-1.scope\n');
  t.same(v2, [{ version: 2, controllers: [], mount: '/sys/fs/cgroup', own: '/sys/fs/cgroup/user.slice/session-1.scope', ownIsRoot: false }]);
  const hybrid = detectHierarchies(
    [
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n'),
    '9:name=systemd:/system.slice/x.service\n4:memory:/a\n2:cpuacct,cpu:/\n0::/system.slice/x.service\n',
  );
  t.same(hybrid.map((h) => [h.version, h.controllers.join(','), h.own, h.ownIsRoot]), [
    [1, 'name=systemd', '/sys/fs/cgroup/systemd/system.slice/x.service', false],
    [1, 'memory', '/sys/fs/cgroup/memory/a', false],
    [1, 'cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct', true],
    [2, '', '/sys/fs/cgroup/unified/system.slice/x.service', false],
  ]);
  // A bind mount of a subtree (container): the mount's root is stripped; a path outside it is unusable.
  const sub = detectHierarchies('30 23 0:26 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', '0::/lxc/c1/init.scope\n');
  t.equal(sub[0]?.own, '/sys/fs/cgroup/init.scope');
  t.same(detectHierarchies('30 23 0:26 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', '0::/other\n'), []);
  t.same(detectHierarchies('30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', '0::/../x\n'), [], 'outside our cgroup namespace');
});

t.test('slices and limit conversions (systemd\'s formulas)', async (t) => {
  t.same(slicePath('foo-bar-baz.slice'), ['foo.slice', 'foo-bar.slice', 'foo-bar-baz.slice']);
  t.same(slicePath('-.slice'), []);
  t.throws(() => slicePath('foo.service'), CgroupError);
  t.throws(() => slicePath('../x.slice'), CgroupError);
  t.equal(cpuWeightToShares(100), 1024);
  t.equal(cpuWeightToShares(1), 10);
  t.equal(cpuWeightToShares(10000), 102400);
  t.equal(ioWeightToBlkio(100), 500);
  t.equal(ioWeightToBlkio(1), 10);
  t.equal(ioWeightToBfq(100), 100);
  t.equal(ioWeightToBfq(1), 1);
  t.equal(ioWeightToBfq(10000), 1000);
  const byField = (c: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(planLimits(c).map((p) => [p.field.replace('limits.cgroup.', ''), { v2: p.v2, v1: p.v1 }]));
  t.same(byField({ cpu_quota: '20%' }).cpu_quota, {
    v2: [{ file: 'cpu.max', value: '20000 100000' }],
    v1: [{ file: 'cpu.cfs_period_us', value: '100000' }, { file: 'cpu.cfs_quota_us', value: '20000' }],
  });
  t.same((byField({ cpu_quota: '150%', cpu_quota_period: '10ms' }).cpu_quota as { v2: unknown }).v2, [{ file: 'cpu.max', value: '15000 10000' }]);
  t.same((byField({ cpu_quota: '0.5%' }).cpu_quota as { v2: unknown }).v2, [{ file: 'cpu.max', value: '1000 100000' }], 'at least 1ms per period');
  t.same(byField({ memory_max: 'infinity' }).memory_max, { v2: [{ file: 'memory.max', value: 'max' }], v1: [{ file: 'memory.limit_in_bytes', value: '-1' }] });
  t.same(byField({ memory_high: 1 << 20 }).memory_high, { v2: [{ file: 'memory.high', value: '1048576' }], v1: undefined });
  t.same(byField({ tasks_max: 'infinity' }).tasks_max, { v2: [{ file: 'pids.max', value: 'max' }], v1: [{ file: 'pids.max', value: 'max' }] });
  t.same((byField({ cpu_weight: 200 }).cpu_weight as { v1: unknown }).v1, [{ file: 'cpu.shares', value: '2048' }]);
});

t.test('a service cgroup: placement, limits, tracking, kill, removal', opts, async (t) => {
  const unit = `track-${process.pid}.service`;
  const cg = create(unit, { memory_max: 64 << 20, tasks_max: 16, cpu_weight: 200, cpu_quota: '20%', io_weight: 300 });
  const v2 = hs.find((h) => h.version === 2);
  if (v2) t.equal(cg.dirs[0], `${v2.own}/${BASE}/${unit}`, 'tracked in the v2 hierarchy, beneath our own cgroup');
  for (const d of cg.dirs) {
    const h = hs.find((x: Hierarchy) => d.startsWith(`${x.own}/`));
    t.ok(h, `${d} lies beneath this process's own cgroup`);
    t.ok(h && d !== h.mount && d !== h.own, `${d} is not a hierarchy root nor our own cgroup`);
    t.ok(d.endsWith(`/${BASE}/${unit}`));
  }
  t.same([...cg.enforced].sort(), ['limits.cgroup.cpu_quota', 'limits.cgroup.cpu_weight', 'limits.cgroup.io_weight', 'limits.cgroup.memory_max', 'limits.cgroup.tasks_max']);
  t.equal(limitFile(cg, 'memory.max', 'memory.limit_in_bytes'), String(64 << 20), 'memory limit written');
  t.equal(limitFile(cg, 'pids.max'), '16');
  const w = limitFile(cg, 'cpu.weight', 'cpu.shares');
  t.ok(w === '200' || w === '2048', `cpu weight ${w}`);
  const q = limitFile(cg, 'cpu.max') ?? `${limitFile(cg, 'cpu.cfs_quota_us')} ${limitFile(cg, 'cpu.cfs_period_us')}`;
  t.equal(q, '20000 100000');
  const io = limitFile(cg, 'io.weight', 'io.bfq.weight', 'blkio.weight', 'blkio.bfq.weight');
  t.ok(io !== undefined && ['default 300', String(ioWeightToBfq(300)), String(ioWeightToBlkio(300))].some((x) => io.includes(x)), `io weight ${io}`);

  // A service that forks: every process is listed, and kill() takes them all.
  const svc = await launch(cg, ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & (sleep 1000 &) ; echo started; wait']);
  t.ok(await until(() => cg.pids().length === 4), `sh, two sleeps and a double-forked sleep are tracked: ${cg.pids()}`);
  t.ok(cg.pids().includes(svc.pid), 'the main process is in it');
  for (const d of cg.dirs) t.ok(readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').includes(String(svc.pid)), `joined ${d}`);
  const orphan = cg.pids().filter((p) => p !== svc.pid);
  cg.kill();
  t.same(await svc.exited, { signal: 'SIGKILL', signo: 9, core: false });
  t.ok(await until(() => cg.empty()), 'all processes gone, the double-forked one included');
  for (const p of orphan) t.notOk(existsSync(`/proc/${p}/cmdline`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep'), `pid ${p} is dead`);
  cg.remove();
  for (const d of cg.dirs) t.notOk(existsSync(d), `${d} removed`);
  for (const d of cg.dirs) t.notOk(existsSync(d.slice(0, d.lastIndexOf('/'))), 'the empty base directory too');
});

t.test('kill with SIGTERM reaches every process', opts, async (t) => {
  const cg = create(`term-${process.pid}.service`);
  const svc = await launch(cg, ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
  t.ok(await until(() => cg.pids().length === 3));
  cg.kill('SIGTERM');
  t.same(await svc.exited, { signal: 'SIGTERM', signo: 15, core: false });
  t.ok(await until(() => cg.empty()), 'the sleeps got SIGTERM too');
  cg.remove();
});

t.test('MemoryMax= really limits: an allocation beyond it is OOM-killed', opts, async (t) => {
  const alloc = ['/usr/bin/python3', '-c', "b = b'x' * (200 << 20); print('allocated', len(b))"];
  const limited = create(`mem-${process.pid}.service`, { memory_max: 50 << 20 });
  const a = await launch(limited, alloc);
  t.same(await a.exited, { signal: 'SIGKILL', signo: 9, core: false }, '200 MB under MemoryMax=50M: killed by the OOM killer');
  t.equal(readFileSync(a.out, 'utf8'), '');
  limited.remove();
  const free = create(`nomem-${process.pid}.service`);
  const b = await launch(free, alloc);
  t.same(await b.exited, { code: 0 }, 'the same allocation without the limit succeeds');
  t.equal(readFileSync(b.out, 'utf8').trim(), `allocated ${200 << 20}`);
  free.remove();
});

t.test('TasksMax= stops forks beyond the limit', opts, async (t) => {
  const forker = [
    '/usr/bin/python3', '-c',
    ['import os, time', 'n = 0', 'for i in range(20):', '    try:', '        pid = os.fork()', '    except OSError:', '        continue',
      '    if pid == 0:', '        time.sleep(1000)', '        os._exit(0)', '    n += 1', 'print(n, flush=True)', 'time.sleep(1000)'].join('\n'),
  ];
  const limited = create(`tasks-${process.pid}.service`, { tasks_max: 5 });
  const a = await launch(limited, forker);
  t.ok(await until(() => readFileSync(a.out, 'utf8').includes('\n')));
  t.equal(readFileSync(a.out, 'utf8').trim(), '4', 'TasksMax=5: the parent and four children');
  limited.kill();
  await a.exited;
  t.ok(await until(() => limited.empty()));
  limited.remove();
  const free = create(`notasks-${process.pid}.service`);
  const b = await launch(free, forker);
  t.ok(await until(() => readFileSync(b.out, 'utf8').includes('\n')));
  t.equal(readFileSync(b.out, 'utf8').trim(), '20', 'without it all 20 forks succeed');
  free.kill();
  await b.exited;
  t.ok(await until(() => free.empty()));
  free.remove();
});

t.test('slices nest beneath the base directory and are removed when empty', opts, async (t) => {
  const cg = create(`sliced-${process.pid}.service`, { slice: 'app-web.slice' });
  t.ok(cg.dirs[0]!.endsWith(`/${BASE}/app.slice/app-web.slice/sliced-${process.pid}.service`));
  t.ok(cg.enforced.has('limits.cgroup.slice'));
  cg.remove();
  t.notOk(existsSync(cg.dirs[0]!.split(`/${BASE}/`)[0] + `/${BASE}`));
});

t.test('AllowedCPUs= through the cpuset controller; Delegate= hands the cgroup to the service user', opts, async (t) => {
  const cg = create(`cpuset-${process.pid}.service`, { allowed_cpus: [0], delegate: true }, { uid: 65534, gid: 65534 });
  t.ok(cg.enforced.has('limits.cgroup.allowed_cpus') && cg.enforced.has('limits.cgroup.delegate'));
  const a = await launch(cg, ['/bin/sh', '-c', 'grep Cpus_allowed_list /proc/self/status']);
  t.same(await a.exited, { code: 0 });
  t.equal(readFileSync(a.out, 'utf8').trim(), 'Cpus_allowed_list:\t0', 'restricted to CPU 0 by the cgroup');
  const b = await launch(create(`nocpuset-${process.pid}.service`), ['/bin/sh', '-c', 'grep Cpus_allowed_list /proc/self/status']);
  await b.exited;
  if (cpus().length > 1) t.not(readFileSync(b.out, 'utf8').trim(), 'Cpus_allowed_list:\t0', 'not without it');
  for (const d of cg.dirs) {
    t.equal(statSync(d).uid, 65534, `${d} belongs to the service user`);
    t.equal(statSync(`${d}/cgroup.procs`).uid, 65534);
  }
  cg.remove();
});

t.test('claimOwnCgroup: the supervisor moves itself to a leaf, never foreign processes (v2)', opts, async (t) => {
  const v2 = hs.find((h) => h.version === 2);
  if (!v2) {
    t.pass('skipped: no cgroup v2 hierarchy');
    return;
  }
  t.ok(claimOwnCgroup([process.pid], hs.filter((h) => h.version === 2 && !existsSync(`${h.own}/cgroup.type`))), 'a root cgroup needs nothing');
  // A stand-in "supervisor cgroup": a v2 cgroup holding two sleeps; only one of them is "ours".
  const standIn = create(`claim-${process.pid}.service`);
  const a = await launch(standIn, ['/bin/sleep', '1000']);
  const b = await launch(standIn, ['/bin/sleep', '1000']);
  const own = standIn.dirs[0]!;
  const fake: Hierarchy[] = [{ version: 2, controllers: [], mount: v2.mount, own, ownIsRoot: false }];
  t.ok(await until(() => standIn.pids().length === 2));
  t.equal(claimOwnCgroup([a.pid], fake), false, 'refused: a process that is not ours lives there');
  t.same(readFileSync(`${own}/cgroup.procs`, 'utf8').trim().split('\n').map(Number).sort(), [a.pid, b.pid].sort(), 'nothing moved');
  t.equal(claimOwnCgroup([a.pid, b.pid], fake), true);
  t.equal(readFileSync(`${own}/cgroup.procs`, 'utf8').trim(), '', 'the cgroup itself is empty now');
  t.same(readFileSync(`${own}/supervisor/cgroup.procs`, 'utf8').trim().split('\n').map(Number).sort(), [a.pid, b.pid].sort(), 'both in the leaf');
  t.same(standIn.pids().sort(), [a.pid, b.pid].sort(), 'still tracked (pids() descends into sub-cgroups)');
  standIn.kill();
  await a.exited;
  await b.exited;
  t.ok(await until(() => standIn.empty()));
  standIn.remove();
  t.notOk(existsSync(own), 'removed with its leaf');
});

t.test('fail closed: limits that cannot be enforced, unknown fields', opts, async (t) => {
  const v2 = hs.find((h) => h.version === 2);
  const v2HasMemory = v2 !== undefined && readFileSync(`${v2.own}/cgroup.controllers`, 'utf8').split(/\s+/).includes('memory');
  if (!v2HasMemory) {
    t.throws(() => create(`high-${process.pid}.service`, { memory_high: 10 << 20 }), { name: 'CgroupError', field: 'limits.cgroup.memory_high' }, 'MemoryHigh= needs the v2 memory controller');
    t.notOk(hs.some((h) => existsSync(`${h.own}/${BASE}/high-${process.pid}.service`)), 'nothing left behind');
  }
  t.throws(() => create(`dc-${process.pid}.service`, { disable_controllers: ['cpu'] }), { name: 'CgroupError', field: 'limits.cgroup.disable_controllers' });
  t.throws(() => create('../escape', {}), CgroupError);
  t.throws(() => create(`bad-${process.pid}.service`, { tasks_max: 'lots' }), { name: 'CgroupError', field: 'limits.cgroup.tasks_max' });
});
