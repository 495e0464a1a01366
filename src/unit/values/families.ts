/**
 * RestrictAddressFamilies= as systemd v255 reads it.
 *
 * Sources (systemd v255): config_parse_address_families() in src/core/load-fragment.c, af_from_name() /
 * af_to_name() in src/basic/af-list.c (generated from <sys/socket.h>: every `AF_x PF_x` except AF_UNSPEC and
 * AF_MAX; af-to-name.awk drops the aliases AF_LOCAL, AF_FILE, AF_ROUTE for printing). The names are looked up
 * case-insensitively (systemd 252 accepts "af_inet", checked with `systemd-analyze verify`). Numbers are from
 * /usr/include/x86_64-linux-gnu/bits/socket.h (glibc 2.36); they are the same on every Linux architecture.
 *
 * Merge rules:
 *  - empty assignment: reset (no restriction);
 *  - exactly "none": forget the list and deny everything (allow-list, no set). A later list line starts a
 *    fresh set and its own "~" decides the mode again;
 *  - otherwise the first list line decides allow-list (plain) or deny-list ("~"); later lines of the same
 *    polarity add to the set, lines of the other polarity remove from it;
 *  - unknown names (and numbers) are skipped with a warning, the rest of the line applies.
 */
import { EXTRACT_UNQUOTE, ExtractError, extractFirstWord } from '../words.js';

/** Canonical AF_ names (as systemd prints them) and their numbers. */
export const ADDRESS_FAMILIES: ReadonlyArray<readonly [name: string, value: number]> = Object.freeze([
  ['AF_UNIX', 1], ['AF_INET', 2], ['AF_AX25', 3], ['AF_IPX', 4], ['AF_APPLETALK', 5], ['AF_NETROM', 6],
  ['AF_BRIDGE', 7], ['AF_ATMPVC', 8], ['AF_X25', 9], ['AF_INET6', 10], ['AF_ROSE', 11], ['AF_DECnet', 12],
  ['AF_NETBEUI', 13], ['AF_SECURITY', 14], ['AF_KEY', 15], ['AF_NETLINK', 16], ['AF_PACKET', 17], ['AF_ASH', 18],
  ['AF_ECONET', 19], ['AF_ATMSVC', 20], ['AF_RDS', 21], ['AF_SNA', 22], ['AF_IRDA', 23], ['AF_PPPOX', 24],
  ['AF_WANPIPE', 25], ['AF_LLC', 26], ['AF_IB', 27], ['AF_MPLS', 28], ['AF_CAN', 29], ['AF_TIPC', 30],
  ['AF_BLUETOOTH', 31], ['AF_IUCV', 32], ['AF_RXRPC', 33], ['AF_ISDN', 34], ['AF_PHONET', 35],
  ['AF_IEEE802154', 36], ['AF_CAIF', 37], ['AF_ALG', 38], ['AF_NFC', 39], ['AF_VSOCK', 40], ['AF_KCM', 41],
  ['AF_QIPCRTR', 42], ['AF_SMC', 43], ['AF_XDP', 44], ['AF_MCTP', 45],
] as const);

/** Aliases accepted on input (af_from_name) but never printed. */
const ALIASES: ReadonlyArray<readonly [string, number]> = [['AF_LOCAL', 1], ['AF_FILE', 1], ['AF_ROUTE', 16]];

/** AF_MAX of the table: families >= this are outside what systemd knows. */
export const AF_MAX = 46;

const BY_NAME: ReadonlyMap<string, number> = new Map(
  [...ADDRESS_FAMILIES, ...ALIASES].map(([name, value]) => [name.toUpperCase(), value]),
);
const BY_VALUE: ReadonlyMap<number, string> = new Map(ADDRESS_FAMILIES.map(([name, value]) => [value, name]));

/** af_from_name(): case-insensitive; no numbers, no AF_UNSPEC/AF_MAX. */
export function addressFamilyFromName(name: string): number | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** af_to_name(). */
export function addressFamilyName(value: number): string | undefined {
  return BY_VALUE.get(value);
}

export type ParsedAddressFamilies =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'list';
      readonly invert: boolean;
      /** Families in the order written (duplicates kept, harmless). */
      readonly families: readonly number[];
      /** Messages for skipped words, systemd's wording. */
      readonly warnings: readonly string[];
    };

/** One non-empty RestrictAddressFamilies= value. Never throws: bad words become warnings. */
export function parseRestrictAddressFamilies(value: string): ParsedAddressFamilies {
  if (value === 'none') return { kind: 'none' };
  const invert = value.startsWith('~');
  const rest = invert ? value.slice(1) : value;
  const families: number[] = [];
  const warnings: string[] = [];
  let pos: number | null = 0;
  for (;;) {
    let word: string | null;
    try {
      const r = extractFirstWord(rest, pos, null, EXTRACT_UNQUOTE);
      word = r.word;
      pos = r.pos;
    } catch (e) {
      if (!(e instanceof ExtractError)) throw e;
      warnings.push(`Invalid syntax, ignoring: ${value}`);
      break;
    }
    if (word === null) break;
    const af = addressFamilyFromName(word);
    if (af === undefined) warnings.push(`Failed to parse address family, ignoring: ${word}`);
    else families.push(af);
  }
  return { kind: 'list', invert, families, warnings };
}

/**
 * systemd's ExecContext fields: `families` null means "no set" (never assigned, or reset by "none").
 * { allowList: false, families: null } is the unrestricted default.
 */
export interface AddressFamiliesState {
  readonly allowList: boolean;
  readonly families: ReadonlySet<number> | null;
}

export const ADDRESS_FAMILIES_UNSET: AddressFamiliesState = Object.freeze({ allowList: false, families: null });

/** Merges one assignment (see the header for the rules). */
export function applyRestrictAddressFamilies(
  state: AddressFamiliesState | undefined,
  parsed: ParsedAddressFamilies | undefined,
  isEmptyAssignment = false,
): AddressFamiliesState {
  if (isEmptyAssignment || parsed === undefined) return ADDRESS_FAMILIES_UNSET;
  if (parsed.kind === 'none') return { allowList: true, families: null };
  const cur = state ?? ADDRESS_FAMILIES_UNSET;
  const allowList = cur.families === null ? !parsed.invert : cur.allowList;
  const families = new Set(cur.families ?? []);
  const add = !parsed.invert === allowList;
  for (const af of parsed.families) {
    if (add) families.add(af);
    else families.delete(af);
  }
  return { allowList, families };
}

export type AddressFamilyPolicy =
  | { readonly kind: 'unrestricted' }
  | { readonly kind: 'allow'; readonly families: readonly number[] }
  | { readonly kind: 'deny'; readonly families: readonly number[] };

/**
 * What the executor enforces: a deny-list with no entries installs nothing; an allow-list may be empty
 * ("none", or every family removed again), which blocks socket() for every family.
 */
export function addressFamilyPolicy(state: AddressFamiliesState | undefined): AddressFamilyPolicy {
  const s = state ?? ADDRESS_FAMILIES_UNSET;
  const families = [...(s.families ?? [])].sort((a, b) => a - b);
  if (s.allowList) return { kind: 'allow', families };
  return families.length === 0 ? { kind: 'unrestricted' } : { kind: 'deny', families };
}
