/**
 * Seccomp directives in real launches: the seccomp fragment turns a service model into steps, the Launcher
 * starts python3 (test/probes/seccomp-launch-probe.py) with them, and the probe tries each escape from
 * inside the service. Every probe is also run without the directive, where it must succeed (or fail
 * differently), so each assertion can fail. Also mirrors what systemd's test-execute units check
 * (exec-systemcallfilter-*, exec-systemcallerrornumber-*, exec-restrictnamespaces-*, NoNewPrivs).
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePlan } from '../src/launch/compile.js';
import { Launcher, LaunchError, type Exit } from '../src/launch/launcher.js';
import { EXIT } from '../src/launch/exit-codes.js';
import { PHASE, PlanError, type LaunchPlan, type Step } from '../src/launch/plan.js';
import { credentialsFragment } from '../src/mechanisms/credentials-plan.js';
import { namespacesFragment } from '../src/mechanisms/namespaces-plan.js';
import { CALLS_AFTER_EARLY_INSTALL, seccompFragment } from '../src/mechanisms/seccomp-plan.js';
import type { BuildContext, Identity } from '../src/plan/context.js';
import { ModelError, ServiceView } from '../src/plan/service.js';
import { ARCH } from '../src/sys/arch/index.js';
import { getSeccompMode } from '../src/mechanisms/seccomp-syscalls.js';

const skip =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? 'x86-64 Linux only (the probes use x86-64 syscall numbers)'
    : process.getuid?.() !== 0
      ? 'needs root'
      : getSeccompMode().ret < 0
        ? 'no seccomp'
        : false;
const opts = skip ? { skip } : {};

const PYTHON = '/usr/bin/python3';
const probe = fileURLToPath(new URL('./probes/seccomp-launch-probe.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sysg-seccomp-launch-'));
const EPERM = 1, ENOENT = 2, EACCES = 13, EINVAL = 22, ENOSYS = 38, EILSEQ = 84, EAFNOSUPPORT = 97;

let launcher: Launcher | undefined;
t.before(async () => {
  if (!skip) launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher?.close();
  rmSync(dir, { recursive: true, force: true });
});

const uid1: Identity = { user: 'uid1', uid: 1, group: 'gid1', gid: 1, supplementaryGids: [], home: '/', shell: '/bin/sh', dynamic: false };

function context(raw: Record<string, unknown>, over: Partial<BuildContext> = {}): BuildContext & { warnings: string[] } {
  const warnings: string[] = [];
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
    warn: (field, message) => warnings.push(`${field}: ${message}`),
    ...over,
    warnings,
  };
}

/** The fragment's steps for a `sandbox` model. */
function stepsFor(sandbox: Record<string, unknown>, over: Partial<BuildContext> = {}, extra: Record<string, unknown> = {}): Step[] {
  return seccompFragment.build(context({ sandbox, ...extra }, over)).map((p) => p.step);
}

interface Run {
  readonly exit: Exit | { lost: string };
  /** probe → "ok" | errno number. */
  readonly results: Map<string, 'ok' | number>;
  readonly seccomp?: string;
  readonly nnp?: string;
  readonly uid?: string;
  readonly out: string;
}

let runs = 0;
async function run(steps: readonly Step[], probes: readonly string[], plan: Partial<LaunchPlan> = {}): Promise<Run> {
  const out = join(dir, `out-${runs++}`);
  const l = await launcher!.launch({ path: PYTHON, argv: ['python3', probe, dir, ...probes], env: ['PATH=/usr/bin:/bin'], stdout: { path: out }, stderr: { path: `${out}.err` }, steps, ...plan });
  const exit = await l.exited;
  const text = readFileSync(out, 'utf8');
  const results = new Map<string, 'ok' | number>();
  let status: string[] = [];
  for (const line of text.split('\n')) {
    const w = line.split(' ');
    if (w[0] === 'status') status = w.slice(1);
    else if (w[1] === 'ok') results.set(w[0]!, 'ok');
    else if (w[1] === 'errno') results.set(w[0]!, Number(w[2]));
  }
  return { exit, results, seccomp: status[0], nnp: status[1], uid: status[2], out: text };
}

