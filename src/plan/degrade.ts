/**
 * --best-effort-sandbox at launch time: which failed step may be dropped.
 *
 * systemd itself runs a service without its mount namespace when setting one
 * up fails with a "not supported"/"not permitted" error ("assuming
 * containerized execution") — unless the namespace is essential
 * (insist_on_sandboxing() in src/core/exec-invoke.c, v255): TemporaryFileSystem=,
 * RootDirectory=, DynamicUser=, or a bind mount to another path. sysg refuses
 * in every case by default; with the explicit opt-in it degrades exactly where
 * systemd does, with one warning per directive, and nowhere else.
 */
import type { ServiceView } from './service.js';

const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;
const EOPNOTSUPP = 95;
const DEGRADABLE_ERRNOS = new Set([EPERM, EACCES, ENOSYS, EOPNOTSUPP]);


function insistsOnMountNamespace(svc: ServiceView): boolean {
  if ((svc.list('sandbox.temporary_file_system') ?? []).length > 0) return true;
  if (svc.has('sandbox.root_directory')) return true;
  if (svc.value('dynamic_user') === true) return true;
  for (const field of ['sandbox.bind_paths', 'sandbox.bind_read_only_paths']) {
    for (const b of (svc.list(field) ?? []) as Array<{ source?: string; destination?: string }>) {
      const src = (b.source ?? '').replace(/^[-+]/, '');
      if (b.destination !== undefined && b.destination !== src) return true;
    }
  }
  return false;
}

/** Whether a launch that failed in step `op` with `errno` may be retried without that step. */
export function mayDegrade(svc: ServiceView, op: string, errno: number): boolean {
  return op === 'mount-namespace' && DEGRADABLE_ERRNOS.has(errno) && !insistsOnMountNamespace(svc);
}
