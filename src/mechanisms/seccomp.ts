/**
 * A seccomp-BPF compiler in TypeScript (no libseccomp): SeccompPolicy → `struct sock_filter[]` buffers.
 *
 * systemd installs one libseccomp filter per directive and ABI (see ./seccomp-rules.ts); the kernel runs them
 * all and keeps the most restrictive answer. We merge those filters into one program that returns, for every
 * input, the value the kernel would have settled on with systemd's stack of filters — evaluateLayers() is the
 * reference, and tests check the program against it with a BPF interpreter. Program layout:
 *
 *   ld [4] (arch) ─ jeq AUDIT_ARCH_<abi> → section … ; anything else → ret KILL_PROCESS
 *   section x86-64:  ld [0] (nr); jge 0x40000000 → x32 section or KILL (x32 calls carry the x86-64 audit
 *                    arch with bit 30 set in nr: without this check a deny-list could be bypassed)
 *   section body:    binary search over the syscall number, then per-syscall argument checks, then return
 *
 * Dispatch: syscall numbers are cut into maximal intervals of equal treatment (numbers nobody mentions get
 * the section default), and a balanced tree of `jge` over the interval bounds picks the interval, so a call
 * costs ⌈log2(intervals)⌉ comparisons plus its argument checks; code size is O(intervals + checks).
 * Arguments are read as their low 32-bit word: offset 16 + 8·i (little-endian).
 *
 * An ABI SystemCallArchitectures= blocks is killed (SECCOMP_RET_KILL_PROCESS, where libseccomp's default
 * bad-arch action is KILL_THREAD). An ABI without a syscall table here (AArch32 on arm64) is killed when
 * any rule exists, with a warning, because its calls could not be filtered.
 *
 * The result is deterministic (same policy → same bytes). If one program would exceed BPF_MAXINSNS, each
 * ABI section becomes its own program (plus one for the architecture gate); the kernel's "most restrictive
 * wins" makes the set equivalent.
 */
import { BpfAssembler, BPF_MAXINSNS, decodeFilter, encodeFilter, SOCK_FILTER_SIZE, sockFprog, type SockFilter, type Target } from './bpf.js';
import { checkSeccompFilter } from './bpf-run.js';
import { AUDIT_ARCH, X32_SYSCALL_BIT, restrictSyscallArchitectures } from '../unit/values/syscalls.js';
import {
  SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS, actionRank, actionValue, seccompLayers,
  type ArgCheck, type SeccompAbi, type SeccompLayer, type SeccompRule,
} from './seccomp-rules.js';
import type { SeccompArch, SeccompPolicy } from './seccomp-policy.js';
import { addressOf, SECCOMP_FILTER_FLAG_TSYNC } from './seccomp-syscalls.js';

export type { SeccompArch, SeccompPolicy } from './seccomp-policy.js';
export { seccompPolicyFromSandbox, sandboxSeccompFields, SeccompPolicyError } from './seccomp-policy.js';

/** AUDIT_ARCH_ARM (linux/audit.h): AArch32 tasks on an arm64 kernel. */
export const AUDIT_ARCH_ARM = 0x40000028;
const OFF_NR = 0;
const OFF_ARCH = 4;
const argOffset = (i: number): number => 16 + 8 * i;
const U32_END = 0x1_0000_0000;

/** One ABI of the native kernel and how the program treats it. */
export interface AbiSection {
  readonly abi: SeccompAbi;
  readonly auditArch: number;
  /** The syscall numbers of this ABI: [lo, hi). */
  readonly lo: number;
  readonly hi: number;
  /** 'kill': SystemCallArchitectures= blocks it (or it cannot be filtered); 'filter': `layers` apply. */
  readonly mode: 'filter' | 'kill';
  readonly layers: readonly SeccompLayer[];
}

export interface SeccompProgram {
  /** `struct sock_filter[]`, off-heap (Buffer.allocUnsafeSlow) so its address is stable. */
  readonly filter: Buffer;
  readonly instructions: number;
  /** What the program covers, e.g. "x86-64,x32,x86" or "arch gate". */
  readonly covers: string;
}

export interface CompiledSeccomp {
  /** Empty when the policy needs no filter at all. Install in order; each under BPF_MAXINSNS. */
  readonly programs: readonly SeccompProgram[];
  readonly sections: readonly AbiSection[];
  readonly warnings: readonly string[];
}

