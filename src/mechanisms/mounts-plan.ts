/**
 * Model → the mount-namespace launch step (see src/plan/context.ts).
 *
 * The step is emitted when systemd's exec_needs_mount_namespace() would say
 * yes; `+` commands (ctx.sandbox = false) get no namespace at all, as in
 * systemd. Runtime/State/Cache/Logs/ConfigurationDirectory= are bound
 * read-write into the namespace (so ProtectSystem=strict keeps them
 * writable); with DynamicUser= the <base>/private boundary directory is
 * overmounted with an empty read-only tmpfs holding only the service's own
 * directories (systemd's compile_bind_mounts() and empty_directories).
 */
import { dirname } from 'node:path';
import type { BuildContext, ExecDirectory, Fragment, PlannedStep } from '../plan/context.js';
import type { ServiceView } from '../plan/service.js';
import { ensurePrivateTmp } from './mounts-tmp.js';
import type { BindMountSpec, MountNamespaceSpec, TemporaryFileSystemSpec } from './mounts-table.js';

const F = {
  protectSystem: 'sandbox.protect_system',
  protectHome: 'sandbox.protect_home',
  privateTmp: 'sandbox.private_tmp',
  privateDevices: 'sandbox.private_devices',
  readWritePaths: 'sandbox.read_write_paths',
  readOnlyPaths: 'sandbox.read_only_paths',
  inaccessiblePaths: 'sandbox.inaccessible_paths',
  execPaths: 'sandbox.exec_paths',
  noExecPaths: 'sandbox.no_exec_paths',
  temporaryFileSystem: 'sandbox.temporary_file_system',
  bindPaths: 'sandbox.bind_paths',
  bindReadOnlyPaths: 'sandbox.bind_read_only_paths',
  protectKernelTunables: 'sandbox.protect_kernel_tunables',
  protectKernelModules: 'sandbox.protect_kernel_modules',
  protectKernelLogs: 'sandbox.protect_kernel_logs',
  protectControlGroups: 'sandbox.protect_control_groups',
  protectProc: 'sandbox.protect_proc',
  procSubset: 'sandbox.proc_subset',
  privateMounts: 'sandbox.private_mounts',
  mountApiVfs: 'sandbox.mount_api_vfs',
  rootDirectory: 'sandbox.root_directory',
  mountFlags: 'sandbox.mount_flags',
} as const;

/** Read but enforced elsewhere (only their mount part is added here). */
const OTHERS = {
  privatePids: 'sandbox.private_pids',
  privateNetwork: 'sandbox.private_network',
  networkNamespacePath: 'sandbox.network_namespace_path',
  privateIpc: 'sandbox.private_ipc',
  protectHostname: 'sandbox.protect_hostname',
  noNewPrivileges: 'sandbox.no_new_privileges',
  dynamicUser: 'dynamic_user',
} as const;

/** true / false / undefined from a boolean or systemd's yes/no words. */
function flag(svc: ServiceView, field: string): boolean | undefined {
  const v = svc.value(field);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'yes' || v === 'true' || v === 'on' || v === '1') return true;
  if (v === 'no' || v === 'false' || v === 'off' || v === '0') return false;
  return svc.error(field, `${field}: expected a boolean, got ${JSON.stringify(v)}`);
}

function choice<T extends string>(svc: ServiceView, field: string, trueValue: T | undefined, values: readonly T[], offValues: readonly string[]): T | undefined {
  const v = svc.value(field);
  if (v === undefined || v === null || v === false || offValues.includes(v as string)) return undefined;
  if (v === true || v === 'yes' || v === 'true') {
    if (trueValue === undefined) return svc.error(field, `${field}: expected one of ${values.join(', ')}`);
    return trueValue;
  }
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  return svc.error(field, `${field}: expected ${[...(trueValue ? ['true'] : []), ...values].join(', ')} or off, got ${JSON.stringify(v)}`);
}

function bindList(svc: ServiceView, field: string, readOnly: boolean): BindMountSpec[] {
  return (svc.list(field) ?? []).map((b, i) => {
    const o = (typeof b === 'object' && b !== null && !Array.isArray(b) ? b : {}) as Record<string, unknown>;
    if (typeof o['source'] !== 'string' || !o['source'].startsWith('/')) return svc.error(field, `${field}[${i}]: expected {source, destination?} with absolute paths`);
    const destination = o['destination'] ?? o['source'];
    if (typeof destination !== 'string' || !destination.startsWith('/')) return svc.error(field, `${field}[${i}].destination: expected an absolute path`);
    return {
      source: o['source'],
      destination,
      readOnly,
      recursive: o['recursive'] !== false,
      ignoreMissing: o['optional'] === true,
    };
  });
}

