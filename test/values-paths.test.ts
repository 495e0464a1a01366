import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import {
  FatalValueError, checkPath, parseBindPaths, parseColonSeparatedPaths, parseDirectoryEntries, parseDirectoryList, parsePathList,
  parsePrefixedPath, parsePrefixedPathList, parseTemporaryFileSystem, parseTemporaryFileSystems, parseWorkingDirectory,
  simplifyPath, validateAbsolutePath, validateRelativePath,
} from '../src/unit/values/paths.js';

// Unless noted, accept/reject decisions were cross-checked with `systemd-analyze verify` (systemd 252).
t.test('path_simplify()', async (t) => {
  const cases: [string, string][] = [
    ['//a//b/./c/', '/a/b/c'],
    ['///foo//./bar/.', '/foo/bar'],
    ['.//./foo//./bar/.', 'foo/bar'],
    ['/../foo/bar', '/foo/bar'],
    ['/../foo/bar/..', '/foo/bar/..'],
    ['/x/../y', '/x/../y'],
    ['/', '/'],
    ['//', '/'],
    ['/.', '/'],
    ['.', '.'],
    ['./', '.'],
    ['a/', 'a'],
    ['../a', '../a'],
    ['', ''],
  ];
  for (const [input, out] of cases) t.equal(simplifyPath(input), out, input);
});

t.test('absolute and relative checks', async (t) => {
  t.equal(validateAbsolutePath('/usr//lib/'), '/usr/lib');
  // systemd 252 still called "/../etc" not normalized; v253+ drops the leading "..".
  t.equal(validateAbsolutePath('/../etc'), '/etc');
  t.throws(() => validateAbsolutePath('rel'), { name: 'ValueError', message: 'Path is not absolute: rel' });
  t.throws(() => validateAbsolutePath(''), { message: 'Path is not absolute: ' });
  t.throws(() => validateAbsolutePath('/x/../y'), { message: 'Path is not normalized: /x/../y' });
  t.throws(() => validateAbsolutePath('/' + 'a'.repeat(256)), { message: /invalid length/ });
  t.equal(validateAbsolutePath('/' + 'a'.repeat(255)), '/' + 'a'.repeat(255));
  t.throws(() => validateAbsolutePath('/' + 'abcdefg/'.repeat(512)), { message: /invalid length/ });
  t.throws(() => validateAbsolutePath('/a\uD800b'), { message: /UTF-8/ });
  t.equal(validateRelativePath('foo/./bar/'), 'foo/bar');
  t.throws(() => validateRelativePath('/abs'), { message: 'Path is absolute: /abs' });
  t.throws(() => validateRelativePath('.'), { message: 'Path is not normalized: .' });
  t.throws(() => validateRelativePath('x/..'), ValueError);
  t.equal(checkPath('any/thing', 'any'), 'any/thing');
  t.throws(() => checkPath('rel', 'absolute', true), FatalValueError);
});

t.test('ReadWritePaths= prefixes: "-" then "+"', async (t) => {
  t.same(parsePrefixedPath('/srv'), { path: '/srv', ignoreMissing: false, rootRelative: false, text: '/srv' });
  t.same(parsePrefixedPath('-/tmp'), { path: '/tmp', ignoreMissing: true, rootRelative: false, text: '-/tmp' });
  t.same(parsePrefixedPath('+/var//lib/'), { path: '/var/lib', ignoreMissing: false, rootRelative: true, text: '+/var/lib' });
  t.same(parsePrefixedPath('-+/srv'), { path: '/srv', ignoreMissing: true, rootRelative: true, text: '-+/srv' });
  t.throws(() => parsePrefixedPath('+-/opt'), { message: 'Path is not absolute: -/opt' }, 'systemd only accepts "-" first');
  t.throws(() => parsePrefixedPath('--/a'), ValueError);
});

t.test('ReadWritePaths= lists keep the good entries', async (t) => {
  const warnings: string[] = [];
  const value = '-/tmp +/var -+/srv +-/opt "/a b" /x/../y //a//b/./c/ rel';
  t.same(parsePrefixedPathList(value, (w) => warnings.push(w)).map((p) => p.text), ['-/tmp', '+/var', '-+/srv', '/a b', '/a/b/c']);
  t.same(warnings, ['Path is not absolute: -/opt, ignoring', 'Path is not normalized: /x/../y, ignoring', 'Path is not absolute: rel, ignoring']);
  t.throws(() => parsePrefixedPathList(value), ValueError, 'without a callback the first bad entry throws');
  t.throws(() => parsePrefixedPathList('/a "/b'), { message: 'Invalid syntax in "/a "/b": unbalanced quotes' });
  t.same(parsePathList('/a "/b c" /d\\ e'), ['/a', '/b c', '/d e']);
});

t.test('BindPaths=', async (t) => {
  t.same(parseBindPaths('/a'), [{ source: '/a', destination: '/a', optional: false, recursive: true }]);
  t.same(parseBindPaths('/a:/b:norbind /c:/d:rbind /e:/f:'), [
    { source: '/a', destination: '/b', optional: false, recursive: false },
    { source: '/c', destination: '/d', optional: false, recursive: true },
    { source: '/e', destination: '/f', optional: false, recursive: true },
  ]);
  t.same(parseBindPaths('-/a:/b "/c d":/e /f\\:g:/h'), [
    { source: '/a', destination: '/b', optional: true, recursive: true },
    { source: '/c d', destination: '/e', optional: false, recursive: true },
    { source: '/f:g', destination: '/h', optional: false, recursive: true },
  ]);
  t.same(parseBindPaths('//x/./y/://z/'), [{ source: '/x/y', destination: '/z', optional: false, recursive: true }]);
});

