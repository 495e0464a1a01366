import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lexUnitText } from '../src/unit/ini.js';
import { ValueError } from '../src/unit/diagnostics.js';
import {
  SYSCALL_ARCHES,
  applySyscallArchitectures,
  applySyscallFilter,
  applySyscallLog,
  isKnownSyscall,
  parseSyscallArchitectures,
  parseSyscallErrorNumber,
  parseSyscallFilter,
  parseSyscallLog,
  resolveSyscallFilter,
  resolveSyscallLog,
  restrictSyscallArchitectures,
  syscallName,
  syscallNames,
  syscallNumber,
  type ResolvedSyscallFilter,
  type SeccompAction,
  type SyscallErrnoAction,
  type SyscallFilterState,
} from '../src/unit/values/syscalls.js';
import { SYSCALL_GROUPS, expandSyscallGroup } from '../src/unit/values/syscall-groups.js';
import {
  addressFamilyFromName,
  addressFamilyName,
  addressFamilyPolicy,
  applyRestrictAddressFamilies,
  parseRestrictAddressFamilies,
  type AddressFamiliesState,
} from '../src/unit/values/families.js';
import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  NAMESPACE_FLAGS_ALL,
  applyRestrictNamespaces,
  namespaceFlagsToString,
  parseRestrictNamespaces,
  restrictedNamespaceTypes,
} from '../src/unit/values/namespaces.js';

const CONFORMANCE = '/work/shared/conformance/systemd-test-execute';
const SECTIONS = { sections: ['Unit', 'Service', 'Install'] };

function values(unit: string, key: string): string[] {
  const path = join(CONFORMANCE, unit);
  const r = lexUnitText(path, readFileSync(path, 'utf8'), SECTIONS);
  return r.assignments.filter((a) => a.section === 'Service' && a.key === key).map((a) => a.value);
}

function filterOf(lines: readonly string[]): { state: SyscallFilterState | undefined; warnings: string[] } {
  let state: SyscallFilterState | undefined;
  const warnings: string[] = [];
  for (const l of lines) {
    const p = l === '' ? undefined : parseSyscallFilter(l);
    if (p) warnings.push(...p.warnings);
    state = applySyscallFilter(state, p, l === '');
  }
  return { state, warnings };
}

/** SystemCallFilter= + SystemCallErrorNumber= of a test-execute unit, resolved for x86-64. */
function unitFilter(unit: string): { resolved: ResolvedSyscallFilter | undefined; warnings: string[] } {
  const { state, warnings } = filterOf(values(unit, 'SystemCallFilter'));
  let errno: SyscallErrnoAction = 'kill';
  for (const v of values(unit, 'SystemCallErrorNumber')) errno = parseSyscallErrorNumber(v);
  return { resolved: resolveSyscallFilter(state, 'x86-64', errno), warnings };
}

const nr = (name: string): number => syscallNumber(name, 'x86-64')!;
const ALLOW: SeccompAction = { kind: 'allow' };
const KILL: SeccompAction = { kind: 'kill' };
const errno = (e: number): SeccompAction => ({ kind: 'errno', errno: e });

