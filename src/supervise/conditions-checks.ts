/**
 * The table of condition_test_*() functions of systemd's src/shared/condition.c
 * (v252–v255), one per check name, and the smaller tests themselves. Each returns
 * whether the check holds (before negation) or throws ConditionError where systemd's
 * returns -errno.
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { capabilityFromName } from '../unit/values/capabilities.js';
import { booleanOrUndefined } from '../unit/values/bool.js';
import { parseSizeBig } from '../unit/values/size.js';
import { parseEnvFileContents } from '../unit/envfile.js';
import { EXTRACT_RETAIN_SEPARATORS, EXTRACT_UNQUOTE, extractFirstWord } from '../unit/words.js';
import type { ConditionContext } from './conditions.js';
import {
  COMPARE_ALLOW_FNMATCH,
  COMPARE_EQUAL_BY_STRING,
  COMPARE_OPERATOR_WITH_FNMATCH_CHARS,
  ConditionError,
  FNM_CASEFOLD,
  fnmatch,
  globExists,
  parseCompareOperator,
  testOrder,
  versionOrFnmatchCompare,
} from './conditions-compare.js';
import { CGROUP_BPF_CONTROLLERS, CGROUP_CONTROLLERS, cgAllUnified, cgMaskSupported, exists, lexists, lookupGid, lookupUid, pathIsReadOnlyFs, procField, readOneLine, useAudit } from './conditions-system.js';
import { ARCHITECTURES, detectVirtualization, nativeArchitecture, runningInUserns, unameArchitecture } from './conditions-virt.js';
import {
  apparmorEnabled,
  confidentialVirtualization,
  cpusInAffinityMask,
  efiVariable,
  hasCpuWithFlag,
  hasTpm2,
  isEfiBoot,
  isEfiSecureBoot,
  onAcPower,
  physicalMemory,
  selinuxEnabled,
} from './conditions-hw.js';
import { kernelVersion, matchesAssignment, procCmdline, psiTest } from './conditions-kernel.js';
import { directoryNotEmpty, isEncrypted, isMountPoint, needsUpdateTest, statOrUndefined } from './conditions-paths.js';

type Test = (value: string, ctx: ConditionContext) => boolean;

const WHITESPACE = ' \t\n\r';
const at = (ctx: ConditionContext, p: string): string => (ctx.root ? join(ctx.root, p) : p);

function parseBool(value: string): boolean {
  const b = booleanOrUndefined(value);
  if (b === undefined) throw new ConditionError(`Failed to parse boolean value "${value}"`);
  return b;
}




/** parse_os_release(): os-release assignments (/etc/os-release, else /usr/lib/os-release). */
function osRelease(ctx: ConditionContext): Map<string, string> {
  for (const p of ['/etc/os-release', '/usr/lib/os-release']) {
    let text: Buffer;
    try {
      text = readFileSync(at(ctx, p));
    } catch {
      continue;
    }
    return new Map(parseEnvFileContents(text, p).vars.map(([k, v]) => [k, v]));
  }
  throw new ConditionError('no os-release file found');
}

function osReleaseTest(value: string, ctx: ConditionContext): boolean {
  let pos: number | null = 0;
  let release: Map<string, string> | undefined;
  for (;;) {
    const r = extractFirstWord(value, pos, null, EXTRACT_UNQUOTE);
    if (r.word === null) break;
    pos = r.pos;
    const condition = r.word;
    const k = extractFirstWord(condition, 0, COMPARE_OPERATOR_WITH_FNMATCH_CHARS, EXTRACT_RETAIN_SEPARATORS);
    const rest = k.pos === null ? '' : condition.slice(k.pos);
    if (k.word === null || rest === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k.word)) {
      throw new ConditionError('Failed to parse parameter, key/value format expected');
    }
    const parsed = parseCompareOperator(rest, COMPARE_ALLOW_FNMATCH | COMPARE_EQUAL_BY_STRING);
    if (!parsed || parsed.rest === '' || WHITESPACE.includes(parsed.rest[0]!)) {
      throw new ConditionError('Failed to parse parameter, key/value format expected');
    }
    release ??= osRelease(ctx);
    if (!versionOrFnmatchCompare(parsed.op, release.get(k.word), parsed.rest)) return false;
  }
  return true;
}

