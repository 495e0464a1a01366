/**
 * systemd's dependency and job semantics (src/supervise/deps*.ts): the jobs a
 * transaction holds, their order, cycles, missing units, failure propagation
 * with and without After=, BindsTo=/PartOf=/Conflicts=/OnFailure=/Upholds=,
 * reload propagation, targets, and a 1000-unit random DAG.
 */
import t from 'tap';
import {
  type ActiveState,
  JobRunner,
  type JobResult,
  normalizeUnitName,
  onStateChange,
  onUnitFailed,
  onUnitStopped,
  type Plan,
  type PlannedJob,
  type PlanResult,
  planReload,
  planRestart,
  planStart,
  planStop,
  UnitGraph,
  type UnitDeps,
  unitDepsFromModel,
  unsupportedJobs,
  verifyActiveResult,
} from '../src/supervise/deps.js';

const G = (...units: UnitDeps[]): UnitGraph => UnitGraph.build({ units });
const ok = (p: PlanResult): Plan => {
  if (!p.ok) throw new Error(`plan failed: ${p.error}`);
  return p;
};
const ids = (p: PlanResult): string[] => ok(p).jobs.map((j) => j.id).sort();
const job = (p: Plan, id: string): PlannedJob => {
  const j = p.jobs.find((x) => x.id === id);
  if (!j) throw new Error(`no job ${id} in ${p.jobs.map((x) => x.id).join(' ')}`);
  return j;
};
const after = (p: Plan, id: string): string[] => [...job(p, id).after].sort();
const states = (o: Record<string, ActiveState>): Map<string, ActiveState> => new Map(Object.entries(o));

/** Run a plan: every runnable job finishes with outcome(job) in dispatch order. Returns the dispatch order and results. */
function simulate(p: Plan, g: UnitGraph, outcome: (j: PlannedJob) => JobResult = () => 'done') {
  const r = new JobRunner(p, g);
  const dispatched: string[] = [];
  for (let batch = r.take(); batch.length; batch = r.take())
    for (const j of batch) {
      dispatched.push(j.id);
      r.finish(j.id, outcome(j));
    }
  return { dispatched, results: r.results(), finished: r.finished };
}

t.test('unit names', async (t) => {
  t.equal(normalizeUnitName('foo'), 'foo.service');
  t.equal(normalizeUnitName('foo.service'), 'foo.service');
  t.equal(normalizeUnitName('multi-user.target'), 'multi-user.target');
  t.equal(normalizeUnitName('x.socket'), 'x.socket');
  t.equal(normalizeUnitName('var-lib.mount'), 'var-lib.mount');
  t.equal(normalizeUnitName('getty@tty1'), 'getty@tty1.service');
  t.equal(normalizeUnitName('my.app'), 'my.app.service');
  const d = unitDepsFromModel('x', {
    unit: { name: 'x.service', requires: ['a.service'], after: ['a.service'], default_dependencies: false, description: 'd' },
    install: { wanted_by: ['multi-user.target'] },
  });
  t.same(d, { name: 'x.service', requires: ['a.service'], after: ['a.service'], wanted_by: ['multi-user.target'], default_dependencies: false });
});

t.test('graph: closure loading through loadUnit, both directions of each relation', async (t) => {
  const disk: Record<string, UnitDeps> = {
    'a.service': { name: 'a.service', requires: ['b'], wants: ['gone.service'] },
    'b.service': { name: 'b.service', binds_to: ['c.service'], reload_propagated_from: ['a.service'] },
    'c.service': { name: 'c.service', part_of: ['a.service'], after: ['never-loaded.service'] },
  };
  const loaded: string[] = [];
  const g = UnitGraph.build({ load: ['a'], loadUnit: (n) => (loaded.push(n), disk[n]) });
  t.same([...g.names()].sort(), ['a.service', 'b.service', 'c.service']);
  t.same([...g.missing], ['gone.service']);
  t.notOk(loaded.includes('never-loaded.service'), 'ordering-only names are not loaded');
  t.ok(g.get('b.service', 'required_by').has('a.service'));
  t.ok(g.get('c.service', 'bound_by').has('b.service'));
  t.ok(g.get('a.service', 'consists_of').has('c.service'));
  t.ok(g.get('a.service', 'propagates_reload_to').has('b.service'));
  t.ok(g.get('never-loaded.service', 'before').has('c.service'));
});

