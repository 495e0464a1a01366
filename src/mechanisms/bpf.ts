/**
 * Classic BPF for seccomp: instruction encoding, a small assembler with labels and long jumps, the
 * `struct sock_fprog` wrapper, and a disassembler.
 *
 * `struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }` is 8 bytes, little-endian on every architecture we
 * build for (x86-64, arm64). Jumps are relative and forward only: a taken branch goes to `pc + 1 + offset`.
 * jt/jf are u8, so a conditional branch reaches at most 255 instructions ahead; `BPF_JA` has a 32-bit k.
 * The assembler keeps branch targets symbolic and, where a target is too far, rewrites
 *
 *     jeq k, FAR, near      as      jeq k, 0, near+1 ; ja FAR
 *
 * (and symmetrically for jf, or both). Growing one branch can push another out of range, so layout is
 * repeated until nothing changes; sizes only grow, so this terminates (at most 3 instructions per branch).
 */

// Instruction classes, sizes, modes and operations (linux/bpf_common.h, linux/filter.h).
export const BPF_LD = 0x00;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_K = 0x00;
export const BPF_AND = 0x50;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

/** BPF_MAXINSNS (linux/bpf_common.h): the kernel refuses longer classic programs with EINVAL. */
export const BPF_MAXINSNS = 4096;
export const SOCK_FILTER_SIZE = 8;
export const SOCK_FPROG_SIZE = 16;

/** One encoded instruction. */
export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export type JumpOp = 'jeq' | 'jgt' | 'jge' | 'jset';
const JUMP_CODE: Readonly<Record<JumpOp, number>> = {
  jeq: BPF_JMP | BPF_JEQ | BPF_K,
  jgt: BPF_JMP | BPF_JGT | BPF_K,
  jge: BPF_JMP | BPF_JGE | BPF_K,
  jset: BPF_JMP | BPF_JSET | BPF_K,
};

/** A branch target. `null` means "the instruction after this one" (fall through). */
export type Label = number;
export type Target = Label | null;

type Item =
  | { readonly kind: 'plain'; readonly code: number; readonly k: number }
  | { readonly kind: 'jump'; readonly code: number; readonly k: number; readonly jt: Target; readonly jf: Target; tFar: boolean; fFar: boolean }
  | { readonly kind: 'ja'; readonly target: Label };

const MAX_SHORT = 255;

export class BpfAssembler {
  private readonly items: Item[] = [];
  /** label → index of the item it precedes (items.length = the end). */
  private readonly bound = new Map<Label, number>();
  private nextLabel = 0;

  /** Number of items emitted so far (before long-jump expansion). */
  get size(): number {
    return this.items.length;
  }

  label(): Label {
    return this.nextLabel++;
  }

  /** Binds `l` to the next instruction emitted. */
  bind(l: Label): void {
    if (this.bound.has(l)) throw new Error(`BPF label ${l} bound twice`);
    this.bound.set(l, this.items.length);
  }

  /** A = 32-bit word at `offset` of the input (seccomp_data). */
  ld(offset: number): void {
    this.items.push({ kind: 'plain', code: BPF_LD | BPF_W | BPF_ABS, k: offset });
  }

  /** A &= k. */
  and(k: number): void {
    this.items.push({ kind: 'plain', code: BPF_ALU | BPF_AND | BPF_K, k: k >>> 0 });
  }

  ret(k: number): void {
    this.items.push({ kind: 'plain', code: BPF_RET | BPF_K, k: k >>> 0 });
  }

  /** if (A op k) goto jt else goto jf — unsigned comparisons; jset tests A & k != 0. */
  jump(op: JumpOp, k: number, jt: Target, jf: Target): void {
    this.items.push({ kind: 'jump', code: JUMP_CODE[op], k: k >>> 0, jt, jf, tFar: false, fFar: false });
  }

  ja(target: Label): void {
    this.items.push({ kind: 'ja', target });
  }

