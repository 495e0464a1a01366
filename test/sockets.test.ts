/**
 * Socket activation listeners: real sockets from converted .socket units,
 * handed to real services through the Launcher (LISTEN_FDS/LISTEN_PID/
 * LISTEN_FDNAMES checked from inside), Accept=yes instances, AF_UNIX node
 * mode/owner probed from inside a service, dual-stack behaviour, ReusePort=,
 * FIFOs, the other Listen kinds, socket options, and refused input.
 */
import t from 'tap';
import { connect as netConnect, createServer, type Socket as NetSocket } from 'node:net';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync, closeSync, constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertUnits } from '../src/convert/convert.js';
import { UnitSearchPath } from '../src/unit/search-path.js';
import { ServiceView } from '../src/plan/service.js';
import { Launcher } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import { AddressError, parseNetlinkAddress, parseSocketAddress, SOCKET_FIELDS, SOCKET_LIFECYCLE_FIELDS, SocketSet, SocketSetupError, type Connection } from '../src/supervise/sockets.js';
import { formatAddress } from '../src/supervise/sockets-address.js';
import { getsockoptInt } from '../src/sys/libc-socket.js';
import { fcntl, poll } from '../src/sys/libc.js';
import { F_GETFL, F_SETFL, O_NONBLOCK, POLLIN } from '../src/sys/constants.js';
import { createSocket } from 'node:dgram';
import {
  AF_INET6,
  AF_NETLINK,
  AF_UNIX,
  IP_TOS,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_DOMAIN,
  SO_KEEPALIVE,
  SO_MARK,
  SO_PASSCRED,
  SO_PRIORITY,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_REUSEPORT,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOL_SOCKET,
  SOL_TCP,
  TCP_NODELAY,
} from '../src/sys/constants-socket.js';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'sysg-sockets-'));
// Services probing as other users must reach the sockets inside.
chmodSync(dir, 0o755);
let launcher: Launcher;
t.before(async () => {
  launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher.close();
  rmSync(dir, { recursive: true, force: true });
});

let unitCount = 0;
/** A .socket unit (and its service) through the real converter → the service's model. */
function socketUnit(socketBody: string, accept = false): ServiceView {
  const d = join(dir, `units${++unitCount}`);
  mkdirSync(d);
  const name = `s${unitCount}`;
  writeFileSync(join(d, `${name}.socket`), `[Socket]\n${socketBody}\n`);
  writeFileSync(join(d, `${name}${accept ? '@' : ''}.service`), '[Service]\nExecStart=/bin/true\n');
  const res = convertUnits([`${name}.socket`, `${name}${accept ? '@' : ''}.service`], new UnitSearchPath({ unitPath: [d] }));
  const services = (res.manifest?.['services'] ?? {}) as Record<string, Record<string, unknown>>;
  const key = accept ? `${name}@` : name;
  const raw = services[key];
  if (!raw) throw new Error(`convert gave no ${key}: ${res.diagnostics.map((x) => x.message).join('; ')}`);
  return new ServiceView(key, raw);
}

/** A model written directly (YAML users). */
function model(socket: Record<string, unknown>): ServiceView {
  return new ServiceView('m', { socket: { name: 'm.socket', ...socket } });
}

/** The error fn throws, if it is a `cls`. */
function caught<E extends Error>(fn: () => unknown, cls: abstract new (...args: never[]) => E): E | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  return undefined;
}

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Connects, sends `line`, returns everything received until EOF (or the error code). */
function exchange(opts: { port?: number; host?: string; path?: string }, line: string): Promise<string> {
  return new Promise((resolve) => {
    const sock: NetSocket = opts.path ? netConnect(opts.path) : netConnect(opts.port!, opts.host ?? '127.0.0.1');
    let data = '';
    sock.on('connect', () => sock.write(line));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
  });
}

const ECHO = String.raw`
import os, socket, sys
n = int(os.environ["LISTEN_FDS"])
ok = os.environ["LISTEN_PID"] == str(os.getpid())
print("pid-ok" if ok else "pid-bad", n, os.environ.get("LISTEN_FDNAMES"), flush=True)
print("blocking" if all(os.get_blocking(fd) for fd in range(3, 3 + n)) else "non-blocking", flush=True)
for fd in range(3, 3 + n):
    s = socket.socket(fileno=fd)
    c, _ = s.accept()
    c.sendall(b"echo:" + c.recv(100) + b":fd" + str(fd).encode())
    c.close()
`;

