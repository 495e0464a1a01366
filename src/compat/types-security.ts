/**
 * Value types of the sandbox directives. Merged states use systemd's rules
 * (src/unit/values/*); the YAML shows the merged result, except for
 * SystemCallFilter=/SystemCallLog=, whose merged form would be hundreds of
 * syscall names: there the YAML keeps the validated assignments in order and
 * resolveSyscallFilterLines() merges them exactly as systemd does.
 */
import { ValueError } from '../unit/diagnostics.js';
import { type ValueType, enumType } from './value-type.js';
import {
  CAP_LAST_CAP, applyAmbientCapabilities, applyCapabilityBoundingSet, capsToNames, effectiveCapabilities, parseCapabilityList,
} from '../unit/values/capabilities.js';
import { applySecureBits, parseSecureBits, secureBitsToString } from '../unit/values/securebits.js';
import {
  type SyscallFilterState, applySyscallArchitectures, applySyscallFilter, parseSyscallArchitectures, parseSyscallErrorNumber, parseSyscallFilter,
} from '../unit/values/syscalls.js';
import { type AddressFamiliesState, addressFamilyName, addressFamilyPolicy, applyRestrictAddressFamilies, parseRestrictAddressFamilies } from '../unit/values/families.js';
import { NAMESPACE_FLAGS_ALL, applyRestrictNamespaces, namespaceFlagsToString, parseRestrictNamespaces } from '../unit/values/namespaces.js';
import { parsePersonality, personalityToString } from '../unit/values/personality.js';
import { errnoName } from '../unit/values/errno.js';

const ALL_KNOWN = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;
const capName = { type: 'string', pattern: '^CAP_[A-Z_]+$' };

/** CapabilityBoundingSet= (state: mask, undefined = all) and AmbientCapabilities= (state: mask). */
const caps: ValueType = {
  schema: {
    anyOf: [
      { type: 'array', items: capName, description: 'exactly these capabilities' },
      { type: 'object', additionalProperties: false, required: ['all_except'], properties: { all_except: { type: 'array', items: capName } }, description: 'every capability but these' },
    ],
  },
  apply(prev, raw, ctx) {
    const parsed = parseCapabilityList(raw);
    for (const u of parsed.unknown) ctx.warn(`Unknown capability '${u}', ignoring it.`);
    const apply = ctx.directive === 'AmbientCapabilities' ? applyAmbientCapabilities : applyCapabilityBoundingSet;
    return apply(prev as bigint | undefined, parsed, raw === '');
  },
  finalize(state) {
    const mask = effectiveCapabilities(state as bigint);
    const names = capsToNames(mask, { form: 'constant' });
    if (names.length <= (CAP_LAST_CAP + 1) / 2) return names;
    return { all_except: capsToNames(ALL_KNOWN & ~mask, { form: 'constant' }) };
  },
};

const secureBits: ValueType = {
  schema: { type: 'array', items: { enum: ['keep-caps', 'keep-caps-locked', 'no-setuid-fixup', 'no-setuid-fixup-locked', 'noroot', 'noroot-locked'] } },
  apply(prev, raw, ctx) {
    const parsed = parseSecureBits(raw);
    for (const w of parsed.ignored) ctx.warn(`Unknown secure bit '${w}', ignoring it.`);
    return applySecureBits(prev as number | undefined, parsed, raw === '');
  },
  finalize: (state) => secureBitsToString(state as number).split(' ').filter((s) => s !== ''),
};

/**
 * One validated SystemCallFilter=/SystemCallLog= assignment per entry; an empty
 * assignment resets the list, as it resets systemd's filter.
 */
const syscallFilter: ValueType = {
  schema: {
    type: 'array',
    items: { type: 'string', description: 'one SystemCallFilter= assignment: [~]name|@group[:errno] …' },
    description: "Assignments in order, merged with systemd's rules (the first decides allow- or deny-list)",
  },
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const parsed = parseSyscallFilter(raw);
    for (const w of parsed.warnings) ctx.warn(w);
    return [...((prev as string[] | undefined) ?? []), raw];
  },
};

