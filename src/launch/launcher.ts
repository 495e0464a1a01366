/**
 * Supervisor side of the launcher: starts the zygote and talks to it.
 *
 * The supervisor itself never forks through koffi, never changes
 * credentials and never unshares: a multi-threaded node process cannot do
 * that safely (launcher-notes §2). It only spawns the zygote (libuv's
 * spawn) and exchanges JSON lines with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PR_SET_PTRACER } from '../sys/constants.js';
import { describeErrno } from '../sys/errno.js';
import { prctl } from '../sys/libc.js';
import { exitCodeLabel } from './exit-codes.js';
import type { LaunchPlan } from './plan.js';
import type { Exit, LaunchErrorKind, Reply, Request, WireError } from './protocol.js';
import type { DontForkReport } from './sweep.js';

export type { Exit } from './protocol.js';

/** A launch that did not reach execve. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
  readonly kind: LaunchErrorKind;
  /** The failed op ("exec", "chdir", "stdout", "setrlimit", …) or the kind. */
  readonly step: string;
  readonly index: number;
  readonly planStep: number | undefined;
  readonly errno: number;
  /** systemd's exit status for the failed step (203 for exec, 200 for chdir, …); null when no step failed. */
  readonly exitCode: number | null;
  readonly pid: number | undefined;

  constructor(w: WireError, path?: string) {
    super(LaunchError.format(w, path));
    this.kind = w.kind;
    this.step = w.step;
    this.index = w.index;
    this.planStep = w.planStep;
    this.errno = w.errno;
    this.exitCode = w.exitCode;
    this.pid = w.pid;
  }

  private static format(w: WireError, path?: string): string {
    if (w.kind !== 'step') return `launch failed (${w.kind}): ${w.message ?? describeErrno(w.errno)}`;
    const what = w.step === 'exec' && path ? `exec ${path}` : w.step;
    const code = w.exitCode === null ? '' : `, exit status ${exitCodeLabel(w.exitCode)}`;
    return `${what} failed: ${w.message ?? describeErrno(w.errno)}${code}`;
  }
}

/** A lost exit: the zygote died before the service did. */
export interface LostExit {
  readonly lost: string;
}

export interface Launched {
  readonly pid: number;
  /** Settles when the service exits; never rejects. */
  readonly exited: Promise<Exit | LostExit>;
}

export interface ExitEvent {
  readonly pid: number;
  readonly exit: Exit;
  /** A re-parented descendant of a service rather than a launched process. */
  readonly orphan: boolean;
}

export interface LauncherOptions {
  /** How long the zygote may take to start (ms). */
  readonly startTimeoutMs?: number;
  /** Default fork→execve limit per launch (ms), after which the child is SIGKILLed. */
  readonly launchTimeoutMs?: number;
}

export type { DontForkReport } from './sweep.js';

/**
 * V8 flags of the zygote. --single-threaded/--v8-pool-size=0: no compiler or
 * GC threads whose locks a fork child could inherit (launcher-notes §2).
 * The rest keep V8 from compiling inside the fork children, where the
 * child-side closures run for the first time (the parent never calls them):
 * --no-lazy compiles every function to bytecode when its module loads, in
 * the zygote, and --no-flush-bytecode keeps that bytecode although the
 * zygote never runs it; --no-opt stops synchronous TurboFan compiles, which
 * a function marked hot in the zygote would otherwise start in the child.
 * Measured with the hardened bench set (perf: children spent ~45% of their
 * CPU parsing and compiling): launch→exit median -27..-34%, p90 -31..-36%,
 * child CPU per launch -40%; the zygote's own plan compile is ~0.5 ms slower.
 */
export const ZYGOTE_V8_FLAGS: readonly string[] = ['--single-threaded', '--v8-pool-size=0', '--no-opt', '--no-lazy', '--no-flush-bytecode'];

/**
 * The zygote entry beside this module: zygote-main.js when compiled; under the
 * test runner (this module is .ts) a transpiled copy, see ts-zygote.ts.
 * No NODE_OPTIONS and no loader hooks: each would add threads to the zygote.
 */
async function zygoteCommand(): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
  const ext = extname(fileURLToPath(import.meta.url));
  let entry = fileURLToPath(new URL(`./zygote-main${ext}`, import.meta.url));
  if (!existsSync(entry)) throw new Error(`sysg: zygote entry not found: ${entry}`);
  if (ext === '.ts') entry = (await import('./ts-zygote.js')).transpiledZygote(entry);
  // Node starts a libuv threadpool to load ES modules; one idle thread is enough.
  const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '1' };
  return { args: [...ZYGOTE_V8_FLAGS, entry, String(process.pid)], env };
}

interface Pending {
  readonly resolve: (r: Reply, exited?: Promise<Exit | LostExit>) => void;
  readonly reject: (e: Error) => void;
}

export class Launcher {
  private readonly pending = new Map<number, Pending>();
  private readonly exits = new Map<number, (e: Exit | LostExit) => void>();
  private readonly listeners = new Set<(e: ExitEvent) => void>();
  private nextId = 1;
  private dead: string | undefined;
  private buffered = '';
  private drained: (() => void) | undefined;
  private readonly exitedPromise: Promise<void>;
  private readonly ready: Promise<void>;
  private readyCallbacks: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** The zygote's pid. */
  readonly pid: number;

