import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  defaultSearchPath,
  dropinNames,
  isValidAlias,
  parseUnitPath,
  resolveSearchPath,
  SYSTEM_UNIT_PATH,
  UnitSearchPath,
  type ResolvedUnit,
} from '../src/unit/search-path.js';
import { ValueError } from '../src/unit/diagnostics.js';

type Entry = string | { link: string };

/** The parts of a tap test the helpers below use. */
interface TapLike {
  teardown(fn: () => void): void;
  same(found: unknown, wanted: unknown, message: string): boolean;
}

/**
 * Build a unit tree under a fresh temp dir. A string entry is a file; unit files and
 * drop-ins get a body whose ExecStart= names the file (see `marker()`).
 */
function tree(t: TapLike, entries: Record<string, Entry>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sysg-sp-')));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [rel, e] of Object.entries(entries)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    if (typeof e === 'string') fs.writeFileSync(full, e === 'unit' ? body(rel) : e);
    else fs.symlinkSync(e.link.replaceAll('$ROOT', root), full);
  }
  fs.mkdirSync(path.join(root, 'empty'), { recursive: true });
  return root;
}

/** A unit file / drop-in whose last ExecStart= reveals which file set it, the unit id and its fragment. */
function body(rel: string): string {
  return `[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=\nExecStart=/nonexistent/x=${rel}|%n|%y=x/end\n`;
}

function sp(root: string, ...dirs: string[]): UnitSearchPath {
  return UnitSearchPath.fromDirs(dirs.map((d) => path.join(root, d)));
}

function rel(root: string, p: string | undefined): string | undefined {
  return p === undefined ? undefined : path.relative(root, p);
}

interface Observed {
  readonly state: 'loaded' | 'masked' | 'not-found';
  readonly last?: string;
  readonly id?: string;
  readonly fragment?: string;
}

/** What we predict `systemd-analyze verify` observes. */
function predict(root: string, r: ResolvedUnit): Observed {
  if (!r.fragment) return { state: 'not-found' };
  if (r.masked) return { state: 'masked' };
  return {
    state: 'loaded',
    last: rel(root, r.dropins.at(-1) ?? fs.realpathSync(r.fragment)),
    id: r.name,
    fragment: fs.realpathSync(r.fragment),
  };
}

const ANALYZE = '/usr/bin/systemd-analyze';
let analyzeWorks: boolean | undefined;

/** Ask the real systemd (systemd-analyze verify, SYSTEMD_UNIT_PATH=dirs) about a unit name. */
function observe(root: string, dirs: string[], name: string): Observed | undefined {
  if (analyzeWorks === false || !fs.existsSync(ANALYZE)) return undefined;
  const r = spawnSync(ANALYZE, ['verify', '--man=no', name], {
    cwd: path.join(root, 'empty'),
    encoding: 'utf8',
    env: { ...process.env, SYSTEMD_UNIT_PATH: dirs.map((d) => path.join(root, d)).join(':') },
  });
  const out = r.stdout + r.stderr;
  if (/Unit \S+ is masked/.test(out)) return { state: 'masked' };
  if (/Unit \S+ not found/.test(out)) return { state: 'not-found' };
  const m = /\/nonexistent\/x=(.*)\|(.*)\|(.*)=x\/end/.exec(out);
  analyzeWorks = m !== null;
  if (!m) return undefined;
  return { state: 'loaded', last: m[1]!, id: m[2]!, fragment: m[3]! };
}

/** Compare our resolution with systemd's, when systemd-analyze is usable here. */
function agrees(t: TapLike, root: string, dirs: string[], name: string, r: ResolvedUnit): void {
  const seen = observe(root, dirs, name);
  if (seen) t.same(predict(root, r), seen, `systemd-analyze verify ${name} agrees`);
}

