/**
 * The mount namespace against the real kernel: services launched through the
 * Launcher with the mount-namespace step try to escape each protection from
 * inside; every probe is also run without the directive, where it succeeds.
 * Mirrors the checks of systemd's test-execute units (exec-protect*,
 * exec-privatetmp-*, exec-privatedevices-*, exec-readonlypaths*,
 * exec-inaccessiblepaths-*, exec-noexecpaths-simple, exec-bindpaths,
 * exec-temporaryfilesystem-*, exec-mount-apivfs-no, …).
 * Everything happens in the services' own namespaces; host scratch
 * directories are removed at the end and the host mount table is checked to
 * be unchanged.
 */
import t, { type Test } from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Launcher, LaunchError } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import type { MountStep } from '../src/launch/ops-mounts.js';
import { buildMountTable, comparePaths, MODE, modeName, type MountNamespaceSpec } from '../src/mechanisms/mounts-table.js';
import { ensurePrivateTmp, removePrivateTmp } from '../src/mechanisms/mounts-tmp.js';
import { describeMountFailure, failure, STAGE } from '../src/mechanisms/mounts-failure.js';
import { mountsFragment } from '../src/mechanisms/mounts-plan.js';
import { ServiceView } from '../src/plan/service.js';
import type { BuildContext, ExecDirectory } from '../src/plan/context.js';
import { ARCH } from '../src/sys/arch/index.js';
import { cString } from '../src/sys/cmem.js';
import { MS_SHARED } from '../src/sys/constants.js';
import { mount, umount2 } from '../src/sys/libc-mounts.js';

const mountPoints = (): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[4]!)
    .sort();
const hostMountsBefore = mountPoints();

const rand = Math.random().toString(36).slice(2, 8);
const out = mkdtempSync('/tmp/sysg-mounts-out-');
const staging = mkdtempSync('/tmp/sysg-mounts-staging-');
// Host scratch outside /tmp, /var/tmp, /run and /home (those get replaced by some directives).
const scratch = `/var/lib/sysg-mounts-test-${rand}`;
const rootProbe = `/root/.sysg-mounts-probe-${rand}`;
const tmpProbe = `/tmp/sysg-mounts-probe-${rand}`;
mkdirSync(`${scratch}/rw`, { recursive: true });
mkdirSync(`${scratch}/secret`, { recursive: true });
writeFileSync(`${scratch}/secret/file`, 'secret\n');
writeFileSync(rootProbe, 'root-only\n');
writeFileSync(tmpProbe, 'host tmp\n');

let launcher: Launcher;
t.before(async () => {
  launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher.close();
  for (const p of [out, staging, scratch, rootProbe, tmpProbe]) rmSync(p, { recursive: true, force: true });
});

const step = (spec: MountNamespaceSpec): MountStep => ({ op: 'mount-namespace', spec, staging });

/** Runs `script` under /bin/sh with the mount step (or none) and returns exit code and output. */
async function run(spec: MountNamespaceSpec | null, script: string, extra: Partial<LaunchPlan> = {}): Promise<{ code: number | undefined; out: string }> {
  const file = join(out, `o-${Math.random().toString(36).slice(2)}`);
  const l = await launcher.launch({
    path: '/bin/sh',
    argv: ['sh', '-c', `exec 2>&1; ${script}`],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    stdout: { path: file },
    ...(spec ? { steps: [step(spec)] } : {}),
    ...extra,
  });
  const exit = await l.exited;
  const text = readFileSync(file, 'utf8');
  rmSync(file, { force: true });
  return { code: 'code' in exit ? exit.code : undefined, out: text };
}

/** Runs the same probe with and without the spec: it must print `expectWith` inside and `expectWithout` outside. */
async function contrast(t: Test, spec: MountNamespaceSpec, probe: string, expectWith: string, expectWithout: string): Promise<void> {
  const inside = await run(spec, probe);
  t.equal(inside.out.trim(), expectWith, `with ${JSON.stringify(spec)}: ${probe}`);
  const outside = await run(null, probe);
  t.equal(outside.out.trim(), expectWithout, `without: ${probe}`);
}

const W = (p: string): string => `test -w ${p} && echo W || echo RO`;

