/**
 * ≥ 2000 launches of /bin/true while this (supervisor) process is busy: a
 * 1 ms timer, allocation churn on the main thread and fs work on the libuv
 * threadpool. Any hang (a child stuck before exec, killed on timeout) or
 * crash (a child dying of SIGSEGV before exec, seen as a signal exit) fails.
 * No timing assertions: speed is measured by `npm run bench`.
 */
import t from 'tap';
import { promises as fsp } from 'node:fs';
import { Launcher, LaunchError } from '../src/launch/launcher.js';

const LAUNCHES = 2000;
const IN_FLIGHT = 8;

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

t.test(`${LAUNCHES} launches of /bin/true under a busy supervisor: no hangs, no crashes`, async (t) => {
  const l = await Launcher.start({ launchTimeoutMs: 5000 });
  t.teardown(() => l.close());
  const threads0 = (await fsp.readdir(`/proc/${l.pid}/task`)).length;
  const stopBusy = busy();
  const problems: string[] = [];
  let next = 0;
  let exited = 0;
  const t0 = Date.now();
  const lane = async (): Promise<void> => {
    while (next < LAUNCHES) {
      next++;
      try {
        const r = await l.launch({ path: '/bin/true', argv: ['true'], env: [] });
        const exit = await r.exited;
        if (!('code' in exit) || exit.code !== 0) problems.push(`pid ${r.pid}: ${JSON.stringify(exit)}`);
        else exited++;
      } catch (e) {
        problems.push(e instanceof LaunchError ? `${e.kind}: ${e.message}` : String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  await stopBusy();
  const ms = Date.now() - t0;
  t.comment(`${LAUNCHES} launches in ${ms} ms: ${(ms / LAUNCHES).toFixed(2)} ms each, ${IN_FLIGHT} in flight, supervisor busy`);
  t.same(problems.slice(0, 10), [], 'no hangs, crashes or failed launches');
  t.equal(exited, LAUNCHES);
  t.notOk(l.closed, 'zygote alive');
  t.equal((await fsp.readdir(`/proc/${l.pid}/task`)).length, threads0, 'zygote thread count unchanged');
});
