/**
 * CPUs, memory, power supplies, firmware and security frameworks as systemd sees them
 * (src/basic/limits-util.c, cpu-set-util.c, virt.c's CPUID table, src/shared/battery-util.c,
 * efi-loader.c, tpm2-util.c, the *-util.c of each security framework).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { machine, totalmem } from 'node:os';
import { booleanOrUndefined } from '../unit/values/bool.js';
import { ConditionError } from './conditions-compare.js';
import { cgAllUnified, cgRootPath, exists, getPageSize, mountInfo, procField, readOneLine, readOrUndefined } from './conditions-system.js';
import { detectContainer } from './conditions-virt.js';

// ---------------------------------------------------------------------------------------------
// CPU, memory, power

/** cpus_in_affinity_mask(): Cpus_allowed_list of /proc/self/status (the main thread's affinity). */
export function cpusInAffinityMask(): number {
  const list = procField('/proc/self/status', 'Cpus_allowed_list');
  if (list === undefined) throw new ConditionError('cannot read Cpus_allowed_list');
  let n = 0;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n;
}

/**
 * physical_memory(): RAM (sysconf(_SC_PHYS_PAGES) × page size), capped by the memory limit of
 * PID 1's cgroup (memory.max on cgroup v2, memory.limit_in_bytes on v1) rounded down to pages.
 */
export function physicalMemory(): bigint {
  const mem = BigInt(totalmem());
  const ps = BigInt(getPageSize());
  let value: string | undefined;
  try {
    const root = cgRootPath();
    const rel = root === '/' ? '' : root;
    value = cgAllUnified() ? readOneLine(`/sys/fs/cgroup${rel}/memory.max`) : readOneLine(`/sys/fs/cgroup/memory${rel}/memory.limit_in_bytes`);
  } catch {
    return mem;
  }
  if (value === undefined || value === 'max' || !/^[0-9]+$/.test(value)) return mem;
  const lim = (BigInt(value) / ps) * ps;
  return lim < mem ? lim : mem;
}

/**
 * The flags of the CPUID table systemd's has_cpu_with_flag() knows, with their /proc/cpuinfo
 * spelling. systemd executes CPUID; the kernel's cpuinfo "flags" line reports the same bits
 * (osxsave is not listed by the kernel; it is set whenever the kernel enabled XSAVE).
 */
const CPUID_FLAGS: Readonly<Record<string, string>> = {
  fpu: 'fpu', vme: 'vme', de: 'de', pse: 'pse', tsc: 'tsc', msr: 'msr', pae: 'pae', mce: 'mce', cx8: 'cx8', apic: 'apic',
  sep: 'sep', mtrr: 'mtrr', pge: 'pge', mca: 'mca', cmov: 'cmov', pat: 'pat', pse36: 'pse36', clflush: 'clflush', mmx: 'mmx',
  fxsr: 'fxsr', sse: 'sse', sse2: 'sse2', ht: 'ht',
  pni: 'pni', pclmul: 'pclmulqdq', monitor: 'monitor', ssse3: 'ssse3', fma3: 'fma', cx16: 'cx16', sse4_1: 'sse4_1',
  sse4_2: 'sse4_2', movbe: 'movbe', popcnt: 'popcnt', aes: 'aes', xsave: 'xsave', osxsave: 'xsave', avx: 'avx', f16c: 'f16c',
  rdrand: 'rdrand',
  bmi1: 'bmi1', avx2: 'avx2', bmi2: 'bmi2', rdseed: 'rdseed', adx: 'adx', sha_ni: 'sha_ni',
  syscall: 'syscall', rdtscp: 'rdtscp', lm: 'lm', lahf_lm: 'lahf_lm', abm: 'abm', constant_tsc: 'constant_tsc',
};

/** has_cpu_with_flag(): only on x86, only the flags systemd's CPUID table names. */
export function hasCpuWithFlag(flag: string): boolean {
  if (!/^(x86_64|i[3-6]86)$/.test(machine())) return false;
  const cpuinfoName = Object.prototype.hasOwnProperty.call(CPUID_FLAGS, flag) ? CPUID_FLAGS[flag] : undefined;
  if (cpuinfoName === undefined) return false;
  const cpuinfo = readOrUndefined('/proc/cpuinfo') ?? '';
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? [];
  return flags.includes(cpuinfoName);
}