t.test('mount table: systemd ordering, dedup and pruning', async (t) => {
  const tbl = buildMountTable(
    {
      protectSystem: 'strict',
      readWritePaths: ['-/var/lib/x', '/home/u'],
      readOnlyPaths: ['/usr', '/usr/lib'],
      inaccessiblePaths: ['/opt'],
      bindMounts: [{ source: '/srv', destination: '/opt/inner', readOnly: false, recursive: true, ignoreMissing: false }],
      privateDevices: true,
      mountApiVfs: true,
    },
    { resolveSymlinks: false },
  );
  const rows = tbl.map((e) => `${e.path} ${modeName(e.mode)}${e.ignore ? ' -' : ''}`);
  t.same(rows, [
    '/ readOnly',
    '/dev privateDev',
    '/home readWriteImplicit -',
    '/home/u readWrite',
    '/opt inaccessible',
    '/proc procfs',
    '/root readWriteImplicit -',
    '/run run',
    '/run/credentials inaccessible -',
    '/run/user readWriteImplicit -',
    '/sys sysfs',
    '/var/lib/x readWrite -',
  ]);
  // /usr and /usr/lib are made redundant by the read-only /, /opt/inner by the inaccessible /opt;
  // /dev and /proc keep the more restrictive mode of their duplicates.
  t.ok(comparePaths('/a', '/a-b') < 0 && comparePaths('/a/b', '/a-b') < 0, 'a parent sorts before its children');
  const root = buildMountTable({ rootDirectory: '/srv/r', readOnlyPaths: ['/usr', '+/usr', '/srv/r/etc'] }, { resolveSymlinks: false });
  t.same(
    root.filter((e) => e.mode === MODE.readOnly).map((e) => e.path),
    ['/etc', '/usr'],
    'with RootDirectory=, unprefixed paths outside the root are dropped, "+" paths are inside it',
  );
});

t.test('ProtectSystem=yes/full/strict', async (t) => {
  await contrast(t, { protectSystem: 'yes' }, `${W('/usr')}; ${W('/etc')}`, 'RO\nW', 'W\nW');
  await contrast(t, { protectSystem: 'full' }, `${W('/usr')}; ${W('/etc')}; ${W(scratch)}`, 'RO\nRO\nW', 'W\nW\nW');
  await contrast(
    t,
    { protectSystem: 'strict', readWritePaths: [`${scratch}/rw`, '-/i-dont-exist'] },
    `${W('/usr')}; ${W(scratch)}; ${W(`${scratch}/rw`)}; ${W('/proc/self/comm')}; ${W('/dev/null')}; touch ${scratch}/rw/f && echo wrote; rm -f ${scratch}/rw/f`,
    'RO\nRO\nW\nW\nW\nwrote',
    'W\nW\nW\nW\nW\nwrote',
  );
  // ProtectHome=tmpfs + ProtectSystem=strict (exec-protecthome-tmpfs-vs-protectsystem-strict).
  const r = await run({ protectHome: 'tmpfs', protectSystem: 'strict' }, 'stat -fc %T /home; stat -c %a /root; ls -A /root | wc -l');
  t.equal(r.out, 'tmpfs\n700\n0\n');
});

t.test('ProtectHome=', async (t) => {
  await contrast(t, { protectHome: 'yes' }, `cat ${rootProbe} || echo denied; stat -c %a /root`, `cat: ${rootProbe}: No such file or directory\ndenied\n0`, 'root-only\n700');
  await contrast(t, { protectHome: 'read-only' }, `cat ${rootProbe}; ${W('/root')}`, 'root-only\nRO', 'root-only\nW');
});

t.test('PrivateTmp=: per-service directories, shared by its commands', async (t) => {
  const unit = `sysg-mounts-${rand}.service`;
  const dirs = ensurePrivateTmp(unit);
  t.equal(ensurePrivateTmp(unit), dirs, 'one set per service');
  t.match(dirs.tmp, new RegExp(`^/tmp/systemd-private-[0-9a-f]{32}-${unit.replace('.', '\\.')}-.{6}/tmp$`));
  const spec = { privateTmp: { tmp: dirs.tmp, varTmp: dirs.varTmp } };
  // exec-privatetmp-yes / -no
  await contrast(t, spec, `test -f ${tmpProbe} && echo visible || echo hidden`, 'hidden', 'visible');
  // exec-basic: ExecStart= writes, a later command of the same service sees it.
  t.equal((await run(spec, 'touch /tmp/a /var/tmp/b && echo ok')).out, 'ok\n');
  t.equal((await run(spec, 'test -f /tmp/a && test -f /var/tmp/b && echo shared')).out, 'shared\n');
  t.notOk(existsSync('/tmp/a'), 'nothing landed in the host /tmp');
  t.ok(existsSync(join(dirs.tmp, 'a')), 'the file is in the private directory');
  removePrivateTmp(unit);
  t.notOk(existsSync(dirs.tmp) || existsSync(dirs.varTmp), 'removed at stop');
});

