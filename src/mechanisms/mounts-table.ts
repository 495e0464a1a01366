/**
 * The mount list of a service's mount namespace, built the way systemd's
 * src/core/namespace.c setup_namespace() builds it: the append_*() functions
 * turn each directive into MountEntry rows, then drop_unused_mounts() sorts
 * them by path (parents first; for equal paths the lower, more restrictive
 * mode first), drops duplicates (merging their read-only/noexec bits), drops
 * everything below an inaccessible path, drops read-only/read-write entries
 * whose nearest parent entry has the same mode, and drops entries outside
 * RootDirectory=. Runs in the parent (the zygote, per launch), so it may look
 * at the file system: symlinks in entry paths are resolved inside the root
 * first (systemd's follow_symlink()), which keeps the order and the
 * "is below" checks right and keeps a symlink from leading a mount out of
 * RootDirectory=.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { MS_DIRSYNC, MS_LAZYTIME, MS_MANDLOCK, MS_NOATIME, MS_NODIRATIME, MS_NOSYMFOLLOW, MS_RELATIME, MS_SILENT, MS_STRICTATIME, MS_SYNCHRONOUS } from '../sys/constants-mounts.js';
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../sys/constants.js';

/** systemd's MountMode, in its priority order (lower wins among entries for the same path). */
export const MODE = {
  inaccessible: 0,
  bind: 3,
  rbind: 4,
  privateTmp: 5,
  privateTmpReadOnly: 6,
  privateDev: 7,
  bindDev: 8,
  emptyDir: 9,
  /** v255: a fresh sysfs for a service with its own network namespace. */
  privateSysfs: 10,
  sysfs: 11,
  procfs: 12,
  readOnly: 13,
  readWrite: 14,
  noExec: 15,
  exec: 16,
  tmpfs: 17,
  run: 18,
  mqueue: 21,
  readWriteImplicit: 22,
} as const;
export type Mode = (typeof MODE)[keyof typeof MODE];
const MODE_NAME = new Map<number, string>(Object.entries(MODE).map(([k, v]) => [v, k]));
export const modeName = (m: Mode): string => MODE_NAME.get(m) ?? String(m);

export interface BindMountSpec {
  readonly source: string;
  readonly destination: string;
  readonly readOnly: boolean;
  /** rbind (default) or norbind. */
  readonly recursive: boolean;
  /** systemd's "-" prefix on the source. */
  readonly ignoreMissing: boolean;
  readonly nosuid?: boolean;
}

export interface TemporaryFileSystemSpec {
  readonly path: string;
  readonly options?: string;
}

/** Everything setup_namespace() gets, as plain JSON (it is part of the launch step). */
export interface MountNamespaceSpec {
  /** RootDirectory=: a host directory that becomes the service's /. */
  readonly rootDirectory?: string;
  /** "[-][+]/path" strings as the unit has them ("-": ignore a missing path; "+": relative to RootDirectory=). */
  readonly readWritePaths?: readonly string[];
  readonly readOnlyPaths?: readonly string[];
  readonly inaccessiblePaths?: readonly string[];
  readonly execPaths?: readonly string[];
  readonly noExecPaths?: readonly string[];
  /** Directories overmounted with an empty read-only tmpfs (DynamicUser='s <base>/private). */
  readonly emptyDirectories?: readonly string[];
  readonly bindMounts?: readonly BindMountSpec[];
  readonly temporaryFileSystems?: readonly TemporaryFileSystemSpec[];
  /** PrivateTmp=: host directories bound on /tmp and /var/tmp (see mounts-tmp.ts). */
  readonly privateTmp?: { readonly tmp: string; readonly varTmp: string };
  readonly privateDevices?: boolean;
  readonly protectKernelTunables?: boolean;
  readonly protectKernelModules?: boolean;
  readonly protectKernelLogs?: boolean;
  readonly protectControlGroups?: boolean;
  readonly protectHostname?: boolean;
  readonly privateIpc?: boolean;
  /** PrivateNetwork=/NetworkNamespacePath= (the network namespace exists already): /sys gets a fresh sysfs showing it. */
  readonly privateNetwork?: boolean;
  readonly protectHome?: 'yes' | 'read-only' | 'tmpfs';
  readonly protectSystem?: 'yes' | 'full' | 'strict';
  readonly protectProc?: 'noaccess' | 'invisible' | 'ptraceable';
  readonly procSubset?: 'pid';
  readonly mountApiVfs?: boolean;
  /** The service is pid 1 of a new pid namespace: mount a matching /proc. */
  readonly privatePids?: boolean;
  /** $CREDENTIALS_DIRECTORY: bound read-only, the rest of /run/credentials hidden. */
  readonly credentialsDirectory?: string;
  /** NoNewPrivileges=: every entry is remounted nosuid (systemd's mount_nosuid). */
  readonly nosuid?: boolean;
  /** MountFlags=: the propagation of / in the namespace at the end (default shared, as systemd). */
  readonly propagation?: 'shared' | 'slave' | 'private';
}

