/**
 * The seccomp compiler without a kernel: BPF encoding and long jumps, program structure (x86-64 and arm64),
 * and — the main check — that every compiled program returns, for every syscall number of every ABI and a
 * spread of argument values, exactly what systemd's stack of per-directive filters would return
 * (evaluateLayers(), the kernel's "most restrictive wins, newest first among equals").
 * Real-kernel tests are in mechanisms-seccomp-kernel.test.ts.
 */
import t, { type Test } from 'tap';
import { BpfAssembler, BPF_JA, BPF_JMP, BPF_MAXINSNS, decodeFilter, disassemble, encodeFilter, sockFprog, type SockFilter } from '../src/mechanisms/bpf.js';
import { checkSeccompFilter, runSeccompFilter } from '../src/mechanisms/bpf-run.js';
import {
  compileSeccomp, programsToBase64, seccompPolicyFromSandbox, seccompSteps, seccompStepsFromBase64, sandboxSeccompFields, SeccompPolicyError,
  type CompiledSeccomp,
} from '../src/mechanisms/seccomp.js';
import { addressOf, SECCOMP_FILTER_FLAG_TSYNC } from '../src/mechanisms/seccomp-syscalls.js';
import {
  actionRank, evaluateLayers, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_LOG,
  type ArgCheck, type SeccompLayer,
} from '../src/mechanisms/seccomp-rules.js';
import type { SandboxSeccompFields, SeccompArch } from '../src/mechanisms/seccomp-policy.js';
import { AUDIT_ARCH, syscallNames, syscallNumber, type SyscallArch } from '../src/unit/values/syscalls.js';
import { CLONE_NEWNET, CLONE_NEWUTS } from '../src/unit/values/namespaces.js';
import { PER_LINUX, PER_LINUX32 } from '../src/unit/values/personality.js';

const ERRNO = (e: number): number => (SECCOMP_RET_ERRNO | e) >>> 0;
const KILL = SECCOMP_RET_KILL_PROCESS;
const ALLOW = SECCOMP_RET_ALLOW;
const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;
const AUDIT_ARCH_ARM = 0x40000028;

const compile = (sandbox: SandboxSeccompFields, arch: SeccompArch = 'x86-64'): CompiledSeccomp =>
  compileSeccomp(seccompPolicyFromSandbox(sandbox, { arch }), arch);
const insnsOf = (c: CompiledSeccomp, i = 0): SockFilter[] => decodeFilter(c.programs[i]!.filter);

/** Runs every program like the kernel does (newest first; strictly more restrictive replaces). */
function runAll(c: CompiledSeccomp, arch: number, nr: number, args: readonly bigint[] = []): number {
  let ret = ALLOW;
  for (const p of [...c.programs].reverse()) {
    const r = runSeccompFilter(decodeFilter(p.filter), { nr, arch, args });
    if (actionRank(r) < actionRank(ret)) ret = r;
  }
  return ret >>> 0;
}

const nr = (name: string, abi: SyscallArch = 'x86-64'): number => {
  const n = syscallNumber(name, abi);
  if (n === undefined) throw new Error(`no ${name} on ${abi}`);
  return n;
};

// ---------------------------------------------------------------------------------------------------------