t.test('PrivateDevices=: a minimal /dev', async (t) => {
  const list = 'ls -A /dev | tr "\\n" " "; echo';
  const inside = await run({ privateDevices: true }, `${list}; test -e /dev/vda && echo disk || echo nodisk; test -e /dev/kmsg && echo kmsg || echo nokmsg; echo hi > /dev/null && echo null-ok; ${W('/dev')}; ${W('/dev/shm')}`);
  t.equal(
    inside.out,
    'char fd full hugepages log mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \nnodisk\nnokmsg\nnull-ok\nRO\nW\n',
  );
  const outside = await run(null, 'test -e /dev/vda && echo disk; test -e /dev/kmsg && echo kmsg');
  t.equal(outside.out, 'disk\nkmsg\n', 'the host /dev has them');
  // exec-privatedevices-bind: a bound device is there, /dev stays read-only.
  const bound = await run({ privateDevices: true, bindMounts: [{ source: '/dev/kmsg', destination: '/dev/kmsg', readOnly: false, recursive: true, ignoreMissing: false }] }, `test -c /dev/kmsg && echo kmsg; ${W('/dev/')}`);
  t.equal(bound.out, 'kmsg\nRO\n');
  // exec-readonlypaths: ReadOnlyPaths=/dev with PrivateDevices= makes /dev/shm read-only too.
  const ro = await run(
    { readOnlyPaths: ['/usr', '/etc', '/sys', '/dev', '-/i-dont-exist'], privateDevices: true },
    `${W('/usr')}; ${W('/etc')}; ${W('/sys')}; ${W('/sys/fs/cgroup')}; ${W('/dev')}; ${W('/dev/shm')}; test -e /i-dont-exist || echo absent; ${W(scratch)}`,
  );
  t.equal(ro.out, 'RO\nRO\nRO\nRO\nRO\nRO\nabsent\nW\n');
});

t.test('ProtectKernelTunables=, ProtectControlGroups=, ProtectKernelModules=, ProtectKernelLogs=', async (t) => {
  await contrast(t, { protectKernelTunables: true }, `${W('/proc/sys/kernel/hostname')}; ${W('/sys/kernel')}; ${W('/proc/self/comm')}`, 'RO\nRO\nW', 'W\nW\nW');
  await contrast(t, { protectControlGroups: true }, `${W('/sys/fs/cgroup')}; ${W('/sys/fs/cgroup/unified')}`, 'RO\nRO', 'W\nW');
  const modules = existsSync('/usr/lib/modules') ? '/usr/lib/modules' : undefined;
  if (modules) await contrast(t, { protectKernelModules: true }, `ls ${modules} >/dev/null 2>&1 && echo listed || echo denied`, 'denied', 'listed');
  await contrast(t, { protectKernelLogs: true }, 'head -c0 /dev/kmsg 2>/dev/null && echo open || echo denied', 'denied', 'open');
});