/** One row of the mount list. `path` is inside the service's root ("/" = its root). */
export interface MountEntry {
  path: string;
  mode: Mode;
  /** Skip when the path (or a bind source) does not exist. */
  ignore: boolean;
  readOnly: boolean;
  nosuid: boolean;
  noexec: boolean;
  exec: boolean;
  /** Bind source (a host path). */
  source?: string;
  /** tmpfs-like entries: mount(2) flags without MS_RDONLY, and the data string. */
  flags?: number;
  options?: string;
  /** For messages: the directive and value this row comes from ("ReadOnlyPaths=/usr"). */
  what: string;
}

const TMPFS_LIMITS_EMPTY_OR_ALMOST = ',size=4m,nr_inodes=1k';
const TMPFS_LIMITS_RUN = ',size=20%,nr_inodes=800k';
const NESTED_TMPFS_LIMITS = ',size=10%,nr_inodes=400k';

interface Static {
  readonly path: string;
  readonly mode: Mode;
  readonly ignore: boolean;
  readonly readOnly?: boolean;
  readonly options?: string;
  readonly flags?: number;
}

const API_VFS: readonly Static[] = [
  { path: '/proc', mode: MODE.procfs, ignore: false },
  { path: '/dev', mode: MODE.bindDev, ignore: false },
  { path: '/sys', mode: MODE.sysfs, ignore: false },
  { path: '/run', mode: MODE.run, ignore: false, options: `mode=755${TMPFS_LIMITS_RUN}`, flags: MS_NOSUID | MS_NODEV | MS_STRICTATIME },
];

const KERNEL_TUNABLES_PROC: readonly Static[] = [
  ...['/proc/acpi', '/proc/apm', '/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq'].map((path) => ({ path, mode: MODE.readOnly, ignore: true })),
  { path: '/proc/kallsyms', mode: MODE.inaccessible, ignore: true },
  { path: '/proc/kcore', mode: MODE.inaccessible, ignore: true },
  ...['/proc/latency_stats', '/proc/mtrr', '/proc/scsi', '/proc/sys', '/proc/sysrq-trigger', '/proc/timer_stats'].map((path) => ({
    path,
    mode: MODE.readOnly,
    ignore: true,
  })),
];

const KERNEL_TUNABLES_SYS: readonly Static[] = [
  { path: '/sys', mode: MODE.readOnly, ignore: false },
  { path: '/sys/fs/bpf', mode: MODE.readOnly, ignore: true },
  // Read-only only with ProtectControlGroups=.
  { path: '/sys/fs/cgroup', mode: MODE.readWriteImplicit, ignore: false },
  { path: '/sys/fs/selinux', mode: MODE.readWriteImplicit, ignore: true },
  { path: '/sys/kernel/debug', mode: MODE.readOnly, ignore: true },
  { path: '/sys/kernel/tracing', mode: MODE.readOnly, ignore: true },
];

const KERNEL_MODULES: readonly Static[] = [
  { path: '/lib/modules', mode: MODE.inaccessible, ignore: true },
  { path: '/usr/lib/modules', mode: MODE.inaccessible, ignore: true },
];