  private constructor(
    private readonly child: ChildProcess,
    private readonly sock: Socket,
    private readonly launchTimeoutMs: number,
  ) {
    this.pid = child.pid ?? -1;
    this.ready = new Promise((resolve, reject) => (this.readyCallbacks = { resolve, reject }));
    this.exitedPromise = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => this.died(`zygote ${this.pid} exited (${signal ?? `code ${code}`})`));
    child.once('error', (e) => this.died(`zygote: ${e.message}`));
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('close', () => this.died(`zygote ${this.pid} closed its control socket`));
    sock.on('error', () => undefined); // 'close' follows
  }

  /** Starts a zygote and waits for its ready message. */
  static async start(opts: LauncherOptions = {}): Promise<Launcher> {
    const { args, env } = await zygoteCommand();
    // Its own process group: a terminal's Ctrl-C (or `timeout`) signals the supervisor's
    // group, and the zygote must live on to run ExecStop= and report exits; it ends
    // when its control socket closes.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'], env, detached: true });
    const sock = child.stdio[3];
    if (!(sock instanceof Socket)) {
      child.kill('SIGKILL');
      throw new Error('sysg: zygote control socket missing');
    }
    const launcher = new Launcher(child, sock, opts.launchTimeoutMs ?? 10_000);
    const timer = setTimeout(() => {
      launcher.died('zygote did not start in time');
      child.kill('SIGKILL');
    }, opts.startTimeoutMs ?? 30_000);
    try {
      await launcher.ready;
    } finally {
      clearTimeout(timer);
    }
    // Yama (if present) only lets ancestors use pidfd_getfd on us; the zygote is a child.
    if (existsSync('/proc/sys/kernel/yama/ptrace_scope')) prctl(PR_SET_PTRACER, launcher.pid, 0, 0, 0);
    return launcher;
  }

  /** Starts a service. Rejects with LaunchError if it does not reach execve. */
  async launch(plan: LaunchPlan, opts: { timeoutMs?: number } = {}): Promise<Launched> {
    const { reply, exited } = await this.request({ id: 0, op: 'launch', plan, timeoutMs: opts.timeoutMs ?? this.launchTimeoutMs });
    if (reply.type === 'error') throw new LaunchError(reply.error, plan.path);
    if (reply.type !== 'exec' || !exited) throw new Error(`sysg: unexpected reply ${reply.type}`);
    return { pid: reply.pid, exited };
  }

  /** Calls cb for every exit the zygote reports (services and orphans). Returns an unsubscribe function. */
  onExit(cb: (e: ExitEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Diagnostic: smaps entries marked DONTFORK (`dc`) in the zygote, before and right after a sweep. */
  async sweepCheck(): Promise<DontForkReport> {
    const { reply: r } = await this.request({ id: 0, op: 'sweep-check' });
    if (r.type !== 'sweep-check') throw new LaunchError(r.type === 'error' ? r.error : { kind: 'internal', step: 'internal', index: -1, errno: 0, exitCode: null });
    return { before: r.before, after: r.after };
  }

  /** True once the zygote is gone. */
  get closed(): boolean {
    return this.dead !== undefined;
  }

  /**
   * Stops the zygote once in-flight requests are answered (the zygote would
   * carry them out anyway). Running services keep running, re-parented to the
   * next subreaper up; their `exited` promises settle as lost.
   */
  async close(): Promise<void> {
    if (this.pending.size > 0 && !this.dead) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.sock.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exitedPromise;
      clearTimeout(timer);
    }
    this.died('launcher closed');
  }

  private request(req: Request): Promise<{ reply: Reply; exited?: Promise<Exit | LostExit> }> {
    if (this.dead) return Promise.reject(new LaunchError({ kind: 'zygote', step: 'zygote', index: -1, errno: 0, exitCode: null, message: this.dead }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (reply, exited) => resolve(exited ? { reply, exited } : { reply }), reject });
      this.sock.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (!line) continue;
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        this.died(`zygote ${this.pid} sent a malformed message: ${line.slice(0, 100)}`);
        this.child.kill('SIGKILL');
        return;
      }
      this.dispatch(reply);
    }
  }

  private dispatch(r: Reply): void {
    if (r.type === 'exit') {
      const waiter = this.exits.get(r.pid);
      this.exits.delete(r.pid);
      waiter?.(r.exit);
      for (const cb of this.listeners) cb({ pid: r.pid, exit: r.exit, orphan: r.id === undefined });
      return;
    }
    if (r.type === 'ready') {
      this.readyCallbacks?.resolve();
      return;
    }
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    // The exit waiter is registered now, synchronously: the exit report may be
    // in the same chunk, and would be dispatched before launch() resumes.
    const exited = r.type === 'exec' ? new Promise<Exit | LostExit>((resolve) => this.exits.set(r.pid, resolve)) : undefined;
    p?.resolve(r, exited);
    if (this.pending.size === 0) this.drained?.();
  }

  /** The zygote is gone: nothing pending can complete. Respawning is the supervisor's call. */
  private died(why: string): void {
    if (this.dead) return;
    this.dead = why;
    this.readyCallbacks?.reject(new Error(`sysg: ${why} before it was ready`));
    const err = new LaunchError({ kind: 'zygote', step: 'zygote', index: -1, errno: 0, exitCode: null, message: why });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.drained?.();
    for (const w of this.exits.values()) w({ lost: why });
    this.exits.clear();
  }
}
