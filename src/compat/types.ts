/**
 * The value types named in compat/directives.tsv's `type` column. A trailing
 * `%` there means specifiers are expanded before parsing (systemd's *_printf
 * parsers); the type itself is looked up without it. Each type mirrors the
 * systemd config_parse_* function it is named after in the table's history.
 */
import { ValueError } from '../unit/diagnostics.js';
import { type ApplyContext, type ValueType, enumType, list, scalar } from './value-type.js';
import { parseBoolean } from '../unit/values/bool.js';
import { formatTimespan, parseTimespan, parseTimespanNsec } from '../unit/values/timespan.js';
import { parseMemoryLimit, parseSize } from '../unit/values/size.js';
import {
  parseCPUQuota, parseCPUSchedulingPolicy, parseCPUSchedulingPriority, parseCPUWeight, parseIOSchedulingClass,
  parseIOSchedulingPriority, parseIOWeight, parseInt32, parseMode, parseNice, parseOOMScoreAdjust, parseTasksMax, parseUnsigned,
} from '../unit/values/numbers.js';
import { mergeCPUSets, parseCPUAffinity, parseCPUSetAssignment } from '../unit/values/cpuset.js';
import { parseSignal, signalName } from '../unit/values/signals.js';
import { parseExitStatusSet } from '../unit/values/exitstatus.js';
import { parseRlimit } from '../unit/values/rlimit.js';
import {
  parseBindPaths, parseColonSeparatedPaths, parseDirectoryList, parsePathList, parsePrefixedPathList, parseTemporaryFileSystems, parseWorkingDirectory, validateAbsolutePath,
} from '../unit/values/paths.js';
import { EXTRACT_CUNESCAPE, EXTRACT_UNQUOTE, extractWords } from '../unit/words.js';
import { securityTypes } from './types-security.js';
import { processTypes } from './types-process.js';
import { unitTypes } from './types-unit.js';

const str: ValueType = scalar({ type: 'string' }, (raw) => raw);
const timespanSchema = {
  anyOf: [{ type: 'string', description: 'systemd time span: "90s", "1min 30s", "100ms", "infinity"' }, { type: 'number', minimum: 0, description: 'seconds' }],
};

/** Words of a list-valued directive, with systemd's quoting (EXTRACT_UNQUOTE). */
export function words(raw: string, flags: { cunescape?: boolean } = {}): string[] {
  return extractWords(raw, EXTRACT_UNQUOTE | (flags.cunescape ? EXTRACT_CUNESCAPE : 0));
}

