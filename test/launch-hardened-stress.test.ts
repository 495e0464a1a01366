/**
 * Issue 3's robustness bar: ≥ 2000 launches of *hardened* services (the bench
 * set: ProtectSystem=strict, PrivateTmp=, PrivateDevices=, ProtectHome=,
 * NoNewPrivileges=, CapabilityBoundingSet=, SystemCallFilter=@system-service,
 * User=nobody) while this supervisor process is busy: a 1 ms timer, GC churn
 * on the main thread, fs work on the libuv threadpool.
 *
 * The plans come from the plan layer (converter → ServiceView →
 * prepareService → planCommand, test/bench/hardened.ts), as `sysg run`
 * builds them, and three commands of the service are mixed:
 * - ExecStart=/bin/true: must exit 0;
 * - ExecStartPre= a probe that exits 0 only when the sandbox is really there
 *   (uid 65534, seccomp mode 2, no_new_privs, empty bounding set, /usr
 *   read-only, /home unreadable): every 40th launch;
 * - ExecStartPost= a program that exists in the host's /tmp but not in the
 *   service's private /tmp: the launch must fail at execve (203/EXEC), so the
 *   error-report path runs under the same load: every 10th launch.
 * Anything else fails the test: a hang (no exec or exit within the per-launch
 * limit), a crash (a signal exit: SIGSEGV in the fork child, SIGSYS from the
 * filter), a lost exit or a dead zygote. Also asserted: the zygote's thread
 * count is unchanged, and neither the supervisor nor the zygote gained more
 * than a small constant of fds. No timing assertions (`npm run bench`).
 */
import t from 'tap';
import { copyFileSync, chmodSync, promises as fsp, rmSync } from 'node:fs';
import { Launcher, LaunchError, type Launched } from '../src/launch/launcher.js';
import type { LaunchPlan } from '../src/launch/plan.js';
import { hardenedService } from './bench/hardened.js';

const LAUNCHES = 2000;
const IN_FLIGHT = 8;
/** fork→execve limit: a child that has not exec'd by then is a hang (killed, reported as a timeout). */
const LAUNCH_TIMEOUT_MS = 15_000;
/** execve→exit limit for /bin/true and the probe: longer means a hung service. */
const EXIT_TIMEOUT_MS = 30_000;
/** fds the supervisor or the zygote may legitimately gain (a lazily opened handle or two). */
const FD_SLACK = 4;

function busy(): () => Promise<void> {
  let stop = false;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  let keep: unknown[] = [];
  const churn = (): void => {
    if (stop) return;
    // Short-lived garbage plus a slowly replaced live set: keeps the GC busy.
    const a = Array.from({ length: 2000 }, (_, i) => ({ i, s: `x${i}` }));
    keep.push(a);
    if (keep.length > 50) keep = keep.slice(25);
    setImmediate(churn);
  };
  churn();
  const workers = Array.from({ length: 16 }, async () => {
    while (!stop) {
      await fsp.stat('/proc/self/status');
      await fsp.readFile('/proc/self/maps');
    }
  });
  return async () => {
    stop = true;
    clearInterval(timer);
    await Promise.all(workers);
    if (ticks === 0) throw new Error('the timer never ran');
  };
}

const fdCount = async (pid: number | 'self'): Promise<number> => (await fsp.readdir(`/proc/${pid}/fd`)).length;
const threadCount = async (pid: number): Promise<number> => (await fsp.readdir(`/proc/${pid}/task`)).length;

/** The probe (no `$` or `%`: the unit file would expand them). Exits 0 only inside the sandbox. */
const PROBE = [
  'grep -q "^Uid:[[:space:]]*65534[[:space:]]" /proc/self/status',
  'grep -q "^Seccomp:[[:space:]]*2" /proc/self/status',
  'grep -q "^NoNewPrivs:[[:space:]]*1" /proc/self/status',
  'grep -q "^CapBnd:[[:space:]]*0000000000000000" /proc/self/status',
  '! touch /usr/.sysg-hardened-stress 2>/dev/null',
  '! ls /home >/dev/null 2>&1',
].join(' && ');

type Kind = 'true' | 'probe' | 'hidden';
const kindOf = (i: number): Kind => (i % 10 === 5 ? 'hidden' : i % 40 === 1 ? 'probe' : 'true');

function exitWithin(l: Launched, ms: number): Promise<Awaited<Launched['exited']> | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  return Promise.race([l.exited, hung]).finally(() => clearTimeout(timer));
}