/** device_is_power_sink() stand-in: a USB supply counts unless every USB-C port reports the source role. */
function usbIsPowerSink(): boolean {
  let ports: string[];
  try {
    ports = readdirSync('/sys/class/typec').filter((p) => !p.includes('-'));
  } catch {
    return true;
  }
  if (ports.length === 0) return true;
  return ports.some((p) => (readOneLine(`/sys/class/typec/${p}/power_role`) ?? '[sink]').includes('[sink]'));
}

/** on_ac_power() as of systemd v254 (battery-util.c): true unless only discharging batteries (or offline mains) are found. */
export function onAcPower(): boolean {
  const dir = '/sys/class/power_supply';
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return true;
  }
  let acOnline = false;
  let dischargingBattery = false;
  for (const n of names) {
    const type = readOneLine(`${dir}/${n}/type`);
    if (type === undefined) continue;
    if (type === 'USB' && !usbIsPowerSink()) continue;
    if (type === 'Battery') {
      if (readOneLine(`${dir}/${n}/scope`) === 'Device') continue;
      const present = readOneLine(`${dir}/${n}/present`);
      if (present !== undefined && booleanOrUndefined(present) === false) continue;
      const status = readOneLine(`${dir}/${n}/status`);
      if (status === undefined || status === 'Discharging') dischargingBattery = true;
      continue;
    }
    const online = readOneLine(`${dir}/${n}/online`);
    if (online === undefined || !/^\s*[0-9]+\s*$/.test(online)) continue;
    if (Number(online) > 0) acOnline = true;
  }
  if (acOnline) return true;
  return !dischargingBattery;
}

// ---------------------------------------------------------------------------------------------
// Firmware and security

/** is_efi_boot(): not in a container, and /sys/firmware/efi/ exists. */
export function isEfiBoot(): boolean {
  if (detectContainer() !== 'none') return false;
  return exists('/sys/firmware/efi/');
}

const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** An EFI variable's data (after the 4-byte attributes), or undefined. */
export function efiVariable(name: string, vendor: string = EFI_GLOBAL): Buffer | undefined {
  try {
    const b = readFileSync(`/sys/firmware/efi/efivars/${name}-${vendor}`);
    return b.length > 4 ? b.subarray(4) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * is_efi_secure_boot(): the SecureBoot variable is 1 (systemd ≥ 250 also reads SetupMode/
 * AuditMode/DeployedMode to tell "user" from "audit" mode; here only SecureBoot decides).
 */
export function isEfiSecureBoot(): boolean {
  if (!isEfiBoot()) return false;
  const v = efiVariable('SecureBoot');
  return v !== undefined && v[0] === 1;
}

/** tpm2_support() has both SUBSYSTEM (/sys/class/tpmrm exists) and FIRMWARE (an ACPI TPM2 table or a device-tree TPM). */
export function hasTpm2(): boolean {
  const subsystem = exists('/sys/class/tpmrm');
  const firmware = exists('/sys/firmware/acpi/tables/TPM2') || lexistsGlobTpmDeviceTree();
  return subsystem && firmware;
}
function lexistsGlobTpmDeviceTree(): boolean {
  try {
    return readdirSync('/sys/firmware/devicetree/base').some((n) => n.startsWith('tpm'));
  } catch {
    return false;
  }
}

/** mac_selinux_use(): libselinux's is_selinux_enabled() — selinuxfs is mounted. */
export function selinuxEnabled(): boolean {
  return mountInfo().some((m) => m.fsType === 'selinuxfs') || exists('/sys/fs/selinux/enforce');
}

/** mac_apparmor_use(): /sys/module/apparmor/parameters/enabled says yes. */
export function apparmorEnabled(): boolean {
  const v = readOneLine('/sys/module/apparmor/parameters/enabled');
  return v !== undefined && booleanOrUndefined(v.trim()) === true;
}

/** detect_confidential_virtualization() stand-in: the guest flags the kernel reports in /proc/cpuinfo (systemd uses CPUID). */
export function confidentialVirtualization(): boolean {
  if (!/^(x86_64|i[3-6]86)$/.test(machine())) return false;
  const cpuinfo = readOrUndefined('/proc/cpuinfo') ?? '';
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? [];
  return flags.includes('tdx_guest') || flags.includes('sev_snp_guest') || (flags.includes('hypervisor') && (flags.includes('sev') || flags.includes('sev_es') || flags.includes('sev_snp')));
}
