/**
 * Exact translated values for the tricky cases: capability merges/resets/
 * inversion, SystemCallFilter merges and `~`, Environment= quoting, specifiers,
 * drop-in precedence and empty-assignment resets.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { convertUnits } from '../src/convert/convert.js';
import { resolveSyscallFilterLines } from '../src/compat/types-security.js';
import { UnitSearchPath } from '../src/unit/search-path.js';
import { packageRoot } from '../src/package-root.js';

const root = mkdtempSync(join(tmpdir(), 'sysg-values-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

type Svc = Record<string, unknown> & { sandbox?: Record<string, unknown>; env?: Record<string, unknown> };

/** Converts unit files laid out under a fresh directory tree; returns the services and stderr lines. */
function convert(files: Record<string, string>, args: string[], dirs = ['a']): { services: Record<string, Svc>; messages: string[]; failed: boolean } {
  const base = join(root, String(n++));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(base, rel)), { recursive: true });
    writeFileSync(join(base, rel), text);
  }
  const res = convertUnits(args, new UnitSearchPath({ unitPath: dirs.map((d) => join(base, d)) }));
  const services = (res.manifest?.services ?? {}) as Record<string, Svc>;
  return { services, messages: res.diagnostics.map((d) => `${d.loc ? `${d.loc.line}: ` : ''}${d.directive ?? ''} ${d.message}`), failed: res.failed };
}

function one(body: string, section = 'Service'): { svc: Svc; messages: string[] } {
  const { services, messages } = convert({ 'a/x.service': `[${section}]\n${body}\n` }, ['x.service']);
  return { svc: services.x!, messages };
}

t.test('CapabilityBoundingSet: set, merge, reset, invert, unknown names', async (t) => {
  t.same(one('CapabilityBoundingSet=CAP_FOWNER CAP_KILL').svc.sandbox?.capability_bounding_set, ['CAP_FOWNER', 'CAP_KILL']);
  t.same(one('CapabilityBoundingSet=CAP_FOWNER CAP_KILL\nCapabilityBoundingSet=CAP_CHOWN').svc.sandbox?.capability_bounding_set, ['CAP_CHOWN', 'CAP_FOWNER', 'CAP_KILL']);
  t.same(one('CapabilityBoundingSet=CAP_FOWNER CAP_KILL\nCapabilityBoundingSet=').svc.sandbox?.capability_bounding_set, []);
  t.same(one('CapabilityBoundingSet=~CAP_CHOWN').svc.sandbox?.capability_bounding_set, { all_except: ['CAP_CHOWN'] });
  t.same(one('CapabilityBoundingSet=~CAP_CHOWN\nCapabilityBoundingSet=~CAP_KILL cap_fowner').svc.sandbox?.capability_bounding_set, { all_except: ['CAP_CHOWN', 'CAP_FOWNER', 'CAP_KILL'] });
  const bogus = one('CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=CAP_BOGUS');
  t.same(bogus.svc.sandbox?.capability_bounding_set, [], 'a line of only unknown names replaces the set with nothing, as systemd 252 does');
  t.match(bogus.messages.join('\n'), /Unknown capability 'CAP_BOGUS'/);
  t.same(one('AmbientCapabilities=CAP_CHOWN\nAmbientCapabilities=CAP_NET_RAW').svc.sandbox?.ambient_capabilities, ['CAP_CHOWN', 'CAP_NET_RAW']);
});

