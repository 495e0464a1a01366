/**
 * Compiled seccomp programs in a real kernel. Each case runs test/probes/seccomp-probe.ts in a child node
 * process, which installs the programs (NO_NEW_PRIVS + seccomp(SET_MODE_FILTER, TSYNC)) and makes raw system
 * calls; the parent reads one JSON line per call and the exit signal (SIGSYS = killed by the filter).
 * Every directive is checked both ways: blocked with the directive, and the same call succeeding (or failing
 * differently) without it, so each assertion can fail.
 * Needs x86-64, root (the controls do privileged things) and a kernel with seccomp filters and IA32 emulation.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSeccomp, seccompPolicyFromSandbox } from '../src/mechanisms/seccomp.js';
import type { SandboxSeccompFields } from '../src/mechanisms/seccomp-policy.js';
import { getSeccompMode, seccompActionAvailable } from '../src/mechanisms/seccomp-syscalls.js';
import { BPF_JA, BPF_JMP, decodeFilter } from '../src/mechanisms/bpf.js';
import { syscallNumber, type SyscallArch } from '../src/unit/values/syscalls.js';
import { expandSyscallGroup } from '../src/unit/values/syscall-groups.js';
import type { ProbeArg, ProbeOp, ProbeSpec } from './probes/seccomp-probe.js';

const skip =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? 'x86-64 Linux only'
    : process.getuid?.() !== 0
      ? 'needs root'
      : getSeccompMode().ret < 0
        ? 'no seccomp'
        : false;
const opts = skip ? { skip } : {};

const here = fileURLToPath(new URL('.', import.meta.url));
const isTs = import.meta.url.endsWith('.ts');
const probeScript = join(here, 'probes', isTs ? 'seccomp-probe.ts' : 'seccomp-probe.js');
// Load the probe's TypeScript the way tap loads this file (its --import loader), type-check-free for speed.
const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
const work = mkdtempSync(join(tmpdir(), 'sysg-seccomp-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// Constants (x86-64 / generic Linux uapi).
const EPERM = 1, ENOMEM = 12, EBADF = 9, EFAULT = 14, EACCES = 13, EINVAL = 22, ENOSYS = 38, EAFNOSUPPORT = 97;
const AF_UNIX = 1, AF_INET = 2, AF_NETLINK = 16, AF_PACKET = 17, SOCK_DGRAM = 2, SOCK_RAW = 3;
const CLONE_NEWUTS = 0x04000000, CLONE_NEWNET = 0x40000000;
const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, MAP_PRIVATE_ANON = 0x22, SHM_EXEC = 0o100000;
const O_WRONLY = 1, O_CREAT = 0o100, O_NONBLOCK = 0o4000, O_TMPFILE = 0o20200000, AT_FDCWD = -100;
const SCHED_OTHER = 0, SCHED_FIFO = 1, SCHED_DEADLINE = 6, PER_LINUX32 = 8;

const nr = (name: string, abi: SyscallArch = 'x86-64'): number => {
  const n = syscallNumber(name, abi);
  if (n === undefined) throw new Error(`no ${name} on ${abi}`);
  return n;
};
const sys = (label: string, name: string, ...args: ProbeArg[]): ProbeOp => ({ label, kind: 'syscall', nr: nr(name), args });
const x32 = (label: string, name: string, ...args: ProbeArg[]): ProbeOp => ({ label, kind: 'syscall', nr: nr(name, 'x32'), args });
const i386 = (label: string, name: string, ...args: number[]): ProbeOp => ({ label, kind: 'int80', nr: nr(name, 'x86'), args: args.map((a) => a >>> 0) });
const cstr = (s: string): ProbeArg => ({ cstr: s });

interface Outcome {
  readonly ret: number;
  readonly errno: number;
}
interface ProbeResult {
  readonly pid: number;
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly installed: readonly Outcome[];
  readonly calls: ReadonlyMap<string, Outcome>;
  readonly stdout: string;
  readonly stderr: string;
}

/** Can this kernel run `int 0x80` from 64-bit code (IA32 emulation)? Without it i386 checks are skipped. */
function ia32Works(): boolean {
  const specFile = join(work, 'spec-ia32.json');
  const spec: ProbeSpec = { programs: [], ops: [{ label: 'i386 getppid', kind: 'int80', nr: nr('getppid', 'x86') }], noNnp: true };
  writeFileSync(specFile, JSON.stringify(spec));
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, [...loaderArgs, probeScript, specFile], { env }).status === 0;
}
const IA32 = !skip && ia32Works();
const noI386 = (t: Test, label: string): boolean => {
  if (IA32 || !label.startsWith('i386 ')) return false;
  t.pass(label, { skip: 'this kernel has no IA32 emulation' });
  return true;
};