t.test('syscall numbers from the kernel headers', async (t) => {
  t.equal(syscallNumber('mount', 'x86-64'), 165);
  t.equal(syscallNumber('reboot', 'x86-64'), 169);
  t.equal(syscallNumber('seccomp', 'x86-64'), 317);
  t.equal(syscallNumber('read', 'x86-64'), 0);
  t.equal(syscallNumber('fchmodat2', 'x86-64'), 452, 'post-6.1 supplement');
  t.equal(syscallName(59, 'x86-64'), 'execve');
  t.equal(syscallNumber('mount', 'arm64'), 40);
  t.equal(syscallNumber('reboot', 'arm64'), 142);
  t.equal(syscallNumber('seccomp', 'arm64'), 277);
  t.equal(syscallNumber('renameat', 'arm64'), 38, '__ARCH_WANT_RENAMEAT');
  t.equal(syscallNumber('newfstatat', 'arm64'), 79, '__ARCH_WANT_NEW_STAT');
  t.equal(syscallNumber('fstat', 'arm64'), 80);
  t.equal(syscallNumber('getrlimit', 'arm64'), 163, '__ARCH_WANT_SET_GET_RLIMIT');
  t.equal(syscallNumber('sync_file_range', 'arm64'), 84);
  t.equal(syscallNumber('sync_file_range2', 'arm64'), undefined);
  t.equal(syscallNumber('clone3', 'arm64'), 435);
  t.equal(syscallNumber('memfd_secret', 'arm64'), 447);
  for (const n of ['open', 'stat', 'lstat', 'fork', 'access', 'pipe', 'poll', 'select', 'dup2', 'rename', 'mkdir'])
    t.equal(syscallNumber(n, 'arm64'), undefined, `arm64 has no ${n}`);
  t.equal(syscallNumber('mount', 'x86'), 21);
  t.equal(syscallNumber('socketcall', 'x86'), 102);
  t.equal(syscallNumber('read', 'x32'), 0x40000000);
  t.equal(syscallNumber('execve', 'x32'), 0x40000000 + 520, 'x32 has its own execve');
  for (const arch of SYSCALL_ARCHES) {
    const names = syscallNames(arch);
    t.equal(new Set(names.map((n) => syscallNumber(n, arch))).size, names.length, `${arch}: numbers are unique`);
  }
  t.ok(isKnownSyscall('chown32'), 'names of other architectures are known');
  t.notOk(isKnownSyscall('fexecve'));
  t.notOk(isKnownSyscall('constructor'));
});