function tmpfsList(svc: ServiceView, field: string): TemporaryFileSystemSpec[] {
  return (svc.list(field) ?? []).map((t, i) => {
    if (typeof t === 'string') {
      const colon = t.indexOf(':');
      return colon < 0 ? { path: t } : { path: t.slice(0, colon), options: t.slice(colon + 1) };
    }
    const o = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    if (typeof o['path'] !== 'string' || !o['path'].startsWith('/')) return svc.error(field, `${field}[${i}]: expected {path, options?}`);
    if (o['options'] !== undefined && typeof o['options'] !== 'string') return svc.error(field, `${field}[${i}].options: expected a string`);
    return o['options'] ? { path: o['path'], options: o['options'] } : { path: o['path'] };
  });
}

const BASES: Record<ExecDirectory['kind'], string> = { runtime: '/run', state: '/var/lib', cache: '/var/cache', logs: '/var/log', configuration: '/etc' };

/** <base>/private for a DynamicUser= directory <base>/private/<name> (the boundary systemd overmounts). */
function privateRootOf(d: ExecDirectory): string {
  const base = `${BASES[d.kind]}/private`;
  if (d.hostPath.startsWith(`${base}/`)) return base;
  const at = d.hostPath.lastIndexOf('/private/');
  return at >= 0 ? d.hostPath.slice(0, at + '/private'.length) : dirname(d.hostPath);
}

/** Exec directories: read-write binds, plus the empty <base>/private boundary with DynamicUser=. */
function execDirectoryMounts(dirs: readonly ExecDirectory[], root: string | undefined, dynamic: boolean): { binds: BindMountSpec[]; empty: string[] } {
  const binds: BindMountSpec[] = [];
  const empty = new Set<string>();
  for (const d of dirs) {
    const visibleOnHost = root === undefined ? d.path : `${root}${d.path}`;
    const isPrivate = d.hostPath !== visibleOnHost;
    // Without a root the service reaches <base>/<name> through the host's symlink to private/<name>;
    // with RootDirectory= that symlink is not inside the root, so the directory is bound on <base>/<name>.
    const destination = isPrivate && root === undefined ? d.hostPath : d.path;
    if (isPrivate && root === undefined) empty.add(privateRootOf(d));
    binds.push({ source: d.hostPath, destination, readOnly: false, recursive: true, ignoreMissing: false, nosuid: dynamic });
  }
  return { binds, empty: [...empty] };
}

