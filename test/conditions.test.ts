/**
 * Condition*=/Assert*= evaluation (src/supervise/conditions.ts): each check true and
 * false, trigger/negate semantics, strverscmp_improved(), and a cross-check against
 * systemd itself (`systemd-analyze condition`, `systemd-detect-virt`) where installed.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConditionContext, CONDITION_CHECKS, evaluateConditions, testCondition } from '../src/supervise/conditions.js';
import { strverscmpImproved, parseCompareOperator, versionOrFnmatchCompare } from '../src/supervise/conditions-compare.js';
import { detectContainer, detectVirtualization, detectVm, unameArchitecture } from '../src/supervise/conditions-virt.js';

const dir = mkdtempSync(join(tmpdir(), 'sysg-conditions-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// Fixtures
mkdirSync(join(dir, 'empty'));
mkdirSync(join(dir, 'hidden'));
writeFileSync(join(dir, 'hidden', '.dot'), '');
writeFileSync(join(dir, 'hidden', 'x.bak'), '');
writeFileSync(join(dir, 'hidden', 'y~'), '');
writeFileSync(join(dir, 'hidden', 'z.dpkg-old'), '');
mkdirSync(join(dir, 'dotonly'));
writeFileSync(join(dir, 'dotonly', '.dot'), '');
mkdirSync(join(dir, 'full'));
writeFileSync(join(dir, 'full', 'a'), '');
writeFileSync(join(dir, 'file'), 'data\n');
writeFileSync(join(dir, 'emptyfile'), '');
writeFileSync(join(dir, 'exe'), '#!/bin/sh\n');
chmodSync(join(dir, 'exe'), 0o755);
symlinkSync(join(dir, 'file'), join(dir, 'link'));
symlinkSync(join(dir, 'nonexistent'), join(dir, 'dangling'));
symlinkSync(join(dir, 'exe'), join(dir, 'exelink'));

const env: Record<string, string | undefined> = { PATH: '/usr/bin:/bin', FOO: 'bar', EMPTY: '' };
const ctx: ConditionContext = { managerEnv: env };
const withEnv = (extra: Record<string, string | undefined>): ConditionContext => ({ managerEnv: { ...env, ...extra } });

/** testCondition() or "error". */
function test(check: string, value: string, c: ConditionContext = ctx): boolean | 'error' {
  try {
    return testCondition(check, value, c);
  } catch {
    return 'error';
  }
}

t.test('the four KernelVersion= lines of exec-basic.service hold on this kernel', async (t) => {
  const lines = ['">=3.0"', '">=2.0" "<=60" "!=1.4"', '" >= 2.0" " <= 60 " "!= 1.4"', '" >= 2.0" " * " "*.*"'];
  const file = '/work/shared/conformance/systemd-test-execute/exec-basic.service';
  if (existsSync(file)) {
    const fromFile = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('ConditionKernelVersion='))
      .map((l) => l.slice('ConditionKernelVersion='.length));
    t.same(fromFile, lines, 'the lines as the unit file has them');
  }
  const r = evaluateConditions(
    lines.map((value) => ({ check: 'KernelVersion', value })),
    ctx,
  );
  t.equal(r.ok, true, r.notes.join('\n'));
  t.equal(r.notes.length, 4);
});

t.test('strverscmp_improved()', async (t) => {
  // The order of systemd's own comment (src/fundamental/string-util-fundamental.c), oldest first.
  const order = ['122.1', '123~rc1-1', '123', '123-a', '123-a.1', '123-1', '123-1.1', '123^post1', '123.a-1', '123.1-1', '123a-1', '124-1'];
  for (let i = 0; i < order.length; i++) {
    for (let j = 0; j < order.length; j++) {
      t.equal(strverscmpImproved(order[i]!, order[j]!), Math.sign(i - j), `${order[i]} vs ${order[j]}`);
    }
  }
  t.equal(strverscmpImproved('00123', '123'), 0, 'leading zeros');
  t.equal(strverscmpImproved('123_a', '123a'), 0, 'invalid characters are separators that vanish');
  t.equal(strverscmpImproved('', ''), 0);
  t.equal(strverscmpImproved('1', ''), 1);
  t.equal(strverscmpImproved('~1', ''), -1, '"~" is older than the end');
  t.equal(strverscmpImproved('5.11.0-0.rc5.20210128git76c057c84d28.137.fc34', '5.11.0-0.rc5.20210128git76c057c84d28.137.fc33'), 1);
  t.equal(strverscmpImproved('abc', 'abcde'), -1);
  t.equal(strverscmpImproved('6.18.44-fc-v782', '6.18.44-fc-v0782'), 0);
});

