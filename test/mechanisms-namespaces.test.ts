/**
 * Non-mount namespaces against the real kernel: services launched through the
 * Launcher look at their own namespaces from inside. Each protection comes
 * with an escape probe that succeeds without the step.
 */
import t from 'tap';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher, LaunchError, type ExitEvent } from '../src/launch/launcher.js';
import type { NamespaceStep } from '../src/launch/ops-namespaces.js';
import type { LaunchPlan, Step } from '../src/launch/plan.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from '../src/sys/constants.js';
import { close, socketpair } from '../src/sys/libc.js';

const dir = mkdtempSync(join(tmpdir(), 'sysg-ns-'));
let launcher: Launcher;
const orphans: ExitEvent[] = [];
t.before(async () => {
  launcher = await Launcher.start();
  launcher.onExit((e) => void (e.orphan && orphans.push(e)));
});
t.teardown(async () => {
  await launcher.close();
  rmSync(dir, { recursive: true, force: true });
});

const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';
let seq = 0;
const outFile = (): string => join(dir, `out-${++seq}`);

const sh = (script: string, steps: readonly Step[] = [], extra: Partial<LaunchPlan> = {}): LaunchPlan => ({
  path: '/bin/sh',
  argv: ['sh', '-c', script],
  env: [PATH],
  steps,
  ...extra,
});

/** Runs to completion; returns the exit and stdout+stderr. */
async function run(plan: LaunchPlan): Promise<{ exit: unknown; out: string; pid: number }> {
  const out = outFile();
  const l = await launcher.launch({ stdout: { path: out }, stderr: { path: out, mode: 'append' }, ...plan });
  const exit = await l.exited;
  return { exit, out: readFileSync(out, 'utf8'), pid: l.pid };
}

async function launchError(p: Promise<unknown>): Promise<LaunchError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (e instanceof LaunchError) return e;
  throw new Error(`expected a LaunchError, got ${String(e)}`);
}

/** Starts a service that sleeps until killed; returns its pid and a stop function. */
async function sleeper(steps: readonly NamespaceStep[]): Promise<{ pid: number; stop: () => Promise<unknown> }> {
  const l = await launcher.launch({ path: '/bin/sleep', argv: ['sleep', '600'], env: [], steps });
  return {
    pid: l.pid,
    stop: async () => {
      process.kill(l.pid, 'SIGKILL');
      return l.exited;
    },
  };
}

const hostNs = (kind: string): string => readlinkSync(`/proc/self/ns/${kind}`);
const words = (s: string): string => s.trim().split(/\s+/).join(' ');

/** perl: connect to 127.0.0.1:port; prints "connected" or "refused". */
const connectProbe = (port: number): string =>
  `perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(PeerAddr=>"127.0.0.1",PeerPort=>${port},Proto=>"tcp") ? "connected\\n" : "refused\\n"'`;
/** perl: listen on 127.0.0.1 and connect to it. */
const loopbackProbe = `perl -MIO::Socket::INET -e '$l=IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0,Proto=>"tcp") or die "listen: $!\\n"; IO::Socket::INET->new(PeerAddr=>"127.0.0.1",PeerPort=>$l->sockport,Proto=>"tcp") or die "connect: $!\\n"; print "loopback-ok\\n"'`;

