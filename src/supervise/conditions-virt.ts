/**
 * detect_virtualization() (src/basic/virt.c) and the architecture names of
 * src/basic/architecture.c, for ConditionVirtualization= and ConditionArchitecture=.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { endianness, machine } from 'node:os';
import { exists, procField, readOneLine, readOrUndefined, runningInCgroupns } from './conditions-system.js';

// ---------------------------------------------------------------------------------------------
// Virtualization

export const VM_IDS = ['kvm', 'amazon', 'qemu', 'bochs', 'xen', 'uml', 'vmware', 'oracle', 'microsoft', 'zvm', 'parallels', 'bhyve', 'qnx', 'acrn', 'powervm', 'apple', 'sre', 'google', 'vm-other'];
export const CONTAINER_IDS = ['systemd-nspawn', 'lxc-libvirt', 'lxc', 'openvz', 'docker', 'podman', 'rkt', 'wsl', 'proot', 'pouch', 'container-other'];

function detectContainerFiles(): string {
  if (exists('/run/.containerenv')) return 'podman';
  if (exists('/.dockerenv')) return 'docker';
  return 'none';
}

function translateContainerName(e: string): string {
  if (e === 'oci') {
    const f = detectContainerFiles();
    return f === 'none' ? 'container-other' : f;
  }
  return CONTAINER_IDS.includes(e) && e !== 'container-other' ? e : 'container-other';
}

/** detect_container(): a container id, or "none". `env` stands in for PID 1's own environment when we are PID 1. */
export function detectContainer(env: Record<string, string | undefined> = process.env): string {
  if (exists('/proc/vz') && !exists('/proc/bc')) return 'openvz';
  const osrelease = readOneLine('/proc/sys/kernel/osrelease');
  if (osrelease !== undefined && (osrelease.includes('Microsoft') || osrelease.includes('WSL'))) return 'wsl';
  const tracer = procField('/proc/self/status', 'TracerPid');
  if (tracer !== undefined && tracer !== '0' && /^[0-9]+$/.test(tracer)) {
    const comm = readOneLine(`/proc/${tracer}/comm`);
    if (comm?.startsWith('proot')) return 'proot';
  }
  const manager = readOneLine('/run/host/container-manager');
  if (manager) return translateContainerName(manager);
  if (process.pid === 1) {
    const e = env['container'];
    if (e === undefined) return runningInCgroupnsOr(detectContainerFiles());
    if (e === '') return 'none';
    return translateContainerName(e);
  }
  const run = readOneLine('/run/systemd/container');
  if (run) return translateContainerName(run);
  const environ = readOrUndefined('/proc/1/environ'); // needs CAP_SYS_PTRACE; failures are ignored
  if (environ !== undefined) {
    for (const kv of environ.split('\0')) if (kv.startsWith('container=') && kv.length > 'container='.length) return translateContainerName(kv.slice(10));
  }
  return runningInCgroupnsOr(detectContainerFiles());
}

function runningInCgroupnsOr(files: string): string {
  if (files !== 'none') return files;
  return runningInCgroupns() ? 'container-other' : 'none';
}

const DMI_VENDOR_FILES = ['/sys/class/dmi/id/product_name', '/sys/class/dmi/id/sys_vendor', '/sys/class/dmi/id/board_vendor', '/sys/class/dmi/id/bios_vendor'];
const DMI_VENDORS: readonly [string, string][] = [
  ['KVM', 'kvm'],
  ['Amazon EC2', 'amazon'],
  ['QEMU', 'qemu'],
  ['VMware', 'vmware'],
  ['VMW', 'vmware'],
  ['innotek GmbH', 'oracle'],
  ['Oracle Corporation', 'oracle'],
  ['Xen', 'xen'],
  ['Bochs', 'bochs'],
  ['Parallels', 'parallels'],
  ['BHYVE', 'bhyve'],
];

type SmbiosVmBit = 'set' | 'unset' | 'unknown';
function detectVmSmbios(): SmbiosVmBit {
  let raw: Buffer;
  try {
    raw = readFileSync('/sys/firmware/dmi/entries/0-0/raw');
  } catch {
    return 'unknown';
  }
  if (raw.length < 20 || raw[1]! < 20) return 'unknown';
  return (raw[19]! & (1 << 4)) !== 0 ? 'set' : 'unset';
}

