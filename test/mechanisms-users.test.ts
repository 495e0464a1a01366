/**
 * users.ts: systemd's user/group lookup rules, DynamicUser= allocation
 * (persisted, locked, collision-free) and the login environment.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  allocateDynamicUid, DYNAMIC_UID_MAX, DYNAMIC_UID_MIN, dynamicUserName, dynamicUsers, hashedDynamicUid, loginEnvironment,
  releaseDynamicUser, resolveIdentity, siphash24, validUserName,
} from '../src/mechanisms/users.js';
import { ModelError, ServiceView } from '../src/plan/service.js';

const dir = mkdtempSync(join(tmpdir(), 'sysg-users-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const passwdFile = join(dir, 'passwd');
const groupFile = join(dir, 'group');
writeFileSync(passwdFile, [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'games:x:5:60:games:/usr/games:/usr/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'alice:x:1000:1000:Alice:/home//alice/:/bin/zsh',
  '',
].join('\n'));
writeFileSync(groupFile, [
  'root:x:0:', 'daemon:x:1:', 'bin:x:2:', 'sys:x:3:alice', 'games:x:60:', 'audio:x:29:alice,games', 'alice:x:1000:',
  'nogroup:x:65534:', 'onlygroup:x:1234:', '',
].join('\n'));

let n = 0;
const newDir = (): string => join(dir, `dyn-${n++}`);
const view = (raw: Record<string, unknown>, unit = 'svc.service'): ServiceView => new ServiceView('svc', { unit: { name: unit }, ...raw });
const opts = (dynamicUserDir = newDir()) => ({ dynamicUserDir, passwdFile, groupFile });
const resolve = (raw: Record<string, unknown>, unit?: string, o = opts()) => resolveIdentity(view(raw, unit), o);

t.test('SipHash-2-4 reference vectors (key 00..0f)', async (t) => {
  const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
  t.equal(siphash24(Buffer.alloc(0), key), 0x726fdb47dd0e0e31n);
  t.equal(siphash24(Buffer.from(Array.from({ length: 15 }, (_, i) => i)), key), 0xa129ca6149be45e5n);
  t.equal(siphash24(Buffer.from(Array.from({ length: 8 }, (_, i) => i)), key), 0x93f5f5799a932462n);
});

t.test('static users and groups, with systemd’s synthesized root and nobody', async (t) => {
  t.equal(resolve({}), undefined, 'nothing configured: stay as the supervisor');
  const d = resolve({ user: 'daemon' })!;
  t.same(d, { user: 'daemon', uid: 1, group: 'daemon', gid: 1, supplementaryGids: [1], home: '/usr/sbin', shell: '/usr/sbin/nologin', dynamic: false });
  t.same(resolve({ user: '1' })!.user, 'daemon', 'a numeric User= takes the name from passwd');
  const nobody = resolve({ user: 'nobody' })!;
  t.equal(nobody.home, '/', 'nobody is synthesized (home /), not read from passwd');
  t.equal(resolve({ user: '65534' })!.user, 'nobody');
  const root = resolve({ user: 'root', group: '1' })!;
  t.same([root.uid, root.gid, root.supplementaryGids], [0, 1, [1]], 'User=root Group=1: initgroups(root, 1)');
  const g = resolve({ group: 'daemon' })!;
  t.same([g.user, g.uid, g.gid, g.supplementaryGids], ['root', 0, 1, []], 'no User=: no initgroups');
  t.same(resolve({ supplementary_groups: ['1', 'bin'] })!.supplementaryGids, [1, 2]);
  t.same(resolve({ user: 'alice' })!.supplementaryGids, [1000, 3, 29], 'initgroups: gid first, then memberships');
  t.same(resolve({ user: 'alice', supplementary_groups: ['29', 'nogroup'] })!.supplementaryGids, [1000, 3, 29, 65534], 'no duplicates');
  t.equal(resolve({ group: 'nogroup' })!.gid, 65534);
});

t.test('unknown users and groups refuse the plan (systemd: 217/USER, 216/GROUP)', async (t) => {
  t.throws(() => resolve({ user: 'nosuchuser' }), ModelError);
  t.throws(() => resolve({ user: '4242' }), /no such user/);
  t.throws(() => resolve({ group: 'nosuchgroup' }), /no such group/);
  t.throws(() => resolve({ group: '4242' }), /no such group/);
  t.throws(() => resolve({ supplementary_groups: ['nope'] }), /no such group/);
});

t.test('dynamic user names (user_from_unit_name)', async (t) => {
  t.equal(dynamicUserName('foo.service'), 'foo');
  t.equal(dynamicUserName('foo@bar.service'), 'foo');
  t.match(dynamicUserName('exec-dynamicuser-supplementarygroups.service'), /^_du[0-9a-f]{16}$/, 'longer than 31 characters');
  t.match(dynamicUserName('1foo.service'), /^_du[0-9a-f]{16}$/);
  t.not(dynamicUserName('a.b.service'), dynamicUserName('a.c.service'));
  t.ok(validUserName('_x-1'));
  t.notOk(validUserName('a.b'));
  for (const name of ['foo', 'bar', 'exec-dynamicuser-fixeduser']) {
    const uid = hashedDynamicUid(name);
    t.ok(uid >= DYNAMIC_UID_MIN && uid <= DYNAMIC_UID_MAX, `${name} → ${uid}`);
    t.equal(hashedDynamicUid(name), uid, 'deterministic');
  }
});

t.test('DynamicUser=: allocation, persistence, collisions, release', async (t) => {
  const o = opts();
  const a = resolve({ dynamic_user: true }, 'web.service', o)!;
  t.same([a.user, a.gid, a.supplementaryGids, a.home, a.shell, a.dynamic], ['web', a.uid, [a.uid], '/', '/usr/sbin/nologin', true]);
  t.equal(a.uid, hashedDynamicUid('web'), 'the first candidate is systemd’s hashed uid');
  t.equal(resolve({ dynamic_user: true }, 'web.service', o)!.uid, a.uid, 'same name, same uid on the next run');
  t.same(dynamicUsers(o), { web: a.uid }, 'persisted');
  // A static account holding the hashed uid forces another one.
  const taken = hashedDynamicUid('db');
  const pw2 = join(dir, 'passwd2');
  writeFileSync(pw2, `${readFileSync(passwdFile, 'utf8')}squatter:x:${taken}:${taken}::/:/bin/sh\n`);
  const db = resolveIdentity(view({ dynamic_user: true }, 'db.service'), { ...o, passwdFile: pw2 })!;
  t.not(db.uid, taken);
  t.ok(db.uid >= DYNAMIC_UID_MIN && db.uid <= DYNAMIC_UID_MAX);
  t.not(db.uid, a.uid, 'never another name’s uid');
  t.equal(releaseDynamicUser('web', o), true);
  t.equal(releaseDynamicUser('web', o), false);
  t.same(Object.keys(dynamicUsers(o)), ['db']);
  // User=/Group= with DynamicUser=: static accounts are used as they are.
  const games = resolve({ dynamic_user: true, user: 'games' })!;
  t.same([games.user, games.uid, games.gid, games.group, games.supplementaryGids, games.dynamic], ['games', 5, 60, 'games', [60, 29], true]);
  const one = resolve({ dynamic_user: true, user: '1', supplementary_groups: ['1'] })!;
  t.same([one.uid, one.gid, one.supplementaryGids], [1, 1, [1]]);
  const sep = resolve({ dynamic_user: true, user: 'dynu', group: 'dyng' }, undefined, o)!;
  t.not(sep.gid, sep.uid, 'a separate Group= gets its own allocation');
  t.same(dynamicUsers(o)['dyng'], sep.gid);
  t.throws(() => resolve({ dynamic_user: true, user: 'onlygroup' }), /EILSEQ/, 'a group but no user of that name');
  t.throws(() => resolve({ dynamic_user: true, user: 'bad.name' }), /not a valid/);
});

t.test('a stale lock left by a dead supervisor is broken', async (t) => {
  const d = newDir();
  allocateDynamicUid('first', d);
  writeFileSync(join(d, 'dynamic-users.lock'), '2147483646\n'); // no such pid
  const uid = allocateDynamicUid('second', d);
  t.ok(uid >= DYNAMIC_UID_MIN);
  t.same(Object.keys(dynamicUsers({ dynamicUserDir: d })).sort(), ['first', 'second']);
});

t.test('concurrent supervisors never hand out the same uid', async (t) => {
  const d = newDir();
  const here = fileURLToPath(new URL('.', import.meta.url));
  const users = join(here, '..', 'src', 'mechanisms', import.meta.url.endsWith('.ts') ? 'users.ts' : 'users.js');
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const script = (k: number): string =>
    `const { allocateDynamicUid } = await import(${JSON.stringify(users)}); for (let i = 0; i < 15; i++) allocateDynamicUid('p${k}-' + i, ${JSON.stringify(d)});`;
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const codes = await Promise.all(
    [0, 1, 2, 3].map(
      (k) =>
        new Promise<number | null>((res) => {
          const c = spawn(process.execPath, [...loader, '--input-type=module', '-e', script(k)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
          c.on('exit', (code) => res(code));
        }),
    ),
  );
  t.same(codes, [0, 0, 0, 0]);
  const table = dynamicUsers({ dynamicUserDir: d });
  t.equal(Object.keys(table).length, 60, 'every allocation was persisted');
  t.equal(new Set(Object.values(table)).size, 60, 'all distinct');
});

t.test('loginEnvironment: $USER always, the rest with SetLoginEnvironment=', async (t) => {
  const env = (raw: Record<string, unknown>): string[] => {
    const svc = view(raw);
    return loginEnvironment(resolveIdentity(svc, opts()), svc);
  };
  const rootShell = loginEnvironment(resolve({ user: 'root' }), view({ user: 'root' })).find((e) => e.startsWith('SHELL='));
  t.same(env({}), ['USER=root'], 'no User=: USER=root only');
  t.same(env({ user: 'daemon' }), ['USER=daemon', 'LOGNAME=daemon', 'HOME=/usr/sbin'], 'nologin shells are left out');
  t.same(env({ user: 'nobody' }), ['USER=nobody', 'LOGNAME=nobody'], 'HOME=/ is left out');
  t.same(env({ user: 'alice' }), ['USER=alice', 'LOGNAME=alice', 'HOME=/home/alice', 'SHELL=/bin/zsh'], 'paths simplified');
  t.same(env({ user: 'root' }), ['USER=root', 'LOGNAME=root', 'HOME=/root', rootShell!]);
  t.match(rootShell, /^SHELL=\/bin\/(ba)?sh$/);
  t.same(env({ user: 'alice', env: { login_environment: false } }), ['USER=alice']);
  t.same(env({ env: { login_environment: true } }), ['USER=root', 'LOGNAME=root', 'HOME=/root', rootShell!]);
  t.same(env({ group: 'daemon' }), ['USER=root'], 'Group= alone is not User=');
  t.same(env({ dynamic_user: true }), ['USER=svc', 'LOGNAME=svc'], 'a dynamic user has no $HOME/$SHELL');
  t.same(env({ dynamic_user: true, user: 'games' }), ['USER=games', 'LOGNAME=games']);
});
