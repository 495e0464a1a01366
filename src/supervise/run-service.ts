/**
 * One service's life in the foreground, with systemd's semantics for the
 * parts `sysg run` supports: conditions, ExecCondition=, ExecStartPre=,
 * ExecStart= (simple, exec, oneshot, forking), ExecStartPost=, ExecStop=,
 * ExecStopPost=, SuccessExitStatus=, RemainAfterExit=, and a stop on request.
 * Every process is started through the launcher (the zygote); this process
 * never forks or changes credentials.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, readFileSync } from 'node:fs';
import { LaunchError, type Launcher } from '../launch/launcher.js';
import type { Exit } from '../launch/protocol.js';
import { exitCodeLabel } from '../launch/exit-codes.js';
import { SIGNALS } from '../sys/constants.js';
import type { ExecCommand } from '../plan/context.js';
import { planCommand, type PreparedService } from '../plan/prepare.js';
import { SetupError } from '../plan/process.js';
import { ModelError } from '../plan/service.js';
import { describeExit, exitCodeName, exitStatusText, failureResult, isCleanExit, type ServiceResult } from './exec-status.js';
import { evaluateConditions } from './conditions.js';
import { resolveStdio, type LogPipe } from './stdio.js';

export type CommandKind = 'condition' | 'start_pre' | 'start' | 'start_post' | 'stop' | 'stop_post';

export interface CommandRecord {
  readonly kind: CommandKind;
  readonly argv: readonly string[];
  readonly pid?: number;
  /** "exit:0", "signal:SIGSYS", or "setup:226" when it failed before exec. */
  readonly status: string;
  readonly error?: string;
}

export interface ServiceOutcome {
  readonly result: ServiceResult | 'condition' | 'assert' | 'refused';
  /** What `sysg run` exits with for this service. */
  readonly exitStatus: number;
  /** The main (or failing) process's end, in the conformance table's notation. */
  readonly status: string;
  readonly commands: readonly CommandRecord[];
}

export interface RunContext {
  readonly launcher: Launcher;
  readonly log: LogPipe;
  readonly tmpDir: string;
  readonly supervisorPrivileged: boolean;
  readonly nofileHard: number;
  readonly managerEnv: Readonly<Record<string, string | undefined>>;
  readonly say: (message: string) => void;
}

interface RanCommand {
  readonly exit: Exit | undefined;
  /** Set when the command failed before exec (setup or launch step). */
  readonly setupStatus?: number;
  readonly pid?: number;
}

export class ServiceRun {
  private readonly records: CommandRecord[] = [];
  private readonly invocationId = randomBytes(16).toString('hex');
  private mainPid: number | undefined;
  private stopRequested = false;

  constructor(
    private readonly prep: PreparedService,
    private readonly ctx: RunContext,
  ) {}

  private get name(): string {
    return this.prep.svc.unitName;
  }

  private commands(kind: CommandKind): ExecCommand[] {
    return (this.prep.svc.list(`commands.${kind}`) ?? []) as ExecCommand[];
  }

  private success(): { codes: number[]; signals: number[] } {
    const s = this.prep.svc.obj('lifecycle.success_exit_status') ?? {};
    const sig = SIGNALS as Record<string, number>;
    return { codes: (s['codes'] as number[] | undefined) ?? [], signals: ((s['signals'] as string[] | undefined) ?? []).map((n) => sig[n] ?? -1) };
  }