t.test('a socket-activated python echo server: started on traffic, LISTEN_* right, fds in Listen order', async (t) => {
  const port = await freePort();
  const path = join(dir, 'echo', 'echo.sock');
  const svc = socketUnit(`ListenStream=127.0.0.1:${port}\nListenStream=${path}\nFileDescriptorName=echo`);
  const set = SocketSet.open(svc);
  t.teardown(() => set.close());
  t.same(set.ports.map((p) => [p.kind, p.name]), [['stream', 'echo'], ['stream', 'echo']]);
  const out = join(dir, 'echo.out');
  let started: Promise<unknown> | undefined;
  set.watch({
    onTraffic: () => {
      set.applyNonBlocking(false); // NonBlocking=no, systemd's default
      started = launcher.launch({ path: PYTHON, argv: ['python3', '-c', ECHO], env: ['PATH=/usr/bin:/bin'], fds: set.listenFds(), stdout: { path: out } }).then((l) => l.exited);
    },
  });
  t.equal(await exchange({ port }, 'tcp'), 'echo:tcp:fd3', 'the TCP listener is fd 3');
  t.equal(await exchange({ path }, 'unix'), 'echo:unix:fd4', 'the AF_UNIX listener is fd 4');
  t.same(await started, { code: 0 });
  t.equal(readFileSync(out, 'utf8'), 'pid-ok 2 echo:echo\nblocking\n', 'NonBlocking=no: the service gets blocking listeners');
});

t.test('Accept=yes: one instance per connection, the connection on stdin/stdout and as fd 3; MaxConnections=', async (t) => {
  const port = await freePort();
  const svc = socketUnit(`ListenStream=127.0.0.1:${port}\nAccept=yes\nMaxConnections=1`, true);
  const warnings: string[] = [];
  const set = SocketSet.open(svc, { onWarning: (m) => warnings.push(m) });
  t.teardown(() => set.close());
  const exits: Promise<unknown>[] = [];
  const instances: Connection[] = [];
  set.watch({
    onConnection: (c) => {
      instances.push(c);
      const plan: LaunchPlan = {
        path: '/bin/sh',
        argv: ['sh', '-c', 'read line; echo "$line pid=$$ fds=$LISTEN_FDS names=$LISTEN_FDNAMES fd3=$(readlink /proc/$$/fd/3 | cut -c1-7) from=$REMOTE_ADDR"'],
        env: ['PATH=/usr/bin:/bin', ...c.env],
        stdin: c.fd,
        stdout: c.fd,
        fds: [c.listenFd],
      };
      exits.push(
        launcher.launch(plan).then(async (l) => {
          c.closeFd(); // the instance holds the connection now
          const end = await l.exited;
          c.release();
          return end;
        }),
      );
    },
  });
  const a = await exchange({ port }, 'first\n');
  // The slot is freed when the instance's exit is seen (MaxConnections=1), not at the client's EOF.
  await exits[0];
  const b = await exchange({ port }, 'second\n');
  t.match(a, /^first pid=(\d+) fds=1 names=connection fd3=socket: from=127\.0\.0\.1\n$/);
  t.match(b, /^second pid=(\d+) fds=1 names=connection fd3=socket: from=127\.0\.0\.1\n$/);
  t.not(/pid=(\d+)/.exec(a)![1], /pid=(\d+)/.exec(b)![1], 'two instances');
  t.match(instances[0]!.instance, new RegExp(`^0-127\\.0\\.0\\.1:${port}-127\\.0\\.0\\.1:\\d+$`), "systemd's instance string");
  t.match(instances[1]!.instance, /^1-/);
  await Promise.all(exits);
  t.equal(set.connections, 0, 'released');

  // MaxConnections=1: while one instance runs, the next connection is closed unanswered.
  const held = netConnect(port, '127.0.0.1');
  await new Promise((resolve) => held.on('connect', resolve));
  while (set.connections < 1) await new Promise((resolve) => setImmediate(resolve));
  t.match(await exchange({ port }, 'third\n'), /^(|error:ECONNRESET)$/, 'dropped: closed without an answer');
  t.match(warnings, [/Too many incoming connections \(1\), dropping connection\.$/]);
  const reply = new Promise<string>((resolve) => {
    let d = '';
    held.on('data', (x) => (d += x.toString()));
    held.on('end', () => resolve(d));
  });
  held.write('held\n');
  t.match(await reply, /^held pid=/);
  await Promise.all(exits);
});