t.test('Requires= pulls in and does not order; with After= it orders', async (t) => {
  let g = G({ name: 'a', requires: ['b'] }, { name: 'b' });
  let p = ok(planStart(['a'], g));
  t.same(ids(p), ['a.service/start', 'b.service/start']);
  t.same(p.waves, [['a.service/start', 'b.service/start']], 'parallel without ordering');
  t.ok(job(p, 'b.service/start').matters);
  t.same(job(p, 'b.service/start').reasons, ['a.service Requires=b.service']);

  g = G({ name: 'a', requires: ['b'], after: ['b'] }, { name: 'b' });
  p = ok(planStart(['a'], g));
  t.same(p.waves, [['b.service/start'], ['a.service/start']]);
  t.same(after(p, 'a.service/start'), ['b.service/start']);

  // Before= on the other side is the same relation.
  g = G({ name: 'a', requires: ['b'] }, { name: 'b', before: ['a'] });
  t.same(ok(planStart(['a'], g)).waves, [['b.service/start'], ['a.service/start']]);
});

t.test('After= without a pull-in only orders', async (t) => {
  const g = G({ name: 'a', after: ['b'] }, { name: 'b' });
  t.same(ids(planStart(['a'], g)), ['a.service/start']);
  const p = ok(planStart(['a', 'b'], g));
  t.same(p.waves, [['b.service/start'], ['a.service/start']]);
});

t.test('Wants=, Upholds=, BindsTo= pull in; only the required ones matter', async (t) => {
  const g = G({ name: 'a', wants: ['w'], upholds: ['u'], binds_to: ['b'] }, { name: 'w' }, { name: 'u' }, { name: 'b' });
  const p = ok(planStart(['a'], g));
  t.same(ids(p), ['a.service/start', 'b.service/start', 'u.service/start', 'w.service/start']);
  t.equal(job(p, 'w.service/start').matters, false);
  t.equal(job(p, 'u.service/start').matters, false);
  t.equal(job(p, 'b.service/start').matters, true);
});

t.test('missing units: Requires=/BindsTo=/Requisite= fail the transaction, Wants= is ignored', async (t) => {
  for (const f of ['requires', 'binds_to', 'requisite'] as const) {
    const g = G({ name: 'a', [f]: ['nope'] });
    const r = planStart(['a'], g);
    t.equal(r.ok, false, f);
    if (!r.ok) {
      t.equal(r.kind, 'not-found');
      t.equal(r.error, 'Unit nope.service not found.');
    }
  }
  const g = G({ name: 'a', wants: ['nope'], upholds: ['nope2'], conflicts: ['nope3'] });
  const p = ok(planStart(['a'], g));
  t.same(ids(p), ['a.service/start']);
  t.match(p.warnings.join('\n'), /a\.service Wants=nope\.service: ignored: Unit nope\.service not found\./);
  const r = planStart(['zzz'], g);
  t.equal(r.ok, false);
  // Deep: a missing unit two levels down through Requires= still fails.
  const g2 = G({ name: 'a', requires: ['b'] }, { name: 'b', requires: ['c'] });
  t.match(planStart(['a'], g2), { ok: false, error: 'Unit c.service not found.' });
  // ... but not through a Wants= link in between: b's start job stays (systemd keeps a job whose
  // own requirements failed to be added when the error is ignored one level up), c gets none.
  const g3 = G({ name: 'a', wants: ['b'] }, { name: 'b', requires: ['c'] });
  const p3 = ok(planStart(['a'], g3));
  t.same(ids(p3), ['a.service/start', 'b.service/start']);
  t.match(p3.warnings.join('\n'), /a\.service Wants=b\.service: ignored: Unit c\.service not found\./);
});

t.test('Requisite=: verified, not started', async (t) => {
  const g = G({ name: 'a', requisite: ['b'], after: ['b'] }, { name: 'b' });
  let p = ok(planStart(['a'], g));
  t.same(ids(p), ['a.service/start', 'b.service/verify-active']);
  t.same(after(p, 'a.service/start'), ['b.service/verify-active']);
  // b inactive: the verify job is skipped and a's start fails with "dependency".
  const sim = simulate(p, g, (j) => (j.type === 'verify-active' ? verifyActiveResult('inactive')! : 'done'));
  t.same(sim.dispatched, ['b.service/verify-active']);
  t.equal(sim.results.get('a.service/start'), 'dependency');
  t.equal(verifyActiveResult('activating'), undefined);
  t.equal(verifyActiveResult('active'), 'done');
  // b active: the verify job is redundant and dropped.
  p = ok(planStart(['a'], g, { states: states({ 'b.service': 'active' }) }));
  t.same(ids(p), ['a.service/start']);
  // b started by the same transaction: start and verify merge into a start.
  const g2 = G({ name: 'a', requisite: ['b'], after: ['b'] }, { name: 'c', requires: ['b'] }, { name: 'b' });
  p = ok(planStart(['a', 'c'], g2));
  t.same(ids(p), ['a.service/start', 'b.service/start', 'c.service/start']);
  // b's start ends "done" but b is not active (a failed condition): Requisite= fails a.
  const r = new JobRunner(p, g2);
  t.same(r.take().map((j) => j.id).sort(), ['b.service/start', 'c.service/start']);
  const outs = r.finish('b.service/start', 'done', false);
  t.same(outs.map((o) => [o.id, o.result]), [['a.service/start', 'dependency']]);
  r.finish('c.service/start', 'done');
  t.ok(r.finished);
});

