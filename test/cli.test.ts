/**
 * The command line as a user meets it: exit statuses, no stack traces for bad
 * input, and man pages that document exactly the options --help lists.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { cleanEnv } from './util/clean-env.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function sysg(args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: cleanEnv(env), cwd: ROOT });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'sysg-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('convert the demo unit: YAML on stdout with sources, then it validates', async (t) => {
  const r = sysg(['convert', 'units/demo.service']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^version: "3"$/m);
  t.match(r.stdout, /protect_system: strict # ProtectSystem= units\/demo\.service:\d+/);
  const out = join(dir, 'demo.yaml');
  writeFileSync(out, r.stdout);
  const v = sysg(['validate', out]);
  t.equal(v.status, 0, v.stderr);
  t.match(v.stdout, /valid/);
});

t.test('--strict exits 1 when something was not translated; --json prints JSON', async (t) => {
  const unit = join(dir, 'x.service');
  writeFileSync(unit, '[Service]\nExecStart=/bin/true\nPAMName=login\nFooBar=1\n');
  const r = sysg(['convert', '--strict', unit]);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`${unit}:3: warning: PAMName=login: not translated: sysg does not open PAM sessions`));
  t.match(r.stderr, new RegExp(`${unit}:4: warning: FooBar=1: Unknown key 'FooBar' in section \\[Service\\], ignoring.`));
  const j = sysg(['convert', '--json', unit]);
  t.equal(j.status, 0);
  const m = JSON.parse(j.stdout) as { services: { x: { x_unsupported: Array<{ directive: string; source: string }> } } };
  t.same(m.services.x.x_unsupported.map((e) => [e.directive, e.source]), [['PAMName', `${unit}:3`], ['FooBar', `${unit}:4`]]);
});

t.test('unreadable or invalid input exits 2 without a stack trace or output', async (t) => {
  const bad = join(dir, 'bad.service');
  writeFileSync(bad, '[Service\nExecStart=/bin/true\n');
  for (const args of [['convert', bad], ['convert', join(dir, 'missing.service')], ['convert', 'no-such-unit-xyz.service', '--unit-path', dir], ['convert'], ['bogus-command'], ['convert', '--no-such-flag', bad]]) {
    const r = sysg(args);
    t.equal(r.status, 2, `${args.join(' ')} exits 2`);
    t.equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
    t.notMatch(r.stderr, /\n\s+at /, `${args.join(' ')} shows no stack trace`);
  }
  t.match(sysg(['convert', bad]).stderr, new RegExp(`${bad}:1: error: Invalid section header '\\[Service'`));
});

t.test('validate reports unknown keys with file:line and exits 1', async (t) => {
  const y = join(dir, 'typo.yaml');
  writeFileSync(y, 'version: "3"\nservices:\n  web:\n    exec: [/bin/true]\n    sandbox:\n      protect_sytem: strict\n');
  const r = sysg(['validate', y]);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`${y}:6: error: services.web.sandbox: unknown key 'protect_sytem'`));
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'version: "3"\nservices: [\n');
  const b = sysg(['validate', broken]);
  t.equal(b.status, 1);
  t.match(b.stderr, /broken\.yaml:\d+: error: YAML:/);
});

/** Long options of `sysg [cmd] --help`. */
function helpOptions(args: string[]): string[] {
  const r = sysg([...args, '--help']);
  return [...new Set([...r.stdout.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!))].sort();
}

/** Long options documented in a man page (roff escapes \- removed). */
function manOptions(page: string): string[] {
  const text = readFileSync(join(ROOT, 'man', page), 'utf8').replace(/\\-/g, '-');
  const section = text.split(/^\.SH OPTIONS$/m)[1]?.split(/^\.SH /m)[0] ?? '';
  return [...new Set([...section.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!))].sort();
}

t.test('man pages document exactly the options --help lists', async (t) => {
  t.same(manOptions('sysg.1'), helpOptions([]));
  t.same(manOptions('sysg-convert.1'), helpOptions(['convert']));
  t.same(manOptions('sysg-validate.1'), helpOptions(['validate']));
  t.same(manOptions('sysg-run.1'), helpOptions(['run']));
  const commands = [...sysg(['--help']).stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);
  const sysg1 = readFileSync(join(ROOT, 'man', 'sysg.1'), 'utf8');
  for (const c of commands) t.match(sysg1, new RegExp(`^\\.(B|BI) "?${c}\\b`, 'm'), `sysg.1 documents the ${c} command`);
});