t.test('search path: defaults, SYSTEMD_UNIT_PATH, explicit lists', async (t) => {
  t.same(defaultSearchPath('system'), SYSTEM_UNIT_PATH);
  t.same(SYSTEM_UNIT_PATH.slice(0, 5), [
    '/etc/systemd/system.control',
    '/run/systemd/system.control',
    '/run/systemd/transient',
    '/run/systemd/generator.early',
    '/etc/systemd/system',
  ]);
  t.equal(SYSTEM_UNIT_PATH.at(-1), '/run/systemd/generator.late');
  t.same(resolveSearchPath({ env: {} }), SYSTEM_UNIT_PATH);
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: '/a:/b' } }), ['/a', '/b']);
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: '/a::/b/:/a' } }), ['/a', '/b'], 'empty entries dropped, duplicates removed');
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: '/a:' } }), ['/a', ...SYSTEM_UNIT_PATH], 'trailing ":" appends the defaults');
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: '/etc/systemd/system:' } }).filter((d) => d === '/etc/systemd/system').length, 1);
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: '' } }), [], 'empty means no directories');
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: 'rel:/x' }, cwd: '/w' }), ['/w/rel', '/x']);
  t.same(resolveSearchPath({ env: { SYSTEMD_UNIT_PATH: '/a' }, unitPath: ['/u', 'v'], cwd: '/w' }), ['/u', '/w/v'], 'explicit list wins');
  t.same(parseUnitPath('/p:', 'system', {}), ['/p', ...SYSTEM_UNIT_PATH]);

  // On this machine, the local systemd agrees about the override rules (its own default list may differ).
  const real = spawnSync(ANALYZE, ['unit-paths'], { encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: '/tmp/x::/tmp/y' } });
  if (real.status === 0) t.same(real.stdout.trim().split('\n'), ['/tmp/x', '/tmp/y'], 'systemd-analyze unit-paths');

  const user = defaultSearchPath('user', { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1' });
  t.same(user.slice(0, 5), [
    '/home/u/.config/systemd/user.control',
    '/run/user/1/systemd/user.control',
    '/run/user/1/systemd/transient',
    '/run/user/1/systemd/generator.early',
    '/home/u/.config/systemd/user',
  ]);
  t.ok(user.includes('/etc/systemd/user') && user.includes('/usr/lib/systemd/user'));
  t.equal(user.at(-1), '/run/user/1/systemd/generator.late');

  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1' };
  const realUser = spawnSync(ANALYZE, ['--user', 'unit-paths'], { encoding: 'utf8', env });
  if (realUser.status === 0) t.same(user, realUser.stdout.trim().split('\n'), 'systemd-analyze --user unit-paths');
  const realSystem = spawnSync(ANALYZE, ['unit-paths'], { encoding: 'utf8', env });
  if (realSystem.status === 0) {
    // Debian's systemd 252 puts /lib/systemd/system before /usr/lib/systemd/system; same members.
    t.same([...SYSTEM_UNIT_PATH].sort(), realSystem.stdout.trim().split('\n').sort(), 'systemd-analyze unit-paths');
  }
});

t.test('precedence: the first directory with the name wins', async (t) => {
  const root = tree(t, { 'A/foo.service': 'unit', 'B/foo.service': 'unit', 'B/bar.service': 'unit' });
  const s = sp(root, 'A', 'B');
  const foo = s.resolveUnit('foo.service');
  t.equal(rel(root, foo.fragment), 'A/foo.service');
  t.equal(foo.masked, false);
  t.same(foo.aliases, []);
  t.equal(rel(root, s.resolveUnit('bar.service').fragment), 'B/bar.service');
  t.equal(s.resolveUnit('nothere.service').fragment, undefined);
  agrees(t, root, ['A', 'B'], 'foo.service', foo);
  agrees(t, root, ['A', 'B'], 'nothere.service', s.resolveUnit('nothere.service'));
});