t.test('ordering: waves, stops before starts, independent units in parallel', async (t) => {
  const g = G(
    { name: 'web.target', wants: ['app', 'db', 'cache', 'log'] },
    { name: 'app', after: ['db', 'cache'] },
    { name: 'db', after: ['log'] },
    { name: 'cache' },
    { name: 'log' },
  );
  const p = ok(planStart(['web.target'], g));
  t.same(
    p.waves.map((w) => [...w].sort()),
    [['cache.service/start', 'log.service/start', 'web.target/start'], ['db.service/start'], ['app.service/start']],
  );
  const s = simulate(p, g);
  t.ok(s.dispatched.indexOf('log.service/start') < s.dispatched.indexOf('db.service/start'));
  t.ok(s.dispatched.indexOf('db.service/start') < s.dispatched.indexOf('app.service/start'));
  // The topological order of jobs respects `after`.
  const pos = new Map(p.jobs.map((j, i) => [j.id, i]));
  for (const j of p.jobs) for (const a of j.after) t.ok(pos.get(a)! < pos.get(j.id)!);

  // Stop of everything: reverse order.
  const all = states({ 'web.target': 'active', 'app.service': 'active', 'db.service': 'active', 'cache.service': 'active', 'log.service': 'active' });
  const stop = ok(planStop(['app', 'db', 'cache', 'log', 'web.target'], g, { states: all }));
  t.same(
    stop.waves.map((w) => [...w].sort()),
    [['app.service/stop', 'web.target/stop'], ['cache.service/stop', 'db.service/stop'], ['log.service/stop']],
  );
});

t.test('ordering cycles: a Wants= job is deleted to break it, else the transaction fails', async (t) => {
  // a Wants b, a After b, b After a: b's job does not matter and goes.
  let g = G({ name: 'a', wants: ['b'], after: ['b'] }, { name: 'b', after: ['a'] });
  let p = ok(planStart(['a'], g));
  t.same(ids(p), ['a.service/start']);
  t.equal(p.brokenCycles.length, 1);
  t.same([...p.brokenCycles[0]!.cycle].sort(), ['a.service/start', 'b.service/start']);
  t.same(p.brokenCycles[0]!.deleted, ['b.service/start']);
  t.match(p.warnings.join('\n'), /Found ordering cycle: .* deleted job b\.service\/start/);

  // Everything required: fatal, naming the cycle.
  g = G({ name: 'a', requires: ['b'], after: ['b'] }, { name: 'b', requires: ['c'], after: ['c'] }, { name: 'c', after: ['a'] });
  const r = planStart(['a'], g);
  t.equal(r.ok, false);
  if (!r.ok) {
    t.equal(r.kind, 'ordering-cycle');
    t.same([...r.cycle!].sort(), ['a.service/start', 'b.service/start', 'c.service/start']);
    t.match(r.error, /^Transaction order is cyclic: .*a\.service\/start.*b\.service\/start.*c\.service\/start/);
  }

  // A deleted job takes the jobs that required it along; the rest stays.
  g = G(
    { name: 'r', wants: ['x'], requires: ['z'] },
    { name: 'x', requires: ['y'], after: ['y'] },
    { name: 'y', after: ['x'] },
    { name: 'z' },
  );
  p = ok(planStart(['r'], g));
  t.same(ids(p), ['r.service/start', 'z.service/start']);

  // Two roots ordered both ways: both matter, fatal.
  g = G({ name: 'a', after: ['b'] }, { name: 'b', after: ['a'] });
  t.match(planStart(['a', 'b'], g), { ok: false, kind: 'ordering-cycle' });
  // A start/stop pair ordered both ways is no cycle: the stop goes first.
  g = G({ name: 'a', conflicts: ['b'], after: ['b'] }, { name: 'b', after: ['a'] });
  p = ok(planStart(['a'], g, { states: states({ 'b.service': 'active' }) }));
  t.same(p.waves, [['b.service/stop'], ['a.service/start']]);
});

