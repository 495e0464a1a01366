import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '../src/unit/diagnostics.js';
import { parseEnvFileContents } from '../src/unit/envfile.js';
import { envAssignmentIsValid, envMatch, envNameIsValid, expandExecArgv } from '../src/unit/expand-env.js';
import { lexUnitText } from '../src/unit/ini.js';
import {
  parseEnvironment,
  parseEnvironmentFile,
  parsePassEnvironment,
  parseUnsetEnvironment,
} from '../src/unit/values/environment.js';
import { parseExec } from '../src/unit/values/exec.js';

const FIXTURES = '/work/shared/conformance/systemd-test-execute';

/** Stand-in for specifier expansion: %b (boot ID), %U (uid), %i, %%. */
function fakeSpecifiers(text: string): string {
  return text.replace(/%(.)/gu, (_m, c: string) => {
    const table: Record<string, string> = { '%': '%', b: '0123456789abcdef0123456789abcdef', U: '0', i: 'inst' };
    const v = table[c];
    if (v === undefined) throw new ValueError(`Unknown specifier '%${c}'`);
    return v;
  });
}

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ValueError) return e.message;
    throw e;
  }
  return 'no error';
}

// ---------------------------------------------------------------------------
// Environment=

t.test('Environment=: quoting, $ kept literally, later wins', async (t) => {
  t.same(parseEnvironment('"VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6"'), {
    assignments: [
      ['VAR1', 'word1 word2'],
      ['VAR2', 'word3'],
      ['VAR3', '$word 5 6'],
    ],
    invalid: [],
    warnings: [],
  });
  t.same(parseEnvironment('A=b=c B= C="x y"z \'D=\\x41\\n\'').assignments, [
    ['A', 'b=c'],
    ['B', ''],
    ['C', 'x yz'],
    ['D', 'A\n'],
  ]);
});

t.test('Environment=: invalid words are skipped, a syntax error drops the rest', async (t) => {
  t.same(parseEnvironment('FOO=bar 1X=y =z NOEQ "A B=c" OK=1 E=\\uFFFE'), {
    assignments: [
      ['FOO', 'bar'],
      ['OK', '1'],
    ],
    invalid: ['1X=y', '=z', 'NOEQ', 'A B=c', 'E=\uFFFE'],
    warnings: [
      'Invalid environment assignment, ignoring: 1X=y',
      'Invalid environment assignment, ignoring: =z',
      'Invalid environment assignment, ignoring: NOEQ',
      'Invalid environment assignment, ignoring: A B=c',
      'Invalid environment assignment, ignoring: E=\uFFFE',
    ],
  });
  t.same(parseEnvironment('A=1 "B=2 C=3'), {
    assignments: [['A', '1']],
    invalid: [],
    warnings: ['Invalid syntax, ignoring: A=1 "B=2 C=3 (unbalanced quotes)'],
  });
  // Unknown escapes are not relaxed here (plain extract_first_word()): the rest is dropped.
  t.same(parseEnvironment('A=1 B=\\q C=3').assignments, [['A', '1']]);
});

t.test('Environment=: specifiers per word, after unquoting; failures skip the word', async (t) => {
  const r = parseEnvironment('X%b=%U "P=%i x" Q=%z R=100%%', { expandSpecifiers: fakeSpecifiers });
  t.same(r.assignments, [
    ['X0123456789abcdef0123456789abcdef', '0'],
    ['P', 'inst x'],
    ['R', '100%'],
  ]);
  t.same(r.warnings, ["Failed to resolve specifiers in Q=%z, ignoring: Unknown specifier '%z'"]);
});

// ---------------------------------------------------------------------------
// PassEnvironment= / UnsetEnvironment= / EnvironmentFile=

t.test('PassEnvironment=: names; EXTRACT_UNQUOTE only (no C escapes)', async (t) => {
  t.same(parsePassEnvironment('VAR1 VAR2 VAR1 1BAD "VAR3" V\\AR4 \\x41 A=B'), {
    names: ['VAR1', 'VAR2', 'VAR3', 'VAR4', 'x41'],
    invalid: ['1BAD', 'A=B'],
    warnings: [
      'Invalid environment name for PassEnvironment, ignoring: 1BAD',
      'Invalid environment name for PassEnvironment, ignoring: A=B',
    ],
  });
  t.same(parsePassEnvironment('A "B').names, ['A'], 'trailing garbage keeps the earlier names');
});