async function shell(steps: readonly Step[], script: string, plan: Partial<LaunchPlan> = {}): Promise<{ exit: Exit | { lost: string }; out: string }> {
  const out = join(dir, `sh-${runs++}`);
  const l = await launcher!.launch({ path: '/bin/sh', argv: ['sh', '-c', script], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], stdout: { path: out }, stderr: { path: out, mode: 'append' }, steps, ...plan });
  return { exit: await l.exited, out: readFileSync(out, 'utf8') };
}

const SIGSYS = { signal: 'SIGSYS', signo: 31 };

t.test('fragment: which steps, where, and the implied no_new_privs', opts, async (t) => {
  t.same(stepsFor({}), [], 'nothing requested, nothing planned');
  t.same(seccompFragment.build(context({ sandbox: { system_call_filter: ['~uname'] } }, { sandbox: false })), [], 'a `+` command is not sandboxed');
  t.same(stepsFor({ system_call_filter: [''] }), [], 'SystemCallFilter= (empty) installs nothing');

  const ops = (s: Step[]): string[] => s.map((x) => x.op);
  const deny = { system_call_filter: ['~uname'] };
  t.same(ops(stepsFor(deny)), ['seccomp'], 'root service, privileged supervisor: last, no NNP');
  t.same(ops(stepsFor(deny, { supervisorPrivileged: false })), ['seccomp-no-new-privs', 'seccomp'], 'unprivileged supervisor: NNP implied');
  t.same(ops(stepsFor({ system_call_filter: ['@system-service'] }, { identity: uid1 })), ['seccomp-before-user'], 'User=1 + @system-service: before the uid switch, no NNP');
  t.same(ops(stepsFor({ protect_clock: true }, { identity: uid1 })), ['seccomp-before-user'], 'User=1 + ProtectClock=yes: no NNP');
  t.same(ops(stepsFor({ system_call_filter: ['~@privileged'] }, { identity: uid1 })), ['seccomp-no-new-privs', 'seccomp'], 'User=1 + ~@privileged blocks setresuid/capset: systemd falls back to NNP');
  t.same(ops(stepsFor({ system_call_filter: ['~prctl'] }, { identity: uid1 })), ['seccomp-no-new-privs', 'seccomp'], 'a filter without prctl: the same fallback');
  t.same(ops(stepsFor({ system_call_filter: ['@system-service'] }, { identity: { ...uid1, uid: 0 } })), ['seccomp'], 'User=root keeps its capabilities: last');
  t.same(ops(stepsFor({ system_call_filter: ['@system-service'], private_users: true }, { identity: uid1 })), ['seccomp-before-user'], 'PrivateUsers=: the user namespace comes first, CAP_SYS_ADMIN in it');
  t.ok(CALLS_AFTER_EARLY_INSTALL.includes('setresuid') && CALLS_AFTER_EARLY_INSTALL.includes('capset'));

  t.same(stepsFor({ restrict_realtime: true })[0], { op: 'setrlimit', resource: 'rtprio', soft: 0, hard: 0 }, 'RestrictRealtime= zeroes RLIMIT_RTPRIO');
  t.same(ops(stepsFor({ restrict_realtime: true }, {}, { limits: { rlimits: { rtprio: { soft: 5, hard: 5 } } } })), ['seccomp'], '… unless LimitRTPRIO= is set');

  const bad = (): Step[] => stepsFor({ restrict_address_families: { allow: ['AF_NOPE'] } });
  t.throws(bad, ModelError);
  try {
    bad();
  } catch (e) {
    t.equal((e as ModelError).field, 'sandbox.restrict_address_families');
  }
  t.throws(() => stepsFor({ system_call_error_number: 'ENOTANERRNO', system_call_filter: ['~uname'] }), ModelError);

  // Phases and exit codes as compiled.
  const compiled = compilePlan({ path: '/bin/true', argv: ['true'], env: [], steps: [...stepsFor(deny, { supervisorPrivileged: false }), ...stepsFor({ system_call_filter: ['@system-service'] }, { identity: uid1 })] });
  const byName = new Map(compiled.ops.map((o) => [o.name, o]));
  t.equal(byName.get('seccomp')?.phase, PHASE.seccomp);
  t.equal(byName.get('seccomp')?.exitCode, EXIT.SECCOMP);
  t.equal(byName.get('seccomp-no-new-privs')?.exitCode, EXIT.NO_NEW_PRIVILEGES);
  t.ok(PHASE.noNewPrivs < PHASE.seccomp && PHASE.seccompBeforeUser < PHASE.credentials && PHASE.seccompBeforeUser > PHASE.mounts);
  t.equal(byName.get('seccomp-before-user')?.phase, PHASE.seccompBeforeUser);
  const names = compiled.ops.map((o) => o.name);
  t.ok(names.indexOf('seccomp-no-new-privs') < names.indexOf('seccomp') && names.indexOf('seccomp') === names.length - 2, 'NNP, then the filter, then exec');

  // Bad programs are refused in the parent.
  const plan = (programs: unknown): unknown => ({ path: '/bin/true', argv: ['true'], env: [], steps: [{ op: 'seccomp', programs }] });
  t.throws(() => compilePlan(plan([])), PlanError);
  t.throws(() => compilePlan(plan(['not base64!'])), PlanError);
  t.throws(() => compilePlan(plan([Buffer.alloc(12).toString('base64')])), PlanError, 'not a whole number of instructions');
  t.throws(() => compilePlan(plan([Buffer.from([0x15, 0, 0, 0, 0, 0, 0, 0]).toString('base64')])), PlanError, 'a program that does not end in ret');
});