export function buildMountSpec(ctx: BuildContext): { spec: MountNamespaceSpec; field: string } | undefined {
  const svc = ctx.svc;
  const protectSystem = choice(svc, F.protectSystem, 'yes', ['yes', 'full', 'strict'] as const, ['no']);
  const protectHome = choice(svc, F.protectHome, 'yes', ['yes', 'read-only', 'tmpfs'] as const, ['no']);
  const protectProcRaw = choice(svc, F.protectProc, undefined, ['noaccess', 'invisible', 'ptraceable', 'default'] as const, []);
  const protectProc = protectProcRaw === 'default' ? undefined : protectProcRaw;
  const procSubsetRaw = choice(svc, F.procSubset, undefined, ['pid', 'all'] as const, []);
  const procSubset = procSubsetRaw === 'pid' ? 'pid' : undefined;
  const mountFlags = choice(svc, F.mountFlags, undefined, ['shared', 'slave', 'private'] as const, []);
  const rootDirectory = svc.str(F.rootDirectory);
  const paths = (f: string): string[] => svc.strings(f) ?? [];

  const privateMounts = flag(svc, F.privateMounts);
  const privateNetwork = flag(svc, OTHERS.privateNetwork) === true || svc.str(OTHERS.networkNamespacePath) !== undefined;
  const dynamic = ctx.identity?.dynamic === true || flag(svc, OTHERS.dynamicUser) === true;
  const mountApiVfsSetting = flag(svc, F.mountApiVfs);
  const mountApiVfs = mountApiVfsSetting ?? rootDirectory !== undefined;

  const spec: {
    -readonly [K in keyof MountNamespaceSpec]: MountNamespaceSpec[K];
  } = {};
  if (rootDirectory !== undefined) spec.rootDirectory = rootDirectory;
  const rw = paths(F.readWritePaths);
  const ro = paths(F.readOnlyPaths);
  const inacc = paths(F.inaccessiblePaths);
  const ex = paths(F.execPaths);
  const noex = paths(F.noExecPaths);
  if (rw.length) spec.readWritePaths = rw;
  if (ro.length) spec.readOnlyPaths = ro;
  if (inacc.length) spec.inaccessiblePaths = inacc;
  if (ex.length) spec.execPaths = ex;
  if (noex.length) spec.noExecPaths = noex;
  const userBinds = [...bindList(svc, F.bindPaths, false), ...bindList(svc, F.bindReadOnlyPaths, true)];
  const tmpfs = tmpfsList(svc, F.temporaryFileSystem);
  if (tmpfs.length) spec.temporaryFileSystems = tmpfs;
  if (flag(svc, F.privateDevices)) spec.privateDevices = true;
  if (flag(svc, F.protectKernelTunables)) spec.protectKernelTunables = true;
  if (flag(svc, F.protectKernelModules)) spec.protectKernelModules = true;
  if (flag(svc, F.protectKernelLogs)) spec.protectKernelLogs = true;
  if (flag(svc, F.protectControlGroups)) spec.protectControlGroups = true;
  if (flag(svc, OTHERS.protectHostname)) spec.protectHostname = true;
  if (flag(svc, OTHERS.privateIpc)) spec.privateIpc = true;
  // With PrivateMounts=no systemd creates no mount namespace for the network alone, and /sys stays the host's.
  if (privateNetwork && privateMounts !== false) spec.privateNetwork = true;
  if (protectHome) spec.protectHome = protectHome;
  if (protectSystem) spec.protectSystem = protectSystem;
  if (protectProc) spec.protectProc = protectProc;
  if (procSubset) spec.procSubset = procSubset;
  if (mountApiVfs) spec.mountApiVfs = true;
  if (flag(svc, OTHERS.privatePids)) spec.privatePids = true;
  if (mountFlags) spec.propagation = mountFlags;

  // exec_needs_mount_namespace()
  const needed =
    rw.length + ro.length + inacc.length + ex.length + noex.length + userBinds.length + tmpfs.length > 0 ||
    (mountFlags !== undefined && mountFlags !== 'shared') ||
    flag(svc, F.privateTmp) === true ||
    spec.privateDevices === true ||
    privateMounts === true ||
    (privateMounts === undefined && privateNetwork) ||
    protectSystem !== undefined ||
    protectHome !== undefined ||
    spec.protectKernelTunables === true ||
    spec.protectKernelModules === true ||
    spec.protectKernelLogs === true ||
    spec.protectControlGroups === true ||
    protectProc !== undefined ||
    procSubset !== undefined ||
    spec.privateIpc === true ||
    spec.privatePids === true ||
    (rootDirectory !== undefined && (mountApiVfs || ctx.execDirectories.length > 0)) ||
    (dynamic && ctx.execDirectories.some((d) => d.kind === 'state' || d.kind === 'cache' || d.kind === 'logs'));
  // RootDirectory= alone: systemd chroots without a namespace; a namespace with the root moved in is the same view.
  if (!needed && rootDirectory === undefined) return undefined;

  if (flag(svc, F.privateTmp)) {
    const dirs = ensurePrivateTmp(svc.unitName);
    spec.privateTmp = { tmp: dirs.tmp, varTmp: dirs.varTmp };
  }
  const exec = execDirectoryMounts(ctx.execDirectories, rootDirectory, dynamic);
  const binds = [...userBinds, ...exec.binds];
  if (binds.length) spec.bindMounts = binds;
  if (exec.empty.length) spec.emptyDirectories = exec.empty;
  if (ctx.credentialsDirectory !== undefined) spec.credentialsDirectory = ctx.credentialsDirectory;
  if (flag(svc, OTHERS.noNewPrivileges)) spec.nosuid = true;

  // The field the failure message names: the first requested one in the directive table's order.
  const field = Object.values(F).find((f) => {
    const v = svc.value(f);
    return v !== undefined && v !== false && v !== 'no' && !(Array.isArray(v) && v.length === 0);
  });
  return { spec, field: field ?? 'sandbox' };
}

export const mountsFragment: Fragment = {
  name: 'mounts',
  fields: Object.values(F),
  build: (ctx: BuildContext): PlannedStep[] => {
    if (!ctx.sandbox) return [];
    const built = buildMountSpec(ctx);
    if (!built) return [];
    return [{ step: { op: 'mount-namespace', spec: built.spec }, field: built.field }];
  },
};