t.test('BindPaths= quirks: empty entries, a bad source leaves its destination behind', async (t) => {
  const w1: string[] = [];
  t.same(parseBindPaths('/a  /b', (w) => w1.push(w)).map((b) => b.source), ['/a', '/b']);
  t.same(w1, ['Path is not absolute: , ignoring'], 'two spaces make an empty entry, as in systemd');
  const w2: string[] = [];
  t.same(parseBindPaths('foo:/b', (w) => w2.push(w)), [{ source: '/b', destination: '/b', optional: false, recursive: true }]);
  t.same(w2, ['Path is not absolute: foo, ignoring']);
  const w3: string[] = [];
  t.same(parseBindPaths('/g:/h:bogus /i:', (w) => w3.push(w)), []);
  t.same(w3, ['Invalid option string "bogus" (expected rbind or norbind), ignoring', 'Path is not absolute: , ignoring']);
  t.throws(() => parseBindPaths('/g:/h:bogus'), ValueError);
});

t.test('TemporaryFileSystem=', async (t) => {
  t.same(parseTemporaryFileSystem('/tmp:ro,size=10M'), { path: '/tmp', options: 'ro,size=10M' });
  t.same(parseTemporaryFileSystem('/run'), { path: '/run' });
  t.same(parseTemporaryFileSystem('/x:'), { path: '/x' });
  t.same(parseTemporaryFileSystem('/y/:a:b'), { path: '/y', options: 'a:b' });
  t.throws(() => parseTemporaryFileSystem('rel'), { message: 'Path is not absolute: rel' });
  const warnings: string[] = [];
  t.same(parseTemporaryFileSystems('/tmp:ro,size=10M /run /x: rel', (w) => warnings.push(w)), [
    { path: '/tmp', options: 'ro,size=10M' }, { path: '/run' }, { path: '/x' },
  ]);
  t.same(warnings, ['Path is not absolute: rel, ignoring']);
});

t.test('WorkingDirectory=', async (t) => {
  t.same(parseWorkingDirectory('~'), { home: true, missingOk: false, text: '~' });
  t.same(parseWorkingDirectory('-~'), { home: true, missingOk: true, text: '-~' });
  t.same(parseWorkingDirectory('/srv//app/'), { home: false, path: '/srv/app', missingOk: false, text: '/srv/app' });
  t.same(parseWorkingDirectory('-/srv'), { home: false, path: '/srv', missingOk: true, text: '-/srv' });
  t.throws(() => parseWorkingDirectory('rel'), FatalValueError, 'fatal without "-"');
  const e = t.throws(() => parseWorkingDirectory('-rel'));
  t.ok(e instanceof ValueError && !(e instanceof FatalValueError), 'just ignored with "-"');
  t.throws(() => parseWorkingDirectory('~/x'), FatalValueError);
});

t.test('RuntimeDirectory=/StateDirectory= & co', async (t) => {
  const warnings: string[] = [];
  const value = 'foo:bar:baz a::b /abs private private/x privatex ../x x/.. ./y "q r" s\\:t';
  t.same(parseDirectoryEntries(value, 'StateDirectory', (w) => warnings.push(w)), [
    { path: 'foo', symlink: 'bar' },
    { path: 'a', symlink: 'b' },
    { path: 'privatex' },
    { path: 'y' },
    { path: 'q r' },
    { path: 's:t' },
  ]);
  t.same(warnings, [
    'Path is absolute: /abs, ignoring',
    "Path can't be 'private': private, ignoring",
    "Path can't be 'private': private/x, ignoring",
    'Path is not normalized: ../x, ignoring',
    'Path is not normalized: x/.., ignoring',
  ]);
  t.same(parseDirectoryList('foo foo/bar:link s\\:t'), ['foo', 'foo/bar:link', 's\\:t']);
  t.throws(() => parseDirectoryEntries('a:b', 'ConfigurationDirectory'), { message: /not supported for ConfigurationDirectory/ });
  t.same(parseDirectoryEntries('a', 'ConfigurationDirectory'), [{ path: 'a' }]);
  const w2: string[] = [];
  t.same(parseDirectoryEntries('ok : after', 'RuntimeDirectory', (w) => w2.push(w)), [{ path: 'ok' }]);
  t.same(w2, ['Invalid syntax in ":", ignoring the rest of the line']);
  // C escapes produce bytes, decoded as UTF-8 (systemd passes the bytes through).
  t.same(parseDirectoryEntries('caf\\xc3\\xa9:l\\303\\251', 'StateDirectory'), [{ path: 'café', symlink: 'lé' }]);
  const w3: string[] = [];
  t.same(parseDirectoryEntries('ok bad\\xff', 'StateDirectory', (w) => w3.push(w)), [{ path: 'ok' }]);
  t.same(w3, ['Invalid syntax in "bad\\xff", ignoring the rest of the line']);
});

t.test('ExecSearchPath=', async (t) => {
  t.same(parseColonSeparatedPaths('/usr/bin:/opt//bin/'), ['/usr/bin', '/opt/bin']);
  const warnings: string[] = [];
  t.same(parseColonSeparatedPaths('/a::/b', (w) => warnings.push(w)), ['/a']);
  t.same(warnings, ['Path is not absolute: , ignoring the rest of the line']);
});