const ALL_PROBES = [
  'uname', 'uname-x32', 'af-packet', 'af-netlink', 'af-inet', 'af-unix', 'wx-mmap', 'chmod-suid', 'unshare-net', 'unshare-mnt',
  'personality32', 'adjtimex', 'clock-settime', 'sethostname', 'sched-fifo', 'delete-module', 'syslog', 'ioperm',
];

let control: Run;
t.test('control: without directives every probe escapes, no filter, no NNP', opts, async (t) => {
  control = await run([], ALL_PROBES);
  t.same(control.exit, { code: 0 }, control.out);
  for (const p of ['uname', 'af-packet', 'af-netlink', 'af-inet', 'af-unix', 'wx-mmap', 'chmod-suid', 'unshare-net', 'unshare-mnt', 'personality32', 'adjtimex', 'sethostname', 'sched-fifo', 'syslog'])
    t.equal(control.results.get(p), 'ok', `${p} succeeds without the directive`);
  // Calls this kernel refuses by itself: the filter must turn them into something else.
  t.equal(control.results.get('clock-settime'), EINVAL);
  t.not(control.results.get('delete-module'), EPERM);
  t.not(control.results.get('ioperm'), EPERM);
  t.ok(control.results.get('uname-x32') === 'ok' || control.results.get('uname-x32') === ENOSYS, 'x32 uname is not killed');
  t.equal(control.seccomp, '0');
  t.equal(control.nnp, '0');
});

t.test('SystemCallFilter=~uname with SystemCallErrorNumber=: errno, the x32 number too, no NNP for root', opts, async (t) => {
  const r = await run(stepsFor({ system_call_filter: ['~uname'], system_call_error_number: 'EACCES' }), ['uname', 'uname-x32', 'af-inet']);
  t.same(r.exit, { code: 0 }, r.out);
  t.equal(r.results.get('uname'), EACCES);
  t.equal(r.results.get('uname-x32'), EACCES, 'the x32 ABI gets the same filter');
  t.equal(r.results.get('af-inet'), 'ok', 'other calls are untouched');
  t.equal(r.seccomp, '2');
  t.equal(r.nnp, '0', 'a privileged supervisor installs without no_new_privs');
});