t.test('PrivateNetwork: a new netns with only lo, up, and 127.0.0.1 usable', async (t) => {
  // A host service on 127.0.0.1: reachable from a plain service, not from a private netns.
  const server: Server = createServer((c) => c.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  const port = (server.address() as { port: number }).port;
  const script = `readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; echo; ip -o link show lo; ${loopbackProbe}; ${connectProbe(port)}`;

  const priv = await run(sh(script, [{ op: 'ns-unshare-net' }]));
  t.same(priv.exit, { code: 0 }, priv.out);
  const [ns, ...rest] = priv.out.trim().split('\n');
  t.not(ns, hostNs('net'), 'a different network namespace');
  t.equal(rest[0], 'lo', '/proc/net/dev lists lo');
  t.equal(rest[1], '', '… and nothing else');
  t.match(rest[2], /^1: lo: <LOOPBACK,UP,LOWER_UP>/, 'lo is up');
  t.equal(rest[3], 'loopback-ok', 'bind+connect on 127.0.0.1 works inside');
  t.equal(rest[4], 'refused', "the host's 127.0.0.1 is out of reach");

  // Escape probe: the same script without the step sees the host's network.
  const host = await run(sh(script));
  const [hns, ...hrest] = host.out.trim().split('\n');
  t.equal(hns, hostNs('net'));
  t.ok(hrest.indexOf('') > 1, 'the host has more interfaces than lo');
  t.ok(hrest.includes('connected'), 'the host service is reachable without PrivateNetwork');
});

t.test('NetworkNamespacePath: joins the namespace of another service', async (t) => {
  const owner = await sleeper([{ op: 'ns-unshare-net' }]);
  t.teardown(owner.stop);
  const target = readlinkSync(`/proc/${owner.pid}/ns/net`);
  t.not(target, hostNs('net'));
  const joined = await run(sh('readlink /proc/self/ns/net; ip -o link show lo', [{ op: 'ns-join-net', path: `/proc/${owner.pid}/ns/net` }]));
  t.same(joined.exit, { code: 0 }, joined.out);
  const [ns, lo] = joined.out.trim().split('\n');
  t.equal(ns, target, 'the same namespace as the owner');
  t.match(lo, /UP/, 'lo stays as the owner left it (up)');

  const missing = await launchError(launcher.launch(sh('true', [{ op: 'ns-join-net', path: join(dir, 'no-such-netns') }])));
  t.equal(missing.step, 'ns-join-net');
  t.equal(missing.errno, 2);
  t.equal(missing.exitCode, 225, 'EXIT_NETWORK');
  // A file that is not a network namespace: setns refuses (EINVAL).
  const wrong = await launchError(launcher.launch(sh('true', [{ op: 'ns-join-net', path: `/proc/${owner.pid}/ns/ipc` }])));
  t.equal(wrong.errno, 22);
  t.equal(wrong.exitCode, 225);
});

t.test('PrivateIPC and IPCNamespacePath', async (t) => {
  // Escape probe: a message queue made by a service is visible to the host unless the service has its own ipc ns.
  // The service prints the queue's key (random, unlike ids) as its ipc ns lists it, then its ipc ns.
  const mk = `id=$(ipcmk -Q | sed 's/.*: //'); awk -v id="$id" '$2 == id { print $1 }' /proc/sysvipc/msg; readlink /proc/self/ns/ipc`;
  const hostKeys = (): string[] => readFileSync('/proc/sysvipc/msg', 'utf8').trim().split('\n').slice(1).map((l) => words(l).split(' ')[0]!);
  const priv = await run(sh(mk, [{ op: 'ns-unshare', namespaces: ['ipc'] }]));
  t.same(priv.exit, { code: 0 }, priv.out);
  const [privKey, privNs] = priv.out.trim().split('\n');
  t.match(privKey, /^-?\d+$/, 'the queue exists inside');
  t.not(privNs, hostNs('ipc'));
  t.notOk(hostKeys().includes(privKey!), 'the queue is not in the host ipc ns');

  const host = await run(sh(mk));
  const [hostKey, hostNsSeen] = host.out.trim().split('\n');
  t.equal(hostNsSeen, hostNs('ipc'));
  t.ok(hostKeys().includes(hostKey!), 'without PrivateIPC the queue lands on the host');
  await run(sh(`ipcrm -Q ${hostKey}`));
  t.notOk(hostKeys().includes(hostKey!), 'cleaned up');

  const owner = await sleeper([{ op: 'ns-unshare', namespaces: ['ipc'] }]);
  t.teardown(owner.stop);
  const joined = await run(sh('readlink /proc/self/ns/ipc', [{ op: 'ns-join-ipc', path: `/proc/${owner.pid}/ns/ipc` }]));
  t.equal(joined.out.trim(), readlinkSync(`/proc/${owner.pid}/ns/ipc`));
  const e = await launchError(launcher.launch(sh('true', [{ op: 'ns-join-ipc', path: join(dir, 'nope') }])));
  t.equal(e.exitCode, 226, 'EXIT_NAMESPACE');
});

t.test('ProtectHostname (uts): the hostname changes inside only', async (t) => {
  const before = hostname();
  const inside = await run(sh('hostname sysg-uts-probe && hostname; readlink /proc/self/ns/uts', [{ op: 'ns-unshare', namespaces: ['uts'] }]));
  t.same(inside.exit, { code: 0 }, inside.out);
  const [name, ns] = inside.out.trim().split('\n');
  t.equal(name, 'sysg-uts-probe', 'sethostname works on the private uts ns');
  t.not(ns, hostNs('uts'));
  t.equal(hostname(), before, "the host's hostname is untouched");
  t.equal(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), before);
  // Without the step the same `hostname` would rename the host: only compare namespaces there.
  const plain = await run(sh('readlink /proc/self/ns/uts'));
  t.equal(plain.out.trim(), hostNs('uts'), 'without it the service shares the host uts ns');
});

