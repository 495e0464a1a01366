import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  expandSpecifiers,
  escapeSpecifiers,
  parseEnvFile,
  systemHostInfo,
  UNIT_FULL_SPECIFIERS,
  UNIT_NAME_SPECIFIERS,
  UNIT_NAME_MAX,
  type HostInfo,
  type SpecifierContext,
} from '../src/unit/specifiers.js';
import { ValueError } from '../src/unit/diagnostics.js';

const CONFORMANCE = '/work/shared/conformance/systemd-test-execute';

function fakeHost(over: Partial<HostInfo> = {}): HostInfo {
  return {
    hostname: () => 'host.example.com',
    prettyHostname: () => undefined,
    machineId: () => '0123456789abcdef0123456789abcdef',
    bootId: () => 'fedcba9876543210fedcba9876543210',
    kernelRelease: () => '6.1.0-test-amd64',
    architecture: () => 'x86-64',
    osRelease: () =>
      new Map([
        ['ID', 'debian'],
        ['VERSION_ID', '12'],
        ['IMAGE_ID', 'img'],
        ['IMAGE_VERSION', '1.2'],
        ['BUILD_ID', 'b42'],
      ]),
    currentUser: () => ({ name: 'alice', uid: 1000, group: 'staff', gid: 50, home: '/home/alice', shell: '/bin/zsh' }),
    rootShell: () => '/bin/bash',
    env: { HOME: '/home/alice', XDG_RUNTIME_DIR: '/run/user/1000', TMPDIR: '/tmp/alice' },
    realpath: (p) => p.replace('/link/', '/real/'),
    isDirectory: (p) => p === '/tmp/alice',
    ...over,
  };
}

const UNIT = 'foo-bar@a-b\\x2dc.service';

function ctx(over: Partial<SpecifierContext> = {}): SpecifierContext {
  return {
    unitName: UNIT,
    fragmentPath: '/etc/systemd/link/foo-bar@.service',
    scope: 'system',
    host: fakeHost(),
    ...over,
  };
}

function x(text: string, c: SpecifierContext = ctx()): string {
  return expandSpecifiers(text, c);
}

t.test('every specifier, system manager, template instance', async (t) => {
  const want: Record<string, string> = {
    n: 'foo-bar@a-b\\x2dc.service',
    N: 'foo-bar@a-b\\x2dc',
    p: 'foo-bar',
    P: 'foo/bar',
    i: 'a-b\\x2dc',
    I: 'a/b-c',
    j: 'bar',
    J: 'bar',
    f: '/a/b-c',
    y: '/etc/systemd/real/foo-bar@.service',
    Y: '/etc/systemd/real',
    d: '/run/credentials/foo-bar@a-b\\x2dc.service',
    t: '/run',
    S: '/var/lib',
    C: '/var/cache',
    L: '/var/log',
    E: '/etc',
    T: '/tmp',
    V: '/var/tmp',
    h: '/root',
    s: '/bin/bash',
    u: 'root',
    U: '0',
    g: 'root',
    G: '0',
    H: 'host.example.com',
    l: 'host',
    q: 'host',
    m: '0123456789abcdef0123456789abcdef',
    b: 'fedcba9876543210fedcba9876543210',
    v: '6.1.0-test-amd64',
    a: 'x86-64',
    o: 'debian',
    w: '12',
    W: '',
    M: 'img',
    A: '1.2',
    B: 'b42',
    c: '/foo-bar@a-b\\x2dc.service',
    r: '',
    R: '',
  };
  for (const c of UNIT_FULL_SPECIFIERS) t.ok(c in want, `table covers %${c}`);
  for (const [c, v] of Object.entries(want)) t.equal(x(`%${c}`), v, `%${c}`);
  t.equal(x('%%'), '%');
});

