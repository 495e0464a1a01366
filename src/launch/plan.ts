/**
 * The launch plan: everything the zygote needs to start one service process,
 * as plain JSON (it crosses a pipe). The supervisor builds it from a unit;
 * compile.ts turns it into off-heap buffers and child-side closures.
 *
 * File descriptor numbers in a plan (`stdin: 5`, `fds: [{fd: 7}]`) are fds
 * of the process that sends the plan (the supervisor); the zygote duplicates
 * them with pidfd_getfd(2). The sender must keep them open until launch()
 * settles.
 *
 * Sandbox mechanisms extend `Step` with new `op`s (and register a compiler for
 * each in compile.ts); the compiler orders steps by phase (see PHASE), keeping
 * the plan's order within a phase.
 */
import { RLIMIT, type RlimitName } from '../sys/constants.js';
import type { CredentialStep } from './ops-credentials.js';
import type { MountStep } from './ops-mounts.js';
import type { NamespaceStep } from './ops-namespaces.js';
import type { ResourceStep } from './ops-resources.js';
import type { SeccompStep } from './ops-seccomp.js';

export type RlimitValue = number | 'infinity';

/** Where a standard stream comes from: a supervisor fd, /dev/null (null), or a file. */
export type StdioSpec = number | null | StdioFile;
export interface StdioFile {
  readonly path: string;
  /**
   * stdout/stderr: O_TRUNC (default, systemd's truncate:), O_APPEND (append:) or
   * neither (file:, which overwrites from the start); ignored for stdin (read-only).
   */
  readonly mode?: 'truncate' | 'append' | 'write';
}

/** One socket-activation fd: placed at 3, 4, … in order. */
export interface ListenFd {
  readonly fd: number;
  /** LISTEN_FDNAMES entry (systemd's default name is "unknown"). */
  readonly name?: string;
}

/** The base process-attribute steps (ops-process.ts). */
export type ProcessStep =
  | { readonly op: 'setsid' }
  | { readonly op: 'umask'; readonly mask: number }
  /** IgnoreSIGPIPE= (systemd's default is yes): SIGPIPE set to SIG_IGN after the signal reset. */
  | { readonly op: 'ignore-sigpipe' }
  | { readonly op: 'setrlimit'; readonly resource: RlimitName; readonly soft: RlimitValue; readonly hard: RlimitValue }
  /** WorkingDirectory=; ignoreMissing is systemd's "-" prefix. */
  | { readonly op: 'chdir'; readonly path: string; readonly ignoreMissing?: boolean };

/**
 * Every step kind. Each mechanism owns its step types and their compilers in
 * its own ops-*.ts module; compile.ts joins the compiler tables.
 */
export type Step = ProcessStep | CredentialStep | MountStep | NamespaceStep | ResourceStep | SeccompStep;

export type StepOp = Step['op'];

export interface LaunchPlan {
  /** Absolute path of the executable (already resolved). */
  readonly path: string;
  /** argv[0] included. */
  readonly argv: readonly string[];
  /** "KEY=value" entries, in order. LISTEN_* are replaced when `fds` is non-empty. */
  readonly env: readonly string[];
  readonly cwd?: string;
  readonly umask?: number;
  readonly rlimits?: readonly { readonly resource: RlimitName; readonly soft: RlimitValue; readonly hard: RlimitValue }[];
  /** Default null (/dev/null) for all three. */
  readonly stdin?: StdioSpec;
  readonly stdout?: StdioSpec;
  readonly stderr?: StdioSpec;
  /** Socket activation: fds placed at 3..2+N, with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID set. */
  readonly fds?: readonly ListenFd[];
  readonly setsid?: boolean;
  /** Extra steps (sandbox mechanisms), ordered by phase then by position. */
  readonly steps?: readonly Step[];
}

/**
 * Step phases: the kernel ordering rules in one place. Lower runs first.
 * - session before stdio, so a tty opened for stdio could become the controlling terminal;
 * - the fd shuffle before rlimits, so a low RLIMIT_NOFILE cannot break it;
 * - rlimits, nice, affinity and cgroup before CLONE_NEWUSER (they need host privileges);
 * - the pid namespace's fork after the other namespaces and before the mounts (the
 *   service process, pid 1 of the new namespace, is the one that mounts its /proc);
 * - the user namespace after the other namespaces, the mounts and the group switch
 *   (setgroups + setresgid, PHASE.groups), before everything else of the credentials
 *   (systemd's privileged order, exec-invoke.c: enforce_groups, setup_private_users,
 *   then the bounding set, the user switch and the ambient set): every other
 *   namespace and mount is then owned by the host user namespace, so root inside
 *   cannot undo them; setgroups(2) is denied inside, so the groups must be set
 *   before; and CLONE_NEWUSER resets securebits, the bounding, inheritable and
 *   ambient sets, so those steps must come after it. It is also before
 *   seccompBeforeUser, whose filter may deny unshare (RestrictNamespaces=);
 * - mounts before chdir (the old cwd would keep the host tree reachable);
 * - chdir after the user switch (systemd checks the directory as the service user);
 * - seccomp last before execve.
 */
export const PHASE = {
  signals: 0,
  session: 10,
  umask: 15,
  stdio: 20,
  fds: 25,
  /** cgroup join, OOM score, nice, scheduling, ioprio, personality, keyring: they open files, so before rlimits. */
  resources: 28,
  limits: 30,
  namespaces: 40,
  pidNamespace: 45,
  mounts: 50,
  /** setgroups + setresgid (the credentials' set-groups): before the user namespace denies setgroups. */
  groups: 60,
  userNamespace: 62,
  /**
   * seccomp filters of a service that switches to a non-root uid, installed while the process still has
   * CAP_SYS_ADMIN so no_new_privs need not be implied (systemd keeps CAP_SYS_ADMIN across setresuid() for
   * this); only when the filter allows the uid switch, capability and chdir calls that follow.
   */
  seccompBeforeUser: 65,
  credentials: 70,
  capabilities: 80,
  cwd: 85,
  noNewPrivs: 90,
  seccomp: 95,
  exec: 100,
} as const;