t.test('SystemCallArchitectures=native: the x32 number is killed', opts, async (t) => {
  const r = await run(stepsFor({ system_call_architectures: ['native'] }), ['uname', 'uname-x32']);
  t.equal(r.results.get('uname'), 'ok');
  t.notOk(r.results.has('uname-x32'));
  t.match(r.exit, SIGSYS);
});

t.test('test-execute SystemCallFilter= and SystemCallErrorNumber= cases', opts, async (t) => {
  const uname = async (sandbox: Record<string, unknown>): Promise<Run> => run(stepsFor(sandbox), ['uname']);
  // exec-systemcallerrornumber-name / -number
  t.equal((await uname({ system_call_filter: ['~uname'], system_call_error_number: 'EACCES' })).results.get('uname'), EACCES);
  t.equal((await uname({ system_call_filter: ['~uname'], system_call_error_number: '255' })).results.get('uname'), 255);
  // exec-systemcallfilter-with-errno-name / -number / -multi / -in-allow-list / override-error-action2
  t.equal((await uname({ system_call_filter: ['~uname:EILSEQ'], system_call_error_number: 'EACCES' })).results.get('uname'), EILSEQ);
  t.equal((await uname({ system_call_filter: ['~uname:255'], system_call_error_number: 'EACCES' })).results.get('uname'), 255);
  t.equal((await uname({ system_call_filter: ['~uname:ENOENT uname:EILSEQ'], system_call_error_number: 'EACCES' })).results.get('uname'), EILSEQ);
  const allow = await uname({ system_call_filter: ['@system-service', '~uname:EILSEQ'], system_call_error_number: 'EACCES' });
  t.equal(allow.results.get('uname'), EILSEQ, 'python runs under the @system-service allow-list');
  t.equal((await uname({ system_call_filter: ['~uname:EILSEQ'], system_call_error_number: 'kill' })).results.get('uname'), EILSEQ);
  // exec-systemcallfilter-override-error-action: ~uname:kill beats SystemCallErrorNumber=EILSEQ
  const killed = await uname({ system_call_filter: ['~uname:kill'], system_call_error_number: 'EILSEQ' });
  t.match(killed.exit, SIGSYS);
  t.notOk(killed.results.has('uname'));
  // default action of a deny-list: kill
  t.match((await uname({ system_call_filter: ['~uname'] })).exit, SIGSYS);

  const echo = "/bin/echo 'Foo bar'";
  // exec-systemcallfilter-not-failing(2,3)
  const toggles = ['~read write open execve ioperm', 'ioctl', 'read write open execve', '~ioperm'];
  t.same(await shell(stepsFor({ system_call_filter: toggles }), echo), { exit: { code: 0 }, out: 'Foo bar\n' });
  t.same(await shell(stepsFor({ system_call_filter: [''] }), echo), { exit: { code: 0 }, out: 'Foo bar\n' });
  t.same(await shell(stepsFor({ system_call_filter: [''], system_call_architectures: ['native'] }), echo), { exit: { code: 0 }, out: 'Foo bar\n' });
  // exec-systemcallfilter-failing(2,3): the service is killed (at its execve, or on its first call)
  const failing = await shell(stepsFor({ system_call_filter: ['ioperm', '~ioperm', 'ioperm'] }), echo);
  t.match(failing.exit, SIGSYS);
  t.equal(failing.out, '');
  const denyExec = ['~write open execve fexecve execveat exit_group close mmap munmap fstat DONOTEXIST'];
  t.match((await shell(stepsFor({ system_call_filter: denyExec }), echo)).exit, SIGSYS);
  t.match((await shell(stepsFor({ system_call_filter: denyExec, system_call_architectures: ['native'] }), echo)).exit, SIGSYS);
});