  /** Starts one command; resolves when it has exited. */
  private async run(kind: CommandKind, cmd: ExecCommand, extraEnv: Array<[string, string]>, onStart?: (pid: number) => void): Promise<RanCommand> {
    const rec = (r: Omit<CommandRecord, 'kind' | 'argv'>): void => void this.records.push({ kind, argv: cmd.argv, ...r });
    let launched;
    let closeAfter: number[] = [];
    try {
      const planned = planCommand(this.prep, cmd, {
        managerEnv: this.ctx.managerEnv,
        extraEnv: [['INVOCATION_ID', this.invocationId], ...extraEnv],
        supervisorPrivileged: this.ctx.supervisorPrivileged,
        nofileHard: this.ctx.nofileHard,
        warn: (m) => this.ctx.say(m),
      });
      const stdio = resolveStdio(planned.stdio, () => this.ctx.log.writeFd, this.ctx.tmpDir);
      closeAfter = stdio.closeAfter;
      try {
        launched = await this.ctx.launcher.launch({ ...planned.plan, stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr });
      } catch (e) {
        if (!(e instanceof LaunchError)) throw e;
        const field = e.planStep === undefined ? undefined : planned.stepFields[e.planStep];
        const where = field ? `${this.prep.svc.source(field)}: ` : '';
        const code = e.exitCode ?? 1;
        this.ctx.say(`${this.name}: ${kind} ${cmd.argv.join(' ')}: ${where}${e.message}`);
        rec({ status: `setup:${code}`, error: e.message, ...(e.pid ? { pid: e.pid } : {}) });
        return { exit: { code }, setupStatus: code };
      }
    } catch (e) {
      if (e instanceof SetupError || e instanceof ModelError) {
        const code = e instanceof SetupError ? e.exitCode : 1;
        this.ctx.say(`${this.name}: ${kind}: ${e.message}${e instanceof SetupError ? ` (${exitCodeLabel(code)})` : ''}`);
        rec({ status: `setup:${code}`, error: e.message });
        return { exit: { code }, setupStatus: code };
      }
      throw e;
    } finally {
      for (const fd of closeAfter) closeQuietly(fd);
    }
    onStart?.(launched.pid);
    const end = await launched.exited;
    if ('lost' in end) {
      rec({ pid: launched.pid, status: 'lost', error: end.lost });
      return { exit: undefined, pid: launched.pid };
    }
    rec({ pid: launched.pid, status: describeExit(end) });
    return { exit: end, pid: launched.pid };
  }

  /** Runs a list; stops at the first failure unless the command has the `-` prefix. */
  private async runList(kind: CommandKind, extraEnv: Array<[string, string]> = []): Promise<{ ok: boolean; last?: RanCommand }> {
    let last: RanCommand | undefined;
    for (const cmd of this.commands(kind)) {
      last = await this.run(kind, cmd, extraEnv);
      if (last.exit === undefined) return { ok: false, last };
      const clean = last.setupStatus === undefined && isCleanExit(last.exit, this.success(), false);
      if (!clean && !cmd.ignore_failure) return { ok: false, last };
      if (this.stopRequested && kind !== 'stop' && kind !== 'stop_post') return { ok: false, last };
    }
    return last ? { ok: true, last } : { ok: true };
  }

  private async stopPhase(result: ServiceResult, main: RanCommand | undefined, runStop: boolean): Promise<void> {
    const env: Array<[string, string]> = [['SERVICE_RESULT', result]];
    if (main?.exit) env.push(['EXIT_CODE', exitCodeName(main.exit)], ['EXIT_STATUS', exitStatusText(main.exit)]);
    if (runStop) await this.runList('stop', this.mainPid ? [['MAINPID', String(this.mainPid)], ...env] : env);
    await this.runList('stop_post', env);
  }

  private outcome(result: ServiceOutcome['result'], ran: RanCommand | undefined): ServiceOutcome {
    const status = ran?.exit ? (ran.setupStatus !== undefined ? `exit:${ran.setupStatus}` : describeExit(ran.exit)) : 'exit:0';
    const exitStatus = result === 'success' || result === 'condition' || result === 'exec-condition' ? 0 : ran?.exit ? ('code' in ran.exit ? ran.exit.code : 128 + ran.exit.signo) : 1;
    return { result, exitStatus, status, commands: this.records };
  }

