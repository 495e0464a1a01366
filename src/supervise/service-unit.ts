/**
 * One service's lifecycle with systemd's semantics (src/core/service.c):
 * the start sequence per Type=, the running state, stop and kill per
 * KillMode=, the stop-post phase, Restart= with RestartSec= and the start
 * rate limit, start/stop timeouts and the watchdog. Processes are started
 * through a CommandRunner (the launcher); this class only decides.
 *
 * States follow systemd's ActiveState/SubState names so `sysg status` reads
 * like `systemctl status`.
 */
import type { Exit } from '../launch/protocol.js';
import type { CommandKind, CommandRunner, FailedCommand, StartedCommand } from './command-runner.js';
import { exitCodeName, exitStatusText, failureResult, isCleanExit, type ServiceResult } from './exec-status.js';
import { shallRestart, StartLimit } from './restart-policy.js';
import type { ServiceConfig } from './service-config.js';

export type ActiveState = 'inactive' | 'activating' | 'active' | 'reloading' | 'deactivating' | 'failed';
export type SubState =
  | 'dead' | 'condition' | 'start-pre' | 'start' | 'start-post' | 'running' | 'exited' | 'reload'
  | 'stop' | 'stop-sigterm' | 'stop-sigkill' | 'stop-post' | 'auto-restart' | 'failed';

/** What interrupted a wait: a stop request, a timeout, the watchdog. */
type Interrupt = 'stop' | 'timeout' | 'watchdog';

export interface UnitHooks {
  /** Conditions and assertions: undefined when they hold, else why not (and whether it is an assertion). */
  checkConditions(): { skip: string } | { assert: string } | undefined;
  /** The service's processes (its cgroup, or what is known). */
  processes(): number[];
  /** Exit of a pid that is not a launched command (a forking service's main process). */
  watchPid(pid: number): Promise<Exit | undefined>;
  readPidFile(path: string): number | undefined;
  signal(pid: number, sig: number): void;
  /** NOTIFY_SOCKET for Type=notify (or NotifyAccess=), if the supervisor provides one. */
  notifySocket: string | undefined;
  say(message: string): void;
  changed(unit: ServiceUnit): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isFailed = (r: StartedCommand | FailedCommand): r is FailedCommand => 'setupStatus' in r;

export class ServiceUnit {
  state: ActiveState = 'inactive';
  sub: SubState = 'dead';
  result: ServiceResult = 'success';
  mainPid: number | undefined;
  /** The main (or failing) process's end: the conformance status and $EXIT_CODE/$EXIT_STATUS. */
  mainExit: Exit | undefined;
  /** Set when the failing command never reached exec. */
  setupStatus: number | undefined;
  statusText: string | undefined;
  restarts = 0;
  /** Last condition skip, for status output. */
  skipped: string | undefined;

  private readonly limit: StartLimit;
  private stopRequested = false;
  private interruptWaiters = new Set<(i: Interrupt) => void>();
  private readyWaiter: (() => void) | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> | undefined;
  /** The main process's end while it runs (its exit fills $EXIT_CODE/$EXIT_STATUS for ExecStopPost=). */
  private mainWatch: Promise<Exit | undefined> | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: ServiceConfig,
    private readonly runner: CommandRunner,
    private readonly hooks: UnitHooks,
  ) {
    this.limit = new StartLimit(cfg.startLimitIntervalMs, cfg.startLimitBurst);
  }

  private set(state: ActiveState, sub: SubState): void {
    this.state = state;
    this.sub = sub;
    this.hooks.changed(this);
  }

  /** Starts the unit; resolves when the start job is done (active, or failed/inactive). */
  start(): Promise<void> {
    if (this.cycle) return Promise.resolve();
    this.stopRequested = false;
    let settled!: () => void;
    const startJobDone = new Promise<void>((r) => (settled = r));
    this.cycle = this.lifecycle(settled).finally(() => {
      this.cycle = undefined;
      settled();
    });
    return startJobDone;
  }

  /** Resolves when the unit is inactive or failed with no restart pending. */
  async finished(): Promise<void> {
    while (this.cycle) await this.cycle;
  }