/** Merges SystemCallFilter= lines as systemd does (for the launcher, security scoring and tests). */
export function resolveSyscallFilterLines(lines: readonly string[]): SyscallFilterState | undefined {
  let state: SyscallFilterState | undefined;
  for (const line of lines) state = applySyscallFilter(state, parseSyscallFilter(line), line === '');
  return state;
}

const syscallErrno: ValueType = {
  schema: { type: 'string', description: 'errno name (EPERM…) or "kill"' },
  apply(_prev, raw) {
    if (raw === '') return undefined;
    const v = parseSyscallErrorNumber(raw);
    if (v === 'kill') return 'kill';
    return errnoName(v) ?? String(v);
  },
};

const syscallArchs: ValueType = {
  schema: { type: 'array', items: { type: 'string' } },
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const parsed = parseSyscallArchitectures(raw);
    for (const w of parsed.warnings) ctx.warn(w);
    return applySyscallArchitectures(prev as Set<string> | undefined, parsed, false);
  },
  finalize: (state) => [...(state as Set<string>)].sort(),
};

const familyNames = (fs: readonly number[]): string[] => fs.map((f) => addressFamilyName(f) ?? String(f));
const addressFamilies: ValueType = {
  schema: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: { allow: { type: 'array', items: { type: 'string' } }, deny: { type: 'array', items: { type: 'string' } } },
    description: 'allow: only these families (an empty list allows none); deny: all but these',
  },
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const parsed = parseRestrictAddressFamilies(raw);
    if (parsed.kind === 'list') for (const w of parsed.warnings) ctx.warn(w);
    return applyRestrictAddressFamilies(prev as AddressFamiliesState | undefined, parsed, false);
  },
  finalize(state) {
    const p = addressFamilyPolicy(state as AddressFamiliesState);
    if (p.kind === 'unrestricted') return { deny: [] };
    return p.kind === 'allow' ? { allow: familyNames(p.families) } : { deny: familyNames(p.families) };
  },
};

/** RestrictNamespaces=: true = none may be created, false = all; otherwise the allowed types. */
const namespaces: ValueType = {
  schema: {
    anyOf: [
      { type: 'boolean' },
      { type: 'object', additionalProperties: false, required: ['allow'], properties: { allow: { type: 'array', items: { enum: ['cgroup', 'ipc', 'net', 'mnt', 'pid', 'user', 'uts', 'time'] } } } },
    ],
  },
  apply(prev, raw) {
    if (raw === '') return undefined;
    return applyRestrictNamespaces(prev as number | undefined, parseRestrictNamespaces(raw), false);
  },
  finalize(state) {
    const allowed = state as number;
    if (allowed === 0) return true;
    if ((allowed & NAMESPACE_FLAGS_ALL) === NAMESPACE_FLAGS_ALL) return false;
    return { allow: namespaceFlagsToString(allowed).split(' ').filter((s) => s !== '') };
  },
};

const personality: ValueType = {
  schema: { type: 'string' },
  apply(_prev, raw) {
    if (raw === '') return undefined;
    const p = parsePersonality(raw);
    if (p === undefined) throw new ValueError(`Failed to parse personality '${raw}'`);
    return personalityToString(p) ?? raw;
  },
};

export const securityTypes: Record<string, ValueType> = {
  caps,
  securebits: secureBits,
  'syscall-filter': syscallFilter,
  'syscall-errno': syscallErrno,
  'syscall-archs': syscallArchs,
  'address-families': addressFamilies,
  namespaces,
  personality,
  'protect-system': enumType(['full', 'strict'], { booleans: true, what: 'protect system setting' }),
  'protect-home': enumType(['read-only', 'tmpfs'], { booleans: true, what: 'protect home setting' }),
  'protect-proc': enumType(['noaccess', 'invisible', 'ptraceable', 'default'], { what: 'protect proc setting' }),
  'proc-subset': enumType(['all', 'pid'], { what: 'proc subset' }),
  'keyring-mode': enumType(['inherit', 'private', 'shared'], { what: 'keyring mode' }),
  'mount-propagation': enumType(['shared', 'slave', 'private'], { what: 'mount propagation flag' }),
};