let seq = 0;
/** Runs the probe with the policy of `sandbox` (null: no filter at all). */
async function probe(sandbox: SandboxSeccompFields | null, ops: readonly ProbeOp[], opts: { jitless?: boolean } = {}): Promise<ProbeResult> {
  const programs = sandbox === null ? [] : compileSeccomp(seccompPolicyFromSandbox(sandbox, { arch: 'x86-64' })).programs;
  const spec: ProbeSpec = { programs: programs.map((p) => p.filter.toString('base64')), ops: ops.filter((o) => IA32 || o.kind !== 'int80') };
  const specFile = join(work, `spec-${seq++}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [...(opts.jitless ? ['--jitless'] : []), ...loaderArgs, probeScript, specFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, s) => res([c, s])));
  const calls = new Map<string, Outcome>();
  let installed: Outcome[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const v = JSON.parse(line) as { installed?: Outcome[]; label?: string; ret?: number; errno?: number };
    if (v.installed) installed = v.installed;
    else if (v.label !== undefined) calls.set(v.label, { ret: v.ret!, errno: v.errno! });
  }
  return { pid: child.pid!, status, signal, installed, calls, stdout, stderr };
}

/** Asserts a probe ran to its end with every filter installed. */
function completed(t: Test, r: ProbeResult, what: string): void {
  t.equal(r.signal, null, `${what}: not killed`);
  t.ok(r.installed.every((i) => i.ret === 0), `${what}: filters installed`) || t.comment(r.stderr);
}
const fails = (t: Test, r: ProbeResult, label: string, errno: number, msg = `${label} → errno ${errno}`): void => {
  if (noI386(t, label)) return;
  t.same(r.calls.get(label), { ret: -1, errno }, msg);
};
const succeeds = (t: Test, r: ProbeResult, label: string, msg = `${label} succeeds`): void => {
  if (noI386(t, label)) return;
  const o = r.calls.get(label);
  t.ok(o !== undefined && o.ret !== -1, msg) || t.comment(`${label}: ${JSON.stringify(o)}`);
};
/** The call failed, but not with `not` (the kernel's own answer differs between kernels). */
const failsOtherwise = (t: Test, r: ProbeResult, label: string, not: number, msg = `${label} fails, not with errno ${not}`): void => {
  if (noI386(t, label)) return;
  const o = r.calls.get(label);
  t.ok(o !== undefined && o.ret === -1 && o.errno !== not, msg) || t.comment(`${label}: ${JSON.stringify(o)}`);
};
const killed = (t: Test, r: ProbeResult, label: string): void => {
  if (noI386(t, label)) return;
  t.equal(r.signal, 'SIGSYS', `${label}: killed by SIGSYS`);
  t.notOk(r.calls.has(label), `${label} never returned`);
};

// ---------------------------------------------------------------------------------------------------------

t.test('the kernel knows every action the compiler emits', opts, async (t) => {
  for (const [name, action] of [['KILL_PROCESS', 0x80000000], ['ERRNO', 0x00050000], ['LOG', 0x7ffc0000], ['ALLOW', 0x7fff0000]] as const)
    t.ok(seccompActionAvailable(action), `SECCOMP_RET_${name}`);
  t.notOk(seccompActionAvailable(0x7ff10000), 'an unknown action is reported as such');
});

t.test('SystemCallLog=: the call runs and the kernel logs it', opts, async (t) => {
  // First in the file: the kernel rate-limits audit printk (10 per 5 s), and kill tests log too.
  // The record reaches the kernel log only if "log" is a logged action and no audit daemon takes it.
  let actionsLogged = '';
  try {
    actionsLogged = readFileSync('/proc/sys/kernel/seccomp/actions_logged', 'utf8');
  } catch {
    /* kernel without the sysctl */
  }
  const observable = actionsLogged.split(/\s+/).includes('log') && spawnSync('dmesg').status === 0 && spawnSync('pidof', ['auditd']).status !== 0;
  const logged = (r: ProbeResult): boolean =>
    spawnSync('dmesg', { encoding: 'utf8' }).stdout.split('\n').some((l) => l.includes(`pid=${r.pid} `) && l.includes(`syscall=${nr('getppid')} `) && l.includes('code=0x7ffc0000'));
  let r = await probe({ system_call_log: ['getppid'] }, [sys('getppid', 'getppid')]);
  for (let i = 0; observable && i < 2 && !logged(r); i++) {
    await new Promise((res) => setTimeout(res, 5500)); // outlast a printk rate-limit window, then retry
    r = await probe({ system_call_log: ['getppid'] }, [sys('getppid', 'getppid')]);
  }
  completed(t, r, 'SystemCallLog=getppid');
  succeeds(t, r, 'getppid', 'SECCOMP_RET_LOG lets the call through');
  const skipLog = observable ? {} : { skip: 'seccomp log records are not visible in dmesg here' };
  t.ok(logged(r), 'dmesg has an audit record with code=0x7ffc0000 for the probe', skipLog);
  const none = await probe(null, [sys('getppid', 'getppid')]);
  succeeds(t, none, 'getppid');
  t.notOk(logged(none), 'no record without the directive', skipLog);
});

t.test('SystemCallFilter= deny-list: :errno, :kill, SystemCallErrorNumber=', opts, async (t) => {
  const ops = [sys('getppid', 'getppid')];
  const [errno, perm, kill, killOverride, none] = await Promise.all([
    probe({ system_call_filter: ['~getppid:EACCES'] }, ops),
    probe({ system_call_filter: ['~getppid'], system_call_error_number: 'EPERM' }, ops),
    probe({ system_call_filter: ['~getppid'] }, ops),
    probe({ system_call_filter: ['~getppid:kill'], system_call_error_number: 'EPERM' }, ops),
    probe(null, ops),
  ]);
  completed(t, errno, '~getppid:EACCES');
  fails(t, errno, 'getppid', EACCES);
  completed(t, perm, 'SystemCallErrorNumber=EPERM');
  fails(t, perm, 'getppid', EPERM);
  killed(t, kill, 'getppid (default action kill)');
  killed(t, killOverride, 'getppid (:kill beats SystemCallErrorNumber=)');
  completed(t, none, 'no filter');
  succeeds(t, none, 'getppid');
});

t.test('SystemCallFilter=@system-service allow-list: node keeps running, programs run, the rest is killed', opts, async (t) => {
  const nodeWork: ProbeOp[] = (['alloc', 'fs', 'timer', 'crypto'] as const).map((w) => ({ label: w, kind: 'js', work: w }));
  const sh: ProbeOp = { label: 'sh', kind: 'execve', path: '/bin/sh', argv: ['sh', '-c', 'echo hello-from-sh; ls / >/dev/null && exit 3'] };
  const delModule = sys('delete_module', 'delete_module', cstr('sysg_no_such_module'), O_NONBLOCK);
  const list = { system_call_filter: ['@system-service'] };
  const [run, kill, errno, none, tooNarrow] = await Promise.all([
    probe(list, [...nodeWork, sys('getppid', 'getppid'), sh]),
    probe(list, [sys('getppid', 'getppid'), delModule]),
    probe({ ...list, system_call_error_number: 'EPERM' }, [delModule]),
    probe(null, [delModule]),
    probe({ system_call_filter: ['@basic-io'] }, nodeWork),
  ]);
  t.ok(run.installed.length === 1 && run.installed[0]!.ret === 0, 'allow-list installed into all node threads');
  for (const w of ['alloc', 'fs', 'timer', 'crypto']) t.same(run.calls.get(w), { ret: 0, errno: 0 }, `node ${w} work still runs under @system-service`);
  succeeds(t, run, 'getppid');
  t.equal(run.status, 3, '/bin/sh ran its script to the end under the filter');
  t.match(run.stdout, /hello-from-sh/);
  succeeds(t, kill, 'getppid');
  killed(t, kill, 'delete_module (not in @system-service)');
  fails(t, errno, 'delete_module', EPERM, 'SystemCallErrorNumber=EPERM instead of kill');
  failsOtherwise(t, none, 'delete_module', EPERM, 'without a filter the call reaches the kernel');
  t.equal(tooNarrow.signal, 'SIGSYS', 'an allow-list without what node needs kills node: the list is enforced');
});

t.test('SystemCallArchitectures=native: i386 int 0x80 and x32 are killed', opts, async (t) => {
  const native = { system_call_architectures: ['native'] };
  const [i386Killed, x32Killed, x86Allowed, none] = await Promise.all([
    probe(native, [sys('getppid', 'getppid'), i386('i386 getppid', 'getppid')]),
    probe(native, [x32('x32 getppid', 'getppid')]),
    probe({ system_call_architectures: ['x86'] }, [i386('i386 getppid', 'getppid'), x32('x32 getppid', 'getppid')]),
    probe(null, [i386('i386 getppid', 'getppid'), x32('x32 getppid', 'getppid')]),
  ]);
  succeeds(t, i386Killed, 'getppid', 'native calls still work');
  killed(t, i386Killed, 'i386 getppid');
  killed(t, x32Killed, 'x32 getppid');
  succeeds(t, x86Allowed, 'i386 getppid', 'SystemCallArchitectures=x86 lets i386 calls run');
  killed(t, x86Allowed, 'x32 getppid');
  completed(t, none, 'no filter');
  succeeds(t, none, 'i386 getppid', 'int 0x80 works without a filter');
  const x = none.calls.get('x32 getppid');
  t.ok(x !== undefined && (x.ret > 0 || x.errno === ENOSYS), 'x32 without a filter: runs, or ENOSYS on kernels without x32');
});

t.test('the x32 and i386 ABIs get the same filter (no bypass around a deny-list)', opts, async (t) => {
  const ops = [x32('x32 getppid', 'getppid'), i386('i386 getppid', 'getppid'), sys('getppid', 'getppid')];
  const [deny, none] = await Promise.all([probe({ system_call_filter: ['~getppid:EACCES'] }, ops), probe(null, ops)]);
  completed(t, deny, '~getppid:EACCES');
  fails(t, deny, 'getppid', EACCES);
  fails(t, deny, 'x32 getppid', EACCES, 'x32 getppid (0x40000000|110) is filtered too');
  fails(t, deny, 'i386 getppid', EACCES, 'i386 getppid (64) is filtered too');
  succeeds(t, none, 'i386 getppid');
  t.not(none.calls.get('x32 getppid')?.errno, EACCES);
});

t.test('RestrictAddressFamilies=', opts, async (t) => {
  const ops = [
    sys('inet', 'socket', AF_INET, SOCK_DGRAM, 0),
    sys('unix', 'socket', AF_UNIX, SOCK_DGRAM, 0),
    sys('packet', 'socket', AF_PACKET, SOCK_DGRAM, 0),
    sys('netlink', 'socket', AF_NETLINK, SOCK_RAW, 0),
    sys('packet+high bits', 'socket', '0x100000011', SOCK_DGRAM, 0),
    i386('i386 socket packet', 'socket', AF_PACKET, SOCK_DGRAM, 0),
    i386('i386 socketcall', 'socketcall', 1, 0),
  ];
  const [allow, deny, none] = await Promise.all([
    probe({ restrict_address_families: { allow: ['AF_UNIX', 'AF_INET'] } }, ops),
    probe({ restrict_address_families: { deny: ['AF_PACKET'] } }, ops),
    probe(null, ops),
  ]);
  completed(t, allow, 'allow-list');
  succeeds(t, allow, 'inet');
  succeeds(t, allow, 'unix');
  fails(t, allow, 'packet', EAFNOSUPPORT);
  fails(t, allow, 'netlink', EAFNOSUPPORT);
  fails(t, allow, 'packet+high bits', EAFNOSUPPORT);
  fails(t, allow, 'i386 socket packet', EAFNOSUPPORT);
  fails(t, allow, 'i386 socketcall', EAFNOSUPPORT, 'i386 socketcall(SYS_SOCKET) cannot be checked: refused');
  completed(t, deny, 'deny-list');
  fails(t, deny, 'packet', EAFNOSUPPORT);
  fails(t, deny, 'packet+high bits', EAFNOSUPPORT, 'family 0x1_00000011 is AF_PACKET to the kernel: refused too');
  succeeds(t, deny, 'netlink');
  succeeds(t, deny, 'inet');
  completed(t, none, 'no filter');
  for (const l of ['packet', 'netlink', 'packet+high bits', 'i386 socket packet']) succeeds(t, none, l);
  fails(t, none, 'i386 socketcall', EFAULT);
});

t.test('RestrictNamespaces=', opts, async (t) => {
  const ops = [
    sys('unshare uts', 'unshare', CLONE_NEWUTS),
    sys('unshare net', 'unshare', CLONE_NEWNET),
    sys('clone3', 'clone3', 0, 0),
    sys('setns 0', 'setns', -1, 0),
    sys('setns net', 'setns', -1, CLONE_NEWNET),
    sys('setns uts', 'setns', -1, CLONE_NEWUTS),
  ];
  const [all, uts, none] = await Promise.all([
    probe({ restrict_namespaces: true }, ops),
    probe({ restrict_namespaces: { allow: ['uts'] } }, ops),
    probe(null, ops),
  ]);
  completed(t, all, 'RestrictNamespaces=yes');
  fails(t, all, 'unshare uts', EPERM);
  fails(t, all, 'unshare net', EPERM);
  fails(t, all, 'clone3', ENOSYS, 'clone3 → ENOSYS (glibc falls back to clone)');
  fails(t, all, 'setns 0', EPERM);
  fails(t, all, 'setns uts', EPERM);
  completed(t, uts, 'RestrictNamespaces=uts');
  succeeds(t, uts, 'unshare uts');
  fails(t, uts, 'unshare net', EPERM);
  fails(t, uts, 'setns 0', EPERM);
  fails(t, uts, 'setns net', EPERM);
  fails(t, uts, 'setns uts', EBADF, 'an allowed type reaches the kernel');
  completed(t, none, 'no filter');
  succeeds(t, none, 'unshare uts');
  succeeds(t, none, 'unshare net');
  fails(t, none, 'clone3', EINVAL);
  fails(t, none, 'setns 0', EBADF);
});

t.test('MemoryDenyWriteExecute=', opts, async (t) => {
  const ops = [
    sys('mmap wx', 'mmap', 0, 4096, PROT_WRITE | PROT_EXEC, MAP_PRIVATE_ANON, -1, 0),
    sys('mmap rx', 'mmap', 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE_ANON, -1, 0),
    sys('mprotect x', 'mprotect', 0, 4096, PROT_READ | PROT_EXEC),
    sys('pkey_mprotect x', 'pkey_mprotect', 0, 4096, PROT_EXEC, -1),
    sys('shmat exec', 'shmat', -1, 0, SHM_EXEC),
    i386('i386 mmap2 wx', 'mmap2', 0, 4096, PROT_WRITE | PROT_EXEC, MAP_PRIVATE_ANON, -1, 0),
    i386('i386 ipc shmat exec', 'ipc', 21, -1, SHM_EXEC, 0, 0, 0),
  ];
  // node's JIT needs W^X flips; --jitless keeps V8 away from PROT_EXEC in the probe itself.
  const [mdwe, none] = await Promise.all([probe({ memory_deny_write_execute: true }, ops, { jitless: true }), probe(null, ops, { jitless: true })]);
  completed(t, mdwe, 'MemoryDenyWriteExecute=yes');
  fails(t, mdwe, 'mmap wx', EPERM);
  succeeds(t, mdwe, 'mmap rx', 'a read+exec mapping is still allowed');
  fails(t, mdwe, 'mprotect x', EPERM);
  fails(t, mdwe, 'pkey_mprotect x', EPERM);
  fails(t, mdwe, 'shmat exec', EPERM);
  fails(t, mdwe, 'i386 mmap2 wx', EPERM);
  fails(t, mdwe, 'i386 ipc shmat exec', EPERM);
  completed(t, none, 'no filter');
  succeeds(t, none, 'mmap wx');
  fails(t, none, 'mprotect x', ENOMEM, 'mprotect of an unmapped page reaches the kernel: ENOMEM');
  fails(t, none, 'pkey_mprotect x', ENOMEM);
  fails(t, none, 'shmat exec', EINVAL);
  succeeds(t, none, 'i386 mmap2 wx');
  fails(t, none, 'i386 ipc shmat exec', EINVAL);
});

t.test('RestrictRealtime=', opts, async (t) => {
  const ops = [
    sys('fifo', 'sched_setscheduler', 0, SCHED_FIFO, 0),
    sys('deadline', 'sched_setscheduler', 0, SCHED_DEADLINE, 0),
    sys('fifo|reset-on-fork', 'sched_setscheduler', 0, 0x40000000 | SCHED_FIFO, 0),
    sys('other', 'sched_setscheduler', 0, SCHED_OTHER, 0),
    sys('sched_setattr', 'sched_setattr', 0, 0, 0),
  ];
  const [rt, none] = await Promise.all([probe({ restrict_realtime: true }, ops), probe(null, ops)]);
  completed(t, rt, 'RestrictRealtime=yes');
  fails(t, rt, 'fifo', EPERM);
  fails(t, rt, 'deadline', EPERM);
  fails(t, rt, 'fifo|reset-on-fork', EPERM);
  fails(t, rt, 'other', EINVAL, 'SCHED_OTHER reaches the kernel (EINVAL: NULL param)');
  fails(t, rt, 'sched_setattr', ENOSYS);
  for (const l of ['fifo', 'deadline', 'other', 'sched_setattr']) t.not(none.calls.get(l)?.errno, EPERM, `${l} without the directive is not EPERM`);
  t.not(none.calls.get('sched_setattr')?.errno, ENOSYS);
});

t.test('LockPersonality=', opts, async (t) => {
  const ops = [sys('set PER_LINUX32', 'personality', PER_LINUX32), sys('query', 'personality', '0xffffffff'), sys('set PER_LINUX', 'personality', 0)];
  const [locked, none] = await Promise.all([probe({ lock_personality: true }, ops), probe(null, ops)]);
  completed(t, locked, 'LockPersonality=yes');
  fails(t, locked, 'set PER_LINUX32', EPERM);
  t.same(locked.calls.get('query'), { ret: 0, errno: 0 }, 'querying the personality is allowed');
  t.same(locked.calls.get('set PER_LINUX'), { ret: 0, errno: 0 }, 'setting the locked personality again is allowed');
  completed(t, none, 'no filter');
  t.same(none.calls.get('set PER_LINUX32'), { ret: 0, errno: 0 });
  t.same(none.calls.get('query'), { ret: PER_LINUX32, errno: 0 }, 'without the lock the personality changed');
});

t.test('RestrictSUIDSGID=', opts, async (t) => {
  const setup = (name: string): { dir: string; file: string; ops: ProbeOp[] } => {
    const dir = join(work, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'f');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const ops = [
      sys('chmod suid', 'chmod', cstr(file), 0o4755),
      sys('chmod sgid', 'chmod', cstr(file), 0o2755),
      sys('fchmodat suid', 'fchmodat', AT_FDCWD, cstr(file), 0o4755),
      sys('fchmodat2 sgid', 'fchmodat2', AT_FDCWD, cstr(file), 0o2755, 0),
      sys('fchmod suid', 'fchmod', -1, 0o4755),
      sys('mkdir sgid', 'mkdir', cstr(join(dir, 'd1')), 0o2755),
      sys('mkdirat suid', 'mkdirat', AT_FDCWD, cstr(join(dir, 'd2')), 0o4755),
      sys('mknod suid', 'mknod', cstr(join(dir, 'n1')), 0o104644, 0),
      sys('open creat suid', 'open', cstr(join(dir, 'o1')), O_CREAT | O_WRONLY, 0o4755),
      sys('openat creat sgid', 'openat', AT_FDCWD, cstr(join(dir, 'o2')), O_CREAT | O_WRONLY, 0o2755),
      sys('open tmpfile suid', 'open', cstr(dir), O_TMPFILE | O_WRONLY, 0o4755),
      sys('creat suid', 'creat', cstr(join(dir, 'c1')), 0o4755),
      sys('openat2', 'openat2', AT_FDCWD, cstr(join(dir, 'x')), { buf: 24 }, 24),
      sys('chmod plain', 'chmod', cstr(file), 0o755),
    ];
    return { dir, file, ops };
  };
  const a = setup('suid-restricted');
  const b = setup('suid-free');
  const [rs, none] = await Promise.all([probe({ restrict_suid_sgid: true }, a.ops), probe(null, b.ops)]);
  completed(t, rs, 'RestrictSUIDSGID=yes');
  const blocked = ['chmod suid', 'chmod sgid', 'fchmodat suid', 'fchmodat2 sgid', 'fchmod suid', 'mkdir sgid', 'mkdirat suid', 'mknod suid', 'open creat suid', 'openat creat sgid', 'open tmpfile suid', 'creat suid'];
  for (const l of blocked) fails(t, rs, l, EPERM);
  fails(t, rs, 'openat2', ENOSYS);
  succeeds(t, rs, 'chmod plain', 'a mode without S_ISUID/S_ISGID is fine');
  t.equal(statSync(a.file).mode & 0o7777, 0o755);
  for (const f of ['d1', 'd2', 'n1', 'o1', 'o2', 'c1']) t.notOk(existsSync(join(a.dir, f)), `${f} was not created`);
  completed(t, none, 'no filter');
  for (const l of blocked.filter((x) => x !== 'fchmod suid')) succeeds(t, none, l);
  fails(t, none, 'fchmod suid', EBADF);
  t.ok(statSync(join(b.dir, 'o1')).mode & 0o4000, 'without the directive a setuid file gets created');
});

t.test('ProtectClock=, ProtectKernelModules=, ProtectKernelLogs=, ProtectHostname=, PrivateDevices=, ProtectKernelTunables=', opts, async (t) => {
  const badTimespec = { hex: '0000000000000000' + 'ffffffffffffffff' }; // tv_nsec = -1: EINVAL if it ever got there
  const ops = [
    sys('clock_settime', 'clock_settime', 0, badTimespec),
    sys('adjtimex read', 'adjtimex', { buf: 208 }),
    sys('delete_module', 'delete_module', cstr('sysg_no_such_module'), O_NONBLOCK),
    sys('finit_module', 'finit_module', -1, cstr(''), 0),
    sys('syslog size', 'syslog', 10, 0, 0),
    sys('sethostname', 'sethostname', 0, 4096),
    sys('setdomainname', 'setdomainname', 0, 4096),
    sys('iopl', 'iopl', 4),
    sys('_sysctl', '_sysctl', 0),
  ];
  const all: SandboxSeccompFields = { protect_clock: true, protect_kernel_modules: true, protect_kernel_logs: true, protect_hostname: true, private_devices: true, protect_kernel_tunables: true };
  const [on, none, tie] = await Promise.all([
    probe(all, ops),
    probe(null, ops),
    probe({ protect_clock: true, system_call_filter: ['~clock_settime:EACCES'] }, [sys('clock_settime', 'clock_settime', 0, badTimespec)]),
  ]);
  completed(t, on, 'all on');
  for (const l of ops.map((o) => o.label)) fails(t, on, l, EPERM);
  completed(t, none, 'no filter');
  fails(t, none, 'clock_settime', EINVAL);
  succeeds(t, none, 'adjtimex read');
  failsOtherwise(t, none, 'delete_module', EPERM); // ENOENT, or ENOSYS on kernels without module support
  failsOtherwise(t, none, 'finit_module', EPERM);
  succeeds(t, none, 'syslog size');
  fails(t, none, 'sethostname', EINVAL);
  fails(t, none, 'setdomainname', EINVAL);
  failsOtherwise(t, none, 'iopl', EPERM); // EINVAL, or ENOSYS without CONFIG_X86_IOPL_IOPERM
  fails(t, none, '_sysctl', ENOSYS);
  fails(t, tie, 'clock_settime', EACCES, 'SystemCallFilter= is installed after ProtectClock=: its errno wins, as in systemd');
});

t.test('far jumps: a deny-list of over a hundred syscalls, each with its own errno', opts, async (t) => {
  // Syscalls node does not make once running; each gets errno 100+i, so no two merge and the program is long.
  const groups = ['@obsolete', '@mount', '@clock', '@module', '@raw-io', '@reboot', '@swap', '@cpu-emulation', '@debug', '@privileged', '@keyring', '@setuid', '@chown', '@memlock', '@pkey', '@sync', '@timer', '@resources'];
  const names = [...new Set(groups.flatMap((g) => expandSyscallGroup(g) ?? []))].filter((n) => syscallNumber(n, 'x86-64') !== undefined && n !== 'write').sort((x, y) => nr(x) - nr(y));
  const errnoOf = (n: string): number => 100 + names.indexOf(n);
  const sandbox = { system_call_filter: [`~${names.map((n) => `${n}:${errnoOf(n)}`).join(' ')}`] };
  const program = compileSeccomp(seccompPolicyFromSandbox(sandbox, { arch: 'x86-64' })).programs[0]!;
  const insns = decodeFilter(program.filter);
  t.ok(names.length > 100 && program.instructions > 600, `${names.length} syscalls, ${program.instructions} instructions`);
  t.ok(insns.some((i) => i.code === (BPF_JMP | BPF_JA)), 'the program needs ja trampolines');
  // Harmless either way: with bad arguments each of these fails without a filter too.
  const ops = [
    sys('ptrace', 'ptrace', 2, 0, 0, 0),
    sys('chroot', 'chroot', cstr('/nonexistent-sysg')),
    sys('umount2', 'umount2', cstr('/nonexistent-sysg'), 0),
    sys('swapoff', 'swapoff', cstr('/nonexistent-sysg')),
    sys('delete_module', 'delete_module', cstr('sysg_no_such_module'), O_NONBLOCK),
    sys('open_tree', 'open_tree', -1, cstr('/nonexistent-sysg'), 0),
    sys('fsopen', 'fsopen', cstr('sysg-no-such-fs'), 0),
    sys('mount_setattr', 'mount_setattr', -1, cstr(''), 0, 0, 0),
    i386('i386 chroot', 'chroot', 0),
    i386('i386 umount2', 'umount2', 0, 0),
    i386('i386 fsopen', 'fsopen', 0, 0),
  ];
  const name = (o: ProbeOp): string => o.label.replace(/^i386 /, '');
  t.ok(ops.every((o) => names.includes(name(o))), 'every probe call is in the list');
  const [deny, none] = await Promise.all([probe(sandbox, ops), probe(null, ops)]);
  completed(t, deny, 'big deny-list');
  for (const o of ops) fails(t, deny, o.label, errnoOf(name(o)), `${o.label} → its own errno ${errnoOf(name(o))}`);
  completed(t, none, 'no filter');
  for (const o of ops) t.not(none.calls.get(o.label)?.errno, errnoOf(name(o)), `${o.label} fails differently without the filter`);
});

t.test('a hardened service profile: /bin/sh runs under every directive at once', opts, async (t) => {
  const hardened: SandboxSeccompFields = {
    system_call_filter: ['@system-service', '~@privileged @resources'],
    system_call_error_number: 'EPERM',
    system_call_architectures: ['native'],
    restrict_address_families: { allow: ['AF_UNIX', 'AF_INET', 'AF_INET6'] },
    restrict_namespaces: true,
    memory_deny_write_execute: true,
    restrict_realtime: true,
    lock_personality: true,
    restrict_suid_sgid: true,
    protect_clock: true,
    protect_kernel_modules: true,
    protect_kernel_logs: true,
    protect_kernel_tunables: true,
    protect_hostname: true,
    private_devices: true,
  };
  const script = 'echo start; cat /etc/hostname >/dev/null; d=$(mktemp -d); echo x > $d/f; chmod 4755 $d/f 2>/dev/null && echo SUID-ALLOWED; rm -r $d; echo done';
  const [r, plain] = await Promise.all([
    probe(hardened, [sys('packet', 'socket', AF_PACKET, SOCK_DGRAM, 0), { label: 'sh', kind: 'execve', path: '/bin/sh', argv: ['sh', '-c', script] }], { jitless: true }),
    probe(null, [{ label: 'sh', kind: 'execve', path: '/bin/sh', argv: ['sh', '-c', script] }]),
  ]);
  fails(t, r, 'packet', EAFNOSUPPORT);
  t.equal(r.status, 0, 'the shell script exits 0') || t.comment(r.stderr);
  t.match(r.stdout, /start\n/);
  t.match(r.stdout, /done\n/);
  t.notMatch(r.stdout, /SUID-ALLOWED/, 'chmod 4755 was refused inside the service');
  t.equal(plain.status, 0);
  t.match(plain.stdout, /SUID-ALLOWED/, 'and allowed without the profile');
});
