/**
 * The supervisor's durable state: where it lives, the single-instance lock,
 * and the state file written atomically.
 *
 * Directories follow systemg (§2.1 of the systemg notes):
 *   user runtime     state  $SYSG_STATE_DIR, else $XDG_DATA_HOME/systemg, else ~/.local/share/systemg
 *                    logs   <state>/logs        configs ~/.config/systemg ($XDG_CONFIG_HOME)
 *   system (--sys)   state  /var/lib/systemg     logs /var/log/systemg   configs /etc/systemg
 * `--sys` needs root. Root without `--sys` gets root's user runtime and a
 * warning (systemg's SG0701). SYSG_STATE_DIR (a sysg addition) pins the state
 * directory for either runtime (logs then go to <state>/logs).
 *
 * Files in the state directory (0700):
 *   supervisor.lock  flock(LOCK_EX) held by the live supervisor; contains its pid
 *   control.sock     the control socket (control.ts), 0600
 *   state.json       SupervisorState, written as state.json.tmp.<pid>.<n> + fsync + rename + fsync(dir)
 *   state.json.bad   the last state file that failed to load, kept for inspection
 *
 * flock rather than O_EXCL: the kernel drops the lock when its holder dies,
 * so there is no stale-pid guessing; the pid in the file only names the
 * holder in the error (with /proc/locks as a fallback). The lock fd is
 * close-on-exec (libuv opens every file O_CLOEXEC): exec'd children never
 * hold it. A process forked without exec shares it; the supervisor itself
 * never forks.
 */
