/**
 * User=, Group=, SupplementaryGroups=, DynamicUser= → an Identity, resolved in
 * the supervisor before launch (the fork child cannot call NSS). The passwd
 * and group databases are read as files, with systemd's rules
 * (get_user_creds()/get_group_creds() in src/basic/user-util.c,
 * get_supplementary_groups() in src/core/execute.c, v252–v255):
 * - "root"/"0" and "nobody"/"65534" are synthesized without a lookup (root:
 *   home /root, shell /bin/bash if present else /bin/sh; nobody: home /,
 *   nologin), unless /etc/systemd/dont-synthesize-nobody exists;
 * - a numeric User=/Group= must exist in the database (systemd fails the
 *   start with 217/USER or 216/GROUP; here the plan is refused);
 * - a non-root user (gid ≠ 0) gets initgroups(): its gid plus every group
 *   listing it as a member; SupplementaryGroups= are appended.
 *
 * DynamicUser= (src/core/dynamic-user.c): the name is User= or the unit
 * name's prefix when it is a valid user name, else "_du" + a siphash of it
 * (user_from_unit_name()); Group= defaults to the same name. A static user
 * or group by that name is used as is; otherwise a uid is allocated in
 * 61184–65519 (first candidate: systemd's siphash of the name, so the same
 * number systemd would try first; then random), never one that /etc/passwd or
 * /etc/group uses or another name holds, with gid = uid. Unlike systemd (which
 * frees it when the unit stops) the allocation is persisted under
 * opts.dynamicUserDir, so a unit keeps its uid across runs and files it left
 * stay its own; releaseDynamicUser() gives one back.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
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
  readonly members: readonly string[];
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

const NUMERIC = /^[0-9]+$/;
const ID_MAX = 0xfffffffe;

function idField(s: string | undefined): number {
  return s !== undefined && NUMERIC.test(s) && Number(s) <= ID_MAX ? Number(s) : -1;
}

function passwd(file: string): PasswdEntry[] {
  return readDb(file)
    .filter((f) => f.length >= 7 && idField(f[2]) >= 0 && idField(f[3]) >= 0)
    .map((f) => ({ name: f[0]!, uid: idField(f[2]), gid: idField(f[3]), home: f[5]!, shell: f[6]! }));
}

function groups(file: string): GroupEntry[] {
  return readDb(file)
    .filter((f) => f.length >= 3 && idField(f[2]) >= 0)
    .map((f) => ({ name: f[0]!, gid: idField(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

/** The users/groups databases of one resolution. */
interface Db {
  readonly pw: readonly PasswdEntry[];
  readonly gr: readonly GroupEntry[];
}

function loadDb(opts: IdentityOptions): Db {
  return { pw: passwd(opts.passwdFile ?? '/etc/passwd'), gr: groups(opts.groupFile ?? '/etc/group') };
}

export const NOLOGIN = '/usr/sbin/nologin';
const NOBODY_USER = 'nobody';
const NOBODY_GROUP = 'nogroup'; // Debian's NOBODY_GROUP_NAME
const NOBODY_ID = 65534;

function synthesizeNobody(): boolean {
  return !existsSync('/etc/systemd/dont-synthesize-nobody');
}

