/**
 * The process part of a launch, computed in the supervisor as systemd's
 * exec_child() does it: the environment (build_environment() + the manager's
 * default environment + PassEnvironment=, Environment=, EnvironmentFile=,
 * UnsetEnvironment=), `$VAR` expansion of argv, the executable's path
 * (ExecSearchPath= or the fixed default path), WorkingDirectory=, UMask=,
 * Limit*=, IgnoreSIGPIPE= and what each standard stream should be.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { parseEnvFileContents } from '../unit/envfile.js';
import { envMatch, expandExecArgv } from '../unit/expand-env.js';
import type { RlimitName } from '../sys/constants.js';
import { RLIMIT } from '../sys/constants.js';
import { EXIT } from '../launch/exit-codes.js';
import type { RlimitValue, Step } from '../launch/plan.js';
import { loginEnvironment } from '../mechanisms/users.js';
import type { ExecCommand, ExecDirectory, Identity } from './context.js';
import type { ServiceView } from './service.js';

/** systemd's DEFAULT_PATH for a merged-/usr system (the path commands are looked up in). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

/** Fields this module (with the supervisor's directory and credential setup) handles. */
export const PROCESS_FIELDS = [
  'env.vars', 'env.files', 'env.pass', 'env.unset', 'env.login_environment', 'working_dir', 'umask', 'exec_search_path', 'ignore_sigpipe',
  'limits.rlimits', 'stdio.input', 'stdio.output', 'stdio.error', 'stdio.input_data',
  // Created by directories.ts before launch.
  'directories', 'credentials',
  // Done by the supervisor when the service has stopped (src/mechanisms/ipc.ts).
  'sandbox.remove_ipc',
] as const;

export type StdioIntent =
  | { readonly kind: 'null' }
  /** To the supervisor's log (journal, syslog, kmsg, inherit of a logged stream…). */
  | { readonly kind: 'log' }
  | { readonly kind: 'file'; readonly path: string; readonly mode: 'read' | 'write' | 'append' | 'truncate' }
  | { readonly kind: 'data'; readonly data: Buffer }
  /** stderr as stdout (systemd's StandardError=inherit). */
  | { readonly kind: 'as-stdout' };

export interface ProcessSetup {
  readonly path: string;
  readonly argv: string[];
  readonly env: string[];
  readonly stdin: StdioIntent;
  readonly stdout: StdioIntent;
  readonly stderr: StdioIntent;
  readonly steps: Step[];
  /** The model field of each step (same order). */
  readonly stepFields: string[];
  /** Non-fatal notes (unset variables referenced by argv, …). */
  readonly notes: string[];
}

export interface ProcessOptions {
  readonly identity: Identity | undefined;
  /** The supervisor's environment: the source of PassEnvironment=. */
  readonly managerEnv: Readonly<Record<string, string | undefined>>;
  /** Variables the supervisor adds (INVOCATION_ID, MAINPID, NOTIFY_SOCKET, SERVICE_RESULT, …). */
  readonly extraEnv: ReadonlyArray<readonly [string, string]>;
  readonly execDirectories: readonly ExecDirectory[];
  readonly credentialsDirectory: string | undefined;
  /** The supervisor's own RLIMIT_NOFILE hard limit (systemd's default service soft limit is 1024). */
  readonly nofileHard: number;
}