t.test('operators', async (t) => {
  t.same(parseCompareOperator('>=3', 0), { op: '>=', rest: '3' });
  t.same(parseCompareOperator('<>3', 0), { op: '!=', rest: '3' });
  t.same(parseCompareOperator('=3', 0), { op: '==', rest: '3' });
  t.same(parseCompareOperator('=3', 2), { op: 'string=', rest: '3' });
  t.equal(parseCompareOperator('$=3', 0), undefined, '$= needs COMPARE_ALLOW_FNMATCH');
  t.same(parseCompareOperator('!$=a*', 1), { op: 'fnmatch!=', rest: 'a*' });
  t.equal(parseCompareOperator('3', 0), undefined);
  t.equal(versionOrFnmatchCompare('fnmatch=', 'locaale', 'loc*le'), true);
  t.equal(versionOrFnmatchCompare('fnmatch!=', 'locaale', 'loc?le'), true);
  t.equal(versionOrFnmatchCompare('>', 'local512', 'local256'), true);
  t.equal(versionOrFnmatchCompare('<', 'local52', 'local256'), true);
  t.equal(versionOrFnmatchCompare('string=', 'locale', 'locale'), true);
  t.equal(versionOrFnmatchCompare('string!=', 'locale', 'LOCALE'), true);
});

t.test('KernelVersion', async (t) => {
  t.equal(test('KernelVersion', '>=3.0'), true);
  t.equal(test('KernelVersion', '<3.0'), false);
  t.equal(test('KernelVersion', '>= 3'), true, 'space after the operator, first expression');
  t.equal(test('KernelVersion', '*'), true, 'a bare glob');
  t.equal(test('KernelVersion', '0.*'), false);
  t.equal(test('KernelVersion', '>=3 >= 4'), 'error', 'a bare operator after the first expression');
  t.equal(test('KernelVersion', '>='), 'error');
  t.equal(test('KernelVersion', ''), true, 'no expression at all');
});

t.test('path checks', async (t) => {
  const p = (s: string): string => join(dir, s);
  const cases: [string, string, boolean][] = [
    ['PathExists', p('file'), true],
    ['PathExists', p('nonexistent'), false],
    ['PathExists', p('dangling'), false],
    ['PathExistsGlob', p('f*'), true],
    ['PathExistsGlob', p('{nothing,file}'), true],
    ['PathExistsGlob', p('q*'), false],
    ['PathExistsGlob', p('dotonly/*'), false],
    ['PathExistsGlob', p('dotonly/.*'), true],
    ['PathIsDirectory', dir, true],
    ['PathIsDirectory', p('file'), false],
    ['PathIsSymbolicLink', p('link'), true],
    ['PathIsSymbolicLink', p('file'), false],
    ['PathIsMountPoint', '/', true],
    ['PathIsMountPoint', dir, false],
    ['PathIsReadWrite', dir, true],
    ['PathIsReadWrite', p('nonexistent'), false],
    ['PathIsEncrypted', p('nonexistent'), false],
    ['DirectoryNotEmpty', p('full'), true],
    ['DirectoryNotEmpty', p('empty'), false],
    ['DirectoryNotEmpty', p('hidden'), false],
    ['DirectoryNotEmpty', p('file'), false],
    ['DirectoryNotEmpty', p('nonexistent'), false],
    ['FileNotEmpty', p('file'), true],
    ['FileNotEmpty', p('link'), true],
    ['FileNotEmpty', p('emptyfile'), false],
    ['FileNotEmpty', dir, false],
    ['FileIsExecutable', p('exe'), true],
    ['FileIsExecutable', p('exelink'), true],
    ['FileIsExecutable', p('file'), false],
    ['FileIsExecutable', dir, false],
  ];
  for (const [check, value, want] of cases) t.equal(test(check, value), want, `${check}=${value}`);
  t.equal(test('PathIsMountPoint', '/proc'), existsSync('/proc/self'), '/proc');
  t.equal(test('PathExists', '/file', { managerEnv: env, root: dir }), true, 'root prefixes the path');
});