t.test('PrivateUsers: root and the listed ids mapped, setgroups denied', async (t) => {
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'top secret\n');
  chownSync(secret, 4321, 4321);
  chmodSync(secret, 0o600);
  chmodSync(dir, 0o755);
  const probe = `cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; id -g; stat -c %u:%g ${secret}; cat ${secret} 2>/dev/null || echo denied`;
  const step: NamespaceStep = {
    op: 'ns-user',
    uidMap: [{ inside: 0, outside: 0, count: 1 }, { inside: 65534, outside: 65534, count: 1 }],
    gidMap: [{ inside: 0, outside: 0, count: 1 }, { inside: 65534, outside: 65534, count: 1 }],
    setgroups: 'deny',
  };
  const r = await run(sh(probe, [step]));
  t.same(r.exit, { code: 0 }, r.out);
  const lines = r.out.trim().split('\n').map(words);
  t.same(lines.slice(0, 4), ['0 0 1', '65534 65534 1', '0 0 1', '65534 65534 1'], 'uid_map and gid_map');
  t.equal(lines[4], 'deny');
  t.same(lines.slice(5, 7), ['0', '0'], 'root inside');
  t.equal(lines[7], '65534:65534', 'unmapped owners show as nobody');
  t.equal(lines[8], 'denied', "root in the namespace has no power over unmapped users' files");
  t.not(readlinkSync(`/proc/self/ns/user`), undefined);

  // Escape probe: the same script as host root reads the file.
  const host = await run(sh(probe));
  const hl = host.out.trim().split('\n').map(words);
  t.equal(hl[0], '0 0 4294967295', 'the initial user namespace');
  t.equal(hl.at(-1), 'top secret', 'without PrivateUsers root reads it');
});

t.test('PrivateUsers with a uid switch and ambient capabilities (exec-ambientcapabilities-dynuser)', async (t) => {
  // systemd's map for uid 65534: root and the service's own ids. The user
  // namespace comes before the credentials' bounding set, user switch and
  // ambient set (CLONE_NEWUSER resets them), as in systemd.
  const own = [{ inside: 0, outside: 0, count: 1 }, { inside: 65534, outside: 65534, count: 1 }];
  const caps = [0, 7, 13]; // CAP_CHOWN CAP_SETUID CAP_NET_RAW
  const steps: Step[] = [
    { op: 'ambient-inheritable', caps },
    { op: 'set-user', uid: 65534, keepCaps: true },
    { op: 'ambient-raise', caps },
    { op: 'ns-user', uidMap: own, gidMap: own, setgroups: 'deny' },
  ];
  const r = await run(sh('grep CapAmb: /proc/self/status; cat /proc/self/uid_map; id -u', steps));
  t.same(r.exit, { code: 0 }, r.out);
  const lines = r.out.trim().split('\n').map(words);
  t.same(lines, ['CapAmb: 0000000000002081', '0 0 1', '65534 65534 1', '65534']);
});