t.test('UnsetEnvironment=: names or exact assignments', async (t) => {
  const r = parseUnsetEnvironment('QUUX=waldo VAR3=somethingelse VAR4 X%b=%U 1BAD', { expandSpecifiers: fakeSpecifiers });
  t.same(r.names, ['QUUX=waldo', 'VAR3=somethingelse', 'VAR4', 'X0123456789abcdef0123456789abcdef=0']);
  t.same(r.invalid, ['1BAD']);
  t.ok(envMatch('VAR4=value4', 'VAR4'));
  t.ok(envMatch('QUUX=waldo', 'QUUX=waldo'));
  t.notOk(envMatch('VAR3=value3', 'VAR3=somethingelse'));
  t.notOk(envMatch('VAR45=x', 'VAR4'));
  t.notOk(envMatch('A', 'A='));
});

t.test('EnvironmentFile=: [-]absolute path, the whole value', async (t) => {
  t.same(parseEnvironmentFile('-/etc/foo//bar/'), { path: '/etc/foo/bar', optional: true });
  t.same(parseEnvironmentFile('/etc/default/my env'), { path: '/etc/default/my env', optional: false });
  t.same(parseEnvironmentFile('/etc/%i.env', { expandSpecifiers: fakeSpecifiers }), { path: '/etc/inst.env', optional: false });
  t.equal(message(() => parseEnvironmentFile('relative')), 'EnvironmentFile= path is not absolute, ignoring: relative');
  t.equal(message(() => parseEnvironmentFile('"/etc/x"')), 'EnvironmentFile= path is not absolute, ignoring: "/etc/x"');
  t.equal(message(() => parseEnvironmentFile('--/etc/x')), 'EnvironmentFile= path is not absolute, ignoring: -/etc/x');
  t.equal(message(() => parseEnvironmentFile('/etc/../x')), 'EnvironmentFile= path is not normalized, ignoring: /etc/../x');
  t.match(message(() => parseEnvironmentFile('/etc/%z', { expandSpecifiers: fakeSpecifiers })), /^Failed to resolve unit specifiers in '\/etc\/%z', ignoring/);
});

t.test('name and assignment validity', async (t) => {
  t.ok(envNameIsValid('_A1'));
  t.notOk(envNameIsValid('1A'));
  t.notOk(envNameIsValid('A-B'));
  t.notOk(envNameIsValid(''));
  t.ok(envAssignmentIsValid('A=\x01\n'), 'control characters are allowed in values');
  t.notOk(envAssignmentIsValid('A=\uFDD0'));
});

// ---------------------------------------------------------------------------
// Environment files

t.test('environment file: the test-execute fixture', async (t) => {
  const file = path.join(FIXTURES, 'fixtures/tmp/test-exec_environmentfile.conf');
  t.same(parseEnvFileContents(fs.readFileSync(file), file), {
    vars: [
      ['VAR1', 'word1 word2', 1],
      ['VAR2', 'word3', 2],
      ['VAR3', '$word 5 6', 8],
      ['VAR4', 'new\nline', 9],
      ['VAR5', 'passwordwithbackslashes', 11],
    ],
    warnings: [{ line: 7, message: "line has no '=', ignored (silently, by systemd): line without an equal" }],
  });
  const set = parseEnvFileContents(fs.readFileSync(path.join(FIXTURES, 'fixtures/tmp/test-exec_execsearchpath_environmentfile-set.conf')));
  t.same(set.vars.at(-1), ['PATH', '/usr', 12]);
});

t.test('environment file grammar', async (t) => {
  const text = [
    'A="a\\"b\\\\c\\$d\\`e\\qf"', // 1
    'B="x\\', // 2
    'y"', // 3
    'C=foo \\', // 4
    'bar', // 5
    'D=a\\ b\\\\c', // 6
    'E=x  \t', // 7
    "F= 'x' \"y\" z", // 8
    "G=a'b c'", // 9
    '  H \t=1', // 10
    'I=1', // 11
    'export J=1', // 12
    '# comment \\', // 13
    'K=1', // 14
    'I=2', // 15
    'O=', // 16
    ' ; comment', // 17
    "L='abc", // 18
  ].join('\n');
  const r = parseEnvFileContents(text, 'x.env');
  t.same(r.vars, [
    ['A', 'a"b\\c$d`e\\qf', 1],
    ['B', 'xy', 2],
    ['C', 'foo bar', 4],
    ['D', 'a b\\c', 6],
    ['E', 'x', 7],
    ['F', 'xyz', 8],
    ['G', "a'b c'", 9],
    ['H', '1', 10],
    ['I', '2', 15],
    ['K', '1', 14],
    ['O', '', 16],
    ['L', 'abc', 18],
  ]);
  t.same(r.warnings, [{ line: 12, message: "Ignoring invalid environment assignment 'export J=1': x.env" }]);
  t.same(parseEnvFileContents('M=1\r\nN=2\r\n').vars, [
    ['M', '1', 1],
    ['N', '2', 2],
  ]);
  t.equal(message(() => parseEnvFileContents('A=1\0')), '(environment file): file contains a NUL byte, refusing it');
  t.match(message(() => parseEnvFileContents(Uint8Array.from([0x41, 0x3d, 0xff, 0x0a]), 'f')), /^f:1: invalid UTF-8 in the value of A/);
  t.same(parseEnvFileContents(Uint8Array.from([0x23, 0xff, 0x0a, 0x41, 0x3d, 0x31])).vars, [['A', '1', 2]], 'bad bytes in comments are fine');
});

