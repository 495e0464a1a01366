/**
 * Model → launch steps for credentials and capabilities (see src/plan/context.ts):
 * user/group/supplementary_groups/dynamic_user (resolved by the builder into
 * ctx.identity through resolveIdentity() in users.ts), and the sandbox's
 * capability_bounding_set, ambient_capabilities, secure_bits and
 * no_new_privileges.
 *
 * systemd semantics kept here (exec_invoke(), v252–v255):
 * - `+` commands (ctx.sandbox false): nothing at all;
 * - `!` commands arrive without identity: no id switch, but the bounding
 *   set, ambient caps (raised as root), securebits and NNP still apply;
 * - CapabilityBoundingSet= unset, or a set holding every capability the
 *   kernel has, drops nothing;
 * - SECURE_KEEP_CAPS around setresuid() only for a non-root uid with ambient
 *   caps or securebits to apply (enforce_user()).
 * Implied settings (DynamicUser= → NoNewPrivileges=, PrivateDevices= → fewer
 * bounding caps, …) are already in the model (src/plan/implied.ts).
 */
import type { Step } from '../launch/plan.js';
import type { BuildContext, Fragment, PlannedStep } from '../plan/context.js';
import type { ServiceView } from '../plan/service.js';
import { capabilityFromName } from '../unit/values/capabilities.js';
import { SECURE_BITS } from '../unit/values/securebits.js';
import { capLastCap } from './capabilities.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function capList(svc: ServiceView, field: string, names: unknown[]): number[] {
  return names.map((n, i) => {
    const c = typeof n === 'string' ? capabilityFromName(n) : undefined;
    if (c === undefined) svc.error(field, `${field}[${i}]: unknown capability ${JSON.stringify(n)}`);
    return c;
  });
}

/**
 * A capability-set field (`[CAP_…]` or `{all_except: [CAP_…]}`) as sorted
 * capability numbers 0..cap_last_cap; undefined when unset.
 */
export function capabilitySet(svc: ServiceView, field: string): number[] | undefined {
  const v = svc.value(field);
  if (v === undefined || v === null) return undefined;
  const last = capLastCap();
  const all = Array.from({ length: last + 1 }, (_, i) => i);
  if (Array.isArray(v)) {
    const listed = new Set(capList(svc, field, v));
    return all.filter((c) => listed.has(c));
  }
  if (isObj(v) && Array.isArray(v['all_except']) && Object.keys(v).length === 1) {
    const excluded = new Set(capList(svc, `${field}.all_except`, v['all_except']));
    return all.filter((c) => !excluded.has(c));
  }
  return svc.error(field, `${field}: expected a list of capabilities or {all_except: [...]}`);
}

/** sandbox.secure_bits names → the SECBIT_* mask PR_SET_SECUREBITS takes. */
export function secureBitsMask(svc: ServiceView): number {
  const names = svc.strings('sandbox.secure_bits') ?? [];
  let bits = 0;
  for (const n of names) {
    const entry = SECURE_BITS.find(([name]) => name === n);
    if (!entry) svc.error('sandbox.secure_bits', `unknown securebit ${JSON.stringify(n)} (expected one of ${SECURE_BITS.map(([x]) => x).join(', ')})`);
    bits |= 1 << entry[1];
  }
  return bits;
}

/** The model field a group/user step is reported against. */
function identityField(svc: ServiceView, prefer: readonly string[]): string {
  return prefer.find((f) => svc.has(f)) ?? 'user';
}

function build(ctx: BuildContext): PlannedStep[] {
  if (!ctx.sandbox) return [];
  const { svc, identity } = ctx;
  const out: PlannedStep[] = [];
  const add = (step: Step, field: string): void => {
    out.push({ step, field });
  };

  const bounding = capabilitySet(svc, 'sandbox.capability_bounding_set');
  const ambient = capabilitySet(svc, 'sandbox.ambient_capabilities') ?? [];
  const secureBits = secureBitsMask(svc);
  const noNewPrivs = svc.bool('sandbox.no_new_privileges') === true;

  if (identity) {
    add({ op: 'set-groups', gid: identity.gid, groups: [...identity.supplementaryGids] }, identityField(svc, ['supplementary_groups', 'group', 'user', 'dynamic_user']));
  }
  if (bounding && bounding.length < capLastCap() + 1) {
    add({ op: 'capability-bounding-set', keep: bounding }, 'sandbox.capability_bounding_set');
  }
  if (ambient.length > 0) add({ op: 'ambient-inheritable', caps: ambient }, 'sandbox.ambient_capabilities');
  if (identity) {
    const keepCaps = identity.uid !== 0 && (ambient.length > 0 || secureBits !== 0);
    add({ op: 'set-user', uid: identity.uid, keepCaps }, identityField(svc, ['user', 'dynamic_user', 'group', 'supplementary_groups']));
    if (ambient.length > 0) add({ op: 'ambient-raise', caps: ambient }, 'sandbox.ambient_capabilities');
  }
  if (secureBits !== 0) add({ op: 'secure-bits', bits: secureBits }, 'sandbox.secure_bits');
  if (noNewPrivs) add({ op: 'no-new-privileges' }, 'sandbox.no_new_privileges');
  return out;
}

export const credentialsFragment: Fragment = {
  name: 'credentials',
  fields: [
    'user',
    'group',
    'supplementary_groups',
    'dynamic_user',
    'sandbox.capability_bounding_set',
    'sandbox.ambient_capabilities',
    'sandbox.secure_bits',
    'sandbox.no_new_privileges',
  ],
  build,
};
