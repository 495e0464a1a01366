/**
 * The credentials mechanism against the real kernel: services launched through
 * the Launcher with the credentials fragment's steps report their ids and
 * capability sets from /proc/self/status, and escape probes show each
 * protection holds (and that the same probe succeeds without it). The last
 * part runs the ExecStart= commands of systemd's own test-execute units for
 * these directives. Needs root.
 */
import t from 'tap';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher, LaunchError } from '../src/launch/launcher.js';
import type { Exit, LostExit } from '../src/launch/launcher.js';
import type { LaunchPlan, Step } from '../src/launch/plan.js';
import { credentialsFragment } from '../src/mechanisms/credentials-plan.js';
import { CREDENTIAL_OPS } from '../src/launch/ops-credentials.js';
import { loginEnvironment, resolveIdentity } from '../src/mechanisms/users.js';
import type { BuildContext, ExecCommand, Identity } from '../src/plan/context.js';
import { ServiceView } from '../src/plan/service.js';
import { ARCH } from '../src/sys/arch/index.js';
import { convertUnits } from '../src/convert/convert.js';
import { UnitSearchPath } from '../src/unit/search-path.js';
import { packageRoot } from '../src/package-root.js';

const skip = process.platform !== 'linux' ? 'Linux only' : process.getuid?.() !== 0 ? 'needs root' : false;
if (skip) t.plan(0, skip);

const dir = mkdtempSync(join(tmpdir(), 'sysg-cred-'));
chmodSync(dir, 0o755); // services running as nobody/daemon reach the probes in here
const dynamicUserDir = join(dir, 'dynamic');
let launcher: Launcher;
t.before(async () => {
  launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher?.close();
  rmSync(dir, { recursive: true, force: true });
});

const selfStatus = readFileSync('/proc/self/status', 'utf8');
const field = (status: string, k: string): string | undefined => /^\w+:\s*(.*)$/.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[1]?.trim();
/** The supervisor's own bounding set: what "keep everything" looks like on this host. */
const HOST_BND = BigInt(`0x${field(selfStatus, 'CapBnd')}`);
const hex = (n: bigint): string => n.toString(16).padStart(16, '0');
const bit = (c: number): bigint => 1n << BigInt(c);
const CAP_CHOWN = 0, CAP_FOWNER = 3, CAP_KILL = 5, CAP_NET_RAW = 13;

let seq = 0;
interface RunOptions {
  readonly unitName?: string;
  readonly command?: Partial<ExecCommand>;
  readonly sandbox?: boolean;
}
interface Run {
  readonly exit: Exit | LostExit;
  readonly out: string;
  readonly steps: readonly Step[];
  readonly identity: Identity | undefined;
}

function plan(raw: Record<string, unknown>, opts: RunOptions = {}): { svc: ServiceView; steps: Step[]; identity: Identity | undefined; configured: Identity | undefined } {
  const svc = new ServiceView('t', { unit: { name: opts.unitName ?? 'sysg-cred-test.service' }, ...raw });
  const command: ExecCommand = { argv: ['/bin/true'], ...opts.command };
  const configured = resolveIdentity(svc, { dynamicUserDir });
  const identity = command.privileged === 'no-setuid' || opts.sandbox === false ? undefined : configured;
  const ctx: BuildContext = {
    svc, command, arch: ARCH, supervisorPrivileged: true, identity, sandbox: opts.sandbox ?? true,
    execDirectories: [], cgroupDirs: undefined, credentialsDirectory: undefined, warn: () => undefined,
  };
  return { svc, steps: credentialsFragment.build(ctx).map((p) => p.step), identity, configured };
}

/** Runs `script` with /bin/sh as the service described by `raw`; stdout+stderr captured. */
async function run(raw: Record<string, unknown>, script: string, opts: RunOptions = {}): Promise<Run> {
  const { svc, steps, identity, configured } = plan(raw, opts);
  return runSteps(steps, script, ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...loginEnvironment(configured, svc)], identity);
}

