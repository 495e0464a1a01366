/** Pieces `sysg run` wires around a ServiceUnit: conditions, pid watching, PID files, the result record. */
import { readFileSync } from 'node:fs';
import type { Launcher } from '../launch/launcher.js';
import type { Exit } from '../launch/protocol.js';
import type { PreparedService } from '../plan/prepare.js';
import type { CommandRecord, CommandRunner } from './command-runner.js';
import { evaluateConditions } from './conditions.js';
import { describeExit } from './exec-status.js';
import type { ServiceUnit } from './service-unit.js';

export interface ServiceOutcome {
  readonly result: string;
  /** What `sysg run` exits with for this service. */
  readonly exitStatus: number;
  /** The main (or failing) process's end, in the conformance table's notation ("exit:0", "signal:SIGSYS"). */
  readonly status: string;
  readonly commands: readonly CommandRecord[];
}

export function conditionVerdict(prep: PreparedService, managerEnv: Readonly<Record<string, string | undefined>>): { skip: string } | { assert: string } | undefined {
  const c = evaluateConditions(prep.svc.list('unit.conditions') ?? [], { managerEnv });
  if (!c.ok) return { skip: c.failed ? `condition failed: ${c.failed.check}=${c.failed.value} (${c.failed.reason})` : 'condition failed' };
  const a = evaluateConditions(prep.svc.list('unit.asserts') ?? [], { managerEnv });
  if (!a.ok) return { assert: a.failed ? `assertion failed: Assert${a.failed.check}=${a.failed.value} (${a.failed.reason})` : 'assertion failed' };
  return undefined;
}

export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Exits of processes that are not launched commands (a forking service's
 * daemon): they are re-parented to the zygote, a subreaper, which reports
 * them. Recent exits are remembered so a late waiter still sees them.
 */
export class PidWatcher {
  private readonly recent = new Map<number, Exit>();
  private readonly waiters = new Map<number, Array<(e: Exit | undefined) => void>>();

  constructor(launcher: Launcher) {
    launcher.onExit((e) => {
      this.recent.set(e.pid, e.exit);
      if (this.recent.size > 4096) this.recent.delete(this.recent.keys().next().value as number);
      for (const w of this.waiters.get(e.pid) ?? []) w(e.exit);
      this.waiters.delete(e.pid);
    });
  }

  alive(pid: number): boolean {
    if (this.recent.has(pid)) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  wait(pid: number): Promise<Exit | undefined> {
    const done = this.recent.get(pid);
    if (done) return Promise.resolve(done);
    if (!this.alive(pid)) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.set(pid, [...(this.waiters.get(pid) ?? []), resolve]));
  }
}

export function outcomeOf(unit: ServiceUnit, runner: CommandRunner): ServiceOutcome {
  const skipped = unit.state === 'inactive' && unit.skipped !== undefined;
  const result = skipped ? 'condition' : unit.state === 'failed' && unit.skipped !== undefined ? 'assert' : unit.result;
  const e = unit.mainExit;
  const status = unit.setupStatus !== undefined ? `exit:${unit.setupStatus}` : e ? describeExit(e) : 'exit:0';
  let exitStatus = 0;
  if (unit.state === 'failed') exitStatus = unit.setupStatus ?? (e ? ('code' in e ? e.code : 128 + e.signo) : 1) ?? 1;
  if (exitStatus === 0 && unit.state === 'failed') exitStatus = 1;
  return { result, exitStatus, status, commands: runner.records };
}