/** sd_id128_from_string(): 32 hex digits, or the 36-character UUID form. */
function parseId128(s: string): string | undefined {
  if (/^[0-9a-fA-F]{32}$/.test(s)) return s.toLowerCase();
  if (/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) return s.replace(/-/g, '').toLowerCase();
  return undefined;
}

function hostTest(value: string, ctx: ConditionContext): boolean {
  const id = parseId128(value);
  if (id !== undefined) {
    const line = readOneLine(at(ctx, '/etc/machine-id'));
    const mine = line === undefined ? undefined : parseId128(line.trim());
    if (mine === undefined) throw new ConditionError('no valid /etc/machine-id');
    return mine === id;
  }
  const r = fnmatch(value, hostname(), FNM_CASEFOLD);
  if (r === undefined) throw new ConditionError('fnmatch() failed');
  return r;
}

/** parse_uid()/parse_gid(): a decimal id, not (uid_t) -1 nor the 16-bit -1. */
function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0xfffffffe || n === 0xffff ? undefined : n;
}

/** uid_is_system(): SYSTEM_UID_MAX as Debian and Fedora build systemd (999). */
const SYSTEM_UID_MAX = 999;
const UID_NOBODY = 65534;

function userTest(value: string, ctx: ConditionContext): boolean {
  const uid = process.getuid!();
  const euid = process.geteuid!();
  if (value === 'root') return uid === 0 || euid === 0;
  if (value === 'nobody') return uid === UID_NOBODY || euid === UID_NOBODY;
  if (value === '@system') return uid <= SYSTEM_UID_MAX || euid <= SYSTEM_UID_MAX;
  const id = parseId(value);
  if (id !== undefined) return id === uid || id === euid;
  if (process.pid === 1) return false;
  // getusername_malloc(): $USER, else the name of getuid().
  const me = ctx.managerEnv['USER'] ?? ownUserName();
  if (me === value) return true;
  const other = lookupUid(value);
  return other !== undefined && (other === uid || other === euid);
}
function ownUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** in_gid(): the real or effective gid, or a supplementary group. */
function inGid(gid: number): boolean {
  return gid === process.getgid!() || gid === process.getegid!() || process.getgroups!().includes(gid);
}

function groupTest(value: string): boolean {
  const id = parseId(value);
  if (id !== undefined) return inGid(id);
  if (process.pid === 1) return value === 'root';
  const gid = value === 'root' ? 0 : value === 'nogroup' || value === 'nobody' ? (lookupGid(value) ?? 65534) : lookupGid(value);
  return gid !== undefined && inGid(gid);
}

function virtualizationTest(value: string, ctx: ConditionContext): boolean {
  if (value === 'private-users') return runningInUserns();
  const v = detectVirtualization(ctx.managerEnv);
  const b = booleanOrUndefined(value);
  if (b !== undefined) return b === (v.kind !== 'none');
  if (value === 'vm') return v.kind === 'vm';
  if (value === 'container') return v.kind === 'container';
  return v.kind !== 'none' && value === v.id;
}

function architectureTest(value: string): boolean {
  const a = unameArchitecture();
  if (a === undefined) throw new ConditionError('unknown uname architecture');
  if (value === 'native') return a === nativeArchitecture();
  if (!ARCHITECTURES.includes(value)) return false; // unknown architecture: definitely not ours
  return a === value;
}

function securityTest(value: string): boolean {
  switch (value) {
    case 'selinux':
      return selinuxEnabled();
    case 'smack':
      return exists('/sys/fs/smackfs/');
    case 'apparmor':
      return apparmorEnabled();
    case 'audit':
      return useAudit();
    case 'ima':
      return exists('/sys/kernel/security/ima/');
    case 'tomoyo':
      return exists('/sys/kernel/security/tomoyo/version');
    case 'uefi-secureboot':
      return isEfiSecureBoot();
    case 'tpm2':
      return hasTpm2();
    case 'cvm':
      return confidentialVirtualization();
    case 'measured-uki':
      // efi_measured_uki(): systemd-stub set StubPcrKernelImage (and a TPM2 is there to measure into).
      return hasTpm2() && efiVariable('StubPcrKernelImage', '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f') !== undefined;
    default:
      return false;
  }
}

