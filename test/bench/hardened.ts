/**
 * The "bench set" of issue 3 as a real service: ProtectSystem=strict,
 * PrivateTmp=, PrivateDevices=, ProtectHome=, NoNewPrivileges=,
 * CapabilityBoundingSet= (empty), SystemCallFilter=@system-service,
 * User=nobody. The unit text goes through the converter, a ServiceView and
 * the plan layer (prepareService + planCommand) exactly as `sysg run` does,
 * so the bench and the hardened stress test launch what sysg really
 * launches. Shared by test/bench/run.ts and test/launch-hardened-stress.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertUnits } from '../../src/convert/convert.js';
import type { LaunchPlan, Step } from '../../src/launch/plan.js';
import { privateTmpOf, removePrivateTmp } from '../../src/mechanisms/mounts-tmp.js';
import type { ExecCommand } from '../../src/plan/context.js';
import { planCommand, prepareService, supervisorIsPrivileged, type PreparedService } from '../../src/plan/prepare.js';
import { ServiceView } from '../../src/plan/service.js';
import { cZero } from '../../src/sys/cmem.js';
import { RLIMIT } from '../../src/sys/constants.js';
import { prlimit } from '../../src/sys/libc.js';
import { UnitSearchPath } from '../../src/unit/search-path.js';

/** The bench set, one directive a line; ExecStart= and any extra lines are added per use. */
export const BENCH_SET = [
  'ProtectSystem=strict',
  'PrivateTmp=yes',
  'PrivateDevices=yes',
  'ProtectHome=yes',
  'NoNewPrivileges=yes',
  'CapabilityBoundingSet=',
  'SystemCallFilter=@system-service',
  'User=nobody',
] as const;

export interface HardenedService {
  readonly unitName: string;
  readonly prep: PreparedService;
  /** The launch plan of a command of the service, as `sysg run` builds it (stdio: /dev/null). */
  planOf(kind: 'start' | 'start_pre' | 'start_post', index?: number): LaunchPlan;
  /** Ends the service: its cgroup, private /tmp and runtime directories are removed. */
  cleanup(): void;
}

function nofileHard(): number {
  const buf = cZero(16);
  if (prlimit(0, RLIMIT.nofile, null, buf) < 0) return 524288;
  const hard = buf.readBigUInt64LE(8);
  return hard > 0x7fffffffn ? 0x7fffffff : Number(hard);
}

/**
 * Converts `[Service]` + the bench set + `extra` lines (ExecStart= etc.)
 * into a prepared service. `name` must be unique per process and host
 * (it names the cgroup and the private /tmp directories).
 */
export function hardenedService(name: string, extra: readonly string[]): HardenedService {
  const unitName = `${name}.service`;
  const dir = mkdtempSync(join(tmpdir(), 'sysg-hardened-'));
  let svc: ServiceView;
  try {
    const file = join(dir, unitName);
    writeFileSync(file, ['[Service]', 'Type=oneshot', ...BENCH_SET, ...extra, ''].join('\n'));
    const result = convertUnits([file], new UnitSearchPath({ unitPath: [] }));
    if (result.failed || !result.manifest) throw new Error(`hardened bench unit did not convert: ${JSON.stringify(result.diagnostics)}`);
    const svcs = result.manifest['services'] as Record<string, Record<string, unknown>>;
    const [key, raw] = Object.entries(svcs)[0]!;
    svc = new ServiceView(key, raw, (f) => result.provenance.fields.get(`services.${key}.${f}`)?.join(', '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const warnings: string[] = [];
  const state = mkdtempSync(join(tmpdir(), 'sysg-hardened-state-'));
  const prep = prepareService(svc, { bestEffort: false, dynamicUserDir: join(state, 'dynamic-users'), runRoot: state, warn: (m) => warnings.push(m) });
  const invocationId = randomBytes(16).toString('hex');
  const privileged = supervisorIsPrivileged();
  const hard = nofileHard();
  return {
    unitName,
    prep,
    planOf: (kind, index = 0) => {
      const cmd = (prep.svc.list(`commands.${kind}`) as ExecCommand[] | undefined)?.[index];
      if (!cmd) throw new Error(`${unitName}: no commands.${kind}[${index}]`);
      const planned = planCommand(prep, cmd, {
        managerEnv: process.env,
        extraEnv: [['INVOCATION_ID', invocationId]],
        supervisorPrivileged: privileged,
        nofileHard: hard,
        warn: (m) => warnings.push(m),
      });
      return planned.plan;
    },
    cleanup: () => {
      if (prep.cgroup) {
        if (!prep.cgroup.empty()) prep.cgroup.kill('SIGKILL');
        try {
          prep.cgroup.remove();
        } catch {
          /* a straggler still exiting: the next run's create() reuses the directory */
        }
      }
      if (privateTmpOf(unitName)) removePrivateTmp(unitName);
      for (const p of prep.removeAtStop) rmSync(p, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/** The same plan without the cgroup attach (bwrap attaches none). */
export function withoutCgroupJoin(plan: LaunchPlan): LaunchPlan {
  return { ...plan, steps: (plan.steps ?? []).filter((s) => s.op !== 'cgroup-join') };
}

/** The plan's seccomp programs (struct sock_filter[] each), in install order. */
export function seccompPrograms(plan: LaunchPlan): Buffer[] {
  const isInstall = (s: Step): s is Extract<Step, { op: 'seccomp' | 'seccomp-before-user' }> => s.op === 'seccomp' || s.op === 'seccomp-before-user';
  return (plan.steps ?? []).filter(isInstall).flatMap((s) => s.programs.map((p) => Buffer.from(p, 'base64')));
}
