/**
 * A classic-BPF interpreter for seccomp programs, restricted to what the kernel's seccomp_check_filter()
 * accepts and our compiler emits (32-bit absolute loads from seccomp_data, AND with a constant, the four
 * conditional jumps, JA and RET k). It exists so that tests (and `explain`-style tooling) can evaluate a
 * compiled program for any architecture without loading it into a kernel, and it checks the same structural
 * rules the kernel checks (forward in-range jumps, aligned in-range loads, a RET at the end).
 */
import { BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_MAXINSNS, BPF_RET, BPF_W, type SockFilter } from './bpf.js';

/** struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; } — 64 bytes. */
export interface SeccompData {
  readonly nr: number;
  readonly arch: number;
  readonly instructionPointer?: bigint;
  /** Up to six arguments (missing ones are 0), as unsigned 64-bit values. */
  readonly args?: readonly (bigint | number)[];
}

export const SECCOMP_DATA_SIZE = 64;

/** The little-endian byte image of seccomp_data. */
export function seccompDataBytes(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(d.instructionPointer ?? 0n, 8);
  (d.args ?? []).slice(0, 6).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + 8 * i));
  return b;
}

/** Structural checks of seccomp_check_filter()/bpf_check_classic(); throws on the first problem. */
export function checkSeccompFilter(insns: readonly SockFilter[]): void {
  if (insns.length === 0 || insns.length > BPF_MAXINSNS) throw new Error(`program length ${insns.length} out of range`);
  insns.forEach((ins, pc) => {
    const left = insns.length - pc - 1;
    switch (ins.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (ins.k % 4 !== 0 || ins.k >= SECCOMP_DATA_SIZE) throw new Error(`${pc}: load offset ${ins.k} invalid`);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
      case BPF_RET | BPF_K:
        break;
      case BPF_JMP | BPF_JA:
        if (ins.k >= left) throw new Error(`${pc}: ja out of range`);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
      case BPF_JMP | BPF_JGT | BPF_K:
      case BPF_JMP | BPF_JGE | BPF_K:
      case BPF_JMP | BPF_JSET | BPF_K:
        if (ins.jt >= left || ins.jf >= left) throw new Error(`${pc}: conditional jump out of range`);
        break;
      default:
        throw new Error(`${pc}: unsupported opcode 0x${ins.code.toString(16)}`);
    }
  });
  if (insns[insns.length - 1]!.code !== (BPF_RET | BPF_K)) throw new Error('program does not end with ret');
}

/** Runs a checked program on one seccomp_data; returns the 32-bit SECCOMP_RET_* value. */
export function runSeccompFilter(insns: readonly SockFilter[], data: SeccompData): number {
  const mem = seccompDataBytes(data);
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps <= insns.length; steps++) {
    const ins = insns[pc];
    if (ins === undefined) throw new Error(`fell off the program at ${pc}`);
    switch (ins.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        a = mem.readUInt32LE(ins.k);
        pc++;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a = (a & ins.k) >>> 0;
        pc++;
        break;
      case BPF_RET | BPF_K:
        return ins.k >>> 0;
      case BPF_JMP | BPF_JA:
        pc += 1 + ins.k;
        break;
      default: {
        let taken: boolean;
        if (ins.code === (BPF_JMP | BPF_JEQ | BPF_K)) taken = a === ins.k >>> 0;
        else if (ins.code === (BPF_JMP | BPF_JGT | BPF_K)) taken = a > ins.k >>> 0;
        else if (ins.code === (BPF_JMP | BPF_JGE | BPF_K)) taken = a >= ins.k >>> 0;
        else if (ins.code === (BPF_JMP | BPF_JSET | BPF_K)) taken = (a & ins.k) !== 0;
        else throw new Error(`${pc}: unsupported opcode 0x${ins.code.toString(16)}`);
        pc += 1 + (taken ? ins.jt : ins.jf);
      }
    }
  }
  throw new Error('program did not terminate');
}
