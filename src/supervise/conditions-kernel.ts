/**
 * ConditionKernelCommandLine=, ConditionKernelVersion= and the PSI checks
 * (ConditionMemoryPressure=/CPUPressure=/IOPressure=) of src/shared/condition.c.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';
import { parsePermyriad } from '../unit/values/numbers.js';
import { EXTRACT_RELAX, EXTRACT_RETAIN_ESCAPE, EXTRACT_UNQUOTE, extractFirstWord, extractManyWords, extractWords } from '../unit/words.js';
import type { ConditionContext } from './conditions.js';
import { COMPARE_ALLOW_FNMATCH, COMPARE_EQUAL_BY_STRING, ConditionError, parseCompareOperator, versionOrFnmatchCompare } from './conditions-compare.js';
import { cgAllUnified, cgMaskSupported, cgOwnPath, readOneLine, readOrUndefined } from './conditions-system.js';
import { detectContainer } from './conditions-virt.js';

type Test = (value: string, ctx: ConditionContext) => boolean;
const strip = (s: string): string => s.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');

/** proc_cmdline_strv(): $SYSTEMD_PROC_CMDLINE, PID 1's argv in a container, else /proc/cmdline split like a shell. */
export function procCmdline(ctx: ConditionContext): string[] {
  const flags = EXTRACT_UNQUOTE | EXTRACT_RELAX | EXTRACT_RETAIN_ESCAPE;
  const e = ctx.managerEnv['SYSTEMD_PROC_CMDLINE'];
  if (e !== undefined) return extractWords(e, flags);
  if (detectContainer(ctx.managerEnv) !== 'none') {
    const raw = readOrUndefined('/proc/1/cmdline');
    if (raw === undefined) throw new ConditionError('cannot read /proc/1/cmdline');
    const args = raw.split('\0');
    if (args[args.length - 1] === '') args.pop();
    return args;
  }
  const line = readOneLine('/proc/cmdline');
  if (line === undefined) throw new ConditionError('cannot read /proc/cmdline');
  return extractWords(line, flags);
}

/** "word" matches a word or "word=…"; "key=value" matches exactly (KernelCommandLine=, Environment=). */
export function matchesAssignment(words: Iterable<string>, parameter: string): boolean {
  const equal = parameter.includes('=');
  for (const w of words) {
    if (equal ? w === parameter : w === parameter || w.startsWith(parameter + '=')) return true;
  }
  return false;
}

export function kernelVersion(value: string): boolean {
  const rel = release();
  let first = true;
  let pos: number | null = 0;
  for (;;) {
    const r = extractFirstWord(value, pos, null, EXTRACT_UNQUOTE);
    if (r.word === null) break;
    pos = r.pos;
    let s = strip(r.word);
    const parsed = parseCompareOperator(s, COMPARE_ALLOW_FNMATCH | COMPARE_EQUAL_BY_STRING);
    const op = parsed?.op ?? 'fnmatch=';
    if (parsed) s = parsed.rest;
    s = s.replace(/^[ \t\n\r]+/, '');
    if (s === '') {
      // Backwards compatibility: whitespace between operator and value, unquoted, first expression only.
      if (!first) throw new ConditionError(`Unexpected end of expression: ${value}`);
      const next = extractFirstWord(value, pos, null, 0);
      if (next.word === null) throw new ConditionError(`Unexpected end of expression: ${value}`);
      pos = next.pos;
      s = next.word;
    }
    if (!versionOrFnmatchCompare(op, rel, s)) return false;
    first = false;
  }
  return true;
}

/** is_pressure_supported(): the three /proc/pressure files can be read. */
function pressureSupported(): boolean {
  for (const p of ['/proc/pressure/cpu', '/proc/pressure/io', '/proc/pressure/memory']) {
    try {
      readFileSync(p);
    } catch {
      return false;
    }
  }
  return true;
}

/** cg_slice_to_path(): "a-b.slice" → "a.slice/a-b.slice"; "-.slice" → "". */
function sliceToPath(unit: string): string {
  if (unit === '-.slice') return '';
  if (!/^[A-Za-z0-9:_.\\-]+\.slice$/.test(unit)) throw new ConditionError(`Invalid slice name ${unit}`);
  const base = unit.slice(0, -'.slice'.length);
  if (base.startsWith('-') || base.endsWith('-') || base.includes('--')) throw new ConditionError(`Invalid slice name ${unit}`);
  const parts = base.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('-') + '.slice');
  return out.join('/');
}

export function psiTest(type: 'memory' | 'cpu' | 'io'): Test {
  return (value) => {
    if (!pressureSupported()) return true;
    const fail = (): ConditionError => new ConditionError(`Failed to parse condition parameter ${value}`);
    const m = extractManyWords(value, 0, 2, ':', 0);
    if (m.count === 0) throw fail();
    let path: string;
    let spec: string;
    if (m.count === 1) {
      path = `/proc/pressure/${type}`;
      spec = m.words[0]!;
    } else {
      const slice = strip(m.words[0]!);
      if (!cgAllUnified()) return true;
      if (!cgMaskSupported().has(type)) return true;
      let root = cgOwnPath();
      if (root.endsWith('/init.scope')) root = root.slice(0, -'/init.scope'.length);
      const slicePath = sliceToPath(slice);
      path = join('/sys/fs/cgroup', root, slicePath, `${type}.pressure`);
      spec = m.words[1]!;
    }
    const w = extractManyWords(spec, 0, 2, '/', 0);
    if (w.count === 0) throw fail();
    let window = 'avg300';
    if (w.count === 2) {
      const ts = w.words[1]!.replace(/^[ \t\n\r]+/, '');
      if (ts.startsWith('10sec')) window = 'avg10';
      else if (ts.startsWith('1min')) window = 'avg60';
      else if (ts.startsWith('5min')) window = 'avg300';
      else throw fail();
    }
    let limit: number;
    try {
      limit = parsePermyriad(strip(w.words[0]!));
    } catch {
      throw fail();
    }
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw new ConditionError(`Error reading pressure from ${path}`);
    }
    // "full" for cpu is reported but undefined at system level: the global CPU check reads "some".
    // Otherwise "full", falling back to "some" where the kernel has no "full" line.
    const some = /^some (.*)$/m.exec(text)?.[1];
    const line = type === 'cpu' && m.count === 1 ? some : (/^full (.*)$/m.exec(text)?.[1] ?? some);
    const avg = line === undefined ? undefined : new RegExp(`(?:^| )${window}=(\\d+)\\.(\\d{2})(?: |$)`).exec(line);
    if (!avg) throw new ConditionError(`Error parsing pressure from ${path}`);
    // Both sides are loadavg fixed-point numbers with two decimals: compare in hundredths.
    return Number(avg[1]) * 100 + Number(avg[2]) <= limit;
  };
}