t.test(`${LAUNCHES} hardened launches under a busy supervisor: no hangs, no crashes, no leaks`, async (t) => {
  // An executable the host has in /tmp; the service's private /tmp does not.
  const hidden = `/tmp/sysg-hardened-stress-${process.pid}`;
  copyFileSync('/bin/true', hidden);
  chmodSync(hidden, 0o755);
  t.teardown(() => rmSync(hidden, { force: true }));

  const svc = hardenedService(`sysg-hardened-stress-${process.pid}`, [
    `ExecStartPre=/bin/sh -c '${PROBE}'`,
    'ExecStart=/bin/true',
    `ExecStartPost=${hidden}`,
  ]);
  t.teardown(() => svc.cleanup());
  const plans: Record<Kind, LaunchPlan> = { probe: svc.planOf('start_pre'), true: svc.planOf('start'), hidden: svc.planOf('start_post') };
  const ops: string[] = (plans.true.steps ?? []).map((s) => s.op);
  for (const op of ['mount-namespace', 'seccomp-before-user', 'set-user', 'capability-bounding-set', 'no-new-privileges']) {
    t.ok(ops.includes(op) || (op === 'seccomp-before-user' && ops.includes('seccomp')), `the plan layer's plan has ${op}`);
  }

  const l = await Launcher.start({ launchTimeoutMs: LAUNCH_TIMEOUT_MS });
  t.teardown(() => l.close());

  // Control: without the sandbox (the plan's argv/env only) the probe fails.
  {
    const bare = await l.launch({ path: plans.probe.path, argv: plans.probe.argv, env: plans.probe.env });
    const exit = await bare.exited;
    t.ok('code' in exit && exit.code !== 0, `the probe fails outside the sandbox (${JSON.stringify(exit)})`);
  }

  // Warm-up: one of each kind, so lazily created handles exist before counting.
  for (const k of ['probe', 'true', 'hidden'] as const) {
    try {
      await (await l.launch(plans[k])).exited;
    } catch (e) {
      if (!(e instanceof LaunchError)) throw e;
    }
  }
  const threads0 = await threadCount(l.pid);
  const zygoteFds0 = await fdCount(l.pid);
  const selfFds0 = await fdCount('self');

  const stopBusy = busy();
  const problems: string[] = [];
  const tally = { exited: 0, probes: 0, refusedAtExec: 0, hangs: 0, crashes: 0 };
  let next = 0;
  const t0 = Date.now();
  const lane = async (): Promise<void> => {
    while (next < LAUNCHES) {
      const i = next++;
      const kind = kindOf(i);
      let launched: Launched;
      try {
        launched = await l.launch(plans[kind]);
      } catch (e) {
        if (!(e instanceof LaunchError)) {
          problems.push(`#${i} ${kind}: ${String(e)}`);
          continue;
        }
        if (kind === 'hidden' && e.kind === 'step' && e.step === 'exec' && e.exitCode === 203 && e.errno === 2) {
          tally.refusedAtExec++;
          continue;
        }
        if (e.kind === 'timeout') tally.hangs++;
        problems.push(`#${i} ${kind}: ${e.kind}/${e.step}: ${e.message}`);
        continue;
      }
      if (kind === 'hidden') problems.push(`#${i}: ${hidden} was executed: the private /tmp is missing`);
      const exit = await exitWithin(launched, EXIT_TIMEOUT_MS);
      if (exit === 'hung') {
        tally.hangs++;
        problems.push(`#${i} ${kind}: pid ${launched.pid} did not exit within ${EXIT_TIMEOUT_MS} ms`);
        try {
          process.kill(launched.pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      } else if ('lost' in exit) {
        problems.push(`#${i} ${kind}: exit lost: ${exit.lost}`);
      } else if ('signo' in exit) {
        tally.crashes++;
        problems.push(`#${i} ${kind}: pid ${launched.pid} killed by ${exit.signal}`);
      } else if (exit.code !== 0) {
        problems.push(`#${i} ${kind}: pid ${launched.pid} exited ${exit.code}`);
      } else {
        tally.exited++;
        if (kind === 'probe') tally.probes++;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  await stopBusy();
  const ms = Date.now() - t0;
  t.comment(`${LAUNCHES} hardened launches in ${ms} ms (${(ms / LAUNCHES).toFixed(2)} ms each, ${IN_FLIGHT} in flight, supervisor busy): ${JSON.stringify(tally)}`);

  const expectedRefused = Array.from({ length: LAUNCHES }, (_, i) => kindOf(i)).filter((k) => k === 'hidden').length;
  const expectedProbes = Array.from({ length: LAUNCHES }, (_, i) => kindOf(i)).filter((k) => k === 'probe').length;
  t.same(problems.slice(0, 10), [], 'every launch settled as expected');
  t.equal(problems.length, 0, 'no problems at all');
  t.equal(tally.hangs, 0, '0 hangs');
  t.equal(tally.crashes, 0, '0 crashes');
  t.equal(tally.exited, LAUNCHES - expectedRefused, 'every /bin/true and probe exited 0');
  t.equal(tally.probes, expectedProbes, 'every in-sandbox probe passed');
  t.equal(tally.refusedAtExec, expectedRefused, 'every hidden-program launch failed at execve with 203/ENOENT');
  t.notOk(l.closed, 'zygote alive');
  t.equal(await threadCount(l.pid), threads0, `zygote thread count unchanged (${threads0})`);
  const zygoteFds = await fdCount(l.pid);
  const selfFds = await fdCount('self');
  t.ok(zygoteFds <= zygoteFds0 + FD_SLACK, `zygote fds ${zygoteFds0} → ${zygoteFds} (slack ${FD_SLACK})`);
  t.ok(selfFds <= selfFds0 + FD_SLACK, `supervisor fds ${selfFds0} → ${selfFds} (slack ${FD_SLACK})`);
});