t.test('NeedsUpdate', async (t) => {
  const root = join(dir, 'nu');
  mkdirSync(join(root, 'usr'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  const c: ConditionContext = { managerEnv: { ...env, SYSTEMD_PROC_CMDLINE: 'quiet', SYSTEMD_IN_INITRD: '0' }, root };
  t.equal(test('NeedsUpdate', '/etc', c), true, 'no .updated file');
  writeFileSync(join(root, 'etc', '.updated'), 'TIMESTAMP_NSEC=0\n');
  utimesSync(join(root, 'usr'), new Date(1_000_000_000), new Date(1_000_000_000));
  utimesSync(join(root, 'etc', '.updated'), new Date(2_000_000_000), new Date(2_000_000_000));
  t.equal(test('NeedsUpdate', '/etc', c), false, '.updated newer than /usr');
  utimesSync(join(root, 'usr'), new Date(3_000_000_000), new Date(3_000_000_000));
  t.equal(test('NeedsUpdate', '/etc', c), true, '/usr newer than .updated');
  const off: ConditionContext = { ...c, managerEnv: { ...c.managerEnv, SYSTEMD_PROC_CMDLINE: 'systemd.condition_needs_update=0' } };
  t.equal(test('NeedsUpdate', '/etc', off), false, 'systemd.condition_needs_update=0 on the kernel command line');
  t.equal(test('NeedsUpdate', '/etc', { ...c, managerEnv: { ...c.managerEnv, SYSTEMD_IN_INITRD: '1' } }), false, 'never in the initrd');
});

t.test('environment-driven checks', async (t) => {
  t.equal(test('Environment', 'FOO'), true);
  t.equal(test('Environment', 'FOO=bar'), true);
  t.equal(test('Environment', 'FOO=baz'), false);
  t.equal(test('Environment', 'FO'), false, 'a prefix of a name is not the name');
  t.equal(test('Environment', 'EMPTY'), true);
  t.equal(test('Environment', 'EMPTY='), true);
  t.equal(test('Environment', 'NOPE'), false);

  const cmdline = withEnv({ SYSTEMD_PROC_CMDLINE: 'quiet root=/dev/sda1 "rd.x=a b" systemd.log_level=debug' });
  t.equal(test('KernelCommandLine', 'quiet', cmdline), true);
  t.equal(test('KernelCommandLine', 'root', cmdline), true, 'a key matches key=value');
  t.equal(test('KernelCommandLine', 'root=/dev/sda1', cmdline), true);
  t.equal(test('KernelCommandLine', 'root=/dev/sda2', cmdline), false);
  t.equal(test('KernelCommandLine', 'rd.x=a b', cmdline), true, 'quotes are removed');
  t.equal(test('KernelCommandLine', 'splash', cmdline), false);

  t.equal(test('FirstBoot', 'yes', withEnv({ SYSTEMD_FIRST_BOOT: '1' })), true);
  t.equal(test('FirstBoot', 'no', withEnv({ SYSTEMD_FIRST_BOOT: '1' })), false);
  t.equal(test('FirstBoot', 'no', withEnv({ SYSTEMD_FIRST_BOOT: '0' })), true);
  t.equal(test('FirstBoot', 'maybe'), 'error');

  const creds = join(dir, 'creds');
  mkdirSync(creds);
  writeFileSync(join(creds, 'secret'), 'x');
  t.equal(test('Credential', 'secret', withEnv({ CREDENTIALS_DIRECTORY: creds })), true);
  t.equal(test('Credential', 'other', withEnv({ CREDENTIALS_DIRECTORY: creds })), false);
  t.equal(test('Credential', 'secret', withEnv({ ENCRYPTED_CREDENTIALS_DIRECTORY: creds })), true);
  t.equal(test('Credential', 'secret'), false, 'no credentials directory');
  t.equal(test('Credential', 'a:b', withEnv({ CREDENTIALS_DIRECTORY: creds })), false, 'invalid name');
  t.equal(test('Credential', 'secret', withEnv({ CREDENTIALS_DIRECTORY: 'relative' })), 'error');
});

t.test('files under root: os-release and machine-id', async (t) => {
  const root = join(dir, 'osroot');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39"\n');
  writeFileSync(join(root, 'etc', 'machine-id'), '0123456789abcdef0123456789abcdef\n');
  const c: ConditionContext = { managerEnv: env, root };
  const cases: [string, boolean | 'error'][] = [
    ['ID=fedora', true],
    ['ID=debian', false],
    ['ID!=debian', true],
    ['VERSION_ID>=38', true],
    ['VERSION_ID<38', false],
    ['VERSION_ID=39.0', false],
    ['VERSION_ID==39.0', false],
    ['VERSION_ID==039', true],
    ['ID$=fed*', true],
    ['ID!$=fed*', false],
    ['"PRETTY_NAME=Fedora Linux 39"', true],
    ['ID=fedora VERSION_ID=38', false],
    ['NOPE=', 'error'],
    ['NOPE=x', false],
    ['NOPE!=x', true],
    ['ID', 'error'],
    ['ID= fedora', 'error'],
    ['1D=x', 'error'],
  ];
  for (const [v, want] of cases) t.equal(test('OSRelease', v, c), want, `OSRelease=${v}`);
  t.equal(test('Host', '0123456789abcdef0123456789abcdef', c), true);
  t.equal(test('Host', '01234567-89AB-CDEF-0123-456789ABCDEF', c), true, 'UUID form, any case');
  t.equal(test('Host', 'fedcba9876543210fedcba9876543210', c), false);
  t.equal(test('Host', hostname().toUpperCase()), true, 'host name, case-insensitively');
  t.equal(test('Host', '*'), true, 'a glob');
  t.equal(test('Host', 'no-such-host-name-x'), false);
});

t.test('identity, capabilities, architecture', async (t) => {
  const uid = process.getuid!();
  const gid = process.getgid!();
  t.equal(test('User', String(uid)), true);
  t.equal(test('User', String(uid + 1)), false);
  t.equal(test('User', 'root'), uid === 0);
  t.equal(test('User', '@system'), uid <= 999);
  t.equal(test('User', 'no-such-user-x'), false);
  t.equal(test('Group', String(gid)), true);
  t.equal(test('Group', 'no-such-group-x'), false);
  t.equal(test('Group', '@system'), false, 'Group= has no @system');

  const bnd = BigInt('0x' + /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  t.equal(test('Capability', 'CAP_CHOWN'), (bnd & 1n) === 1n);
  t.equal(test('Capability', 'cap_chown'), (bnd & 1n) === 1n);
  t.equal(test('Capability', '62'), false, 'no kernel has 62 capabilities');
  t.equal(test('Capability', 'cap_foo'), 'error');

  t.equal(test('Architecture', 'native'), true);
  t.equal(test('Architecture', unameArchitecture()!), true);
  t.equal(test('Architecture', unameArchitecture() === 'x86' ? 'arm64' : 'x86'), false);
  t.equal(test('Architecture', 'foo'), false, 'an unknown architecture is not ours');
});

t.test('system checks: both verdicts', async (t) => {
  const v = detectVirtualization(env);
  t.equal(test('Virtualization', 'yes'), v.kind !== 'none');
  t.equal(test('Virtualization', 'no'), v.kind === 'none');
  t.equal(test('Virtualization', 'vm'), v.kind === 'vm');
  t.equal(test('Virtualization', 'container'), v.kind === 'container');
  t.equal(test('Virtualization', v.id), v.kind !== 'none', 'its own id');
  t.equal(test('Virtualization', 'no-such-virt'), false);

  t.not(test('ACPower', 'true'), test('ACPower', 'false'));
  t.equal(test('ACPower', 'maybe'), 'error');
  t.not(test('ControlGroupController', 'v1'), test('ControlGroupController', 'v2'));
  t.equal(test('ControlGroupController', 'no-such-controller'), true, 'nothing known to check: systemd lets it pass');

  t.equal(test('CPUs', '>=1'), true);
  t.equal(test('CPUs', '1000000'), false, 'no operator means >=');
  t.equal(test('CPUs', '<1'), false);
  t.equal(test('CPUs', 'many'), 'error');
  t.equal(test('Memory', '>=1'), true);
  t.equal(test('Memory', '1E'), false);
  t.equal(test('Memory', '<4K'), false);
  t.equal(test('Memory', '1X'), 'error');

  t.equal(test('CPUFeature', 'no_such_flag'), false);
  if (unameArchitecture() === 'x86-64') t.equal(test('CPUFeature', 'SSE2'), true, 'x86-64 always has sse2 (names are lowercased)');

  t.equal(test('Security', 'no-such-framework'), false);
  for (const f of ['selinux', 'apparmor', 'smack', 'audit', 'ima', 'tomoyo', 'uefi-secureboot', 'tpm2', 'cvm', 'measured-uki']) {
    t.type(test('Security', f), 'boolean', `Security=${f} is never an error`);
  }

  t.equal(test('Firmware', 'no-such-firmware'), false);
  t.equal(test('Firmware', 'device-tree-compatible(no-such-board)'), false);
  t.equal(test('Firmware', 'smbios-field(no_such_field = x)'), false);
  t.equal(test('Firmware', 'smbios-field(malformed'), 'error');

  for (const check of ['MemoryPressure', 'CPUPressure', 'IOPressure']) {
    t.equal(test(check, '100%'), true, `${check}=100%`);
    t.equal(test(check, 'lots'), 'error', `${check}=lots`);
    t.equal(test(check, '10%/1hour'), 'error', `${check}=10%/1hour`);
  }
});

t.test('trigger and negation semantics', async (t) => {
  const e = (value: string, flags: { negate?: boolean; trigger?: boolean } = {}): Record<string, unknown> => ({ check: 'Environment', value, ...flags });
  t.same(evaluateConditions([], ctx), { ok: true, notes: [] }, 'an empty list holds');
  t.equal(evaluateConditions([e('FOO'), e('PATH')], ctx).ok, true, 'all hold');

  const r1 = evaluateConditions([e('NOPE'), e('FOO')], ctx);
  t.equal(r1.ok, false);
  t.same(r1.failed, { check: 'Environment', value: 'NOPE', reason: 'condition not met' });
  t.equal(r1.notes.length, 1, 'evaluation stops at the first failing non-trigger condition');

  t.equal(evaluateConditions([e('NOPE', { negate: true })], ctx).ok, true, '!absent holds');
  t.equal(evaluateConditions([e('FOO', { negate: true })], ctx).ok, false, '!present fails');

  t.equal(evaluateConditions([e('NOPE', { trigger: true }), e('FOO', { trigger: true })], ctx).ok, true, 'one trigger suffices');
  const r2 = evaluateConditions([e('NOPE', { trigger: true }), e('NADA', { trigger: true })], ctx);
  t.equal(r2.ok, false, 'no trigger holds');
  t.equal(r2.failed?.reason, 'none of the triggering (|) conditions holds');
  t.equal(r2.failed?.value, 'NOPE');
  t.equal(evaluateConditions([e('NOPE', { trigger: true }), e('FOO')], ctx).ok, false, 'non-trigger holds, the only trigger does not');
  t.equal(evaluateConditions([e('FOO', { trigger: true }), e('NOPE')], ctx).ok, false, 'a trigger holds, a non-trigger does not');
  t.equal(evaluateConditions([e('NOPE', { trigger: true, negate: true }), e('FOO')], ctx).ok, true, '|! combined');
  t.equal(evaluateConditions([e('FOO', { trigger: true, negate: true }), e('NOPE', { trigger: true, negate: true })], ctx).ok, true);

  // A check that cannot be evaluated fails, negated or not, trigger or not.
  const bad = { check: 'CPUs', value: 'many' };
  t.equal(evaluateConditions([bad], ctx).ok, false);
  const r3 = evaluateConditions([{ ...bad, negate: true }], ctx);
  t.equal(r3.ok, false, 'negation does not rescue an error');
  t.match(r3.failed?.reason, /could not be evaluated/);
  t.match(r3.notes[0], /^Couldn't determine result for CPUs=!many, assuming failed/);
  t.equal(evaluateConditions([{ ...bad, negate: true, trigger: true }, e('FOO', { trigger: true })], ctx).ok, true, 'another trigger can still hold');

  t.same(evaluateConditions([e('FOO'), e('PATH', { trigger: true })], ctx).notes, ['Environment=FOO succeeded.', 'Environment=|PATH succeeded.']);
  t.equal(evaluateConditions([{ check: 'ConditionEnvironment', value: 'FOO' }], ctx).ok, true, 'the Condition prefix is accepted');
  t.equal(evaluateConditions([{ check: 'AssertEnvironment', value: 'NOPE' }], ctx).ok, false, 'the Assert prefix is accepted');
});

t.test('unknown and malformed entries', async (t) => {
  const r = evaluateConditions([{ check: 'Environment', value: 'NOPE' }, { check: 'NoSuchCheck', value: 'x' }], ctx);
  t.same(r, { ok: false, failed: { check: 'NoSuchCheck', value: 'x', reason: 'unknown condition' }, notes: [] }, 'a load error: nothing is evaluated');
  t.equal(evaluateConditions([{ check: 'Environment' }], ctx).failed?.reason, 'malformed condition entry');
  t.equal(evaluateConditions(['Environment=FOO'], ctx).failed?.reason, 'malformed condition entry');
  t.equal(evaluateConditions([null], ctx).ok, false);
  t.ok(CONDITION_CHECKS.includes('KernelVersion') && CONDITION_CHECKS.length === 33, 'every Condition*= of systemd v255');
});

// ---------------------------------------------------------------------------------------------
// systemd as the oracle

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyze = analyze.error || analyze.status !== 0 ? 'systemd-analyze is not installed' : false;

function oracle(...conditions: string[]): boolean | undefined {
  const r = spawnSync('systemd-analyze', ['condition', ...conditions], { encoding: 'utf8', env: process.env as NodeJS.ProcessEnv });
  return r.status === 0 ? true : r.status === 1 ? false : undefined;
}

/** "ConditionX=|!value" → a model entry. */
function entry(line: string): Record<string, unknown> {
  const m = /^Condition([A-Za-z]+)=(.*)$/.exec(line)!;
  let v = m[2]!;
  const out: Record<string, unknown> = { check: m[1] };
  if (v.startsWith('|')) {
    out['trigger'] = true;
    v = v.slice(1).trimStart();
  }
  if (v.startsWith('!')) {
    out['negate'] = true;
    v = v.slice(1).trimStart();
  }
  out['value'] = v;
  return out;
}

t.test('systemd-analyze condition agrees', { skip: noAnalyze }, async (t) => {
  const p = (s: string): string => join(dir, s);
  const machineId = (readFileSync('/etc/machine-id', 'utf8').trim() || '0'.repeat(32)) as string;
  const cmdline = existsSync('/proc/1/cmdline') ? readFileSync('/proc/1/cmdline', 'latin1').split('\0')[0]! : 'quiet';
  const kcmd = readFileSync('/proc/cmdline', 'latin1').trim().split(/\s+/)[0] ?? 'quiet';
  const v = detectVirtualization(process.env);
  const cases = [
    'ConditionKernelVersion=>=3.0',
    'ConditionKernelVersion=">=2.0" "<=60" "!=1.4"',
    'ConditionKernelVersion=" >= 2.0" " <= 60 " "!= 1.4"',
    'ConditionKernelVersion=" >= 2.0" " * " "*.*"',
    'ConditionKernelVersion=<3.0',
    'ConditionKernelVersion=!<3.0',
    'ConditionKernelVersion=0.*',
    'ConditionKernelVersion=>= 3',
    'ConditionKernelVersion=* >= 3',
    'ConditionKernelVersion=$=*.*',
    'ConditionKernelVersion=!$=*.*',
    'ConditionKernelVersion=>=',
    'ConditionKernelVersion=[',
    'ConditionKernelVersion==1.0',
    'ConditionKernelVersion=!=1.0',
    'ConditionKernelVersion=<>1.0',
    'ConditionKernelVersion=>1.0~rc1',
    `ConditionPathExists=${p('file')}`,
    `ConditionPathExists=${p('nonexistent')}`,
    `ConditionPathExists=!${p('nonexistent')}`,
    `ConditionPathExists=${p('dangling')}`,
    `ConditionPathExistsGlob=${p('f*')}`,
    `ConditionPathExistsGlob=${p('q*')}`,
    `ConditionPathExistsGlob=${p('{x,file}')}`,
    `ConditionPathExistsGlob=${p('hidden/*')}`,
    `ConditionPathExistsGlob=${p('dotonly/*')}`,
    `ConditionPathIsDirectory=${dir}`,
    `ConditionPathIsDirectory=${p('file')}`,
    `ConditionPathIsSymbolicLink=${p('link')}`,
    `ConditionPathIsSymbolicLink=${p('file')}`,
    'ConditionPathIsMountPoint=/',
    'ConditionPathIsMountPoint=/proc',
    'ConditionPathIsMountPoint=/sys/fs/cgroup',
    `ConditionPathIsMountPoint=${dir}`,
    `ConditionPathIsMountPoint=${p('nonexistent')}`,
    `ConditionPathIsReadWrite=${dir}`,
    'ConditionPathIsReadWrite=/proc/sys',
    'ConditionPathIsReadWrite=/sys',
    `ConditionPathIsReadWrite=${p('nonexistent')}`,
    `ConditionPathIsReadWrite=!${p('nonexistent')}`,
    'ConditionPathIsEncrypted=/',
    `ConditionDirectoryNotEmpty=${p('full')}`,
    `ConditionDirectoryNotEmpty=${p('empty')}`,
    `ConditionDirectoryNotEmpty=${p('hidden')}`,
    `ConditionDirectoryNotEmpty=${p('file')}`,
    `ConditionFileNotEmpty=${p('file')}`,
    `ConditionFileNotEmpty=${p('emptyfile')}`,
    `ConditionFileNotEmpty=${p('link')}`,
    `ConditionFileIsExecutable=${p('exe')}`,
    `ConditionFileIsExecutable=${p('file')}`,
    `ConditionKernelCommandLine=${cmdline}`,
    `ConditionKernelCommandLine=${kcmd}`,
    'ConditionKernelCommandLine=no_such_word_x',
    'ConditionVirtualization=yes',
    'ConditionVirtualization=no',
    'ConditionVirtualization=vm',
    'ConditionVirtualization=container',
    `ConditionVirtualization=${v.id}`,
    'ConditionVirtualization=docker',
    'ConditionVirtualization=kvm',
    'ConditionVirtualization=private-users',
    'ConditionVirtualization=!private-users',
    'ConditionEnvironment=PATH',
    'ConditionEnvironment=NO_SUCH_VARIABLE_X',
    'ConditionEnvironment=!NO_SUCH_VARIABLE_X',
    'ConditionUser=root',
    'ConditionUser=0',
    'ConditionUser=@system',
    'ConditionUser=nobody',
    'ConditionUser=daemon',
    'ConditionUser=no-such-user-x',
    'ConditionGroup=root',
    'ConditionGroup=0',
    'ConditionGroup=daemon',
    'ConditionGroup=no-such-group-x',
    'ConditionArchitecture=native',
    `ConditionArchitecture=${unameArchitecture()}`,
    'ConditionArchitecture=x86',
    'ConditionArchitecture=arm64',
    'ConditionArchitecture=foo',
    'ConditionArchitecture=!foo',
    `ConditionHost=${machineId}`,
    `ConditionHost=${machineId.toUpperCase()}`,
    'ConditionHost=00000000000000000000000000000001',
    `ConditionHost=${hostname()}`,
    'ConditionHost=*',
    'ConditionHost=no-such-host-x',
    'ConditionFirstBoot=yes',
    'ConditionFirstBoot=no',
    'ConditionFirstBoot=maybe',
    'ConditionNeedsUpdate=/etc',
    'ConditionNeedsUpdate=/var',
    'ConditionACPower=true',
    'ConditionACPower=false',
    'ConditionACPower=foo',
    'ConditionCPUs=>1',
    'ConditionCPUs=1',
    'ConditionCPUs=<2',
    'ConditionCPUs=!=1',
    'ConditionCPUs=>100000',
    'ConditionCPUs=foo',
    'ConditionMemory=>1G',
    'ConditionMemory=<1G',
    'ConditionMemory=1.5G',
    'ConditionMemory=>1000T',
    'ConditionMemory=foo',
    'ConditionCPUFeature=pclmul',
    'ConditionCPUFeature=PCLMUL',
    'ConditionCPUFeature=pclmulqdq',
    'ConditionCPUFeature=fma3',
    'ConditionCPUFeature=osxsave',
    'ConditionCPUFeature=monitor',
    'ConditionCPUFeature=sse4_2',
    'ConditionCPUFeature=avx2',
    'ConditionCPUFeature=sha_ni',
    'ConditionCPUFeature=constant_tsc',
    'ConditionCPUFeature=avx512f',
    'ConditionCPUFeature=hypervisor',
    'ConditionOSRelease=ID=debian',
    'ConditionOSRelease=ID!=debian',
    'ConditionOSRelease=ID$=*',
    'ConditionOSRelease=VERSION_ID>1',
    'ConditionOSRelease=VERSION_ID<1',
    'ConditionOSRelease=NOSUCHKEY=',
    'ConditionOSRelease=NOSUCHKEY!=x',
    'ConditionOSRelease=ID',
    'ConditionOSRelease=ID= x',
    'ConditionCapability=CAP_SYS_ADMIN',
    'ConditionCapability=cap_chown',
    'ConditionCapability=CAP_MAC_ADMIN',
    'ConditionCapability=40',
    'ConditionCapability=62',
    'ConditionCapability=cap_foo',
    'ConditionCapability=!cap_foo',
    'ConditionSecurity=selinux',
    'ConditionSecurity=apparmor',
    'ConditionSecurity=smack',
    'ConditionSecurity=audit',
    'ConditionSecurity=ima',
    'ConditionSecurity=tomoyo',
    'ConditionSecurity=uefi-secureboot',
    'ConditionSecurity=tpm2',
    'ConditionSecurity=cvm',
    'ConditionSecurity=foo',
    'ConditionSecurity=!foo',
    'ConditionControlGroupController=v1',
    'ConditionControlGroupController=v2',
    'ConditionControlGroupController=memory',
    'ConditionControlGroupController=cpu',
    'ConditionControlGroupController=cpuacct',
    'ConditionControlGroupController=io',
    'ConditionControlGroupController=blkio',
    'ConditionControlGroupController=pids devices',
    'ConditionControlGroupController=foo',
    'ConditionControlGroupController=bpf-firewall',
    'ConditionCredential=foo',
    'ConditionCredential=!foo',
    'ConditionFirmware=uefi',
    'ConditionFirmware=device-tree',
    'ConditionFirmware=device-tree-compatible(foo)',
    'ConditionFirmware=smbios-field(sys_vendor $= *)',
    'ConditionFirmware=smbios-field(foo)',
    'ConditionFirmware=foo',
    'ConditionMemoryPressure=100%',
    'ConditionMemoryPressure=!100%',
    'ConditionMemoryPressure=100%/10sec',
    'ConditionMemoryPressure=10%/5hour',
    'ConditionMemoryPressure=foo',
    'ConditionCPUPressure=100%/1min',
    'ConditionIOPressure=100%',
    'ConditionIOPressure=-.slice:100%',
  ];
  for (const line of cases) {
    const want = oracle(line);
    if (want === undefined) {
      t.fail(`systemd-analyze condition '${line}' did not answer yes or no`);
      continue;
    }
    const r = evaluateConditions([entry(line)], { managerEnv: process.env });
    t.equal(r.ok, want, line, { notes: r.notes });
  }

  // Lists: triggers and negations together.
  const lists = [
    ['ConditionEnvironment=|NO_SUCH_X', 'ConditionEnvironment=|PATH'],
    ['ConditionEnvironment=|NO_SUCH_X', 'ConditionEnvironment=|NO_SUCH_Y'],
    ['ConditionEnvironment=|NO_SUCH_X', 'ConditionEnvironment=PATH'],
    ['ConditionEnvironment=|!NO_SUCH_X', 'ConditionEnvironment=PATH'],
    ['ConditionKernelVersion=|<1', 'ConditionCPUs=|>=1', 'ConditionArchitecture=native'],
    ['ConditionCapability=|!cap_foo', 'ConditionEnvironment=|PATH'],
    ['ConditionCapability=|!cap_foo'],
    ['ConditionEnvironment=!PATH', 'ConditionEnvironment=|PATH'],
  ];
  for (const list of lists) {
    const want = oracle(...list);
    const r = evaluateConditions(list.map(entry), { managerEnv: process.env });
    t.equal(r.ok, want, list.join(' '), { notes: r.notes });
  }
});

t.test('systemd-detect-virt agrees', { skip: spawnSync('systemd-detect-virt', ['--help']).error ? 'systemd-detect-virt is not installed' : false }, async (t) => {
  const run = (...args: string[]): string => spawnSync('systemd-detect-virt', args, { encoding: 'utf8' }).stdout.trim();
  t.equal(detectVirtualization(process.env).id, run(), 'systemd-detect-virt');
  t.equal(detectContainer(process.env), run('--container'), 'systemd-detect-virt --container');
  t.equal(detectVm(), run('--vm'), 'systemd-detect-virt --vm');
});
