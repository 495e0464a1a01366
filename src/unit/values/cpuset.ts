/**
 * CPU and NUMA node sets: parse_cpu_set_full()/parse_cpu_set_extend() from
 * src/shared/cpu-set-util.c and parse_range() from src/basic/parse-util.c (v255),
 * with the directive wrappers config_parse_exec_cpu_affinity() (CPUAffinity=),
 * config_parse_allowed_cpuset() (AllowedCPUs=, AllowedMemoryNodes=) and
 * config_parse_numa_mask() (NUMAMask=).
 *
 * Words are separated by whitespace or commas and may be quoted; each is "N" or
 * "N-M" with safe_atou() numbers (so "0x2" is CPU 2). A reversed range "3-1" is
 * ignored with a warning but, unlike an empty value, does not reset the set.
 * CPU numbers must be below 8192.
 */
import { ValueError } from '../diagnostics.js';
import { EXTRACT_UNQUOTE, ExtractError, WHITESPACE, extractFirstWord } from '../words.js';
import { CParseError, safeAtou } from './cparse.js';

/** systemd's CPU_SET_MAX_NCPU ("as of kernel 5.1, CONFIG_NR_CPUS can be set to 8192 on PowerPC"). */
export const CPU_SET_MAX_NCPU = 8192;

export type CPUSetAssignment =
  /** No word at all (empty value, or only separators): the set is reset. */
  | { readonly kind: 'reset' }
  /** CPUs to add (sorted, unique; may be empty when every range was reversed). */
  | { readonly kind: 'cpus'; readonly cpus: readonly number[]; readonly warnings: readonly string[] };

function parseRangeWord(word: string, value: string): [number, number] {
  // parse_range(): split at the first "-", both halves through safe_atou().
  const dash = word.indexOf('-');
  const lowText = dash < 0 ? word : word.slice(0, dash);
  const highText = dash < 0 ? undefined : word.slice(dash + 1);
  const num = (text: string): number => {
    try {
      return Number(safeAtou(text));
    } catch (e) {
      if (e instanceof CParseError) throw new ValueError(`Failed to parse CPU set "${value}": invalid CPU or range "${word}" (${e.message})`);
      throw e;
    }
  };
  const low = num(lowText);
  if (highText === '') throw new ValueError(`Failed to parse CPU set "${value}": range "${word}" lacks an upper bound`);
  return [low, highText === undefined ? low : num(highText)];
}

/** parse_cpu_set_full(): the CPUs one assignment names, or a reset. */
export function parseCPUSetAssignment(value: string): CPUSetAssignment {
  const cpus = new Set<number>();
  const warnings: string[] = [];
  let any = false;
  let pos: number | null = 0;
  for (;;) {
    let r;
    try {
      r = extractFirstWord(value, pos, WHITESPACE + ',', EXTRACT_UNQUOTE);
    } catch (e) {
      if (e instanceof ExtractError) throw new ValueError(`Invalid CPU set "${value}": ${e.message}`);
      throw e;
    }
    if (r.word === null) break;
    pos = r.pos;
    any = true;
    const [low, high] = parseRangeWord(r.word, value);
    if (low > high) {
      warnings.push(`Range '${r.word}' is invalid, ${low} > ${high}, ignoring.`);
      continue;
    }
    if (high >= CPU_SET_MAX_NCPU) throw new ValueError(`Cannot add CPU ${high} to set "${value}": CPU numbers must be below ${CPU_SET_MAX_NCPU}`);
    for (let c = low; c <= high; c++) cpus.add(c);
  }
  if (!any) return { kind: 'reset' };
  return { kind: 'cpus', cpus: [...cpus].sort((a, b) => a - b), warnings };
}

/**
 * The CPUs named by one CPUAffinity=/AllowedCPUs=/NUMAMask= value, sorted and
 * unique: "0-1 3" → [0, 1, 3], "0,1 1-2" → [0, 1, 2]. Reversed ranges are
 * skipped (reported through `warn` when given). An empty result may also mean
 * "reset"; use parseCPUSetAssignment() to tell the two apart.
 */
export function parseCPUSet(value: string, warn?: (message: string) => void): number[] {
  const a = parseCPUSetAssignment(value);
  if (a.kind === 'reset') return [];
  if (warn) for (const w of a.warnings) warn(w);
  return [...a.cpus];
}

/**
 * parse_cpu_set_extend(): how one assignment changes the accumulated set
 * (undefined = unset). A reset clears it, otherwise the CPUs are OR-ed in.
 */
export function mergeCPUSets(prev: readonly number[] | undefined, next: CPUSetAssignment): number[] | undefined {
  if (next.kind === 'reset') return undefined;
  return [...new Set([...(prev ?? []), ...next.cpus])].sort((a, b) => a - b);
}

/**
 * CPUAffinity=: "numa" (exactly; derive the CPUs from NUMAMask=/NUMAPolicy= at
 * start) or a CPU set. systemd checks for "numa" before expanding specifiers.
 */
export function parseCPUAffinity(value: string): CPUSetAssignment | { readonly kind: 'numa' } {
  if (value === 'numa') return { kind: 'numa' };
  return parseCPUSetAssignment(value);
}

/** NUMAMask=: "all" (every NUMA node present at start) or a node set. */
export function parseNUMAMask(value: string): CPUSetAssignment | { readonly kind: 'all' } {
  if (value === 'all') return { kind: 'all' };
  return parseCPUSetAssignment(value);
}

/** cpu_set_to_range_string(): [0, 1, 2, 5] → "0-2 5" (the form systemctl show prints). */
export function formatCPUSet(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(' ');
}