async function runSteps(steps: Step[], script: string, env: string[] = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], identity?: Identity): Promise<Run> {
  const out = join(dir, `out-${seq++}`);
  const p: LaunchPlan = { path: '/bin/sh', argv: ['sh', '-c', script], env, stdout: { path: out }, stderr: { path: out }, steps };
  let exit: Exit | LostExit;
  try {
    exit = await (await launcher.launch(p)).exited;
  } catch (e) {
    // A step failed before execve: the child exited with systemd's code for it.
    if (!(e instanceof LaunchError) || e.exitCode === null) throw e;
    exit = { code: e.exitCode };
  }
  return { exit, out: readFileSync(out, 'utf8'), steps, identity };
}

const STATUS = 'cat /proc/self/status';

t.test('User=nobody: ids, groups, no capabilities; a root-only file stays out of reach', async (t) => {
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'x', { mode: 0o600 });
  const probe = `${STATUS}; if echo y >> ${secret}; then echo WROTE; else echo DENIED; fi`;
  const r = await run({ user: 'nobody' }, probe);
  t.same(r.exit, { code: 0 });
  t.equal(field(r.out, 'Uid'), '65534\t65534\t65534\t65534');
  t.equal(field(r.out, 'Gid'), '65534\t65534\t65534\t65534');
  t.equal(field(r.out, 'Groups'), '65534');
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) t.equal(field(r.out, k), '0000000000000000', k);
  t.equal(field(r.out, 'CapBnd'), hex(HOST_BND), 'bounding set untouched');
  t.equal(field(r.out, 'NoNewPrivs'), '0');
  t.match(r.out, /DENIED/);
  t.equal(readFileSync(secret, 'utf8'), 'x');
  // Control: without User= the same probe writes.
  const c = await run({}, probe);
  t.same(c.steps, [], 'no User= → no steps');
  t.match(c.out, /WROTE/);
  t.equal(field(c.out, 'Uid'), '0\t0\t0\t0');
});

t.test('AmbientCapabilities= as User=daemon: CapAmb 0x2001, and the chown it grants works', async (t) => {
  const target = join(dir, 'chown-me');
  writeFileSync(target, 'x');
  const probe = `${STATUS}; if chown 2 ${target}; then echo CHOWNED; else echo NOCHOWN; fi`;
  const r = await run({ user: 'daemon', sandbox: { ambient_capabilities: ['CAP_CHOWN', 'CAP_NET_RAW'] } }, probe);
  t.same(r.exit, { code: 0 });
  const want = hex(bit(CAP_CHOWN) | bit(CAP_NET_RAW));
  t.equal(want, '0000000000002001');
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) t.equal(field(r.out, k), want, k);
  t.equal(field(r.out, 'Uid'), '1\t1\t1\t1');
  t.match(r.out, /CHOWNED/);
  writeFileSync(target, 'x');
  chmodSync(target, 0o644);
  // Control: the same user without ambient caps cannot chown.
  rmSync(target);
  writeFileSync(target, 'x');
  const c = await run({ user: 'daemon' }, probe);
  t.match(c.out, /NOCHOWN/);
  t.equal(field(c.out, 'CapAmb'), '0000000000000000');
});

t.test('ambient caps outside the bounding set are suppressed, not an error (systemd)', async (t) => {
  const r = await run({ user: 'daemon', sandbox: { ambient_capabilities: ['CAP_CHOWN', 'CAP_NET_RAW'], capability_bounding_set: ['CAP_NET_RAW'] } }, STATUS);
  t.same(r.exit, { code: 0 });
  t.equal(field(r.out, 'CapAmb'), hex(bit(CAP_NET_RAW)));
  t.equal(field(r.out, 'CapBnd'), hex(bit(CAP_NET_RAW)));
});