/** One directive at a time: the probe escapes in the control run and is stopped here. */
const cases: readonly { name: string; sandbox: Record<string, unknown>; blocked: Record<string, number>; allowed?: readonly string[] }[] = [
  { name: 'RestrictAddressFamilies=AF_UNIX AF_INET', sandbox: { restrict_address_families: { allow: ['AF_UNIX', 'AF_INET'] } }, blocked: { 'af-packet': EAFNOSUPPORT, 'af-netlink': EAFNOSUPPORT }, allowed: ['af-inet', 'af-unix'] },
  { name: 'RestrictAddressFamilies=~AF_PACKET', sandbox: { restrict_address_families: { deny: ['AF_PACKET'] } }, blocked: { 'af-packet': EAFNOSUPPORT }, allowed: ['af-netlink', 'af-inet'] },
  { name: 'MemoryDenyWriteExecute=yes', sandbox: { memory_deny_write_execute: true }, blocked: { 'wx-mmap': EPERM }, allowed: ['uname'] },
  { name: 'RestrictSUIDSGID=yes', sandbox: { restrict_suid_sgid: true }, blocked: { 'chmod-suid': EPERM } },
  {
    name: 'RestrictNamespaces=~net',
    sandbox: { restrict_namespaces: { allow: ['cgroup', 'ipc', 'mnt', 'pid', 'user', 'uts'] } },
    blocked: { 'unshare-net': EPERM },
    allowed: ['unshare-mnt'],
  },
  { name: 'LockPersonality=yes', sandbox: { lock_personality: true }, blocked: { personality32: EPERM } },
  { name: 'ProtectClock=yes', sandbox: { protect_clock: true }, blocked: { adjtimex: EPERM, 'clock-settime': EPERM } },
  { name: 'ProtectHostname=yes', sandbox: { protect_hostname: true }, blocked: { sethostname: EPERM } },
  { name: 'RestrictRealtime=yes', sandbox: { restrict_realtime: true }, blocked: { 'sched-fifo': EPERM } },
  { name: 'ProtectKernelModules=yes', sandbox: { protect_kernel_modules: true }, blocked: { 'delete-module': EPERM } },
  { name: 'ProtectKernelLogs=yes', sandbox: { protect_kernel_logs: true }, blocked: { syslog: EPERM } },
  { name: 'PrivateDevices=yes (@raw-io)', sandbox: { private_devices: true }, blocked: { ioperm: EPERM } },
];

for (const c of cases) {
  t.test(c.name, opts, async (t) => {
    const probes = [...Object.keys(c.blocked), ...(c.allowed ?? [])];
    const r = await run(stepsFor(c.sandbox), probes);
    t.same(r.exit, { code: 0 }, r.out);
    for (const [p, errno] of Object.entries(c.blocked)) {
      t.equal(r.results.get(p), errno, `${p} is refused`);
      t.not(control.results.get(p), errno, `${p} is not refused that way without the directive`);
    }
    for (const p of c.allowed ?? []) t.equal(r.results.get(p), 'ok', `${p} still works`);
    t.equal(r.seccomp, '2');
  });
}

t.test('every directive at once: all probes stopped, the program still runs', opts, async (t) => {
  const sandbox = Object.assign({}, ...cases.map((c) => c.sandbox), { restrict_address_families: { allow: ['AF_UNIX', 'AF_INET'] }, system_call_architectures: ['native'], system_call_filter: ['@system-service', '~uname:EILSEQ'], system_call_error_number: 'EPERM' }) as Record<string, unknown>;
  const probes = ['uname', 'af-packet', 'af-netlink', 'af-inet', 'wx-mmap', 'chmod-suid', 'unshare-net', 'unshare-mnt', 'personality32', 'adjtimex', 'clock-settime', 'sethostname', 'sched-fifo', 'delete-module', 'syslog', 'ioperm'];
  const r = await run(stepsFor(sandbox), probes);
  t.same(r.exit, { code: 0 }, r.out);
  t.equal(r.results.get('uname'), EILSEQ);
  t.equal(r.results.get('af-inet'), 'ok');
  t.equal(r.results.get('unshare-mnt'), 'ok');
  for (const p of probes.filter((x) => !['uname', 'af-inet', 'unshare-mnt'].includes(x))) t.not(r.results.get(p), 'ok', `${p} is stopped`);
  t.equal(r.nnp, '0');
});