t.test('InaccessiblePaths=, ReadOnlyPaths=, ReadWritePaths=, NoExecPaths=, ExecPaths=', async (t) => {
  await contrast(t, { inaccessiblePaths: [`${scratch}/secret`] }, `cat ${scratch}/secret/file 2>/dev/null || echo denied; stat -c %a ${scratch}/secret`, 'denied\n0', 'secret\n755');
  // exec-inaccessiblepaths-sys
  t.equal((await run({ inaccessiblePaths: ['/sys'] }, 'stat -c %a /sys')).out, '0\n');
  // A file (root may read the empty 0000 node, but not the content) and a missing "-" path.
  await contrast(t, { inaccessiblePaths: [`${scratch}/secret/file`, '-/i-dont-exist'] }, `wc -c < ${scratch}/secret/file; stat -c %a ${scratch}/secret/file`, '0\n0', '7\n644');
  // ReadOnlyPaths= with a writable hole below it, and the reverse.
  await contrast(t, { readOnlyPaths: [scratch], readWritePaths: [`${scratch}/rw`] }, `${W(scratch)}; ${W(`${scratch}/rw`)}`, 'RO\nW', 'W\nW');
  // exec-noexecpaths-simple
  await contrast(t, { noExecPaths: ['/bin/cat'] }, '/bin/cat /dev/null 2>/dev/null && echo ran || echo blocked', 'blocked', 'ran');
  t.equal((await run({ noExecPaths: ['/'], execPaths: ['/bin', '/usr', '/lib', '/lib64'] }, '/bin/cat /dev/null && echo ran')).out, 'ran\n', 'ExecPaths= reopens below NoExecPaths=/');
});

t.test('BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem=', async (t) => {
  // exec-bindpaths (source /tmp, destinations below it: the host's /tmp is bound on itself inside)
  const b1 = `${scratch}/bindpaths`;
  const b2 = `${scratch}/bindreadonlypaths`;
  mkdirSync(b1);
  mkdirSync(b2);
  const binds: MountNamespaceSpec = {
    bindMounts: [
      { source: `${scratch}/rw`, destination: b1, readOnly: false, recursive: true, ignoreMissing: false },
      { source: `${scratch}/rw`, destination: b2, readOnly: true, recursive: true, ignoreMissing: false },
    ],
  };
  const r = await run(binds, `touch ${b1}/t && test -f ${scratch}/rw/t && test -f ${b2}/t && echo seen; touch ${b2}/t2 || echo ro; rm ${b1}/t`);
  t.equal(r.out, `seen\ntouch: cannot touch '${b2}/t2': Read-only file system\nro\n`);
  // exec-temporaryfilesystem-ro: only the bind mount points exist in a read-only tmpfs.
  const tfs = await run(
    {
      temporaryFileSystems: [{ path: `${scratch}/secret`, options: 'ro' }],
      bindMounts: [
        { source: `${scratch}/rw`, destination: `${scratch}/secret/x/rw`, readOnly: false, recursive: true, ignoreMissing: false },
        { source: `${scratch}/rw`, destination: `${scratch}/secret/x/ro`, readOnly: true, recursive: true, ignoreMissing: false },
      ],
    },
    `ls -A ${scratch}/secret; stat -c %a ${scratch}/secret; touch ${scratch}/secret/hoge 2>/dev/null || echo ro-tmpfs; touch ${scratch}/secret/x/rw/f && echo rw-bind; touch ${scratch}/secret/x/ro/f2 2>/dev/null || echo ro-bind; rm ${scratch}/rw/f`,
  );
  t.equal(tfs.out, 'x\n755\nro-tmpfs\nrw-bind\nro-bind\n');
  // exec-temporaryfilesystem-options: mode=700, ro, nodev, no strictatime in mountinfo.
  const opt = await run({ temporaryFileSystems: [{ path: `${scratch}/secret`, options: 'ro,mode=0700,nostrictatime' }] }, `awk '$5 == "${scratch}/secret" { print $6, $11 }' /proc/self/mountinfo`);
  t.match(opt.out, /^ro,nodev,relatime \S*mode=700/);
  t.notMatch(opt.out, /strictatime/);
  // exec-temporaryfilesystem-usr: a hollow /usr with a few binds keeps binaries working.
  const usr = await run(
    { temporaryFileSystems: [{ path: '/usr', options: 'ro' }], bindMounts: ['/usr/lib', '/usr/lib64', '/usr/bin', '/usr/sbin'].map((p) => ({ source: p, destination: p, readOnly: true, recursive: true, ignoreMissing: p === '/usr/lib64' })) },
    'ls -A /usr | tr "\\n" " "; echo; touch /usr/hoge 2>/dev/null || echo ro; touch /usr/bin/hoge 2>/dev/null || echo ro',
  );
  t.match(usr.out, /^(bin |lib |lib64 |sbin )+\nro\nro\n$/);
  // exec-umask-namespace: mount points created under UMask=0007 stay traversable (0755).
  const um = await run(
    { temporaryFileSystems: [{ path: `${scratch}/secret`, options: 'ro' }], bindMounts: [{ source: '/etc', destination: `${scratch}/secret/subdir/subsub`, readOnly: false, recursive: true, ignoreMissing: false }] },
    `stat -c %a ${scratch}/secret/subdir`,
    { umask: 0o007 },
  );
  t.equal(um.out, '755\n');
});