t.test('Conflicts=: stop jobs, merge conflicts', async (t) => {
  let g = G({ name: 'a', conflicts: ['b'] }, { name: 'b' }, { name: 'c', conflicts: ['a'] });
  const st = states({ 'b.service': 'active', 'c.service': 'active' });
  let p = ok(planStart(['a'], g, { states: st }));
  t.same(ids(p), ['a.service/start', 'b.service/stop', 'c.service/stop']);
  t.same(p.waves.length, 1, 'no ordering without After=/Before=');
  t.equal(job(p, 'b.service/stop').matters, true);
  t.equal(job(p, 'c.service/stop').matters, false, 'ConflictedBy does not matter');
  // Not running: nothing to stop.
  t.same(ids(planStart(['a'], g)), ['a.service/start']);
  // With Before=: the stop still goes first.
  g = G({ name: 'a', conflicts: ['b'], before: ['b'] }, { name: 'b' });
  p = ok(planStart(['a'], g, { states: st }));
  t.same(p.waves, [['b.service/stop'], ['a.service/start']]);
  // Requires= and Conflicts= on the same unit: contradiction.
  g = G({ name: 'a', requires: ['b'], conflicts: ['b'] }, { name: 'b' });
  t.match(planStart(['a'], g), { ok: false, kind: 'conflicting-jobs', error: /^Transaction contains conflicting jobs 'start' and 'stop' for [ab]\.service\. Probably contradicting/ });
  // Wants= and Conflicts=: the start does not matter and is deleted.
  g = G({ name: 'a', wants: ['b'], conflicts: ['b'] }, { name: 'b' });
  t.same(ids(planStart(['a'], g, { states: st })), ['a.service/start', 'b.service/stop']);
  // Neither matters: a stop from a Conflicts= wins over a start.
  g = G({ name: 'a', wants: ['x', 'y'] }, { name: 'x', wants: ['b'] }, { name: 'y', conflicts: ['b'] }, { name: 'b' });
  p = ok(planStart(['a'], g, { states: st }));
  t.same(ids(p), ['a.service/start', 'b.service/stop', 'x.service/start', 'y.service/start']);
  t.match(p.warnings.join('\n'), /Fixing conflicting jobs .* by deleting job b\.service\/start/);
  // Starting the conflicting units themselves: the requested one wins.
  g = G({ name: 'a', conflicts: ['b'] }, { name: 'b' });
  t.match(planStart(['a', 'b'], g), { ok: false, kind: 'conflicting-jobs' });
});

t.test('failure propagation: Requires= with After= fails the dependent, without After= it does not', async (t) => {
  // With After=: a waits for b; b fails; a's job ends "dependency" and a never runs.
  let g = G({ name: 'a', requires: ['b'], after: ['b'] }, { name: 'b' });
  let p = ok(planStart(['a'], g));
  let r = new JobRunner(p, g);
  t.same(r.take().map((j) => j.id), ['b.service/start']);
  let outs = r.finish('b.service/start', 'failed');
  t.same(outs, [{ id: 'a.service/start', unit: 'a.service', type: 'start', result: 'dependency', cause: 'b.service/start', running: false }]);
  t.same(r.take(), [], 'a is never started');
  t.ok(r.finished);

  // Without After=: both start at once. a (Type=simple) is done before b fails: a stays.
  g = G({ name: 'a', requires: ['b'] }, { name: 'b' });
  p = ok(planStart(['a'], g));
  r = new JobRunner(p, g);
  t.same(r.take().map((j) => j.id).sort(), ['a.service/start', 'b.service/start']);
  r.finish('a.service/start', 'done');
  t.same(r.finish('b.service/start', 'failed'), [], 'a already finished: not failed');
  t.equal(r.statusOf('a.service/start'), 'done');
  // ... and no retroactive stop for Requires= either.
  t.same(onUnitFailed('b', g, { from: 'activating', job: 'start', states: states({ 'a.service': 'active' }) }), []);

  // Without After=, a still activating (Type=notify) when b fails: its job ends "dependency", its processes stay.
  r = new JobRunner(p, g);
  r.take();
  outs = r.finish('b.service/start', 'failed');
  t.same(outs.map((o) => [o.id, o.result, o.running]), [['a.service/start', 'dependency', true]]);
  t.same(r.finish('a.service/start', 'done'), [], 'a later report is ignored');
  t.equal(r.statusOf('a.service/start'), 'dependency');

  // Without After=b but a still waiting for something else (After=c): b's failure ends a's waiting job.
  g = G({ name: 'a', requires: ['b', 'c'], after: ['c'] }, { name: 'b' }, { name: 'c' });
  r = new JobRunner(ok(planStart(['a'], g)), g);
  t.same(r.take().map((j) => j.id).sort(), ['b.service/start', 'c.service/start']);
  t.same(r.finish('b.service/start', 'failed').map((o) => [o.id, o.result, o.running]), [['a.service/start', 'dependency', false]]);
  r.finish('c.service/start', 'done');
  t.same(r.take(), [], 'a never runs');

  // Wants= + After=: b's failure does not matter, a runs.
  g = G({ name: 'a', wants: ['b'], after: ['b'] }, { name: 'b' });
  const s = simulate(ok(planStart(['a'], g)), g, (j) => (j.unit === 'b.service' ? 'failed' : 'done'));
  t.same(s.dispatched, ['b.service/start', 'a.service/start']);
  t.equal(s.results.get('a.service/start'), 'done');

  // BindsTo= + After=: like Requires=.
  g = G({ name: 'a', binds_to: ['b'], after: ['b'] }, { name: 'b' });
  t.equal(simulate(ok(planStart(['a'], g)), g, (j) => (j.unit === 'b.service' ? 'timeout' : 'done')).results.get('a.service/start'), 'dependency');

  // Transitive: a Requires b Requires c, ordered; c fails → b and a "dependency"; an unrelated unit ordered after c still runs.
  g = G(
    { name: 't.target', wants: ['a', 'd'] },
    { name: 'a', requires: ['b'], after: ['b'] },
    { name: 'b', requires: ['c'], after: ['c'] },
    { name: 'c' },
    { name: 'd', after: ['c'] },
  );
  const s2 = simulate(ok(planStart(['t.target'], g)), g, (j) => (j.unit === 'c.service' ? 'failed' : 'done'));
  t.equal(s2.results.get('b.service/start'), 'dependency');
  t.equal(s2.results.get('a.service/start'), 'dependency');
  t.equal(s2.results.get('d.service/start'), 'done', 'After= alone does not propagate failure');
  t.equal(s2.results.get('t.target/start'), 'done', 'Wants= does not propagate failure');
  t.ok(s2.finished);

  // A failed stop job fails the start of the unit that conflicts with it.
  g = G({ name: 'a', conflicts: ['b'], after: ['b'] }, { name: 'b' });
  const s3 = simulate(ok(planStart(['a'], g, { states: states({ 'b.service': 'active' }) })), g, (j) => (j.type === 'stop' ? 'failed' : 'done'));
  t.equal(s3.results.get('a.service/start'), 'dependency');
});