t.test('masks: a symlink to /dev/null or an empty file', async (t) => {
  const root = tree(t, {
    'A/null.service': { link: '/dev/null' },
    'B/null.service': 'unit',
    'A/empty.service': '',
    'B/empty.service': 'unit',
    'B/real.service': 'unit',
    'A/real.service.d/x.conf': 'unit',
  });
  const s = sp(root, 'A', 'B');
  for (const n of ['null.service', 'empty.service']) {
    const r = s.resolveUnit(n);
    t.equal(r.masked, true, n);
    t.equal(rel(root, r.fragment), `A/${n}`);
    agrees(t, root, ['A', 'B'], n, r);
  }
  t.equal(s.resolveUnit('real.service').masked, false);
});

t.test('aliases: symlinks inside the search path', async (t) => {
  const root = tree(t, {
    'A/alias.service': { link: 'target.service' },
    'A/abs-alias.service': { link: '$ROOT/B/target.service' },
    'A/target.service': 'unit', // the alias resolves by *name*: this file wins over B/target.service
    'B/target.service': 'unit',
    'A/target.service.d/10-a.conf': 'unit',
    'A/alias.service.d/20-b.conf': 'unit',
    'A/wrongtype.service': { link: 'target.socket' }, // invalid: suffix differs → ignored
    'B/wrongtype.service': 'unit',
    'B/target.socket': '[Socket]\nListenStream=1\n',
    'A/self.service': { link: '../B/self.service' }, // self-alias → ignored
    'B/self.service': 'unit',
    'A/dangling.service': { link: 'gone.service' },
    'A/loop1.service': { link: 'loop2.service' },
    'A/loop2.service': { link: 'loop1.service' },
  });
  const s = sp(root, 'A', 'B');
  const a = s.resolveUnit('alias.service');
  t.equal(a.name, 'target.service');
  t.equal(rel(root, a.fragment), 'A/target.service');
  t.same(a.aliases, ['abs-alias.service', 'alias.service']);
  t.same(a.dropins.map((d) => rel(root, d)), ['A/target.service.d/10-a.conf', 'A/alias.service.d/20-b.conf'], 'drop-ins of the alias name apply too');
  agrees(t, root, ['A', 'B'], 'alias.service', a);

  const abs = s.resolveUnit('abs-alias.service');
  t.equal(rel(root, abs.fragment), 'A/target.service');
  agrees(t, root, ['A', 'B'], 'abs-alias.service', abs);

  const target = s.resolveUnit('target.service');
  t.equal(target.name, 'target.service');
  t.same(target.aliases, ['abs-alias.service', 'alias.service'], 'the target knows its aliases');
  t.same(target.dropins.map((d) => rel(root, d)), ['A/target.service.d/10-a.conf', 'A/alias.service.d/20-b.conf']);
  agrees(t, root, ['A', 'B'], 'target.service', target);

  const wrong = s.resolveUnit('wrongtype.service');
  t.equal(rel(root, wrong.fragment), 'B/wrongtype.service');
  agrees(t, root, ['A', 'B'], 'wrongtype.service', wrong);

  const self = s.resolveUnit('self.service');
  t.equal(rel(root, self.fragment), 'B/self.service');
  agrees(t, root, ['A', 'B'], 'self.service', self);

  t.equal(s.resolveUnit('dangling.service').fragment, undefined);
  agrees(t, root, ['A', 'B'], 'dangling.service', s.resolveUnit('dangling.service'));
  t.throws(() => s.resolveUnit('loop1.service'), ValueError, 'alias loops');

  t.ok(isValidAlias('a.service', 'b.service'));
  t.notOk(isValidAlias('a.mount', 'b.mount'), 'mounts cannot be aliased');
  t.notOk(isValidAlias('a@.slice', 'b@.slice'));
  t.ok(isValidAlias('a@x.service', 'b@.service'));
  t.notOk(isValidAlias('a@x.service', 'b@y.service'), 'instance mismatch');
  t.notOk(isValidAlias('a@.service', 'b.service'));
});