t.test('@groups of systemd v255', async (t) => {
  t.equal(SYSCALL_GROUPS.size, 30);
  t.same([...SYSCALL_GROUPS.keys()].slice(0, 2), ['@default', '@aio']);
  t.equal([...SYSCALL_GROUPS.keys()].at(-1), '@known');
  const mount = expandSyscallGroup('@mount')!;
  for (const n of ['mount', 'umount2', 'pivot_root', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr'])
    t.ok(mount.includes(n), `@mount has ${n}`);
  const service = new Set(expandSyscallGroup('@system-service'));
  for (const n of ['read', 'write', 'openat', 'execve', 'exit_group', 'uname', 'ioctl', 'socket', 'clone', 'setuid', 'fchmodat2', 'rt_sigaction'])
    t.ok(service.has(n), `@system-service has ${n}`);
  for (const n of ['reboot', 'mount', 'ptrace', 'init_module', 'swapon', 'settimeofday', 'ioperm', 'seccomp', 'landlock_create_ruleset', 'bpf'])
    t.notOk(service.has(n), `@system-service lacks ${n}`);
  const privileged = new Set(expandSyscallGroup('@privileged'));
  for (const n of ['chown', 'settimeofday', 'init_module', 'ioperm', 'reboot', 'swapon', 'capset', 'quotactl_fd']) t.ok(privileged.has(n), n);
  t.same(expandSyscallGroup('@sandbox'), ['landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self', 'seccomp']);
  const known = new Set(expandSyscallGroup('@known'));
  t.ok(known.has('tuxcall') && known.has('openat') && known.has('fchmodat2'));
  t.equal(expandSyscallGroup('@bogus'), undefined);
  // Every syscall a group names on x86-64 resolves, or is one x86-64 does not have.
  for (const [name, g] of SYSCALL_GROUPS)
    for (const m of g.members) t.ok(m.startsWith('@') ? SYSCALL_GROUPS.has(m) : isKnownSyscall(m), `${name}: ${m}`);
});

t.test('parseSyscallFilter(): entries, errno suffixes and systemd warnings', async (t) => {
  t.same(parseSyscallFilter('~mount:EPERM reboot uname:kill'), {
    invert: true,
    entries: [{ name: 'mount', errno: 1 }, { name: 'reboot' }, { name: 'uname', errno: 'kill' }],
    warnings: [],
  });
  t.same(parseSyscallFilter('read uname:EPERM @bogus fexecve @basic-io').warnings, [
    'Allow-listed system calls cannot take error number, ignoring: uname:EPERM',
    'Unknown system call group, ignoring: @bogus',
    'Failed to parse system call, ignoring: fexecve',
  ]);
  t.same(parseSyscallFilter('read @basic-io').entries, [{ name: 'read' }, { name: '@basic-io' }]);
  t.same(parseSyscallFilter('~uname:EBOGUS uname: :EPERM uname:0').warnings, [
    'Failed to parse syscall:errno, ignoring: uname:EBOGUS',
    'Failed to parse syscall:errno, ignoring: uname:',
    'Failed to parse syscall:errno, ignoring: :EPERM',
  ]);
  t.same(parseSyscallFilter('~uname:0').entries, [{ name: 'uname', errno: 0 }], 'errno 0 is allowed per syscall');
  t.same(parseSyscallFilter('~"uname"').warnings, ['Failed to parse system call, ignoring: "uname"'], 'no unquoting');
});

t.test('allow-list: implicit @default, later ~ line removes, ~name:ERRNO adds with errno', async (t) => {
  const { state } = filterOf(['read write uname', '~write uname:EPERM']);
  t.equal(state!.allowList, true);
  t.ok(state!.syscalls.has('execve') && state!.syscalls.has('exit_group'), '@default added by the first allow line');
  t.notOk(state!.syscalls.has('write'));
  t.equal(state!.syscalls.get('uname'), 1);
  const r = resolveSyscallFilter(state, 'x86-64')!;
  t.same(r.defaultAction, KILL);
  t.same(r.syscalls.get(nr('read')), ALLOW);
  t.same(r.syscalls.get(nr('uname')), errno(1));
  t.equal(r.syscalls.get(nr('write')), undefined);
  const deny = filterOf(['~read', 'uname']).state!;
  t.equal(deny.allowList, false);
  t.notOk(deny.syscalls.has('execve'), 'no @default for deny-lists');
  t.same([...deny.syscalls.keys()], ['read'], 'a plain line in deny mode only removes');
  t.equal(filterOf(['uname', '']).state, undefined, 'empty assignment resets');
  const tilde = filterOf(['~']).state!;
  t.same({ allowList: tilde.allowList, size: tilde.syscalls.size }, { allowList: false, size: 0 });
  t.equal(resolveSyscallFilter(tilde, 'x86-64'), undefined, 'an empty deny-list installs no filter');
  t.equal(filterOf(['~', 'uname']).state!.allowList, false, '"~" alone already fixed the mode');
});

t.test('deny-list with :EPERM and SystemCallErrorNumber=', async (t) => {
  const { state } = filterOf(['~@mount:EPERM reboot', '~uname:EACCES uname:EILSEQ']);
  const r = resolveSyscallFilter(state, 'x86-64', parseSyscallErrorNumber('ENOSYS'))!;
  t.same(r.defaultAction, ALLOW);
  t.same(r.syscalls.get(165), errno(1), 'mount via @mount:EPERM');
  t.same(r.syscalls.get(nr('pivot_root')), errno(1));
  t.same(r.syscalls.get(169), errno(38), 'reboot gets SystemCallErrorNumber=');
  t.same(r.syscalls.get(nr('uname')), errno(84), 'last errno wins');
  const arm = resolveSyscallFilter(state, 'arm64')!;
  t.same(arm.syscalls.get(40), errno(1), 'resolved per architecture: arm64 mount = 40');
  t.equal(arm.syscalls.size, r.syscalls.size, 'neither has umount; both have the other 11 @mount calls');
  const i386 = resolveSyscallFilter(state, 'x86')!;
  t.same(i386.syscalls.get(syscallNumber('umount', 'x86')!), errno(1), 'x86 has umount (22)');
  t.equal(i386.syscalls.size, r.syscalls.size + 1);
});

t.test('test-execute SystemCallFilter= units (x86-64)', async (t) => {
  const failing = unitFilter('exec-systemcallfilter-failing.service').resolved!;
  t.same(failing.defaultAction, KILL);
  t.same(failing.syscalls.get(nr('ioperm')), ALLOW, 'allow-list, then ~ioperm, then ioperm again');
  t.equal(failing.syscalls.get(nr('write')), undefined, '/bin/sh gets SIGSYS on write');

  for (const unit of ['exec-systemcallfilter-failing2.service', 'exec-systemcallfilter-failing3.service']) {
    const { resolved, warnings } = unitFilter(unit);
    t.same(resolved!.defaultAction, ALLOW);
    t.same(
      [...resolved!.syscalls.entries()].sort((a, b) => a[0] - b[0]),
      ['write', 'open', 'execve', 'execveat', 'exit_group', 'close', 'mmap', 'munmap', 'fstat']
        .map((n) => [nr(n), KILL] as const)
        .sort((a, b) => a[0] - b[0]),
      unit,
    );
    t.same(warnings, ['Failed to parse system call, ignoring: fexecve', 'Failed to parse system call, ignoring: DONOTEXIST']);
  }

  for (const unit of [
    'exec-systemcallfilter-not-failing.service',
    'exec-systemcallfilter-system-user.service',
    'exec-systemcallfilter-system-user-nobody.service',
  ]) {
    const r = unitFilter(unit).resolved!;
    t.same([...r.syscalls.entries()], [[nr('ioperm'), KILL]], `${unit}: deny-list of ioperm only`);
  }
  t.equal(unitFilter('exec-systemcallfilter-not-failing2.service').resolved, undefined);
  t.equal(unitFilter('exec-systemcallfilter-not-failing3.service').resolved, undefined);

  const expectUname = (unit: string, action: SeccompAction, def: SeccompAction): void => {
    const r = unitFilter(unit).resolved!;
    t.same(r.syscalls.get(nr('uname')), action, unit);
    t.same(r.defaultAction, def, `${unit} default`);
  };
  expectUname('exec-systemcallerrornumber-name.service', errno(13), ALLOW);
  expectUname('exec-systemcallerrornumber-number.service', errno(255), ALLOW);
  expectUname('exec-systemcallfilter-with-errno-name.service', errno(84), ALLOW);
  expectUname('exec-systemcallfilter-with-errno-number.service', errno(255), ALLOW);
  expectUname('exec-systemcallfilter-with-errno-multi.service', errno(84), ALLOW);
  expectUname('exec-systemcallfilter-with-errno-in-allow-list.service', errno(84), errno(13));
  expectUname('exec-systemcallfilter-override-error-action.service', KILL, ALLOW);
  expectUname('exec-systemcallfilter-override-error-action2.service', errno(84), ALLOW);

  const svc = unitFilter('exec-systemcallfilter-nonewprivileges.service').resolved!;
  t.same(svc.defaultAction, KILL);
  t.same(svc.syscalls.get(nr('openat')), ALLOW);
  t.equal(svc.syscalls.get(169), undefined, '@system-service does not allow reboot');
});

t.test('SystemCallErrorNumber=', async (t) => {
  t.equal(parseSyscallErrorNumber(''), 'kill');
  t.equal(parseSyscallErrorNumber('kill'), 'kill');
  t.equal(parseSyscallErrorNumber('EACCES'), 13);
  t.equal(parseSyscallErrorNumber('255'), 255);
  t.throws(() => parseSyscallErrorNumber('0'), ValueError);
  t.throws(() => parseSyscallErrorNumber('EBOGUS'), ValueError);
  t.throws(() => parseSyscallErrorNumber('4096'), ValueError);
  t.throws(() => parseSyscallErrorNumber('log'), ValueError);
});

t.test('SystemCallLog=: same lists, no @default, no errno', async (t) => {
  let s = applySyscallLog(undefined, parseSyscallLog('@mount uname'));
  s = applySyscallLog(s, parseSyscallLog('~mount'));
  const r = resolveSyscallLog(s, 'x86-64')!;
  t.same(r.defaultAction, ALLOW);
  t.same(r.syscalls.get(nr('uname')), { kind: 'log' });
  t.equal(r.syscalls.get(165), undefined);
  t.notOk(s!.syscalls.has('execve'));
  t.same(parseSyscallLog('uname:EPERM').warnings, ['Failed to parse system call, ignoring: uname:EPERM']);
  const inv = resolveSyscallLog(applySyscallLog(undefined, parseSyscallLog('~uname')), 'x86-64')!;
  t.same([inv.defaultAction, inv.syscalls.get(nr('uname'))], [{ kind: 'log' }, ALLOW]);
});

t.test('SystemCallArchitectures=', async (t) => {
  const p = parseSyscallArchitectures('native x86 bogus');
  t.same(p, { archs: ['native', 'x86'], warnings: ['Failed to parse system call architecture "bogus", ignoring: Invalid argument'] });
  let s = applySyscallArchitectures(undefined, parseSyscallArchitectures('native'));
  t.same(restrictSyscallArchitectures(s, 'x86-64'), { allowed: ['x86-64'], blocked: ['x86', 'x32'] });
  s = applySyscallArchitectures(s, p);
  t.same([...s!], ['native', 'x86'], 'lines accumulate');
  t.same(restrictSyscallArchitectures(s, 'x86-64'), { allowed: ['x86', 'x86-64'], blocked: ['x32'] });
  t.same(restrictSyscallArchitectures(applySyscallArchitectures(undefined, parseSyscallArchitectures('x86')), 'x86-64').allowed, ['x86', 'x86-64'], 'native is never blocked');
  t.equal(applySyscallArchitectures(s, undefined, true), undefined);
  t.same(restrictSyscallArchitectures(undefined, 'arm64'), { allowed: ['arm', 'arm64'], blocked: [] });
});

t.test('RestrictAddressFamilies=', async (t) => {
  const run = (...lines: string[]): { state: AddressFamiliesState; warnings: string[] } => {
    let state: AddressFamiliesState | undefined;
    const warnings: string[] = [];
    for (const l of lines) {
      const p = l === '' ? undefined : parseRestrictAddressFamilies(l);
      if (p?.kind === 'list') warnings.push(...p.warnings);
      state = applyRestrictAddressFamilies(state, p, l === '');
    }
    return { state: state!, warnings };
  };
  t.equal(addressFamilyFromName('AF_INET6'), 10);
  t.equal(addressFamilyFromName('af_inet'), 2, 'case-insensitive');
  t.equal(addressFamilyFromName('AF_LOCAL'), 1);
  t.equal(addressFamilyFromName('AF_ROUTE'), 16);
  t.equal(addressFamilyFromName('AF_UNSPEC'), undefined);
  t.equal(addressFamilyFromName('AF_MAX'), undefined);
  t.equal(addressFamilyFromName('2'), undefined);
  t.equal(addressFamilyName(1), 'AF_UNIX');
  t.same(addressFamilyPolicy(run('AF_UNIX AF_INET AF_INET6', '~AF_INET6').state), { kind: 'allow', families: [1, 2] });
  t.same(addressFamilyPolicy(run('AF_UNIX', 'AF_NETLINK').state), { kind: 'allow', families: [1, 16] });
  t.same(addressFamilyPolicy(run('~AF_PACKET AF_NETLINK', 'AF_NETLINK').state), { kind: 'deny', families: [17] });
  t.same(addressFamilyPolicy(run('~AF_PACKET', 'AF_PACKET').state), { kind: 'unrestricted' });
  t.same(addressFamilyPolicy(run('AF_UNIX', '').state), { kind: 'unrestricted' });
  t.same(addressFamilyPolicy(run('none').state), { kind: 'allow', families: [] });
  t.same(addressFamilyPolicy(run('AF_INET', 'none', 'AF_UNIX').state), { kind: 'allow', families: [1] });
  t.same(addressFamilyPolicy(run('none', '~AF_INET').state), { kind: 'deny', families: [2] }, 'after none, the next line picks the mode');
  const bogus = run('AF_BOGUS');
  t.same(addressFamilyPolicy(bogus.state), { kind: 'allow', families: [] }, 'only unknown names still start an (empty) allow-list');
  t.same(bogus.warnings, ['Failed to parse address family, ignoring: AF_BOGUS']);
  t.same(run('~none').warnings, ['Failed to parse address family, ignoring: none']);
  t.same(run('none AF_INET').warnings, ['Failed to parse address family, ignoring: none']);
});

t.test('RestrictNamespaces=', async (t) => {
  const run = (...lines: string[]): number | undefined => {
    let s: number | undefined;
    for (const l of lines) {
      if (l === '') {
        s = applyRestrictNamespaces(s, undefined, true);
        continue;
      }
      let p;
      try {
        p = parseRestrictNamespaces(l);
      } catch (e) {
        if (e instanceof ValueError) continue; // systemd ignores the whole line
        throw e;
      }
      s = applyRestrictNamespaces(s, p);
    }
    return s;
  };
  const unit = (name: string): number | undefined => run(...values(name, 'RestrictNamespaces'));
  t.equal(NAMESPACE_FLAGS_ALL, 0x7e020000);
  t.equal(unit('exec-restrictnamespaces-yes.service'), 0);
  t.equal(unit('exec-restrictnamespaces-no.service'), NAMESPACE_FLAGS_ALL);
  t.equal(unit('exec-restrictnamespaces-mnt.service'), CLONE_NEWNS);
  t.equal(unit('exec-restrictnamespaces-mnt-deny-list.service'), NAMESPACE_FLAGS_ALL & ~CLONE_NEWNS);
  t.equal(unit('exec-restrictnamespaces-merge-or.service'), CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS);
  t.equal(unit('exec-restrictnamespaces-merge-and.service'), CLONE_NEWNS | CLONE_NEWPID, '"~mnt usr" is rejected as a whole');
  t.equal(unit('exec-restrictnamespaces-merge-all.service'), NAMESPACE_FLAGS_ALL);
  t.throws(() => parseRestrictNamespaces('~mnt usr'), ValueError);
  const notCgroupNet = run('~cgroup net');
  t.equal(notCgroupNet, CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWUTS);
  t.equal(namespaceFlagsToString(notCgroupNet!), 'ipc mnt pid user uts');
  t.equal(run('mnt pid', '~mnt'), CLONE_NEWPID, 'AND-NOT merge');
  t.equal(run('ipc', 'yes'), 0, 'booleans replace');
  t.equal(run('ON'), 0, 'parse_boolean() is case-insensitive');
  t.equal(run('mnt', ''), undefined, 'empty resets to unrestricted');
  t.equal(run('time'), CLONE_NEWTIME);
  t.equal(run('~time'), NAMESPACE_FLAGS_ALL, 'time is outside NAMESPACE_FLAGS_ALL');
  t.same(restrictedNamespaceTypes(run('no')), []);
  t.same(restrictedNamespaceTypes(run('~net')).map((n) => n.name), ['net', 'time'], 'the seccomp loop also blocks time');
  t.same(restrictedNamespaceTypes(run('yes')).map((n) => n.name), ['cgroup', 'ipc', 'net', 'mnt', 'pid', 'user', 'uts', 'time']);
  t.equal(CLONE_NEWCGROUP | CLONE_NEWNET, 0x42000000);
});