t.test('AF_UNIX node: SocketMode=, SocketUser=, DirectoryMode=, probed from inside a service', async (t) => {
  const base = join(dir, 'modes');
  const path = join(base, 'a', 'b', 'private.sock');
  const probe = (sockPath: string, uid: number): Promise<string> => {
    const out = join(dir, `probe-${uid}-${Math.random()}`);
    const script = `import os, socket\nos.setgroups([]); os.setresgid(${uid}, ${uid}, ${uid}); os.setresuid(${uid}, ${uid}, ${uid})\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect(${JSON.stringify(sockPath)}); print("connected")\nexcept OSError as e:\n    print(e.strerror)\n`;
    return launcher
      .launch({ path: PYTHON, argv: ['python3', '-c', script], env: [], stdout: { path: out } })
      .then((l) => l.exited)
      .then(() => readFileSync(out, 'utf8').trim());
  };
  const set = SocketSet.open(socketUnit(`ListenStream=${path}\nSocketMode=0600\nSocketUser=nobody\nDirectoryMode=0711`));
  t.teardown(() => set.close());
  const st = statSync(path);
  t.equal(st.mode & 0o7777, 0o600);
  t.equal(st.uid, 65534, 'owned by SocketUser=');
  t.equal(st.gid, 65534, "the user's primary group");
  t.equal(statSync(join(base, 'a')).mode & 0o7777, 0o711, 'created parents get DirectoryMode=');
  t.equal(statSync(join(base, 'a', 'b')).mode & 0o7777, 0o711);
  t.equal(await probe(path, 1), 'Permission denied', 'uid 1 (daemon) may not connect');
  t.equal(await probe(path, 65534), 'connected', 'the socket user may');
  // Without the directives the same probe gets in (default SocketMode=0666).
  const open = join(dir, 'modes-open', 'open.sock');
  const set2 = SocketSet.open(socketUnit(`ListenStream=${open}`));
  t.teardown(() => set2.close());
  t.equal(statSync(open).mode & 0o777, 0o666);
  t.equal(statSync(join(dir, 'modes-open')).mode & 0o777, 0o755);
  t.equal(await probe(open, 1), 'connected');
});

t.test('a port alone is dual-stack [::]:port; BindIPv6Only=ipv6-only refuses IPv4; =both accepts it', async (t) => {
  for (const [setting, v4] of [['', true], ['BindIPv6Only=both', true], ['BindIPv6Only=ipv6-only', false]] as const) {
    const port = await freePort();
    const set = SocketSet.open(socketUnit(`ListenStream=${port}\n${setting}`));
    t.equal(formatAddress(set.ports[0]!.socketAddress!), `[::]:${port}`);
    t.equal(getsockoptInt(set.ports[0]!.fd, SOL_SOCKET, SO_DOMAIN).value, AF_INET6);
    t.equal(getsockoptInt(set.ports[0]!.fd, IPPROTO_IPV6, IPV6_V6ONLY).value, v4 ? 0 : 1, `${setting || 'default'}: IPV6_V6ONLY`);
    // Accepting in the supervisor stands in for a service here: connections only need the listener.
    const v6 = netConnect(port, '::1');
    const v6ok = await new Promise((resolve) => {
      v6.on('connect', () => resolve(true));
      v6.on('error', () => resolve(false));
    });
    v6.destroy();
    const v4c = netConnect(port, '127.0.0.1');
    const v4ok = await new Promise((resolve) => {
      v4c.on('connect', () => resolve(true));
      v4c.on('error', () => resolve(false));
    });
    v4c.destroy();
    t.equal(v6ok, true, `${setting || 'default'}: ::1 connects`);
    t.equal(v4ok, v4, `${setting || 'default'}: 127.0.0.1 ${v4 ? 'connects' : 'is refused'}`);
    set.close();
  }
});