t.test('PrivateUsers: a map the kernel refuses fails the launch with 226', async (t) => {
  // Overlapping ranges: the zygote's uid_map write gets EINVAL, which the child reports.
  const e = await launchError(
    launcher.launch(sh('true', [{ op: 'ns-user', uidMap: [{ inside: 0, outside: 0, count: 10 }, { inside: 5, outside: 100, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }], setgroups: 'deny' }])),
  );
  t.equal(e.step, 'ns-user');
  t.equal(e.errno, 22);
  t.equal(e.exitCode, 226);
  const bad = await launchError(launcher.launch(sh('true', [{ op: 'ns-user', uidMap: [], gidMap: [], setgroups: 'deny' }])));
  t.equal(bad.kind, 'plan');
});

t.test('failures after the pid-namespace fork are reported for the service process', async (t) => {
  const seen = orphans.length;
  const e = await launchError(
    launcher.launch(sh('true', [{ op: 'ns-pid' }, { op: 'ns-user', uidMap: [{ inside: 0, outside: 0, count: 10 }, { inside: 5, outside: 100, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }], setgroups: 'deny' }])),
  );
  t.equal(e.step, 'ns-user');
  t.equal(e.exitCode, 226, 'the exit status of the pid-1 process, collected by the zygote');
  t.ok(e.pid !== undefined && e.pid > 1);
  const x = await launchError(launcher.launch({ path: '/nonexistent/binary', argv: ['x'], env: [], steps: [{ op: 'ns-pid' }] }));
  t.equal(x.step, 'exec');
  t.equal(x.errno, 2);
  t.equal(x.exitCode, 203);
  t.equal(orphans.length, seen, 'neither the intermediates nor the failed children show up as orphans');
});

t.test('PrivatePIDs: the service is pid 1, launch() reports its outer pid and its exit', async (t) => {
  const seen = orphans.length;
  // stdout is a socket: the first line says the shell runs (and what $$ is).
  const sv = Buffer.alloc(8);
  t.equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const [mine, theirs] = [sv.readInt32LE(0), sv.readInt32LE(4)];
  const reader = new Socket({ fd: mine, readable: true, writable: false });
  t.teardown(() => void reader.destroy());
  const firstLine = new Promise<string>((resolve) => {
    let buf = '';
    reader.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.trim());
    });
  });
  const l = await launcher.launch(sh('echo $$; exec sleep 600', [{ op: 'ns-pid' }], { stdout: theirs }));
  close(theirs);
  const status = (): string => readFileSync(`/proc/${l.pid}/status`, 'utf8');
  t.equal(await firstLine, '1', '$$ is 1 inside');
  t.match(status(), new RegExp(`^NSpid:\\s+${l.pid}\\s+1$`, 'm'), 'the reported pid is the host pid of the namespace init');
  t.match(status(), new RegExp(`^PPid:\\s+${launcher.pid}$`, 'm'), 'the zygote adopted it');
  t.not(readlinkSync(`/proc/${l.pid}/ns/pid`), hostNs('pid'));
  process.kill(l.pid, 'SIGKILL');
  t.same(await l.exited, { signal: 'SIGKILL', signo: 9, core: false }, 'the exit report is the service’s, not the intermediate’s');

  const code = await run(sh('exit 7', [{ op: 'ns-pid' }]));
  t.same(code.exit, { code: 7 });
  t.equal(orphans.length, seen, 'the intermediate is never reported as an exit');
});

