/**
 * Process resources in real launches: the resources fragment turns a service
 * model into steps and the Launcher starts /bin/sh or python3 with them; the
 * service reports its own nice level, scheduling policy, affinity, ioprio,
 * OOM score, timer slack, coredump filter, personality and session keyring
 * from /proc/self and syscalls. Every attribute is also read without the
 * directive, where it differs, so each assertion can fail. Mirrors systemd's
 * test-execute units exec-cpuaffinity*, exec-ioschedulingclass-*,
 * exec-oomscoreadjust-*, exec-personality-* (converted from the real files).
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertUnits } from '../src/convert/convert.js';
import { Launcher, LaunchError, type Exit } from '../src/launch/launcher.js';
import type { LaunchPlan, Step } from '../src/launch/plan.js';
import { parseCoredumpFilter, ioprioValue } from '../src/mechanisms/resources.js';
import { resourcesFragment } from '../src/mechanisms/resources-plan.js';
import type { BuildContext, Identity } from '../src/plan/context.js';
import { ModelError, ServiceView } from '../src/plan/service.js';
import { ARCH } from '../src/sys/arch/index.js';
import { packageRoot } from '../src/package-root.js';
import { UnitSearchPath } from '../src/unit/search-path.js';

const skip = process.platform !== 'linux' ? 'Linux only' : process.getuid?.() !== 0 ? 'needs root' : false;
const opts = skip ? { skip } : {};
const dir = mkdtempSync(join(tmpdir(), 'sysg-resources-'));
const CONFORMANCE = join(packageRoot(), '..', 'shared', 'conformance', 'systemd-test-execute');
const PATH_ENV = 'PATH=/usr/local/bin:/usr/bin:/bin';

let launcher: Launcher | undefined;
t.before(async () => {
  if (!skip) launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher?.close();
  rmSync(dir, { recursive: true, force: true });
});

function context(raw: Record<string, unknown>, over: Partial<BuildContext> = {}): BuildContext {
  return {
    svc: new ServiceView('probe', raw),
    command: { argv: ['probe'] },
    arch: ARCH,
    supervisorPrivileged: true,
    identity: undefined,
    sandbox: true,
    execDirectories: [],
    cgroupDirs: undefined,
    credentialsDirectory: undefined,
    warn: () => undefined,
    ...over,
  };
}

const stepsFor = (raw: Record<string, unknown>, over: Partial<BuildContext> = {}): Step[] => resourcesFragment.build(context(raw, over)).map((p) => p.step);

let runs = 0;
/** Runs `sh -c script` with the steps; returns the exit and stdout. */
async function sh(script: string, steps: readonly Step[], plan: Partial<LaunchPlan> = {}): Promise<{ exit: Exit | { lost: string }; out: string }> {
  const out = join(dir, `out-${runs++}`);
  const l = await launcher!.launch({ path: '/bin/sh', argv: ['sh', '-c', script], env: [PATH_ENV, 'LC_ALL=C'], stdout: { path: out }, stderr: { path: `${out}.err` }, steps, ...plan });
  const exit = await l.exited;
  return { exit, out: readFileSync(out, 'utf8').trim() };
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

/** /proc/<pid>/stat fields after the command name: index 0 is field 3 (state). */
const STAT = `sed 's/^.*) //' /proc/self/stat`;
const statField = (line: string, field: number): string => line.split(' ')[field - 3]!;

/** Lowering oom_score_adj needs CAP_SYS_RESOURCE, which some sandboxes (this CI VM) withhold even from root. */
const CAP_SYS_RESOURCE = 24;
const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
const hasSysResource = (capEff & (1n << BigInt(CAP_SYS_RESOURCE))) !== 0n;

t.test('fragment: model → steps', async (t) => {
  t.same(stepsFor({}), [], 'nothing requested, no steps (not a systemd unit: no default keyring)');
  t.same(stepsFor({ limits: { nice: 5, oom_score_adjust: -10, timer_slack: 50000, cpu_affinity: [1, 0, 1] } }), [
    { op: 'oom-score-adjust', value: -10 },
    { op: 'nice', value: 5 },
    { op: 'cpu-affinity', cpus: [0, 1] },
    { op: 'timer-slack', ns: 50000 },
  ]);
  t.same(stepsFor({ limits: { cpu_affinity: [] } }), [], 'an empty affinity (CPUAffinity= reset) sets nothing');
  t.same(stepsFor({ limits: { cpu_scheduling: { policy: 'fifo' } } }), [{ op: 'cpu-scheduling', policy: 'fifo', priority: 1, resetOnFork: false }], 'fifo alone: priority clamped to 1');
  t.same(stepsFor({ limits: { cpu_scheduling: { reset_on_fork: true } } }), [{ op: 'cpu-scheduling', policy: 'other', priority: 0, resetOnFork: true }]);
  // IOSchedulingClass= alone: level 4; none → best-effort/4 (ioprio_normalize); idle has no level; priority alone: best-effort.
  t.equal(ioprioValue('realtime', undefined), (1 << 13) | 4);
  t.equal(ioprioValue('none', 2), (2 << 13) | 4);
  t.equal(ioprioValue('idle', 5), 3 << 13);
  t.equal(ioprioValue(undefined, 6), (2 << 13) | 6);
  t.same(stepsFor({ limits: { io_scheduling: { class: 'idle' } } }), [{ op: 'ioprio', value: 3 << 13 }]);
  t.equal(parseCoredumpFilter('default private-dax'), 0xb3n);
  t.equal(parseCoredumpFilter('0x1 elf-headers'), 0x11n);
  t.equal(parseCoredumpFilter('all'), 0xffffffffffffffffn);
  t.throws(() => parseCoredumpFilter('bogus'));
  t.same(stepsFor({ limits: { coredump_filter: 'default shared-dax' } }), [{ op: 'coredump-filter', mask: '0x133' }]);
  t.throws(() => stepsFor({ limits: { coredump_filter: 'bogus' } }), ModelError);
  if (process.arch === 'x64') {
    t.same(stepsFor({ sandbox: { personality: 'x86' } }), [{ op: 'personality', persona: 8 }]);
    t.same(stepsFor({ sandbox: { personality: 'x86-64' } }), [{ op: 'personality', persona: 0 }]);
  }
  t.throws(() => stepsFor({ sandbox: { personality: 's390' } }), ModelError, 'a foreign architecture is refused');
  t.same(stepsFor({ semantics: 'systemd' }), [{ op: 'keyring', mode: 'private' }], 'systemd units default to KeyringMode=private');
  t.same(stepsFor({ semantics: 'systemd', sandbox: { keyring_mode: 'inherit' } }), []);
  const uid1: Identity = { user: 'u', uid: 1, group: 'g', gid: 2, supplementaryGids: [], home: '/', shell: '/bin/sh', dynamic: false };
  t.same(stepsFor({ sandbox: { keyring_mode: 'shared' } }, { identity: uid1 }), [{ op: 'keyring', mode: 'shared', uid: 1, gid: 2 }]);
  t.same(stepsFor({}, { cgroupDirs: ['/sys/fs/cgroup/x'] }), [{ op: 'cgroup-join', dirs: ['/sys/fs/cgroup/x'] }]);
  t.throws(() => stepsFor({ limits: { cgroup: { memory_max: 1000000 } } }), ModelError, 'a cgroup limit without a cgroup is refused');
  t.throws(() => stepsFor({ limits: { nice: 30 } }), ModelError);
  t.ok(resourcesFragment.fields.includes('limits.cgroup.memory_max'));
  const warnings: string[] = [];
  const startup = resourcesFragment.build(context({ limits: { cgroup: { startup_cpu_weight: 5 } } }, { cgroupDirs: ['/x'], warn: (f) => warnings.push(f) }));
  t.same(startup.map((p) => p.step.op), ['cgroup-join']);
  t.same(warnings, ['limits.cgroup.startup_cpu_weight'], 'Startup* limits are noted as boot-only');
  t.same(stepsFor({ limits: { nice: 3 } }, { sandbox: false, cgroupDirs: ['/x'] }), [{ op: 'cgroup-join', dirs: ['/x'] }, { op: 'nice', value: 3 }], '`+` commands keep the cgroup and the resource settings');
});

t.test('nice, scheduling policy and reset-on-fork as seen from inside', opts, async (t) => {
  const base = await sh(`${STAT}; sed 's/^.*) //' /proc/$$/stat`, []);
  const [baseChild, baseShell] = base.out.split('\n');
  t.equal(statField(baseShell!, 19), '0', 'baseline nice 0');
  t.equal(statField(baseShell!, 41), '0', 'baseline policy SCHED_OTHER');

  const nice = await sh(`sed 's/^.*) //' /proc/$$/stat`, stepsFor({ limits: { nice: 7 } }));
  t.equal(statField(nice.out, 19), '7', 'Nice=7');

  const batch = await sh(`sed 's/^.*) //' /proc/$$/stat`, stepsFor({ limits: { cpu_scheduling: { policy: 'batch' } } }));
  t.equal(statField(batch.out, 41), '3', 'SCHED_BATCH');

  // fifo 10: the shell has it; with reset_on_fork its forked sed is back to SCHED_OTHER, without it keeps fifo.
  const fifo = await sh(`${STAT}; sed 's/^.*) //' /proc/$$/stat`, stepsFor({ limits: { cpu_scheduling: { policy: 'fifo', priority: 10 } } }));
  const [fifoChild, fifoShell] = fifo.out.split('\n');
  t.equal(statField(fifoShell!, 41), '1', 'SCHED_FIFO');
  t.equal(statField(fifoShell!, 40), '10', 'rt_priority 10');
  t.equal(statField(fifoChild!, 41), '1', 'a forked child keeps FIFO without reset_on_fork');
  const reset = await sh(`${STAT}; sed 's/^.*) //' /proc/$$/stat`, stepsFor({ limits: { cpu_scheduling: { policy: 'fifo', priority: 10, reset_on_fork: true } } }));
  const [resetChild, resetShell] = reset.out.split('\n');
  t.equal(statField(resetShell!, 41), '1', 'the shell runs FIFO (stat shows the policy without the reset flag)');
  t.equal(statField(resetChild!, 41), '0', 'its child is reset to SCHED_OTHER');
  t.equal(statField(baseChild!, 41), '0');
});

t.test('CPU affinity, OOM score, timer slack, coredump filter, personality', opts, async (t) => {
  const probe = 'grep Cpus_allowed_list /proc/self/status; cat /proc/self/oom_score_adj /proc/$$/timerslack_ns /proc/self/coredump_filter /proc/self/personality; uname -m';
  const base = (await sh(probe, [])).out.split('\n');
  const ours = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  const steps = stepsFor({
    limits: { cpu_affinity: [0], oom_score_adjust: ours === '321' ? 322 : 321, timer_slack: 123456, coredump_filter: 'default private-dax' },
    sandbox: { personality: process.arch === 'x64' ? 'x86' : 'arm' },
  });
  const got = (await sh(probe, steps)).out.split('\n');
  t.equal(got[0], 'Cpus_allowed_list:\t0', 'CPUAffinity=0');
  if (cpus().length > 1) t.not(base[0], got[0], 'without it more CPUs are allowed');
  t.equal(got[1], ours === '321' ? '322' : '321', 'OOMScoreAdjust');
  t.equal(base[1], ours, 'without it the score is inherited');
  t.equal(got[2], '123456', 'TimerSlackNSec');
  t.not(base[2], '123456');
  t.equal(got[3], '000000b3', 'CoredumpFilter=default private-dax');
  t.equal(base[3], '00000033');
  t.equal(got[4], '00000008', 'PER_LINUX32');
  t.equal(base[4], '00000000');
  t.equal(got[5], process.arch === 'x64' ? 'i686' : 'armv8l', 'uname -m under the compat personality');
  // A negative score needs CAP_SYS_RESOURCE; without it systemd ignores the EACCES ("containerized") and so do we.
  const neg = await sh('cat /proc/self/oom_score_adj', stepsFor({ limits: { oom_score_adjust: -100 } }));
  t.same(neg.exit, { code: 0 }, 'the launch goes on either way');
  t.equal(neg.out, hasSysResource ? '-100' : ours, hasSysResource ? 'negative score set' : 'negative score ignored without CAP_SYS_RESOURCE');
});

t.test('I/O scheduling class as ionice reports it', opts, async (t) => {
  const io = async (io: Record<string, unknown>): Promise<string> => (await sh('ionice', stepsFor({ limits: { io_scheduling: io } }))).out;
  t.match((await sh('ionice', [])).out, /^none: prio \d$/, 'baseline: no class set');
  t.equal(await io({ class: 'idle' }), 'idle');
  t.equal(await io({ class: 'best-effort' }), 'best-effort: prio 4', 'class alone: level 4');
  t.equal(await io({ class: 'realtime', priority: 2 }), 'realtime: prio 2');
  t.equal(await io({ priority: 7 }), 'best-effort: prio 7');
});

t.test('session keyring: private, shared, inherit', opts, async (t) => {
  // keyctl(2) via ctypes: the session keyring's id and description, and whether the user keyring is linked in it.
  const py = [
    'import ctypes, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'k = lambda *a: libc.syscall(250, *[ctypes.c_long(x) for x in a])',
    'ses = k(0, -3, 0); user = k(0, -4, 0)',
    'buf = ctypes.create_string_buffer(256); n = libc.syscall(250, ctypes.c_long(6), ctypes.c_long(ses), buf, ctypes.c_long(256))',
    'ids = (ctypes.c_int32 * 64)(); m = libc.syscall(250, ctypes.c_long(11), ctypes.c_long(ses), ids, ctypes.c_long(256))',
    'print(ses, buf.value.decode(), user in list(ids)[: max(m, 0) // 4])',
  ].join('\n');
  const run = async (steps: readonly Step[]): Promise<string[]> => {
    const out = join(dir, `key-${runs++}`);
    const l = await launcher!.launch({ path: '/usr/bin/python3', argv: ['python3', '-c', py], env: [PATH_ENV], stdout: { path: out }, stderr: { path: `${out}.err` }, steps });
    t.same(await l.exited, { code: 0 }, readFileSync(`${out}.err`, 'utf8'));
    return readFileSync(out, 'utf8').trim().split(' ');
  };
  const inherit = await run([]);
  const inherit2 = await run([]);
  t.equal(inherit[0], inherit2[0], 'without KeyringMode both share the supervisor session keyring');
  const priv = await run([{ op: 'keyring', mode: 'private' }]);
  const priv2 = await run([{ op: 'keyring', mode: 'private' }]);
  t.not(priv[0], inherit[0], 'private: a new session keyring');
  t.not(priv[0], priv2[0], 'one per launch');
  t.match(priv[1], /^keyring;0;0;[0-9a-f]+;_ses$/, 'an anonymous session keyring owned by root');
  t.equal(priv[2], 'False', 'private: the user keyring is not linked');
  const shared = await run([{ op: 'keyring', mode: 'shared' }]);
  t.equal(shared[2], 'True', 'shared: the user keyring is linked into the session keyring');
  const asUser = await run([{ op: 'keyring', mode: 'private', uid: 65534, gid: 65534 }]);
  t.match(asUser[1], /^keyring;65534;65534;[0-9a-f]+;_ses$/, 'created with the service user\'s real ids');
});

t.test('failures exit with systemd\'s statuses', opts, async (t) => {
  const launch = (steps: Step[]): Promise<unknown> => launcher!.launch({ path: '/bin/true', argv: ['true'], env: [], steps });
  const aff = await launchError(launch([{ op: 'cpu-affinity', cpus: [4000] }]));
  t.equal(aff.exitCode, 215, 'CPUAffinity on a CPU that does not exist: 215/CPUAFFINITY');
  const sched = await launchError(launch([{ op: 'cpu-scheduling', policy: 'fifo', priority: 0, resetOnFork: false }]));
  t.equal(sched.exitCode, 214, 'an invalid FIFO priority: 214/SETSCHEDULER');
  const cg = await launchError(launch([{ op: 'cgroup-join', dirs: [join(dir, 'no-such-cgroup')] }]));
  t.equal(cg.exitCode, 219, '219/CGROUP');
  const io = await launchError(launch([{ op: 'ioprio', value: 3 }]));
  t.equal(io.exitCode, 211, 'class none with a level: 211/IOPRIO');
  await t.rejects(launcher!.launch({ path: '/bin/true', argv: ['true'], env: [], steps: [{ op: 'nice', value: 40 }] }), /nice\.value/, 'bad steps are refused at compile time');
});

/** systemd's test-execute units, converted from the real files; ExecStart's $$ becomes $ as systemd's expansion does. */
t.test('test-execute units', opts, async (t) => {
  const searchPath = new UnitSearchPath({ unitPath: [CONFORMANCE] });
  const units: [string, string | false][] = [
    ['exec-cpuaffinity1.service', cpus().length >= 1 ? false : 'needs cpu0'],
    ['exec-cpuaffinity2.service', false],
    ['exec-cpuaffinity3.service', cpus().length >= 3 ? false : 'needs cpu0-2'],
    ['exec-ioschedulingclass-best-effort.service', false],
    ['exec-ioschedulingclass-idle.service', false],
    ['exec-ioschedulingclass-none.service', false],
    ['exec-ioschedulingclass-realtime.service', false],
    ['exec-oomscoreadjust-positive.service', false],
    ['exec-oomscoreadjust-negative.service', false], // exit 1 without CAP_SYS_RESOURCE, as under systemd
    ['exec-personality-x86-64.service', process.arch === 'x64' ? false : 'x86-64 only'],
    ['exec-personality-x86.service', process.arch === 'x64' ? false : 'x86-64 only'],
    ['exec-personality-aarch64.service', process.arch === 'arm64' ? false : 'aarch64 only'],
  ];
  for (const [name, why] of units) {
    if (why) {
      await t.test(name, { skip: why }, async () => undefined);
      continue;
    }
    const res = convertUnits([join(CONFORMANCE, name)], searchPath);
    const raw = Object.values(res.manifest!['services'] as Record<string, Record<string, unknown>>)[0]!;
    const argv = ((raw['commands'] as { start: { argv: string[] }[] }).start[0]!.argv).map((a) => a.replaceAll('$$', '$'));
    const steps = stepsFor(raw);
    const out = join(dir, `unit-${runs++}`);
    const l = await launcher!.launch({ path: argv[0]!, argv, env: [PATH_ENV], stdout: { path: out }, stderr: { path: `${out}.err` }, steps });
    const expected = name === 'exec-oomscoreadjust-negative.service' && !hasSysResource ? 1 : 0;
    t.same(await l.exited, { code: expected }, `${name} (${readFileSync(`${out}.err`, 'utf8').trim().replaceAll('\n', ' | ')})`);
  }
});
