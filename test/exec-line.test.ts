import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '../src/unit/diagnostics.js';
import { lexUnitText } from '../src/unit/ini.js';
import { expandExecArgv, replaceEnv, replaceEnvArgv } from '../src/unit/expand-env.js';
import {
  type ExecCommand,
  ExecLineError,
  type ExecSpecifierKind,
  formatExecCommand,
  formatExecCommands,
  parseExec,
  quoteExecWord,
} from '../src/unit/values/exec.js';

const FIXTURES = '/work/shared/conformance/systemd-test-execute';

function cmd(path: string, argv: string[], extra: Partial<ExecCommand> = {}): ExecCommand {
  return { path, argv, ignoreFailure: false, noEnvExpand: false, privileged: 'none', argv0Separate: false, ...extra };
}

function failure(value: string): { message: string; fatal: boolean; commands: ExecCommand[] } {
  try {
    parseExec(value);
  } catch (e) {
    if (e instanceof ExecLineError) return { message: e.message, fatal: e.fatal, commands: e.commands };
    throw e;
  }
  throw new Error(`no error for ${value}`);
}

/** A stand-in for unit specifier expansion: %n, %i and %%, unknown letters fail. */
function fakeSpecifiers(text: string): string {
  return text.replace(/%(.)/gu, (_m, c: string) => {
    if (c === '%') return '%';
    if (c === 'n') return 'foo@bar baz.service';
    if (c === 'i') return 'bar baz';
    throw new ValueError(`Unknown specifier '%${c}'`);
  });
}

function serviceValues(file: string, key: string): string[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  const lexed = lexUnitText(file, text, { sections: ['Unit', 'Service', 'Install'] });
  return lexed.assignments.filter((a) => a.section === 'Service' && a.key === key).map((a) => a.value);
}

t.test('the brief\'s tricky command lines', async (t) => {
  t.same(parseExec(`-/bin/sh -c 'echo "a b"; exit 0'`), [
    cmd('/bin/sh', ['/bin/sh', '-c', 'echo "a b"; exit 0'], { ignoreFailure: true }),
  ]);
  t.same(parseExec('@/bin/sh argv0 -c true'), [cmd('/bin/sh', ['argv0', '-c', 'true'], { argv0Separate: true })]);
  t.same(parseExec('/bin/echo a ; /bin/echo b'), [cmd('/bin/echo', ['/bin/echo', 'a']), cmd('/bin/echo', ['/bin/echo', 'b'])]);
  t.same(parseExec('/bin/echo a \\; b \\;'), [cmd('/bin/echo', ['/bin/echo', 'a', ';', 'b', ';'])]);
  t.same(parseExec(':/bin/echo $FOO'), [cmd('/bin/echo', ['/bin/echo', '$FOO'], { noEnvExpand: true })]);
  t.same(parseExec('/bin/echo "\\x41\\n"'), [cmd('/bin/echo', ['/bin/echo', 'A\n'])]);
});

t.test('prefixes: any order, each once; only one of + ! !!', async (t) => {
  t.same(parseExec('@-:+/bin/true x'), [
    cmd('/bin/true', ['x'], { argv0Separate: true, ignoreFailure: true, noEnvExpand: true, privileged: 'full' }),
  ]);
  t.same(parseExec('!/bin/true'), [cmd('/bin/true', ['/bin/true'], { privileged: 'no-setuid' })]);
  t.same(parseExec('!!/bin/true'), [cmd('/bin/true', ['/bin/true'], { privileged: 'no-setuid-ambient' })]);
  t.same(parseExec('!:!-/bin/true'), [
    cmd('/bin/true', ['/bin/true'], { privileged: 'no-setuid-ambient', noEnvExpand: true, ignoreFailure: true }),
  ]);
  // The character that is not accepted as a prefix stays in the path, which is then invalid.
  t.same(failure('+!/bin/true'), {
    message: 'Neither a valid executable name nor an absolute path: !/bin/true',
    fatal: true,
    commands: [],
  });
  t.equal(failure('!+/bin/true').message, 'Neither a valid executable name nor an absolute path: +/bin/true');
  t.equal(failure('!!+/bin/true').message, 'Neither a valid executable name nor an absolute path: +/bin/true');
  t.equal(failure('!!!/bin/true').message, 'Neither a valid executable name nor an absolute path: !/bin/true');
  t.equal(failure('--/bin/true').message, 'Neither a valid executable name nor an absolute path, ignoring: -/bin/true');
  t.equal(failure('--/bin/true').fatal, false, "with '-' the error is only logged");
  // A repeated prefix in front of a plain file name just becomes part of the name.
  t.same(parseExec('::true'), [cmd(':true', [':true'], { noEnvExpand: true })]);
});

