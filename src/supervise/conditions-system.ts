/**
 * The plumbing of the Condition*= checks: file helpers, the libc calls Node lacks
 * (statvfs, getpwnam/getgrnam, a NETLINK_AUDIT socket, through koffi), mounts
 * (/proc/self/mountinfo) and cgroup controllers (src/basic/cgroup-util.c).
 * Virtualization and architecture are in conditions-virt.ts; CPUs, memory, power,
 * firmware and security frameworks in conditions-hw.ts.
 */
import { accessSync, constants as fsc, existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import koffi, { type TypeObject } from 'koffi';
import { ConditionError } from './conditions-compare.js';

// ---------------------------------------------------------------------------------------------
// Small file helpers

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** read_one_line_file(): the first line, or undefined when the file does not exist. Other errors throw. */
export function readOneLine(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1').split('\n')[0]!;
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The whole file, or undefined on any error. */
export function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** access(path, F_OK): follows symlinks. */
export function exists(path: string): boolean {
  return existsSync(path);
}

/** laccess(path, F_OK): does not follow a final symlink. */
export function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A field of a /proc/<pid>/status-style file ("Name:\tvalue"). */
export function procField(file: string, key: string): string | undefined {
  const text = readOrUndefined(file);
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) if (line.startsWith(key + ':')) return line.slice(key.length + 1).trim();
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// libc calls Node lacks

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  close: (fd: number) => number;
  statvfs: (path: string, buf: Buffer) => number;
  getpagesize: () => number;
  getpwnam: (name: string) => unknown;
  getgrnam: (name: string) => unknown;
}
let libc: Libc | undefined;
let passwdType: TypeObject | undefined;
let groupType: TypeObject | undefined;
function getLibc(): Libc {
  if (!libc) {
    const lib = koffi.load('libc.so.6');
    passwdType = koffi.struct({
      pw_name: 'char *',
      pw_passwd: 'char *',
      pw_uid: 'uint32_t',
      pw_gid: 'uint32_t',
    });
    groupType = koffi.struct({ gr_name: 'char *', gr_passwd: 'char *', gr_gid: 'uint32_t' });
    libc = {
      socket: lib.func('int socket(int domain, int type, int protocol)') as unknown as Libc['socket'],
      close: lib.func('int close(int fd)') as unknown as Libc['close'],
      statvfs: lib.func('int statvfs(const char *path, void *buf)') as unknown as Libc['statvfs'],
      getpagesize: lib.func('int getpagesize()') as unknown as Libc['getpagesize'],
      getpwnam: lib.func('void *getpwnam(const char *name)') as unknown as Libc['getpwnam'],
      getgrnam: lib.func('void *getgrnam(const char *name)') as unknown as Libc['getgrnam'],
    };
  }
  return libc;
}

/** getpagesize(). */
export function getPageSize(): number {
  return getLibc().getpagesize();
}

/** getpwnam() (NSS): the uid of a user name, or undefined. */
export function lookupUid(name: string): number | undefined {
  const l = getLibc();
  const p = l.getpwnam(name);
  if (p === null || p === undefined) return undefined;
  return (koffi.decode(p, passwdType!) as { pw_uid: number }).pw_uid;
}

/** getgrnam() (NSS): the gid of a group name, or undefined. */
export function lookupGid(name: string): number | undefined {
  const l = getLibc();
  const p = l.getgrnam(name);
  if (p === null || p === undefined) return undefined;
  return (koffi.decode(p, groupType!) as { gr_gid: number }).gr_gid;
}

const ST_RDONLY = 1;
/** f_flag of struct statvfs on 64-bit glibc (after nine 8-byte fields). */
const STATVFS_F_FLAG_OFFSET = 72;

/**
 * path_is_read_only_fs(): true when statvfs() reports ST_RDONLY or access(W_OK) fails with
 * EROFS; an error code ('ENOENT', …) when statvfs() fails.
 */
export function pathIsReadOnlyFs(path: string): boolean | string {
  const buf = Buffer.alloc(256);
  if (getLibc().statvfs(path, buf) < 0) {
    try {
      statSync(path);
    } catch (e) {
      return errCode(e) ?? 'EIO';
    }
    return 'EIO';
  }
  if ((Number(buf.readBigUInt64LE(STATVFS_F_FLAG_OFFSET)) & ST_RDONLY) !== 0) return true;
  try {
    accessSync(path, fsc.W_OK);
  } catch (e) {
    if (errCode(e) === 'EROFS') return true;
  }
  return false;
}

/** use_audit(): a NETLINK_AUDIT socket can be opened (or fails for a reason other than "unsupported"/EPERM). */
export function useAudit(): boolean {
  const AF_NETLINK = 16;
  const SOCK_RAW = 3;
  const SOCK_CLOEXEC = 0o2000000;
  const SOCK_NONBLOCK = 0o4000;
  const NETLINK_AUDIT = 9;
  const l = getLibc();
  const fd = l.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
  if (fd >= 0) {
    l.close(fd);
    return true;
  }
  const e = koffi.errno();
  const EPERM = 1;
  const EAFNOSUPPORT = 97;
  const EPROTONOSUPPORT = 93;
  return e !== EAFNOSUPPORT && e !== EPROTONOSUPPORT && e !== EPERM;
}

// ---------------------------------------------------------------------------------------------
// Mounts and cgroups

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** "\040" escapes in /proc/self/mountinfo fields. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/mountinfo, in order (later entries are mounted over earlier ones). */
export function mountInfo(): MountEntry[] {
  const text = readOrUndefined('/proc/self/mountinfo') ?? '';
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 5 || sep < 0) continue;
    out.push({ mountPoint: unescapeMount(f[4]!), fsType: f[sep + 1] ?? '' });
  }
  return out;
}

