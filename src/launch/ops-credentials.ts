/**
 * Launch steps for User=/Group=/SupplementaryGroups= (the id switch),
 * CapabilityBoundingSet=, AmbientCapabilities=, SecureBits= and
 * NoNewPrivileges=. The kernel logic is in src/mechanisms/credentials.ts and
 * capabilities.ts; this module validates steps and picks phase and exit code.
 *
 * Order (systemd's exec_invoke()): set-groups in PHASE.groups (enforce_groups(),
 * before a user namespace is created); then, within PHASE.credentials in plan
 * order, capability-bounding-set, ambient-inheritable and set-user (after the
 * user namespace, whose creation resets the capability sets and securebits);
 * ambient-raise and secure-bits in PHASE.capabilities (after the switch);
 * no-new-privileges in PHASE.noNewPrivs.
 */
import { ambientApply, boundingSetDrop, CAP_NUMBER_MAX, noNewPrivileges, secureBitsApply } from '../mechanisms/capabilities.js';
import { setGroups, setUser } from '../mechanisms/credentials.js';
import type { OpCompiler, OpTable } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { PHASE, PlanError } from './plan.js';

/** A capability set: capability numbers 0..62 (systemd's 64-bit masks). */
export type CapabilityNumbers = readonly number[];

export type CredentialStep =
  /** setgroups(groups) then setresgid(gid,gid,gid); 216/GROUP. */
  | { readonly op: 'set-groups'; readonly gid: number; readonly groups: readonly number[] }
  /** Drop every capability not in `keep` from the bounding and inheritable sets; 218/CAPABILITIES. */
  | { readonly op: 'capability-bounding-set'; readonly keep: CapabilityNumbers }
  /** Before the uid switch: add `caps` to the inheritable set and make them the ambient set; 218. */
  | { readonly op: 'ambient-inheritable'; readonly caps: CapabilityNumbers }
  /** [SECURE_KEEP_CAPS if keepCaps] then setresuid(uid,uid,uid); 217/USER. */
  | { readonly op: 'set-user'; readonly uid: number; readonly keepCaps: boolean }
  /** After the uid switch: raise `caps` into the ambient set again (setresuid cleared it); 218. */
  | { readonly op: 'ambient-raise'; readonly caps: CapabilityNumbers }
  /** PR_SET_SECUREBITS to exactly `bits` (SECBIT_* bit mask); 213/SECUREBITS. */
  | { readonly op: 'secure-bits'; readonly bits: number }
  /** PR_SET_NO_NEW_PRIVS; 227/NO_NEW_PRIVILEGES. */
  | { readonly op: 'no-new-privileges' };

const ID_MAX = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel: never a valid id
const NGROUPS_MAX = 65536;

function id(v: unknown, where: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > ID_MAX) throw new PlanError(where, 'expected a uid/gid 0..4294967294');
  return v as number;
}

function caps(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) throw new PlanError(where, 'expected an array of capability numbers');
  return v.map((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > CAP_NUMBER_MAX) throw new PlanError(`${where}[${i}]`, `expected a capability number 0..${CAP_NUMBER_MAX}`);
    return c as number;
  });
}

const setGroupsOp: OpCompiler<Extract<CredentialStep, { op: 'set-groups' }>> = {
  // Before a user namespace (which denies setgroups and whose creation resets the capability sets).
  phase: PHASE.groups,
  exitCode: EXIT.GROUP,
  compile(step, ctx) {
    const gid = id(step.gid, 'step.gid');
    if (!Array.isArray(step.groups) || step.groups.length > NGROUPS_MAX) throw new PlanError('step.groups', `expected at most ${NGROUPS_MAX} gids`);
    const groups = step.groups.map((g, i) => id(g, `step.groups[${i}]`));
    return setGroups(gid, groups, ctx.keep);
  },
};

const boundingOp: OpCompiler<Extract<CredentialStep, { op: 'capability-bounding-set' }>> = {
  phase: PHASE.credentials,
  exitCode: EXIT.CAPABILITIES,
  compile: (step, ctx) => boundingSetDrop(caps(step.keep, 'step.keep'), ctx.keep),
};

const ambientInheritableOp: OpCompiler<Extract<CredentialStep, { op: 'ambient-inheritable' }>> = {
  phase: PHASE.credentials,
  exitCode: EXIT.CAPABILITIES,
  compile: (step, ctx) => ambientApply(caps(step.caps, 'step.caps'), true, ctx.keep),
};

const setUserOp: OpCompiler<Extract<CredentialStep, { op: 'set-user' }>> = {
  phase: PHASE.credentials,
  exitCode: EXIT.USER,
  compile(step) {
    const uid = id(step.uid, 'step.uid');
    if (typeof step.keepCaps !== 'boolean') throw new PlanError('step.keepCaps', 'expected a boolean');
    return setUser(uid, step.keepCaps);
  },
};

const ambientRaiseOp: OpCompiler<Extract<CredentialStep, { op: 'ambient-raise' }>> = {
  phase: PHASE.capabilities,
  exitCode: EXIT.CAPABILITIES,
  compile: (step, ctx) => ambientApply(caps(step.caps, 'step.caps'), false, ctx.keep),
};

const secureBitsOp: OpCompiler<Extract<CredentialStep, { op: 'secure-bits' }>> = {
  phase: PHASE.capabilities,
  exitCode: EXIT.SECUREBITS,
  compile(step, ctx) {
    if (!Number.isInteger(step.bits) || step.bits < 0 || step.bits > 0xff) throw new PlanError('step.bits', 'expected a securebits mask 0..0xff');
    return secureBitsApply(step.bits, ctx.keep);
  },
};

const noNewPrivsOp: OpCompiler<Extract<CredentialStep, { op: 'no-new-privileges' }>> = {
  phase: PHASE.noNewPrivs,
  exitCode: EXIT.NO_NEW_PRIVILEGES,
  compile: () => noNewPrivileges(),
};

export const CREDENTIAL_OPS: OpTable<CredentialStep> = {
  'set-groups': setGroupsOp,
  'capability-bounding-set': boundingOp,
  'ambient-inheritable': ambientInheritableOp,
  'set-user': setUserOp,
  'ambient-raise': ambientRaiseOp,
  'secure-bits': secureBitsOp,
  'no-new-privileges': noNewPrivsOp,
};