const BASE: Record<string, ValueType> = {
  bool: scalar({ type: 'boolean' }, (raw) => parseBoolean(raw)),
  string: str,
  path: scalar({ type: 'string' }, (raw) => validateAbsolutePath(raw)),
  timespan: scalar(timespanSchema, (raw) => formatTimespan(parseTimespan(raw))),
  'timespan-list': list(timespanSchema, (raw) => [formatTimespan(parseTimespan(raw))]),
  'timespan-nsec': scalar({ type: 'integer', minimum: 0, description: 'nanoseconds' }, (raw) => {
    const ns = parseTimespanNsec(raw);
    if (!Number.isFinite(ns)) throw new ValueError(`Time span "${raw}" must be finite`);
    return ns;
  }),
  unsigned: scalar({ type: 'integer', minimum: 0 }, (raw) => parseUnsigned(raw)),
  int: scalar({ type: 'integer' }, (raw) => parseInt32(raw)),
  size: scalar({ type: 'integer', minimum: 0, description: 'bytes' }, (raw) => parseSize(raw, 1024)),
  mode: scalar({ type: 'string', pattern: '^0?[0-7]{1,4}$', description: 'octal file mode' }, (raw) => parseMode(raw).toString(8).padStart(4, '0')),
  signal: scalar({ type: 'string', pattern: '^(SIG[A-Z0-9+-]+|[0-9]+)$' }, (raw) => signalName(parseSignal(raw))),
  'exit-status': scalar({ type: 'integer', minimum: 0, maximum: 255 }, (raw) => {
    const n = parseUnsigned(raw);
    if (n > 255) throw new ValueError(`Exit status ${raw} out of range 0…255`);
    return n;
  }),
  'exit-status-set': {
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { codes: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 } }, signals: { type: 'array', items: { type: 'string' } } },
    },
    apply(prev, raw, ctx) {
      if (raw === '') return undefined;
      const p = prev as { codes: number[]; signals: string[] } | undefined;
      const parsed = parseExitStatusSet(raw, ctx.warn);
      const codes = [...new Set([...(p?.codes ?? []), ...parsed.codes])].sort((a, b) => a - b);
      const signals = [...new Set([...(p?.signals ?? []), ...parsed.signals.map((s) => signalName(s))])];
      const out: { codes?: number[]; signals?: string[] } = {};
      if (codes.length) out.codes = codes;
      if (signals.length) out.signals = signals;
      return out;
    },
  },
  rlimit: {
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['soft', 'hard'],
      properties: {
        soft: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'infinity' }] },
        hard: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'infinity' }] },
      },
    },
    apply: (_prev, raw, ctx) => (raw === '' ? undefined : parseRlimit(ctx.directive, raw)),
  },
  'memory-limit': scalar(
    { anyOf: [{ type: 'integer', minimum: 0, description: 'bytes' }, { const: 'infinity' }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?%$' }] },
    (raw, ctx) => {
      const m = parseMemoryLimit(raw, ctx.directive);
      if (m.kind === 'infinity') return 'infinity';
      if (m.kind === 'percent') return `${m.permyriad / 100}%`;
      return m.bytes;
    },
  ),
  // config_parse_*_cpuset: repeated lines OR together; an empty value (or only separators) resets.
  cpuset: {
    schema: { type: 'array', items: { type: 'integer', minimum: 0 } },
    apply(prev, raw, ctx) {
      const a = parseCPUSetAssignment(raw);
      if (a.kind === 'cpus') for (const w of a.warnings) ctx.warn(w);
      return mergeCPUSets(prev as number[] | undefined, a);
    },
  },
  'cpu-affinity': {
    schema: { anyOf: [{ type: 'array', items: { type: 'integer', minimum: 0 } }, { const: 'numa' }] },
    apply(prev, raw, ctx) {
      const a = parseCPUAffinity(raw);
      if (a.kind === 'numa') return 'numa';
      if (a.kind === 'cpus') for (const w of a.warnings) ctx.warn(w);
      return mergeCPUSets(Array.isArray(prev) ? (prev as number[]) : undefined, a);
    },
  },
  nice: scalar({ type: 'integer', minimum: -20, maximum: 19 }, (raw) => parseNice(raw)),
  'oom-score-adjust': scalar({ type: 'integer', minimum: -1000, maximum: 1000 }, (raw) => parseOOMScoreAdjust(raw)),
  'io-class': scalar({ enum: ['none', 'realtime', 'best-effort', 'idle'] }, (raw) => parseIOSchedulingClass(raw)),
  'io-priority': scalar({ type: 'integer', minimum: 0, maximum: 7 }, (raw) => parseIOSchedulingPriority(raw)),
  'sched-policy': scalar({ enum: ['other', 'batch', 'idle', 'fifo', 'rr'] }, (raw) => parseCPUSchedulingPolicy(raw)),
  'sched-priority': scalar({ type: 'integer', minimum: 0, maximum: 99 }, (raw) => parseCPUSchedulingPriority(raw)),
  'cpu-weight': scalar({ anyOf: [{ type: 'integer', minimum: 1, maximum: 10000 }, { const: 'idle' }] }, (raw) => parseCPUWeight(raw)),
  'io-weight': scalar({ type: 'integer', minimum: 1, maximum: 10000 }, (raw) => parseIOWeight(raw)),
  'cpu-quota': scalar({ type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?%$', description: 'CPU time per period, percent of one CPU' }, (raw) => `${parseCPUQuota(raw)}%`),
  'tasks-max': scalar({ anyOf: [{ type: 'integer', minimum: 1 }, { const: 'infinity' }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?%$' }] }, (raw) => parseTasksMax(raw)),
  'path-list': list({ type: 'string', description: 'absolute path; "-" prefix: ignore if missing; "+" prefix: relative to RootDirectory=' }, (raw, ctx) =>
    parsePrefixedPathList(raw, ctx.warn).map((p) => p.text),
  ),
  'path-list-plain': list({ type: 'string' }, (raw, ctx) => parsePathList(raw, ctx.warn)),
  'colon-paths': list({ type: 'string' }, (raw, ctx) => parseColonSeparatedPaths(raw, ctx.warn)),
  'bind-paths': list(
    {
      type: 'object',
      additionalProperties: false,
      required: ['source', 'destination'],
      properties: { source: { type: 'string' }, destination: { type: 'string' }, optional: { type: 'boolean' }, recursive: { type: 'boolean' } },
    },
    (raw, ctx) => parseBindPaths(raw, ctx.warn).map((b) => ({ source: b.source, destination: b.destination, ...(b.optional ? { optional: true } : {}), ...(b.recursive ? {} : { recursive: false }) })),
  ),
  tmpfs: list(
    { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string' }, options: { type: 'string' } } },
    (raw, ctx) => parseTemporaryFileSystems(raw, ctx.warn).map((t) => (t.options ? { path: t.path, options: t.options } : { path: t.path })),
  ),
  'working-dir': scalar({ type: 'string', description: 'absolute path or "~"; a "-" prefix ignores a missing directory' }, (raw) => parseWorkingDirectory(raw).text),
  'dir-list': list({ type: 'string', description: 'path relative to the directory type\'s base (e.g. /run); "a:b" also links b to a' }, (raw, ctx) => parseDirectoryList(raw, ctx.directive, ctx.warn)),
  'string-list': list({ type: 'string' }, (raw) => words(raw)),
  'ip-prefixes': list({ type: 'string', description: 'any, localhost, link-local, multicast or an address with optional /prefix' }, (raw) => words(raw)),
  'socket-bind': list({ type: 'string', description: '[family:][transport:]port[-port] or any' }, (raw) => words(raw)),
  'device-allow': list(
    { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string' }, access: { type: 'string', pattern: '^[rwm]*$' } } },
    (raw) => {
      const [path, access] = words(raw) as [string | undefined, string | undefined];
      if (!path) return [];
      if (access !== undefined && !/^[rwm]+$/.test(access)) throw new ValueError(`Invalid device access mode '${access}'`);
      return [access ? { path, access } : { path }];
    },
  ),
  'device-policy': enumType(['auto', 'closed', 'strict'], { what: 'device policy' }),
  delegate: {
    schema: { anyOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string' } }] },
    apply(prev, raw) {
      if (raw === '') return undefined;
      try {
        return parseBoolean(raw);
      } catch {
        const before = Array.isArray(prev) ? (prev as string[]) : [];
        return [...new Set([...before, ...words(raw)])];
      }
    },
  },
  calendar: list({ type: 'string', description: 'systemd.time(7) calendar event' }, (raw) => [raw]),
};

const REGISTRY: Record<string, ValueType> = { ...BASE, ...securityTypes, ...processTypes, ...unitTypes };

export function valueType(name: string): ValueType {
  const t = REGISTRY[name.replace(/%$/, '')];
  if (!t) throw new Error(`compat/directives.tsv names unknown value type '${name}'`);
  return t;
}

export function typeUsesSpecifiers(name: string): boolean {
  return name.endsWith('%');
}

export function knownValueTypes(): string[] {
  return Object.keys(REGISTRY);
}

export type { ApplyContext };
