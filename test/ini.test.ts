import t from 'tap';
import { lexUnitText, decodeUnitText } from '../src/unit/ini.js';

const SECTIONS = { sections: ['Unit', 'Service', 'Install'] };

t.test('continuation lines join with a space and skip comment lines inside them', async (t) => {
  const text = '[Unit]\nDescription=a \\\n# a comment\n; another\n  b\\\nc\n[Service]\nExecStart=/bin/true\n';
  const r = lexUnitText('u.service', text, SECTIONS);
  t.same(r.assignments.map((a) => [a.section, a.key, a.value, a.loc.line]), [
    ['Unit', 'Description', 'a    b c', 2],
    ['Service', 'ExecStart', '/bin/true', 8],
  ]);
  t.same(r.diagnostics, []);
});

t.test('an escaped backslash at the end does not continue', async (t) => {
  const r = lexUnitText('u.service', '[Service]\nExecStart=/bin/echo \\\\\nUser=x\n', SECTIONS);
  t.same(r.assignments.map((a) => [a.key, a.value]), [['ExecStart', '/bin/echo \\\\'], ['User', 'x']]);
});

t.test('comments only count at the start of a line; whitespace is stripped around key and value', async (t) => {
  const r = lexUnitText('u.service', '[Service]\n  # c\nEnvironment = A=1 # not a comment  \n', SECTIONS);
  t.same(r.assignments.map((a) => [a.key, a.value]), [['Environment', 'A=1 # not a comment']]);
});

t.test('malformed lines are warned about with file:line and ignored, like systemd 252', async (t) => {
  const text = 'Stray=1\n[Service]\nFoo\n=bar\n[Bogus]\nX=1\n[X-Vendor]\nY=2\n[Service]\nZ=3\n';
  const r = lexUnitText('t.service', text, SECTIONS);
  t.same(r.diagnostics.map((d) => [d.loc?.line, d.message]), [
    [1, 'Assignment outside of section. Ignoring.'],
    [3, "Missing '=', ignoring line."],
    [4, "Missing key name before '=', ignoring line."],
    [5, "Unknown section 'Bogus'. Ignoring."],
  ]);
  t.same(r.assignments.map((a) => [a.section, a.key, a.loc.line]), [['Service', 'Z', 10]]);
  t.equal(r.fatal, undefined);
});

t.test('a broken section header fails the whole file', async (t) => {
  const r = lexUnitText('u.service', '[Unit\nDescription=x\n', SECTIONS);
  t.equal(r.fatal?.message, "Invalid section header '[Unit'");
  t.equal(r.fatal?.loc?.line, 1);
  const r2 = lexUnitText('u.service', '[Un"it]\n', SECTIONS);
  t.match(r2.fatal?.message, /Bad characters in section header/);
});

t.test('CRLF, BOM and a file ending inside a continuation', async (t) => {
  const r = lexUnitText('u.service', '\uFEFF[Service]\r\nExecStart=/bin/a \\\r\n  -x\\', SECTIONS);
  t.same(r.assignments.map((a) => [a.key, a.value]), [['ExecStart', '/bin/a    -x']]);
});

t.test('invalid UTF-8 lines are reported and skipped', async (t) => {
  const buf = Buffer.concat([Buffer.from('[Service]\nUser=a'), Buffer.from([0xff, 0xfe]), Buffer.from('\nGroup=b\n')]);
  const { text, badLines } = decodeUnitText(buf);
  const r = lexUnitText('u.service', text, SECTIONS, badLines);
  t.same(r.assignments.map((a) => a.key), ['Group']);
  t.same(r.diagnostics.map((d) => [d.loc?.line, d.message]), [[2, 'Invalid UTF-8 in line, ignoring.']]);
});
