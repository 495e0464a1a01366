/**
 * The zygote process itself: the DOFORK sweep really clears VM_DONTCOPY,
 * it stays at a constant thread and fd count, reaps re-parented orphans, and
 * its death is reported to pending callers.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { Launcher, LaunchError, type ExitEvent } from '../src/launch/launcher.js';

const TRUE = { path: '/bin/true', argv: ['true'], env: [] };
const count = (dir: string): number => readdirSync(dir).length;

t.test('after the sweep no mapping of the zygote is DONTFORK (VmFlags dc)', async (t) => {
  const l = await Launcher.start();
  t.teardown(() => l.close());
  const r = await l.sweepCheck();
  t.ok(r.before.dontfork > 0, `node/V8 marks heap pages DONTFORK (${r.before.dontfork} of ${r.before.vmas}); if this fails the V8 build changed`);
  t.equal(r.after.dontfork, 0, `still dc after the sweep: ${r.after.examples.join(' | ')}`);
  t.ok(r.after.vmas > 50);
});

t.test('thread and fd counts stay constant across 300 launches', async (t) => {
  const l = await Launcher.start();
  t.teardown(() => l.close());
  // Warm up: the first launches load code and may grow the heap.
  for (let i = 0; i < 5; i++) await (await l.launch(TRUE)).exited;
  const threads0 = count(`/proc/${l.pid}/task`);
  const fds0 = count(`/proc/${l.pid}/fd`);
  t.ok(threads0 <= 5, `zygote threads: ${threads0} (4 node + a libuv pool of 1)`);
  const exits: Promise<unknown>[] = [];
  for (let i = 0; i < 300; i++) {
    const r = await l.launch(i % 3 === 0 ? { path: '/bin/sh', argv: ['sh', '-c', 'exit 3'], env: [] } : TRUE);
    exits.push(r.exited);
  }
  const results = await Promise.all(exits);
  t.equal(results.filter((e, i) => JSON.stringify(e) !== JSON.stringify({ code: i % 3 === 0 ? 3 : 0 })).length, 0, 'every exit reported right');
  t.equal(count(`/proc/${l.pid}/task`), threads0, 'thread count unchanged');
  t.equal(count(`/proc/${l.pid}/fd`), fds0, 'fd count unchanged (pidfds and pipes closed)');
  t.equal(readFileSync(`/proc/${l.pid}/status`, 'utf8').match(/^State:\s+(\S)/m)?.[1], 'S', 'idle between requests');
});

t.test('the zygote is a subreaper: orphaned descendants are reaped and reported', async (t) => {
  const l = await Launcher.start();
  t.teardown(() => l.close());
  const orphans: ExitEvent[] = [];
  const got = new Promise<void>((resolve) =>
    l.onExit((e) => {
      if (e.orphan) {
        orphans.push(e);
        resolve();
      }
    }),
  );
  // The subshell outlives its parent and is re-parented to the zygote.
  const r = await l.launch({ path: '/bin/sh', argv: ['sh', '-c', '(sleep 0.2; exit 4) & exit 0'], env: ['PATH=/usr/bin:/bin'] });
  t.same(await r.exited, { code: 0 });
  await got;
  t.equal(orphans.length, 1);
  t.same(orphans[0]!.exit, { code: 4 });
  t.not(orphans[0]!.pid, r.pid);
  t.same(readFileSync(`/proc/${l.pid}/task/${l.pid}/children`, 'utf8').trim(), '', 'no zombies left');
});

t.test('a dead zygote rejects pending launches and loses running services', async (t) => {
  const l = await Launcher.start();
  const svc = await l.launch({ path: '/bin/sleep', argv: ['sleep', '30'], env: [] });
  t.teardown(() => {
    try {
      process.kill(svc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const pending = l.launch(TRUE).catch((e: unknown) => e);
  process.kill(l.pid, 'SIGKILL');
  const e = await pending;
  // The launch may have completed before the kill landed; the next one must fail.
  if (e instanceof LaunchError) t.equal(e.kind, 'zygote');
  t.match(await svc.exited, { lost: /zygote/ });
  const after = await l.launch(TRUE).catch((x: unknown) => x);
  t.ok(after instanceof LaunchError && after.kind === 'zygote', 'later launches fail fast');
  t.ok(l.closed);
  await l.close();
});

t.test('close() stops the zygote and leaves services running', async (t) => {
  const l = await Launcher.start();
  const svc = await l.launch({ path: '/bin/sleep', argv: ['sleep', '30'], env: [] });
  await l.close();
  t.throws(() => process.kill(l.pid, 0), { code: 'ESRCH' }, 'zygote gone');
  t.doesNotThrow(() => process.kill(svc.pid, 0), 'service still alive');
  process.kill(svc.pid, 'SIGKILL');
  t.match(await svc.exited, { lost: /zygote/ });
});

t.test('close() waits for launches already sent', async (t) => {
  const l = await Launcher.start();
  const launches = Array.from({ length: 5 }, () => l.launch(TRUE));
  await l.close();
  const done = await Promise.all(launches);
  t.equal(done.length, 5, 'every launch sent before close() was answered');
  t.ok(done.every((d) => d.pid > 1));
});