t.test('user manager: its own credentials and XDG directories', async (t) => {
  const c = ctx({ scope: 'user' });
  t.equal(x('%u %U %g %G', c), 'alice 1000 staff 50');
  t.equal(x('%h %s', c), '/home/alice /bin/zsh');
  t.equal(x('%t|%S|%C|%L|%E', c), '/run/user/1000|/home/alice/.local/state|/home/alice/.cache|/home/alice/.local/state/log|/home/alice/.config');
  t.equal(x('%d', c), '/run/user/1000/credentials/foo-bar@a-b\\x2dc.service');
  t.equal(x('%T %V', c), '/tmp/alice /tmp/alice', '$TMPDIR of the manager, when it is a directory');
  const xdg = ctx({ scope: 'user', managerEnv: { HOME: '/h', XDG_STATE_HOME: '/st', XDG_CACHE_HOME: 'rel', XDG_CONFIG_HOME: '/cfg', XDG_RUNTIME_DIR: '/r' } });
  t.equal(x('%S|%C|%L|%E|%t', xdg), '/st|/h/.cache|/st/log|/cfg|/r', 'relative XDG values are ignored');
  t.throws(() => x('%t', ctx({ scope: 'user', managerEnv: { HOME: '/h' } })), ValueError, 'no $XDG_RUNTIME_DIR');
  t.equal(x('%h', ctx({ scope: 'user', managerEnv: {} })), '/home/alice', 'passwd home without $HOME');
});

t.test('the system manager ignores the environment unless told otherwise (PID 1 has none)', async (t) => {
  t.equal(x('%T %h %s'), '/tmp /root /bin/bash');
  const env = ctx({ managerEnv: { TMPDIR: '/tmp/alice', HOME: '/x', SHELL: '/bin/zsh' } });
  t.equal(x('%T %V %h %s', env), '/tmp/alice /tmp/alice /x /bin/zsh');
  const bad = ctx({ managerEnv: { TMPDIR: 'relative', TEMP: '/not/a/dir', TMP: '/tmp/alice/../alice' } });
  t.equal(x('%T', bad), '/tmp', 'relative, missing and unnormalized values are skipped');
});

t.test('plain units and other names', async (t) => {
  const c = ctx({ unitName: 'exec-specifier.service' });
  t.equal(x('%n|%N|%p|%P|%i|%I|%j|%J|%f', c), 'exec-specifier.service|exec-specifier|exec-specifier|exec/specifier|||specifier|specifier|/exec/specifier');
  t.equal(x('%j|%J', ctx({ unitName: 'nodash.service' })), 'nodash|nodash');
  t.equal(x('%j', ctx({ unitName: 'trailing-.service' })), '');
  t.equal(x('%J', ctx({ unitName: 'a-b\\x2dc.service' })), 'b-c');
  t.equal(x('%f', ctx({ unitName: '-.mount' })), '/');
  t.equal(x('%c', ctx({ unitName: 'a.service', slice: 'x-y.slice' })), '/x.slice/x-y.slice/a.service');
  t.equal(x('%r', ctx({ unitName: 'a.service', slice: 'x-y.slice' })), '/x.slice/x-y.slice');
  t.equal(x('%c', ctx({ unitName: 'cpu.service' })), '/_cpu.service', 'cg_escape');
});

t.test('pretty hostname and os-release', async (t) => {
  t.equal(x('%q', ctx({ host: fakeHost({ prettyHostname: () => "Alice's Laptop" }) })), "Alice's Laptop");
  const noOs = ctx({ host: fakeHost({ osRelease: () => { throw new ValueError('no os-release'); } }) });
  t.throws(() => x('%o', noOs), /Failed to resolve specifier '%o'/);
  t.same(
    [...parseEnvFile('# c\nID=debian\nNAME="Debian \\"GNU\\"/Linux"\nX=\'a b\'\n; y\nV= 12 \nE=\n').entries()],
    [['ID', 'debian'], ['NAME', 'Debian "GNU"/Linux'], ['X', 'a b'], ['V', '12'], ['E', '']],
  );
});