const HOME: Record<NonNullable<MountNamespaceSpec['protectHome']>, readonly Static[]> = {
  'read-only': ['/home', '/run/user', '/root'].map((path) => ({ path, mode: MODE.readOnly, ignore: true })),
  tmpfs: [
    { path: '/home', mode: MODE.tmpfs, ignore: true, readOnly: true, options: `mode=0755${TMPFS_LIMITS_EMPTY_OR_ALMOST}`, flags: MS_NODEV | MS_STRICTATIME },
    { path: '/run/user', mode: MODE.tmpfs, ignore: true, readOnly: true, options: `mode=0755${TMPFS_LIMITS_EMPTY_OR_ALMOST}`, flags: MS_NODEV | MS_STRICTATIME },
    { path: '/root', mode: MODE.tmpfs, ignore: true, readOnly: true, options: `mode=0700${TMPFS_LIMITS_EMPTY_OR_ALMOST}`, flags: MS_NODEV | MS_STRICTATIME },
  ],
  yes: ['/home', '/run/user', '/root'].map((path) => ({ path, mode: MODE.inaccessible, ignore: true })),
};

const SYSTEM_YES: readonly Static[] = [
  { path: '/usr', mode: MODE.readOnly, ignore: false },
  { path: '/boot', mode: MODE.readOnly, ignore: true },
  { path: '/efi', mode: MODE.readOnly, ignore: true },
];
const SYSTEM: Record<NonNullable<MountNamespaceSpec['protectSystem']>, readonly Static[]> = {
  yes: SYSTEM_YES,
  full: [...SYSTEM_YES, { path: '/etc', mode: MODE.readOnly, ignore: false }],
  // Everything read-only but the API file systems (ProtectKernelTunables=/PrivateDevices= handle those)
  // and the home directories (ProtectHome=).
  strict: [
    { path: '/', mode: MODE.readOnly, ignore: false },
    { path: '/proc', mode: MODE.readWriteImplicit, ignore: false },
    { path: '/sys', mode: MODE.readWriteImplicit, ignore: false },
    { path: '/dev', mode: MODE.readWriteImplicit, ignore: false },
    { path: '/home', mode: MODE.readWriteImplicit, ignore: true },
    { path: '/run/user', mode: MODE.readWriteImplicit, ignore: true },
    { path: '/root', mode: MODE.readWriteImplicit, ignore: true },
  ],
};

/** A table error: `what` names the directive value. */
export class MountTableError extends Error {
  override readonly name = 'MountTableError';
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(`${what}: ${message}`);
  }
}

/** path_simplify(): no duplicate slashes, no "." components, no trailing slash. ".." is refused. */
export function normalizePath(p: string, what: string): string {
  if (!p.startsWith('/')) throw new MountTableError(what, `not an absolute path: ${JSON.stringify(p)}`);
  if (p.includes('\0')) throw new MountTableError(what, 'path contains a NUL byte');
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new MountTableError(what, `path is not normalized: ${JSON.stringify(p)}`);
  return `/${parts.join('/')}`;
}

/** path_startswith() as a predicate: p equals prefix or lies below it. */
export function isBelowOrEqual(p: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return p === prefix || p.startsWith(`${prefix}/`);
}

/** path_compare(): component by component, bytewise, so a parent sorts right before its children. */
export function comparePaths(a: string, b: string): number {
  const ca = a.split('/').filter(Boolean);
  const cb = b.split('/').filter(Boolean);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = Buffer.compare(Buffer.from(ca[i]!), Buffer.from(cb[i]!));
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

const entryReadOnly = (e: MountEntry): boolean => e.readOnly || e.mode === MODE.readOnly || e.mode === MODE.inaccessible || e.mode === MODE.privateTmpReadOnly;
const entryNoExec = (e: MountEntry): boolean =>
  e.noexec || e.mode === MODE.noExec || e.mode === MODE.inaccessible || e.mode === MODE.sysfs || e.mode === MODE.privateSysfs || e.mode === MODE.procfs;
const entryExec = (e: MountEntry): boolean => e.exec || e.mode === MODE.exec;
export { entryExec, entryNoExec, entryReadOnly };

function entry(path: string, mode: Mode, what: string, extra: Partial<MountEntry> = {}): MountEntry {
  return { path, mode, ignore: false, readOnly: false, nosuid: false, noexec: false, exec: false, what, ...extra };
}

/** The known mount(2) flags of mount_option_mangle() (libmount's option map): [name, set, clear]. */
const MOUNT_FLAG_OPTIONS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['ro', [MS_RDONLY, 0]],
  ['rw', [0, MS_RDONLY]],
  ['nosuid', [MS_NOSUID, 0]],
  ['suid', [0, MS_NOSUID]],
  ['nodev', [MS_NODEV, 0]],
  ['dev', [0, MS_NODEV]],
  ['noexec', [MS_NOEXEC, 0]],
  ['exec', [0, MS_NOEXEC]],
  ['sync', [MS_SYNCHRONOUS, 0]],
  ['async', [0, MS_SYNCHRONOUS]],
  ['dirsync', [MS_DIRSYNC, 0]],
  ['mand', [MS_MANDLOCK, 0]],
  ['nomand', [0, MS_MANDLOCK]],
  ['noatime', [MS_NOATIME, 0]],
  ['atime', [0, MS_NOATIME]],
  ['nodiratime', [MS_NODIRATIME, 0]],
  ['diratime', [0, MS_NODIRATIME]],
  ['relatime', [MS_RELATIME, 0]],
  ['norelatime', [0, MS_RELATIME]],
  ['strictatime', [MS_STRICTATIME, 0]],
  ['nostrictatime', [0, MS_STRICTATIME]],
  ['lazytime', [MS_LAZYTIME, 0]],
  ['nolazytime', [0, MS_LAZYTIME]],
  ['silent', [MS_SILENT, 0]],
  ['loud', [0, MS_SILENT]],
  ['nosymfollow', [MS_NOSYMFOLLOW, 0]],
]);

