/**
 * User=, Group=, SupplementaryGroups=, DynamicUser= → an Identity, resolved in
 * the supervisor before launch (the child cannot call NSS). Reads the passwd
 * and group databases as files.
 */
import { readFileSync } from 'node:fs';
import type { Identity } from '../plan/context.js';
import type { ServiceView } from '../plan/service.js';

export interface IdentityOptions {
  /** Directory where DynamicUser= allocations are persisted. */
  readonly dynamicUserDir: string;
  readonly passwdFile?: string;
  readonly groupFile?: string;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}
interface GroupEntry {
  readonly name: string;
  readonly gid: number;
}

function readDb(file: string): string[][] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function passwd(file: string): PasswdEntry[] {
  return readDb(file)
    .filter((f) => f.length >= 7)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! }));
}

function groups(file: string): GroupEntry[] {
  return readDb(file)
    .filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]) }));
}

const NUMERIC = /^[0-9]+$/;

/** undefined: the service runs as the supervisor's own user (no User=, Group=, DynamicUser=). */
export function resolveIdentity(svc: ServiceView, opts: IdentityOptions): Identity | undefined {
  const user = svc.str('user');
  const group = svc.str('group');
  const supp = svc.strings('supplementary_groups') ?? [];
  if (svc.bool('dynamic_user')) svc.error('dynamic_user', 'DynamicUser= is not supported yet');
  if (user === undefined && group === undefined && supp.length === 0) return undefined;
  const pw = passwd(opts.passwdFile ?? '/etc/passwd');
  const gr = groups(opts.groupFile ?? '/etc/group');

  let entry: PasswdEntry;
  if (user === undefined || user === 'root' || user === '0') entry = pw.find((p) => p.uid === 0) ?? { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' };
  else if (NUMERIC.test(user)) {
    const uid = Number(user);
    entry = pw.find((p) => p.uid === uid) ?? { name: user, uid, gid: uid, home: '/', shell: '/usr/sbin/nologin' };
  } else {
    const found = pw.find((p) => p.name === user);
    if (!found) svc.error('user', `User=${user}: no such user`);
    entry = found;
  }
  const groupGid = (g: string, field: string): number => {
    if (NUMERIC.test(g)) return Number(g);
    const found = gr.find((x) => x.name === g);
    if (!found) svc.error(field, `no such group: ${g}`);
    return found.gid;
  };
  const gid = group === undefined ? entry.gid : groupGid(group, 'group');
  const groupName = gr.find((g) => g.gid === gid)?.name ?? String(gid);
  const supplementaryGids = [...new Set(supp.map((g) => groupGid(g, 'supplementary_groups')))];
  return { user: entry.name, uid: entry.uid, group: groupName, gid, supplementaryGids, home: entry.home, shell: entry.shell, dynamic: false };
}