const LOCAL_ABIS: Readonly<Record<SeccompArch, readonly { abi: SeccompAbi; auditArch: number; lo: number; hi: number }[]>> = {
  // Native first: its nr range is checked before x32's, which shares its audit arch.
  'x86-64': [
    { abi: 'x86-64', auditArch: AUDIT_ARCH['x86-64'], lo: 0, hi: X32_SYSCALL_BIT },
    { abi: 'x32', auditArch: AUDIT_ARCH.x32, lo: X32_SYSCALL_BIT, hi: U32_END },
    { abi: 'x86', auditArch: AUDIT_ARCH.x86, lo: 0, hi: U32_END },
  ],
  arm64: [
    { abi: 'arm64', auditArch: AUDIT_ARCH.arm64, lo: 0, hi: U32_END },
    { abi: 'arm', auditArch: AUDIT_ARCH_ARM, lo: 0, hi: U32_END },
  ],
};

/** The ABI sections of a policy (which ABIs run, and the filter layers of each). */
export function abiSections(policy: SeccompPolicy, arch: SeccompArch = policy.arch): { sections: AbiSection[]; warnings: string[] } {
  const warnings: string[] = [];
  const { allowed } = restrictSyscallArchitectures(policy.architectures?.length ? new Set(policy.architectures) : undefined, arch);
  const sections: AbiSection[] = [];
  const layers = new Map<SeccompAbi, SeccompLayer[]>();
  for (const s of LOCAL_ABIS[arch]) if (s.abi !== 'arm') layers.set(s.abi, seccompLayers(policy, s.abi));
  const anyRules = [...layers.values()].some((l) => l.length > 0);
  for (const s of LOCAL_ABIS[arch]) {
    if (!allowed.includes(s.abi)) {
      sections.push({ ...s, mode: 'kill', layers: [] });
    } else if (s.abi === 'arm') {
      if (anyRules) warnings.push('no syscall table for AArch32 (arm) tasks: they are killed instead of filtered; set SystemCallArchitectures=native to silence this');
      sections.push({ ...s, mode: anyRules ? 'kill' : 'filter', layers: [] });
    } else sections.push({ ...s, mode: 'filter', layers: layers.get(s.abi) ?? [] });
  }
  return { sections, warnings };
}

// ---------------------------------------------------------------------------------------------------------
// Decisions: what a section does for one syscall number.

interface Candidate {
  readonly when: readonly ArgCheck[];
  readonly ret: number;
}

/**
 * The ordered checks that reproduce the kernel's combination of `layers` for syscall `nr`: every layer
 * contributes its rules for `nr` (or its default); they are tried most restrictive first, newest layer first
 * among equals, and the first that matches decides. A layer's default is tried as "always" even when one of
 * its own rules may match: that is exact because a conditional rule is never less restrictive than its
 * layer's default (asserted), so the rule, if it matches, is tried first.
 */
function decide(layers: readonly SeccompLayer[], nr: number): Candidate[] {
  const cands: (Candidate & { readonly layer: number; readonly seq: number })[] = [];
  layers.forEach((layer, idx) => {
    const rules = rulesByNr(layer).get(nr) ?? [];
    const def = actionValue(layer.defaultAction);
    const always = rules.find((r) => r.when.length === 0);
    if (always !== undefined) {
      cands.push({ when: [], ret: actionValue(always.action), layer: idx, seq: cands.length });
      return;
    }
    for (const r of rules) {
      const ret = actionValue(r.action);
      if (actionRank(ret) > actionRank(def)) throw new Error(`${layer.directive}: a conditional rule less restrictive than its default`);
      cands.push({ when: r.when, ret, layer: idx, seq: cands.length });
    }
    cands.push({ when: [], ret: def, layer: idx, seq: cands.length });
  });
  cands.sort((a, b) => actionRank(a.ret) - actionRank(b.ret) || b.layer - a.layer || a.seq - b.seq);
  const end = cands.findIndex((c) => c.when.length === 0);
  const out: Candidate[] = end < 0 ? [...cands, { when: [], ret: SECCOMP_RET_ALLOW }] : cands.slice(0, end + 1);
  // Checks right before the final "always" that return the same value are redundant.
  while (out.length > 1 && out[out.length - 2]!.ret === out[out.length - 1]!.ret) out.splice(out.length - 2, 1);
  return out.map(({ when, ret }) => ({ when, ret }));
}