t.test('CapabilityBoundingSet=~CAP_CHOWN as root: chown fails; without it, it works', async (t) => {
  const target = join(dir, 'chown-root');
  writeFileSync(target, 'x');
  const probe = `${STATUS}; if chown 65534 ${target}; then echo CHOWNED; else echo NOCHOWN; fi`;
  const r = await run({ sandbox: { capability_bounding_set: { all_except: ['CAP_CHOWN'] } } }, probe);
  t.same(r.exit, { code: 0 });
  t.equal(field(r.out, 'CapBnd'), hex(HOST_BND & ~bit(CAP_CHOWN)));
  t.equal(field(r.out, 'CapEff'), hex(HOST_BND & ~bit(CAP_CHOWN)), 'root gets the bounding set at execve');
  t.match(r.out, /NOCHOWN/);
  const c = await run({}, probe);
  t.match(c.out, /CHOWNED/);
});

t.test('CapabilityBoundingSet=CAP_FOWNER CAP_KILL, and [] = drop everything', async (t) => {
  const r = await run({ sandbox: { capability_bounding_set: ['CAP_FOWNER', 'CAP_KILL'] } }, STATUS);
  t.equal(field(r.out, 'CapBnd'), hex(bit(CAP_FOWNER) | bit(CAP_KILL)));
  t.equal(field(r.out, 'CapInh'), '0000000000000000');
  const e = await run({ sandbox: { capability_bounding_set: [] } }, STATUS);
  t.equal(field(e.out, 'CapBnd'), '0000000000000000');
  t.equal(field(e.out, 'CapEff'), '0000000000000000', 'even root has nothing left');
  // "all except nothing" keeps everything: no step at all.
  t.same(plan({ sandbox: { capability_bounding_set: { all_except: [] } } }).steps, []);
});

t.test('an empty bounding set: a setuid-root binary run by a non-root user gains no capabilities', async (t) => {
  const suidCat = join(dir, 'suid-cat');
  copyFileSync('/bin/cat', suidCat);
  chmodSync(suidCat, 0o4755);
  const probe = `${suidCat} /proc/self/status`;
  const r = await run({ user: 'nobody', sandbox: { capability_bounding_set: [] } }, probe);
  t.same(r.exit, { code: 0 });
  t.equal(field(r.out, 'Uid'), '65534\t0\t0\t0', 'the setuid bit still changes the euid');
  t.equal(field(r.out, 'CapPrm'), '0000000000000000');
  t.equal(field(r.out, 'CapEff'), '0000000000000000');
  // Control: without the bounding set the same binary gets root's capabilities.
  const c = await run({ user: 'nobody' }, probe);
  t.equal(field(c.out, 'CapEff'), hex(HOST_BND));
});

t.test('NoNewPrivileges=yes: NoNewPrivs 1 and a setuid binary does not raise the euid', async (t) => {
  const suidId = join(dir, 'suid-id');
  copyFileSync('/usr/bin/id', suidId);
  chmodSync(suidId, 0o4755);
  const probe = `${STATUS}; echo "euid=$(${suidId} -u)"`;
  const r = await run({ user: 'nobody', sandbox: { no_new_privileges: true } }, probe);
  t.same(r.exit, { code: 0 });
  t.equal(field(r.out, 'NoNewPrivs'), '1');
  t.match(r.out, /euid=65534/);
  const c = await run({ user: 'nobody' }, probe);
  t.equal(field(c.out, 'NoNewPrivs'), '0');
  t.match(c.out, /euid=0/);
});

t.test('SecureBits=noroot: root gets no capabilities at execve; locked bits are visible', async (t) => {
  const probe = `${STATUS}; capsh --print | grep '^Securebits'`;
  const r = await run({ sandbox: { secure_bits: ['noroot', 'noroot-locked'] } }, probe);
  t.same(r.exit, { code: 0 });
  t.equal(field(r.out, 'Uid'), '0\t0\t0\t0');
  t.equal(field(r.out, 'CapPrm'), '0000000000000000');
  t.equal(field(r.out, 'CapEff'), '0000000000000000');
  t.match(r.out, /Securebits: 03\/0x3/);
  const c = await run({}, probe);
  t.equal(field(c.out, 'CapEff'), hex(HOST_BND));
  t.match(c.out, /Securebits: 00\/0x0/);
  // As a non-root user: CAP_SETPCAP survives the switch through SECURE_KEEP_CAPS, so the bits can be set.
  const u = await run({ user: 'nobody', sandbox: { secure_bits: ['no-setuid-fixup', 'noroot'] } }, probe);
  t.same(u.exit, { code: 0 });
  t.match(u.out, /Securebits: 05\/0x5/);
  t.equal(field(u.out, 'CapPrm'), '0000000000000000');
  const setUser = u.steps.find((s) => s.op === 'set-user');
  t.same(setUser, { op: 'set-user', uid: 65534, keepCaps: true });
});