function capabilityTest(value: string): boolean {
  const cap = capabilityFromName(value);
  if (cap === undefined) throw new ConditionError(`invalid capability "${value}"`);
  const bnd = procField('/proc/self/status', 'CapBnd');
  if (bnd === undefined) return true; // no CapBnd line: assume we have it
  if (!/^[0-9a-fA-F]+$/.test(bnd)) throw new ConditionError('cannot parse CapBnd');
  return ((BigInt('0x' + bnd) >> BigInt(cap)) & 1n) === 1n;
}


function firstBootTest(value: string, ctx: ConditionContext): boolean {
  const want = parseBool(value);
  const e = ctx.managerEnv['SYSTEMD_FIRST_BOOT'];
  const b = e === undefined ? undefined : booleanOrUndefined(e);
  const firstBoot = b ?? exists('/run/systemd/first-boot');
  return firstBoot === want;
}

function credentialTest(value: string, ctx: ConditionContext): boolean {
  // credential_name_valid(): a valid file name made of printable ASCII other than ':'.
  if (value === '' || value === '.' || value === '..' || value.length > 255 || value.includes('/') || !/^[\x21-\x7e]+$/.test(value) || value.includes(':')) {
    return false;
  }
  for (const v of ['CREDENTIALS_DIRECTORY', 'ENCRYPTED_CREDENTIALS_DIRECTORY']) {
    const dir = ctx.managerEnv[v];
    if (dir === undefined) continue;
    if (!dir.startsWith('/') || /(^|\/)\.\.?(\/|$)/.test(dir) || dir.includes('//')) throw new ConditionError(`$${v} is not a normalized absolute path`);
    if (lexists(join(dir, value))) return true;
  }
  return false;
}

function controllerTest(value: string): boolean {
  if (value === 'v2') return cgAllUnified();
  if (value === 'v1') return !cgAllUnified();
  const known = new Set<string>([...CGROUP_CONTROLLERS, ...CGROUP_BPF_CONTROLLERS]);
  const wanted = value.split(/[ \t\n\r]+/).filter((w) => known.has(w));
  if (wanted.length === 0) return true; // cg_mask_from_string() found nothing: systemd lets it pass
  const mask = cgMaskSupported();
  return wanted.every((w) => mask.has(w));
}

function orderedNumber(value: string, actual: bigint, parse: (s: string) => bigint): boolean {
  const parsed = parseCompareOperator(value, 0);
  const op = parsed?.op ?? '>=';
  let k: bigint;
  try {
    k = parse(parsed ? parsed.rest : value);
  } catch (e) {
    throw new ConditionError(e instanceof Error ? e.message : String(e));
  }
  return testOrder(actual < k ? -1 : actual > k ? 1 : 0, op);
}

/** safe_atou(): optional leading whitespace, decimal digits, fits in 32 bits. */
function safeAtou(s: string): bigint {
  const m = /^[ \t\n\r]*\+?([0-9]+)$/.exec(s);
  if (!m || BigInt(m[1]!) > 0xffffffffn) throw new ConditionError(`Failed to parse number of CPUs "${s}"`);
  return BigInt(m[1]!);
}

function firmwareTest(value: string): boolean {
  if (value === 'device-tree') return exists('/sys/firmware/devicetree/');
  if (value === 'uefi') return isEfiBoot();
  if (value.startsWith('device-tree-compatible(')) {
    const arg = value.slice('device-tree-compatible('.length);
    const end = arg.lastIndexOf(')');
    if (end < 0 || end !== arg.length - 1) return false;
    let raw: string;
    try {
      raw = readFileSync('/proc/device-tree/compatible', 'latin1');
    } catch {
      return false;
    }
    if (raw.length === 0 || !raw.endsWith('\0')) return false;
    return raw.slice(0, -1).split('\0').includes(arg.slice(0, end));
  }
  if (value.startsWith('smbios-field(')) {
    const arg = value.slice('smbios-field('.length);
    const end = arg.lastIndexOf(')');
    if (end < 0 || end !== arg.length - 1) throw new ConditionError(`Malformed ConditionFirmware=${value}`);
    return smbiosField(arg.slice(0, end), value);
  }
  return false;
}

