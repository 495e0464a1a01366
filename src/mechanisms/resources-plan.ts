/**
 * Model → launch steps for process resources and cgroup placement (see
 * src/plan/context.ts).
 *
 * The cgroup limits themselves are written by the supervisor before launch:
 * the plan builder calls
 *   ServiceCgroup.create(svc.unitName, svc.obj('limits.cgroup') ?? {}, { owner: identity && { uid, gid } })
 * (src/mechanisms/cgroups.ts), which throws CgroupError naming the field it
 * cannot enforce, and passes its `dirs` as BuildContext.cgroupDirs. This
 * fragment then adds the child's 'cgroup-join' step. The limits.cgroup.*
 * fields are listed as enforced on that contract: a requested one with no
 * cgroupDirs is refused here.
 *
 * `+` commands (ctx.sandbox false) still get all of this: none of it is a
 * privilege restriction (systemd applies Nice=, OOMScoreAdjust=, the cgroup,
 * … to them too), and leaving the cgroup would escape MemoryMax=/TasksMax=
 * and the supervisor's kill.
 */
import type { PlannedStep, Fragment, BuildContext } from '../plan/context.js';
import { IOPRIO_CLASS, SCHED_POLICY, type IoprioClassName, type SchedPolicyName } from '../sys/constants-resources.js';
import { CGROUP_FIELDS } from './cgroups.js';
import { defaultSchedPriority, ioprioValue, parseCoredumpFilter, personalityValue } from './resources.js';

const F = {
  nice: 'limits.nice',
  affinity: 'limits.cpu_affinity',
  sched: 'limits.cpu_scheduling',
  io: 'limits.io_scheduling',
  oom: 'limits.oom_score_adjust',
  slack: 'limits.timer_slack',
  coredump: 'limits.coredump_filter',
  personality: 'sandbox.personality',
  keyring: 'sandbox.keyring_mode',
} as const;

function intIn(ctx: BuildContext, field: string, min: number, max: number): number | undefined {
  const v = ctx.svc.num(field);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) ctx.svc.error(field, `${field}: expected an integer ${min}…${max}, got ${v}`);
  return v;
}

function build(ctx: BuildContext): PlannedStep[] {
  const { svc } = ctx;
  const out: PlannedStep[] = [];

  // systemd's order in exec_child(): cgroup, OOM score, coredump filter, nice, scheduler, affinity, ioprio, timer slack, personality, keyring.
  const cgroupRequested = CGROUP_FIELDS.filter((f) => {
    const v = svc.value(f);
    return v !== undefined && v !== null && v !== false;
  });
  if (ctx.cgroupDirs && ctx.cgroupDirs.length > 0) {
    out.push({ step: { op: 'cgroup-join', dirs: ctx.cgroupDirs }, field: 'limits.cgroup' });
  } else if (cgroupRequested.length > 0) {
    svc.error(cgroupRequested[0]!, `${cgroupRequested[0]}: needs the service's own cgroup, which was not created`);
  }
  for (const f of cgroupRequested.filter((x) => x.startsWith('limits.cgroup.startup_'))) {
    ctx.warn(f, `${f} applies only while the system boots or shuts down, which never happens under sysg; ignored (as systemd does outside those phases)`);
  }

  const oom = intIn(ctx, F.oom, -1000, 1000);
  if (oom !== undefined) out.push({ step: { op: 'oom-score-adjust', value: oom }, field: F.oom });

  const coredump = svc.scalar(F.coredump);
  if (coredump !== undefined) {
    let mask: bigint;
    try {
      mask = typeof coredump === 'number' ? BigInt(coredump) : parseCoredumpFilter(coredump);
    } catch (e) {
      return svc.error(F.coredump, `${F.coredump}: ${(e as Error).message}`);
    }
    out.push({ step: { op: 'coredump-filter', mask: `0x${mask.toString(16)}` }, field: F.coredump });
  }

  const nice = intIn(ctx, F.nice, -20, 19);
  if (nice !== undefined) out.push({ step: { op: 'nice', value: nice }, field: F.nice });

  if (svc.obj(F.sched) !== undefined) {
    const policy = svc.str(`${F.sched}.policy`) ?? 'other';
    if (!(policy in SCHED_POLICY)) svc.error(`${F.sched}.policy`, `${F.sched}.policy: expected one of ${Object.keys(SCHED_POLICY).join(', ')}`);
    const p = policy as SchedPolicyName;
    const priority = intIn(ctx, `${F.sched}.priority`, 0, 99) ?? defaultSchedPriority(p);
    const resetOnFork = svc.bool(`${F.sched}.reset_on_fork`) ?? false;
    out.push({ step: { op: 'cpu-scheduling', policy: p, priority, resetOnFork }, field: F.sched });
  }

  const cpus = svc.list(F.affinity);
  if (cpus !== undefined && cpus.length > 0) {
    if (!cpus.every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) < 8192)) svc.error(F.affinity, `${F.affinity}: expected CPU numbers 0…8191`);
    out.push({ step: { op: 'cpu-affinity', cpus: [...new Set(cpus as number[])].sort((a, b) => a - b) }, field: F.affinity });
  }

  if (svc.obj(F.io) !== undefined) {
    const cls = svc.str(`${F.io}.class`);
    if (cls !== undefined && !(cls in IOPRIO_CLASS)) svc.error(`${F.io}.class`, `${F.io}.class: expected one of ${Object.keys(IOPRIO_CLASS).join(', ')}`);
    const level = intIn(ctx, `${F.io}.priority`, 0, 7);
    if (cls !== undefined || level !== undefined) {
      out.push({ step: { op: 'ioprio', value: ioprioValue(cls as IoprioClassName | undefined, level) }, field: F.io });
    }
  }

  const slack = intIn(ctx, F.slack, 0, Number.MAX_SAFE_INTEGER);
  if (slack !== undefined) out.push({ step: { op: 'timer-slack', ns: slack }, field: F.slack });

  const pers = svc.str(F.personality);
  if (pers !== undefined) {
    const persona = personalityValue(pers);
    if (persona === undefined) return svc.error(F.personality, `${F.personality}: ${JSON.stringify(pers)} is not this machine's architecture or its compat one`);
    out.push({ step: { op: 'personality', persona }, field: F.personality });
  }

  // systemd's system manager defaults KeyringMode= to private; sysg does for systemd units run by a root supervisor.
  const keyring = svc.str(F.keyring) ?? (svc.value('semantics') === 'systemd' && ctx.supervisorPrivileged ? 'private' : 'inherit');
  if (keyring !== 'inherit') {
    if (keyring !== 'private' && keyring !== 'shared') return svc.error(F.keyring, `${F.keyring}: expected inherit, private or shared`);
    const id = ctx.identity;
    out.push({ step: { op: 'keyring', mode: keyring, ...(id ? { uid: id.uid, gid: id.gid } : {}) }, field: F.keyring });
  }
  return out;
}

export const resourcesFragment: Fragment = {
  name: 'resources',
  fields: [...Object.values(F), ...CGROUP_FIELDS],
  build,
};