t.test('groups: Group=, SupplementaryGroups= with and without User=', async (t) => {
  const g = await run({ group: 'daemon' }, `${STATUS}; id -n -g`);
  t.equal(field(g.out, 'Gid'), '1\t1\t1\t1');
  t.equal(field(g.out, 'Uid'), '0\t0\t0\t0');
  t.equal(field(g.out, 'Groups'), '', 'root gets no initgroups()');
  t.match(g.out, /^daemon$/m);
  const s = await run({ supplementary_groups: ['1', '2'] }, STATUS);
  t.equal(field(s.out, 'Groups'), '1 2');
  t.equal(field(s.out, 'Gid'), '0\t0\t0\t0');
  const u = await run({ user: '1', supplementary_groups: ['sys', '2'] }, STATUS);
  t.equal(field(u.out, 'Uid'), '1\t1\t1\t1');
  t.equal(field(u.out, 'Groups'), '1 2 3', "initgroups() adds the user's gid");
});

t.test('a `!` command keeps root but not the rest of the sandbox; `+` gets nothing', async (t) => {
  const raw = { user: 'nobody', sandbox: { capability_bounding_set: ['CAP_KILL'], no_new_privileges: true } };
  const bang = await run(raw, STATUS, { command: { privileged: 'no-setuid' } });
  t.equal(field(bang.out, 'Uid'), '0\t0\t0\t0');
  t.equal(field(bang.out, 'CapBnd'), hex(bit(CAP_KILL)));
  t.equal(field(bang.out, 'NoNewPrivs'), '1');
  const plus = await run(raw, STATUS, { sandbox: false });
  t.same(plus.steps, []);
  t.equal(field(plus.out, 'Uid'), '0\t0\t0\t0');
  t.equal(field(plus.out, 'CapBnd'), hex(HOST_BND));
});

t.test('DynamicUser=: a uid in 61184–65519, the same on every run, gid = uid', async (t) => {
  const r = await run({ dynamic_user: true }, `${STATUS}; echo "USER=$USER"`, { unitName: 'sysgdyn@x.service' });
  t.same(r.exit, { code: 0 });
  const uid = r.identity!.uid;
  t.ok(uid >= 61184 && uid <= 65519, `uid ${uid}`);
  t.equal(field(r.out, 'Uid'), `${uid}\t${uid}\t${uid}\t${uid}`);
  t.equal(field(r.out, 'Gid'), `${uid}\t${uid}\t${uid}\t${uid}`);
  t.equal(field(r.out, 'Groups'), String(uid));
  t.match(r.out, /USER=sysgdyn$/m);
  const again = await run({ dynamic_user: true }, STATUS, { unitName: 'sysgdyn@y.service' });
  t.equal(again.identity!.uid, uid, 'same name, same uid');
  const other = plan({ dynamic_user: true }, { unitName: 'sysgdyn-other.service' });
  t.not(other.identity!.uid, uid, 'another name gets another uid');
});