t.test('OnFailure=/OnSuccess=', async (t) => {
  const g = G({ name: 'a', on_failure: ['alert'], on_success: ['next'], on_failure_job_mode: 'fail' }, { name: 'alert' }, { name: 'next' });
  t.same(onUnitFailed('a', g), [{ kind: 'start', unit: 'alert.service', mode: 'fail', reason: 'a.service OnFailure=alert.service' }]);
  t.same(onUnitFailed('a', g, { willAutoRestart: true }), [], 'not while Restart= will restart it');
  t.same(onUnitFailed('a', g, { from: 'failed' }), [], 'only on entering failed');
  t.same(onUnitStopped('a', g), [{ kind: 'start', unit: 'next.service', mode: 'replace', reason: 'a.service OnSuccess=next.service' }]);
  t.same(onUnitStopped('a', g, { from: 'inactive' }), []);
  // The OnFailure= unit is loaded with the closure.
  const g2 = UnitGraph.build({ load: ['a'], loadUnit: (n) => ({ 'a.service': { name: 'a', on_failure: ['x'] }, 'x.service': { name: 'x' } })[n] });
  t.ok(g2.has('x.service'));
});

t.test('BindsTo=: a unit stops when the unit it is bound to stops', async (t) => {
  const g = G({ name: 'a', binds_to: ['b'], after: ['b'] }, { name: 'b' }, { name: 'r', requires: ['b'], after: ['b'] });
  const st = states({ 'a.service': 'active', 'r.service': 'active' });
  // b's process exits by itself.
  t.same(onUnitStopped('b', g, { states: st }), [{ kind: 'stop', unit: 'a.service', reason: 'a.service BindsTo=b.service, which stopped' }]);
  t.same(onUnitFailed('b', g, { states: st }).map((a) => [a.kind, a.unit]), [['stop', 'a.service']]);
  // A failed start of b (a started in parallel or already active): a goes too.
  t.same(onUnitFailed('b', g, { from: 'activating', job: 'start', states: st }).map((a) => a.unit), ['a.service']);
  // An explicit stop of b: the stop transaction holds a's (and r's) stop; nothing more to do.
  const stop = ok(planStop(['b'], g, { states: new Map([...st, ['b.service', 'active']]) }));
  t.same(ids(stop), ['a.service/stop', 'b.service/stop', 'r.service/stop']);
  t.same(stop.waves.map((w) => [...w].sort()), [['a.service/stop', 'r.service/stop'], ['b.service/stop']]);
  t.same(onUnitStopped('b', g, { job: 'stop', states: st, hasJob: (u) => u !== 'b.service' }), []);
  // Bound unit left active with b down and no job: stop-when-bound.
  t.same(onStateChange({ unit: 'a', from: 'activating', to: 'active', job: 'start' }, g, { states: st }).map((x) => [x.kind, x.unit]), [
    ['stop', 'a.service'],
  ]);
});