t.test('path rules', async (t) => {
  t.same(parseExec('touch /tmp/a'), [cmd('touch', ['touch', '/tmp/a'])], 'a plain file name is searched for in PATH');
  t.same(parseExec('/usr//bin/./env x'), [cmd('/usr/bin/env', ['/usr//bin/./env', 'x'])], 'argv[0] keeps the spelling');
  t.same(failure('bin/touch'), { message: 'Neither a valid executable name nor an absolute path: bin/touch', fatal: true, commands: [] });
  t.equal(failure('/usr/bin/').message, 'Executable path specifies a directory: /usr/bin/');
  t.equal(failure('"/bin/a\\"b"').message, 'Executable name contains special characters: /bin/a"b');
  t.equal(failure('/bin/a\\tb').message, 'Executable name contains special characters: /bin/a\tb');
  t.equal(failure('..').message, 'Neither a valid executable name nor an absolute path: ..');
  t.same(failure('-'), { message: "Empty path in command line, ignoring: '-'", fatal: false, commands: [] });
  t.same(failure('@'), { message: "Empty path in command line: '@'", fatal: true, commands: [] });
  t.same(failure('""'), { message: `Empty path in command line: '""'`, fatal: true, commands: [] });
  t.same(failure('@/bin/true'), { message: 'Empty executable name or zeroeth argument: @/bin/true', fatal: true, commands: [] });
  t.equal(failure('/bin/a ; @/bin/b').message, 'Empty executable name or zeroeth argument: @/bin/b');
  t.same(parseExec('/bin/space\\x20name'), [cmd('/bin/space name', ['/bin/space name'])]);
});

t.test('semicolons', async (t) => {
  t.same(parseExec(';'), []);
  t.same(parseExec('; ; /bin/true ;'), [cmd('/bin/true', ['/bin/true'])]);
  t.same(parseExec('/bin/echo a;'), [cmd('/bin/echo', ['/bin/echo', 'a;'])]);
  t.same(parseExec('/bin/echo ;a ";" \';\''), [cmd('/bin/echo', ['/bin/echo', ';a', ';', ';'])]);
  t.same(parseExec('/bin/echo \\\\;'), [cmd('/bin/echo', ['/bin/echo', '\\;'])]);
  t.same(parseExec('/bin/a;/bin/b'), [cmd('/bin/a;/bin/b', ['/bin/a;/bin/b'])]);
  t.same(parseExec('/bin/a\t;\t/bin/b'), [cmd('/bin/a', ['/bin/a']), cmd('/bin/b', ['/bin/b'])]);
  const warnings: string[] = [];
  t.same(parseExec('/bin/echo \\;x', { onWarning: (m) => warnings.push(m) }), [cmd('/bin/echo', ['/bin/echo', '\\;x'])]);
  t.same(warnings, ['Ignoring unknown escape sequences: "\\;x"']);
});

t.test('quoting errors: fatal unless in the first word or with -; earlier commands stay', async (t) => {
  t.same(failure('/bin/a ; /bin/b "x'), {
    message: 'Unbalanced quoting, ignoring: "/bin/b "x"',
    fatal: true,
    commands: [cmd('/bin/a', ['/bin/a'])],
  });
  t.equal(failure('-/bin/b "x').fatal, false);
  t.equal(failure('"/bin/b').fatal, false, 'config_parse_exec() returns 0 for the first word');
  const warnings: string[] = [];
  t.same(parseExec('/bin/grep -E \\d+', { onWarning: (m) => warnings.push(m) }), [cmd('/bin/grep', ['/bin/grep', '-E', '\\d+'])]);
  t.equal(warnings.length, 1);
});

t.test('specifiers are expanded per word, after unquoting and unescaping', async (t) => {
  const kinds: Array<[string, ExecSpecifierKind]> = [];
  const expand = (s: string, kind: ExecSpecifierKind): string => {
    kinds.push([s, kind]);
    return fakeSpecifiers(s);
  };
  t.same(parseExec('-/opt/%i/bin %n "%%" \\x25n 100%%', { expandSpecifiers: expand }), [
    cmd('/opt/bar baz/bin', ['/opt/bar baz/bin', 'foo@bar baz.service', '%', 'foo@bar baz.service', '100%'], {
      ignoreFailure: true,
    }),
  ]);
  t.same(kinds, [
    ['/opt/%i/bin', 'path'],
    ['%n', 'arg'],
    ['%%', 'arg'],
    ['%n', 'arg'],
    ['100%%', 'arg'],
  ]);
  try {
    parseExec('/bin/echo %z', { expandSpecifiers: fakeSpecifiers });
    t.fail('expected an error');
  } catch (e) {
    t.ok(e instanceof ExecLineError && e.fatal);
    t.equal(e instanceof Error && e.message, "Failed to resolve unit specifiers in %z: Unknown specifier '%z'");
  }
});

