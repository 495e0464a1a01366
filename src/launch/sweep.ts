/**
 * The MADV_DOFORK sweep. Node 20's V8 marks its heap pages MADV_DONTFORK
 * (v8_enable_private_mapping_fork_optimization), so a fork child has no JS
 * heap and crashes on its first JS instruction. Before each fork the zygote
 * re-enables copying over the whole user address space in a couple of
 * madvise calls.
 *
 * - Gaps in the range give ENOMEM, which is expected and harmless: madvise
 *   still applies to every mapped part.
 * - VM_IO/VM_PFNMAP mappings ([vvar], [vvar_vclock], [vdso]) give EINVAL and
 *   stop the walk, so the sweep skips them (their addresses never change).
 *   If another such mapping appears, the ranges are rebuilt around it.
 * - It must be the last JS before fork(): any allocation after it can map a
 *   fresh DONTFORK page. sweep() itself allocates nothing, so the child may
 *   also call it (before a nested fork, e.g. for a pid namespace).
 */
import { readFileSync } from 'node:fs';
import { ARCH } from '../sys/arch/index.js';
import { MADV_DOFORK, O_CLOEXEC, O_RDONLY } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { cString } from '../sys/cmem.js';
import { close, madvise, open, read } from '../sys/libc.js';

const LOW = 0x10000; // vm.mmap_min_addr's default
const SPECIAL = /\[(vvar|vvar_vclock|vdso|vsyscall|sigpage|vectors|uprobes)\]$/;
const ENOMEM = 12;

// [start0, end0, start1, end1, …] as doubles (addresses < 2^53); count in rangeCount[0].
let ranges = new Float64Array(8);
const rangeCount = new Int32Array(1);
let excluded: Array<readonly [number, number]> = [];

interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

function readMaps(): Mapping[] {
  return readFileSync('/proc/self/maps', 'latin1')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
      if (!m) throw new Error(`sysg: unexpected /proc/self/maps line: ${line}`);
      return { start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), name: m[3]! };
    });
}

/** The user range minus the excluded mappings, merged. */
function rebuild(): void {
  const holes = [...excluded].filter(([s]) => s < ARCH.userTop).sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let at = LOW;
  for (const [s, e] of holes) {
    if (s > at) out.push(at, s);
    at = Math.max(at, e);
  }
  if (at < ARCH.userTop) out.push(at, ARCH.userTop);
  ranges = Float64Array.from(out);
  rangeCount[0] = out.length / 2;
}

/** Finds the special mappings once (at zygote start). */
export function initSweep(): void {
  excluded = readMaps().filter((m) => SPECIAL.test(m.name)).map((m) => [m.start, m.end] as const);
  rebuild();
}

/** Re-tests every mapping and excludes the ones madvise refuses. Allocates: parent-side only. */
function relearn(): void {
  for (const m of readMaps()) {
    if (m.start >= ARCH.userTop || excluded.some(([s]) => s === m.start)) continue;
    if (madvise(m.start, m.end - m.start, MADV_DOFORK) < 0 && errno() !== ENOMEM) excluded.push([m.start, m.end]);
  }
  rebuild();
}

/** One pass without allocation: returns the number of unexpected failures. */
function pass(): number {
  let bad = 0;
  const n = rangeCount[0]!;
  for (let i = 0; i < n; i++) {
    const s = ranges[2 * i]!;
    if (madvise(s, ranges[2 * i + 1]! - s, MADV_DOFORK) < 0 && errno() !== ENOMEM) bad++;
  }
  return bad;
}

/** Parent: make every mapping copy on fork. Call immediately before fork(). */
export function sweep(): void {
  if (rangeCount[0] === 0) initSweep();
  if (pass() !== 0) {
    relearn();
    pass();
  }
}

/** Child-safe variant: no re-learning, no allocation. */
export function sweepInChild(): number {
  return pass();
}

export interface DontForkCount {
  /** Mappings in /proc/self/smaps. */
  readonly vmas: number;
  /** Mappings whose VmFlags contain `dc` (VM_DONTCOPY). */
  readonly dontfork: number;
  /** Up to five offending smaps header lines. */
  readonly examples: readonly string[];
}

export interface DontForkReport {
  /** Before sweeping: V8's heap pages are expected here (proves the check sees them). */
  readonly before: DontForkCount;
  /** Right after a sweep: what a fork would see. Must be 0. */
  readonly after: DontForkCount;
}

const SMAPS = cString('/proc/self/smaps');
const CHUNK = 1 << 16;
let chunk: Buffer | undefined;
let whole: Buffer | undefined;

/**
 * Reads /proc/self/smaps into preallocated off-heap memory without JS
 * allocation (a readFileSync string would map a fresh large-object page,
 * itself DONTFORK), optionally right after a sweep, and only then parses it.
 */
function countDontFork(doSweep: boolean): DontForkCount {
  chunk ??= Buffer.allocUnsafeSlow(CHUNK);
  whole ??= Buffer.allocUnsafeSlow(32 << 20);
  const c = chunk;
  const w = whole;
  let len = 0;
  if (doSweep) sweep();
  const fd = open(SMAPS, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`open /proc/self/smaps: errno ${errno()}`);
  for (;;) {
    const n = read(fd, c, CHUNK);
    if (n <= 0 || len + n > w.length) break;
    c.copy(w, len, 0, n);
    len += n;
  }
  close(fd);
  let vmas = 0;
  let dontfork = 0;
  const examples: string[] = [];
  let header = '';
  for (const line of w.toString('latin1', 0, len).split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      header = line;
      vmas++;
    } else if (line.startsWith('VmFlags:') && line.split(/\s+/).includes('dc')) {
      dontfork++;
      if (examples.length < 5) examples.push(header);
    }
  }
  return { vmas, dontfork, examples };
}

/** The DONTFORK state before and right after a sweep (the zygote's self-check). */
export function checkDontFork(): DontForkReport {
  return { before: countDontFork(false), after: countDontFork(true) };
}