/** The supervisor's hard RLIMIT_RTPRIO (raising it needs CAP_SYS_RESOURCE, which some machines withhold). */
const rtprioHard = Number(/^Max realtime priority\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 0);
t.test('RestrictRealtime= also zeroes RLIMIT_RTPRIO', skip ? opts : rtprioHard >= 5 ? {} : { skip: 'hard RLIMIT_RTPRIO is 0 here: nothing to lower' }, async (t) => {
  // A limit the supervisor's process setup would set (e.g. inherited): the directive's zero wins over it.
  const inherited: Partial<LaunchPlan> = { rlimits: [{ resource: 'rtprio', soft: 5, hard: 5 }] };
  const script = 'grep "Max realtime priority" /proc/self/limits';
  const r = await shell(stepsFor({ restrict_realtime: true }), script, inherited);
  t.match(r.out, /Max realtime priority\s+0\s+0\s/);
  const c = await shell([], script, inherited);
  t.match(c.out, /Max realtime priority\s+5\s+5\s/, 'not zero without the directive');
});

t.test('RestrictNamespaces= as test-execute checks it, with unshare(1)', opts, async (t) => {
  const ns = (sandbox: Record<string, unknown>, cmd: string) => shell(stepsFor(sandbox), cmd);
  t.same((await ns({ restrict_namespaces: true }, 'unshare -m true')).exit, { code: 1 }, 'exec-restrictnamespaces-yes');
  t.same((await ns({ restrict_namespaces: { allow: ['mnt'] } }, 'unshare -m true')).exit, { code: 0 }, 'exec-restrictnamespaces-mnt');
  t.same((await ns({ restrict_namespaces: { allow: ['cgroup', 'ipc', 'net', 'pid', 'user', 'uts'] } }, 'unshare -m true')).exit, { code: 1 }, 'exec-restrictnamespaces-mnt-deny-list');
  t.same((await ns({ restrict_namespaces: false }, 'unshare -m -u -i -n -p -f true')).exit, { code: 0 }, 'exec-restrictnamespaces-no');
  t.same((await ns({ restrict_namespaces: { allow: ['mnt', 'pid', 'uts'] } }, 'unshare -m -u -p -f true && ! unshare -u -i -n true')).exit, { code: 0 }, 'exec-restrictnamespaces-merge-or');
});

t.test('NoNewPrivs: implied for an unprivileged supervisor only', opts, async (t) => {
  const unpriv = await run(stepsFor({ protect_clock: true }, { supervisorPrivileged: false }), ['adjtimex']);
  t.equal(unpriv.nnp, '1', 'no CAP_SYS_ADMIN: no_new_privs before the filter');
  t.equal(unpriv.seccomp, '2');
  t.equal(unpriv.results.get('adjtimex'), EPERM);
  const priv = await run(stepsFor({ protect_clock: true }), ['adjtimex']);
  t.equal(priv.nnp, '0');
  t.equal(priv.seccomp, '2');
});