t.test('SystemCallFilter: the assignments are kept in order and merge as systemd merges them', async (t) => {
  const lines = one('SystemCallFilter=ioperm\nSystemCallFilter=~ioperm\nSystemCallFilter=ioperm').svc.sandbox?.system_call_filter as string[];
  t.same(lines, ['ioperm', '~ioperm', 'ioperm']);
  const s1 = resolveSyscallFilterLines(lines)!;
  t.equal(s1.allowList, true);
  t.ok(s1.syscalls.has('ioperm') && s1.syscalls.has('exit_group'), 'allow-list with ioperm and the implicit @default set');

  const s2 = resolveSyscallFilterLines(['@system-service', '~@privileged @resources'])!;
  t.equal(s2.allowList, true);
  t.ok(s2.syscalls.has('read'));
  t.notOk(s2.syscalls.has('setrlimit'), '~@resources removes from the allow-list');
  t.notOk(s2.syscalls.has('reboot'));

  const s3 = resolveSyscallFilterLines(['~@mount:EPERM', '~reboot'])!;
  t.equal(s3.allowList, false);
  t.equal(s3.syscalls.get('mount'), 1, 'mount denied with EPERM');
  t.equal(s3.syscalls.get('reboot'), undefined);
  t.ok(s3.syscalls.has('reboot'), 'reboot denied with the default action');

  t.equal(one('SystemCallFilter=@system-service\nSystemCallFilter=').svc.sandbox, undefined, 'an empty assignment resets the filter');
  const warn = one('SystemCallFilter=~write DONOTEXIST');
  t.same(warn.svc.sandbox?.system_call_filter, ['~write DONOTEXIST']);
  t.match(warn.messages.join('\n'), /DONOTEXIST/);
  t.equal(one('SystemCallErrorNumber=EPERM').svc.sandbox?.system_call_error_number, 'EPERM');
});

t.test('Environment= quoting and specifiers (test-execute exec-environment.service)', async (t) => {
  const { svc } = one('Environment="VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6"\nEnvironment=VAR4=%n "VAR5=a\\x20b"');
  t.same((svc.env as { vars: Record<string, string> }).vars, { VAR1: 'word1 word2', VAR2: 'word3', VAR3: '$word 5 6', VAR4: 'x.service', VAR5: 'a b' });
  t.same(one('Environment=A=1\nEnvironment=\nEnvironment=B=2').svc.env, { vars: { B: '2' } }, 'empty resets');
});

t.test('specifiers in a template instance (test-execute exec-specifier@foo-bar.service)', async (t) => {
  const dir = join(packageRoot(), '..', 'shared', 'conformance', 'systemd-test-execute');
  const res = convertUnits(['exec-specifier@foo-bar.service'], new UnitSearchPath({ unitPath: [dir] }));
  const svc = (res.manifest!.services as Record<string, Svc>)['exec-specifier@foo-bar']!;
  const start = (svc.commands as { start: Array<{ argv: string[] }> }).start;
  const tests = start.filter((c) => c.argv[0] === 'test' && c.argv.length === 4);
  t.ok(tests.length >= 9);
  for (const c of tests) t.equal(c.argv[1], c.argv[3], `${c.argv.join(' ')}`);
  t.same(tests.find((c) => c.argv[3] === 'foo/bar')?.argv, ['test', 'foo/bar', '=', 'foo/bar'], '%I unescapes the instance');
  t.same(tests.find((c) => c.argv[3] === '/foo/bar')?.argv, ['test', '/foo/bar', '=', '/foo/bar'], '%f is the instance as a path');
});

t.test('drop-ins: order by file name, higher-precedence directory wins a name, ExecStart= reset', async (t) => {
  const { services } = convert(
    {
      'low/x.service': '[Service]\nExecStart=/bin/a\nEnvironment=A=1 C=1\nReadWritePaths=/srv\n',
      'low/x.service.d/10-override.conf': '[Service]\nEnvironment=C=low\n',
      'high/x.service.d/10-override.conf': '[Service]\nExecStart=\nExecStart=/bin/b -v\nEnvironment=A=2 B=2\n',
      'low/x.service.d/20-more.conf': '[Service]\nEnvironment=A=3\nReadWritePaths=-/var/lib/x\n',
      'low/service.d/05-all.conf': '[Service]\nNice=5\n',
    },
    ['x.service'],
    ['high', 'low'],
  );
  const svc = services.x!;
  t.same((svc.commands as { start: unknown }).start, [{ argv: ['/bin/b', '-v'] }]);
  t.same((svc.env as { vars: unknown }).vars, { A: '3', C: '1', B: '2' }, 'high/10-override.conf shadows low/10-override.conf; 20-more.conf applies last');
  t.same(svc.sandbox?.read_write_paths, ['/srv', '-/var/lib/x']);
  t.equal((svc.limits as { nice: number }).nice, 5, 'type-level service.d applies');
  t.equal(((svc.unit as { dropins: string[] }).dropins ?? []).length, 3);
});