function detectVmDmi(): string {
  const arch = machine();
  if (!/^(x86_64|i[3-6]86|aarch64|arm)/.test(arch)) return 'none';
  let r = 'none';
  outer: for (const f of DMI_VENDOR_FILES) {
    const s = readOneLine(f);
    if (s === undefined) continue;
    for (const [vendor, id] of DMI_VENDORS) {
      if (s.startsWith(vendor)) {
        r = id;
        break outer;
      }
    }
  }
  if (r === 'amazon') {
    const bit = detectVmSmbios();
    if (bit === 'set') return 'amazon';
    if (bit === 'unset') return 'none';
    const name = readOneLine('/sys/class/dmi/id/product_name');
    return name !== undefined && name.endsWith('.metal') ? 'none' : 'amazon';
  }
  if (r === 'none' && detectVmSmbios() === 'set') return 'vm-other';
  return r;
}

/**
 * detect_vm_cpuid() stand-in. systemd reads the hypervisor bit and the 0x40000000 vendor
 * signature with CPUID; Node cannot, so the "hypervisor" flag of /proc/cpuinfo gives the bit
 * and the paravirtual clock sources the kernel registered give the vendor (kvm-clock → kvm,
 * hyperv_clocksource → microsoft, xen → xen); an unidentified hypervisor is "vm-other".
 */
function detectVmCpuid(): string {
  if (!/^(x86_64|i[3-6]86)$/.test(machine())) return 'none';
  const cpuinfo = readOrUndefined('/proc/cpuinfo') ?? '';
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? [];
  if (!flags.includes('hypervisor')) return 'none';
  const clocks = readOrUndefined('/sys/devices/system/clocksource/clocksource0/available_clocksource') ?? '';
  const cs = clocks.trim().split(/\s+/);
  if (cs.includes('kvm-clock')) return 'kvm';
  if (cs.some((c) => c.startsWith('hyperv_clocksource'))) return 'microsoft';
  if (cs.includes('xen')) return 'xen';
  return 'vm-other';
}

function detectVmXenDom0(): boolean {
  const features = readOneLine('/sys/hypervisor/properties/features');
  if (features !== undefined && /^[0-9a-fA-F]+/.test(features)) return (parseInt(features, 16) & (1 << 11)) !== 0;
  const caps = readOneLine('/proc/xen/capabilities');
  if (caps === undefined) return false;
  return caps.split(',').includes('control_d');
}

function detectVmDeviceTree(): string {
  if (!/^(aarch64|arm|ppc)/.test(machine())) return 'none';
  const hv = readOneLine('/proc/device-tree/hypervisor/compatible');
  if (hv === undefined) {
    if (exists('/proc/device-tree/ibm,partition-name') && exists('/proc/device-tree/hmc-managed?') && !exists('/proc/device-tree/chosen/qemu,graphic-width')) return 'powervm';
    let names: string[];
    try {
      names = readdirSync('/proc/device-tree');
    } catch {
      return 'none';
    }
    return names.some((n) => n.includes('fw-cfg')) ? 'qemu' : 'none';
  }
  const t = hv.replace(/\0.*$/, '');
  if (t === 'linux,kvm') return 'kvm';
  if (t.includes('xen')) return 'xen';
  if (t.includes('vmware')) return 'vmware';
  return 'vm-other';
}

/** detect_vm(): a VM id, or "none". */
export function detectVm(): string {
  let other = false;
  const dmi = detectVmDmi();
  let r = 'none';
  const steps: (() => string)[] = [
    () => {
      const cpuinfo = readOrUndefined('/proc/cpuinfo') ?? '';
      return /^vendor_id\t: User Mode Linux/m.test(cpuinfo) ? 'uml' : 'none';
    },
    detectVmCpuid,
    () => dmi,
    () => (exists('/proc/xen') ? 'xen' : 'none'),
    () => {
      const t = readOneLine('/sys/hypervisor/type');
      return t === undefined ? 'none' : t === 'xen' ? 'xen' : 'vm-other';
    },
    detectVmDeviceTree,
  ];
  if (dmi === 'oracle' || dmi === 'xen' || dmi === 'amazon') r = dmi;
  else {
    for (const step of steps) {
      const v = step();
      if (v === 'vm-other') other = true;
      else if (v !== 'none') {
        r = v;
        break;
      }
    }
  }
  if (r === 'xen' && detectVmXenDom0()) r = 'none';
  else if (r === 'none' && other) r = 'vm-other';
  return r;
}