t.test('User=1 + @system-service: the filter goes on before the uid switch, which still works (no NNP)', opts, async (t) => {
  // exec-systemcallfilter-nonewprivileges(-protectclock): the switch is done by the service here (the
  // credentials steps are another mechanism's); it runs after the filter exactly as the launcher's would.
  const steps = stepsFor({ system_call_filter: ['@system-service', '~uname:EILSEQ'] }, { identity: uid1 });
  t.same(steps.map((s) => s.op), ['seccomp-before-user']);
  const r = await run(steps, ['become-uid1', 'uname']);
  t.same(r.exit, { code: 0 }, r.out);
  t.equal(r.results.get('become-uid1'), 'ok', 'setgroups/setresgid/setresuid pass the filter');
  t.equal(r.uid, '1');
  t.equal(r.nnp, '0');
  t.equal(r.seccomp, '2');
  t.equal(r.results.get('uname'), EILSEQ, 'the filter still holds as uid 1');

  const clock = await run(stepsFor({ protect_clock: true }, { identity: uid1 }), ['become-uid1', 'adjtimex']);
  t.equal(clock.results.get('become-uid1'), 'ok');
  t.equal(clock.nnp, '0');
  t.equal(clock.results.get('adjtimex'), EPERM);

  // Why the fallback exists: ~@privileged installed before the switch would kill the switch itself.
  const early: Step[] = stepsFor({ system_call_filter: ['~@privileged'] }).map((s) => (s.op === 'seccomp' ? { op: 'seccomp-before-user', programs: s.programs } : s));
  const broken = await run(early, ['become-uid1']);
  t.match(broken.exit, SIGSYS, 'setgroups() under ~@privileged is killed');
  t.equal(stepsFor({ system_call_filter: ['~@privileged'] }, { identity: uid1 })[0]?.op, 'seccomp-no-new-privs', 'so the plan falls back to NNP + last');
});

t.test('ENOENT-style values are kept apart from the probe protocol', opts, async (t) => {
  // A sanity check of the probe: errno values come through as numbers.
  const r = await run(stepsFor({ system_call_filter: ['~uname:ENOENT'] }), ['uname']);
  t.equal(r.results.get('uname'), ENOENT);
});

/** The credentials fragment's id switch and capability steps plus ours, as `sysg run` composes them. */
function withCredentials(raw: Record<string, unknown>, identity: Identity | undefined): Step[] {
  const ctx = context(raw, { identity });
  return [...credentialsFragment.build(ctx), ...namespacesFragment.build(ctx), ...seccompFragment.build(ctx)].map((p) => p.step);
}

const STATUS = 'grep -E "^(Uid|NoNewPrivs|Seccomp|CapBnd):" /proc/self/status';
const statusOf = (out: string): Record<string, string> => Object.fromEntries(out.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));