function smbiosField(expression: string, whole: string): boolean {
  const bad = (): ConditionError => new ConditionError(`Malformed ConditionFirmware=${whole}`);
  const f = extractFirstWord(expression, 0, COMPARE_OPERATOR_WITH_FNMATCH_CHARS, EXTRACT_RETAIN_SEPARATORS);
  if (f.word === null || f.pos === null) throw bad();
  const field = f.word.replace(/[ \t\n\r]+$/, '');
  const parsed = parseCompareOperator(expression.slice(f.pos), COMPARE_ALLOW_FNMATCH | COMPARE_EQUAL_BY_STRING);
  if (!parsed) throw bad();
  const v = extractFirstWord(parsed.rest, 0, null, EXTRACT_UNQUOTE);
  if (v.word === null || (v.pos !== null && parsed.rest.slice(v.pos) !== '')) throw bad();
  if (field === '' || field === '.' || field === '..' || field.includes('/')) throw bad();
  let actual: string;
  try {
    actual = readFileSync(`/sys/class/dmi/id/${field}`, 'latin1').replace(/[ \t\n\r]+$/, '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ConditionError(`cannot read /sys/class/dmi/id/${field}`);
  }
  return versionOrFnmatchCompare(parsed.op, actual, v.word);
}



export const CONDITION_TESTS: Readonly<Record<string, Test>> = {
  PathExists: (v, ctx) => exists(at(ctx, v)),
  PathExistsGlob: (v, ctx) => globExists(at(ctx, v)),
  PathIsDirectory: (v, ctx) => statOrUndefined(at(ctx, v), true)?.isDirectory() ?? false,
  PathIsSymbolicLink: (v, ctx) => statOrUndefined(at(ctx, v), false)?.isSymbolicLink() ?? false,
  PathIsMountPoint: (v, ctx) => isMountPoint(at(ctx, v)),
  PathIsReadWrite: (v, ctx) => {
    const r = pathIsReadOnlyFs(at(ctx, v));
    return typeof r === 'string' ? r !== 'ENOENT' : !r;
  },
  PathIsEncrypted: (v, ctx) => isEncrypted(at(ctx, v)),
  DirectoryNotEmpty: (v, ctx) => directoryNotEmpty(at(ctx, v)),
  FileNotEmpty: (v, ctx) => {
    const st = statOrUndefined(at(ctx, v), true);
    return st !== undefined && st.isFile() && st.size > 0;
  },
  FileIsExecutable: (v, ctx) => {
    const st = statOrUndefined(at(ctx, v), true);
    return st !== undefined && st.isFile() && (Number(st.mode) & 0o111) !== 0;
  },
  KernelCommandLine: (v, ctx) => matchesAssignment(procCmdline(ctx), v),
  KernelVersion: (v) => kernelVersion(v),
  Credential: credentialTest,
  Virtualization: virtualizationTest,
  Security: (v) => securityTest(v),
  Capability: (v) => capabilityTest(v),
  Host: hostTest,
  ACPower: (v) => onAcPower() === parseBool(v),
  Architecture: (v) => architectureTest(v),
  Firmware: (v) => firmwareTest(v),
  NeedsUpdate: needsUpdateTest,
  FirstBoot: firstBootTest,
  User: userTest,
  Group: (v) => groupTest(v),
  ControlGroupController: (v) => controllerTest(v),
  CPUs: (v) => orderedNumber(v, BigInt(cpusInAffinityMask()), safeAtou),
  Memory: (v) => orderedNumber(v, physicalMemory(), (s) => parseSizeBig(s, 1024)),
  Environment: (v, ctx) => matchesAssignment(Object.entries(ctx.managerEnv).flatMap(([k, x]) => (x === undefined ? [] : [`${k}=${x}`])), v),
  CPUFeature: (v) => hasCpuWithFlag(v.toLowerCase()),
  OSRelease: osReleaseTest,
  MemoryPressure: psiTest('memory'),
  CPUPressure: psiTest('cpu'),
  IOPressure: psiTest('io'),
};
