/**
 * RestrictNamespaces= as systemd v255 reads it.
 *
 * Sources (systemd v255): config_parse_restrict_namespaces() in src/core/load-fragment.c,
 * namespace_flags_from_string() in src/shared/nsflags.c, namespace_info[] in src/basic/namespace-util.c,
 * NAMESPACE_FLAGS_ALL / NAMESPACE_FLAGS_INITIAL in src/shared/nsflags.h. Flag values: linux/sched.h.
 *
 * The value kept is the set of namespace types the service MAY create ("retain" in systemd):
 *  - undefined  = never assigned (NAMESPACE_FLAGS_INITIAL): no restriction at all;
 *  - "yes"      → 0 (nothing allowed), "no" → NAMESPACE_FLAGS_ALL; booleans replace what came before;
 *  - a list     → first assignment sets it ("~list" sets ALL minus the list), later lists merge:
 *                 plain lists OR into the allowed set, "~" lists remove from it;
 *  - an unknown name anywhere in the list makes systemd ignore the whole line
 *    ("Failed to parse namespace type string, ignoring: mnt usr" in exec-restrictnamespaces-merge-and);
 *  - the empty assignment resets to "never assigned".
 * "time" is a valid name in v255 (namespace_info has it) but is not part of NAMESPACE_FLAGS_ALL, so
 * "~…" never restricts it and "no"/"yes" do not mention it.
 */
import { ValueError } from '../diagnostics.js';
import { ExtractError, extractWords } from '../words.js';
import { booleanOrUndefined } from './bool.js';

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

export interface NamespaceType {
  /** systemd's and /proc/PID/ns's name. */
  readonly name: string;
  /** Path below /proc/PID/. */
  readonly procPath: string;
  readonly flag: number;
}

/** namespace_info[] order (also the order systemd prints names in). */
export const NAMESPACE_TYPES: readonly NamespaceType[] = Object.freeze([
  { name: 'cgroup', procPath: 'ns/cgroup', flag: CLONE_NEWCGROUP },
  { name: 'ipc', procPath: 'ns/ipc', flag: CLONE_NEWIPC },
  { name: 'net', procPath: 'ns/net', flag: CLONE_NEWNET },
  { name: 'mnt', procPath: 'ns/mnt', flag: CLONE_NEWNS },
  { name: 'pid', procPath: 'ns/pid', flag: CLONE_NEWPID },
  { name: 'user', procPath: 'ns/user', flag: CLONE_NEWUSER },
  { name: 'uts', procPath: 'ns/uts', flag: CLONE_NEWUTS },
  { name: 'time', procPath: 'ns/time', flag: CLONE_NEWTIME },
]);

/** cgroup|ipc|net|mnt|pid|user|uts (no time), = 0x7e020000. */
export const NAMESPACE_FLAGS_ALL =
  CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWUTS;

/** namespace_flags_from_string(): space-separated names → OR of flags; any unknown name throws. */
export function namespaceFlagsFromString(value: string): number {
  let words: string[];
  try {
    words = extractWords(value, 0);
  } catch (e) {
    if (e instanceof ExtractError) throw new ValueError(`Failed to parse namespace type string: ${value}`);
    throw e;
  }
  let flags = 0;
  for (const w of words) {
    const t = NAMESPACE_TYPES.find((n) => n.name === w);
    if (!t) throw new ValueError(`Failed to parse namespace type string, unknown namespace type "${w}": ${value}`);
    flags |= t.flag;
  }
  return flags;
}

/** namespace_flags_to_string(): the names whose flag is set, space-separated, in table order. */
export function namespaceFlagsToString(flags: number): string {
  return NAMESPACE_TYPES.filter((t) => (flags & t.flag) === t.flag)
    .map((t) => t.name)
    .join(' ');
}

export type ParsedRestrictNamespaces =
  | { readonly kind: 'boolean'; readonly restrict: boolean }
  | { readonly kind: 'list'; readonly invert: boolean; readonly flags: number };

/**
 * One RestrictNamespaces= value (non-empty). A boolean wins over list parsing ("yes", "no", "1", "on" …,
 * case-insensitive); otherwise an optional "~" and a list of names. Throws ValueError when a name is unknown
 * (systemd ignores the whole line then).
 */
export function parseRestrictNamespaces(value: string): ParsedRestrictNamespaces {
  const b = booleanOrUndefined(value);
  if (b !== undefined) return { kind: 'boolean', restrict: b };
  const invert = value.startsWith('~');
  const flags = namespaceFlagsFromString(invert ? value.slice(1) : value);
  return { kind: 'list', invert, flags };
}

/**
 * Merges one assignment into the allowed-namespace mask (see the header for the rules). `current`
 * undefined = never assigned; the result undefined = no restriction configured.
 */
export function applyRestrictNamespaces(
  current: number | undefined,
  parsed: ParsedRestrictNamespaces | undefined,
  isEmptyAssignment = false,
): number | undefined {
  if (isEmptyAssignment || parsed === undefined) return undefined;
  if (parsed.kind === 'boolean') return parsed.restrict ? 0 : NAMESPACE_FLAGS_ALL;
  const { invert, flags } = parsed;
  if (current === undefined) return invert ? ~flags & NAMESPACE_FLAGS_ALL : flags;
  return invert ? current & ~flags : current | flags;
}

/**
 * The namespace types seccomp_restrict_namespaces() blocks for an allowed mask: none when every type of
 * NAMESPACE_FLAGS_ALL is allowed (systemd installs no filter then), otherwise every type of
 * namespace_info[] not in the mask — which includes "time" unless it was listed explicitly.
 */
export function restrictedNamespaceTypes(allowed: number | undefined): NamespaceType[] {
  if (allowed === undefined || (allowed & NAMESPACE_FLAGS_ALL) === NAMESPACE_FLAGS_ALL) return [];
  return NAMESPACE_TYPES.filter((t) => (allowed & t.flag) !== t.flag);
}