t.test('ReusePort=: two listeners on one port only with it', async (t) => {
  const port = await freePort();
  const a = SocketSet.open(socketUnit(`ListenStream=127.0.0.1:${port}\nReusePort=yes`));
  t.teardown(() => a.close());
  t.equal(getsockoptInt(a.ports[0]!.fd, SOL_SOCKET, SO_REUSEPORT).value, 1);
  const b = SocketSet.open(socketUnit(`ListenStream=127.0.0.1:${port}\nReusePort=yes`));
  b.close();
  t.pass('a second ReusePort=yes listener binds the same port');
  t.throws(() => SocketSet.open(socketUnit(`ListenStream=127.0.0.1:${port}`)), /Failed to create listening socket \(127\.0\.0\.1:\d+\): EADDRINUSE/);
});

t.test('ListenFIFO=: mode, data reaches the service at fd 3, Symlinks=, RemoveOnStop=', async (t) => {
  const fifo = join(dir, 'fifo', 'in.fifo');
  const link = join(dir, 'links', 'in');
  const set = SocketSet.open(socketUnit(`ListenFIFO=${fifo}\nSocketMode=0640\nSymlinks=${link}\nRemoveOnStop=yes\nPipeSize=128K`));
  t.ok(lstatSync(fifo).isFIFO());
  t.equal(lstatSync(fifo).mode & 0o777, 0o640);
  t.equal(readlinkSync(link), fifo);
  const w = openSync(link, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  writeSync(w, 'through the fifo\n');
  closeSync(w);
  const out = join(dir, 'fifo.out');
  const l = await launcher.launch({ path: '/bin/sh', argv: ['sh', '-c', 'echo "$LISTEN_FDNAMES"; head -n1 <&3'], env: ['PATH=/usr/bin:/bin'], fds: set.listenFds(), stdout: { path: out } });
  t.same(await l.exited, { code: 0 });
  t.equal(readFileSync(out, 'utf8'), `s${unitCount}.socket\nthrough the fifo\n`, 'named after the socket unit by default');
  set.close();
  t.notOk(existsSync(fifo), 'RemoveOnStop= removed the FIFO');
  t.throws(() => lstatSync(link), 'and the symlink');
  // Without RemoveOnStop= the node stays (systemd removes sockets before creating, not after).
  const keep = join(dir, 'keep.sock');
  SocketSet.open(socketUnit(`ListenStream=${keep}`)).close();
  t.ok(existsSync(keep));
  SocketSet.open(socketUnit(`ListenStream=${keep}`)).close();
  t.pass('a stale node is replaced on the next start (EADDRINUSE → unlink → bind)');
});

t.test('datagram, seqpacket, netlink, special, message queue: the right kind of fd', async (t) => {
  const port = await freePort();
  const mq = `/sysg-test-${process.pid}`;
  const set = SocketSet.open(
    socketUnit(
      [
        `ListenDatagram=127.0.0.1:${port}`,
        `ListenSequentialPacket=@sysg-test-seq-${process.pid}`,
        'ListenNetlink=kobject-uevent 1',
        'ListenSpecial=/dev/null',
        `ListenMessageQueue=${mq}`,
        'RemoveOnStop=yes',
      ].join('\n'),
    ),
  );
  const fd = (i: number): number => set.ports[i]!.fd;
  t.equal(getsockoptInt(fd(0), SOL_SOCKET, SO_TYPE).value, SOCK_DGRAM);
  t.equal(getsockoptInt(fd(1), SOL_SOCKET, SO_TYPE).value, SOCK_SEQPACKET);
  t.equal(getsockoptInt(fd(1), SOL_SOCKET, SO_DOMAIN).value, AF_UNIX);
  t.equal(getsockoptInt(fd(2), SOL_SOCKET, SO_DOMAIN).value, AF_NETLINK);
  t.equal(getsockoptInt(fd(2), SOL_SOCKET, SO_TYPE).value, SOCK_RAW);
  t.equal(getsockoptInt(fd(2), SOL_SOCKET, SO_PROTOCOL).value, 15, 'NETLINK_KOBJECT_UEVENT');
  t.equal(readlinkSync(`/proc/self/fd/${fd(3)}`), '/dev/null');
  t.match(readlinkSync(`/proc/self/fd/${fd(4)}`), new RegExp(`^${mq}`));
  t.same(set.ports.map((p) => p.canAccept), [false, true, false, false, false]);
  const out = join(dir, 'kinds.out');
  const l = await launcher.launch({ path: '/bin/sh', argv: ['sh', '-c', 'echo $LISTEN_FDS; ls /proc/$$/fd'], env: ['PATH=/usr/bin:/bin'], fds: set.listenFds(), stdout: { path: out } });
  t.same(await l.exited, { code: 0 });
  t.match(readFileSync(out, 'utf8'), /^5\n0\n1\n2\n3\n4\n5\n6\n7\n$/);
  set.close();
  t.equal(getsockoptInt(fd(0), SOL_SOCKET, SO_TYPE).ret, -1, 'closed');
});

t.test('socket options land on the fd', async (t) => {
  const port = await freePort();
  const path = join(dir, 'opts.sock');
  const set = SocketSet.open(
    socketUnit(
      [`ListenStream=127.0.0.1:${port}`, `ListenDatagram=${path}`, 'KeepAlive=yes', 'NoDelay=yes', 'ReceiveBuffer=256K', 'Mark=7', 'IPTOS=low-delay', 'IPTTL=9', 'Priority=3', 'PassCredentials=yes'].join('\n'),
    ),
    { onWarning: () => undefined },
  );
  t.teardown(() => set.close());
  const tcp = set.ports[0]!.fd;
  t.equal(getsockoptInt(tcp, SOL_SOCKET, SO_KEEPALIVE).value, 1);
  t.equal(getsockoptInt(tcp, SOL_TCP, TCP_NODELAY).value, 1);
  t.equal(getsockoptInt(tcp, SOL_SOCKET, SO_RCVBUF).value, 512 * 1024, 'the kernel doubles SO_RCVBUF(FORCE)');
  t.equal(getsockoptInt(tcp, SOL_SOCKET, SO_MARK).value, 7);
  t.equal(getsockoptInt(tcp, IPPROTO_IP, IP_TOS).value, 0x10);
  t.equal(getsockoptInt(tcp, IPPROTO_IP, IP_TTL).value, 9);
  // IP_TOS comes after SO_PRIORITY (as in systemd) and the kernel derives the priority from the TOS.
  t.equal(getsockoptInt(tcp, SOL_SOCKET, SO_PRIORITY).value, 6, 'TC_PRIO_INTERACTIVE from IPTOS=low-delay');
  t.equal(getsockoptInt(set.ports[1]!.fd, SOL_SOCKET, SO_PRIORITY).value, 3, 'Priority= where IP_TOS does not apply');
  t.equal(getsockoptInt(set.ports[1]!.fd, SOL_SOCKET, SO_PASSCRED).value, 1);
  // Without the directives: kernel defaults.
  const plain = SocketSet.open(socketUnit(`ListenStream=127.0.0.1:${await freePort()}`));
  t.equal(getsockoptInt(plain.ports[0]!.fd, SOL_SOCKET, SO_KEEPALIVE).value, 0);
  t.equal(getsockoptInt(plain.ports[0]!.fd, SOL_SOCKET, SO_MARK).value, 0);
  plain.close();
});

t.test("address parsing follows systemd's socket_address_parse()", async (t) => {
  const ok: Array<[string, string]> = [
    ['80', '[::]:80'],
    ['0x50', '[::]:80'],
    ['+80', '[::]:80'],
    [' 8080', '[::]:8080'],
    ['1.2.3.4:80', '1.2.3.4:80'],
    ['[::1]:80', '[::1]:80'],
    ['[::ffff:1.2.3.4]:443', '[1.2.3.4]:443'],
    ['[2001:db8::1:0:0:1]:53', '[2001:db8::1:0:0:1]:53'],
    ['[fe80::1]:80%lo', '[fe80::1]:80%1'],
    ['127.0.0.1:80%lo', '127.0.0.1:80'],
    ['/run/foo.sock', '/run/foo.sock'],
    ['@abstract', '@abstract'],
  ];
  for (const [input, want] of ok) t.equal(formatAddress(parseSocketAddress(input)), want, input);
  const bad: Array<[string, string]> = [
    ['', 'EINVAL'],
    ['0', 'EINVAL'],
    ['65536', 'ERANGE'],
    ['80 ', 'EINVAL'],
    ['-1', 'EINVAL'],
    ['1.2.3.4', 'EINVAL'],
    ['1.2.3.256:80', 'EINVAL'],
    ['01.2.3.4:80', 'EINVAL'],
    ['1.2.3.4:0', 'EINVAL'],
    ['[::1]', 'EINVAL'],
    ['::1:80', 'EINVAL'],
    ['[::1:80', 'EINVAL'],
    ['[::g]:80', 'EINVAL'],
    ['localhost:80', 'EINVAL'],
    ['relative/path', 'EINVAL'],
    ['@', 'EINVAL'],
    ['/', 'EINVAL'],
    ['/' + 'x'.repeat(107), 'ENAMETOOLONG'],
    ['@' + 'x'.repeat(107), 'EINVAL'],
    ['1.2.3.4:80%nosuchdev0', 'ENODEV'],
    ['1.2.3.4:80%bad/name', 'EINVAL'],
    ['1.2.3.4:80#name', 'EINVAL'],
    ['vsock:2:1234', 'EAFNOSUPPORT'],
  ];
  for (const [input, code] of bad) {
    t.equal(caught(() => parseSocketAddress(input), AddressError)?.errno, code, `${JSON.stringify(input)} → ${code}`);
  }
  t.same(parseNetlinkAddress('kobject-uevent 1'), { family: 'netlink', protocol: 15, groups: 1 });
  t.same(parseNetlinkAddress('route'), { family: 'netlink', protocol: 0, groups: 0 });
  t.same(parseNetlinkAddress('16 3'), { family: 'netlink', protocol: 16, groups: 3 });
  t.throws(() => parseNetlinkAddress('nosuchfamily 1'), AddressError);
  t.throws(() => parseNetlinkAddress('route x'), AddressError);
});

t.test('fail closed: unknown fields, unsupported Listen kinds and bad combinations are refused, naming the field; nothing stays open', async (t) => {
  const refuse = (svc: ServiceView, field: string, msg: RegExp, opts = {}): void => {
    const e = caught(() => SocketSet.open(svc, opts), Error) as (Error & { field?: string }) | undefined;
    t.ok(e instanceof SocketSetupError || e?.name === 'ModelError', `${field}: a SocketSetupError or ModelError`);
    t.equal(e?.field, field);
    t.match(e?.message, msg);
  };
  refuse(model({ listen: [{ type: 'stream', address: '/tmp/x' }], poll_limit_burst: 3 }), 'socket.poll_limit_burst', /not supported by sysg's socket activation/);
  t.doesNotThrow(() => SocketSet.open(model({ listen: [{ type: 'stream', address: `@sysg-ok-${process.pid}` }], poll_limit_burst: 3 }), { handledElsewhere: ['poll_limit_burst'] }).close());
  refuse(model({ listen: [{ type: 'stream', address: `@a${process.pid}` }], mystery: true }), 'socket.mystery', /socket\.mystery is not supported/);
  refuse(model({ listen: [] }), 'socket.listen', /Unit has no Listen setting/);
  refuse(model({ listen: [{ type: 'stream', address: 'vsock:2:1234' }] }), 'socket.listen', /AF_VSOCK addresses are not supported/);
  refuse(model({ listen: [{ type: 'usb-function', address: '/dev/usb-ffs/x' }] }), 'socket.listen', /not supported by sysg/);
  refuse(model({ listen: [{ type: 'sequential-packet', address: '127.0.0.1:99' }] }), 'socket.listen', /Address family not supported/);
  refuse(model({ listen: [{ type: 'datagram', address: '127.0.0.1:99' }], accept: true }), 'socket.accept', /sockets are non-accepting/);
  refuse(model({ listen: [{ type: 'stream', address: '127.0.0.1:99' }], accept: true, max_connections: 0 }), 'socket.max_connections', /MaxConnection= setting too small/);
  refuse(model({ listen: [{ type: 'fifo', address: '/tmp/a' }, { type: 'fifo', address: '/tmp/b' }], symlinks: ['/tmp/l'] }), 'socket.symlinks', /more than one node/);
  refuse(model({ listen: [{ type: 'stream', address: '@x' }], file_descriptor_name: 'a:b' }), 'socket.file_descriptor_name', /invalid file descriptor name/);
  refuse(model({ listen: [{ type: 'stream', address: '@x' }], bind_ipv6_only: 'maybe' }), 'socket.bind_ipv6_only', /expected default, both or ipv6-only/);
  refuse(model({ listen: [{ type: 'stream', address: '@x' }], socket_mode: '0999' }), 'socket.socket_mode', /octal access mode/);
  refuse(model({ listen: [{ type: 'stream', address: '@x' }], socket_user: 'no-such-user-here' }), 'socket.socket_user', /no such user/);
  // A failure after some ports were created leaves nothing open.
  const first = join(dir, 'rollback', 'first.sock');
  refuse(model({ listen: [{ type: 'stream', address: first }, { type: 'special', address: '/nonexistent/special' }] }), 'socket.listen', /Failed to open special file \/nonexistent\/special: ENOENT/);
  t.ok(existsSync(first), 'the node stays (no RemoveOnStop=), as systemd leaves it');
  t.equal(await exchange({ path: first }, 'x'), 'error:ECONNREFUSED', 'but nothing listens on it any more');
  const gone = join(dir, 'rollback', 'gone.sock');
  refuse(model({ listen: [{ type: 'stream', address: gone }, { type: 'special', address: '/nonexistent/special' }], remove_on_stop: true }), 'socket.listen', /ENOENT/);
  t.notOk(existsSync(gone), 'with RemoveOnStop= it is removed too');
  t.ok(SOCKET_FIELDS.includes('listen') && SOCKET_LIFECYCLE_FIELDS.includes('service'));
  t.same(SOCKET_FIELDS.filter((f) => SOCKET_LIFECYCLE_FIELDS.includes(f)), [], 'the two lists are disjoint');
});

t.test('FlushPending=: queued connections and datagrams are dropped, even on fds a service made blocking', async (t) => {
  const pending = (fd: number): boolean => {
    const p = Buffer.alloc(8);
    p.writeInt32LE(fd, 0);
    p.writeInt16LE(POLLIN, 4);
    return poll(p, 1, 0) > 0;
  };
  for (const flush of [true, false]) {
    const [sp, dp] = [await freePort(), await freePort()];
    const set = SocketSet.open(socketUnit(`ListenStream=127.0.0.1:${sp}\nListenDatagram=127.0.0.1:${dp}\nFlushPending=${flush ? 'yes' : 'no'}`));
    const clients = [netConnect(sp, '127.0.0.1'), netConnect(sp, '127.0.0.1')];
    await Promise.all(clients.map((c) => new Promise((resolve) => c.on('connect', resolve))));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.send('queued', dp, '127.0.0.1', () => resolve()));
    udp.close();
    while (!pending(set.ports[0]!.fd) || !pending(set.ports[1]!.fd)) await new Promise((resolve) => setImmediate(resolve));
    // What NonBlocking=no does to the shared open file descriptions in the service.
    for (const p of set.ports) fcntl(p.fd, F_SETFL, fcntl(p.fd, F_GETFL, 0) & ~O_NONBLOCK);
    set.flushPending();
    t.equal(pending(set.ports[0]!.fd), !flush, `FlushPending=${flush}: connections ${flush ? 'gone' : 'still queued'}`);
    t.equal(pending(set.ports[1]!.fd), !flush, `FlushPending=${flush}: datagram ${flush ? 'gone' : 'still queued'}`);
    for (const c of clients) c.destroy();
    set.close();
  }
});

t.test("Accept=yes instance names and REMOTE_ADDR over IPv6 and v4-mapped IPv4, as instance_from_socket()", async (t) => {
  const port = await freePort();
  const set = SocketSet.open(socketUnit(`ListenStream=${port}\nAccept=yes`, true));
  t.teardown(() => set.close());
  const seen: Connection[] = [];
  set.watch({ onConnection: (c) => (seen.push(c), c.release()) });
  for (const host of ['::1', '127.0.0.1']) {
    const c = netConnect(port, host);
    await new Promise((resolve) => c.on('connect', resolve));
    while (seen.length < (host === '::1' ? 1 : 2)) await new Promise((resolve) => setImmediate(resolve));
    c.destroy();
  }
  t.match(seen[0]!.instance, new RegExp(`^0-::1:${port}-::1:\\d+$`));
  t.match(seen[0]!.env, ['REMOTE_ADDR=::1', /^REMOTE_PORT=\d+$/]);
  t.match(seen[1]!.instance, new RegExp(`^1-127\\.0\\.0\\.1:${port}-127\\.0\\.0\\.1:\\d+$`));
  t.match(seen[1]!.env, ['REMOTE_ADDR=127.0.0.1', /^REMOTE_PORT=\d+$/]);
  t.equal(set.connections, 0);
});