// ---------------------------------------------------------------------------
// End to end: the test-execute units, run through /bin/sh with the environment
// systemd would build.

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MANAGER_ENV: Record<string, string> = {
  VAR1: 'word1 word2',
  VAR2: 'word3',
  VAR3: '$word 5 6',
  VAR4: 'new\nline',
  VAR5: 'passwordwithbackslashes',
};

function unitEnvironment(file: string, managerEnv: Record<string, string>): Map<string, string> {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  const service = lexUnitText(file, text, { sections: ['Unit', 'Service', 'Install'] }).assignments.filter((a) => a.section === 'Service');
  let environment: Array<[string, string]> = [];
  let pass: string[] = [];
  let unset: string[] = [];
  let files: string[] = [];
  for (const a of service) {
    if (a.key === 'Environment') {
      environment = a.value === '' ? [] : [...environment, ...parseEnvironment(a.value, { expandSpecifiers: fakeSpecifiers }).assignments];
    } else if (a.key === 'PassEnvironment') {
      pass = a.value === '' ? [] : [...new Set([...pass, ...parsePassEnvironment(a.value).names])];
    } else if (a.key === 'UnsetEnvironment') {
      unset = a.value === '' ? [] : [...unset, ...parseUnsetEnvironment(a.value, { expandSpecifiers: fakeSpecifiers }).names];
    } else if (a.key === 'EnvironmentFile') {
      files = a.value === '' ? [] : [...files, parseEnvironmentFile(a.value).path];
    }
  }
  const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
  for (const n of pass) if (managerEnv[n] !== undefined) env.set(n, managerEnv[n]!);
  for (const [k, v] of environment) env.set(k, v);
  for (const f of files) {
    const fixture = path.join(FIXTURES, 'fixtures', f);
    for (const [k, v] of parseEnvFileContents(fs.readFileSync(fixture), f).vars) env.set(k, v);
  }
  for (const [k, v] of [...env]) if (unset.some((p) => envMatch(`${k}=${v}`, p))) env.delete(k);
  return env;
}

function runExecStarts(file: string, env: Map<string, string>): number[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  const lexed = lexUnitText(file, text, { sections: ['Unit', 'Service', 'Install'] });
  const statuses: number[] = [];
  for (const a of lexed.assignments.filter((x) => x.section === 'Service' && x.key === 'ExecStart')) {
    for (const cmd of parseExec(a.value, { expandSpecifiers: fakeSpecifiers })) {
      const { argv } = expandExecArgv(cmd, env);
      const r = spawnSync(cmd.path, argv.slice(1), { argv0: argv[0], env: Object.fromEntries(env), stdio: 'ignore' });
      statuses.push(r.status ?? -1);
    }
  }
  return statuses;
}

const E2E: Array<[file: string, managerEnv: Record<string, string>, exits: number[]]> = [
  ['exec-environment.service', {}, [0]],
  ['exec-environment-multiple.service', {}, [0]],
  ['exec-environment-empty.service', {}, [0]],
  ['exec-environment-no-substitute.service', {}, [0, 0]],
  ['exec-environmentfile.service', {}, [0]],
  ['exec-passenvironment.service', MANAGER_ENV, [0]],
  ['exec-passenvironment-repeated.service', MANAGER_ENV, [0]],
  ['exec-passenvironment-empty.service', MANAGER_ENV, [0]],
  ['exec-passenvironment-absent.service', {}, [0]],
  ['exec-unsetenvironment.service', {}, [0]],
];

t.test('test-execute units pass when run through /bin/sh', { skip: !fs.existsSync('/bin/sh') && 'no /bin/sh' }, async (t) => {
  for (const [file, managerEnv, exits] of E2E) {
    t.same(runExecStarts(file, unitEnvironment(file, managerEnv)), exits, file);
  }
  // Controls: the scripts really test the values.
  const wrong = unitEnvironment('exec-environment.service', {});
  wrong.set('VAR3', 'word 5 6');
  t.same(runExecStarts('exec-environment.service', wrong), [1], 'a wrong VAR3 fails');
  t.same(runExecStarts('exec-passenvironment.service', unitEnvironment('exec-passenvironment.service', {})), [1]);
});