t.test('escaping rules of specifier_printf()', async (t) => {
  t.equal(x('100%%'), '100%');
  t.equal(x('%%U'), '%U', '%% then a literal U (systemd issue #2637)');
  t.equal(x('a%'), 'a%', 'a stray % at the end is kept');
  t.equal(x('%-%.%/% %ü'), '%-%.%/% %ü', '% before a non-alphanumeric character is kept');
  t.throws(() => x('%D'), /Unknown specifier '%D'/, '%D is not in v255');
  t.throws(() => x('%x'), ValueError);
  t.throws(() => x('%1'), ValueError, 'digits are possible specifiers too');
  t.throws(() => x('%y', ctx({ fragmentPath: undefined })), /no fragment/);
  t.throws(() => x('%f', ctx({ unitName: 'x@a--b.service' })), ValueError, 'instance is not a valid path');
  t.equal(escapeSpecifiers('50% %n'), '50%% %%n');
});

t.test('allowed sets and length limits', async (t) => {
  t.equal(expandSpecifiers('%p-%i.target', ctx(), UNIT_NAME_SPECIFIERS), 'foo-bar-a-b\\x2dc.target');
  t.throws(() => expandSpecifiers('%f', ctx(), UNIT_NAME_SPECIFIERS), /Unknown specifier '%f'/);
  t.throws(() => expandSpecifiers('%I', ctx(), UNIT_NAME_SPECIFIERS), ValueError);
  t.throws(() => expandSpecifiers('x'.repeat(250) + '%n', ctx(), UNIT_NAME_SPECIFIERS, UNIT_NAME_MAX), /longer than 256/);
  const warnings: string[] = [];
  expandSpecifiers('%c', ctx({ warn: (m) => warnings.push(m) }));
  t.match(warnings, [/Specifier '%c' used in unit configuration, which is deprecated/]);
});

// --- systemd's own test-execute units --------------------------------------

interface Check {
  readonly line: string;
  readonly left: string;
  readonly right: string;
}

/**
 * Turn `ExecStart=test A = B` and `ExecStart=sh -c 'test A = B'` (after specifier expansion
 * and `$$` → `$`) into comparisons, substituting the few shell expansions these units use.
 */
function checks(file: string, c: SpecifierContext, shell: Record<string, string>): Check[] {
  const out: Check[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('ExecStart=')) continue;
    let cmd = expandSpecifiers(line.slice('ExecStart='.length), c).replaceAll('$$', '$');
    const sh = /^sh -c '(.*)'$/.exec(cmd);
    if (sh) cmd = sh[1]!;
    for (const [k, v] of Object.entries(shell)) cmd = cmd.replaceAll(k, v);
    const m = /^test (\S*) = (.*)$/.exec(cmd);
    const exe = /^test -x (\S+)$/.exec(cmd);
    if (m) out.push({ line, left: m[1]!, right: m[2]!.replace(/^"(.*)"$/, '$1') });
    else if (exe) out.push({ line, left: exe[1]!, right: exe[1]!.startsWith('/') ? exe[1]! : '(absolute path)' });
    else out.push({ line, left: cmd, right: '(not understood)' });
  }
  return out;
}

const ROOT_SHELL = {
  '$(id -un)': 'root',
  '$(id -u)': '0',
  '$(id -gn)': 'root',
  '$(id -g)': '0',
  "$(cat /proc/sys/kernel/random/boot_id | sed -e 's/-//g')": 'fedcba9876543210fedcba9876543210',
  '$(uname -n)': 'host.example.com',
  '$(uname -r)': '6.1.0-test-amd64',
};

