/**
 * Types of the mount namespace mechanism: the step's specification (what
 * setup_namespace() gets) and the rows of systemd's mount list.
 */

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

export const entryReadOnly = (e: MountEntry): boolean => e.readOnly || e.mode === MODE.readOnly || e.mode === MODE.inaccessible || e.mode === MODE.privateTmpReadOnly;
export const entryNoExec = (e: MountEntry): boolean =>
  e.noexec || e.mode === MODE.noExec || e.mode === MODE.inaccessible || e.mode === MODE.sysfs || e.mode === MODE.privateSysfs || e.mode === MODE.procfs;
export const entryExec = (e: MountEntry): boolean => e.exec || e.mode === MODE.exec;