  /** Asks a running service to stop: ExecStop=, then SIGTERM to the main process. */
  requestStop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    if (this.mainPid !== undefined) {
      try {
        process.kill(this.mainPid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }

  async start(): Promise<ServiceOutcome> {
    const svc = this.prep.svc;
    const type = svc.str('type') ?? 'simple';
    if (!['simple', 'exec', 'oneshot', 'forking', 'idle'].includes(type)) svc.error('type', `Type=${type} is not supported by sysg run yet`);

    const checks = evaluateConditions(svc.list('unit.conditions') ?? [], { managerEnv: this.ctx.managerEnv });
    if (!checks.ok) {
      const f = checks.failed;
      this.ctx.say(`${this.name}: skipped: condition failed: ${f ? `${f.check}=${f.value} (${f.reason})` : 'unknown'}`);
      return this.outcome('condition', undefined);
    }
    const asserts = evaluateConditions(svc.list('unit.asserts') ?? [], { managerEnv: this.ctx.managerEnv });
    if (!asserts.ok) {
      const f = asserts.failed;
      this.ctx.say(`${this.name}: not started: assertion failed: ${f ? `Assert${f.check}=${f.value} (${f.reason})` : 'unknown'}`);
      return { result: 'assert', exitStatus: 1, status: 'assert', commands: this.records };
    }
    const cond = await this.runList('condition');
    if (!cond.ok) {
      const e = cond.last?.exit;
      // ExecCondition=: 1-254 skips the unit; 255, a signal or a setup failure is a failure.
      if (e && 'code' in e && e.code >= 1 && e.code <= 254 && cond.last?.setupStatus === undefined) {
        this.ctx.say(`${this.name}: skipped: an ExecCondition= command exited ${e.code}`);
        return this.outcome('exec-condition', cond.last);
      }
      await this.stopPhase(failureResult(e ?? { code: 1 }), cond.last, false);
      return this.outcome(failureResult(e ?? { code: 1 }), cond.last);
    }
    const pre = await this.runList('start_pre');
    if (!pre.ok) {
      const r = failureResult(pre.last?.exit ?? { code: 1 });
      await this.stopPhase(r, pre.last, false);
      return this.outcome(r, pre.last);
    }

    let main: RanCommand | undefined;
    if (type === 'oneshot') {
      const st = await this.runList('start');
      main = st.last;
      if (!st.ok) {
        const r = failureResult(main?.exit ?? { code: 1 });
        await this.stopPhase(r, main, false);
        return this.outcome(r, main);
      }
      const post = await this.runList('start_post');
      if (!post.ok) {
        const r = failureResult(post.last?.exit ?? { code: 1 });
        await this.stopPhase(r, main, false);
        return this.outcome(r, post.last);
      }
    } else {
      const starts = this.commands('start');
      if (starts.length !== 1) svc.error('commands.start', `Type=${type} needs exactly one ExecStart= (has ${starts.length})`);
      const running = this.run('start', starts[0]!, [], (pid) => (this.mainPid = pid));
      if (type === 'forking') {
        main = await running;
        if (!main.exit || main.setupStatus !== undefined || !isCleanExit(main.exit, this.success(), false)) {
          const r = failureResult(main.exit ?? { code: 1 });
          await this.stopPhase(r, main, false);
          return this.outcome(r, main);
        }
        this.mainPid = this.readPidFile();
      }
      const post = await this.runList('start_post');
      if (!post.ok) {
        this.requestStop();
        const r = failureResult(post.last?.exit ?? { code: 1 });
        main = type === 'forking' ? main : await running;
        await this.stopPhase(r, main, false);
        return this.outcome(r, post.last);
      }
      if (type !== 'forking') {
        main = await running;
        if (main.setupStatus !== undefined || !main.exit || !isCleanExit(main.exit, this.success(), true)) {
          const r = failureResult(main.exit ?? { code: 1 });
          await this.stopPhase(r, main, false);
          return this.outcome(r, main);
        }
      } else if (this.mainPid !== undefined) {
        await waitForPid(this.ctx.launcher, this.mainPid);
      }
    }
    await this.stopPhase('success', main, true);
    return this.outcome('success', main);
  }

  private readPidFile(): number | undefined {
    const file = this.prep.svc.str('lifecycle.pid_file');
    if (!file) return undefined;
    try {
      const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/**
 * Waits for a forking service's main process: it was re-parented to the
 * zygote (a subreaper), which reports its exit as an orphan exit.
 */
function waitForPid(launcher: Launcher, pid: number): Promise<void> {
  return new Promise((resolve) => {
    const off = launcher.onExit((e) => {
      if (e.pid === pid) {
        off();
        resolve();
      }
    });
    try {
      process.kill(pid, 0);
    } catch {
      off();
      resolve();
    }
  });
}
