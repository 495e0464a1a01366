/**
 * Launch steps for the non-mount namespaces: net, ipc, uts, cgroup (unshare
 * or join), user (unshare + id-map handshake with the zygote) and pid
 * (unshare + fork: the service becomes pid 1). Kernel logic:
 * src/mechanisms/namespaces.ts and loopback.ts.
 */
import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWUTS,
} from '../sys/constants.js';
import { loopbackUp } from '../mechanisms/loopback.js';
import { joinFn, pidNamespaceFn, unshareFn, userNamespaceFn, type IdMapRange, type UserNamespaceMaps } from '../mechanisms/namespaces.js';
import type { OpCompiler, OpTable } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { PHASE, PlanError, type LaunchPlan } from './plan.js';

/** Namespaces a plain unshare can create here (net has its own op: it also brings lo up). */
export type SimpleNamespace = 'ipc' | 'uts' | 'cgroup';

export type NamespaceStep =
  /** PrivateNetwork=: a new network namespace with `lo` up (and nothing else). */
  | { readonly op: 'ns-unshare-net' }
  /** NetworkNamespacePath=: setns() into the namespace file at path. */
  | { readonly op: 'ns-join-net'; readonly path: string }
  /** PrivateIPC=, ProtectHostname= (uts), and cgroup namespaces. */
  | { readonly op: 'ns-unshare'; readonly namespaces: readonly SimpleNamespace[] }
  /** IPCNamespacePath=. */
  | { readonly op: 'ns-join-ipc'; readonly path: string }
  /** PrivateUsers=: a user namespace the zygote maps with these ranges. */
  | { readonly op: 'ns-user'; readonly uidMap: readonly IdMapRange[]; readonly gidMap: readonly IdMapRange[]; readonly setgroups: 'allow' | 'deny' }
  /** PrivatePIDs=: a pid namespace in which the service is pid 1. */
  | { readonly op: 'ns-pid' };

type S<K extends NamespaceStep['op']> = Extract<NamespaceStep, { op: K }>;

const FLAG: Record<SimpleNamespace, number> = { ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS, cgroup: CLONE_NEWCGROUP };

function nsPath(v: unknown, op: string): string {
  if (typeof v !== 'string' || !v.startsWith('/') || v.includes('\0')) throw new PlanError(`step ${op}`, 'path: expected an absolute path');
  return v;
}

/** The kernel accepts at most 340 lines per map (linux/user_namespace.h UID_GID_MAP_MAX_EXTENTS). */
const MAX_MAP_LINES = 340;
const U32 = 0xffffffff;

function idMap(v: unknown, where: string): IdMapRange[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MAP_LINES) throw new PlanError(where, `expected 1..${MAX_MAP_LINES} {inside, outside, count} ranges`);
  return v.map((r: unknown, i) => {
    const o = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    const n = (k: string, min: number, max: number): number => {
      const x = o[k];
      if (!Number.isInteger(x) || (x as number) < min || (x as number) > max) throw new PlanError(`${where}[${i}].${k}`, `expected an integer in ${min}..${max}`);
      return x as number;
    };
    // Ids are 0..4294967294 (4294967295 is the invalid id), so a range holds at most 4294967295 of them.
    const range = { inside: n('inside', 0, U32 - 1), outside: n('outside', 0, U32 - 1), count: n('count', 1, U32) };
    if (range.inside + range.count > U32 || range.outside + range.count > U32) throw new PlanError(`${where}[${i}]`, 'range overflows 32-bit ids');
    return range;
  });
}

/** Validates a ns-user step's maps (compile time, and in the zygote before fork). */
export function checkUserMaps(step: S<'ns-user'>, where = 'step ns-user'): UserNamespaceMaps {
  if (step.setgroups !== 'allow' && step.setgroups !== 'deny') throw new PlanError(`${where}.setgroups`, 'expected "allow" or "deny"');
  return { uidMap: idMap(step.uidMap, `${where}.uidMap`), gidMap: idMap(step.gidMap, `${where}.gidMap`), setgroups: step.setgroups };
}

/**
 * The user-namespace maps the zygote must write for this plan, if it has a
 * ns-user step. At most one: a second unshare(CLONE_NEWUSER) would nest
 * namespaces the zygote cannot tell apart.
 */
export function userNamespaceMaps(plan: LaunchPlan): UserNamespaceMaps | undefined {
  const steps = (plan.steps ?? []).filter((s): s is S<'ns-user'> => s.op === 'ns-user');
  if (steps.length > 1) throw new PlanError('plan.steps', 'at most one ns-user step');
  return steps[0] && checkUserMaps(steps[0]);
}

const unshareNet: OpCompiler<S<'ns-unshare-net'>> = {
  phase: PHASE.namespaces,
  exitCode: EXIT.NETWORK,
  compile: (_step, ctx) => {
    const unshareIt = unshareFn(CLONE_NEWNET);
    const up = loopbackUp(ctx.keep);
    return () => unshareIt() || up();
  },
};

const joinNet: OpCompiler<S<'ns-join-net'>> = {
  phase: PHASE.namespaces,
  exitCode: EXIT.NETWORK,
  compile: (step, ctx) => joinFn(nsPath(step.path, step.op), CLONE_NEWNET, ctx.keep),
};

const unshareSimple: OpCompiler<S<'ns-unshare'>> = {
  phase: PHASE.namespaces,
  exitCode: EXIT.NAMESPACE,
  compile: (step) => {
    if (!Array.isArray(step.namespaces) || step.namespaces.length === 0) throw new PlanError('step ns-unshare', 'namespaces: expected a non-empty list');
    let flags = 0;
    for (const ns of step.namespaces as readonly unknown[]) {
      if (typeof ns !== 'string' || !Object.hasOwn(FLAG, ns)) throw new PlanError('step ns-unshare', `unknown namespace ${JSON.stringify(ns)} (ipc, uts or cgroup)`);
      flags |= FLAG[ns as SimpleNamespace];
    }
    return unshareFn(flags);
  },
};

const joinIpc: OpCompiler<S<'ns-join-ipc'>> = {
  phase: PHASE.namespaces,
  exitCode: EXIT.NAMESPACE,
  compile: (step, ctx) => joinFn(nsPath(step.path, step.op), CLONE_NEWIPC, ctx.keep),
};

const userNs: OpCompiler<S<'ns-user'>> = {
  phase: PHASE.userNamespace,
  exitCode: EXIT.NAMESPACE,
  compile: (step, ctx) => {
    checkUserMaps(step);
    return userNamespaceFn(ctx.keep);
  },
};

const pidNs: OpCompiler<S<'ns-pid'>> = {
  phase: PHASE.pidNamespace,
  exitCode: EXIT.NAMESPACE,
  compile: (_step, ctx) => pidNamespaceFn(ctx.keep),
};

export const NAMESPACE_OPS: OpTable<NamespaceStep> = {
  'ns-unshare-net': unshareNet,
  'ns-join-net': joinNet,
  'ns-unshare': unshareSimple,
  'ns-join-ipc': joinIpc,
  'ns-user': userNs,
  'ns-pid': pidNs,
};
