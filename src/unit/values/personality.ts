/**
 * Personality= as systemd v255 reads it.
 *
 * Sources (systemd v255): config_parse_personality() (src/shared/conf-parser.c), personality_from_string()
 * and personality_to_string() (src/basic/process-util.c), architecture_table[] (src/basic/architecture.c)
 * and native_architecture()/ARCHITECTURE_SECONDARY (src/basic/architecture.h).
 *
 * Only two personalities can be expressed: the build's native architecture → PER_LINUX, and its secondary
 * ("compat") architecture → PER_LINUX32 (x86-64: x86; arm64: arm; ppc64: ppc; ppc64-le: ppc-le; s390x: s390).
 * Every other architecture name, valid or not, is "Failed to parse personality, ignoring". Names are
 * systemd's ("x86-64", "arm64"), matched exactly: "aarch64" or "x86_64" are not names.
 * The empty assignment resets to "unset" (PERSONALITY_INVALID): the personality is left alone.
 */
import { ValueError } from '../diagnostics.js';

export const PER_LINUX = 0x0000;
export const PER_LINUX32 = 0x0008;
/** systemd's "not set" marker. */
export const PERSONALITY_INVALID = 0xffffffff;

/** architecture_table[] of systemd v255, in table order. */
export const ARCHITECTURE_NAMES: readonly string[] = Object.freeze([
  'arm64', 'arm64-be', 'arm', 'arm-be', 'alpha', 'arc', 'arc-be', 'cris', 'x86-64', 'x86', 'ia64',
  'loongarch64', 'm68k', 'mips64-le', 'mips64', 'mips-le', 'mips', 'nios2', 'parisc64', 'parisc', 'ppc64-le',
  'ppc64', 'ppc', 'ppc-le', 'riscv32', 'riscv64', 's390x', 's390', 'sh64', 'sh', 'sparc64', 'sparc', 'tilegx',
]);

/** SECONDARY_ARCHITECTURE per native architecture (architecture.h). */
const SECONDARY: Readonly<Record<string, string>> = {
  'x86-64': 'x86',
  arm64: 'arm',
  ppc64: 'ppc',
  'ppc64-le': 'ppc-le',
  s390x: 's390',
};

/** systemd's name for the architecture this Node runs on (native_architecture()). */
export function nativeArchitecture(arch: string = process.arch, endianness: string = littleEndian() ? 'LE' : 'BE'): string | undefined {
  const le = endianness === 'LE';
  switch (arch) {
    case 'x64':
      return 'x86-64';
    case 'ia32':
      return 'x86';
    case 'arm64':
      return le ? 'arm64' : 'arm64-be';
    case 'arm':
      return le ? 'arm' : 'arm-be';
    case 'ppc64':
      return le ? 'ppc64-le' : 'ppc64';
    case 'ppc':
      return 'ppc';
    case 's390x':
      return 's390x';
    case 's390':
      return 's390';
    case 'riscv64':
      return 'riscv64';
    case 'loong64':
      return 'loongarch64';
    case 'mips':
      return le ? 'mips-le' : 'mips';
    case 'mipsel':
      return 'mips-le';
    default:
      return undefined;
  }
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** The compat architecture of `native`, if systemd knows one. */
export function secondaryArchitecture(native: string): string | undefined {
  return SECONDARY[native];
}

/**
 * One Personality= value: PER_LINUX / PER_LINUX32, or undefined for the empty assignment (unset).
 * Throws ValueError for anything personality_from_string() rejects on `native`.
 */
export function parsePersonality(value: string, native: string | undefined = nativeArchitecture()): number | undefined {
  if (value === '') return undefined;
  if (ARCHITECTURE_NAMES.includes(value) && native !== undefined) {
    if (value === native) return PER_LINUX;
    if (value === SECONDARY[native]) return PER_LINUX32;
  }
  throw new ValueError(`Failed to parse personality, ignoring: ${value}`);
}

/** personality_to_string(): the architecture name a personality stands for on `native`. */
export function personalityToString(personality: number, native: string | undefined = nativeArchitecture()): string | undefined {
  if (native === undefined) return undefined;
  if (personality === PER_LINUX) return native;
  if (personality === PER_LINUX32) return SECONDARY[native];
  return undefined;
}