t.test('BPF encoding: struct sock_filter and struct sock_fprog byte layout', async (t) => {
  const buf = encodeFilter([{ code: 0x15, jt: 1, jf: 2, k: 0xc000003e }, { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]);
  t.same([...buf], [0x15, 0x00, 1, 2, 0x3e, 0x00, 0x00, 0xc0, 0x06, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x7f]);
  t.same(decodeFilter(buf), [{ code: 0x15, jt: 1, jf: 2, k: 0xc000003e }, { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]);
  const fprog = sockFprog(2, 0x1122334455667788n);
  t.equal(fprog.length, 16);
  t.equal(fprog.readUInt16LE(0), 2);
  t.same([...fprog.subarray(2, 8)], [0, 0, 0, 0, 0, 0], 'padding is zero');
  t.equal(fprog.readBigUInt64LE(8), 0x1122334455667788n);
  t.throws(() => sockFprog(BPF_MAXINSNS + 1, 0n));
});

t.test('BPF assembler: short branches, fall-through, far branches through ja', async (t) => {
  const build = (gap: number): SockFilter[] => {
    const asm = new BpfAssembler();
    const far = asm.label();
    const alsoFar = asm.label();
    asm.ld(0);
    asm.jump('jeq', 7, far, null); // far taken branch
    asm.jump('jge', 100, null, alsoFar); // far not-taken branch
    for (let i = 0; i < gap; i++) asm.ret(0x50000 + (i % 4000));
    asm.bind(far);
    asm.ret(ALLOW);
    asm.bind(alsoFar);
    asm.ret(KILL);
    return asm.assemble();
  };
  const near = build(10);
  t.equal(near.length, 15);
  t.same(near[1], { code: 0x15, jt: 11, jf: 0, k: 7 });
  t.notOk(near.some((i) => i.code === (BPF_JMP | BPF_JA)), 'no trampolines when everything is near');
  const far = build(600);
  t.ok(far.filter((i) => i.code === (BPF_JMP | BPF_JA)).length >= 2, 'ja trampolines for far targets');
  t.ok(far.every((i) => i.jt <= 255 && i.jf <= 255));
  checkSeccompFilter(far);
  for (const prog of [near, far]) {
    t.equal(runSeccompFilter(prog, { nr: 7, arch: 0 }), ALLOW, 'taken far branch lands on its label');
    t.equal(runSeccompFilter(prog, { nr: 5, arch: 0 }), KILL, 'not-taken far branch lands on its label');
    t.equal(runSeccompFilter(prog, { nr: 200, arch: 0 }), 0x50000, 'fall-through continues after the branch');
  }
  const bad = new BpfAssembler();
  const l = bad.label();
  bad.bind(l);
  bad.ja(l);
  t.throws(() => bad.assemble(), /backwards/);
  const unbound = new BpfAssembler();
  unbound.ja(unbound.label());
  t.throws(() => unbound.assemble(), /not bound/);
});

// ---------------------------------------------------------------------------------------------------------
// Reference equivalence

/** Argument vectors that hit both sides of every check in `layers`. */
function argVectors(layers: readonly SeccompLayer[], n: number): bigint[][] {
  const checks: ArgCheck[] = layers.flatMap((l) => l.rules.filter((r) => r.nr === n).flatMap((r) => r.when));
  const vectors: bigint[][] = [[]];
  const perArg = new Map<number, Set<bigint>>();
  for (const c of checks) {
    const s = perArg.get(c.arg) ?? new Set<bigint>([0n, 0xffffffffn, 0x1_0000_0000n]);
    const v = BigInt(c.value >>> 0);
    for (const x of [v, v + 1n, v - 1n, v | 0x7_0000_0000n]) if (x >= 0n) s.add(x);
    if (c.op === 'masked-eq') for (const x of [BigInt(c.mask >>> 0), BigInt(c.mask >>> 0) | 0xf00n, 0x2n, 0x4n, 0x6n]) s.add(x);
    perArg.set(c.arg, s);
  }
  const args = [...perArg.keys()];
  // Every value of each argument with the others 0, plus the cross product of two arguments' values.
  for (const a of args) for (const v of perArg.get(a)!) vectors.push(Object.assign(new Array<bigint>(6).fill(0n), { [a]: v }));
  if (args.length >= 2) {
    const [a, b] = args as [number, number];
    for (const va of perArg.get(a)!) for (const vb of perArg.get(b)!) vectors.push(Object.assign(new Array<bigint>(6).fill(0n), { [a]: va, [b]: vb }));
  }
  return vectors;
}

function checkEquivalence(t: Test, sandbox: SandboxSeccompFields, arch: SeccompArch): void {
  const c = compile(sandbox, arch);
  for (const p of c.programs) checkSeccompFilter(decodeFilter(p.filter));
  let evaluations = 0;
  let mismatches = 0;
  for (const s of c.sections) {
    const names = s.abi === 'arm' ? [] : syscallNames(s.abi);
    const tableNrs = s.abi === 'arm' ? [] : names.map((n) => nr(n, s.abi as SyscallArch));
    const extra = [s.lo, s.lo + 1, s.hi - 1, Math.floor((s.lo + s.hi) / 2), s.lo + 999, 0xffffffff].filter((n) => n >= s.lo && n < s.hi);
    for (const n of [...new Set([...tableNrs, ...extra])]) {
      for (const args of argVectors(s.layers, n)) {
        const want = s.mode === 'kill' ? KILL : evaluateLayers(s.layers, n, args);
        const got = runAll(c, s.auditArch, n, args);
        evaluations++;
        if (got !== want && mismatches++ < 5) t.fail(`${arch}/${s.abi} nr ${n} args ${args.join(',')}: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
      }
    }
  }
  t.equal(mismatches, 0, `${arch}: ${JSON.stringify(sandbox).slice(0, 90)} — ${evaluations} evaluations agree`);
  t.equal(runAll(c, 0x12345678, 0), c.programs.length ? KILL : ALLOW, 'an unknown architecture is killed');
}

const POLICIES: readonly SandboxSeccompFields[] = [
  { system_call_filter: ['~getppid:EACCES mount reboot:kill'] },
  { system_call_filter: ['~@mount @clock'], system_call_error_number: 'EPERM' },
  { system_call_filter: ['@system-service', '~@privileged @resources', '~sethostname:EBUSY'], system_call_error_number: 'EPERM' },
  { system_call_filter: ['@system-service'] },
  { system_call_filter: ['~getppid:0'] },
  { system_call_architectures: ['native'] },
  { system_call_architectures: ['x86'] },
  { restrict_address_families: { allow: ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK'] } },
  { restrict_address_families: { allow: [] } },
  { restrict_address_families: { deny: ['AF_PACKET', 'AF_BLUETOOTH'] } },
  { restrict_namespaces: true },
  { restrict_namespaces: { allow: ['net', 'uts'] } },
  { restrict_namespaces: { allow: ['cgroup', 'ipc', 'net', 'mnt', 'pid', 'user', 'uts'] } },
  { memory_deny_write_execute: true },
  { restrict_realtime: true },
  { lock_personality: true },
  { lock_personality: true, personality: 'x86' },
  { restrict_suid_sgid: true },
  { protect_clock: true, protect_kernel_modules: true, protect_kernel_logs: true, protect_hostname: true },
  { protect_kernel_tunables: true, private_devices: true },
  { system_call_log: ['getppid @clock'] },
  { system_call_log: ['~@default @basic-io'] },
  {
    system_call_filter: ['@system-service', '~@privileged', '~settimeofday:EACCES'],
    system_call_error_number: 'EPERM',
    system_call_architectures: ['native'],
    system_call_log: ['@clock'],
    restrict_address_families: { allow: ['AF_UNIX', 'AF_INET'] },
    restrict_namespaces: { allow: ['net'] },
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
  },
];

t.test('every program agrees with the reference semantics (x86-64: x86-64, x32, i386 sections)', async (t) => {
  for (const p of POLICIES) checkEquivalence(t, p, 'x86-64');
});

t.test('every program agrees with the reference semantics (arm64)', async (t) => {
  for (const p of POLICIES.filter((x) => !x.system_call_architectures?.includes('x86') && x.personality === undefined)) checkEquivalence(t, p, 'arm64');
  checkEquivalence(t, { lock_personality: true, personality: 'arm' }, 'arm64');
});

// ---------------------------------------------------------------------------------------------------------
// Structure

t.test('x86-64 program structure: arch check first, x32 bit before dispatch', async (t) => {
  const c = compile({ system_call_filter: ['~mount'] });
  const ins = insnsOf(c);
  t.same(ins[0], { code: 0x20, jt: 0, jf: 0, k: 4 }, 'ld [4] (seccomp_data.arch)');
  t.equal(ins[1]!.k, AUDIT_ARCH['x86-64']);
  const firstNr = ins.findIndex((i) => i.code === 0x20 && i.k === 0);
  t.ok(firstNr > 1, 'then ld [0] (nr)');
  t.same(ins[firstNr + 1], { ...ins[firstNr + 1]!, code: 0x35, k: 0x40000000 }, 'jge X32_SYSCALL_BIT right after loading nr');
  t.equal(runAll(c, AUDIT_ARCH['x86-64'], nr('mount')), KILL);
  t.equal(runAll(c, AUDIT_ARCH['x86-64'], nr('mount', 'x32')), KILL, 'x32 mount is filtered by number, not let through');
  t.equal(runAll(c, AUDIT_ARCH.x86, nr('mount', 'x86')), KILL, 'i386 mount too');
  t.equal(runAll(c, AUDIT_ARCH.x86, nr('mount')), ALLOW, 'nr 165 on i386 is getresuid, not mount');
  t.equal(runAll(c, AUDIT_ARCH.arm64, nr('mount', 'arm64')), KILL, 'a foreign arch is killed');
  t.match(disassemble(ins).join('\n'), /ld \[4\]/);
});

t.test('SystemCallArchitectures=native kills i386 and x32, keeps x86-64', async (t) => {
  const c = compile({ system_call_architectures: ['native'] });
  t.equal(c.programs.length, 1);
  t.equal(runAll(c, AUDIT_ARCH['x86-64'], nr('getppid')), ALLOW);
  t.equal(runAll(c, AUDIT_ARCH['x86-64'], nr('getppid', 'x32')), KILL);
  t.equal(runAll(c, AUDIT_ARCH['x86-64'], 0xffffffff), KILL);
  t.equal(runAll(c, AUDIT_ARCH.x86, nr('getppid', 'x86')), KILL);
  const x86 = compile({ system_call_architectures: ['x86'] });
  t.equal(runAll(x86, AUDIT_ARCH.x86, nr('getppid', 'x86')), ALLOW, 'x86 listed: i386 runs');
  t.equal(runAll(x86, AUDIT_ARCH['x86-64'], nr('getppid', 'x32')), KILL, 'x32 still blocked');
  t.equal(runAll(x86, AUDIT_ARCH['x86-64'], nr('getppid')), ALLOW, 'native is never blocked');
});

t.test('arm64 compilation: AUDIT_ARCH_AARCH64, no x32 check, AArch32 handled', async (t) => {
  const c = compile({ system_call_filter: ['~getppid:EACCES'] }, 'arm64');
  const ins = insnsOf(c);
  t.same(ins[0], { code: 0x20, jt: 0, jf: 0, k: 4 });
  t.equal(ins[1]!.k, 0xc00000b7, 'jeq AUDIT_ARCH_AARCH64');
  t.notOk(ins.some((i) => i.k === 0x40000000), 'no x32 bit check on arm64');
  t.equal(runAll(c, AUDIT_ARCH.arm64, nr('getppid', 'arm64')), ERRNO(EACCES));
  t.equal(runAll(c, AUDIT_ARCH.arm64, nr('getppid')), ALLOW, 'x86-64 getppid number (110) is something else on arm64');
  t.equal(runAll(c, AUDIT_ARCH['x86-64'], 110), KILL);
  t.equal(runAll(c, AUDIT_ARCH_ARM, 64), KILL, 'AArch32 cannot be filtered without a table: killed');
  t.match(c.warnings.join('\n'), /AArch32/);
  const native = compile({ system_call_filter: ['~getppid:EACCES'], system_call_architectures: ['native'] }, 'arm64');
  t.same(native.warnings, [], 'no warning once AArch32 is blocked anyway');
  const archOnly = compile({ lock_personality: false }, 'arm64');
  t.equal(archOnly.programs.length, 0, 'no rules: AArch32 is left alone and nothing is installed');
});

t.test('no directive, no program; deterministic bytes', async (t) => {
  t.equal(compile({}).programs.length, 0);
  t.equal(compile({ restrict_namespaces: false, restrict_address_families: { deny: [] }, system_call_filter: ['~'] }).programs.length, 0);
  const a = compile({ system_call_filter: ['~mount reboot swapon'], restrict_address_families: { deny: ['AF_PACKET', 'AF_INET6'] } });
  const b = compile({ system_call_filter: ['~swapon reboot', '~mount'], restrict_address_families: { deny: ['AF_INET6', 'AF_PACKET'] } });
  t.ok(a.programs[0]!.filter.equals(b.programs[0]!.filter), 'same policy, different spelling → same bytes');
  t.ok(compile({ system_call_filter: ['@system-service'] }).programs[0]!.filter.equals(compile({ system_call_filter: ['@system-service'] }).programs[0]!.filter));
});

t.test('install steps: sock_fprog points at the off-heap filter; base64 round trip', { skip: process.arch !== 'x64' && process.arch !== 'arm64' }, async (t) => {
  const policy = seccompPolicyFromSandbox({ system_call_filter: ['~mount'], protect_clock: true }, { arch: 'x86-64' });
  const steps = seccompSteps(policy, { tsync: true });
  t.equal(steps.length, 1);
  const s = steps[0]!;
  t.equal(s.flags, SECCOMP_FILTER_FLAG_TSYNC);
  t.equal(s.fprog.length, 16);
  t.equal(s.fprog.readUInt16LE(0), s.instructions);
  t.equal(s.fprog.readBigUInt64LE(8), addressOf(s.filter), 'fprog.filter is the filter buffer');
  t.equal(s.filter.length, s.instructions * 8);
  t.same(seccompSteps(seccompPolicyFromSandbox({}, { arch: 'x86-64' })), [], 'nothing to install');
  const compiled = compileSeccomp(policy);
  const again = seccompStepsFromBase64(programsToBase64(compiled));
  t.ok(again[0]!.filter.equals(compiled.programs[0]!.filter));
  t.equal(again[0]!.flags, 0);
  t.equal(again[0]!.fprog.readBigUInt64LE(8), addressOf(again[0]!.filter));
  const broken = Buffer.from(compiled.programs[0]!.filter);
  broken.writeUInt16LE(0x05, broken.length - 8); // the last instruction becomes a jump past the end
  t.throws(() => seccompStepsFromBase64([broken.toString('base64')]), 'a program the kernel would refuse is refused here');
  t.throws(() => seccompStepsFromBase64([Buffer.alloc(12).toString('base64')]), 'a truncated instruction');
});

t.test('hundreds of syscalls: far jumps are trampolined and still exact', async (t) => {
  // Every syscall its own errno: no two neighbours merge, so the search tree spans > 255 instructions.
  const names = syscallNames('x86-64').filter((n) => n !== 'write').slice(0, 300);
  const c = compile({ system_call_filter: [`~${names.map((n, i) => `${n}:${100 + i}`).join(' ')}`] });
  const ins = insnsOf(c);
  t.ok(ins.length > 600, `${ins.length} instructions`);
  t.ok(ins.some((i) => i.code === (BPF_JMP | BPF_JA)), 'uses ja');
  checkSeccompFilter(ins);
  names.forEach((n, i) => {
    if (runAll(c, AUDIT_ARCH['x86-64'], nr(n)) !== ERRNO(100 + i)) t.fail(`${n}`);
  });
  t.pass('all 300 syscalls return their own errno');
  checkEquivalence(t, { system_call_filter: [`~${names.map((n, i) => `${n}:${100 + i}`).join(' ')}`] }, 'x86-64');
});

t.test('split layout when a program would be too long', async (t) => {
  const sandbox: SandboxSeccompFields = { system_call_filter: ['@system-service', '~@privileged'], system_call_error_number: 'EPERM', restrict_namespaces: true };
  const whole = compile(sandbox);
  const split = compileSeccomp(seccompPolicyFromSandbox(sandbox, { arch: 'x86-64' }), 'x86-64', { maxInstructions: 400 });
  t.equal(whole.programs.length, 1);
  t.same(split.programs.map((p) => p.covers), ['arch gate', 'x86-64', 'x32', 'x86']);
  for (const p of split.programs) t.ok(p.instructions <= 400);
  for (const s of whole.sections)
    for (const n of [...syscallNames(s.abi as SyscallArch).map((x) => nr(x, s.abi as SyscallArch)), 0x3fffffff, 0xffffffff]) {
      const args = [0x10000000n];
      if (runAll(split, s.auditArch, n, args) !== runAll(whole, s.auditArch, n, args)) t.fail(`${s.abi} ${n}`);
    }
  t.pass('split programs together behave like the single one');
  t.throws(() => compileSeccomp(seccompPolicyFromSandbox(sandbox, { arch: 'x86-64' }), 'x86-64', { maxInstructions: 50 }), /instructions/);
});

// ---------------------------------------------------------------------------------------------------------
// systemd's choices, spelled out

t.test("systemd's return values per directive", async (t) => {
  const X = AUDIT_ARCH['x86-64'];
  const run = (s: SandboxSeccompFields, name: string, args: readonly bigint[] = []): number => runAll(compile(s), X, nr(name), args);
  t.equal(run({ system_call_filter: ['~getppid'] }, 'getppid'), KILL, 'deny-list default action: kill');
  t.equal(run({ system_call_filter: ['~getppid'], system_call_error_number: 'EPERM' }, 'getppid'), ERRNO(EPERM));
  t.equal(run({ system_call_filter: ['~getppid:0'] }, 'getppid'), ERRNO(0), ':0 makes the call a no-op success');
  t.equal(run({ system_call_filter: ['@basic-io'] }, 'mount'), KILL, 'allow-list default: kill');
  t.equal(run({ system_call_filter: ['@basic-io'], system_call_error_number: 'EACCES' }, 'mount'), ERRNO(EACCES), 'allow-list default: SystemCallErrorNumber=');
  t.equal(run({ system_call_filter: ['@basic-io'] }, 'execve'), ALLOW, 'allow-list implies @default');
  t.equal(run({ system_call_filter: ['@default'] }, 'write'), ALLOW, 'write kept for the launcher (as systemd does for exec_fd)');
  t.equal(run({ system_call_filter: ['~write'] }, 'write'), ALLOW);
  t.equal(run({ system_call_filter: ['@basic-io', '~getppid:EACCES'] }, 'getppid'), ERRNO(EACCES), '~name:errno in an allow-list');
  t.equal(run({ system_call_log: ['getppid'] }, 'getppid'), SECCOMP_RET_LOG);
  t.equal(run({ system_call_log: ['getppid'] }, 'getpid'), ALLOW);
  t.equal(run({ system_call_log: ['~getppid'] }, 'getpid'), SECCOMP_RET_LOG);
  t.equal(run({ system_call_log: ['getppid'], system_call_filter: ['~getppid:EACCES'] }, 'getppid'), ERRNO(EACCES), 'errno beats log');
  const socket = (s: SandboxSeccompFields, af: bigint): number => run(s, 'socket', [af, 2n]);
  const allow = { restrict_address_families: { allow: ['AF_UNIX', 'AF_INET'] } };
  t.equal(socket(allow, 2n), ALLOW);
  t.equal(socket(allow, 17n), ERRNO(EAFNOSUPPORT));
  t.equal(socket(allow, 0n), ERRNO(EAFNOSUPPORT), 'AF_UNSPEC is below the first allowed family');
  t.equal(socket(allow, 0x1_0000_0002n), ALLOW, 'the kernel reads an int: high bits are ignored');
  t.equal(socket({ restrict_address_families: { deny: ['AF_PACKET'] } }, 0x1_0000_0011n), ERRNO(EAFNOSUPPORT), 'no bypass through high bits');
  t.equal(socket({ restrict_address_families: { allow: [] } }, 1n), ERRNO(EAFNOSUPPORT));
  const ns = { restrict_namespaces: { allow: ['uts'] } };
  t.equal(run(ns, 'unshare', [BigInt(CLONE_NEWUTS)]), ALLOW);
  t.equal(run(ns, 'unshare', [BigInt(CLONE_NEWNET | CLONE_NEWUTS)]), ERRNO(EPERM));
  t.equal(run(ns, 'clone', [BigInt(CLONE_NEWNET) | 17n]), ERRNO(EPERM));
  t.equal(run(ns, 'clone3'), ERRNO(ENOSYS), 'clone3 → ENOSYS so glibc falls back to clone');
  t.equal(run(ns, 'setns', [3n, 0n]), ERRNO(EPERM), 'setns with nstype 0');
  t.equal(run(ns, 'setns', [3n, BigInt(CLONE_NEWUTS)]), ALLOW);
  t.equal(run({ restrict_namespaces: true }, 'setns', [3n, BigInt(CLONE_NEWUTS)]), ERRNO(EPERM));
  const mdwe = { memory_deny_write_execute: true };
  t.equal(run(mdwe, 'mmap', [0n, 4096n, 6n]), ERRNO(EPERM));
  t.equal(run(mdwe, 'mmap', [0n, 4096n, 5n]), ALLOW, 'read+exec mapping is fine');
  t.equal(run(mdwe, 'mprotect', [0n, 4096n, 5n]), ERRNO(EPERM), 'mprotect may never add PROT_EXEC');
  t.equal(run(mdwe, 'shmat', [0n, 0n, 0o100000n]), ERRNO(EPERM));
  t.equal(runAll(compile(mdwe), AUDIT_ARCH.x86, nr('mmap', 'x86')), ERRNO(EPERM), 'i386 old_mmap blocked outright');
  const rt = { restrict_realtime: true };
  for (const [p, want] of [[0n, ALLOW], [1n, ERRNO(EPERM)], [2n, ERRNO(EPERM)], [3n, ALLOW], [4n, ERRNO(EPERM)], [5n, ALLOW], [6n, ERRNO(EPERM)], [0x40000000n, ERRNO(EPERM)]] as const)
    t.equal(run(rt, 'sched_setscheduler', [0n, p]), want, `sched_setscheduler policy ${p}`);
  t.equal(run(rt, 'sched_setattr'), ERRNO(ENOSYS));
  const lp = { lock_personality: true };
  t.equal(run(lp, 'personality', [BigInt(PER_LINUX)]), ALLOW);
  t.equal(run(lp, 'personality', [0xffffffffn]), ALLOW, 'query allowed');
  t.equal(run(lp, 'personality', [BigInt(PER_LINUX32)]), ERRNO(EPERM));
  t.equal(run({ ...lp, personality: 'x86' }, 'personality', [BigInt(PER_LINUX32)]), ALLOW, 'Personality=x86 locks PER_LINUX32');
  const sx = { restrict_suid_sgid: true };
  t.equal(run(sx, 'chmod', [0n, 0o4755n]), ERRNO(EPERM));
  t.equal(run(sx, 'chmod', [0n, 0o2755n]), ERRNO(EPERM));
  t.equal(run(sx, 'chmod', [0n, 0o1777n]), ALLOW, 'sticky bit is fine');
  t.equal(run(sx, 'fchmodat', [0n, 0n, 0o4755n]), ERRNO(EPERM));
  t.equal(run(sx, 'fchmodat2', [0n, 0n, 0o4755n]), ERRNO(EPERM));
  t.equal(run(sx, 'open', [0n, 0o101n, 0o4755n]), ERRNO(EPERM), 'open(O_CREAT|O_WRONLY, 04755)');
  t.equal(run(sx, 'open', [0n, 0o1n, 0o4755n]), ALLOW, 'no O_CREAT: the mode is ignored by the kernel');
  t.equal(run(sx, 'openat', [0n, 0n, 0o100n, 0o2755n]), ERRNO(EPERM));
  t.equal(run(sx, 'openat2'), ERRNO(ENOSYS));
  t.equal(run(sx, 'mknodat', [0n, 0n, 0o104755n]), ERRNO(EPERM));
  t.equal(run({ protect_clock: true }, 'clock_settime'), ERRNO(EPERM));
  t.equal(run({ protect_clock: true, system_call_filter: ['~clock_settime:EACCES'] }, 'clock_settime'), ERRNO(EACCES), 'SystemCallFilter= is installed last: its errno wins');
  t.equal(run({ protect_kernel_modules: true }, 'finit_module'), ERRNO(EPERM));
  t.equal(run({ protect_kernel_logs: true }, 'syslog'), ERRNO(EPERM));
  t.equal(run({ protect_hostname: true }, 'sethostname'), ERRNO(EPERM));
  t.equal(run({ protect_hostname: true }, 'setdomainname'), ERRNO(EPERM));
  t.equal(run({ protect_kernel_tunables: true }, '_sysctl'), ERRNO(EPERM));
  t.equal(run({ private_devices: true }, 'iopl'), ERRNO(EPERM));
  t.equal(run({ protect_clock: true, system_call_filter: ['@basic-io'] }, 'clock_settime'), KILL, 'kill beats errno');
});

// ---------------------------------------------------------------------------------------------------------
// Policy derivation from the YAML model

t.test('seccompPolicyFromSandbox', async (t) => {
  const p = seccompPolicyFromSandbox(
    {
      system_call_filter: ['@system-service', '~@mount'],
      system_call_error_number: 'EPERM',
      system_call_architectures: ['native'],
      restrict_address_families: { allow: ['AF_INET6', 'af_unix', 'AF_INET'] },
      restrict_namespaces: { allow: ['net', 'uts'] },
      lock_personality: true,
      system_call_log: ['@clock', '~clock_settime'],
      memory_deny_write_execute: true,
    },
    { arch: 'x86-64' },
  );
  t.equal(p.arch, 'x86-64');
  t.same(p.architectures, ['native']);
  t.equal(p.syscallFilter?.errorNumber, EPERM);
  t.equal(p.syscallFilter?.state.allowList, true);
  t.notOk(p.syscallFilter?.state.syscalls.has('mount'));
  t.same(p.addressFamilies, { kind: 'allow', families: [1, 2, 10] });
  t.equal(p.namespacesAllowed, CLONE_NEWNET | CLONE_NEWUTS);
  t.equal(p.lockPersonality, PER_LINUX);
  t.ok(p.syscallLog?.syscalls.has('adjtimex'));
  t.notOk(p.syscallLog?.syscalls.has('clock_settime'));
  t.equal(p.memoryDenyWriteExecute, true);
  t.equal(p.restrictRealtime, false);
  t.same(p.keepSyscalls, ['write']);

  t.equal(seccompPolicyFromSandbox({ lock_personality: true }, { arch: 'x86-64', currentPersonality: PER_LINUX32 | 0x0400000 }).lockPersonality, PER_LINUX32, 'opinionated personality');
  t.equal(seccompPolicyFromSandbox({ restrict_namespaces: true }, { arch: 'x86-64' }).namespacesAllowed, 0);
  t.equal(seccompPolicyFromSandbox({ restrict_namespaces: false }, { arch: 'x86-64' }).namespacesAllowed, undefined);
  t.same(seccompPolicyFromSandbox({ restrict_address_families: { deny: [] } }, { arch: 'x86-64' }).addressFamilies, { kind: 'unrestricted' });
  t.same(seccompPolicyFromSandbox({ restrict_address_families: { allow: [] } }, { arch: 'x86-64' }).addressFamilies, { kind: 'allow', families: [] });
  t.equal(seccompPolicyFromSandbox({ system_call_filter: ['~mount'] }, { arch: 'x86-64' }).syscallFilter?.errorNumber, 'kill');
  t.equal(seccompPolicyFromSandbox({ system_call_filter: ['~mount'], system_call_error_number: 'kill' }, { arch: 'x86-64' }).syscallFilter?.errorNumber, 'kill');

  t.throws(() => seccompPolicyFromSandbox({ restrict_address_families: { allow: ['AF_NOPE'] } }, { arch: 'x86-64' }), SeccompPolicyError);
  t.throws(() => seccompPolicyFromSandbox({ restrict_namespaces: { allow: ['bogus'] } }, { arch: 'x86-64' }), SeccompPolicyError);
  t.throws(() => seccompPolicyFromSandbox({ system_call_error_number: 'ENOTANERRNO' }, { arch: 'x86-64' }), SeccompPolicyError);
  t.throws(() => seccompPolicyFromSandbox({ lock_personality: true, personality: 'arm64' }, { arch: 'x86-64' }), SeccompPolicyError);

  t.same(sandboxSeccompFields(undefined), {});
  const ok = { protect_clock: true, restrict_address_families: { deny: ['AF_PACKET'] }, restrict_namespaces: { allow: ['net'] }, other: 1 };
  t.equal(sandboxSeccompFields(ok), ok);
  t.throws(() => sandboxSeccompFields({ protect_clock: 'yes' }), /protect_clock/);
  t.throws(() => sandboxSeccompFields({ system_call_filter: 'mount' }), /system_call_filter/);
  t.throws(() => sandboxSeccompFields({ restrict_address_families: { allow: ['AF_INET'], deny: [] } }), /restrict_address_families/);
  t.throws(() => sandboxSeccompFields({ restrict_namespaces: ['net'] }), /restrict_namespaces/);
});