t.test('systemd test-execute exec-specifier*.service units (v255)', async (t) => {
  const cases: Array<[string, SpecifierContext, Record<string, string>]> = [
    ['exec-specifier.service', ctx({ unitName: 'exec-specifier.service' }), ROOT_SHELL],
    ['exec-specifier@.service', ctx({ unitName: 'exec-specifier@foo-bar.service' }), ROOT_SHELL],
    ['exec-specifier-system.service', ctx({ unitName: 'exec-specifier-system.service' }), {}],
    [
      'exec-specifier-user.service',
      ctx({ unitName: 'exec-specifier-user.service', scope: 'user', managerEnv: { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/7' } }),
      { $XDG_RUNTIME_DIR: '/run/user/7' },
    ],
    ['exec-specifier-interpolation.service', ctx({ unitName: 'exec-specifier-interpolation.service' }), {}],
  ];
  const have = fs.existsSync(CONFORMANCE);
  for (const [file, c, shell] of cases) {
    t.test(file, { skip: !have && 'conformance files missing' }, async (t) => {
      const full = path.join(CONFORMANCE, file);
      if (file === 'exec-specifier-interpolation.service') {
        const line = fs.readFileSync(full, 'utf8').split('\n').find((l) => l.startsWith('ExecStart='))!;
        t.equal(expandSpecifiers(line, c), 'ExecStart=/bin/bash -x -c "[[ %U == ?U ]]"');
        return;
      }
      const list = checks(full, c, shell);
      t.ok(list.length >= 5);
      for (const ch of list) t.equal(ch.left, ch.right, ch.line);
    });
  }
  // The values these units pin, spelled out.
  const inst = ctx({ unitName: 'exec-specifier@foo-bar.service' });
  t.equal(x('%n %N %p %P %i %I %j %J %f', inst), 'exec-specifier@foo-bar.service exec-specifier@foo-bar exec-specifier exec/specifier foo-bar foo/bar specifier specifier /foo/bar');
  t.equal(x('%d', ctx({ unitName: 'exec-specifier.service' })), '/run/credentials/exec-specifier.service');
});

// --- against the real systemd on this machine -------------------------------

const ANALYZE = '/usr/bin/systemd-analyze';

/** Expand `%c` with `systemd-analyze verify` (system scope, this process's environment). */
function analyze(dir: string, unit: string, spec: string): string | undefined {
  const file = path.join(dir, unit);
  // systemd simplifies the command path, so keep the value away from the slashes.
  fs.writeFileSync(file, `[Service]\nType=oneshot\nExecStart=/nonexistent/x=${spec}=x/end\n`);
  const r = spawnSync(ANALYZE, ['verify', '--man=no', file], { encoding: 'utf8', env: process.env });
  const out = r.stdout + r.stderr;
  const m = /(?:Command |special characters: )\/nonexistent\/x=(.*)=x\/end\b/.exec(out);
  return m ? m[1] : undefined;
}

t.test('matches systemd-analyze verify on this machine', { skip: !fs.existsSync(ANALYZE) && 'no systemd-analyze' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sysg-spec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const unit = 'foo-bar@a-b\\x2dc.service';
  const probe = analyze(dir, unit, '%n');
  if (probe === undefined) {
    t.comment('systemd-analyze verify does not work here, skipping');
    return;
  }
  const real: SpecifierContext = {
    unitName: unit,
    fragmentPath: path.join(dir, unit),
    scope: 'system',
    host: systemHostInfo(),
    managerEnv: process.env, // systemd-analyze is an ordinary process, not PID 1
  };
  // systemd 252 resolves %u %U %g %G from getuid(); v255's system scope always uses root.
  const asRoot = process.getuid?.() === 0;
  const specs = 'n N p P i I j J f y Y t S C L E T V d h s H l q m b v a o w W A B M c r R'.split(' ');
  if (asRoot) specs.push('u', 'U', 'g', 'G');
  for (const s of specs) {
    t.equal(expandSpecifiers(`%${s}`, real), analyze(dir, unit, `%${s}`), `%${s}`);
  }
  t.equal(analyze(dir, unit, '%D'), undefined, '%D is not known to systemd 252 either');
  t.throws(() => expandSpecifiers('%D', real), ValueError);
});