t.test('linked units: symlinks out of the search path keep their own name', async (t) => {
  const root = tree(t, { 'outside/other.service': 'unit', 'A/linked.service': { link: '$ROOT/outside/other.service' } });
  const s = sp(root, 'A');
  const r = s.resolveUnit('linked.service');
  t.equal(r.name, 'linked.service');
  t.equal(rel(root, r.fragment), 'A/linked.service');
  t.same(r.aliases, []);
  agrees(t, root, ['A'], 'linked.service', r);
});

t.test('templates and instances', async (t) => {
  const root = tree(t, {
    'B/tmpl@.service': 'unit',
    'A/tmpl@special.service': 'unit',
    'A/tmpl@.service.d/10-t.conf': 'unit',
    'B/tmpl@x.service.d/20-i.conf': 'unit',
    'A/other@.service': { link: 'tmpl@.service' },
    'A/pinned@one.service': { link: 'tmpl@.service' },
  });
  const s = sp(root, 'A', 'B');
  const x = s.resolveUnit('tmpl@x.service');
  t.equal(x.name, 'tmpl@x.service');
  t.equal(x.instance, 'x');
  t.equal(x.template, 'tmpl@.service');
  t.equal(rel(root, x.fragment), 'B/tmpl@.service');
  t.same(x.aliases, ['other@x.service']);
  t.same(x.dropins.map((d) => rel(root, d)), ['A/tmpl@.service.d/10-t.conf', 'B/tmpl@x.service.d/20-i.conf']);
  agrees(t, root, ['A', 'B'], 'tmpl@x.service', x);

  const special = s.resolveUnit('tmpl@special.service');
  t.equal(rel(root, special.fragment), 'A/tmpl@special.service', 'an instance file beats the template');
  agrees(t, root, ['A', 'B'], 'tmpl@special.service', special);

  const other = s.resolveUnit('other@y.service');
  t.equal(other.name, 'tmpl@y.service', 'alias of a template');
  t.same(other.aliases, ['other@y.service']);
  agrees(t, root, ['A', 'B'], 'other@y.service', other);

  const pinned = s.resolveUnit('pinned@one.service');
  t.equal(pinned.name, 'tmpl@one.service', 'instance symlink to a template');
  t.same(pinned.aliases, ['other@one.service', 'pinned@one.service']);
  agrees(t, root, ['A', 'B'], 'pinned@one.service', pinned);

  const tpl = s.resolveUnit('tmpl@.service');
  t.equal(rel(root, tpl.fragment), 'B/tmpl@.service', 'a template can be looked up as itself');
  t.equal(tpl.instance, undefined);
});