/** systemd's default_root_shell(): DEFAULT_USER_SHELL (/bin/bash) when it exists, else /bin/sh. */
function rootShell(): string {
  return existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** get_user_creds(): undefined when the user does not exist. */
function lookupUser(db: Db, user: string): PasswdEntry | undefined {
  if (user === 'root' || user === '0') return { name: 'root', uid: 0, gid: 0, home: '/root', shell: rootShell() };
  if (synthesizeNobody() && (user === NOBODY_USER || user === String(NOBODY_ID))) {
    return { name: NOBODY_USER, uid: NOBODY_ID, gid: NOBODY_ID, home: '/', shell: NOLOGIN };
  }
  if (NUMERIC.test(user)) return db.pw.find((p) => p.uid === Number(user));
  return db.pw.find((p) => p.name === user);
}

/** get_group_creds(): undefined when the group does not exist. */
function lookupGroup(db: Db, group: string): { readonly name: string; readonly gid: number } | undefined {
  if (group === 'root' || group === '0') return { name: 'root', gid: 0 };
  if (synthesizeNobody() && (group === NOBODY_GROUP || group === String(NOBODY_ID))) return { name: NOBODY_GROUP, gid: NOBODY_ID };
  if (NUMERIC.test(group)) return db.gr.find((g) => g.gid === Number(group));
  return db.gr.find((g) => g.name === group);
}

function groupName(db: Db, gid: number): string {
  if (gid === 0) return 'root';
  if (gid === NOBODY_ID && synthesizeNobody()) return NOBODY_GROUP;
  return db.gr.find((g) => g.gid === gid)?.name ?? String(gid);
}

/** getgrouplist(user, gid): gid first, then every group listing the user as a member. */
function groupList(db: Db, user: string, gid: number): number[] {
  return [gid, ...db.gr.filter((g) => g.members.includes(user)).map((g) => g.gid)];
}

function supplementary(svc: ServiceView, db: Db, initgroupsUser: string | undefined, gid: number): number[] {
  const base = initgroupsUser !== undefined && gid !== 0 ? groupList(db, initgroupsUser, gid) : [];
  const extra = (svc.strings('supplementary_groups') ?? []).map((g) => {
    const found = lookupGroup(db, g);
    if (!found) svc.error('supplementary_groups', `SupplementaryGroups=${g}: no such group`);
    return found.gid;
  });
  return [...new Set([...base, ...extra])];
}

/** undefined: the service runs as the supervisor's own user (no User=, Group=, SupplementaryGroups=, DynamicUser=). */
export function resolveIdentity(svc: ServiceView, opts: IdentityOptions): Identity | undefined {
  if (svc.bool('dynamic_user') === true) return resolveDynamic(svc, opts);
  const user = svc.str('user');
  const group = svc.str('group');
  const supp = svc.strings('supplementary_groups') ?? [];
  if (user === undefined && group === undefined && supp.length === 0) return undefined;
  const db = loadDb(opts);

  let entry: PasswdEntry;
  if (user === undefined) entry = lookupUser(db, 'root')!;
  else {
    const found = lookupUser(db, user);
    if (!found) svc.error('user', `User=${user}: no such user (systemd fails the start with 217/USER)`);
    entry = found;
  }
  let gid = entry.gid;
  if (group !== undefined) {
    const found = lookupGroup(db, group);
    if (!found) svc.error('group', `Group=${group}: no such group (systemd fails the start with 216/GROUP)`);
    gid = found.gid;
  }
  // initgroups() only for an explicit User= (systemd passes no user name otherwise).
  const supplementaryGids = supplementary(svc, db, user === undefined ? undefined : entry.name, gid);
  return { user: entry.name, uid: entry.uid, group: groupName(db, gid), gid, supplementaryGids, home: entry.home, shell: entry.shell, dynamic: false };
}

// ---------------------------------------------------------------------------------------------------------------
// DynamicUser=

/** systemd's dynamic uid range (DYNAMIC_UID_MIN/MAX). */
export const DYNAMIC_UID_MIN = 61184;
export const DYNAMIC_UID_MAX = 65519;

/** valid_user_group_name() without VALID_USER_RELAX: [A-Za-z_][A-Za-z0-9_-]*, at most 31 characters. */
export function validUserName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) && name.length <= 31;
}

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64;

