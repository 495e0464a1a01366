/**
 * sd_notify reception: real services started through the Launcher with
 * NOTIFY_SOCKET in their environment (systemd-notify from systemd 252, and a
 * python3 client for fds, barriers and garbage), checked on the receiving
 * side: events, SCM_CREDENTIALS, NotifyAccess= filtering, FDSTORE fd passing,
 * BARRIER=1, and survival of malformed datagrams.
 */
import t from 'tap';
import { existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import type { Exit } from '../src/launch/protocol.js';
import {
  effectiveNotifyAccess,
  FdStore,
  interpretNotify,
  needsNotifySocket,
  notifySocketPath,
  notifyRefusal,
  NotifySocket,
  splitNotifyTags,
  type NotifyAccessState,
  type NotifyMessage,
  type NotifyNote,
} from '../src/supervise/notify.js';
import { close, fcntl, getpid } from '../src/sys/libc.js';
import { F_DUPFD_CLOEXEC } from '../src/sys/constants.js';
import { socket, sendto } from '../src/sys/libc-socket.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from '../src/sys/constants-socket.js';
import { unixSockaddr } from '../src/supervise/notify.js';

const PYTHON = '/usr/bin/python3';
const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';
const dir = mkdtempSync(join(tmpdir(), 'sysg-notify-'));
let launcher: Launcher;
t.before(async () => {
  launcher = await Launcher.start();
});
t.teardown(async () => {
  await launcher.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A python sd_notify client: each argv word is a command. */
const CLIENT = join(dir, 'client.py');
writeFileSync(
  CLIENT,
  String.raw`
import os, socket, sys, select
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"): addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(addr)
def send(data, fds=()):
    if fds: socket.send_fds(s, [data], list(fds))
    else: s.send(data)
def barrier():
    r, w = os.pipe()
    send(b"BARRIER=1", [w]); os.close(w)
    ok = select.select([r], [], [], 10)[0]
    os.close(r)
    print("barrier", "ok" if ok else "timeout", flush=True)
for cmd in sys.argv[1:]:
    kind, _, arg = cmd.partition(":")
    if kind == "send": send(arg.encode().decode("unicode_escape").encode("latin1"))
    elif kind == "raw": send(bytes.fromhex(arg))
    elif kind == "barrier": barrier()
    elif kind == "memfd":
        fd = os.memfd_create("stored"); os.write(fd, arg.encode()); send(b"FDSTORE=1\nFDNAME=mine", [fd]); os.close(fd)
    elif kind == "pipe-store":
        r, w = os.pipe(); send(arg.encode().decode("unicode_escape").encode(), [r]); os.close(r)
        print("pipe", os.fstat(w).st_ino, flush=True)
        globals()["held"] = w
    elif kind == "close-held": os.close(held)
    elif kind == "pipe-closed?":
        # our read end was sent and closed here: EPIPE proves the receiver closed its copy
        try: os.write(held, b"x"); print("pipe open", flush=True)
        except BrokenPipeError: print("pipe closed", flush=True)
    elif kind == "fork-send":
        pid = os.fork()
        if pid == 0: send(arg.encode()); os._exit(0)
        os.waitpid(pid, 0)
`,
);

interface Received {
  messages: NotifyMessage[];
  notes: NotifyNote[];
}

function notifySocket(name: string, access: () => NotifyAccessState, onMessage?: (m: NotifyMessage) => void): { sock: NotifySocket; got: Received } {
  const got: Received = { messages: [], notes: [] };
  const sock = new NotifySocket({
    address: name.startsWith('@') ? name : join(dir, 'run', name),
    access,
    onMessage: (m) => {
      got.messages.push(m);
      onMessage?.(m);
    },
    onNote: (n) => got.notes.push(n),
  });
  return { sock, got };
}

/** Launches with NOTIFY_SOCKET while reading is paused, so the main pid is known before any datagram is judged. */
async function run(sock: NotifySocket, state: { mainPid?: number }, path: string, argv: string[], out?: string): Promise<{ pid: number; exit: Exit }> {
  sock.pause();
  const plan: LaunchPlan = {
    path,
    argv,
    env: ['PATH=/usr/bin:/bin', `NOTIFY_SOCKET=${sock.address}`],
    ...(out ? { stdout: { path: out } } : {}),
  };
  const l = await launcher.launch(plan);
  state.mainPid = l.pid;
  sock.resume();
  const end = await l.exited;
  if ('lost' in end) throw new Error(end.lost);
  return { pid: l.pid, exit: end };
}

t.test('systemd-notify --ready --status=hi: READY, STATUS, credentials, and the barrier it waits for', async (t) => {
  const state: { mainPid?: number } = {};
  const { sock, got } = notifySocket('sdn', () => ({ access: 'main', mainPid: state.mainPid }));
  t.teardown(() => sock.close());
  // systemd-notify 252 run as root claims its PARENT's pid in SCM_CREDENTIALS (it may: it has
  // CAP_SYS_ADMIN), so from a shell script the datagram counts as the main process's.
  // --uid=nobody only changes the real uid, which the kernel then reports.
  const r = await run(sock, state, '/bin/sh', ['sh', '-c', `${SYSTEMD_NOTIFY} --ready --status=hi && ${SYSTEMD_NOTIFY} --uid=nobody --status=as-nobody`]);
  t.same(r.exit, { code: 0 }, 'systemd-notify got its barriers answered (it fails after 5 s otherwise)');
  t.equal(got.messages.length, 2);
  const [m, n] = got.messages;
  t.equal(m?.ready, true);
  t.equal(m?.status, 'hi');
  t.same(m?.sender, { pid: r.pid, uid: 0, gid: 0 }, 'SCM_CREDENTIALS: the main process, as root');
  t.match(n, { status: 'as-nobody', ready: false, sender: { pid: r.pid, uid: 65534 } });
  t.same(got.notes, []);
  t.ok(existsSync(sock.address), 'the socket node exists while open');
  sock.close();
  t.notOk(existsSync(sock.address), 'close() removes it');
});

t.test('an exec\'d systemd-notify claims the pid of whoever forked the service: refused under NotifyAccess=main', async (t) => {
  const state: { mainPid?: number } = {};
  const { sock, got } = notifySocket('sdn-exec', () => ({ access: 'main', mainPid: state.mainPid }));
  t.teardown(() => sock.close());
  const r = await run(sock, state, '/bin/sh', ['sh', '-c', `exec ${SYSTEMD_NOTIFY} --ready`]);
  t.same(r.exit, { code: 0 }, 'the barrier is answered before any authorization');
  t.same(got.messages, []);
  t.same(got.notes.map((n) => n.message), [`Got notification message from PID ${launcher.pid}, but reception only permitted for main PID ${r.pid}`]);
});

t.test('NotifyAccess=main drops a child process; all takes it; none takes nothing; exec takes the control pid', async (t) => {
  for (const access of ['main', 'all', 'none', 'exec'] as const) {
    const state: { mainPid?: number } = {};
    // exec: the process is launched as a control process (ExecStartPre=-like), no main pid known.
    const { sock, got } = notifySocket(`acc-${access}`, () =>
      access === 'exec' ? { access, controlPid: state.mainPid } : { access, mainPid: state.mainPid },
    );
    const out = join(dir, `acc-${access}.out`);
    const r = await run(sock, state, PYTHON, ['python3', CLIENT, 'fork-send:STATUS=from-child', 'send:STATUS=from-main', 'barrier'], out);
    sock.close();
    t.same(r.exit, { code: 0 });
    t.equal(readFileSync(out, 'utf8'), 'barrier ok\n');
    const statuses = got.messages.map((m) => m.status);
    if (access === 'main' || access === 'exec') {
      t.same(statuses, ['from-main'], `${access}: only the main/control process is heard`);
      t.equal(got.messages[0]?.sender.pid, r.pid);
      const who = access === 'main' ? `main PID ${r.pid}` : `control PID ${r.pid}`;
      t.match(got.notes.map((n) => n.message), [new RegExp(`^Got notification message from PID (\\d+), but reception only permitted for ${who}$`)]);
      t.not(got.notes[0]?.pid, r.pid, 'the refused sender is the child');
    } else if (access === 'all') {
      t.same(statuses, ['from-child', 'from-main']);
      t.not(got.messages[0]?.sender.pid, r.pid, 'the child has its own pid');
      t.equal(got.messages[1]?.sender.pid, r.pid);
    } else {
      t.same(statuses, []);
      t.equal(got.notes.length, 2);
      t.match(got.notes[0]?.message, /but reception is disabled$/);
    }
  }
});

t.test('NotifyAccess=all still requires the sender to belong to the service (cgroup routing)', async (t) => {
  const state: { mainPid?: number } = {};
  const { sock, got } = notifySocket('belongs', () => ({ access: 'all', mainPid: state.mainPid, belongs: (pid) => pid === state.mainPid }));
  t.teardown(() => sock.close());
  const r = await run(sock, state, PYTHON, ['python3', CLIENT, 'fork-send:STATUS=forked', 'send:STATUS=main', 'barrier'], join(dir, 'belongs.out'));
  t.same(r.exit, { code: 0 });
  t.same(got.messages.map((m) => m.status), ['main']);
  t.match(got.notes[0]?.message, /^Cannot find unit for notify message of PID \d+, ignoring\.$/);
});

t.test('FDSTORE=1: the fd reaches the store and the next launch gets it with its name', async (t) => {
  const state: { mainPid?: number } = {};
  const store = new FdStore(4);
  t.teardown(() => store.clear());
  const { sock, got } = notifySocket('fdstore', () => ({ access: 'main', mainPid: state.mainPid }), (m) => {
    if (m.fdStore) store.add(m.fdStore.fds, m.fdStore.name, m.fdStore.poll);
  });
  t.teardown(() => sock.close());
  const out = join(dir, 'fdstore.out');
  const r = await run(sock, state, PYTHON, ['python3', CLIENT, 'memfd:kept across restarts', 'barrier'], out);
  t.same(r.exit, { code: 0 });
  t.equal(readFileSync(out, 'utf8'), 'barrier ok\n');
  t.equal(got.messages.length, 1);
  t.same(got.messages[0]!.fdStore?.name, 'mine');
  t.equal(store.size, 1);
  const [stored] = store.listenFds();
  t.match(readlinkSync(`/proc/self/fd/${stored!.fd}`), /^\/memfd:stored/);
  // The next start of the service gets the stored fd at 3, named.
  const out2 = join(dir, 'fdstore2.out');
  const l = await launcher.launch({
    path: '/bin/sh',
    argv: ['sh', '-c', 'echo "$LISTEN_FDS $LISTEN_FDNAMES"; cat /proc/self/fd/3'],
    env: ['PATH=/usr/bin:/bin'],
    fds: store.listenFds(),
    stdout: { path: out2 },
  });
  t.same(await l.exited, { code: 0 });
  t.equal(readFileSync(out2, 'utf8'), '1 mine\nkept across restarts');
});

t.test('fds that are not stored are closed: without FDSTORE=1, unauthorized, FDSTOREREMOVE, FDPOLL hangup', async (t) => {
  const state: { mainPid?: number } = {};
  const store = new FdStore(8);
  t.teardown(() => store.clear());
  let access: NotifyAccessState['access'] = 'main';
  const { sock, got } = notifySocket('fdclose', () => ({ access, mainPid: state.mainPid }), (m) => {
    if (m.fdStore) store.add(m.fdStore.fds, m.fdStore.name, m.fdStore.poll);
    if (m.fdStoreRemove) store.remove(m.fdStoreRemove);
  });
  t.teardown(() => sock.close());
  const out = join(dir, 'fdclose.out');
  // 1: READY=1 with an fd: closed by us, so python's write end sees EPIPE.
  let r = await run(sock, state, PYTHON, ['python3', CLIENT, 'pipe-store:READY=1', 'barrier', 'pipe-closed?'], out);
  t.same(r.exit, { code: 0 });
  t.match(readFileSync(out, 'utf8'), /barrier ok\npipe closed\n$/);
  t.match(got.notes.map((n) => n.message), ['Got extra auxiliary fds with notification message, closing them.']);
  // 2: FDSTORE=1 with FDPOLL=0: kept, so the pipe stays open.
  r = await run(sock, state, PYTHON, ['python3', CLIENT, 'pipe-store:FDSTORE=1\\nFDNAME=held\\nFDPOLL=0', 'barrier', 'pipe-closed?'], out);
  t.match(readFileSync(out, 'utf8'), /barrier ok\npipe open\n$/);
  t.equal(store.size, 1);
  // 3: FDSTOREREMOVE=1 drops it.
  r = await run(sock, state, PYTHON, ['python3', CLIENT, 'send:FDSTOREREMOVE=1\\nFDNAME=held', 'barrier'], out);
  t.equal(store.size, 0);
  // 4: a polled stored pipe goes away when its writer hangs up.
  r = await run(sock, state, PYTHON, ['python3', CLIENT, 'pipe-store:FDSTORE=1', 'barrier', 'close-held'], out);
  t.same(r.exit, { code: 0 });
  while (store.size > 0) await new Promise((resolve) => setImmediate(resolve));
  t.pass('the hung-up fd left the store');
  // 5: unauthorized (a forked child under main) FDSTORE=1: closed.
  access = 'none';
  const before = readdirSync('/proc/self/fd').length;
  r = await run(sock, state, PYTHON, ['python3', CLIENT, 'pipe-store:FDSTORE=1', 'barrier', 'pipe-closed?'], out);
  t.match(readFileSync(out, 'utf8'), /barrier ok\npipe closed\n$/);
  t.equal(store.size, 0);
  t.equal(readdirSync('/proc/self/fd').length, before, 'no fd leaked into the supervisor');
});

t.test('every sd_notify field is parsed as systemd does', async (t) => {
  const state: { mainPid?: number } = {};
  const { sock, got } = notifySocket('@sysg-notify-test-' + process.pid, () => ({ access: 'main', mainPid: state.mainPid }));
  t.teardown(() => sock.close());
  const msgs = [
    'READY=1\\nSTATUS=Serving\\nMAINPID=4242\\nWATCHDOG=1\\nERRNO=2\\nBUSERROR=org.example.Err\\nEXTEND_TIMEOUT_USEC=5000000',
    'RELOADING=1\\nMONOTONIC_USEC=123456789\\nWATCHDOG_USEC=20000000',
    'STOPPING=1\\nWATCHDOG=trigger\\nERRNO=EPERM\\nSTATUS=',
    'WATCHDOG=2\\nMAINPID=-1\\nERRNO=99999\\nEXTEND_TIMEOUT_USEC=x\\nNOTIFYACCESS=exec\\nRESTART_RESET=1',
  ];
  const r = await run(sock, state, PYTHON, ['python3', CLIENT, ...msgs.map((m) => `send:${m}`), 'barrier'], join(dir, 'fields.out'));
  t.same(r.exit, { code: 0 });
  t.equal(sock.address[0], '@', 'an abstract address works too');
  const [a, b, c, d] = got.messages;
  t.match(a, { ready: true, status: 'Serving', mainPid: 4242, watchdog: 'ping', errno: 2, busError: 'org.example.Err', extendTimeoutUsec: 5000000n, warnings: [] });
  t.match(b, { reloading: true, ready: false, monotonicUsec: 123456789n, watchdogUsec: 20000000n });
  t.match(c, { stopping: true, watchdog: 'trigger', errno: 1, status: null });
  t.match(d, { notifyAccess: 'exec', restartReset: true });
  t.equal(d?.watchdog, undefined);
  t.equal(d?.mainPid, undefined);
  t.equal(d?.errno, undefined);
  t.same(d?.warnings, [
    'Failed to parse MAINPID=-1 field in notification message, ignoring.',
    "Failed to parse ERRNO= field value '99999' in notification message.",
    'Failed to parse EXTEND_TIMEOUT_USEC=x',
    'Passed WATCHDOG= field is invalid, ignoring.',
  ]);
});

t.test('garbage never breaks the socket: oversized, NUL, bad UTF-8, trailing backslash, random bytes', async (t) => {
  const state: { mainPid?: number } = {};
  const { sock, got } = notifySocket('garbage', () => ({ access: 'main', mainPid: state.mainPid }));
  t.teardown(() => sock.close());
  const big = 'STATUS=' + 'x'.repeat(5000);
  const exact = 'STATUS=' + 'y'.repeat(4096 - 7);
  const cmds = [
    `send:${big}`,
    `send:${exact}`,
    'raw:5245414459 3d3100 4142'.replace(/ /g, ''), // READY=1\0AB: embedded NUL
    'raw:5245414459 3d3100'.replace(/ /g, ''), // READY=1\0: one trailing NUL is fine
    'raw:5354415455533dff fe', // STATUS=\xff\xfe: not UTF-8
    'send:STATUS=trailing\\\\', // a lone trailing backslash
    'send:\\n\\n\\r\\n',
    'raw:',
  ].map((c) => c.replace(/ /g, ''));
  const r = await run(sock, state, PYTHON, ['python3', CLIENT, ...cmds, 'send:STATUS=still alive', 'barrier'], join(dir, 'garbage.out'));
  t.same(r.exit, { code: 0 });
  const statuses = got.messages.map((m) => m.status);
  t.same(statuses, ['y'.repeat(4096 - 7), undefined, null, undefined, undefined, 'still alive']);
  t.equal(got.messages[1]?.ready, true, 'READY=1 with one trailing NUL');
  t.same(got.messages[2]?.warnings, ['Status message in notification message is not UTF-8 clean, ignoring.']);
  t.same(
    got.notes.map((n) => n.message),
    [
      'Received notify message exceeded maximum size. Ignoring.',
      'Received notify message with embedded NUL bytes. Ignoring.',
      'Failed to split notification message into tags, ignoring.',
    ],
  );

  // Thousands of random datagrams from this very process (its pid made the main pid).
  state.mainPid = getpid();
  const tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  t.teardown(() => close(tx));
  const { addr, len } = unixSockaddr(sock.address);
  const seed = [0x12345678];
  const rand = (n: number): number => {
    seed[0] = (Math.imul(seed[0]!, 1103515245) + 12345) >>> 0;
    return seed[0]! % n;
  };
  const words = ['READY=1', 'STATUS=', 'MAINPID=', 'ERRNO=', 'WATCHDOG=', 'FDSTORE=1', 'FDNAME=', 'BARRIER=1', '\\', '\n', '\0', '\xff', '='];
  const before = got.messages.length;
  let sent = 0;
  for (let i = 0; i < 2000; i++) {
    const parts: string[] = [];
    for (let k = rand(8); k > 0; k--) parts.push(rand(2) ? words[rand(words.length)]! : String.fromCharCode(rand(256)));
    const buf = Buffer.from(parts.join(''), 'latin1');
    // net.unix.max_dgram_qlen is small (10 here): let the receiver drain when the queue is full.
    while (sendto(tx, buf, buf.length, 0, addr, len) < 0) await new Promise((resolve) => setImmediate(resolve));
    sent++;
  }
  const ping = Buffer.from('STATUS=end of fuzz');
  while (sendto(tx, ping, ping.length, 0, addr, len) < 0) await new Promise((resolve) => setImmediate(resolve));
  while (got.messages.at(-1)?.status !== 'end of fuzz') await new Promise((resolve) => setImmediate(resolve));
  t.equal(sent, 2000);
  t.ok(got.messages.length > before, 'valid ones among them were delivered');
});

t.test('pure parts: tag splitting, interpretation and authorization', async (t) => {
  t.equal(effectiveNotifyAccess({ type: 'notify' }), 'main');
  t.equal(effectiveNotifyAccess({ type: 'simple' }), 'none');
  t.equal(effectiveNotifyAccess({ type: 'simple', watchdogUsec: 1 }), 'main');
  t.equal(effectiveNotifyAccess({ type: 'simple', fdStoreMax: 4 }), 'main');
  t.equal(effectiveNotifyAccess({ type: 'notify', configured: 'all' }), 'all');
  t.equal(effectiveNotifyAccess({ type: 'notify', configured: 'none' }), 'main', "systemd can't tell an explicit none from the default");
  t.equal(effectiveNotifyAccess({ type: 'simple', configured: 'none' }), 'none');
  t.same([needsNotifySocket('main', false), needsNotifySocket('main', true), needsNotifySocket('exec', true), needsNotifySocket('none', false)], [true, false, true, false]);
  t.equal(notifySocketPath('/run/sysg/notify/', 'web.service'), '/run/sysg/notify/web.service');
  t.match(notifySocketPath('/run/sysg/notify', 'x'.repeat(120) + '.service'), /^\/run\/sysg\/notify\/[0-9a-f]{32}$/);
  t.same(splitNotifyTags('READY=1\nSTATUS=a b\n'), ['READY=1', 'STATUS=a b']);
  t.same(splitNotifyTags('\r\nA=1\r\n\r\nB=2'), ['A=1', 'B=2']);
  t.same(splitNotifyTags('STATUS=a\\nb\\\\c'), ['STATUS=anb\\c'], 'backslash escapes (extract_first_word)');
  t.equal(splitNotifyTags('STATUS=x\\'), undefined);
  const s = { pid: 9, uid: 0, gid: 0 };
  t.same(interpretNotify(s, ['STATUS=first', 'STATUS=second'], []).status, 'first', 'the first assignment wins (strv_find_startswith)');
  t.same(interpretNotify(s, ['FDSTORE=1', 'FDNAME=a:b'], [7]).fdStore, { fds: [7], name: undefined, poll: true });
  t.same(interpretNotify(s, ['FDSTOREREMOVE=1'], []).warnings, ['FDSTOREREMOVE=1 requested, but no valid file descriptor name passed, ignoring.']);
  t.equal(interpretNotify(s, ['BUSERROR=bad\tvalue'], []).busError, undefined);
  t.equal(notifyRefusal(5, { access: 'all' }), undefined);
  t.equal(notifyRefusal(5, { access: 'main' }), 'Got notification message from PID 5, but reception only permitted for main PID which is currently not known');
  t.equal(notifyRefusal(5, { access: 'exec', mainPid: 6, controlPid: 7 }), 'Got notification message from PID 5, but reception only permitted for main PID 6 and control PID 7');
  t.equal(notifyRefusal(7, { access: 'exec', mainPid: 6, controlPid: 7 }), undefined);
  for (let i = 0; i < 5000; i++) {
    const tags = Array.from({ length: i % 7 }, (_, k) => String.fromCharCode(...Array.from({ length: (i * 7 + k) % 13 }, (_, j) => (i * 31 + j * 17 + k) % 128)));
    interpretNotify(s, tags, []);
  }
  t.pass('no input makes interpretNotify throw');
});

t.test('FdStore: FileDescriptorStoreMax= is a hard limit, duplicates are dropped, newest first', async (t) => {
  const notes: string[] = [];
  const store = new FdStore(2, (n) => notes.push(n.message));
  t.teardown(() => store.clear());
  const state: { mainPid?: number } = {};
  const { sock } = notifySocket('fdmax', () => ({ access: 'main', mainPid: state.mainPid }), (m) => {
    if (m.fdStore) store.add(m.fdStore.fds, m.fdStore.name, m.fdStore.poll);
  });
  t.teardown(() => sock.close());
  const r = await run(sock, state, PYTHON, ['python3', CLIENT, 'memfd:one', 'memfd:two', 'memfd:three', 'barrier'], join(dir, 'fdmax.out'));
  t.same(r.exit, { code: 0 });
  t.equal(store.size, 2);
  t.same(notes, ['Cannot store more fds than FileDescriptorStoreMax=2, closing remaining.']);
  const contents = store.listenFds().map((l) => readFileSync(`/proc/self/fd/${l.fd}`, 'utf8'));
  t.same(contents, ['two', 'one'], 'newest first (LIST_PREPEND)');
  // The same open file again is suppressed.
  const dupSource = store.listenFds()[0]!.fd;
  const again = openSync(`/proc/self/fd/${dupSource}`, 'r');
  store.remove('mine');
  t.equal(store.size, 0);
  store.add([again], 'x');
  t.equal(store.size, 1);
  const copy = fcntl(again, F_DUPFD_CLOEXEC, 0);
  store.add([copy], 'x');
  t.equal(store.size, 1, 'a dup of a stored fd is not stored twice');
  t.match(notes.at(-1), /^Suppressing duplicate fd \d+ in fd store\.$/);
});
