/**
 * Service → launch plans: the supervisor-side preparation of one service
 * (implied settings, the fail-closed check, identity, directories,
 * credentials) and the plan of each of its commands.
 */
import { readFileSync } from 'node:fs';
import type { LaunchPlan } from '../launch/plan.js';
import { CgroupError, ServiceCgroup } from '../mechanisms/cgroups.js';
import { resolveIdentity } from '../mechanisms/users.js';
import { ARCH } from '../sys/arch/index.js';
import { addFragments, unenforcedFields, type Unenforced } from './build.js';
import type { BuildContext, ExecCommand, ExecDirectory, Identity } from './context.js';
import { prepareCredentials, prepareExecDirectories } from './directories.js';
import { withImpliedSettings } from './implied.js';
import { PROCESS_FIELDS, processSetup, type StdioIntent } from './process.js';
import { ModelError, type ServiceView } from './service.js';

/** Requested protections that sysg cannot enforce: refused unless best effort was asked for. */
export class UnenforcedError extends Error {
  override readonly name = 'UnenforcedError';
  constructor(readonly fields: readonly Unenforced[]) {
    super(fields.map((f) => `${f.source}: not enforced by sysg (${f.field}); refusing to start without it (--best-effort-sandbox downgrades this to a warning)`).join('\n'));
  }
}

export interface PrepareOptions {
  /** Start even if some requested fields are not enforced (one warning each). */
  readonly bestEffort: boolean;
  readonly dynamicUserDir: string;
  /** Where per-service state lives (credentials under <runRoot>/credentials). */
  readonly runRoot: string;
  readonly warn: (message: string) => void;
}

export interface PreparedService {
  readonly svc: ServiceView;
  readonly identity: Identity | undefined;
  readonly execDirectories: readonly ExecDirectory[];
  readonly credentialsDirectory: string | undefined;
  readonly removeAtStop: string[];
  /** Fields the fail-closed check let through under best effort (their fragments are skipped). */
  readonly unenforced: readonly Unenforced[];
  /** The service's own cgroup (tracking, limits, kill); undefined when sysg cannot create cgroups here. */
  readonly cgroup: ServiceCgroup | undefined;
}

/** True when this process has euid 0 and CAP_SYS_ADMIN in its effective set. */
export function supervisorIsPrivileged(): boolean {
  if (process.geteuid?.() !== 0) return false;
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 21n)) !== 0n;
}

export function prepareService(input: ServiceView, opts: PrepareOptions): PreparedService {
  const svc = withImpliedSettings(input);
  const unenforced = unenforcedFields(svc, PROCESS_FIELDS);
  if (unenforced.length > 0 && !opts.bestEffort) throw new UnenforcedError(unenforced);
  for (const u of unenforced) opts.warn(`${u.source}: not enforced by sysg (${u.field}); running without it (best effort)`);
  const identity = resolveIdentity(svc, { dynamicUserDir: opts.dynamicUserDir });
  const cgroup = createCgroup(svc, identity, opts.warn);
  let dirs: ReturnType<typeof prepareExecDirectories>;
  let credentialsDirectory: string | undefined;
  try {
    dirs = prepareExecDirectories(svc, identity);
    credentialsDirectory = prepareCredentials(svc, identity, opts.runRoot);
  } catch (e) {
    // Nothing of a service that cannot start stays behind (an empty cgroup; removal is best effort).
    try {
      cgroup?.remove();
    } catch {
      /* reported by the next start's cgroup creation if it matters */
    }
    throw e;
  }
  const removeAtStop = [...dirs.removeAtStop];
  if (credentialsDirectory) removeAtStop.push(credentialsDirectory);
  return { svc, identity, execDirectories: dirs.dirs, credentialsDirectory, removeAtStop, unenforced, cgroup };
}

/**
 * Every service gets its own cgroup for tracking and kill. Without cgroup
 * limits, a failure to create one (not root, no writable hierarchy) only
 * costs tracking and is reported; with limits it refuses the service.
 */
function createCgroup(svc: ServiceView, identity: Identity | undefined, warn: (m: string) => void): ServiceCgroup | undefined {
  const limits = svc.obj('limits.cgroup') ?? {};
  try {
    return ServiceCgroup.create(svc.unitName, limits, identity ? { owner: { uid: identity.uid, gid: identity.gid } } : {});
  } catch (e) {
    if (!(e instanceof CgroupError)) throw e;
    if (e.field || Object.keys(limits).length > 0) {
      const field = e.field ?? 'limits.cgroup';
      throw new ModelError(field, svc.source(field), e.message);
    }
    warn(`${svc.unitName}: no cgroup of its own (${e.message}); its processes are tracked by pid only`);
    return undefined;
  }
}

export interface CommandPlanOptions {
  readonly managerEnv: Readonly<Record<string, string | undefined>>;
  readonly extraEnv: ReadonlyArray<readonly [string, string]>;
  readonly supervisorPrivileged: boolean;
  readonly nofileHard: number;
  readonly warn: (message: string) => void;
}

export interface CommandPlan {
  /** Without stdio: the runner turns `stdio` intents into fds. */
  readonly plan: LaunchPlan;
  readonly stdio: { readonly stdin: StdioIntent; readonly stdout: StdioIntent; readonly stderr: StdioIntent };
  readonly stepFields: readonly string[];
  readonly notes: readonly string[];
}

export function planCommand(prep: PreparedService, cmd: ExecCommand, opts: CommandPlanOptions): CommandPlan {
  const svc = prep.svc;
  const full = cmd.privileged === 'full';
  // `!!` only means `!` on kernels without ambient capabilities (systemd's
  // AMBIENT_MAGIC); every kernel sysg supports has them, so it switches user.
  const noSetuid = cmd.privileged === 'no-setuid';
  const identity = full || noSetuid ? undefined : prep.identity;
  const setup = processSetup(svc, cmd, {
    identity: prep.identity,
    managerEnv: opts.managerEnv,
    extraEnv: opts.extraEnv,
    execDirectories: prep.execDirectories,
    credentialsDirectory: prep.credentialsDirectory,
    nofileHard: opts.nofileHard,
  });
  const ctx: BuildContext = {
    svc,
    command: cmd,
    arch: ARCH,
    supervisorPrivileged: opts.supervisorPrivileged,
    identity,
    sandbox: !full,
    execDirectories: prep.execDirectories,
    cgroupDirs: prep.cgroup?.dirs,
    credentialsDirectory: prep.credentialsDirectory,
    warn: (field, message) => opts.warn(`${svc.source(field)}: ${message}`),
  };
  const base: LaunchPlan = { path: setup.path, argv: setup.argv, env: setup.env, steps: setup.steps };
  const built = addFragments(base, setup.stepFields, ctx);
  return { plan: built.plan, stdio: { stdin: setup.stdin, stdout: setup.stdout, stderr: setup.stderr }, stepFields: built.stepFields, notes: setup.notes };
}
