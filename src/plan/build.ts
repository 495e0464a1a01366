/**
 * Service model → LaunchPlan. The supervisor-side process setup (process.ts)
 * supplies argv, env, stdio, cwd and limits; each mechanism fragment adds its
 * steps. Fail closed: a requested execution-environment field that neither
 * covers is refused with its directive and file:line, never ignored.
 */
import type { LaunchPlan, Step } from '../launch/plan.js';
import { credentialsFragment } from '../mechanisms/credentials-plan.js';
import { mountsFragment } from '../mechanisms/mounts-plan.js';
import { namespacesFragment } from '../mechanisms/namespaces-plan.js';
import { resourcesFragment } from '../mechanisms/resources-plan.js';
import { seccompFragment } from '../mechanisms/seccomp-plan.js';
import type { BuildContext, Fragment } from './context.js';
import { requestedFields, type ServiceView } from './service.js';

export const FRAGMENTS: readonly Fragment[] = [credentialsFragment, namespacesFragment, mountsFragment, resourcesFragment, seccompFragment];

/** Model subtrees that describe the execution environment (checked for enforcement). */
export const EXEC_ROOTS = [
  'user', 'group', 'supplementary_groups', 'dynamic_user', 'working_dir', 'umask', 'exec_search_path', 'ignore_sigpipe',
  'env', 'limits', 'sandbox', 'directories', 'credentials', 'stdio',
] as const;

const covers = (prefix: string, field: string): boolean => field === prefix || field.startsWith(`${prefix}.`);

/**
 * Directives enforced by more than one mechanism: covered only when every one
 * of these fragments lists the field (e.g. ProtectKernelModules= is both an
 * inaccessible /usr/lib/modules and a seccomp deny of @module; the capability
 * drops are made explicit by implied.ts).
 */
export const COMPOSITE: Readonly<Record<string, readonly string[]>> = {
  'sandbox.private_devices': ['mounts', 'seccomp'],
  'sandbox.protect_kernel_modules': ['mounts', 'seccomp'],
  'sandbox.protect_kernel_logs': ['mounts', 'seccomp'],
  'sandbox.protect_kernel_tunables': ['mounts', 'seccomp'],
  'sandbox.protect_hostname': ['namespaces', 'seccomp'],
};

function isCovered(field: string, processFields: readonly string[]): boolean {
  const parts = COMPOSITE[field];
  if (parts) return parts.every((name) => FRAGMENTS.find((f) => f.name === name)?.fields.some((h) => covers(h, field)) ?? false);
  return [...processFields, ...FRAGMENTS.flatMap((f) => f.fields)].some((h) => covers(h, field));
}

/**
 * The mechanisms that enforce a field: fragment names, plus "process" for
 * the supervisor-side setup. Empty when nothing does (or, for a composite
 * field, when one of its parts is missing).
 */
export function enforcingMechanisms(field: string, processFields: readonly string[]): string[] {
  if (!isCovered(field, processFields)) return [];
  const names = FRAGMENTS.filter((f) => f.fields.some((h) => covers(h, field) || covers(field, h))).map((f) => f.name);
  if (processFields.some((h) => covers(h, field) || covers(field, h))) names.push('process');
  return names;
}

export interface Unenforced {
  readonly field: string;
  readonly source: string;
}

/** Requested fields that nothing enforces. `processFields` are the ones process.ts handles. */
export function unenforcedFields(svc: ServiceView, processFields: readonly string[]): Unenforced[] {
  return requestedFields(svc, EXEC_ROOTS)
    .filter((field) => !isCovered(field, processFields))
    .map((field) => ({ field, source: svc.source(field) }));
}

export interface BuiltPlan {
  readonly plan: LaunchPlan;
  /** Per plan.steps index: the model field the step enforces (for error messages). */
  readonly stepFields: readonly string[];
}

/** Adds every fragment's steps to a base plan (argv/env/stdio/…) built by process.ts. */
export function addFragments(base: LaunchPlan, baseFields: readonly string[], ctx: BuildContext, skip: ReadonlySet<string> = new Set()): BuiltPlan {
  const steps: Step[] = [...(base.steps ?? [])];
  const stepFields: string[] = [...baseFields];
  for (const f of FRAGMENTS) {
    if (skip.has(f.name)) continue;
    for (const p of f.build(ctx)) {
      steps.push(p.step);
      stepFields.push(p.field);
    }
  }
  return { plan: { ...base, steps }, stepFields };
}