/** mount_option_mangle(): splits "a,b=c,ro" into mount(2) flags and the file-system data string. */
export function mangleMountOptions(options: string, initialFlags: number, what: string): { flags: number; data: string } {
  let flags = initialFlags;
  const data: string[] = [];
  for (const word of options.split(',')) {
    if (word === '') continue;
    const known = MOUNT_FLAG_OPTIONS.get(word);
    if (known) flags = (flags | known[0]) & ~known[1];
    else if (word.includes('\0')) throw new MountTableError(what, 'mount option contains a NUL byte');
    else data.push(word);
  }
  return { flags, data: data.join(',') };
}

function parseAccessPath(raw: string, what: string): { path: string; ignore: boolean; inRoot: boolean } {
  let s = raw;
  let ignore = false;
  let inRoot = false;
  for (;;) {
    if (s.startsWith('-') && !ignore) {
      ignore = true;
      s = s.slice(1);
    } else if (s.startsWith('+') && !inRoot) {
      inRoot = true;
      s = s.slice(1);
    } else break;
  }
  return { path: normalizePath(s, what), ignore, inRoot };
}

export interface BuildOptions {
  /** Resolve symlinks in entry paths inside the root (default true; tests of pure ordering turn it off). */
  readonly resolveSymlinks?: boolean;
}

/**
 * Maximum symlink hops while resolving one path (CHASE_SYMLINKS_MAX).
 */
const MAX_HOPS = 32;

/**
 * chase_symlinks(path, root, CHASE_NONEXISTENT): resolves the existing part of
 * `path` inside `root` (absolute links restart at the root, ".." never leaves
 * it); the missing rest is kept as written.
 */
export function resolveInRoot(path: string, root: string): string {
  const rootPrefix = root === '/' ? '' : root;
  let todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = `${rootPrefix}/${[...done, c].join('/')}`;
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return `/${[...done, c, ...todo].join('/')}`;
    }
    if (!st.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++hops > MAX_HOPS) throw new MountTableError(path, 'too many levels of symbolic links');
    const target = readlinkSync(host, 'utf8');
    const parts = target.split('/').filter(Boolean);
    if (target.startsWith('/')) done.length = 0;
    todo = [...parts, ...todo];
  }
  return `/${done.join('/')}`;
}

