/**
 * Launch step for the mount namespace: one op that performs systemd's whole
 * setup_namespace() in the child (ProtectSystem=, ProtectHome=, PrivateTmp=,
 * PrivateDevices=, Read*Paths=, InaccessiblePaths=, (No)ExecPaths=,
 * BindPaths=, TemporaryFileSystem=, ProtectKernel*=, ProtectControlGroups=,
 * ProtectProc=, ProcSubset=, MountAPIVFS=, RootDirectory=, MountFlags=).
 * The mount list is built, sorted and compiled here in the parent
 * (src/mechanisms/mounts*.ts); the child only runs it.
 *
 * A failure exits with 226/NAMESPACE; describeMountFailure()
 * (mechanisms/mounts-failure.ts) names the entry that failed.
 */
import { compileMountNamespace, DEFAULT_STAGING } from '../mechanisms/mounts.js';
import { MountTableError, type BindMountSpec, type MountNamespaceSpec, type TemporaryFileSystemSpec } from '../mechanisms/mounts-table.js';
import type { OpCompiler, OpTable } from './compile-types.js';
import { EXIT } from './exit-codes.js';
import { PHASE, PlanError } from './plan.js';

export type MountStep = {
  readonly op: 'mount-namespace';
  readonly spec: MountNamespaceSpec;
  /** Host directory used as a private scratch mount point (default /run/sysg/mount-staging). */
  readonly staging?: string;
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkSpec(v: unknown, where: string): MountNamespaceSpec {
  if (!isObj(v)) throw new PlanError(where, 'expected an object');
  const str = (k: string, optional = true): void => {
    const x = v[k];
    if (x === undefined && optional) return;
    if (typeof x !== 'string' || x.includes('\0')) throw new PlanError(`${where}.${k}`, 'expected a string without NUL');
  };
  const abs = (x: unknown, w: string): void => {
    if (typeof x !== 'string' || !x.startsWith('/') || x.includes('\0')) throw new PlanError(w, 'expected an absolute path');
  };
  const bool = (k: string): void => {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') throw new PlanError(`${where}.${k}`, 'expected a boolean');
  };
  const oneOf = (k: string, values: readonly string[]): void => {
    if (v[k] !== undefined && !values.includes(v[k] as string)) throw new PlanError(`${where}.${k}`, `expected one of ${values.join(', ')}`);
  };
  const strings = (k: string): void => {
    const x = v[k];
    if (x === undefined) return;
    if (!Array.isArray(x) || !x.every((s) => typeof s === 'string' && !s.includes('\0'))) throw new PlanError(`${where}.${k}`, 'expected a list of strings');
  };
  if (v['rootDirectory'] !== undefined) abs(v['rootDirectory'], `${where}.rootDirectory`);
  for (const k of ['readWritePaths', 'readOnlyPaths', 'inaccessiblePaths', 'execPaths', 'noExecPaths', 'emptyDirectories']) strings(k);
  const binds = v['bindMounts'];
  if (binds !== undefined) {
    if (!Array.isArray(binds)) throw new PlanError(`${where}.bindMounts`, 'expected a list');
    binds.forEach((b: unknown, i) => {
      const w = `${where}.bindMounts[${i}]`;
      if (!isObj(b)) throw new PlanError(w, 'expected {source, destination, readOnly, recursive, ignoreMissing}');
      abs(b['source'], `${w}.source`);
      abs(b['destination'], `${w}.destination`);
      for (const k of ['readOnly', 'recursive', 'ignoreMissing']) if (typeof b[k] !== 'boolean') throw new PlanError(`${w}.${k}`, 'expected a boolean');
      if (b['nosuid'] !== undefined && typeof b['nosuid'] !== 'boolean') throw new PlanError(`${w}.nosuid`, 'expected a boolean');
    });
  }
  const tmpfs = v['temporaryFileSystems'];
  if (tmpfs !== undefined) {
    if (!Array.isArray(tmpfs)) throw new PlanError(`${where}.temporaryFileSystems`, 'expected a list');
    tmpfs.forEach((t: unknown, i) => {
      const w = `${where}.temporaryFileSystems[${i}]`;
      if (!isObj(t)) throw new PlanError(w, 'expected {path, options?}');
      abs(t['path'], `${w}.path`);
      if (t['options'] !== undefined && (typeof t['options'] !== 'string' || t['options'].includes('\0'))) throw new PlanError(`${w}.options`, 'expected a string');
    });
  }
  const pt = v['privateTmp'];
  if (pt !== undefined) {
    if (!isObj(pt)) throw new PlanError(`${where}.privateTmp`, 'expected {tmp, varTmp}');
    abs(pt['tmp'], `${where}.privateTmp.tmp`);
    abs(pt['varTmp'], `${where}.privateTmp.varTmp`);
  }
  for (const k of ['privateDevices', 'protectKernelTunables', 'protectKernelModules', 'protectKernelLogs', 'protectControlGroups', 'protectHostname', 'privateIpc', 'privateNetwork', 'mountApiVfs', 'privatePids', 'nosuid']) bool(k);
  oneOf('protectHome', ['yes', 'read-only', 'tmpfs']);
  oneOf('protectSystem', ['yes', 'full', 'strict']);
  oneOf('protectProc', ['noaccess', 'invisible', 'ptraceable']);
  oneOf('procSubset', ['pid']);
  oneOf('propagation', ['shared', 'slave', 'private']);
  if (v['credentialsDirectory'] !== undefined) abs(v['credentialsDirectory'], `${where}.credentialsDirectory`);
  str('staging');
  return v as unknown as MountNamespaceSpec;
}

export const mountNamespaceOp: OpCompiler<MountStep> = {
  phase: PHASE.mounts,
  exitCode: EXIT.NAMESPACE,
  compile: (step, ctx) => {
    const spec = checkSpec(step.spec, 'step mount-namespace.spec');
    const staging = step.staging ?? DEFAULT_STAGING;
    if (!staging.startsWith('/') || staging.includes('\0')) throw new PlanError('step mount-namespace.staging', 'expected an absolute path');
    try {
      return compileMountNamespace(spec, staging, ctx.keep).run;
    } catch (e) {
      if (e instanceof MountTableError) throw new PlanError('step mount-namespace', e.message);
      throw e;
    }
  },
};

export const MOUNT_OPS: OpTable<MountStep> = { 'mount-namespace': mountNamespaceOp };

export type { BindMountSpec, MountNamespaceSpec, TemporaryFileSystemSpec };