  /** Lays out long jumps and encodes. Throws if a label is unbound or a branch goes backwards. */
  assemble(): SockFilter[] {
    const items = this.items;
    const pos = new Array<number>(items.length + 1);
    const itemSize = (it: Item): number => (it.kind === 'jump' ? 1 + Number(it.tFar) + Number(it.fFar) : 1);
    const where = (t: Label, from: number): number => {
      const idx = this.bound.get(t);
      if (idx === undefined) throw new Error(`BPF label ${t} is not bound`);
      if (idx <= from) throw new Error(`BPF branch from item ${from} to label ${t} goes backwards`);
      return pos[idx]!;
    };
    for (;;) {
      pos[0] = 0;
      for (let i = 0; i < items.length; i++) pos[i + 1] = pos[i]! + itemSize(items[i]!);
      let changed = false;
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        if (it.kind !== 'jump') continue;
        if (!it.tFar && it.jt !== null && where(it.jt, i) - (pos[i]! + 1) > MAX_SHORT) {
          it.tFar = true;
          changed = true;
        }
        if (!it.fFar && it.jf !== null && where(it.jf, i) - (pos[i]! + 1) > MAX_SHORT) {
          it.fFar = true;
          changed = true;
        }
      }
      if (!changed) break;
    }
    const out: SockFilter[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const p = pos[i]!;
      const end = pos[i + 1]!;
      if (it.kind === 'plain') out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      else if (it.kind === 'ja') out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: where(it.target, i) - (p + 1) });
      else {
        // Layout: [branch] [ja T if tFar] [ja F if fFar]; a null target is `end`.
        const tSlot = p + 1;
        const fSlot = p + 1 + Number(it.tFar);
        const dest = (t: Target): number => (t === null ? end : where(t, i));
        const jt = it.tFar ? tSlot - (p + 1) : dest(it.jt) - (p + 1);
        const jf = it.fFar ? fSlot - (p + 1) : dest(it.jf) - (p + 1);
        out.push({ code: it.code, jt, jf, k: it.k });
        if (it.tFar) out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: dest(it.jt) - (tSlot + 1) });
        if (it.fFar) out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: dest(it.jf) - (fSlot + 1) });
      }
    }
    for (const [i, ins] of out.entries())
      if (ins.jt > MAX_SHORT || ins.jf > MAX_SHORT || ins.jt < 0 || ins.jf < 0 || ins.k < 0)
        throw new Error(`BPF layout failed at instruction ${i}`);
    return out;
  }
}

/** Encodes instructions into a `struct sock_filter[]` (off-heap, unpooled: its address stays put). */
export function encodeFilter(insns: readonly SockFilter[]): Buffer {
  const buf = Buffer.allocUnsafeSlow(insns.length * SOCK_FILTER_SIZE);
  insns.forEach((ins, i) => {
    const o = i * SOCK_FILTER_SIZE;
    buf.writeUInt16LE(ins.code, o);
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
    buf.writeUInt32LE(ins.k >>> 0, o + 4);
  });
  return buf;
}

export function decodeFilter(buf: Uint8Array): SockFilter[] {
  if (buf.length % SOCK_FILTER_SIZE !== 0) throw new Error('sock_filter buffer length is not a multiple of 8');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += SOCK_FILTER_SIZE)
    out.push({ code: dv.getUint16(o, true), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, true) });
  return out;
}

/**
 * `struct sock_fprog { unsigned short len; struct sock_filter *filter; }`: 16 bytes on LP64 (2 bytes length,
 * 6 bytes padding, 8 bytes pointer). `filterAddress` is the address of the sock_filter array
 * (koffi.address(filter)); the caller must keep that buffer alive while the fprog is used.
 */
export function sockFprog(instructions: number, filterAddress: bigint): Buffer {
  if (instructions < 1 || instructions > BPF_MAXINSNS) throw new RangeError(`BPF program length ${instructions} out of range`);
  const buf = Buffer.allocUnsafeSlow(SOCK_FPROG_SIZE);
  buf.fill(0);
  buf.writeUInt16LE(instructions, 0);
  buf.writeBigUInt64LE(filterAddress, 8);
  return buf;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** One line per instruction, e.g. `  12: jeq 0x3b  jt 13 jf 14` (absolute targets). */
export function disassemble(insns: readonly SockFilter[]): string[] {
  return insns.map((ins, pc) => {
    const at = String(pc).padStart(4);
    const cls = ins.code & 0x07;
    if (ins.code === (BPF_LD | BPF_W | BPF_ABS)) return `${at}: ld [${ins.k}]`;
    if (ins.code === (BPF_ALU | BPF_AND | BPF_K)) return `${at}: and ${hex(ins.k)}`;
    if (ins.code === (BPF_RET | BPF_K)) return `${at}: ret ${hex(ins.k)}`;
    if (ins.code === (BPF_JMP | BPF_JA)) return `${at}: ja ${pc + 1 + ins.k}`;
    if (cls === BPF_JMP) {
      const op = (Object.keys(JUMP_CODE) as JumpOp[]).find((o) => JUMP_CODE[o] === ins.code) ?? hex(ins.code);
      return `${at}: ${op} ${hex(ins.k)}  jt ${pc + 1 + ins.jt} jf ${pc + 1 + ins.jf}`;
    }
    return `${at}: .insn ${hex(ins.code)} ${ins.jt} ${ins.jf} ${hex(ins.k)}`;
  });
}