/** An error that stops this command from starting, with systemd's exit status. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  constructor(
    readonly field: string,
    readonly source: string,
    readonly exitCode: number,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

const DIR_ENV: Record<ExecDirectory['kind'], string> = {
  runtime: 'RUNTIME_DIRECTORY',
  state: 'STATE_DIRECTORY',
  cache: 'CACHE_DIRECTORY',
  logs: 'LOGS_DIRECTORY',
  configuration: 'CONFIGURATION_DIRECTORY',
};

function buildEnvironment(svc: ServiceView, opts: ProcessOptions): Map<string, string> {
  const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
  // build_environment(): $USER, and the other login variables per SetLoginEnvironment=.
  for (const kv of loginEnvironment(opts.identity, svc)) {
    const eq = kv.indexOf('=');
    env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const kind of Object.keys(DIR_ENV) as ExecDirectory['kind'][]) {
    const dirs = opts.execDirectories.filter((d) => d.kind === kind);
    if (dirs.length > 0) env.set(DIR_ENV[kind], dirs.map((d) => d.path).join(':'));
  }
  if (opts.credentialsDirectory) env.set('CREDENTIALS_DIRECTORY', opts.credentialsDirectory);
  for (const [k, v] of opts.extraEnv) env.set(k, v);
  // ExecSearchPath= also becomes PATH unless the unit sets PATH itself (below, it would win anyway).
  const search = svc.strings('exec_search_path');
  if (search && search.length > 0) env.set('PATH', search.join(':'));

  for (const name of svc.strings('env.pass') ?? []) {
    const v = opts.managerEnv[name];
    if (v !== undefined) env.set(name, v);
  }
  for (const [k, v] of Object.entries(svc.obj('env.vars') ?? {})) env.set(k, String(v));
  const files = svc.list('env.files') ?? [];
  for (const f of files) {
    const { path, optional } = f as { path: string; optional?: boolean };
    let text: Buffer;
    try {
      text = readFileSync(path);
    } catch (e) {
      if (optional) continue;
      throw new SetupError('env.files', svc.source('env.files'), EXIT.EXEC, `EnvironmentFile=${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    for (const [k, v] of parseEnvFileContents(text, path).vars) env.set(k, v);
  }
  for (const u of svc.strings('env.unset') ?? []) {
    for (const [k, v] of [...env]) if (envMatch(`${k}=${v}`, u)) env.delete(k);
  }
  return env;
}

function executable(name: string, svc: ServiceView, root: string): string {
  if (name.startsWith('/')) return name;
  const dirs = svc.strings('exec_search_path') ?? DEFAULT_PATH.split(':');
  for (const d of dirs) {
    const p = `${d}/${name}`;
    try {
      accessSync(root + p, constants.X_OK);
      if (statSync(root + p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  // Not found: exec of the first candidate fails with ENOENT → 203/EXEC, as under systemd.
  return `${dirs[0] ?? '/'}/${name}`;
}

function outputIntent(v: string, field: string, svc: ServiceView): StdioIntent {
  if (v === 'null') return { kind: 'null' };
  if (['journal', 'syslog', 'kmsg', 'journal+console', 'syslog+console', 'kmsg+console', 'inherit'].includes(v)) return { kind: 'log' };
  const m = /^(file|append|truncate):(\/.*)$/.exec(v);
  if (m) return { kind: 'file', path: m[2]!, mode: m[1] === 'file' ? 'write' : (m[1] as 'append' | 'truncate') };
  return svc.error(field, `${field}: "${v}" is not supported by sysg yet`);
}

function stdioIntents(svc: ServiceView): { stdin: StdioIntent; stdout: StdioIntent; stderr: StdioIntent } {
  // StandardInputText=/StandardInputData= imply StandardInput=data.
  const input = svc.str('stdio.input') ?? (svc.has('stdio.input_data') ? 'data' : 'null');
  let stdin: StdioIntent;
  if (input === 'null') stdin = { kind: 'null' };
  else if (input === 'data') stdin = { kind: 'data', data: Buffer.from(svc.str('stdio.input_data') ?? '', 'base64') };
  else if (input.startsWith('file:')) stdin = { kind: 'file', path: input.slice(5), mode: 'read' };
  else return svc.error('stdio.input', `stdio.input: "${input}" is not supported by sysg yet`);
  const output = svc.str('stdio.output') ?? 'journal';
  const stdout = outputIntent(output, 'stdio.output', svc);
  const errorSpec = svc.str('stdio.error') ?? 'inherit';
  const stderr = errorSpec === 'inherit' ? ({ kind: 'as-stdout' } as const) : outputIntent(errorSpec, 'stdio.error', svc);
  return { stdin, stdout, stderr };
}

function rlimitValue(v: unknown): RlimitValue {
  return v === 'infinity' || v === undefined ? 'infinity' : Number(v);
}

export function processSetup(svc: ServiceView, cmd: ExecCommand, opts: ProcessOptions): ProcessSetup {
  const env = buildEnvironment(svc, opts);
  const expanded = expandExecArgv({ argv: cmd.argv, noEnvExpand: cmd.no_env_expand === true }, env);
  const notes = expanded.unset.map((n) => `Referenced but unset environment variable evaluates to an empty string: ${n}`);
  const root = svc.str('sandbox.root_directory') ?? '';
  const path = executable(cmd.path ?? cmd.argv[0]!, svc, root === '/' ? '' : root);
  const argv = expanded.argv.length > 0 ? expanded.argv : [path];

  const steps: Step[] = [];
  const stepFields: string[] = [];
  const add = (s: Step, field: string): void => {
    steps.push(s);
    stepFields.push(field);
  };
  if (svc.bool('ignore_sigpipe') !== false) add({ op: 'ignore-sigpipe' }, 'ignore_sigpipe');
  const umask = svc.scalar('umask');
  add({ op: 'umask', mask: umask === undefined ? 0o022 : typeof umask === 'number' ? umask : parseInt(umask, 8) }, 'umask');

  // DefaultLimitNOFILE=1024:524288 unless LimitNOFILE= says otherwise.
  const rl = svc.obj('limits.rlimits') ?? {};
  if (rl['nofile'] === undefined) add({ op: 'setrlimit', resource: 'nofile', soft: 1024, hard: Math.min(524288, opts.nofileHard) }, 'limits.rlimits.nofile');
  for (const [name, lim] of Object.entries(rl)) {
    if (!(name in RLIMIT)) svc.error(`limits.rlimits.${name}`, `unknown resource limit ${name}`);
    const l = lim as { soft?: unknown; hard?: unknown };
    add({ op: 'setrlimit', resource: name as RlimitName, soft: rlimitValue(l.soft), hard: rlimitValue(l.hard) }, `limits.rlimits.${name}`);
  }

  // WorkingDirectory=: "~" is the user's home; unset means "/" (systemd's empty_to_root()).
  const wd = svc.str('working_dir');
  const missingOk = wd?.startsWith('-') ?? false;
  const dir = wd === undefined ? '/' : missingOk ? wd.slice(1) : wd;
  const cwd = dir === '~' ? (opts.identity?.home ?? '/root') : dir;
  add(missingOk ? { op: 'chdir', path: cwd, ignoreMissing: true } : { op: 'chdir', path: cwd }, 'working_dir');

  const envList = [...env].map(([k, v]) => `${k}=${v}`);
  return { path, argv, env: envList, ...stdioIntents(svc), steps, stepFields, notes };
}