const byNrCache = new WeakMap<SeccompLayer, Map<number, SeccompRule[]>>();
function rulesByNr(layer: SeccompLayer): Map<number, SeccompRule[]> {
  let m = byNrCache.get(layer);
  if (m === undefined) {
    m = new Map();
    for (const r of layer.rules) m.set(r.nr, [...(m.get(r.nr) ?? []), r]);
    byNrCache.set(layer, m);
  }
  return m;
}

interface Interval {
  readonly lo: number;
  readonly hi: number;
  readonly decision: readonly Candidate[];
  readonly key: string;
}

const intervalCache = new WeakMap<AbiSection, Interval[]>();

/** Maximal intervals of equal decisions covering [section.lo, section.hi). */
function intervalsOf(section: AbiSection): Interval[] {
  const cached = intervalCache.get(section);
  if (cached !== undefined) return cached;
  const defaultDecision = decide(section.layers, -1); // no rule mentions nr -1: every layer's default
  const defaultKey = JSON.stringify(defaultDecision);
  const nrs = [...new Set(section.layers.flatMap((l) => l.rules.map((r) => r.nr)))]
    .filter((n) => n >= section.lo && n < section.hi)
    .sort((a, b) => a - b);
  const out: Interval[] = [];
  const push = (lo: number, hi: number, decision: readonly Candidate[], key: string): void => {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.key === key && prev.hi === lo) out[out.length - 1] = { ...prev, hi };
    else out.push({ lo, hi, decision, key });
  };
  let cur = section.lo;
  for (const nr of nrs) {
    if (nr > cur) push(cur, nr, defaultDecision, defaultKey);
    const d = decide(section.layers, nr);
    push(nr, nr + 1, d, JSON.stringify(d));
    cur = nr + 1;
  }
  if (cur < section.hi) push(cur, section.hi, defaultDecision, defaultKey);
  intervalCache.set(section, out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Code generation

/** Emitter checks: ArgCheck, plus "any of these bits is set" (one `jset`), which merged bit tests become. */
type Check = ArgCheck | { readonly arg: number; readonly op: 'any'; readonly mask: number };

const singleBit = (c: ArgCheck): boolean => c.op === 'masked-eq' && c.value === c.mask && c.mask !== 0 && (c.mask & (c.mask - 1)) === 0;
const asAny = (c: ArgCheck): Check => (c.op === 'masked-eq' && singleBit(c) ? { arg: c.arg, op: 'any', mask: c.mask } : c);

/**
 * "if P1 return r; if P2 return r" is "if (P1 or P2) return r": consecutive candidates that each test one
 * bit of the same argument and return the same value become one `jset` of the union of the bits (e.g. the
 * seven CLONE_NEW* tests of RestrictNamespaces= on clone()).
 */
function mergeBitTests(decision: readonly Candidate[]): { when: Check[]; ret: number }[] {
  const out: { when: Check[]; ret: number }[] = [];
  for (const c of decision) {
    const prev = out[out.length - 1];
    const cur = c.when.length === 1 ? asAny(c.when[0]!) : undefined;
    const last = prev !== undefined && prev.when.length === 1 ? prev.when[0]! : undefined;
    if (prev !== undefined && prev.ret === c.ret && cur?.op === 'any' && last?.op === 'any' && last.arg === cur.arg)
      prev.when = [{ arg: cur.arg, op: 'any', mask: (last.mask | cur.mask) >>> 0 }];
    else out.push({ when: c.when.map(asAny), ret: c.ret });
  }
  return out;
}

/** Emits the candidate checks of one decision; every path ends in a `ret`. */
function emitDecision(asm: BpfAssembler, decision: readonly Candidate[]): void {
  let loaded = -1; // the argument A holds on entry to the next candidate (-1: not an argument)
  for (const c of mergeBitTests(decision)) {
    if (c.when.length === 0) {
      asm.ret(c.ret);
      return;
    }
    const next = asm.label();
    let exitA: number | undefined; // what A holds at every jump to `next` (-1: unknown or mixed)
    const fail = (): void => {
      exitA = exitA === undefined || exitA === loaded ? loaded : -1;
    };
    for (const chk of c.when) {
      if (loaded !== chk.arg) asm.ld(argOffset(chk.arg));
      loaded = chk.arg;
      const pass: Target = null;
      switch (chk.op) {
        case 'eq':
          asm.jump('jeq', chk.value, pass, next);
          break;
        case 'ne':
          asm.jump('jeq', chk.value, next, pass);
          break;
        case 'gt':
          asm.jump('jgt', chk.value, pass, next);
          break;
        case 'lt':
          asm.jump('jge', chk.value, next, pass);
          break;
        case 'any':
          asm.jump('jset', chk.mask, pass, next);
          break;
        case 'masked-eq':
          asm.and(chk.mask);
          loaded = -1; // A = arg & mask now
          asm.jump('jeq', chk.value, pass, next);
      }
      fail();
    }
    asm.ret(c.ret);
    asm.bind(next);
    loaded = exitA ?? -1;
  }
  throw new Error('decision without a final action');
}

/** A balanced binary search over interval bounds; A must hold the syscall number. */
function emitTree(asm: BpfAssembler, iv: readonly Interval[], a: number, b: number): void {
  if (a === b) {
    emitDecision(asm, iv[a]!.decision);
    return;
  }
  const mid = Math.ceil((a + b) / 2);
  const right = asm.label();
  asm.jump('jge', iv[mid]!.lo, right, null);
  emitTree(asm, iv, a, mid - 1);
  asm.bind(right);
  emitTree(asm, iv, mid, b);
}

/** Section code, entered once the arch matched; loads nr unless A already holds it. */
function emitSection(asm: BpfAssembler, s: AbiSection, nrLoaded: boolean): void {
  if (s.mode === 'kill') {
    asm.ret(SECCOMP_RET_KILL_PROCESS);
    return;
  }
  const iv = intervalsOf(s);
  if (iv.length > 1 && !nrLoaded) asm.ld(OFF_NR);
  emitTree(asm, iv, 0, iv.length - 1);
}

/** Emits the x86-64 audit-arch entry: native numbers below X32_SYSCALL_BIT, x32 at or above it. */
function emitSharedAudit(asm: BpfAssembler, native: AbiSection, x32: AbiSection): void {
  const x32Label = asm.label();
  asm.ld(OFF_NR);
  asm.jump('jge', X32_SYSCALL_BIT, x32Label, null);
  emitSection(asm, native, true);
  asm.bind(x32Label);
  emitSection(asm, x32, true);
}

/** One program for the given sections; `others` decides what happens to arches not listed (KILL in the merged program, ALLOW in a split one). */
function programFor(sections: readonly AbiSection[], others: number): SockFilter[] {
  const asm = new BpfAssembler();
  asm.ld(OFF_ARCH);
  const byAudit = new Map<number, AbiSection[]>();
  for (const s of sections) byAudit.set(s.auditArch, [...(byAudit.get(s.auditArch) ?? []), s]);
  // An audit arch whose every ABI is killed needs no entry when unknown arches are killed anyway.
  const entries = [...byAudit]
    .filter(([, ss]) => others !== SECCOMP_RET_KILL_PROCESS || ss.some((x) => x.mode !== 'kill'))
    .map(([audit, ss]) => ({ audit, ss, label: asm.label() }));
  for (const e of entries) asm.jump('jeq', e.audit, e.label, null);
  asm.ret(others);
  for (const e of entries) {
    asm.bind(e.label);
    const [first, second] = e.ss;
    if (second !== undefined) emitSharedAudit(asm, first!, second);
    else if (first!.lo > 0 || first!.hi < U32_END) {
      // One ABI of a shared audit arch alone (split programs): other numbers are not ours.
      const out = asm.label();
      asm.ld(OFF_NR);
      if (first!.lo > 0) asm.jump('jge', first!.lo, null, out);
      else asm.jump('jge', first!.hi, out, null);
      emitSection(asm, first!, true);
      asm.bind(out);
      asm.ret(others);
    } else emitSection(asm, first!, false);
  }
  return asm.assemble();
}

const allAllow = (s: AbiSection): boolean => s.mode === 'filter' && intervalsOf(s).every((i) => i.decision.length === 1 && i.decision[0]!.ret === SECCOMP_RET_ALLOW);

function toProgram(insns: readonly SockFilter[], covers: string): SeccompProgram {
  return { filter: encodeFilter(insns), instructions: insns.length, covers };
}

export interface CompileOptions {
  /** Program size limit (default and maximum BPF_MAXINSNS); smaller values force the split layout. */
  readonly maxInstructions?: number;
}

/** Compiles a policy for `arch` (default: the policy's). */
export function compileSeccomp(policy: SeccompPolicy, arch: SeccompArch = policy.arch, opts: CompileOptions = {}): CompiledSeccomp {
  const limit = Math.min(opts.maxInstructions ?? BPF_MAXINSNS, BPF_MAXINSNS);
  const { sections, warnings } = abiSections(policy, arch);
  if (sections.every(allAllow)) return { programs: [], sections, warnings };
  const merged = programFor(sections, SECCOMP_RET_KILL_PROCESS);
  if (merged.length <= limit) return { programs: [toProgram(merged, sections.map((s) => s.abi).join(','))], sections, warnings };
  // Too long for one program: an architecture gate plus one program per filtered ABI.
  const gate = programFor(sections.map((s) => (s.mode === 'filter' ? { ...s, layers: [] } : s)), SECCOMP_RET_KILL_PROCESS);
  const programs = [toProgram(gate, 'arch gate')];
  for (const s of sections.filter((x) => x.mode === 'filter' && !allAllow(x))) {
    const p = programFor([s], SECCOMP_RET_ALLOW);
    if (p.length > limit) throw new Error(`seccomp program for ${s.abi} needs ${p.length} instructions (limit ${limit})`);
    programs.push(toProgram(p, s.abi));
  }
  return { programs, sections, warnings };
}

/** A prebuilt install step for the launcher: pass `fprog` to seccomp(SECCOMP_SET_MODE_FILTER, flags, fprog). */
export interface SeccompStep {
  readonly kind: 'seccomp';
  /** Keep alive as long as `fprog` may be used: fprog points into it. */
  readonly filter: Buffer;
  /** `struct sock_fprog` (16 bytes), off-heap. */
  readonly fprog: Buffer;
  readonly flags: number;
  readonly instructions: number;
  readonly covers: string;
}

export interface SeccompStepOptions {
  /** Apply to every thread (SECCOMP_FILTER_FLAG_TSYNC); not needed in a single-threaded fork child. */
  readonly tsync?: boolean;
}

/** The install steps of a compiled policy (empty: nothing to install). */
export function seccompStepsOf(compiled: CompiledSeccomp, opts: SeccompStepOptions = {}): SeccompStep[] {
  return compiled.programs.map((p) => ({
    kind: 'seccomp',
    filter: p.filter,
    fprog: sockFprog(p.instructions, addressOf(p.filter)),
    flags: opts.tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0,
    instructions: p.instructions,
    covers: p.covers,
  }));
}

/** The programs as base64 strings: JSON-safe, e.g. for a launch plan that crosses a pipe. */
export function programsToBase64(compiled: CompiledSeccomp): string[] {
  return compiled.programs.map((p) => p.filter.toString('base64'));
}

/**
 * Install steps from base64 programs (see programsToBase64). Each is checked the way the kernel's
 * seccomp_check_filter() would, so a bad plan fails here, in the parent, not in the child.
 */
export function seccompStepsFromBase64(programs: readonly string[], opts: SeccompStepOptions = {}): SeccompStep[] {
  return seccompStepsOf(
    {
      programs: programs.map((b64, i) => {
        const bytes = Buffer.from(b64, 'base64');
        checkSeccompFilter(decodeFilter(bytes));
        const filter = Buffer.allocUnsafeSlow(bytes.length);
        bytes.copy(filter);
        return { filter, instructions: bytes.length / SOCK_FILTER_SIZE, covers: `program ${i}` };
      }),
      sections: [],
      warnings: [],
    },
    opts,
  );
}

/** compileSeccomp() + seccompStepsOf(). Throws (Error) if the policy cannot be compiled. */
export function seccompSteps(policy: SeccompPolicy, opts: SeccompStepOptions = {}): SeccompStep[] {
  return seccompStepsOf(compileSeccomp(policy), opts);
}