/** Builds, sorts and prunes the mount list. Throws MountTableError. */
export function buildMountTable(spec: MountNamespaceSpec, opts: BuildOptions = {}): MountEntry[] {
  const root = spec.rootDirectory === undefined ? '/' : normalizePath(spec.rootDirectory, 'RootDirectory=');
  const list: MountEntry[] = [];

  // User-supplied access paths: without "+" they name host paths, which only
  // count when they lie inside RootDirectory= (drop_outside_root()).
  const access = (items: readonly string[] | undefined, mode: Mode, directive: string): void => {
    for (const raw of items ?? []) {
      const what = `${directive}=${raw}`;
      const { path, ignore, inRoot } = parseAccessPath(raw, what);
      let inner = path;
      if (!inRoot && root !== '/') {
        if (!isBelowOrEqual(path, root)) continue;
        inner = path === root ? '/' : path.slice(root.length);
      }
      list.push(entry(inner, mode, what, { ignore }));
    }
  };
  access(spec.readWritePaths, MODE.readWrite, 'ReadWritePaths');
  access(spec.readOnlyPaths, MODE.readOnly, 'ReadOnlyPaths');
  access(spec.inaccessiblePaths, MODE.inaccessible, 'InaccessiblePaths');
  access(spec.execPaths, MODE.exec, 'ExecPaths');
  access(spec.noExecPaths, MODE.noExec, 'NoExecPaths');

  for (const d of spec.emptyDirectories ?? []) {
    list.push(
      entry(normalizePath(d, 'DynamicUser='), MODE.emptyDir, `DynamicUser= (${d})`, {
        readOnly: true,
        options: `mode=755${TMPFS_LIMITS_EMPTY_OR_ALMOST}`,
        flags: MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_STRICTATIME,
      }),
    );
  }

  for (const b of spec.bindMounts ?? []) {
    const what = `${b.readOnly ? 'BindReadOnlyPaths' : 'BindPaths'}=${b.ignoreMissing ? '-' : ''}${b.source}:${b.destination}`;
    list.push(
      entry(normalizePath(b.destination, what), b.recursive ? MODE.rbind : MODE.bind, what, {
        source: normalizePath(b.source, what),
        readOnly: b.readOnly,
        nosuid: b.nosuid === true,
        ignore: b.ignoreMissing,
      }),
    );
  }

  for (const t of spec.temporaryFileSystems ?? []) {
    const what = `TemporaryFileSystem=${t.path}${t.options ? `:${t.options}` : ''}`;
    const { flags, data } = mangleMountOptions(`mode=0755${NESTED_TMPFS_LIMITS},${t.options ?? ''}`, MS_NODEV | MS_STRICTATIME, what);
    list.push(entry(normalizePath(t.path, what), MODE.tmpfs, what, { readOnly: (flags & MS_RDONLY) !== 0, flags: flags & ~MS_RDONLY, options: data }));
  }

  if (spec.privateTmp) {
    list.push(entry('/tmp', MODE.privateTmp, 'PrivateTmp=yes', { source: normalizePath(spec.privateTmp.tmp, 'PrivateTmp=') }));
    list.push(entry('/var/tmp', MODE.privateTmp, 'PrivateTmp=yes', { source: normalizePath(spec.privateTmp.varTmp, 'PrivateTmp=') }));
  }

  if (spec.privateDevices) list.push(entry('/dev', MODE.privateDev, 'PrivateDevices=yes', { flags: MS_NOSUID | MS_STRICTATIME | MS_NOEXEC }));

  const statics = (table: readonly Static[], what: string, ignoreAll = false): void => {
    for (const s of table) {
      list.push(
        entry(s.path, s.mode, what, {
          ignore: s.ignore || ignoreAll,
          readOnly: s.readOnly === true,
          ...(s.options !== undefined ? { options: s.options } : {}),
          ...(s.flags !== undefined ? { flags: s.flags } : {}),
        }),
      );
    }
  };
  // With ProcSubset=pid the non-process /proc files do not exist: their protections may fail.
  const ignoreProtectProc = spec.procSubset === 'pid';
  if (spec.protectKernelTunables) {
    statics(KERNEL_TUNABLES_PROC, 'ProtectKernelTunables=yes', ignoreProtectProc);
    statics(KERNEL_TUNABLES_SYS, 'ProtectKernelTunables=yes');
  }
  if (spec.protectKernelModules) statics(KERNEL_MODULES, 'ProtectKernelModules=yes');
  if (spec.protectKernelLogs) {
    list.push(entry('/proc/kmsg', MODE.inaccessible, 'ProtectKernelLogs=yes', { ignore: true }));
    list.push(entry('/dev/kmsg', MODE.inaccessible, 'ProtectKernelLogs=yes', { ignore: true }));
  }
  if (spec.protectControlGroups) list.push(entry('/sys/fs/cgroup', MODE.readOnly, 'ProtectControlGroups=yes'));
  if (spec.protectHome) statics(HOME[spec.protectHome], `ProtectHome=${spec.protectHome}`);
  if (spec.protectSystem) statics(SYSTEM[spec.protectSystem], `ProtectSystem=${spec.protectSystem}`);

  // ProtectControlGroups=/ProtectKernelTunables=/ProtectProc=/ProcSubset= imply MountAPIVFS= (the
  // API file systems must be there to be protected); a private pid namespace needs its own /proc.
  const apiVfs = spec.mountApiVfs === true || spec.protectControlGroups === true || spec.protectKernelTunables === true || spec.protectProc !== undefined || spec.procSubset !== undefined;
  if (apiVfs) statics(API_VFS, 'MountAPIVFS=yes');
  else if (spec.privatePids) list.push(entry('/proc', MODE.procfs, 'PrivatePIDs=yes'));

  if (spec.protectHostname) {
    list.push(entry('/proc/sys/kernel/hostname', MODE.readOnly, 'ProtectHostname=yes', { ignore: ignoreProtectProc }));
    list.push(entry('/proc/sys/kernel/domainname', MODE.readOnly, 'ProtectHostname=yes', { ignore: ignoreProtectProc }));
  }
  if (spec.privateNetwork) list.push(entry('/sys', MODE.privateSysfs, 'PrivateNetwork=yes'));
  if (spec.privateIpc) list.push(entry('/dev/mqueue', MODE.mqueue, 'PrivateIPC=yes', { flags: MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME }));

  if (spec.credentialsDirectory !== undefined) {
    const creds = normalizePath(spec.credentialsDirectory, 'LoadCredential=');
    list.push(
      entry('/run/credentials', MODE.tmpfs, 'LoadCredential=', {
        readOnly: true,
        options: `mode=0755${TMPFS_LIMITS_EMPTY_OR_ALMOST}`,
        flags: MS_NODEV | MS_STRICTATIME | MS_NOSUID | MS_NOEXEC,
      }),
    );
    list.push(entry(root === '/' ? creds : creds.startsWith(`${root}/`) ? creds.slice(root.length) : creds, MODE.bind, 'LoadCredential=', { source: creds, readOnly: true }));
  } else {
    list.push(entry('/run/credentials', MODE.inaccessible, '(credentials)', { ignore: true }));
  }

  if (opts.resolveSymlinks !== false) for (const e of list) e.path = resolveInRoot(e.path, root);
  return pruneMountTable(list);
}