t.test('drop-in directory kinds and their precedence', async (t) => {
  t.same(dropinNames('a-b-c.service'), ['a-b-c.service', 'a-b-.service', 'a-.service']);
  t.same(dropinNames('foo-bar@inst.service'), [
    'foo-bar@inst.service',
    'foo-bar@.service',
    'foo-.service',
    'foo-@inst.service',
    'foo-@.service',
  ]);
  t.same(dropinNames('a--b.service'), ['a--b.service', 'a--.service', 'a-.service']);
  t.same(dropinNames('-a.service'), ['-a.service']);
  t.same(dropinNames('service'), ['service']);

  const root = tree(t, {
    'B/a-b-c.service': 'unit',
    'A/service.d/10-type.conf': 'unit',
    'A/a-.service.d/20-prefix1.conf': 'unit',
    'B/a-b-.service.d/30-prefix2.conf': 'unit',
    'B/a-b-c.service.d/40-unit.conf': 'unit',
    // Same file name in several places: the first directory in the order wins.
    'B/a-b-c.service.d/50-same.conf': 'unit', // unit dirs of all search dirs come before type dirs
    'A/service.d/50-same.conf': 'unit',
    'A/a-.service.d/60-same.conf': 'unit', // search dir A before B, whatever the kind
    'B/a-b-c.service.d/60-same.conf': 'unit',
    'A/a-b-c.service.d/70-same.conf': 'unit', // A/<unit>.d before A/<prefix>.d
    'A/a-b-.service.d/70-same.conf': 'unit',
    'A/a-b-c.service.d/.hidden.conf': 'unit',
    'A/a-b-c.service.d/notconf.txt': 'x',
    'A/a-b-c.service.d/dir.conf/x': 'x',
    'B/a-b-c.service.d/80-link.conf': { link: '/dev/null' },
  });
  const s = sp(root, 'A', 'B');
  const r = s.resolveUnit('a-b-c.service');
  t.same(r.dropins.map((d) => rel(root, d)), [
    'A/service.d/10-type.conf',
    'A/a-.service.d/20-prefix1.conf',
    'B/a-b-.service.d/30-prefix2.conf',
    'B/a-b-c.service.d/40-unit.conf',
    'B/a-b-c.service.d/50-same.conf',
    'A/a-.service.d/60-same.conf',
    'A/a-b-c.service.d/70-same.conf',
    'B/a-b-c.service.d/80-link.conf',
  ]);
  t.same(s.dropinDirs('a-b-c.service').map((d) => rel(root, d)), [
    'A/a-b-c.service.d',
    'A/a-b-.service.d',
    'A/a-.service.d',
    'B/a-b-c.service.d',
    'B/a-b-.service.d',
    'A/service.d',
  ]);

  // Which file is applied last, and which copy of a same-named file wins, as systemd sees it.
  for (const [last, remove] of [
    ['70', '80'],
    ['60', '70'],
    ['50', '60'],
  ] as const) {
    for (const f of fs.readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (path.basename(f).startsWith(remove)) fs.rmSync(path.join(root, f), { force: true });
    }
    s.refresh();
    const again = s.resolveUnit('a-b-c.service');
    t.match(path.basename(again.dropins.at(-1)!), new RegExp(`^${last}-`));
    agrees(t, root, ['A', 'B'], 'a-b-c.service', again);
  }
});

t.test('a path argument puts its directory first (systemd-analyze verify FILE)', async (t) => {
  const root = tree(t, { 'A/foo.service': 'unit', 'work/foo.service': 'unit', 'A/foo.service.d/x.conf': 'unit', 'work/foo.service.d/y.conf': 'unit' });
  const s = sp(root, 'A');
  const r = s.resolveUnit(path.join(root, 'work/foo.service'));
  t.equal(rel(root, r.fragment), 'work/foo.service');
  t.same(r.dropins.map((d) => rel(root, d)), ['A/foo.service.d/x.conf', 'work/foo.service.d/y.conf']);
  t.same(r.searchPath, [path.join(root, 'work'), path.join(root, 'A')]);
  t.equal(rel(root, s.resolveUnit('foo.service').fragment), 'A/foo.service', 'the original search path is unchanged');
  if (fs.existsSync(ANALYZE) && analyzeWorks !== false) {
    const out = spawnSync(ANALYZE, ['verify', '--man=no', path.join(root, 'work/foo.service')], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_UNIT_PATH: path.join(root, 'A') },
    });
    const m = /\/nonexistent\/x=(.*)\|(.*)\|(.*)=x\/end/.exec(out.stdout + out.stderr);
    if (m) t.same([m[1], m[3]], ['work/foo.service.d/y.conf', path.join(root, 'work/foo.service')], 'systemd agrees');
  }
});

t.test('invalid names are refused', async (t) => {
  const s = UnitSearchPath.fromDirs([]);
  t.throws(() => s.resolveUnit('foo'), ValueError);
  t.throws(() => s.resolveUnit('/tmp/not-a-unit'), ValueError);
  t.same(s.resolveUnit('foo.service').dropins, []);
});
