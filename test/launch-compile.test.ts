/** The plan compiler, without forking: op order, fd layout, env, validation. */
import t from 'tap';
import { writeDecimal } from '../src/launch/child.js';
import { compilePlan } from '../src/launch/compile.js';
import { listenEnv } from '../src/launch/fds.js';
import { PlanError, type LaunchPlan } from '../src/launch/plan.js';

const base: LaunchPlan = { path: '/bin/true', argv: ['true'], env: [] };

t.test('ops run in phase order; plan order is kept within a phase', async (t) => {
  const c = compilePlan({
    ...base,
    cwd: '/srv',
    umask: 0o22,
    setsid: true,
    rlimits: [{ resource: 'nofile', soft: 10, hard: 20 }],
    steps: [
      { op: 'chdir', path: '/later' },
      { op: 'setrlimit', resource: 'core', soft: 0, hard: 0 },
      { op: 'setrlimit', resource: 'nproc', soft: 5, hard: 5 },
    ],
  });
  t.same(c.ops.map((o) => o.name), ['signals', 'setsid', 'umask', 'stdin', 'stdout', 'stderr', 'fds', 'setrlimit', 'setrlimit', 'setrlimit', 'chdir', 'chdir', 'exec']);
  t.same(c.ops.map((o) => o.planStep), [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 1, 2, undefined, 0, undefined]);
  t.same([...c.exitCodes], [207, 220, 207, 208, 209, 222, 202, 205, 205, 205, 200, 200, 203]);
  t.equal(c.fns.length, c.ops.length);
});

t.test('fd layout: sources per target, /dev/null by default, files opened by the child', async (t) => {
  const c = compilePlan({ ...base, stdout: 7, stderr: { path: '/var/log/x' }, fds: [{ fd: 10 }, { fd: 11 }] });
  t.equal(c.fds.base, 5);
  t.same(c.fds.parentFds, [
    { target: 0, source: 'devnull' },
    { target: 1, source: 7 },
    { target: 3, source: 10 },
    { target: 4, source: 11 },
  ]);
  t.equal(c.fds.src.length, 5);
  const shared = compilePlan({ ...base, stdout: { path: '/x', mode: 'append' }, stderr: { path: '/x', mode: 'append' } });
  t.same(shared.fds.parentFds, [{ target: 0, source: 'devnull' }]);
});

t.test('socket activation env: LISTEN_* replaced, names joined, PID placeholder', async (t) => {
  const { env, listenPid } = listenEnv({ ...base, env: ['A=1', 'LISTEN_PID=9', 'LISTEN_FDS=9', 'LISTEN_FDNAMES=x', 'B=2'], fds: [{ fd: 3, name: 'http' }, { fd: 4 }] });
  t.same(env.map((e) => (typeof e === 'string' ? e : e.toString('latin1', 0, e.length - 1))), ['A=1', 'B=2', 'LISTEN_PID=0000000000', 'LISTEN_FDS=2', 'LISTEN_FDNAMES=http:unknown']);
  t.ok(listenPid);
  writeDecimal(listenPid!, 'LISTEN_PID='.length, 4194304);
  t.equal(listenPid!.toString('latin1', 0, listenPid!.indexOf(0)), 'LISTEN_PID=4194304');
  writeDecimal(listenPid!, 'LISTEN_PID='.length, 7);
  t.equal(listenPid!.toString('latin1', 0, listenPid!.indexOf(0)), 'LISTEN_PID=7');
  const none = listenEnv({ ...base, env: ['LISTEN_PID=1'] });
  t.same(none.env, ['LISTEN_PID=1'], 'untouched without fds');
  t.equal(none.listenPid, undefined);
});

t.test('invalid plans throw PlanError with a path', async (t) => {
  const bad: [unknown, RegExp][] = [
    [null, /^plan: expected an object/],
    [{ ...base, argv: [] }, /^plan\.argv:/],
    [{ ...base, argv: ['a\0b'] }, /^plan\.argv\[0\]: contains a NUL byte/],
    [{ ...base, env: ['=x'] }, /^plan\.env\[0\]/],
    [{ ...base, cwd: 'srv' }, /^plan\.cwd: expected an absolute path/],
    [{ ...base, umask: 0o1000 }, /^plan\.umask/],
    [{ ...base, rlimits: [{ resource: 'nofile', soft: 2, hard: 1 }] }, /soft limit above hard limit/],
    [{ ...base, rlimits: [{ resource: 'bogus', soft: 1, hard: 1 }] }, /unknown resource "bogus"/],
    [{ ...base, rlimits: [{ resource: 'nofile', soft: -1, hard: 1 }] }, /plan\.rlimits\[0\]\.soft/],
    [{ ...base, stdout: { path: 'rel' } }, /^plan\.stdout\.path/],
    [{ ...base, stdout: { path: '/x', mode: 'rw' } }, /^plan\.stdout\.mode/],
    [{ ...base, stdin: -1 }, /^plan\.stdin: expected a file descriptor/],
    [{ ...base, fds: [{ fd: 3, name: 'a:b' }] }, /^plan\.fds\[0\]\.name/],
    [{ ...base, steps: [{ op: 'nope' }] }, /^plan\.steps\[0\]: unknown op "nope"/],
    [{ ...base, steps: [{ op: 'chdir' }] }, /^plan\.steps\[0\]\.path/],
  ];
  for (const [plan, re] of bad) t.throws(() => compilePlan(plan), { name: 'PlanError', message: re }, JSON.stringify(plan));
  t.ok(new PlanError('x', 'y') instanceof Error);
});

t.test('a plan is plain JSON', async (t) => {
  const plan: LaunchPlan = { ...base, stdout: { path: '/x', mode: 'append' }, fds: [{ fd: 3, name: 'n' }], steps: [{ op: 'setsid' }] };
  t.same(JSON.parse(JSON.stringify(plan)), plan);
  t.doesNotThrow(() => compilePlan(JSON.parse(JSON.stringify(plan))));
});