t.test('PartOf=: stops and restarts with the unit, but not on its own exit', async (t) => {
  const g = G({ name: 'main' }, { name: 'helper', part_of: ['main'], after: ['main'] });
  const st = states({ 'main.service': 'active', 'helper.service': 'active' });
  t.same(planStart(['main'], g, { states: new Map() }).ok && ids(planStart(['main'], g)), ['main.service/start'], 'PartOf= does not pull in');
  const stop = ok(planStop(['main'], g, { states: st }));
  t.same(stop.waves, [['helper.service/stop'], ['main.service/stop']]);
  t.same(job(stop, 'helper.service/stop').reasons, ['stop propagated: helper.service PartOf=main.service']);
  const rs = ok(planRestart(['main'], g, { states: st }));
  t.same(ids(rs), ['helper.service/start', 'helper.service/stop', 'main.service/start', 'main.service/stop']);
  t.same(after(rs, 'main.service/stop'), ['helper.service/stop']);
  t.same(after(rs, 'main.service/start'), ['helper.service/stop', 'main.service/stop'], 'stops go before starts');
  t.same(after(rs, 'helper.service/start'), ['helper.service/stop', 'main.service/start', 'main.service/stop']);
  t.same(simulate(rs, g).dispatched, ['helper.service/stop', 'main.service/stop', 'main.service/start', 'helper.service/start']);
  t.same(onUnitStopped('main', g, { states: st }), [], 'main exiting by itself does not stop helper');
  // Stopping the part does not stop the whole.
  t.same(ids(planStop(['helper'], g, { states: st })), ['helper.service/stop']);
});

t.test('Requires=: explicit stop and restart propagate; inactive dependents are not restarted', async (t) => {
  const g = G({ name: 'a', requires: ['b'], after: ['b'] }, { name: 'b' }, { name: 'c', requires: ['b'] }, { name: 'w', wants: ['b'] });
  const st = states({ 'a.service': 'active', 'b.service': 'active', 'w.service': 'active' });
  t.same(ids(planStop(['b'], g, { states: st })), ['a.service/stop', 'b.service/stop'], 'c inactive, w only Wants=');
  const rs = ok(planRestart(['b'], g, { states: st }));
  t.same(ids(rs), ['a.service/start', 'a.service/stop', 'b.service/start', 'b.service/stop']);
  const s = simulate(rs, g);
  t.same(s.dispatched, ['a.service/stop', 'b.service/stop', 'b.service/start', 'a.service/start']);
  // Automatic restart (Restart=): b gets a start job, its active dependents restart.
  const ar = ok(planStart(['b'], g, { states: new Map([...st, ['b.service', 'activating']]), restartDependencies: true, automatic: true }));
  t.same(ids(ar), ['a.service/start', 'a.service/stop', 'b.service/start']);
  // A restart whose stop fails: no start, no propagation.
  const s2 = simulate(rs, g, (j) => (j.id === 'b.service/stop' ? 'failed' : 'done'));
  t.equal(s2.results.get('b.service/start'), 'failed');
  t.equal(s2.results.get('a.service/start'), 'done');
});

t.test('PropagatesStopTo=/StopPropagatedFrom=', async (t) => {
  const g = G({ name: 'a', propagates_stop_to: ['b'] }, { name: 'b' }, { name: 'c', stop_propagated_from: ['a'] });
  const st = states({ 'a.service': 'active', 'b.service': 'active', 'c.service': 'active' });
  t.same(ids(planStop(['a'], g, { states: st })), ['a.service/stop', 'b.service/stop', 'c.service/stop']);
  t.same(onUnitStopped('a', g, { states: st }).map((x) => x.unit).sort(), ['b.service', 'c.service']);
  t.same(ids(planStart(['a'], g)), ['a.service/start'], 'no pull-in');
  t.same(ids(planRestart(['a'], g, { states: st })), ['a.service/start', 'a.service/stop', 'b.service/stop', 'c.service/stop']);
});

t.test('Upholds=: the upheld unit is started again while the upholder is active', async (t) => {
  const g = G({ name: 'a', upholds: ['b'] }, { name: 'b' });
  t.same(ids(planStart(['a'], g)), ['a.service/start', 'b.service/start']);
  const st = states({ 'a.service': 'active' });
  t.same(onUnitStopped('b', g, { states: st }), [{ kind: 'start', unit: 'b.service', mode: 'fail', reason: 'a.service Upholds=b.service' }]);
  t.same(onUnitFailed('b', g, { states: st }).map((x) => x.unit), ['b.service']);
  t.same(onUnitStopped('b', g, { states: st, willAutoRestart: true }), []);
  t.same(onUnitStopped('b', g, { states: st, hasJob: () => true }), []);
  t.same(onUnitStopped('b', g), [], 'upholder inactive');
  t.same(onStateChange({ unit: 'a', from: 'activating', to: 'active', job: 'start' }, g).map((x) => x.unit), ['b.service']);
});