t.test('exit codes: 216 GROUP, 217 USER, 218 CAPABILITIES, 213 SECUREBITS', async (t) => {
  // set-groups runs before every other credential step (PHASE.groups), so nothing can make it fail here.
  t.equal(CREDENTIAL_OPS['set-groups'].exitCode, 216);
  t.ok(CREDENTIAL_OPS['set-groups'].phase < CREDENTIAL_OPS['set-user'].phase);
  // Plan order is kept within a phase, so a second uid change after dropping root fails with EPERM.
  const u = await runSteps([{ op: 'set-user', uid: 65534, keepCaps: false }, { op: 'set-user', uid: 1, keepCaps: false }], 'exit 0');
  t.same(u.exit, { code: 217 });
  // Without SECURE_KEEP_CAPS the permitted set is gone after the switch: no ambient raise, no securebits.
  const a = await runSteps([{ op: 'set-user', uid: 65534, keepCaps: false }, { op: 'ambient-raise', caps: [CAP_CHOWN] }], 'exit 0');
  t.same(a.exit, { code: 218 });
  const s = await runSteps([{ op: 'set-user', uid: 65534, keepCaps: false }, { op: 'secure-bits', bits: 1 }], 'exit 0');
  t.same(s.exit, { code: 213 });
  // The same ambient raise with keepCaps succeeds (the controls for the two above).
  const ok = await runSteps([{ op: 'ambient-inheritable', caps: [CAP_CHOWN] }, { op: 'set-user', uid: 65534, keepCaps: true }, { op: 'ambient-raise', caps: [CAP_CHOWN] }, { op: 'secure-bits', bits: 1 }], STATUS);
  t.same(ok.exit, { code: 0 });
  t.equal(field(ok.out, 'CapAmb'), hex(bit(CAP_CHOWN)));
});

// ---------------------------------------------------------------------------------------------------------------
// systemd's test-execute units for these directives: every ExecStart= must exit 0 (the "root" column).

const CONFORMANCE = join(packageRoot(), '..', 'shared', 'conformance', 'systemd-test-execute');
const UNITS = [
  'exec-ambientcapabilities', 'exec-ambientcapabilities-merge', 'exec-ambientcapabilities-nobody', 'exec-ambientcapabilities-merge-nobody',
  'exec-capabilityboundingset-simple', 'exec-capabilityboundingset-reset', 'exec-capabilityboundingset-merge', 'exec-capabilityboundingset-invert',
  'exec-user', 'exec-user-nobody', 'exec-group', 'exec-group-nogroup',
  'exec-supplementarygroups', 'exec-supplementarygroups-single-group', 'exec-supplementarygroups-single-group-user',
  'exec-supplementarygroups-multiple-groups-default-group-user', 'exec-supplementarygroups-multiple-groups-withgid',
  'exec-supplementarygroups-multiple-groups-withuid',
  'exec-dynamicuser-fixeduser', 'exec-dynamicuser-fixeduser-games', 'exec-dynamicuser-fixeduser-one-supplementarygroup',
  'exec-dynamicuser-supplementarygroups',
  // The bounding-set half (their SystemCallFilter= is the seccomp mechanism's).
  'exec-systemcallfilter-nonewprivileges-bounding1', 'exec-systemcallfilter-nonewprivileges-bounding2',
];

t.test('test-execute units', async (t) => {
  const searchPath = new UnitSearchPath({ unitPath: [CONFORMANCE] });
  for (const unit of UNITS) {
    const res = convertUnits([join(CONFORMANCE, `${unit}.service`)], searchPath);
    const services = res.manifest?.services as Record<string, Record<string, unknown>> | undefined;
    const raw = services ? Object.values(services)[0] : undefined;
    if (!raw) {
      t.fail(`${unit}: converts`);
      continue;
    }
    const svc = new ServiceView(unit, raw);
    const { steps, configured } = plan(raw, { unitName: svc.unitName });
    const env = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...loginEnvironment(configured, svc)];
    const commands = (raw['commands'] as { start: ExecCommand[] }).start;
    for (const [i, cmd] of commands.entries()) {
      // systemd turns "$$" into "$" when it expands the command line.
      const argv = cmd.argv.map((a) => a.replaceAll('$$', '$'));
      const out = join(dir, `unit-${seq++}`);
      const l = await launcher.launch({ path: argv[0]!, argv, env, stdout: { path: out }, stderr: { path: out }, steps });
      const exit = await l.exited;
      t.same(exit, { code: 0 }, `${unit} ExecStart #${i + 1}`, { output: readFileSync(out, "utf8"), steps });
    }
  }
});
