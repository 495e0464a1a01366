/**
 * The zygote: a quiet, single-threaded node process that forks every service.
 *
 *   node --single-threaded --v8-pool-size=0 --no-opt --no-lazy --no-flush-bytecode \
 *        zygote-main.js <supervisor pid>   (ZYGOTE_V8_FLAGS in launcher.ts)
 *
 * fd 3 is a socket to the supervisor carrying JSON lines (protocol.ts); fds
 * 0-2 are left alone so services never see the control channel. The zygote
 * keeps still between requests (no timers, no fs streams: the libuv
 * threadpool has a single idle thread from module loading), so nothing runs
 * concurrently with fork. It is a subreaper and reports every exit.
 */
import { describeMountFailure } from '../mechanisms/mounts-failure.js';
import { Socket } from 'node:net';
import { FD_CLOEXEC, F_SETFD, O_CLOEXEC, O_RDWR, PR_SET_CHILD_SUBREAPER } from '../sys/constants.js';
import { cString, cStringArray } from '../sys/cmem.js';
import { check, describeErrno, errno, SysError } from '../sys/errno.js';
import { close, execve, fcntl, getppid, open, pidfd_open, prctl } from '../sys/libc.js';
import { compilePlan, type CompiledPlan } from './compile.js';
import { writeIdMaps, type UserNamespaceMaps } from '../mechanisms/namespaces.js';
import { forkExec, placeSources, SourceError, type FdSources, type ForkHooks, type ForkOutcome } from './fork.js';
import { userNamespaceMaps } from './ops-namespaces.js';
import { PlanError } from './plan.js';
import type { Reply, Request, WireError } from './protocol.js';
import { Reaper } from './reaper.js';
import { checkDontFork, initSweep } from './sweep.js';

const CTL_FD = 3;
const ETIMEDOUT = 110;
const DEFAULT_TIMEOUT_MS = 10_000;

function launch(req: Extract<Request, { op: 'launch' }>, from: FdSources, reaper: Reaper, send: (r: Reply) => void): void {
  const id = req.id;
  const fail = (error: WireError): void => send({ type: 'error', id, error });
  let plan: CompiledPlan;
  let maps: UserNamespaceMaps | undefined;
  try {
    plan = compilePlan(req.plan);
    maps = userNamespaceMaps(req.plan);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    return fail({ kind: 'plan', step: 'plan', index: -1, errno: 22, exitCode: null, message: e.message });
  }
  let placed: number[];
  try {
    placed = placeSources(plan, from);
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    // Blame the op that would have used the fd: stdin/stdout/stderr or fds.
    const name = e.target < 3 ? ['stdin', 'stdout', 'stderr'][e.target]! : 'fds';
    const index = plan.ops.findIndex((o) => o.name === name);
    return fail({ kind: 'step', step: name, index, errno: e.errno, exitCode: plan.ops[index]!.exitCode, message: `${e.message}: ${describeErrno(e.errno)}` });
  }
  const timeoutMs = Number.isFinite(req.timeoutMs) && req.timeoutMs > 0 ? req.timeoutMs : DEFAULT_TIMEOUT_MS;
  let out: ForkOutcome;
  try {
    // PrivateUsers=: the child reports REC_USERNS after unshare(CLONE_NEWUSER); the zygote maps it.
    const hooks: ForkHooks = maps ? { userns: (pid) => writeIdMaps(pid, maps) } : {};
    out = forkExec(plan, timeoutMs, hooks);
  } finally {
    for (const fd of placed) close(fd);
  }
  if (out.kind === 'exec') {
    // Reply before watching, so the exit report always follows the exec report.
    send({ type: 'exec', id, pid: out.pid });
    reaper.watch(out.pid, (exit) => send({ type: 'exit', id, pid: out.pid, exit }));
    return;
  }
  if (out.kind === 'timeout') {
    return fail({ kind: 'timeout', step: 'timeout', index: -1, errno: ETIMEDOUT, exitCode: null, pid: out.pid, message: `no exec within ${timeoutMs} ms; killed` });
  }
  const op = plan.ops[out.index];
  const exited = (out.status & 0x7f) === 0 ? (out.status >> 8) & 0xff : null;
  // The mount step leaves which entry failed in a shared page (mounts-failure.ts).
  const detail = op?.name === 'mount-namespace' ? describeMountFailure() : undefined;
  fail({
    kind: 'step',
    step: op?.name ?? `op#${out.index}`,
    index: out.index,
    ...(op?.planStep !== undefined ? { planStep: op.planStep } : {}),
    errno: out.errno,
    exitCode: exited ?? op?.exitCode ?? null,
    pid: out.pid,
    ...(detail ? { message: detail.message } : {}),
  });
}

/**
 * NODE_OPTIONS can only add preloads and loader hooks, i.e. threads (a module
 * hooks thread is a whole second isolate, which every fork would then copy).
 * Test runners inject it into every child they see spawned, whatever env the
 * parent passes. So the zygote re-executes itself once without it. Node
 * marks fds 0-2 CLOEXEC, so they (and the control socket) are cleared first.
 */
function reexecWithoutNodeOptions(): void {
  if (process.env['NODE_OPTIONS'] === undefined) return;
  const env = Object.entries(process.env)
    .filter(([k]) => k !== 'NODE_OPTIONS')
    .map(([k, v]) => `${k}=${v ?? ''}`);
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  for (let fd = 0; fd <= CTL_FD; fd++) fcntl(fd, F_SETFD, 0);
  const a = cStringArray(argv);
  const e = cStringArray(env);
  execve(cString(process.execPath), a.array, e.array);
  throw new SysError(`execve(${process.execPath})`, errno());
}

function main(): void {
  reexecWithoutNodeOptions();
  const supervisor = Number(process.argv[2]);
  if (!Number.isInteger(supervisor) || getppid() !== supervisor) {
    process.stderr.write('sysg zygote: must be started by the launcher (argv[2] = parent pid)\n');
    process.exit(2);
  }
  check(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 'prctl(PR_SET_CHILD_SUBREAPER)');
  check(fcntl(CTL_FD, F_SETFD, FD_CLOEXEC), 'fcntl(3, F_SETFD)');
  const from: FdSources = {
    clientPidfd: check(pidfd_open(supervisor, 0), 'pidfd_open(supervisor)'),
    devnull: check(open(cString('/dev/null'), O_RDWR | O_CLOEXEC, 0), 'open(/dev/null)'),
  };
  initSweep();

  const sock = new Socket({ fd: CTL_FD, readable: true, writable: true });
  const send = (r: Reply): void => void sock.write(`${JSON.stringify(r)}\n`);
  const reaper = new Reaper((pid, exit) => send({ type: 'exit', pid, exit }));

  const handle = (line: string): void => {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      process.stderr.write(`sysg zygote: bad request line: ${line.slice(0, 200)}\n`);
      return;
    }
    try {
      if (req.op === 'launch') launch(req, from, reaper, send);
      else if (req.op === 'sweep-check') send({ type: 'sweep-check', id: req.id, ...checkDontFork() });
      else throw new Error(`unknown op ${JSON.stringify((req as { op: unknown }).op)}`);
    } catch (e) {
      const errno = e instanceof SysError ? e.errno : 0;
      send({ type: 'error', id: req.id, error: { kind: 'internal', step: 'internal', index: -1, errno, exitCode: null, message: String(e) } });
    }
  };

  let pending = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line) handle(line);
    }
  });
  // The supervisor is gone (or closed us): services keep running, re-parented upwards.
  sock.on('end', () => process.exit(0));
  sock.on('error', () => process.exit(1));
  send({ type: 'ready', pid: process.pid });
}

main();