/** drop_unused_mounts(): sort, then drop duplicates, entries below inaccessible ones, and no-op entries. */
export function pruneMountTable(list: MountEntry[]): MountEntry[] {
  // Array.prototype.sort is stable; systemd's qsort is not, but equal keys are merged just below.
  list.sort((a, b) => comparePaths(a.path, b.path) || a.mode - b.mode);

  const dedup: MountEntry[] = [];
  for (const f of list) {
    const prev = dedup[dedup.length - 1];
    if (prev && prev.path === f.path) {
      // The first (more restrictive) entry wins and inherits the others' bits.
      prev.readOnly = prev.readOnly || entryReadOnly(f);
      prev.noexec = prev.noexec || entryNoExec(f);
      prev.exec = prev.exec || entryExec(f);
      continue;
    }
    dedup.push(f);
  }

  const visible: MountEntry[] = [];
  let clear: string | undefined;
  for (const f of dedup) {
    if (clear !== undefined && isBelowOrEqual(f.path, clear)) continue;
    clear = f.mode === MODE.inaccessible ? f.path : undefined;
    visible.push(f);
  }

  const out: MountEntry[] = [];
  for (const f of visible) {
    if (f.mode === MODE.readOnly || f.mode === MODE.readWrite || f.mode === MODE.readWriteImplicit) {
      let parent: MountEntry | undefined;
      for (let i = out.length - 1; i >= 0; i--) {
        if (isBelowOrEqual(f.path, out[i]!.path)) {
          parent = out[i];
          break;
        }
      }
      if (parent && parent.mode === f.mode) continue;
    }
    out.push(f);
  }
  return out;
}

/** Mode of the propagation flag for the final remount of / (MountFlags=; systemd's default is shared). */
export function propagationOf(spec: MountNamespaceSpec): 'shared' | 'slave' | 'private' {
  return spec.propagation ?? 'shared';
}