/** The file-system type mounted at exactly `path` (the topmost mount), or undefined. */
export function fsTypeAt(path: string): string | undefined {
  let t: string | undefined;
  for (const m of mountInfo()) if (m.mountPoint === path) t = m.fsType;
  return t;
}

/** cg_all_unified(): /sys/fs/cgroup itself is a cgroup2 mount. */
export function cgAllUnified(): boolean {
  const t = fsTypeAt('/sys/fs/cgroup');
  if (t === undefined) throw new ConditionError('no cgroup file system mounted at /sys/fs/cgroup');
  return t === 'cgroup2';
}

/** The cgroup path of a process in systemd's hierarchy (unified "0::" line, else "name=systemd"). */
function cgroupOf(pid: number | 'self'): string | undefined {
  const text = readOrUndefined(`/proc/${pid}/cgroup`);
  if (text === undefined) return undefined;
  let unified: string | undefined;
  let named: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') unified = m[3];
    if (m[2]!.split(',').includes('name=systemd')) named = m[3];
  }
  let unifiedHierarchy = false;
  try {
    unifiedHierarchy = cgAllUnified();
  } catch {
    /* no cgroup fs */
  }
  return unifiedHierarchy ? (unified ?? named) : (named ?? unified);
}

/** cg_get_root_path(): PID 1's cgroup without a trailing "/init.scope". */
export function cgRootPath(): string {
  const p = cgroupOf(1);
  if (p === undefined) throw new ConditionError('cannot read /proc/1/cgroup');
  const stripped = p.endsWith('/init.scope') ? p.slice(0, -'/init.scope'.length) : p;
  return stripped === '' ? '/' : stripped;
}

/** Our own cgroup (cg_pid_get_path(SYSTEMD_CGROUP_CONTROLLER, getpid())). */
export function cgOwnPath(): string {
  const p = cgroupOf('self');
  if (p === undefined) throw new ConditionError('cannot read /proc/self/cgroup');
  return p;
}

/** cgroup_controller_from_string() names, minus the BPF pseudo-controllers cg_mask_supported() never reports. */
export const CGROUP_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'io', 'blkio', 'memory', 'devices', 'pids'] as const;
export const CGROUP_BPF_CONTROLLERS = ['bpf-firewall', 'bpf-devices', 'bpf-foreign', 'bpf-socket-bind', 'bpf-restrict-network-interfaces'];
const CGROUP_V1 = new Set(['cpu', 'cpuacct', 'cpuset', 'blkio', 'memory', 'devices', 'pids']);
const CGROUP_V2 = new Set(['cpu', 'cpuset', 'io', 'memory', 'pids']);

/** cg_mask_supported(): the real controllers available below PID 1's cgroup. */
export function cgMaskSupported(): Set<string> {
  const root = cgRootPath();
  const mask = new Set<string>();
  if (cgAllUnified()) {
    const line = readOneLine(`/sys/fs/cgroup${root === '/' ? '' : root}/cgroup.controllers`);
    if (line === undefined) throw new ConditionError('cannot read cgroup.controllers');
    for (const w of line.split(/\s+/)) if (CGROUP_V2.has(w)) mask.add(w);
    return mask;
  }
  for (const c of CGROUP_V1) {
    // controller_is_v1_accessible(): cgroup.procs below the root must be writable.
    try {
      accessSync(`/sys/fs/cgroup/${c}${root === '/' ? '' : root}/cgroup.procs`, fsc.W_OK);
      mask.add(c);
    } catch {
      /* not accessible */
    }
  }
  return mask;
}

/** running_in_cgroupns() (src/basic/virt.c). */
export function runningInCgroupns(): boolean {
  if (!exists('/proc/self/ns/cgroup')) return false;
  let unified: boolean;
  try {
    unified = cgAllUnified();
  } catch {
    return false;
  }
  if (unified) {
    if (!exists('/sys/fs/cgroup/cgroup.events')) return false;
    if (exists('/sys/fs/cgroup/cgroup.type')) return true;
    return !exists('/sys/kernel/cgroup/features');
  }
  if (!exists('/sys/fs/cgroup/systemd')) return false;
  return !exists('/sys/fs/cgroup/systemd/release_agent');
}