/** A plan that failed validation; `where` is a JSON path ("plan.env[2]"). */
export class PlanError extends Error {
  override readonly name = 'PlanError';
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, where: string, what = 'a string'): string {
  if (typeof v !== 'string') throw new PlanError(where, `expected ${what}`);
  if (v.includes('\0')) throw new PlanError(where, 'contains a NUL byte');
  return v;
}
function absPath(v: unknown, where: string): string {
  const s = str(v, where, 'an absolute path');
  if (!s.startsWith('/')) throw new PlanError(where, `expected an absolute path, got ${JSON.stringify(s)}`);
  return s;
}
function fdNum(v: unknown, where: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0x7fffffff) throw new PlanError(where, 'expected a file descriptor number');
  return v as number;
}
function stdio(v: unknown, where: string): void {
  if (v === undefined || v === null) return;
  if (typeof v === 'number') {
    fdNum(v, where);
    return;
  }
  if (!isObj(v)) throw new PlanError(where, 'expected an fd number, null or {path, mode}');
  absPath(v['path'], `${where}.path`);
  if (v['mode'] !== undefined && v['mode'] !== 'truncate' && v['mode'] !== 'append' && v['mode'] !== 'write') throw new PlanError(`${where}.mode`, 'expected "truncate", "append" or "write"');
}
function rlimitValue(v: unknown, where: string): void {
  if (v === 'infinity') return;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new PlanError(where, 'expected a non-negative integer or "infinity"');
}
function rlimit(v: unknown, where: string): void {
  if (!isObj(v)) throw new PlanError(where, 'expected {resource, soft, hard}');
  if (typeof v['resource'] !== 'string' || !(v['resource'] in RLIMIT)) throw new PlanError(`${where}.resource`, `unknown resource ${JSON.stringify(v['resource'])}`);
  rlimitValue(v['soft'], `${where}.soft`);
  rlimitValue(v['hard'], `${where}.hard`);
  const soft = v['soft'] === 'infinity' ? Infinity : (v['soft'] as number);
  const hard = v['hard'] === 'infinity' ? Infinity : (v['hard'] as number);
  if (soft > hard) throw new PlanError(where, 'soft limit above hard limit');
}
function umaskValue(v: unknown, where: string): void {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0o777) throw new PlanError(where, 'expected a mode 0..0o777');
}

/** Checks the base step kinds; other modules' ops are checked by their compilers. */
function step(v: unknown, where: string): void {
  if (!isObj(v) || typeof v['op'] !== 'string') throw new PlanError(where, 'expected {op, …}');
  switch (v['op']) {
    case 'setsid':
    case 'ignore-sigpipe':
      return;
    case 'umask':
      return umaskValue(v['mask'], `${where}.mask`);
    case 'setrlimit':
      return rlimit(v, where);
    case 'chdir':
      absPath(v['path'], `${where}.path`);
      return;
  }
}

/** Validates untrusted JSON as a LaunchPlan (throws PlanError). Unknown step ops are left to the compiler. */
export function checkPlan(v: unknown): LaunchPlan {
  if (!isObj(v)) throw new PlanError('plan', 'expected an object');
  absPath(v['path'], 'plan.path');
  const argv = v['argv'];
  if (!Array.isArray(argv) || argv.length === 0) throw new PlanError('plan.argv', 'expected a non-empty array of strings');
  argv.forEach((a, i) => str(a, `plan.argv[${i}]`));
  const env = v['env'];
  if (!Array.isArray(env)) throw new PlanError('plan.env', 'expected an array of "KEY=value" strings');
  env.forEach((e, i) => {
    if (str(e, `plan.env[${i}]`).indexOf('=') < 1) throw new PlanError(`plan.env[${i}]`, 'expected "KEY=value"');
  });
  if (v['cwd'] !== undefined) absPath(v['cwd'], 'plan.cwd');
  if (v['umask'] !== undefined) umaskValue(v['umask'], 'plan.umask');
  if (v['rlimits'] !== undefined) {
    if (!Array.isArray(v['rlimits'])) throw new PlanError('plan.rlimits', 'expected an array');
    v['rlimits'].forEach((r, i) => rlimit(r, `plan.rlimits[${i}]`));
  }
  for (const k of ['stdin', 'stdout', 'stderr']) stdio(v[k], `plan.${k}`);
  if (v['fds'] !== undefined) {
    if (!Array.isArray(v['fds'])) throw new PlanError('plan.fds', 'expected an array of {fd, name?}');
    v['fds'].forEach((f, i) => {
      if (!isObj(f)) throw new PlanError(`plan.fds[${i}]`, 'expected {fd, name?}');
      fdNum(f['fd'], `plan.fds[${i}].fd`);
      if (f['name'] !== undefined && (str(f['name'], `plan.fds[${i}].name`).includes(':') || (f['name'] as string).length > 255)) {
        throw new PlanError(`plan.fds[${i}].name`, 'a name has at most 255 characters and no ":"');
      }
    });
  }
  if (v['setsid'] !== undefined && typeof v['setsid'] !== 'boolean') throw new PlanError('plan.setsid', 'expected a boolean');
  if (v['steps'] !== undefined) {
    if (!Array.isArray(v['steps'])) throw new PlanError('plan.steps', 'expected an array');
    v['steps'].forEach((s, i) => step(s, `plan.steps[${i}]`));
  }
  return v as unknown as LaunchPlan;
}