/** SipHash-2-4 (what systemd's siphash24() computes), 64-bit result. */
export function siphash24(data: Buffer, key: Buffer): bigint {
  const k0 = key.readBigUInt64LE(0);
  const k1 = key.readBigUInt64LE(8);
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const len = data.length;
  const end = len - (len % 8);
  for (let i = 0; i < end; i += 8) {
    const m = data.readBigUInt64LE(i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let b = BigInt(len & 0xff) << 56n;
  for (let i = 0; i < len % 8; i++) b |= BigInt(data[end + i]!) << BigInt(8 * i);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

// Hash keys from src/core/unit.c (user_from_unit_name) and src/core/dynamic-user.c (pick_uid).
const UNIT_NAME_HASH_KEY = Buffer.from([0x58, 0x1a, 0xaf, 0xe6, 0x28, 0x58, 0x4e, 0x96, 0xb4, 0x4e, 0xf5, 0x3b, 0x8c, 0x92, 0x07, 0xec]);
const UID_HASH_KEY = Buffer.from([0x37, 0x53, 0x7e, 0x31, 0xcf, 0xce, 0x48, 0xf5, 0x8a, 0xbb, 0x39, 0x57, 0x8d, 0xd9, 0xec, 0x59]);

/** user_from_unit_name(): "foo@bar.service" → "foo"; an invalid prefix becomes "_du" + 16 hex digits. */
export function dynamicUserName(unitName: string): string {
  const at = unitName.indexOf('@');
  const dot = unitName.lastIndexOf('.');
  const prefix = at >= 0 ? unitName.slice(0, at) : dot > 0 ? unitName.slice(0, dot) : unitName;
  if (validUserName(prefix)) return prefix;
  return `_du${siphash24(Buffer.from(prefix), UNIT_NAME_HASH_KEY).toString(16).padStart(16, '0')}`;
}

/** UID_CLAMP_INTO_RANGE(siphash24(name)): the first uid systemd tries for a name. */
export function hashedDynamicUid(name: string): number {
  const low32 = Number(siphash24(Buffer.from(name), UID_HASH_KEY) & 0xffffffffn);
  return (low32 % (DYNAMIC_UID_MAX - DYNAMIC_UID_MIN + 1)) + DYNAMIC_UID_MIN;
}

const TABLE = 'dynamic-users.json';
const LOCK = 'dynamic-users.lock';
type Table = Record<string, number>;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Runs fn holding an O_EXCL lock file in dir (other supervisors wait; a dead holder's lock is broken). */
function withLock<T>(dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, LOCK);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (holderDead(lock) || attempt > 500) {
        try {
          unlinkSync(lock);
        } catch {
          // someone else broke it first
        }
      } else Atomics.wait(sleepCell, 0, 0, 10);
      continue;
    }
    try {
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return fn();
    } finally {
      unlinkSync(lock);
    }
  }
}

function holderDead(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, 'utf8').trim());
  } catch {
    return false; // vanished or being written: retry
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function readTable(dir: string): Table {
  let text: string;
  try {
    text = readFileSync(join(dir, TABLE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${join(dir, TABLE)}: not a JSON object`);
  const out: Table = {};
  for (const [k, x] of Object.entries(v)) if (Number.isInteger(x)) out[k] = x as number;
  return out;
}

function writeTable(dir: string, table: Table): void {
  const tmp = join(dir, `${TABLE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(table, null, 1)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, TABLE));
}

/**
 * The persisted dynamic uid of `name`, allocating one if needed. Throws when the
 * range is exhausted (systemd gives up after 100 tries with EBUSY).
 */
export function allocateDynamicUid(name: string, dir: string, db: Db = { pw: [], gr: [] }): number {
  return withLock(dir, () => {
    const table = readTable(dir);
    const taken = new Set<number>([...db.pw.map((p) => p.uid), ...db.gr.map((g) => g.gid)]);
    const mine = table[name];
    if (mine !== undefined && !taken.has(mine)) return mine;
    for (const [k, uid] of Object.entries(table)) if (k !== name) taken.add(uid);
    let uid = hashedDynamicUid(name);
    for (let tries = 0; taken.has(uid); tries++) {
      if (tries > 10 * (DYNAMIC_UID_MAX - DYNAMIC_UID_MIN)) throw new Error(`DynamicUser=: no free uid in ${DYNAMIC_UID_MIN}–${DYNAMIC_UID_MAX} for ${name}`);
      uid = randomInt(DYNAMIC_UID_MIN, DYNAMIC_UID_MAX + 1);
    }
    table[name] = uid;
    writeTable(dir, table);
    return uid;
  });
}

/** Forgets name's dynamic uid; true if it had one. */
export function releaseDynamicUser(name: string, opts: Pick<IdentityOptions, 'dynamicUserDir'>): boolean {
  return withLock(opts.dynamicUserDir, () => {
    const table = readTable(opts.dynamicUserDir);
    if (table[name] === undefined) return false;
    delete table[name];
    writeTable(opts.dynamicUserDir, table);
    return true;
  });
}

/** The persisted allocations (name → uid). */
export function dynamicUsers(opts: Pick<IdentityOptions, 'dynamicUserDir'>): Readonly<Record<string, number>> {
  return readTable(opts.dynamicUserDir);
}

/** dynamic_user_realize() for the user (gid from a static entry) or for a separate Group=. */
function realize(svc: ServiceView, db: Db, opts: IdentityOptions, name: string, isUser: boolean, field: string): { id: number; gid: number; static: PasswdEntry | undefined } {
  if (NUMERIC.test(name)) {
    const n = Number(name);
    if (!isUser || (n >= DYNAMIC_UID_MIN && n <= DYNAMIC_UID_MAX)) return { id: n, gid: n, static: undefined };
    const p = db.pw.find((x) => x.uid === n);
    if (!p) svc.error(field, `DynamicUser=: uid ${n} has no passwd entry`);
    return { id: n, gid: p.gid, static: p };
  }
  if (isUser) {
    const p = db.pw.find((x) => x.name === name);
    if (p) return { id: p.uid, gid: p.gid, static: p };
    if (db.gr.some((g) => g.name === name)) svc.error(field, `DynamicUser=: a group "${name}" exists but no user of that name (systemd refuses this, EILSEQ)`);
  } else {
    const g = db.gr.find((x) => x.name === name);
    if (g) return { id: g.gid, gid: g.gid, static: undefined };
    if (db.pw.some((p) => p.name === name)) svc.error(field, `DynamicUser=: a user "${name}" exists but no group of that name (systemd refuses this, EILSEQ)`);
  }
  const id = allocateDynamicUid(name, opts.dynamicUserDir, db);
  return { id, gid: id, static: undefined };
}

function resolveDynamic(svc: ServiceView, opts: IdentityOptions): Identity {
  const user = svc.str('user') ?? dynamicUserName(svc.unitName);
  const group = svc.str('group') ?? user;
  for (const [n, f] of [[user, 'user'], [group, 'group']] as const) {
    if (!validUserName(n) && !NUMERIC.test(n)) svc.error(svc.has(f) ? f : 'dynamic_user', `DynamicUser=: "${n}" is not a valid user/group name`);
  }
  const db = loadDb(opts);
  const u = realize(svc, db, opts, user, true, svc.has('user') ? 'user' : 'dynamic_user');
  const gid = group === user ? u.gid : realize(svc, db, opts, group, false, 'group').gid;
  // The name systemd passes to initgroups(): NSS knows static users' memberships, dynamic ones have none.
  const name = u.static?.name ?? user;
  const supplementaryGids = supplementary(svc, db, name, gid);
  const gname = db.gr.find((g) => g.gid === gid)?.name ?? group;
  return { user: name, uid: u.id, group: gname, gid, supplementaryGids, home: u.static?.home ?? '/', shell: u.static?.shell ?? NOLOGIN, dynamic: true };
}

// ---------------------------------------------------------------------------------------------------------------
// $USER, $LOGNAME, $HOME, $SHELL

/** is_nologin_shell()/shell_is_placeholder(): shells systemd does not export. */
const PLACEHOLDER_SHELLS = new Set(['/bin/nologin', '/sbin/nologin', '/usr/bin/nologin', '/usr/sbin/nologin', '/bin/false', '/usr/bin/false', '/bin/true', '/usr/bin/true']);

/** path_simplify(): collapse "//", drop "/./" and a trailing "/". */
function simplifyPath(p: string): string {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return p.startsWith('/') ? `/${parts.join('/')}` : parts.join('/');
}

/**
 * The login variables systemd puts in the environment (build_environment(),
 * v255): $USER always — the service's user, or "root" for a system service
 * without User=; $LOGNAME, $HOME and $SHELL only with SetLoginEnvironment=
 * (`env.login_environment`), which defaults to on when User= or DynamicUser=
 * is set. $HOME is left out when empty or "/", $SHELL when it is a nologin
 * placeholder; a dynamic user has neither (systemd does not look them up).
 *
 * `identity` must be the service's configured identity (resolveIdentity()),
 * also for `!` commands, which run as root but keep the configured user's
 * variables (systemd resolves the user regardless of the prefix); undefined
 * only when the service configures no user at all.
 */
export function loginEnvironment(identity: Identity | undefined, svc: ServiceView): string[] {
  const setLogin = svc.bool('env.login_environment') ?? (svc.has('user') || svc.bool('dynamic_user') === true);
  let user: string;
  let home: string | undefined;
  let shell: string | undefined;
  if (identity && (svc.has('user') || identity.dynamic)) {
    user = identity.user;
    home = identity.dynamic ? undefined : identity.home;
    shell = identity.dynamic ? undefined : identity.shell;
  } else {
    // No User=: systemd asks for "root" (synthesized, no NSS).
    user = 'root';
    home = '/root';
    shell = rootShell();
  }
  const env = [`USER=${user}`];
  if (!setLogin) return env;
  env.push(`LOGNAME=${user}`);
  if (home && simplifyPath(home) !== '/') env.push(`HOME=${simplifyPath(home)}`);
  if (shell && !PLACEHOLDER_SHELLS.has(simplifyPath(shell))) env.push(`SHELL=${simplifyPath(shell)}`);
  return env;
}