import {
  closeSync,
  constants as fsc,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { flock, LOCK_EX, LOCK_NB, LOCK_UN } from '../sys/libc-peercred.js';
import { errno } from '../sys/errno.js';

export class StateError extends Error {
  override readonly name = 'StateError';
  constructor(
    readonly code: 'locked' | 'corrupt' | 'not_root' | 'io' | 'invalid',
    message: string,
    readonly detail: { pid?: number; backupPath?: string } = {},
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Directories

export interface RuntimeDirs {
  readonly mode: 'user' | 'system';
  readonly stateDir: string;
  readonly logDir: string;
  readonly configDir: string;
  readonly socketPath: string;
  readonly lockPath: string;
  readonly statePath: string;
  /** A message for stderr (root using the user runtime), else undefined. */
  readonly warning?: string;
}

export interface DirOptions {
  /** --sys */
  readonly sys?: boolean;
  /** Throw StateError('not_root') for --sys as non-root (default true; `validate` passes false as systemg does). */
  readonly requireRoot?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly uid?: number;
  readonly home?: string;
}

export const SYSTEM_STATE_DIR = '/var/lib/systemg';
export const SYSTEM_LOG_DIR = '/var/log/systemg';
export const SYSTEM_CONFIG_DIR = '/etc/systemg';

function absEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v && isAbsolute(v) ? v : undefined;
}

function filesIn(stateDir: string, mode: 'user' | 'system', logDir: string, configDir: string, warning?: string): RuntimeDirs {
  const dirs = {
    mode,
    stateDir,
    logDir,
    configDir,
    socketPath: join(stateDir, 'control.sock'),
    lockPath: join(stateDir, 'supervisor.lock'),
    statePath: join(stateDir, 'state.json'),
  };
  return warning ? { ...dirs, warning } : dirs;
}

/** The runtime directories for the given flags (pure: touches nothing). */
export function runtimeDirs(options: DirOptions = {}): RuntimeDirs {
  const env = options.env ?? process.env;
  const uid = options.uid ?? process.geteuid!();
  const pinned = absEnv(env, 'SYSG_STATE_DIR');
  if (options.sys) {
    if (uid !== 0 && options.requireRoot !== false) {
      throw new StateError('not_root', `sysg: --sys manages the system supervisor (${SYSTEM_STATE_DIR}) and needs root; run it as root, or drop --sys for your own supervisor`);
    }
    return pinned
      ? filesIn(pinned, 'system', join(pinned, 'logs'), SYSTEM_CONFIG_DIR)
      : filesIn(SYSTEM_STATE_DIR, 'system', SYSTEM_LOG_DIR, SYSTEM_CONFIG_DIR);
  }
  const home = options.home ?? env.HOME ?? homedir();
  const stateDir = pinned ?? join(absEnv(env, 'XDG_DATA_HOME') ?? join(home, '.local', 'share'), 'systemg');
  const configDir = join(absEnv(env, 'XDG_CONFIG_HOME') ?? join(home, '.config'), 'systemg');
  const warning =
    uid === 0 && !pinned
      ? `sysg: warning: running as root without --sys: using root's own supervisor in ${stateDir}, not the system one in ${SYSTEM_STATE_DIR}`
      : undefined;
  return filesIn(stateDir, 'user', join(stateDir, 'logs'), configDir, warning);
}

/** Creates the state directory 0700 (and the log directory 0700 when it is inside it). */
export function ensureDirs(dirs: RuntimeDirs): void {
  mkdirSync(dirs.stateDir, { recursive: true, mode: 0o700 });
  const st = statSync(dirs.stateDir);
  if (st.uid === process.geteuid!() && (st.mode & 0o077) !== 0) chmodSync(dirs.stateDir, 0o700);
  mkdirSync(dirs.logDir, { recursive: true, mode: dirs.mode === 'system' && !dirs.logDir.startsWith(dirs.stateDir) ? 0o750 : 0o700 });
}

// ---------------------------------------------------------------------------
// Single-instance lock

const EWOULDBLOCK = 11;

export interface SupervisorLock {
  readonly path: string;
  readonly fd: number;
  release(): void;
}

/** The pid in a lock file, else the pid /proc/locks shows holding a lock on its inode. */
export function lockHolder(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (/^\d+$/.test(text)) return Number(text);
  } catch {
    return undefined;
  }
  try {
    const ino = statSync(path).ino;
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      // 1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF
      const f = line.trim().split(/\s+/);
      if (f[1] === 'FLOCK' && f[5] && Number(f[5].split(':')[2]) === ino) return Number(f[4]);
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/**
 * Takes `<stateDir>/supervisor.lock` (creating the directory 0700) and writes
 * this pid into it. Held: StateError('locked') naming the holder's pid.
 */
export function acquireLock(stateDir: string, pid = process.pid): SupervisorLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'supervisor.lock');
  const fd = openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o600);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    const e = errno();
    closeSync(fd);
    if (e === EWOULDBLOCK) {
      const holder = lockHolder(path);
      throw new StateError(
        'locked',
        `sysg: another supervisor${holder ? ` (pid ${holder})` : ''} is already running on ${stateDir}; talk to it with the sysg commands, or stop it with \`sysg stop --supervisor\``,
        holder ? { pid: holder } : {},
      );
    }
    throw new StateError('io', `sysg: cannot lock ${path}: errno ${e}`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${pid}\n`, 0);
  let held = true;
  return {
    path,
    fd,
    release() {
      if (!held) return;
      held = false;
      try {
        ftruncateSync(fd, 0);
      } catch {
        // read-only now? the lock still goes with the fd
      }
      flock(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

// ---------------------------------------------------------------------------
// State file

export const STATE_FORMAT = 'sysg-state';
export const STATE_VERSION = 1;

/** systemd's ActiveState values. */
export const ACTIVE_STATES = ['inactive', 'activating', 'active', 'reloading', 'deactivating', 'failed', 'maintenance', 'refreshing'] as const;
export type ActiveState = (typeof ACTIVE_STATES)[number];

export interface ServiceRecord {
  /** ActiveState. */
  state: ActiveState;
  /** SubState (running, exited, dead, auto-restart, start-pre, …). */
  subState?: string;
  mainPid: number | null;
  /** systemd's Result=: success, exit-code, signal, core-dump, timeout, watchdog, start-limit-hit, resources, … */
  result: string;
  /** Automatic restarts so far (NRestarts=). */
  restarts: number;
  /** When `state` was entered (ISO 8601), or null. */
  since: string | null;
  /** The unit file or manifest the service came from. */
  configPath: string;
  /** The last main-process exit: code as in systemd (exited|killed|dumped) and status. */
  exitCode?: string | null;
  exitStatus?: number | null;
  /** STATUS= from sd_notify. */
  statusText?: string | null;
  /** Control-group path, when the service has its own. */
  cgroup?: string | null;
  /** Other keys are kept as they are (newer sysg writing fields this one does not know). */
  [extra: string]: unknown;
}

export interface SupervisorState {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  supervisorPid: number;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601 of the write. */
  updatedAt: string;
  services: Record<string, ServiceRecord>;
}

export function emptyState(pid = process.pid, now = new Date()): SupervisorState {
  const t = now.toISOString();
  return { format: STATE_FORMAT, version: STATE_VERSION, supervisorPid: pid, startedAt: t, updatedAt: t, services: {} };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `"${v.slice(0, 40)}"` : typeof v === 'object' ? 'an object' : String(v);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIso = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isPid = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 2 ** 31;

/** Returns the problems of a parsed state file ([] = valid). */
export function checkState(v: unknown): string[] {
  const bad: string[] = [];
  if (!isObj(v)) return [`the file holds ${describe(v)}, not an object`];
  if (v.format !== STATE_FORMAT) return [`"format" is ${describe(v.format)}, not "${STATE_FORMAT}": not a sysg state file`];
  if (v.version !== STATE_VERSION) return [`"version" is ${describe(v.version)}; this sysg reads version ${STATE_VERSION}`];
  if (!isPid(v.supervisorPid)) bad.push(`supervisorPid: expected a pid, got ${describe(v.supervisorPid)}`);
  if (!isIso(v.startedAt)) bad.push(`startedAt: expected an ISO 8601 time, got ${describe(v.startedAt)}`);
  if (!isIso(v.updatedAt)) bad.push(`updatedAt: expected an ISO 8601 time, got ${describe(v.updatedAt)}`);
  if (!isObj(v.services)) {
    bad.push(`services: expected an object, got ${describe(v.services)}`);
    return bad;
  }
  for (const [name, r] of Object.entries(v.services)) {
    const at = `services.${name}`;
    if (!isObj(r)) {
      bad.push(`${at}: expected an object, got ${describe(r)}`);
      continue;
    }
    if (!(ACTIVE_STATES as readonly unknown[]).includes(r.state)) bad.push(`${at}.state: expected one of ${ACTIVE_STATES.join('|')}, got ${describe(r.state)}`);
    if (r.subState !== undefined && typeof r.subState !== 'string') bad.push(`${at}.subState: expected a string, got ${describe(r.subState)}`);
    if (r.mainPid !== null && !isPid(r.mainPid)) bad.push(`${at}.mainPid: expected a pid or null, got ${describe(r.mainPid)}`);
    if (typeof r.result !== 'string') bad.push(`${at}.result: expected a string, got ${describe(r.result)}`);
    if (typeof r.restarts !== 'number' || !Number.isInteger(r.restarts) || r.restarts < 0) bad.push(`${at}.restarts: expected a count, got ${describe(r.restarts)}`);
    if (r.since !== null && !isIso(r.since)) bad.push(`${at}.since: expected an ISO 8601 time or null, got ${describe(r.since)}`);
    if (typeof r.configPath !== 'string') bad.push(`${at}.configPath: expected a string, got ${describe(r.configPath)}`);
    for (const k of ['exitCode', 'statusText', 'cgroup'] as const) {
      if (r[k] !== undefined && r[k] !== null && typeof r[k] !== 'string') bad.push(`${at}.${k}: expected a string or null, got ${describe(r[k])}`);
    }
    if (r.exitStatus !== undefined && r.exitStatus !== null && !Number.isInteger(r.exitStatus)) bad.push(`${at}.exitStatus: expected an integer or null, got ${describe(r.exitStatus)}`);
  }
  return bad;
}

export interface LoadOptions {
  /** Move a bad file to `<file>.bad` (the supervisor, default); false for read-only readers (the CLI's disk fallback). */
  readonly quarantine?: boolean;
}

/**
 * Reads the state file. Missing → null. Unreadable, not JSON, foreign or
 * failing the schema → StateError('corrupt') whose message says what is wrong
 * and where the file went (`<file>.bad`); never anything else.
 */
export function readState(file: string, options: LoadOptions = {}): SupervisorState | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateError('io', `sysg: cannot read the state file ${file}: ${(e as Error).message}`);
  }
  let problems: string[];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    problems = checkState(parsed);
  } catch (e) {
    problems = [`not JSON (${(e as Error).message})`];
  }
  if (problems.length === 0) return parsed as SupervisorState;
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  if (options.quarantine === false) throw new StateError('corrupt', `sysg: the state file ${file} is unusable: ${shown}`);
  const backupPath = `${file}.bad`;
  try {
    renameSync(file, backupPath);
  } catch (e) {
    throw new StateError('corrupt', `sysg: the state file ${file} is unusable (${shown}) and could not be moved aside: ${(e as Error).message}`);
  }
  throw new StateError('corrupt', `sysg: the state file ${file} is unusable (${shown}); moved it to ${backupPath} and starting with no recorded services`, { backupPath });
}

/** readState that turns a corrupt file into a fresh state plus the error to report. */
export function loadState(file: string, options: LoadOptions = {}): { state: SupervisorState | null; problem?: StateError } {
  try {
    return { state: readState(file, options) };
  } catch (e) {
    if (e instanceof StateError) return { state: null, problem: e };
    return { state: null, problem: new StateError('io', `sysg: cannot load ${file}: ${(e as Error).message}`) };
  }
}

export interface WriteHooks {
  /** Runs after the temporary file is written and fsynced, before the rename (tests: crash here). */
  readonly beforeRename?: (tmpPath: string) => void;
}

function serialize(state: SupervisorState): string {
  const problems = checkState(state);
  if (problems.length) throw new StateError('invalid', `sysg: refusing to write an invalid state: ${problems.slice(0, 3).join('; ')}`);
  return JSON.stringify(state, null, 2) + '\n';
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

let tmpCounter = 0;
const tmpName = (file: string): string => `${file}.tmp.${process.pid}.${++tmpCounter}`;

/** temp + fsync + rename + fsync(dir), synchronously (shutdown paths). */
export function writeStateSync(file: string, state: SupervisorState, hooks: WriteHooks = {}): void {
  const text = serialize(state);
  const tmp = tmpName(file);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw e;
  }
  closeSync(fd);
  hooks.beforeRename?.(tmp);
  renameSync(tmp, file);
  fsyncDir(dirname(file));
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone
  }
}

/** Writes and fsyncs a temp file off the main thread; returns its path. */
async function writeTemp(file: string, text: string): Promise<string> {
  const tmp = tmpName(file);
  const fh = await openAsync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    await fh.close();
    unlinkQuiet(tmp);
    throw e;
  }
  await fh.close();
  return tmp;
}

async function fsyncDirAsync(dir: string): Promise<void> {
  const dh = await openAsync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * The same with the data write and fsyncs off the event loop. The rename
 * itself is synchronous, so the order of renames is the order of the calls
 * that reach it on the main thread.
 */
export async function writeState(file: string, state: SupervisorState, hooks: WriteHooks = {}): Promise<void> {
  const tmp = await writeTemp(file, serialize(state));
  hooks.beforeRename?.(tmp);
  renameSync(tmp, file);
  await fsyncDirAsync(dirname(file));
}

/** Removes `<file>.tmp.<pid>.<n>` left by writers that died before their rename (pids no longer alive). */
export function removeStaleTemps(file: string): string[] {
  const dir = dirname(file);
  const prefix = `${basename(file)}.tmp.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) continue;
    try {
      unlinkSync(join(dir, n));
      removed.push(join(dir, n));
    } catch {
      // raced
    }
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The supervisor's view: the current state in memory, written after each
 * change. Writes are coalesced: at most one in flight, and changes made while
 * one runs are written by a single follow-up with the latest state.
 */
export class StateStore {
  private current: SupervisorState;
  private writing: Promise<void> | null = null;
  private dirty = false;
  private lastError: unknown = null;
  /** The problem found loading the previous state, if any (report it, then carry on). */
  readonly loadProblem: StateError | undefined;
  /** The previous supervisor's state (services it recorded), or null. */
  readonly previous: SupervisorState | null;

  constructor(
    readonly file: string,
    options: { pid?: number; now?: Date; onError?: (e: unknown) => void } = {},
  ) {
    removeStaleTemps(file);
    const { state, problem } = loadState(file);
    this.previous = state;
    this.loadProblem = problem;
    this.current = emptyState(options.pid, options.now);
    this.onError = options.onError ?? (() => {});
  }

  private readonly onError: (e: unknown) => void;

  get state(): SupervisorState {
    return this.current;
  }

  /** Applies a change and schedules a write. */
  update(mutate: (s: SupervisorState) => void): void {
    mutate(this.current);
    this.schedule();
  }

  /** Sets one service's record (merged over the old one) and schedules a write. */
  setService(name: string, record: Partial<ServiceRecord> & Pick<ServiceRecord, 'state'>): void {
    const old = this.current.services[name];
    const base: ServiceRecord = old ?? { state: 'inactive', mainPid: null, result: 'success', restarts: 0, since: null, configPath: '' };
    this.current.services[name] = { ...base, ...record } as ServiceRecord;
    this.schedule();
  }

  removeService(name: string): void {
    delete this.current.services[name];
    this.schedule();
  }

  /** Resolves when everything changed so far is on disk; rejects with the last write error. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.lastError) {
      const e = this.lastError;
      this.lastError = null;
      throw e;
    }
  }

  /** Writes now, synchronously (exit paths). A write in flight is then discarded, not renamed over it. */
  flushSync(): void {
    this.dirty = false;
    this.current.updatedAt = new Date().toISOString();
    const seq = ++this.seq;
    writeStateSync(this.file, this.current);
    this.committed = seq;
  }

  private seq = 0;
  private committed = 0;

  private schedule(): void {
    this.dirty = true;
    if (this.writing) return;
    this.writing = (async () => {
      while (this.dirty) {
        this.dirty = false;
        this.current.updatedAt = new Date().toISOString();
        const seq = ++this.seq;
        try {
          const tmp = await writeTemp(this.file, serialize(this.current));
          // the check and the rename run together on the main thread
          if (seq < this.committed) unlinkQuiet(tmp);
          else {
            renameSync(tmp, this.file);
            this.committed = seq;
            await fsyncDirAsync(dirname(this.file));
          }
          this.lastError = null;
        } catch (e) {
          this.lastError = e;
          this.onError(e);
        }
      }
      this.writing = null;
    })();
  }
}