t.test('ProtectProc=, ProcSubset=', async (t) => {
  // hidepid=invisible hides other users' processes from an unprivileged user.
  const probe = 'setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "test -e /proc/1 && echo pid1-visible || echo pid1-hidden"';
  await contrast(t, { protectProc: 'invisible' }, probe, 'pid1-hidden', 'pid1-visible');
  await contrast(t, { procSubset: 'pid' }, 'test -e /proc/sys && echo sys || echo no-sys; test -e /proc/self/status && echo self', 'no-sys\nself', 'sys\nself');
  const mi = await run({ protectProc: 'noaccess', procSubset: 'pid' }, `awk '$5 == "/proc" { print $NF }' /proc/self/mountinfo | tail -1`);
  t.match(mi.out, /hidepid=noaccess/);
  t.match(mi.out, /subset=pid/);
});

t.test('RootDirectory= with and without MountAPIVFS= (exec-mount-apivfs-no)', async (t) => {
  const root = `${scratch}/root`;
  mkdirSync(root);
  const binds = ['/usr/bin', '/bin', '/lib', '/lib64', '/usr/lib']
    .filter((p) => existsSync(p))
    .map((p) => ({ source: p, destination: p, readOnly: true, recursive: true, ignoreMissing: false }));
  const noApi = await run({ rootDirectory: root, bindMounts: binds }, 'touch /aaa && test -f /aaa && echo in-root; test -e /proc/self && echo proc || echo no-proc');
  t.equal(noApi.out, 'in-root\nno-proc\n');
  t.ok(existsSync(`${root}/aaa`), 'the file landed in the root directory');
  const api = await run({ rootDirectory: root, bindMounts: binds, mountApiVfs: true }, 'test -e /proc/self/status && echo proc; test -c /dev/null && echo dev; test -d /sys/kernel && echo sys');
  t.equal(api.out, 'proc\ndev\nsys\n');
});

t.test('PrivateNetwork=: a fresh sysfs with the host submounts bound back', async (t) => {
  // exec-privatenetwork-yes-privatemounts-yes: /sys/class/net shows the service's network namespace.
  const probe = 'ls /sys/class/net | tr "\\n" " "; echo; test -d /sys/fs/cgroup/unified && echo cgroup';
  const net = { op: 'ns-unshare-net' } as const;
  const inside = await run(null, probe, { steps: [net, step({ privateNetwork: true })] });
  t.equal(inside.out, 'lo \ncgroup\n');
  // exec-privatenetwork-yes-privatemounts-no: without the new sysfs the host's interfaces still show.
  const stale = await run(null, probe, { steps: [net] });
  t.not(stale.out, 'lo \ncgroup\n');
  t.match(stale.out, /\blo\b/);
  // Same network namespace: the instance is already there (EBUSY is not an error).
  t.equal((await run({ privateNetwork: true }, 'echo ok')).out, 'ok\n');
});

t.test('a failure names the mount entry', async (t) => {
  const entries = buildMountTable({ readOnlyPaths: ['/usr'], protectHome: 'yes' }, { resolveSymlinks: false });
  failure.describe(entries);
  failure.reset();
  t.equal(describeMountFailure(), undefined, 'nothing recorded');
  const i = entries.findIndex((e) => e.path === '/usr');
  t.equal(failure.record(STAGE.apply, i, 2), 2);
  const f = describeMountFailure();
  t.equal(f?.entry?.what, 'ReadOnlyPaths=/usr');
  t.match(f?.message, /^ReadOnlyPaths=\/usr: mounting \/usr \(readOnly\) failed: ENOENT/);
  t.equal(describeMountFailure(), undefined, 'read once');
});

