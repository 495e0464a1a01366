/**
 * Starting one command of a service: its plan (src/plan), its standard
 * streams, the launch through the zygote, and a record of what happened
 * (the result file and `sysg status` show these).
 */
import { closeSync } from 'node:fs';
import { LaunchError, type Launcher } from '../launch/launcher.js';
import type { Exit } from '../launch/protocol.js';
import { exitCodeLabel } from '../launch/exit-codes.js';
import type { ExecCommand } from '../plan/context.js';
import { planCommand, type PreparedService } from '../plan/prepare.js';
import { SetupError } from '../plan/process.js';
import { ModelError } from '../plan/service.js';
import { mayDegrade } from '../plan/degrade.js';
import { describeExit } from './exec-status.js';
import { resolveStdio, type LogPipe } from './stdio.js';

export type CommandKind = 'condition' | 'start_pre' | 'start' | 'start_post' | 'reload' | 'stop' | 'stop_post';

export interface CommandRecord {
  readonly kind: CommandKind;
  readonly argv: readonly string[];
  readonly pid?: number;
  /** "exit:0", "signal:SIGSYS", "setup:226" when it failed before exec, "lost". */
  status: string;
  readonly error?: string;
}

/** A command that reached execve: its pid and its end (undefined if the zygote died first). */
export interface StartedCommand {
  readonly pid: number;
  readonly exited: Promise<Exit | undefined>;
}

/** A command that failed before execve, with systemd's exit status for the failed step. */
export interface FailedCommand {
  readonly setupStatus: number;
}

export interface CommandRunnerContext {
  readonly launcher: Launcher;
  readonly log: LogPipe;
  readonly tmpDir: string;
  readonly supervisorPrivileged: boolean;
  readonly nofileHard: number;
  readonly managerEnv: Readonly<Record<string, string | undefined>>;
  readonly say: (message: string) => void;
  /**
   * Called around each launch: the notify socket is paused until the new
   * pid is known, so NotifyAccess=main can judge a datagram sent right away.
   */
  readonly aroundLaunch?: { before(): void; after(): void };
  /** --best-effort-sandbox: a step systemd would skip in a container may be dropped, with a warning (degrade.ts). */
  readonly bestEffort?: boolean;
}

export class CommandRunner {
  readonly records: CommandRecord[] = [];
  private readonly warned = new Set<string>();

  constructor(
    private readonly prep: PreparedService,
    private readonly ctx: CommandRunnerContext,
    private readonly invocationId: string,
  ) {}

  private get name(): string {
    return this.prep.svc.unitName;
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.ctx.say(message);
  }

  /** The requested fields a dropped step enforced (for the warnings): the mount-namespace ones. */
  private degradedFields(op: string): string[] {
    if (op !== 'mount-namespace') return [];
    const sandbox = this.prep.svc.obj('sandbox') ?? {};
    const MOUNT_KEYS = ['protect_system', 'protect_home', 'private_tmp', 'private_devices', 'read_write_paths', 'read_only_paths', 'inaccessible_paths',
      'exec_paths', 'no_exec_paths', 'bind_paths', 'bind_read_only_paths', 'protect_kernel_tunables', 'protect_kernel_modules', 'protect_kernel_logs',
      'protect_control_groups', 'protect_proc', 'proc_subset', 'private_mounts', 'mount_api_vfs'];
    return MOUNT_KEYS.filter((k) => sandbox[k] !== undefined && sandbox[k] !== false).map((k) => `sandbox.${k}`);
  }

  commands(kind: CommandKind): ExecCommand[] {
    return (this.prep.svc.list(`commands.${kind}`) ?? []) as ExecCommand[];
  }

  async start(kind: CommandKind, cmd: ExecCommand, extraEnv: ReadonlyArray<readonly [string, string]>): Promise<StartedCommand | FailedCommand> {
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
      let launched;
      let plan = planned.plan;
      let stepFields = planned.stepFields;
      this.ctx.aroundLaunch?.before();
      try {
        for (;;) {
          try {
            launched = await this.ctx.launcher.launch({ ...plan, stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr });
            break;
          } catch (e) {
            if (!(e instanceof LaunchError) || !this.ctx.bestEffort || e.planStep === undefined || !mayDegrade(this.prep.svc, e.step, e.errno)) throw e;
            const dropped = e.planStep;
            const fields = this.degradedFields(e.step);
            for (const f of fields) this.warnOnce(`${this.prep.svc.source(f)}: cannot be applied here (${e.message}); running without it (--best-effort-sandbox)`);
            plan = { ...plan, steps: (plan.steps ?? []).filter((_, i) => i !== dropped) };
            stepFields = stepFields.filter((_, i) => i !== dropped);
          }
        }
      } catch (e) {
        if (!(e instanceof LaunchError)) throw e;
        const field = e.planStep === undefined ? undefined : stepFields[e.planStep];
        const where = field ? `${this.prep.svc.source(field)}: ` : '';
        const code = e.exitCode ?? 1;
        this.ctx.say(`${this.name}: ${kind} ${cmd.argv.join(' ')}: ${where}${e.message}`);
        this.records.push({ kind, argv: cmd.argv, status: `setup:${code}`, error: e.message, ...(e.pid ? { pid: e.pid } : {}) });
        return { setupStatus: code };
      } finally {
        // Resumed on a later turn of the event loop, after the caller has recorded the pid.
        const around = this.ctx.aroundLaunch;
        if (around) setImmediate(() => around.after());
      }
      const record: CommandRecord = { kind, argv: cmd.argv, pid: launched.pid, status: 'running' };
      this.records.push(record);
      const exited = launched.exited.then((end) => {
        if ('lost' in end) {
          record.status = 'lost';
          return undefined;
        }
        record.status = describeExit(end);
        return end;
      });
      return { pid: launched.pid, exited };
    } catch (e) {
      if (e instanceof SetupError || e instanceof ModelError) {
        const code = e instanceof SetupError ? e.exitCode : 1;
        this.ctx.say(`${this.name}: ${kind}: ${e.message}${e instanceof SetupError ? ` (${exitCodeLabel(code)})` : ''}`);
        this.records.push({ kind, argv: cmd.argv, status: `setup:${code}`, error: e.message });
        return { setupStatus: code };
      }
      throw e;
    } finally {
      for (const fd of closeAfter) {
        try {
          closeSync(fd);
        } catch {
          /* already closed */
        }
      }
    }
  }
}