t.test('with the credentials steps: test-execute exec-systemcallfilter-nonewprivileges*, system-user', opts, async (t) => {
  // exec-systemcallfilter-nonewprivileges: User=1 + @system-service → NoNewPrivs 0, the switch works.
  const nnp = await shell(withCredentials({ user: '1', sandbox: { system_call_filter: ['@system-service'] } }, uid1), STATUS);
  t.same(nnp.exit, { code: 0 }, nnp.out);
  t.match(statusOf(nnp.out), { Uid: /^1\s/, NoNewPrivs: '0', Seccomp: '2' });
  // …-protectclock
  const clock = await shell(withCredentials({ user: '1', sandbox: { protect_clock: true } }, uid1), STATUS);
  t.match(statusOf(clock.out), { Uid: /^1\s/, NoNewPrivs: '0', Seccomp: '2' });
  // …-bounding1/2: the bounding set comes out exactly as configured (CAP_SYS_ADMIN is not kept behind).
  const b1 = await shell(withCredentials({ user: '1', sandbox: { system_call_filter: ['@system-service'], capability_bounding_set: ['CAP_NET_BIND_SERVICE'] } }, uid1), STATUS);
  t.equal(statusOf(b1.out)['CapBnd'], '0000000000000400', b1.out);
  const b2 = await shell(withCredentials({ user: '1', sandbox: { system_call_filter: ['@system-service'], capability_bounding_set: ['CAP_SYS_ADMIN', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE'] } }, uid1), STATUS);
  t.equal(statusOf(b2.out)['CapBnd'], '0000000000200500', b2.out);
  t.equal(statusOf(b2.out)['NoNewPrivs'], '0');
  // exec-systemcallfilter-system-user: the deny/allow toggles with User=
  const toggles = ['~read write open execve ioperm', 'ioctl', 'read write open execve', '~ioperm'];
  const sys = await shell(withCredentials({ user: '1', sandbox: { system_call_filter: toggles } }, uid1), 'echo "Foo bar"');
  t.same(sys, { exit: { code: 0 }, out: 'Foo bar\n' });
  // ~@privileged would refuse the switch itself if installed first: NNP and last, and the service runs.
  const priv = await shell(withCredentials({ user: '1', sandbox: { system_call_filter: ['~@privileged'] } }, uid1), STATUS);
  t.same(priv.exit, { code: 0 }, priv.out);
  t.match(statusOf(priv.out), { Uid: /^1\s/, NoNewPrivs: '1', Seccomp: '2' });
  // PrivateUsers=: the user namespace is set up before the filter; still no NNP, and the filter holds.
  const userns = await shell(withCredentials({ user: '1', sandbox: { private_users: true, system_call_filter: ['@system-service', '~uname:EILSEQ'] } }, uid1), `${STATUS}; uname; echo "rc=$?"`);
  t.match(userns.out, /NoNewPrivs:\s+0\n/, userns.out);
  t.match(userns.out, /Seccomp:\s+2\n/);
  t.match(userns.out, /Uid:\s+1\s/);
  t.match(userns.out, /rc=1/);
  // The filter binds the service after the switch.
  const uname = await shell(withCredentials({ user: '1', sandbox: { system_call_filter: ['@system-service', '~uname:EILSEQ'] } }, uid1), 'uname; echo "rc=$?"');
  t.match(uname.out, /rc=1/);
  t.match((await shell(withCredentials({ user: '1', sandbox: {} }, uid1), 'uname >/dev/null; echo "rc=$?"')).out, /rc=0/, 'uname works without the filter');
});

t.test('LockPersonality= with Personality=x86: the set persona stays, nothing else can be set', opts, async (t) => {
  // The resources mechanism sets the persona (PER_LINUX32 = 8) before our filter, as systemd does.
  const setX86: Step = { op: 'personality', persona: 8 };
  const locked = await run([setX86, ...stepsFor({ lock_personality: true, personality: 'x86' })], ['personality32', 'personality-linux']);
  t.equal(locked.results.get('personality32'), 'ok', 'the configured persona may be set again');
  t.equal(locked.results.get('personality-linux'), EPERM, 'PER_LINUX is refused');
  const open = await run([setX86], ['personality-linux']);
  t.equal(open.results.get('personality-linux'), 'ok', 'without the lock PER_LINUX can be set back');
  const m = await shell([setX86, ...stepsFor({ lock_personality: true, personality: 'x86' })], 'uname -m');
  t.equal(m.out, 'i686\n', 'exec-personality-x86 still holds under the lock');
});

t.test('an install the kernel refuses fails the launch with 228/SECCOMP', opts, async (t) => {
  // As uid 1 without CAP_SYS_ADMIN and without no_new_privs the kernel says EACCES: why NNP is implied.
  const filter = stepsFor({ system_call_filter: ['~uname'] });
  const asUid1: Step[] = [{ op: 'set-groups', gid: 1, groups: [] }, { op: 'set-user', uid: 1, keepCaps: false }];
  let err: unknown;
  try {
    await launcher!.launch({ path: '/bin/true', argv: ['true'], env: [], steps: [...asUid1, ...filter] });
  } catch (e) {
    err = e;
  }
  t.type(err, LaunchError);
  t.match(err, { step: 'seccomp', errno: EACCES, exitCode: EXIT.SECCOMP });
  const withNnp = await launcher!.launch({ path: '/bin/true', argv: ['true'], env: [], steps: [...asUid1, { op: 'seccomp-no-new-privs' }, ...filter] });
  t.same(await withNnp.exited, { code: 0 }, 'with the implied no_new_privs the same install works');
});
