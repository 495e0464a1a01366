/**
 * Model → launch steps for the non-mount namespaces (see src/plan/context.ts):
 * PrivateNetwork=, NetworkNamespacePath=, PrivateIPC=, IPCNamespacePath=,
 * PrivateUsers=, ProtectHostname= (its UTS namespace; the seccomp fragment
 * denies sethostname) and PrivatePIDs=.
 *
 * As in systemd (exec-invoke.c setup_shareable_ns), a namespace path wins
 * over the matching Private*= setting: the path is joined, nothing is
 * unshared. PrivateNetwork='s implied mount namespace and /sys remount, and
 * PrivatePIDs='s /proc remount, are the mounts fragment's.
 */
import type { IdMapRange } from './namespaces.js';
import type { NamespaceStep, SimpleNamespace } from '../launch/ops-namespaces.js';
import type { BuildContext, Fragment, PlannedStep } from '../plan/context.js';
import type { ServiceView } from '../plan/service.js';

const F = {
  privateNetwork: 'sandbox.private_network',
  networkPath: 'sandbox.network_namespace_path',
  privateIpc: 'sandbox.private_ipc',
  ipcPath: 'sandbox.ipc_namespace_path',
  privateUsers: 'sandbox.private_users',
  protectHostname: 'sandbox.protect_hostname',
  privatePids: 'sandbox.private_pids',
} as const;

function on(svc: ServiceView, field: string): boolean {
  return svc.bool(field) === true;
}

function nsPath(svc: ServiceView, field: string): string | undefined {
  const p = svc.str(field);
  if (p === undefined || p === '') return undefined;
  if (!p.startsWith('/')) svc.error(field, `${field}: expected an absolute path, got ${JSON.stringify(p)}`);
  return p;
}

/** The largest id range a user namespace can map: 0..4294967294 (4294967295 is the invalid id). */
const ALL_IDS = 0xffffffff;

/**
 * PrivateUsers=: yes/self maps root and the service's own uid/gid (systemd's
 * setup_private_users(): "0 0 1" plus "<uid> <uid> 1" when uid != 0; every
 * other id shows up as the overflow id, nobody), identity maps 0..65535 onto
 * themselves, full maps every id onto itself. setgroups is denied, as systemd
 * does, so root in the namespace cannot shed a supplementary group the host
 * uses to deny access.
 */
function userMaps(svc: ServiceView, ctx: BuildContext): { uidMap: IdMapRange[]; gidMap: IdMapRange[] } | undefined {
  const v = svc.value(F.privateUsers);
  if (v === undefined || v === false || v === 'no') return undefined;
  const own = (id: number): IdMapRange[] => (id === 0 ? [{ inside: 0, outside: 0, count: 1 }] : [{ inside: 0, outside: 0, count: 1 }, { inside: id, outside: id, count: 1 }]);
  if (v === true || v === 'yes' || v === 'self') {
    // Without User= (or for a `!` command) the service keeps the supervisor's ids.
    const uid = ctx.identity?.uid ?? process.getuid?.() ?? 0;
    const gid = ctx.identity?.gid ?? process.getgid?.() ?? 0;
    return { uidMap: own(uid), gidMap: own(gid) };
  }
  if (v === 'identity') return { uidMap: [{ inside: 0, outside: 0, count: 65536 }], gidMap: [{ inside: 0, outside: 0, count: 65536 }] };
  if (v === 'full') return { uidMap: [{ inside: 0, outside: 0, count: ALL_IDS }], gidMap: [{ inside: 0, outside: 0, count: ALL_IDS }] };
  return svc.error(F.privateUsers, `${F.privateUsers}: expected a boolean, "self", "identity" or "full", got ${JSON.stringify(v)}`);
}

export const namespacesFragment: Fragment = {
  name: 'namespaces',
  fields: Object.values(F),
  build: (ctx) => {
    if (!ctx.sandbox) return [];
    const svc = ctx.svc;
    const out: PlannedStep[] = [];
    const add = (step: NamespaceStep, field: string): void => void out.push({ step, field });

    const netPath = nsPath(svc, F.networkPath);
    if (netPath !== undefined) add({ op: 'ns-join-net', path: netPath }, F.networkPath);
    else if (on(svc, F.privateNetwork)) add({ op: 'ns-unshare-net' }, F.privateNetwork);

    const ipcPath = nsPath(svc, F.ipcPath);
    if (ipcPath !== undefined) add({ op: 'ns-join-ipc', path: ipcPath }, F.ipcPath);
    const simple: Array<[SimpleNamespace, string]> = [];
    if (ipcPath === undefined && on(svc, F.privateIpc)) simple.push(['ipc', F.privateIpc]);
    if (on(svc, F.protectHostname)) simple.push(['uts', F.protectHostname]);
    // One step per field, so a failure names its directive.
    for (const [ns, field] of simple) add({ op: 'ns-unshare', namespaces: [ns] }, field);

    if (on(svc, F.privatePids)) add({ op: 'ns-pid' }, F.privatePids);

    const maps = userMaps(svc, ctx);
    if (maps) add({ op: 'ns-user', ...maps, setgroups: 'deny' }, F.privateUsers);
    return out;
  },
};
