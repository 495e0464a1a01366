/**
 * Settings one directive implies for others, applied to the model before
 * planning — systemd does the same when it loads a unit
 * (unit_patch_contexts() in src/core/unit.c, v252–v255):
 * - DynamicUser=yes forces PrivateTmp=yes, RemoveIPC=yes, ProtectSystem=strict
 *   (when it was "no"), ProtectHome=read-only (when "no"), NoNewPrivileges=yes
 *   and RestrictSUIDSGID=yes;
 * - PrivateDevices= drops CAP_MKNOD and CAP_SYS_RAWIO from the bounding set,
 *   ProtectKernelModules= CAP_SYS_MODULE, ProtectKernelLogs= CAP_SYSLOG,
 *   ProtectClock= CAP_SYS_TIME and CAP_WAKE_ALARM.
 * An implied field's source is the directive that implied it.
 */
import { ServiceView } from './service.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function clone<T>(v: T): T {
  return structuredClone(v);
}

function set(root: Record<string, unknown>, field: string, value: unknown): void {
  const parts = field.split('.');
  let cur = root;
  for (const p of parts.slice(0, -1)) {
    if (!isObj(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

const CAP_DROPS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['sandbox.private_devices', ['CAP_MKNOD', 'CAP_SYS_RAWIO']],
  ['sandbox.protect_kernel_modules', ['CAP_SYS_MODULE']],
  ['sandbox.protect_kernel_logs', ['CAP_SYSLOG']],
  ['sandbox.protect_clock', ['CAP_SYS_TIME', 'CAP_WAKE_ALARM']],
];

/** Returns a view of the service with implied settings made explicit. */
export function withImpliedSettings(svc: ServiceView): ServiceView {
  const raw = clone(svc.raw) as Record<string, unknown>;
  const implied = new Map<string, string>();
  const imply = (field: string, value: unknown, by: string): void => {
    set(raw, field, value);
    implied.set(field, `${svc.source(by)} (implied)`);
  };
  const view = new ServiceView(svc.key, raw);
  const off = (field: string): boolean => {
    const v = view.value(field);
    return v === undefined || v === false || v === 'no';
  };

  if (view.value('dynamic_user') === true) {
    if (view.value('sandbox.private_tmp') !== true) imply('sandbox.private_tmp', true, 'dynamic_user');
    if (view.value('sandbox.remove_ipc') !== true) imply('sandbox.remove_ipc', true, 'dynamic_user');
    if (off('sandbox.protect_system')) imply('sandbox.protect_system', 'strict', 'dynamic_user');
    if (off('sandbox.protect_home')) imply('sandbox.protect_home', 'read-only', 'dynamic_user');
    if (view.value('sandbox.no_new_privileges') !== true) imply('sandbox.no_new_privileges', true, 'dynamic_user');
    if (view.value('sandbox.restrict_suid_sgid') !== true) imply('sandbox.restrict_suid_sgid', true, 'dynamic_user');
  }

  for (const [field, caps] of CAP_DROPS) {
    if (view.value(field) !== true) continue;
    const bset = view.value('sandbox.capability_bounding_set');
    let next: unknown;
    if (bset === undefined) next = { all_except: [...caps] };
    else if (Array.isArray(bset)) next = bset.filter((c) => !caps.includes(String(c)));
    else if (isObj(bset) && Array.isArray(bset['all_except'])) next = { all_except: [...new Set([...(bset['all_except'] as string[]), ...caps])] };
    else continue;
    set(raw, 'sandbox.capability_bounding_set', next);
    if (!svc.has('sandbox.capability_bounding_set') && !implied.has('sandbox.capability_bounding_set')) implied.set('sandbox.capability_bounding_set', `${svc.source(field)} (implied)`);
  }

  return new ServiceView(svc.key, raw, (f) => implied.get(f) ?? (svc.has(f) ? svc.source(f) : undefined));
}
