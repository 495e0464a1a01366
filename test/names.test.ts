import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  buildUnitName,
  classifyUnitName,
  escape,
  instanceOf,
  isValidUnitName,
  nameWithoutSuffix,
  pathEscape,
  pathUnescape,
  prefixOf,
  replaceInstance,
  simplifyPath,
  templateOf,
  unescape,
  unitNameFromPath,
  unitNameToPath,
  unitTypeOf,
} from '../src/unit/names.js';
import { ValueError } from '../src/unit/diagnostics.js';

const SYSTEMD_ESCAPE = '/usr/bin/systemd-escape';
const haveTool = existsSync(SYSTEMD_ESCAPE);

/** What systemd-escape prints for one input, or undefined when it fails. */
function tool(args: string[], input: string): string | undefined {
  const r = spawnSync(SYSTEMD_ESCAPE, [...args, '--', input], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.replace(/\n$/, '');
}

function attempt(f: () => string): string | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    return undefined;
  }
}

t.test('classification and validity (unit_name_is_valid)', async (t) => {
  t.equal(classifyUnitName('foo.service'), 'plain');
  t.equal(classifyUnitName('foo@.service'), 'template');
  t.equal(classifyUnitName('foo@bar.service'), 'instance');
  t.equal(classifyUnitName('foo@bar@baz.socket'), 'instance', 'extra @ belongs to the instance');
  t.equal(classifyUnitName('a:b_c\\x2d.mount'), 'plain');
  t.equal(classifyUnitName('@foo.service'), undefined, 'empty prefix');
  t.equal(classifyUnitName('.service'), undefined);
  t.equal(classifyUnitName('foo'), undefined);
  t.equal(classifyUnitName('foo.bar'), undefined, 'unknown type');
  t.equal(classifyUnitName('foo bar.service'), undefined);
  t.equal(classifyUnitName('foo.snapshot'), undefined, 'snapshot units are gone');
  t.equal(classifyUnitName('a'.repeat(247) + '.service'), 'plain', '255 chars');
  t.equal(classifyUnitName('a'.repeat(248) + '.service'), undefined, '256 chars is too long');
  for (const type of ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope']) {
    t.ok(isValidUnitName(`x.${type}`), type);
  }
  t.ok(isValidUnitName('foo@.service', ['template']));
  t.notOk(isValidUnitName('foo@.service', ['plain', 'instance']));
  t.equal(unitTypeOf('foo@bar.timer'), 'timer');
  t.equal(unitTypeOf('nope'), undefined);
});

t.test('prefix, instance, template, replaceInstance', async (t) => {
  t.equal(prefixOf('foo-bar@a-b.service'), 'foo-bar');
  t.equal(prefixOf('foo-bar.service'), 'foo-bar');
  t.equal(prefixOf('foo@.service'), 'foo');
  t.equal(instanceOf('foo@a@b.service'), 'a@b');
  t.equal(instanceOf('foo@.service'), '');
  t.equal(instanceOf('foo.service'), undefined);
  t.equal(nameWithoutSuffix('foo@bar.service'), 'foo@bar');
  t.equal(templateOf('foo@bar.service'), 'foo@.service');
  t.equal(templateOf('foo@.service'), 'foo@.service');
  t.throws(() => templateOf('foo.service'), ValueError);
  t.equal(replaceInstance('foo@.service', 'x-y'), 'foo@x-y.service');
  t.equal(replaceInstance('foo@old.service', 'new'), 'foo@new.service');
  t.throws(() => replaceInstance('foo@.service', 'a/b'), ValueError);
  t.throws(() => replaceInstance('foo@.service', ''), ValueError);
  t.throws(() => replaceInstance('foo.service', 'x'), ValueError);
  t.equal(buildUnitName('a-', 'i', 'service'), 'a-@i.service');
  t.equal(buildUnitName('a-', undefined, 'slice'), 'a-.slice');
  t.throws(() => buildUnitName('a@b', undefined, 'service'), ValueError);
  t.throws(() => prefixOf('bogus'), ValueError);
});

// Fixed expectations (systemd v255); each is also compared with the local systemd-escape below.
const ESCAPE: Array<[string, string]> = [
  ['foo/bar', 'foo-bar'],
  ['/foo//bar/', '-foo--bar-'],
  ['a-b c', 'a\\x2db\\x20c'],
  ['.dot', '\\x2edot'],
  ['/.dot/x', '-.dot-x'],
  ['ü', '\\xc3\\xbc'],
  ['', ''],
  ['/', '-'],
  ['foo\\bar', 'foo\\x5cbar'],
  ['-', '\\x2d'],
  ['a:b_c.d', 'a:b_c.d'],
  ['tab\there', 'tab\\x09here'],
  ['@%*', '\\x40\\x25\\x2a'],
];