t.test('StopWhenUnneeded=', async (t) => {
  const g = G({ name: 'a', wants: ['n'] }, { name: 'b', requires: ['n'] }, { name: 'n', stop_when_unneeded: true });
  t.same(onUnitStopped('a', g, { states: states({ 'n.service': 'active', 'b.service': 'active' }) }), []);
  t.same(onUnitStopped('a', g, { states: states({ 'n.service': 'active' }) }).map((x) => [x.kind, x.unit]), [['stop', 'n.service']]);
});

t.test('retroactive start when a unit becomes active without a job', async (t) => {
  const g = G({ name: 'a', requires: ['r'], wants: ['w'], conflicts: ['c'] }, { name: 'r' }, { name: 'w' }, { name: 'c' });
  t.same(
    onStateChange({ unit: 'a', from: 'inactive', to: 'active' }, g, { states: states({ 'c.service': 'active' }) }).map((x) => [x.kind, x.unit, x.kind === 'start' ? x.mode : '']),
    [
      ['start', 'r.service', 'replace'],
      ['start', 'w.service', 'fail'],
      ['stop', 'c.service', ''],
    ],
  );
  t.same(onStateChange({ unit: 'a', from: 'activating', to: 'active', job: 'start' }, g), []);
  const g2 = G({ name: 'a', requires: ['r'], after: ['r'] }, { name: 'r' });
  t.same(onStateChange({ unit: 'a', from: 'inactive', to: 'active' }, g2), [], 'not the units it is ordered after');
});

t.test('reload propagation', async (t) => {
  const g = G(
    { name: 'a', propagates_reload_to: ['b', 'c', 't.target'] },
    { name: 'b', propagates_reload_to: ['d'] },
    { name: 'c' },
    { name: 'd' },
    { name: 'e', reload_propagated_from: ['a'] },
    { name: 't.target' },
  );
  const st = states({ 'a.service': 'active', 'b.service': 'active', 'd.service': 'active', 'e.service': 'active', 't.target': 'active' });
  const p = ok(planReload(['a'], g, { states: st }));
  t.same(ids(p), ['a.service/reload', 'b.service/reload', 'd.service/reload', 'e.service/reload'], 'c inactive; a target cannot reload');
  t.match(p.warnings.join('\n'), /not applicable for unit t\.target/);
  t.match(planReload(['c'], g, { states: st }), { ok: false, kind: 'not-active' });
  const g2 = G({ name: 'x', can_reload: false });
  t.match(planReload(['x'], g2, { states: states({ 'x.service': 'active' }) }), { ok: false, kind: 'not-applicable' });
  // Ordered like starts.
  const g3 = G({ name: 'a', propagates_reload_to: ['b'] }, { name: 'b', after: ['a'] });
  t.same(ok(planReload(['a'], g3, { states: states({ 'a.service': 'active', 'b.service': 'active' }) })).waves, [['a.service/reload'], ['b.service/reload']]);
});

t.test('targets: multi-user.target pulls in the units installed into it', async (t) => {
  const g = G(
    { name: 'multi-user.target', after: ['basic.target'] },
    { name: 'nginx', wanted_by: ['multi-user.target'], after: ['network.target', 'redis'] },
    { name: 'redis', wanted_by: ['multi-user.target'] },
    { name: 'must', required_by: ['multi-user.target'] },
    { name: 'kept', upheld_by: ['multi-user.target'] },
    { name: 'network.target', wanted_by: ['multi-user.target'] },
    { name: 'other' },
  );
  const p = ok(planStart(['multi-user.target'], g));
  t.same(ids(p), ['kept.service/start', 'multi-user.target/start', 'must.service/start', 'network.target/start', 'nginx.service/start', 'redis.service/start']);
  t.equal(job(p, 'must.service/start').matters, true);
  t.equal(job(p, 'nginx.service/start').matters, false);
  t.same(after(p, 'nginx.service/start'), ['network.target/start', 'redis.service/start']);
  // Wanted units run in parallel with the target (no ordering unless declared).
  t.same(after(p, 'multi-user.target/start'), []);
  // A target that is already active: the request is a no-op job, its wants are still started.
  const p2 = ok(planStart(['multi-user.target'], g, { states: states({ 'multi-user.target': 'active', 'redis.service': 'active' }) }));
  t.equal(job(p2, 'multi-user.target/start').noop, true);
  t.notOk(p2.jobs.some((j) => j.id === 'redis.service/start'), 'active units get no job');
  const s = simulate(p2, g);
  t.notOk(s.dispatched.includes('multi-user.target/start'), 'no-op jobs are not handed out');
  t.equal(s.results.get('multi-user.target/start'), 'done');
});

