/**
 * Which mount entry failed. The child's failure record (child.ts) carries
 * only {op index, errno}; the mount op is one step with many entries, so the
 * child also writes {stage, entry index} into a page shared with the parent
 * (MAP_SHARED|MAP_ANONYMOUS, mapped once in the zygote before any fork). The
 * zygote reads it after a failed launch with describeMountFailure().
 */
import koffi from 'koffi';
import { MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE } from '../sys/constants-mounts.js';
import { describeErrno } from '../sys/errno.js';
import { mmap } from '../sys/libc-mounts.js';
import type { MountEntry } from './mounts-table.js';
import { modeName } from './mounts-table.js';

export const STAGE = {
  unshare: 1,
  slave: 2,
  clone: 3,
  staging: 4,
  apply: 5,
  mountinfo: 6,
  'read-only': 7,
  noexec: 8,
  nosuid: 9,
  'move-root': 10,
  propagation: 11,
} as const;
export type FailureStage = (typeof STAGE)[keyof typeof STAGE];
const STAGE_TEXT: Record<number, string> = {
  1: 'unshare(CLONE_NEWNS)',
  2: 'making / a slave mount',
  3: 'cloning the root tree',
  4: 'preparing the staging directory',
  5: 'mounting',
  6: 'opening /proc/self/mountinfo',
  7: 'remounting read-only',
  8: 'changing noexec',
  9: 'remounting nosuid',
  10: 'moving the new root onto /',
  11: 'setting the propagation of /',
};

let page: Int32Array | undefined;
function shared(): Int32Array {
  if (!page) {
    const addr = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (addr === 0xffffffffffffffffn) throw new Error('mmap of the mount failure page failed');
    page = new Int32Array(koffi.view(addr, 4096));
  }
  return page;
}

let described: readonly MountEntry[] = [];

export const failure = {
  /** Parent: the entries of the plan about to be launched. */
  describe(entries: readonly MountEntry[]): void {
    shared();
    described = entries;
  },
  /** Child: clears the record. */
  reset(): void {
    const p = page!;
    p[0] = 0;
    p[1] = -1;
    p[2] = 0;
  },
  /** Child: records a failure and returns err. */
  record(stage: FailureStage, index: number, err: number): number {
    const p = page!;
    p[0] = stage;
    p[1] = index;
    p[2] = err;
    return err;
  },
};

export interface MountFailure {
  readonly stage: string;
  /** The failed entry (absent for the namespace-wide stages). */
  readonly entry?: { readonly path: string; readonly mode: string; readonly what: string };
  readonly errno: number;
  readonly message: string;
}

/**
 * Parent: what the last launch's mount step failed on, or undefined. Call it
 * after a failed launch whose failed op is "mount-namespace".
 */
export function describeMountFailure(): MountFailure | undefined {
  const p = shared();
  const stage = p[0]!;
  if (stage === 0) return undefined;
  const index = p[1]!;
  const err = p[2]!;
  const e = index >= 0 ? described[index] : undefined;
  const stageText = STAGE_TEXT[stage] ?? `stage ${stage}`;
  const message = e ? `${e.what}: ${stageText} ${e.path} (${modeName(e.mode)}) failed: ${describeErrno(err)}` : `${stageText} failed: ${describeErrno(err)}`;
  p[0] = 0;
  return { stage: stageText, ...(e ? { entry: { path: e.path, mode: modeName(e.mode), what: e.what } } : {}), errno: err, message };
}