const PATH_ESCAPE: Array<[string, string | undefined]> = [
  ['/', '-'],
  ['//', '-'],
  ['', '-'],
  ['/foo//bar/', 'foo-bar'],
  ['/a/./b/.', 'a-b'],
  ['/dev/sda1', 'dev-sda1'],
  ['/home/a-b/c d', 'home-a\\x2db-c\\x20d'],
  ['/.dot/x', '\\x2edot-x'],
  ['foo/bar', 'foo-bar'],
  ['./a', 'a'],
  ['x/../y', undefined],
  ['.', undefined],
  ['/a/..', undefined],
];

const UNESCAPE: Array<[string, string | undefined]> = [
  ['a\\x2db-c', 'a-b/c'],
  ['a\\x2D', 'a-'],
  ['\\xc3\\xbc', 'ü'],
  ['a\\x00b', 'a'],
  ['', ''],
  ['a\\x2', undefined],
  ['a\\X2d', undefined],
  ['a\\y', undefined],
  ['-', '/'],
];

const PATH_UNESCAPE: Array<[string, string | undefined]> = [
  ['-', '/'],
  ['a\\x2db-c', '/a-b/c'],
  ['\\x2efoo', '/.foo'],
  ['foo\\x2fbar', '/foo/bar'],
  ['dev-sda1', '/dev/sda1'],
  ['a--b', undefined],
  ['a-', undefined],
  ['-a', undefined],
  ['foo-.-bar', undefined],
  ['foo-..-bar', undefined],
  ['', undefined],
];

t.test('escape / unescape: fixed expectations', async (t) => {
  for (const [input, want] of ESCAPE) t.equal(escape(input), want, `escape ${JSON.stringify(input)}`);
  for (const [input, want] of PATH_ESCAPE) t.equal(attempt(() => pathEscape(input)), want, `pathEscape ${JSON.stringify(input)}`);
  for (const [input, want] of UNESCAPE) t.equal(attempt(() => unescape(input)), want, `unescape ${JSON.stringify(input)}`);
  for (const [input, want] of PATH_UNESCAPE) {
    t.equal(attempt(() => pathUnescape(input)), want, `pathUnescape ${JSON.stringify(input)}`);
  }
});

t.test('round trips', async (t) => {
  for (const s of ['/', '/a/b', '/home/a-b/c d', '/.x/ü/\\']) t.equal(pathUnescape(pathEscape(s)), s, s);
  for (const s of ['a/b', 'x-y z', 'ü@%']) t.equal(unescape(escape(s)), s, s);
});

t.test('v255 path simplification drops ".." at the start of an absolute path', async (t) => {
  // systemd 252 (Debian 12) refuses "/../foo"; v255's path_simplify() turns it into "/foo".
  t.equal(simplifyPath('/../foo/bar'), '/foo/bar');
  t.equal(simplifyPath('/../foo/bar/..'), '/foo/bar/..');
  t.equal(simplifyPath('.//./foo//./bar/.'), 'foo/bar');
  t.equal(simplifyPath('./'), '.');
  t.equal(pathEscape('/../foo'), 'foo');
});

t.test('unitNameFromPath / unitNameToPath', async (t) => {
  t.equal(unitNameFromPath('/dev/disk/by-label/my-disk', '.device'), 'dev-disk-by\\x2dlabel-my\\x2ddisk.device');
  t.equal(unitNameFromPath('/', '.mount'), '-.mount');
  t.equal(unitNameToPath('home-a\\x2db.mount'), '/home/a-b');
  t.equal(unitNameToPath('-.mount'), '/');
  t.throws(() => unitNameFromPath('/x', '.bogus'), ValueError);
  t.throws(() => unitNameToPath('aaaaaaaa_0123456789abcdef.mount'), ValueError, 'hashed names');
});

t.test('matches systemd-escape on this machine', { skip: !haveTool && 'no systemd-escape' }, async (t) => {
  for (const [input] of ESCAPE) t.equal(escape(input), tool([], input), `escape ${JSON.stringify(input)}`);
  for (const [input] of PATH_ESCAPE) {
    t.equal(attempt(() => pathEscape(input)), tool(['--path'], input), `--path ${JSON.stringify(input)}`);
  }
  for (const [input] of UNESCAPE) {
    t.equal(attempt(() => unescape(input)), tool(['--unescape'], input), `--unescape ${JSON.stringify(input)}`);
  }
  for (const [input] of PATH_UNESCAPE) {
    t.equal(attempt(() => pathUnescape(input)), tool(['--unescape', '--path'], input), `--unescape --path ${JSON.stringify(input)}`);
  }
  t.equal(replaceInstance('foo@.service', escape('x/y')), tool(['--template=foo@.service'], 'x/y'));
  t.equal(
    replaceInstance('mnt@.mount', pathEscape('/srv/a-b')),
    tool(['--path', '--template=mnt@.mount'], '/srv/a-b'),
  );
});