t.test('redundant jobs: units already active get no job; their own Wants= are not re-pulled', async (t) => {
  const g = G({ name: 'a', requires: ['b'] }, { name: 'b', wants: ['c'] }, { name: 'c' });
  t.same(ids(planStart(['a'], g, { states: states({ 'b.service': 'active' }) })), ['a.service/start']);
  t.same(ids(planStart(['a'], g)), ['a.service/start', 'b.service/start', 'c.service/start']);
  t.same(ids(planStop(['a'], g)), ['a.service/stop'], 'a requested stop stays as a no-op job');
  t.equal(job(ok(planStop(['a'], g)), 'a.service/stop').noop, true);
});

t.test('unsupported unit types are reported', async (t) => {
  const g = G({ name: 'a', requires: ['data.mount', 's.socket'] }, { name: 'data.mount' }, { name: 's.socket' });
  const p = ok(planStart(['a'], g));
  t.same(unsupportedJobs(p).map((j) => j.id), ['data.mount/start']);
});

t.test('DefaultDependencies= is ignored; RefuseManualStart=/Stop=', async (t) => {
  const g = G({ name: 'a', default_dependencies: true }, { name: 'r', refuse_manual_start: true }, { name: 's', refuse_manual_stop: true });
  t.same(ids(planStart(['a'], g)), ['a.service/start']);
  t.match(planStart(['r'], g), { ok: false, kind: 'refused' });
  t.ok(planStart(['r'], g, { automatic: true }).ok);
  t.match(planStop(['s'], g), { ok: false, kind: 'refused' });
  t.ok(planStart(['s'], g).ok);
});

t.test('1000-unit random DAG: every unit once, ordering respected', async (t) => {
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const N = 1000;
  const units: UnitDeps[] = [];
  const afterOf = new Map<string, string[]>();
  for (let i = 0; i < N; i++) {
    const name = `u${i}.service`;
    const pick = (n: number): string[] => {
      const out = new Set<string>();
      for (let k = 0; k < n && i > 0; k++) out.add(`u${Math.floor(rnd() * i)}.service`);
      return [...out];
    };
    const requires = pick(Math.floor(rnd() * 3));
    const wants = pick(Math.floor(rnd() * 2));
    const aft = pick(Math.floor(rnd() * 4));
    // Before= pointing backwards would be a cycle; point it at later units through the later unit's After= instead.
    afterOf.set(name, aft);
    units.push({ name, requires, wants, after: aft, wanted_by: ['all.target'] });
  }
  units.push({ name: 'all.target' });
  const g = G(...units);
  const t0 = Date.now();
  const p = ok(planStart(['all.target'], g));
  t.comment(`planned ${p.jobs.length} jobs in ${p.waves.length} waves, ${Date.now() - t0} ms`);
  t.equal(p.jobs.length, N + 1);
  t.equal(new Set(p.jobs.map((j) => j.unit)).size, N + 1, 'every unit exactly once');
  t.equal(p.brokenCycles.length, 0);
  // Run with a random completion order among the running jobs.
  const r = new JobRunner(p, g);
  const running: PlannedJob[] = [];
  const startedAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  let clock = 0;
  for (;;) {
    for (const j of r.take()) {
      startedAt.set(j.unit, clock++);
      running.push(j);
    }
    if (running.length === 0) break;
    const j = running.splice(Math.floor(rnd() * running.length), 1)[0]!;
    doneAt.set(j.unit, clock++);
    r.finish(j.id, 'done');
  }
  t.ok(r.finished);
  t.equal(startedAt.size, N + 1, 'every unit started once');
  let violations = 0;
  let maxParallel = 0;
  for (const [u, as] of afterOf) for (const a of as) if (!(doneAt.get(a)! < startedAt.get(u)!)) violations++;
  t.equal(violations, 0, 'each unit started after the units it is ordered after finished');
  for (const w of p.waves) maxParallel = Math.max(maxParallel, w.length);
  t.ok(maxParallel > 1, 'independent units share a wave');
  // Waves: every job's `after` lies in an earlier wave.
  const waveOf = new Map<string, number>();
  p.waves.forEach((w, i) => w.forEach((id) => waveOf.set(id, i)));
  t.ok(p.jobs.every((j) => j.after.every((a) => waveOf.get(a)! < waveOf.get(j.id)!)));

  // The same graph stopped: reverse order.
  const all = new Map<string, ActiveState>([...g.names()].map((n) => [n, 'active']));
  const sp = ok(planStop(['all.target', ...units.map((u) => u.name)], g, { states: all }));
  t.equal(sp.jobs.length, N + 1);
  const pos = new Map(sp.jobs.map((j, i) => [j.unit, i]));
  let bad = 0;
  for (const [u, as] of afterOf) for (const a of as) if (!(pos.get(u)! < pos.get(a)!)) bad++;
  t.equal(bad, 0, 'stops in reverse start order');
});
