/**
 * `sysg run UNIT…`: translate units (or load YAML manifests) in memory and
 * supervise their services in the foreground, every sandbox directive
 * enforced or the service refused. Output is prefixed with the unit name.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertUnits } from '../convert/convert.js';
import { Launcher } from '../launch/launcher.js';
import { loadManifestFile } from '../model/manifest.js';
import { prepareService, supervisorIsPrivileged, UnenforcedError, type PreparedService } from '../plan/prepare.js';
import { removePaths } from '../plan/directories.js';
import { SetupError } from '../plan/process.js';
import { ModelError, ServiceView } from '../plan/service.js';
import { RLIMIT } from '../sys/constants.js';
import { cZero } from '../sys/cmem.js';
import { prlimit } from '../sys/libc.js';
import { formatDiagnostic } from '../unit/diagnostics.js';
import { UnitSearchPath } from '../unit/search-path.js';
import type { ServiceCgroup } from '../mechanisms/cgroups.js';
import { removeIpcOf } from '../mechanisms/ipc.js';
import { removePrivateTmp } from '../mechanisms/mounts-tmp.js';
import { effectiveNotifyAccess, notifySocketPath, NotifySocket, type NotifyMessage } from '../supervise/notify.js';
import { CommandRunner } from '../supervise/command-runner.js';
import { conditionVerdict, outcomeOf, PidWatcher, readPidFile, type ServiceOutcome } from '../supervise/foreground.js';
import { serviceConfig } from '../supervise/service-config.js';
import { ServiceUnit } from '../supervise/service-unit.js';
import { LogPipe } from '../supervise/stdio.js';

export interface RunCliOptions {
  readonly unitPath: readonly string[];
  readonly bestEffortSandbox: boolean;
  readonly resultFile?: string;
}

interface Loaded {
  readonly services: ServiceView[];
  readonly ok: boolean;
}

function loadArgs(args: readonly string[], unitPath: readonly string[]): Loaded {
  const services: ServiceView[] = [];
  let ok = true;
  const yaml = args.filter((a) => /\.ya?ml$/.test(a));
  const units = args.filter((a) => !/\.ya?ml$/.test(a));
  for (const file of yaml) {
    const loaded = loadManifestFile(file);
    for (const d of loaded.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    if (!loaded.manifest) {
      ok = false;
      continue;
    }
    const svcs = (loaded.manifest['services'] ?? {}) as Record<string, Record<string, unknown>>;
    for (const [key, raw] of Object.entries(svcs)) {
      services.push(new ServiceView(key, raw, (f) => {
        const line = loaded.lineOf(['services', key, ...f.split('.')]);
        return line === undefined ? undefined : `${file}:${line} (services.${key}.${f})`;
      }));
    }
  }
  if (units.length > 0) {
    const result = convertUnits(units, new UnitSearchPath(unitPath.length > 0 ? { unitPath } : {}));
    for (const d of result.diagnostics) if (d.severity === 'error') process.stderr.write(`${formatDiagnostic(d)}\n`);
    if (result.failed || !result.manifest) return { services, ok: false };
    const svcs = (result.manifest['services'] ?? {}) as Record<string, Record<string, unknown>>;
    for (const [key, raw] of Object.entries(svcs)) {
      services.push(new ServiceView(key, raw, (f) => result.provenance.fields.get(`services.${key}.${f}`)?.join(', ')));
    }
  }
  return { services, ok };
}

function nofileHard(): number {
  const buf = cZero(16);
  if (prlimit(0, RLIMIT.nofile, null, buf) < 0) return 524288;
  const hard = buf.readBigUInt64LE(8);
  return hard > 0x7fffffffn ? 0x7fffffff : Number(hard);
}

function stateDirs(): { tmpDir: string; runRoot: string; dynamicUserDir: string } {
  if (process.geteuid?.() === 0) {
    mkdirSync('/run/sysg', { recursive: true, mode: 0o700 });
    return { tmpDir: '/run/sysg', runRoot: '/run', dynamicUserDir: '/var/lib/sysg/dynamic-users' };
  }
  const base = join(tmpdir(), `sysg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  return { tmpDir: base, runRoot: base, dynamicUserDir: join(base, 'dynamic-users') };
}

/** Exit status: 0 when every service ended successfully; else the first failure's status. */
export async function runRun(args: readonly string[], opts: RunCliOptions): Promise<number> {
  const loaded = loadArgs(args, opts.unitPath);
  if (!loaded.ok) return 2;
  if (loaded.services.length === 0) {
    process.stderr.write('sysg: run: no services to run\n');
    return 2;
  }
  const dirs = stateDirs();
  const say = (m: string): void => void process.stderr.write(`sysg: ${m}\n`);
  const prepared: PreparedService[] = [];
  for (const svc of loaded.services) {
    try {
      prepared.push(prepareService(svc, { bestEffort: opts.bestEffortSandbox, dynamicUserDir: dirs.dynamicUserDir, runRoot: dirs.runRoot, warn: say }));
    } catch (e) {
      if (e instanceof UnenforcedError || e instanceof ModelError || e instanceof SetupError) {
        say(`${svc.unitName}: not started:\n${e.message}`);
        // The services prepared before it do not start either: undo their setup.
        for (const p of prepared) {
          try {
            p.cgroup?.remove();
          } catch {
            /* empty and unused: best effort */
          }
          removePaths(p.removeAtStop);
        }
        writeResult(opts.resultFile, [{ unit: svc.unitName, outcome: { result: 'refused', exitStatus: 1, status: 'refused', commands: [] }, message: e.message }]);
        return e instanceof SetupError ? e.exitCode : 1;
      }
      throw e;
    }
  }

  const launcher = await Launcher.start();
  const pids = new PidWatcher(launcher);
  const managerEnv = { ...process.env };
  const privileged = supervisorIsPrivileged();
  const hardNofile = nofileHard();
  const runs = prepared.map((prep) => {
    const name = prep.svc.unitName;
    const log = new LogPipe((line) => process.stdout.write(`${name}: ${line}\n`));
    const cfg = serviceConfig(prep.svc);
    // sd_notify: a datagram socket per service when Type=notify, NotifyAccess= or a watchdog asks for one.
    const access = effectiveNotifyAccess({ configured: cfg.notifyAccess, type: cfg.type, watchdogUsec: cfg.watchdogMs * 1000 });
    let unitRef: ServiceUnit | undefined;
    const notify = access === 'none' ? undefined : new NotifySocket({
      address: notifySocketPath(join(dirs.tmpDir, 'notify'), name),
      access: () => ({ access, ...(unitRef?.mainPid ? { mainPid: unitRef.mainPid } : {}) }),
      onMessage: (m) => unitRef?.notify(notifyFields(m)),
      onNote: (n) => n.level === 'warning' && say(`${name}: ${n.message}`),
    });
    const runner = new CommandRunner(prep, {
      launcher, log, tmpDir: dirs.tmpDir, supervisorPrivileged: privileged, nofileHard: hardNofile, managerEnv, say, bestEffort: opts.bestEffortSandbox,
      ...(notify ? { aroundLaunch: { before: () => notify.pause(), after: () => notify.resume() } } : {}),
    }, randomBytes(16).toString('hex'));
    const unit: ServiceUnit = new ServiceUnit(name, cfg, runner, {
      checkConditions: () => conditionVerdict(prep, managerEnv),
      processes: (): number[] => (prep.cgroup ? prep.cgroup.pids() : unit.mainPid && pids.alive(unit.mainPid) ? [unit.mainPid] : []),
      watchPid: (pid) => pids.wait(pid),
      readPidFile,
      signal: (pid, sig) => {
        try {
          process.kill(pid, sig);
        } catch {
          /* already gone */
        }
      },
      notifySocket: notify?.address,
      say,
      changed: () => undefined,
    });
    unitRef = unit;
    return { prep, unit, runner, log, notify };
  });
  const stop = (): void => void Promise.all(runs.map((r) => r.unit.stop()));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const outcomes: { unit: string; outcome: ServiceOutcome; message?: string }[] = [];
  try {
    await Promise.all(
      runs.map(async ({ prep, unit, runner, log, notify }) => {
        try {
          await unit.start();
          await unit.finished();
        } finally {
          if (prep.cgroup) await drainCgroup(prep.cgroup, say);
          // RemoveIPC=: after the last process of the user's service is gone.
          if (prep.svc.value('sandbox.remove_ipc') === true && prep.identity && prep.identity.uid !== 0) removeIpcOf(prep.identity.uid);
          notify?.close();
          await log.close();
          removePaths(prep.removeAtStop);
          removePrivateTmp(prep.svc.unitName);
        }
        outcomes.push({ unit: prep.svc.unitName, outcome: outcomeOf(unit, runner) });
      }),
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await launcher.close();
  }
  writeResult(opts.resultFile, outcomes);
  return outcomes.find((o) => o.outcome.exitStatus !== 0)?.outcome.exitStatus ?? 0;
}

/**
 * KillMode=control-group at the end of a service: whatever is left in its
 * cgroup gets SIGTERM, then SIGKILL after a grace period; then the cgroup goes.
 */
async function drainCgroup(cg: ServiceCgroup, say: (m: string) => void, graceMs = 5000): Promise<void> {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  if (!cg.empty()) {
    cg.kill('SIGTERM');
    for (let waited = 0; !cg.empty() && waited < graceMs; waited += 50) await sleep(50);
    if (!cg.empty()) cg.kill('SIGKILL');
    for (let waited = 0; !cg.empty() && waited < 2000; waited += 20) await sleep(20);
  }
  try {
    cg.remove();
  } catch (e) {
    say(`cannot remove a cgroup: ${(e as Error).message}`);
  }
}

/** The fields ServiceUnit.notify() understands, from a parsed datagram. */
function notifyFields(m: NotifyMessage): Map<string, string> {
  const f = new Map<string, string>();
  if (m.ready) f.set('READY', '1');
  if (m.mainPid !== undefined) f.set('MAINPID', String(m.mainPid));
  if (typeof m.status === 'string') f.set('STATUS', m.status);
  if (m.watchdog) f.set('WATCHDOG', m.watchdog === 'ping' ? '1' : 'trigger');
  if (m.stopping) f.set('STOPPING', '1');
  return f;
}


function writeResult(file: string | undefined, outcomes: unknown[]): void {
  if (file) writeFileSync(file, `${JSON.stringify(outcomes, null, 2)}\n`);
}