t.test('PrivatePIDs: pid 1 ignores signals it has no handler for', async (t) => {
  const r = await run(sh('kill -TERM $$; echo survived', [{ op: 'ns-pid' }]));
  t.same(r.exit, { code: 0 });
  t.equal(r.out, 'survived\n');
  // Escape probe: a normal process dies of it.
  t.same((await run(sh('kill -TERM $$; echo survived'))).exit, { signal: 'SIGTERM', signo: 15, core: false });
});

t.test('PrivatePIDs: LISTEN_PID is 1 and a session leader stays one', async (t) => {
  const sv = Buffer.alloc(8);
  t.equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const [a, b] = [sv.readInt32LE(0), sv.readInt32LE(4)];
  t.teardown(() => void (close(a), close(b)));
  // /proc is still the host's here, so /proc/self/stat shows host pids: the session id is the service's outer pid.
  const r = await run(sh('echo "$LISTEN_PID $$ $LISTEN_FDS"; cut -d" " -f6 /proc/self/stat', [{ op: 'ns-pid' }], { fds: [{ fd: a }], setsid: true }));
  t.same(r.exit, { code: 0 }, r.out);
  const [ids, sid] = r.out.trim().split('\n');
  t.equal(ids, '1 1 1');
  t.equal(sid, String(r.pid), 'setsid holds for the pid-1 process too');
});

t.test('all together: network, ipc, uts, pid and user namespaces in one service', async (t) => {
  const steps: NamespaceStep[] = [
    { op: 'ns-user', uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }], setgroups: 'deny' },
    { op: 'ns-pid' },
    { op: 'ns-unshare-net' },
    { op: 'ns-unshare', namespaces: ['ipc', 'uts'] },
  ];
  const r = await run(sh(`echo $$; cat /proc/self/uid_map; hostname all-ns-probe 2>/dev/null && echo renamed || echo refused; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; for k in net ipc uts pid user; do readlink /proc/self/ns/$k; done`, steps));
  t.same(r.exit, { code: 0 }, r.out);
  const lines = r.out.trim().split('\n').map(words);
  t.equal(lines[0], '1');
  t.equal(lines[1], '0 0 1', 'the user namespace of the pid-1 process was mapped');
  // The uts ns is owned by the host user namespace (created before NEWUSER): root inside cannot rename it.
  t.equal(lines[2], 'refused', 'sethostname is refused: the uts ns belongs to the host user ns');
  t.ok(lines.includes('lo'));
  for (const k of ['net', 'ipc', 'uts', 'pid', 'user']) t.notOk(lines.includes(hostNs(k)), `${k} differs from the host`);
  t.equal(hostname(), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
});