t.test('mount escape: mounts inside never reach the host', async (t) => {
  // A shared host mount: without a mount namespace, the service's mount below it would show up here.
  const shared = `${scratch}/shared`;
  mkdirSync(shared);
  const tmpfs = cString('tmpfs');
  t.equal(mount(tmpfs, cString(shared), tmpfs, 0, cString('size=1m')), 0);
  t.equal(mount(null, cString(shared), null, MS_SHARED, null), 0);
  t.teardown(() => void umount2(cString(shared), 2 /* MNT_DETACH */));
  const probe = `mkdir -p ${shared}/sub && mount -t tmpfs none ${shared}/sub && grep -c " ${shared}/sub " /proc/self/mountinfo`;
  t.equal((await run({ readOnlyPaths: ['-/i-dont-exist'] }, probe)).out, '1\n', 'mounted inside (exec-readonlypaths-mount-propagation)');
  t.notOk(mountPoints().includes(`${shared}/sub`), 'not propagated to the host');
  t.equal((await run({}, `${probe}; umount ${shared}/sub`)).out, '1\n', 'PrivateMounts=yes (an empty spec)');
  t.notOk(mountPoints().includes(`${shared}/sub`));
  // The same probe without a namespace is visible on the host.
  t.equal((await run(null, probe)).out, '1\n');
  t.ok(mountPoints().includes(`${shared}/sub`), 'the control mount reached the host');
  t.equal(umount2(cString(`${shared}/sub`), 0), 0);
});

t.test('failures exit 226/NAMESPACE; "-" ignores a missing path', async (t) => {
  let err: unknown;
  try {
    await run({ readOnlyPaths: ['/i-dont-exist'] }, 'echo started');
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof LaunchError, 'a missing ReadOnlyPaths= path fails the launch');
  t.equal((err as LaunchError).exitCode, 226);
  t.equal((err as LaunchError).step, 'mount-namespace');
  t.equal((await run({ readOnlyPaths: ['-/i-dont-exist'], inaccessiblePaths: ['-/i-dont-exist/either'], bindMounts: [{ source: '/i-dont-exist', destination: '/mnt/x', readOnly: false, recursive: true, ignoreMissing: true }] }, 'echo started')).out, 'started\n');
});

t.test('the plan fragment: exec directories stay writable under ProtectSystem=strict', async (t) => {
  const state = `${scratch}/state`;
  mkdirSync(`${scratch}/private/svc`, { recursive: true, mode: 0o700 });
  chmodSync(`${scratch}/private`, 0o700);
  mkdirSync(`${scratch}/private/other`);
  symlinkSync('private/svc', `${scratch}/svc`);
  mkdirSync(state);
  const svc = new ServiceView('svc', { sandbox: { protect_system: 'strict', protect_home: 'yes' } });
  const execDirectories: ExecDirectory[] = [
    { kind: 'state', hostPath: state, path: state },
    { kind: 'cache', hostPath: `${scratch}/private/svc`, path: `${scratch}/svc` },
  ];
  const ctx: BuildContext = {
    svc,
    command: { argv: ['/bin/sh'] },
    arch: ARCH,
    supervisorPrivileged: true,
    identity: undefined,
    sandbox: true,
    execDirectories,
    cgroupDirs: undefined,
    credentialsDirectory: undefined,
    warn: () => {},
  };
  const planned = mountsFragment.build(ctx);
  t.equal(planned.length, 1);
  t.equal(planned[0]!.field, 'sandbox.protect_system');
  const s = (planned[0]!.step as MountStep).spec;
  t.same(s.emptyDirectories, [`${scratch}/private`], 'DynamicUser=: the private/ boundary is overmounted');
  const r = await run(s, `${W(state)}; ${W(`${scratch}/svc/`)}; ${W(scratch)}; ${W('/usr')}; ls -A ${scratch}/private; stat -c %a ${scratch}/private`);
  t.equal(r.out, 'W\nW\nRO\nRO\nsvc\n755\n', "only the service's own directory shows through");
  t.same(mountsFragment.build({ ...ctx, sandbox: false }), [], '"+" commands get no namespace');
  t.same(mountsFragment.build({ ...ctx, svc: new ServiceView('svc', {}) }), [], 'nothing requested, no namespace');
});

t.test('the host mount table is unchanged', async (t) => {
  t.same(mountPoints(), hostMountsBefore);
});