t.test('empty assignments reset lists; dependencies are never reset', async (t) => {
  t.same(one('ReadWritePaths=/a\nReadWritePaths=\nReadWritePaths=/b').svc.sandbox?.read_write_paths, ['/b']);
  t.same((one('CPUAffinity=0-1 3\nCPUAffinity=\nCPUAffinity=0').svc.limits as { cpu_affinity: number[] }).cpu_affinity, [0]);
  t.same((one('CPUAffinity=0,1\nCPUAffinity=1-2').svc.limits as { cpu_affinity: number[] }).cpu_affinity, [0, 1, 2]);
  const u = convert({ 'a/x.service': '[Unit]\nAfter=a.service\nAfter=\nAfter=b.service\n[Service]\nExecStart=/bin/true\n' }, ['x.service']).services.x!;
  t.same((u.unit as { after: string[] }).after, ['a.service', 'b.service']);
});

t.test('scalars: time spans, TimeoutSec= for both, limits, memory', async (t) => {
  const { svc } = one('TimeoutSec=1min 30s\nRestartSec=0.1\nLimitNOFILE=1024:524288\nLimitCPU=1min\nMemoryMax=50%\nMemoryHigh=1.5G\nUMask=0077\nKillSignal=TERM\nProtectSystem=yes\nProtectHome=read-only');
  t.same(svc.timeouts, { start: '1min 30s', stop: '1min 30s' });
  t.same(svc.restart, { delay: '100ms' });
  t.same((svc.limits as { rlimits: unknown }).rlimits, { nofile: { soft: 1024, hard: 524288 }, cpu: { soft: 60, hard: 60 } });
  t.same((svc.limits as { cgroup: unknown }).cgroup, { memory_max: '50%', memory_high: 1610612736 });
  t.equal(svc.umask, '0077');
  t.same(svc.kill, { signal: 'SIGTERM' });
  t.same(svc.sandbox, { protect_system: true, protect_home: 'read-only' });
  const bad = one('TimeoutSec=5x\nNice=40');
  t.equal(bad.svc.timeouts, undefined);
  t.match(bad.messages.join("\n"), /3: Nice=40 .*ignoring/);
});

t.test('a socket joins its service', async (t) => {
  const { services } = convert(
    { 'a/web.socket': '[Unit]\nDescription=web socket\n[Socket]\nListenStream=8080\nListenStream=[::1]:8081\nAccept=no\n', 'a/web.service': '[Service]\nExecStart=/usr/bin/web\n' },
    ['web.socket'],
  );
  const svc = services.web!;
  t.same((svc.socket as { listen: unknown }).listen, [{ type: 'stream', address: '8080' }, { type: 'stream', address: '[::1]:8081' }]);
  t.equal((svc.socket as { unit: { description: string } }).unit.description, 'web socket');
  t.same((svc.commands as { start: unknown }).start, [{ argv: ['/usr/bin/web'] }], 'the service came from the unit path');
});

t.test('a bad ExecStart= makes the unit fail to load, as in systemd', async (t) => {
  const r = convert({ 'a/x.service': '[Service]\nExecStart=bin/true\n' }, ['x.service']);
  t.equal(r.failed, true);
  t.match(r.messages.join('\n'), /2: ExecStart=bin\/true .*refuses to load/);
  const ok = convert({ 'a/x.service': '[Service]\nExecStart=-bin/true\nExecStart=/bin/true\n' }, ['x.service']);
  t.equal(ok.failed, false, 'with the - prefix the line is only ignored');
});
