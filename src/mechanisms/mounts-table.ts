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
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../sys/constants.js';
import { MS_RELATIME, MS_STRICTATIME } from '../sys/constants-mounts.js';
import { isBelowOrEqual, comparePaths, mangleMountOptions, normalizePath, resolveInRoot } from './mounts-paths.js';
import { entryExec, entryNoExec, entryReadOnly, MODE, type Mode, type MountEntry, type MountNamespaceSpec } from './mounts-types.js';

export * from './mounts-types.js';
export { comparePaths, isBelowOrEqual, mangleMountOptions, normalizePath, resolveInRoot } from './mounts-paths.js';

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

function entry(path: string, mode: Mode, what: string, extra: Partial<MountEntry> = {}): MountEntry {
  return { path, mode, ignore: false, readOnly: false, nosuid: false, noexec: false, exec: false, what, ...extra };
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