/** detect_virtualization(): the container if any, else the VM, else "none". */
export function detectVirtualization(env?: Record<string, string | undefined>): { id: string; kind: 'none' | 'vm' | 'container' } {
  const c = detectContainer(env);
  if (c !== 'none') return { id: c, kind: 'container' };
  const v = detectVm();
  return { id: v, kind: v === 'none' ? 'none' : 'vm' };
}

function userNsHasMapping(file: string): boolean {
  const text = readOrUndefined(file);
  if (text === undefined) return false;
  const first = text.split('\n')[0]!;
  if (text === '') return true;
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)/.exec(first);
  if (!m) return true;
  return !(m[1] === '0' && m[2] === '0' && m[3] === '4294967295');
}

/** running_in_userns(). */
export function runningInUserns(): boolean {
  if (userNsHasMapping('/proc/self/uid_map')) return true;
  if (userNsHasMapping('/proc/self/gid_map')) return true;
  return readOneLine('/proc/self/setgroups') === 'deny';
}

// ---------------------------------------------------------------------------------------------
// Architecture

export const ARCHITECTURES = [
  'alpha', 'arc', 'arc-be', 'arm', 'arm64', 'arm64-be', 'arm-be', 'cris', 'ia64', 'loongarch64', 'm68k',
  'mips64', 'mips64-le', 'mips', 'mips-le', 'nios2', 'parisc64', 'parisc', 'ppc64', 'ppc64-le', 'ppc', 'ppc-le',
  'riscv32', 'riscv64', 's390x', 's390', 'sh64', 'sh', 'sparc64', 'sparc', 'tilegx', 'x86-64', 'x86',
];

/** uname_architecture(): systemd's name for uname(2)'s machine field. */
export function unameArchitecture(m: string = machine()): string | undefined {
  const le = endianness() === 'LE';
  const table: [RegExp, string][] = [
    [/^x86_64$/, 'x86-64'],
    [/^i[3-6]86$/, 'x86'],
    [/^aarch64$/, 'arm64'],
    [/^aarch64_be$/, 'arm64-be'],
    [/^(armv.*b|armeb)$/, 'arm-be'],
    [/^arm/, 'arm'],
    [/^ppc64le$/, 'ppc64-le'],
    [/^ppc64$/, 'ppc64'],
    [/^ppcle$/, 'ppc-le'],
    [/^ppc$/, 'ppc'],
    [/^s390x$/, 's390x'],
    [/^s390$/, 's390'],
    [/^sparc64$/, 'sparc64'],
    [/^sparc$/, 'sparc'],
    [/^mips64$/, le ? 'mips64-le' : 'mips64'],
    [/^mips$/, le ? 'mips-le' : 'mips'],
    [/^alpha$/, 'alpha'],
    [/^ia64$/, 'ia64'],
    [/^parisc64$/, 'parisc64'],
    [/^parisc$/, 'parisc'],
    [/^sh64$/, 'sh64'],
    [/^sh/, 'sh'],
    [/^m68k$/, 'm68k'],
    [/^tilegx$/, 'tilegx'],
    [/^crisv32$/, 'cris'],
    [/^nios2$/, 'nios2'],
    [/^riscv32$/, 'riscv32'],
    [/^riscv64$/, 'riscv64'],
    [/^arceb$/, 'arc-be'],
    [/^arc$/, 'arc'],
    [/^loongarch64$/, 'loongarch64'],
  ];
  for (const [re, name] of table) if (re.test(m)) return name;
  return undefined;
}

/** native_architecture(): the architecture this program was built for (Node's process.arch). */
export function nativeArchitecture(): string | undefined {
  const map: Record<string, string> = {
    x64: 'x86-64',
    ia32: 'x86',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64-le',
    ppc: 'ppc',
    s390x: 's390x',
    s390: 's390',
    riscv64: 'riscv64',
    loong64: 'loongarch64',
    mips: 'mips',
    mipsel: 'mips-le',
  };
  return map[process.arch];
}
