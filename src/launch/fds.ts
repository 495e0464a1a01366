/**
 * The child's file descriptor layout: 0-2 from the plan's stdio specs and
 * 3..2+N for socket activation; everything else gets closed on execve.
 *
 * Ordering rules (the child cannot afford mistakes here):
 * - every parent-side source fd and the report pipe are placed at or above
 *   base = 3+N by the zygote before fork (F_DUPFD_CLOEXEC), so no dup2 onto a
 *   target can clobber a source that is still needed;
 * - dup2 clears FD_CLOEXEC on the target, which matters because node marks
 *   0-2 CLOEXEC in its own process (libuv clears it only in uv_spawn);
 * - close_range(base, ~0, CLOSE_RANGE_CLOEXEC) instead of closing, so the
 *   report pipe stays usable until execve (needs Linux 5.11).
 */
import { CLOSE_RANGE_CLOEXEC, FD_MAX, O_APPEND, O_CREAT, O_NOCTTY, O_RDONLY, O_TRUNC, O_WRONLY } from '../sys/constants.js';
import { cString } from '../sys/cmem.js';
import { close, close_range, dup2, open } from '../sys/libc.js';
import { fail, type ChildFn } from './child.js';
import type { CompileContext } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { PHASE, type LaunchPlan, type StdioSpec } from './plan.js';

/** A source the zygote must supply: a client (supervisor) fd or its /dev/null. */
export type ParentSource = number | 'devnull';

export interface FdOp {
  readonly name: string;
  readonly phase: number;
  readonly exitCode: number;
  readonly run: ChildFn;
}

export interface FdLayout {
  /** 3 + N. */
  readonly base: number;
  /** Per target fd: the source fd in the child (≥ base), filled by the zygote before fork. */
  readonly src: Int32Array;
  /** What the zygote must place into src[target]. */
  readonly parentFds: readonly { readonly target: number; readonly source: ParentSource }[];
  readonly ops: readonly FdOp[];
}

const STDIO = [
  { name: 'stdin', exitCode: EXIT.STDIN },
  { name: 'stdout', exitCode: EXIT.STDOUT },
  { name: 'stderr', exitCode: EXIT.STDERR },
] as const;

const sameFile = (a: StdioSpec | undefined, b: StdioSpec | undefined): boolean =>
  typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && a.path === b.path && (a.mode ?? 'truncate') === (b.mode ?? 'truncate');

/** A file opened by the child (as systemd does for StandardOutput=file:), then moved to target. */
function openOnto(target: number, path: Buffer, flags: number): ChildFn {
  return () => {
    const fd = open(path, flags, 0o666);
    if (fd < 0) return fail();
    if (fd === target) return 0;
    if (dup2(fd, target) < 0) return fail();
    close(fd);
    return 0;
  };
}

export function compileFds(plan: LaunchPlan, ctx: CompileContext): FdLayout {
  const listen = plan.fds ?? [];
  const base = 3 + listen.length;
  const src = new Int32Array(base).fill(-1);
  const parentFds: { target: number; source: ParentSource }[] = [];
  const ops: FdOp[] = [];
  const fromSource = (t: number): ChildFn => () => (dup2(src[t]!, t) < 0 ? fail() : 0);

  const specs = [plan.stdin ?? null, plan.stdout ?? null, plan.stderr ?? null];
  specs.forEach((spec, t) => {
    const { name, exitCode } = STDIO[t]!;
    let run: ChildFn;
    if (spec === null || typeof spec === 'number') {
      parentFds.push({ target: t, source: spec === null ? 'devnull' : spec });
      run = fromSource(t);
    } else if (t === 2 && sameFile(spec, specs[1])) {
      // systemd opens one file for both and shares the open file description.
      run = () => (dup2(1, 2) < 0 ? fail() : 0);
    } else {
      const flags = t === 0 ? O_RDONLY | O_NOCTTY : O_WRONLY | O_CREAT | O_NOCTTY | (spec.mode === 'append' ? O_APPEND : spec.mode === 'write' ? 0 : O_TRUNC);
      run = openOnto(t, ctx.keep(cString(spec.path)), flags);
    }
    ops.push({ name, phase: PHASE.stdio, exitCode, run });
  });

  listen.forEach((l, i) => parentFds.push({ target: 3 + i, source: l.fd }));
  ops.push({
    name: 'fds',
    phase: PHASE.fds,
    exitCode: EXIT.FDS,
    run: () => {
      for (let t = 3; t < base; t++) if (dup2(src[t]!, t) < 0) return fail();
      return close_range(base, FD_MAX, CLOSE_RANGE_CLOEXEC) < 0 ? fail() : 0;
    },
  });
  return { base, src, parentFds, ops };
}

const LISTEN_VARS = /^LISTEN_(PID|FDS|FDNAMES)=/;

/**
 * The environment with socket activation variables: LISTEN_PID is a
 * placeholder the child overwrites with getpid() just before execve
 * (process.pid would be the zygote's). Returns the LISTEN_PID buffer, if any.
 */
export function listenEnv(plan: LaunchPlan): { env: (string | Buffer)[]; listenPid: Buffer | undefined } {
  const listen = plan.fds ?? [];
  if (listen.length === 0) return { env: [...plan.env], listenPid: undefined };
  const env: (string | Buffer)[] = plan.env.filter((e) => !LISTEN_VARS.test(e));
  // "LISTEN_PID=" + room for any pid (pid_max ≤ 2^22, 10 digits is plenty) + NUL.
  const listenPid = cString('LISTEN_PID=' + '0'.repeat(10));
  env.push(listenPid, `LISTEN_FDS=${listen.length}`);
  if (listen.some((l) => l.name !== undefined)) env.push(`LISTEN_FDNAMES=${listen.map((l) => l.name ?? 'unknown').join(':')}`);
  return { env, listenPid };
}