  /** Stop job: ExecStop=, the kill, ExecStopPost=; no restart. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    for (const w of this.interruptWaiters) w('stop');
    await this.finished();
  }

  /** sd_notify: READY=1, MAINPID=, STATUS=, WATCHDOG=1, EXTEND_TIMEOUT_USEC= (timeouts not extended yet). */
  notify(fields: ReadonlyMap<string, string>): void {
    const pid = fields.get('MAINPID');
    if (pid && /^[1-9][0-9]*$/.test(pid)) this.mainPid = Number(pid);
    if (fields.has('STATUS')) this.statusText = fields.get('STATUS');
    if (fields.get('READY') === '1') this.readyWaiter?.();
    if (fields.get('WATCHDOG') === '1') this.armWatchdog();
    if (fields.get('WATCHDOG') === 'trigger') this.interrupt('watchdog');
    this.hooks.changed(this);
  }

  private interrupt(i: Interrupt): void {
    for (const w of this.interruptWaiters) w(i);
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdogTimer);
    if (this.cfg.watchdogMs > 0 && this.state === 'active') this.watchdogTimer = setTimeout(() => this.interrupt('watchdog'), this.cfg.watchdogMs);
  }

  /** Waits for `p` unless interrupted (a stop, or the deadline). */
  private async race<T>(p: Promise<T>, deadlineMs: number): Promise<T | Interrupt> {
    if (this.stopRequested) return 'stop';
    let waiter!: (i: Interrupt) => void;
    const interrupted = new Promise<Interrupt>((r) => (waiter = r));
    this.interruptWaiters.add(waiter);
    const timer = deadlineMs === Infinity ? undefined : setTimeout(() => waiter('timeout'), Math.max(0, deadlineMs - Date.now()));
    try {
      return await Promise.race([p, interrupted]);
    } finally {
      clearTimeout(timer);
      this.interruptWaiters.delete(waiter);
    }
  }

  private env(kind: CommandKind): Array<[string, string]> {
    const env: Array<[string, string]> = [];
    if (this.hooks.notifySocket && (this.cfg.type === 'notify' || this.cfg.notifyAccess !== 'none')) env.push(['NOTIFY_SOCKET', this.hooks.notifySocket]);
    if (this.cfg.watchdogMs > 0 && kind === 'start') env.push(['WATCHDOG_USEC', String(Math.round(this.cfg.watchdogMs * 1000))]);
    if (kind === 'stop' || kind === 'reload') if (this.mainPid) env.push(['MAINPID', String(this.mainPid)]);
    if (kind === 'stop' || kind === 'stop_post') {
      env.push(['SERVICE_RESULT', this.result]);
      if (this.mainExit) env.push(['EXIT_CODE', exitCodeName(this.mainExit)], ['EXIT_STATUS', exitStatusText(this.mainExit)]);
    }
    return env;
  }

  /**
   * Runs a command list in order (the `-` prefix tolerates a failure).
   * Returns undefined on success, else the failure (an interrupt, or the failing command's end).
   */
  private async runList(kind: CommandKind, deadlineMs: number): Promise<undefined | Interrupt | { exit: Exit; setup?: number }> {
    for (const cmd of this.runner.commands(kind)) {
      const r = await this.runner.start(kind, cmd, this.env(kind));
      if (isFailed(r)) {
        if (cmd.ignore_failure) continue;
        return { exit: { code: r.setupStatus }, setup: r.setupStatus };
      }
      const end = await this.race(r.exited, deadlineMs);
      if (end === 'stop' || end === 'timeout' || end === 'watchdog') {
        this.killAll(this.cfg.killSignal);
        await r.exited;
        return end;
      }
      const exit = end ?? { code: 1 };
      if (!isCleanExit(exit, this.cfg.success, false) && !cmd.ignore_failure) return { exit };
    }
    return undefined;
  }

  private killAll(sig: number, mainOnly = false): void {
    const pids = mainOnly ? (this.mainPid ? [this.mainPid] : []) : this.hooks.processes();
    for (const pid of pids) this.hooks.signal(pid, sig);
  }

  /** The kill sequence of systemd.kill(5) for what is left of the service. */
  private async killRemaining(restarting: boolean): Promise<void> {
    if (this.cfg.killMode === 'none') return;
    const sig = restarting ? this.cfg.restartKillSignal : this.cfg.killSignal;
    const mainOnly = this.cfg.killMode === 'process' || this.cfg.killMode === 'mixed';
    if (this.hooks.processes().length === 0) return;
    this.set('deactivating', 'stop-sigterm');
    this.killAll(sig, mainOnly);
    if (this.cfg.sendSighup) this.killAll(1, mainOnly);
    const deadline = Date.now() + this.cfg.stopTimeoutMs;
    while (this.hooks.processes().length > 0 && Date.now() < deadline) {
      if (this.cfg.killMode === 'mixed' || this.cfg.killMode === 'process') {
        if (!this.mainPid || !this.hooks.processes().includes(this.mainPid)) break;
      }
      await sleep(20);
    }
    if (this.cfg.killMode === 'process' || !this.cfg.sendSigkill || this.hooks.processes().length === 0) return;
    this.set('deactivating', 'stop-sigkill');
    this.killAll(this.cfg.finalKillSignal);
    for (let i = 0; i < 250 && this.hooks.processes().length > 0; i++) await sleep(20);
  }

  private failWith(result: ServiceResult, f: Interrupt | { exit: Exit; setup?: number }): void {
    if (f === 'timeout' || f === 'watchdog') this.result = f;
    else if (f === 'stop') this.result = 'success';
    else {
      this.result = result === 'success' ? failureResult(f.exit) : result;
      this.mainExit = f.exit;
      this.setupStatus = f.setup;
    }
  }

  /** The stop path shared by every end: ExecStop= (only from a clean running state), kill, ExecStopPost=. */
  private async terminate(runStop: boolean, restarting: boolean): Promise<void> {
    clearTimeout(this.watchdogTimer);
    const deadline = Date.now() + this.cfg.stopTimeoutMs;
    // ExecStop=/ExecStopPost= must not be interrupted by the stop request that led here;
    // the request is restored afterwards so that no restart follows it.
    const wasStop = this.stopRequested;
    if (runStop && this.runner.commands('stop').length > 0) {
      this.set('deactivating', 'stop');
      this.stopRequested = false;
      await this.runList('stop', deadline);
    }
    await this.killRemaining(restarting);
    if (this.mainWatch && !this.mainExit) {
      const end = await Promise.race([this.mainWatch, sleep(1000).then(() => undefined)]);
      if (end) this.mainExit = end;
    }
    this.mainWatch = undefined;
    this.set('deactivating', 'stop-post');
    this.stopRequested = false;
    await this.runList('stop_post', Date.now() + this.cfg.stopTimeoutMs);
    this.stopRequested = wasStop || this.stopRequested;
    await this.killRemaining(restarting);
  }

  /** One start → run → stop sequence, repeated while Restart= says so. */
  private async lifecycle(startJobDone: () => void): Promise<void> {
    for (;;) {
      const again = await this.once(startJobDone);
      if (!again || this.stopRequested) return;
      this.set('activating', 'auto-restart');
      const waited = await this.race(sleep(this.cfg.restartDelayMs), Infinity);
      if (waited === 'stop') {
        this.set(this.result === 'success' ? 'inactive' : 'failed', this.result === 'success' ? 'dead' : 'failed');
        return;
      }
      this.restarts++;
    }
  }

  /** Returns true when the unit should be restarted. */
  private async once(startJobDone: () => void): Promise<boolean> {
    this.result = 'success';
    this.mainExit = undefined;
    this.setupStatus = undefined;
    this.mainPid = undefined;
    this.mainWatch = undefined;
    if (!this.limit.test(Date.now())) {
      this.result = 'start-limit-hit';
      this.hooks.say(`${this.name}: start request repeated too quickly, refusing to start`);
      this.set('failed', 'failed');
      return false;
    }
    const cond = this.hooks.checkConditions();
    if (cond) {
      this.skipped = 'skip' in cond ? cond.skip : cond.assert;
      this.hooks.say(`${this.name}: ${'skip' in cond ? 'skipped' : 'not started'}: ${this.skipped}`);
      if ('assert' in cond) this.result = 'resources';
      this.set('assert' in cond ? 'failed' : 'inactive', 'assert' in cond ? 'failed' : 'dead');
      return false;
    }

    const startDeadline = Date.now() + this.cfg.startTimeoutMs;
    this.set('activating', 'condition');
    const c = await this.runList('condition', startDeadline);
    if (c) {
      if (typeof c !== 'string' && 'code' in c.exit && c.exit.code >= 1 && c.exit.code <= 254 && c.setup === undefined) {
        this.result = 'exec-condition';
        this.mainExit = c.exit;
        this.hooks.say(`${this.name}: skipped: an ExecCondition= command exited ${c.exit.code}`);
        await this.terminate(false, false);
        this.set('inactive', 'dead');
        return false;
      }
      return this.fail(c);
    }
    this.set('activating', 'start-pre');
    const pre = await this.runList('start_pre', startDeadline);
    if (pre) return this.fail(pre);

    this.set('activating', 'start');
    const t = this.cfg.type;
    let main: Promise<Exit | undefined> | undefined;
    if (t === 'oneshot') {
      const st = await this.runList('start', startDeadline);
      if (st) return this.fail(st);
    } else {
      const cmds = this.runner.commands('start');
      if (cmds.length !== 1) {
        this.hooks.say(`${this.name}: Type=${t} needs exactly one ExecStart= (has ${cmds.length})`);
        this.result = 'resources';
        this.set('failed', 'failed');
        return false;
      }
      const r = await this.runner.start('start', cmds[0]!, this.env('start'));
      if (isFailed(r)) return this.fail({ exit: { code: r.setupStatus }, setup: r.setupStatus });
      this.mainPid = r.pid;
      main = r.exited;
      if (t === 'forking') {
        const end = await this.race(r.exited, startDeadline);
        if (typeof end === 'string' || !end || !isCleanExit(end, this.cfg.success, false)) return this.fail(typeof end === 'string' ? end : { exit: end ?? { code: 1 } });
        this.mainPid = this.cfg.pidFile ? this.hooks.readPidFile(this.cfg.pidFile) : undefined;
        main = this.mainPid ? this.hooks.watchPid(this.mainPid) : undefined;
      } else if (t === 'notify') {
        const ready = new Promise<'ready'>((resolve) => (this.readyWaiter = () => resolve('ready')));
        const first = await this.race(Promise.race([ready, main]), startDeadline);
        this.readyWaiter = undefined;
        if (first !== 'ready') {
          if (typeof first === 'string') return this.fail(first);
          return this.fail({ exit: first ?? { code: 1 } }, 'protocol');
        }
      }
    }
    this.set('activating', 'start-post');
    const post = await this.runList('start_post', startDeadline);
    if (post) return this.fail(post);

    // Running.
    startJobDone();
    if (!main) {
      // oneshot (or forking without a known main pid): nothing to watch.
      if (this.cfg.remainAfterExit) {
        this.set('active', 'exited');
        await this.race(new Promise<never>(() => undefined), Infinity);
      }
      await this.terminate(true, false);
      this.set('inactive', 'dead');
      return shallRestart(this.cfg.restart, 'success', this.mainExit, this.cfg.restartPrevent, this.cfg.restartForce) && !this.stopRequested;
    }
    this.set('active', 'running');
    this.mainWatch = main;
    this.armWatchdog();
    const end = await this.race(main, Infinity);
    if (end === 'stop') {
      await this.terminate(true, false);
      this.set('inactive', 'dead');
      return false;
    }
    if (end === 'watchdog' || end === 'timeout') {
      this.result = 'watchdog';
      this.killAll(this.cfg.watchdogSignal, true);
      return this.fail('watchdog');
    }
    this.mainExit = end;
    const clean = end !== undefined && isCleanExit(end, this.cfg.success, true);
    if (!clean) return this.fail({ exit: end ?? { code: 1 } });
    if (this.cfg.remainAfterExit) {
      this.set('active', 'exited');
      await this.race(new Promise<never>(() => undefined), Infinity);
    }
    await this.terminate(true, false);
    this.set('inactive', 'dead');
    return shallRestart(this.cfg.restart, 'success', end, this.cfg.restartPrevent, this.cfg.restartForce) && !this.stopRequested;
  }

  /** A failed start or a failed main process: no ExecStop=, kill, ExecStopPost=, then maybe restart. */
  private async fail(f: Interrupt | { exit: Exit; setup?: number }, result: ServiceResult = 'success'): Promise<boolean> {
    if (f === 'stop') {
      await this.terminate(false, false);
      this.set('inactive', 'dead');
      return false;
    }
    this.failWith(result, f);
    await this.terminate(false, false);
    const restart = !this.stopRequested && shallRestart(this.cfg.restart, this.result, this.mainExit, this.cfg.restartPrevent, this.cfg.restartForce);
    this.set('failed', 'failed');
    return restart;
  }
}