t.test('formatExecCommand() renders back to unit syntax', async (t) => {
  const value = `-/bin/sh -c 'echo "a b"; exit 0' ; @/usr//bin/x y% "" ";" '\\\\' "tab\\there" ; !!:/usr//bin/z a\\;b \\; c`;
  const cmds = parseExec(value);
  t.equal(
    formatExecCommands(cmds),
    '-/bin/sh -c "echo \\"a b\\"; exit 0" ; @/usr/bin/x y%% "" \\; "\\\\" "tab\\there" ; :!!/usr//bin/z "a\\\\;b" \\; c',
  );
  for (const c of cmds) {
    t.same(parseExec(formatExecCommand(c), { expandSpecifiers: fakeSpecifiers }), [c], formatExecCommand(c));
  }
  t.equal(formatExecCommand(cmd('/bin/x', ['other', 'a'])), '@/bin/x other a', 'argv[0] differs from the path');
  t.equal(quoteExecWord('50%', { escapeSpecifiers: false }), '50%');
  t.equal(quoteExecWord('a\x01b'), '"a\\x01b"');
});

t.test('test-execute fixtures', async (t) => {
  t.same(serviceValues('exec-basic.service', 'ExecStart').map((v) => parseExec(v)), [
    [cmd('touch', ['touch', '/tmp/a']), cmd('/bin/sh', ['/bin/sh', '-c', 'touch /tmp/b']), cmd('touch', ['touch', '/tmp/c'])],
    [cmd('test', ['test', '-f', '/tmp/a'])],
    [cmd('test', ['test', '-f', '/tmp/b'], { privileged: 'no-setuid' })],
    [cmd('test', ['test', '-f', '/tmp/c'], { privileged: 'no-setuid-ambient' })],
  ]);
  t.same(serviceValues('exec-basic.service', 'ExecStartPost').map((v) => parseExec(v)), [
    [cmd('rm', ['rm', '/tmp/a', '/tmp/b', '/tmp/c'])],
  ]);
  const [plain, noSubst] = serviceValues('exec-environment-no-substitute.service', 'ExecStart').map((v) => parseExec(v)[0]!);
  t.equal(plain!.argv[3], `test "$\${VAR1-unset}" = "unset" && test "$\${VAR2}" = "word3" && test "$\${VAR3-unset}" = '$word 5 6'`);
  t.equal(noSubst!.noEnvExpand, true);
  t.equal(noSubst!.argv[3], `test "$\${VAR1-unset}" != "unset" && test "$\${VAR2}" != "word3" && test "$\${VAR3-unset}" != '$word 5 6'`);
  const env = { VAR2: 'word3', VAR3: '$word 5 6' };
  t.equal(expandExecArgv(plain!, env).argv[3], `test "\${VAR1-unset}" = "unset" && test "\${VAR2}" = "word3" && test "\${VAR3-unset}" = '$word 5 6'`);
  t.same(expandExecArgv(noSubst!, env).argv, noSubst!.argv, "':' leaves the arguments alone");
});

t.test('replace_env_argv(): $VAR alone is split, ${VAR} is one word', async (t) => {
  const env = new Map([
    ['FOO', 'a "b c"  d'],
    ['EMPTY', ''],
    ['SP', '  '],
  ]);
  t.same(replaceEnvArgv(['/bin/echo', '$FOO', '${FOO}', 'x${FOO}y', 'x$FOO', '$EMPTY', '$SP', '$UNSET', '${UNSET}'], env), {
    argv: ['/bin/echo', 'a', 'b c', 'd', 'a "b c"  d', 'xa "b c"  dy', 'x$FOO', ''],
    unset: ['UNSET'],
    invalid: [],
  });
  t.same(replaceEnvArgv(['$$', 'a$$b', '$$FOO', '$', '$FOO-x', '${FOO-x}', '${}', '${FOO', '${FOO:-x}', '$}', 'x$'], env), {
    argv: ['$', 'a$b', '$FOO', '', '', '${FOO', '${FOO:-x}', 'x$'],
    unset: [],
    invalid: ['', 'FOO-x', '}'],
  });
  t.same(replaceEnvArgv(['$B', '$A', '$B', '${A}'], {}), { argv: [''], unset: ['A', 'B'], invalid: [] });
  t.same(replaceEnvArgv(['$V'], { V: "a\\ b 'c d" }).argv, ['a b', 'c d'], 'RELAX|UNQUOTE splitting');
  t.same(replaceEnvArgv(['$V'], { V: "it's \\x 'one" }).argv, ['its x one']);
  t.same(replaceEnv('${A}${B}$$${C', { A: '1', B: '2' }), { value: '12$${C', unset: [], invalid: [] });
  t.same(expandExecArgv({ argv: ['/bin/echo', '$FOO'], noEnvExpand: true }, env).argv, ['/bin/echo', '$FOO']);
});