t.test('fragment: model fields → steps', async (t) => {
  const { namespacesFragment } = await import('../src/mechanisms/namespaces-plan.js');
  const { ServiceView, ModelError } = await import('../src/plan/service.js');
  const { ARCH } = await import('../src/sys/arch/index.js');
  type Ctx = Parameters<typeof namespacesFragment.build>[0];
  const build = (sandbox: Record<string, unknown>, over: Partial<Ctx> = {}): unknown[] =>
    namespacesFragment
      .build({
        svc: new ServiceView('svc', { sandbox }),
        command: { argv: ['/bin/true'] },
        arch: ARCH,
        supervisorPrivileged: true,
        identity: undefined,
        sandbox: true,
        execDirectories: [],
        cgroupDirs: undefined,
        credentialsDirectory: undefined,
        warn: () => undefined,
        ...over,
      })
      .map((p) => ({ ...p.step, field: p.field }));

  t.same(build({}), []);
  t.same(build({ private_network: true }), [{ op: 'ns-unshare-net', field: 'sandbox.private_network' }]);
  t.same(build({ private_network: true, network_namespace_path: '/run/netns/x' }), [{ op: 'ns-join-net', path: '/run/netns/x', field: 'sandbox.network_namespace_path' }], 'the path wins, as in systemd');
  t.same(build({ private_ipc: true, ipc_namespace_path: '/run/ipcns/x' }), [{ op: 'ns-join-ipc', path: '/run/ipcns/x', field: 'sandbox.ipc_namespace_path' }]);
  t.same(build({ private_ipc: true, protect_hostname: true }), [
    { op: 'ns-unshare', namespaces: ['ipc'], field: 'sandbox.private_ipc' },
    { op: 'ns-unshare', namespaces: ['uts'], field: 'sandbox.protect_hostname' },
  ]);
  t.same(build({ private_pids: true }), [{ op: 'ns-pid', field: 'sandbox.private_pids' }]);
  t.same(build({ private_network: false, private_users: false, private_pids: false }), []);

  const identity = { user: 'u', uid: 1000, group: 'g', gid: 100, supplementaryGids: [], home: '/', shell: '/bin/sh', dynamic: false };
  t.same(build({ private_users: true }, { identity }), [
    {
      op: 'ns-user',
      uidMap: [{ inside: 0, outside: 0, count: 1 }, { inside: 1000, outside: 1000, count: 1 }],
      gidMap: [{ inside: 0, outside: 0, count: 1 }, { inside: 100, outside: 100, count: 1 }],
      setgroups: 'deny',
      field: 'sandbox.private_users',
    },
  ]);
  t.same(build({ private_users: true }), [
    { op: 'ns-user', uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }], setgroups: 'deny', field: 'sandbox.private_users' },
  ], 'as root only root is mapped');
  t.match(build({ private_users: 'identity' }), [{ uidMap: [{ inside: 0, outside: 0, count: 65536 }] }]);
  t.same(build({ private_network: true, private_users: true }, { sandbox: false }), [], 'a `+` command gets no namespaces');
  t.throws(() => build({ private_users: 'sometimes' }), ModelError);
  t.throws(() => build({ network_namespace_path: 'run/netns/x' }), ModelError);
  t.throws(() => build({ private_network: 'yes please' }), ModelError);
  t.same(namespacesFragment.fields, [
    'sandbox.private_network', 'sandbox.network_namespace_path', 'sandbox.private_ipc', 'sandbox.ipc_namespace_path',
    'sandbox.private_users', 'sandbox.protect_hostname', 'sandbox.private_pids',
  ]);
});

t.test('cgroup namespace through ns-unshare', async (t) => {
  const r = await run(sh('readlink /proc/self/ns/cgroup; cat /proc/self/cgroup', [{ op: 'ns-unshare', namespaces: ['cgroup'] }]));
  t.same(r.exit, { code: 0 }, r.out);
  const [ns, ...cg] = r.out.trim().split('\n');
  t.not(ns, hostNs('cgroup'));
  t.ok(cg.every((l) => l.endsWith(':/')), 'the service sees its cgroups as roots');
  const bad = await launchError(launcher.launch(sh('true', [{ op: 'ns-unshare', namespaces: ['mnt' as 'ipc'] }])));
  t.equal(bad.kind, 'plan', 'mount namespaces are not this op’s');
});

t.test('repeated user+pid namespace launches stay healthy', async (t) => {
  const steps: Step[] = [
    { op: 'ns-pid' },
    { op: 'ns-user', uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }], setgroups: 'deny' },
  ];
  const seen = orphans.length;
  const zygoteFds = (): number => readdirSync(`/proc/${launcher.pid}/fd`).length;
  await run(sh('true', steps));
  const fdsBefore = zygoteFds();
  let ok = 0;
  for (let i = 0; i < 100; i++) {
    const r = await run(sh('test $$ = 1 && test "$(cat /proc/self/uid_map)" != "" && echo ok', steps));
    if (r.out === 'ok\n' && (r.exit as { code?: number }).code === 0) ok++;
  }
  t.equal(ok, 100);
  t.equal(orphans.length, seen, 'no stray exits');
  t.equal(zygoteFds(), fdsBefore, 'the zygote leaks no pipe ends');
  t.same((await launcher.sweepCheck()).after.dontfork, 0);
});
