/**
 * Conformance harness: runs systemd's own test-execute units
 * (/work/shared/conformance/systemd-test-execute, or $SYSG_CONFORMANCE_DIR)
 * through `sysg run` and compares each invocation with expectations.tsv.
 *
 *   node dist/test/conformance/harness.js [--filter REGEX] [--json out.json] [--record] [--timeout SEC] [--container-skips] [--nounshare | --nounshare-best-effort]
 *
 * The outer process (root) re-executes itself under
 * `unshare --mount --net --propagation private`; everything test-execute.c
 * prepares (tmpfs on /run /tmp /var/tmp /var/lib /root /dev/shm, read-only /,
 * fixtures, credstore, dummy links, the netns, the inaccessible nodes) is
 * done in that private mount + network namespace only, so nothing reaches
 * the host. The inner process streams its report back on fd 3.
 *
 * Proof of execution: a private tracefs instance records sched_process_exec;
 * a row that matches on status passes only if every command systemd would
 * have run on that path is in the result file with a pid that exec'd it.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync, chmodSync, constants as fsc, copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync,
  rmdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanEnv } from '../util/clean-env.js';

const SELF = fileURLToPath(import.meta.url);
/** Repository root: dist/test/conformance/harness.js → ../../.. */
export const REPO = resolve(dirname(SELF), '..', '..', '..');
export const BASELINE_FILE = join(REPO, 'test', 'conformance', 'baseline.json');
export const NOUNSHARE_BASELINE_FILE = join(REPO, 'test', 'conformance', 'baseline-nounshare.json');
export const NOUNSHARE_BEST_EFFORT_BASELINE_FILE = join(REPO, 'test', 'conformance', 'baseline-nounshare-best-effort.json');
/** A snapshot of the built package inside the namespace, so a concurrent rebuild of dist/ cannot break a run midway. */
const PKG = '/run/sysg-conformance/pkg';
let SYSG = join(REPO, 'dist', 'src', 'cli', 'main.js');
let NOUNSHARE_WRAPPER = join(REPO, 'dist', 'test', 'conformance', 'nounshare.js');
/**
 * --nounshare: test-execute.c's run_tests_without_unshare mode — unshare(2) fails
 * with EOPNOTSUPP (a seccomp filter, nounshare.ts) and each row is held to the
 * `nounshare=` expectation of its notes: the fail-closed refusals.
 */
let nounshare = process.env['SYSG_CONFORMANCE_NOUNSHARE'] === '1';
/**
 * In no-unshare mode systemd runs some services without their mount namespace
 * ("assuming containerized execution"). sysg refuses those by default — stricter
 * (a refusal where systemd degrades counts as a pass, category "stricter") — and
 * degrades exactly like systemd with --best-effort-sandbox (--nounshare-best-effort:
 * exact matches only).
 */
let nounshareBestEffort = process.env['SYSG_CONFORMANCE_NOUNSHARE_BEST_EFFORT'] === '1';
export const SOURCE_DIR = process.env['SYSG_CONFORMANCE_DIR'] ?? '/work/shared/conformance/systemd-test-execute';
const WORK = '/run/sysg-conformance';
const UNIT_DIR = join(WORK, 'units');
const TRACEFS = join(WORK, 'tracefs');
const DEFAULT_TIMEOUT_S = 30;

export type Verdict = 'pass' | 'fail' | 'skip';
export interface RowResult {
  readonly row: string;
  readonly unit: string;
  readonly expected: string;
  readonly verdict: Verdict;
  readonly got?: string;
  /** fail: category for the breakdown (refused:<field>, wrong-status, not-proven, timeout, …); skip: why not applicable. */
  readonly category?: string;
  readonly reason?: string;
  readonly durationMs?: number;
}
export interface Report {
  readonly total: number;
  readonly applicable: number;
  readonly passed: number;
  readonly filtered: boolean;
  readonly containerized: boolean;
  readonly rows: RowResult[];
}
export interface Baseline {
  readonly count: number;
  readonly applicable: number;
  readonly recorded: string;
  readonly passing: string[];
}

interface Row {
  readonly row: string;
  readonly unit: string;
  readonly expected: string;
  readonly pre: string[];
}

export function readTable(dir = SOURCE_DIR): Row[] {
  const lines = readFileSync(join(dir, 'expectations.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => {
    const [row = '', expected = '', pre = '', notes = ''] = l.split('\t');
    const alt = /(?:^|;\s*)nounshare=([^;]+)/.exec(notes)?.[1]?.trim();
    return {
      row,
      unit: row.replace(/#\d+$/, ''),
      expected: nounshare ? (alt ?? 'skip') : expected.trim(),
      pre: pre.trim() === '-' ? [] : pre.split(';').map((s) => s.trim()).filter((s) => s !== ''),
    };
  });
}

/* ------------------------------------------------------------------ applicability */

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, env: opts.env ?? process.env });
  return { status: r.status ?? (r.error ? 127 : 128), stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}
function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`harness setup: ${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
function findBinary(name: string): string | undefined {
  if (name.startsWith('/')) return existsSync(name) ? name : undefined;
  for (const d of SYSTEM_PATH) if (existsSync(join(d, name))) return join(d, name);
  return undefined;
}
function getent(db: 'passwd' | 'group', key: string): string[] | undefined {
  const r = run('getent', [db, key]);
  return r.status === 0 ? r.stdout.trim().split('\n')[0]?.split(':') : undefined;
}
function statusField(name: string): string {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1]?.trim() ?? '';
}
const CAPS: Record<string, number> = { CAP_CHOWN: 0, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETUID: 7, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21 };
function hasEffective(cap: string): boolean {
  const eff = BigInt(`0x${statusField('CapEff') || '0'}`);
  const bit = CAPS[cap];
  return bit !== undefined && ((eff >> BigInt(bit)) & 1n) === 1n;
}
function allowedCpus(): Set<number> {
  const s = new Set<number>();
  for (const part of statusField('Cpus_allowed_list').split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b ?? a); i++) s.add(i);
  }
  return s;
}
export function inContainer(): boolean {
  if (existsSync('/.dockerenv') || existsSync('/run/.containerenv')) return true;
  const r = run('systemd-detect-virt', ['--container']);
  return r.status === 0 && r.stdout.trim() !== 'none';
}
function readOnly(path: string): boolean {
  try {
    accessSync(path, fsc.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}
const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i386', ppc64: 'ppc64le', s390x: 's390/s390x', loong64: 'loongarch64' };

/** Set by setupNamespace when the network fixtures could not be made. */
const network: { dummy?: string; netns?: string } = {};
/** --container-skips: skip the not-container rows in a container, as test-execute.c does. */
let containerSkips = process.env['SYSG_CONFORMANCE_CONTAINER_SKIPS'] === '1';

/** Why a precondition cannot hold here, or undefined when it holds (or is one the harness itself provides). */
function preconditionFails(p: string, container: boolean): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^arch:(\S+)/.exec(p))) {
    const here = ARCH[process.arch] ?? process.arch;
    return m[1] === here || (m[1] === 's390/s390x' && here.startsWith('s390')) ? undefined : `arch ${m[1]} ≠ ${here}`;
  }
  if ((m = /^user:(\w+)(.*)$/.exec(p))) {
    const name = m[1]!;
    const pw = getent('passwd', name);
    if (!pw) return `no user ${name}`;
    if (/uid 65534/.test(m[2]!) && pw[2] !== '65534') return `user ${name} is not uid 65534`;
    if (/same-named primary group/.test(m[2]!) && getent('group', pw[3] ?? '')?.[0] !== name) return `user ${name}'s primary group is not named ${name}`;
    return undefined;
  }
  if ((m = /^group:(\w+)/.exec(p))) return getent('group', m[1]!) ? undefined : `no group ${m[1]}`;
  if ((m = /^uid1-exists/.exec(p))) return getent('passwd', '1') ? undefined : 'no uid 1';
  if (p === 'gid1-exists') return getent('group', '1') ? undefined : 'no gid 1';
  if (p === 'gid1,gid2-exist') return getent('group', '1') && getent('group', '2') ? undefined : 'no gid 1 or 2';
  if ((m = /^effective:(.*)$/.exec(p))) {
    const missing = m[1]!.split(',').filter((c) => !hasEffective(c));
    return missing.length ? `not effective: ${missing.join(',')}` : undefined;
  }
  if (p === 'kernel-ambient-caps') return statusField('CapAmb') ? undefined : 'kernel without ambient capabilities';
  if (p === 'seccomp') return statusField('Seccomp') ? undefined : 'kernel without seccomp';
  if ((m = /^cpu([\d,cpu]+)-available$/.exec(p))) {
    const want = m[1]!.split(',').map((s) => Number(s.replace(/^cpu/, '')));
    const have = allowedCpus();
    const missing = want.filter((c) => !have.has(c));
    return missing.length ? `CPU ${missing.join(',')} not available` : undefined;
  }
  // test-execute.c skips these in containers because systemd itself cannot set them up
  // there (device nodes, OOM score, realtime I/O); sysg is held to them anyway unless
  // --container-skips asks for test-execute's behaviour.
  if (p === 'not-container') return container && containerSkips ? 'running in a container (test-execute.c skips it there; --container-skips)' : undefined;
  if (/^rw-root/.test(p)) return readOnly('/') ? '/ is read-only (test-execute.c skips it)' : undefined;
  if (/^rw-var/.test(p)) return readOnly('/var') ? '/var is read-only (test-execute.c skips it)' : undefined;
  if (p === '/dev/kmsg exists') return existsSync('/dev/kmsg') ? undefined : 'no /dev/kmsg';
  if (p === 'user manager') return 'user-manager test';
  if (p.startsWith('dummy-netif')) return network.dummy;
  if (p.startsWith('netns')) return network.netns;
  if (p === 'inaccessible-nodes' || p.startsWith('inaccessible-nodes(')) {
    return ['reg', 'dir', 'chr', 'blk', 'fifo', 'sock'].every((n) => existsSync(`/run/systemd/inaccessible/${n}`)) ? undefined : 'no /run/systemd/inaccessible nodes';
  }
  // Binaries.
  const bins: Record<string, string[]> = {
    capsh: ['capsh'], ip: ['ip'], python3: ['python3'], '/usr/bin/python3': ['/usr/bin/python3'], ionice: ['ionice'], 'unshare(1)': ['unshare'],
    '/bin/bash': ['/bin/bash'], '/usr/bin/cmp': ['/usr/bin/cmp'], '/etc/os-release': ['/etc/os-release'], 'ldd,touch,test': ['ldd', 'touch', 'test'],
  };
  if (bins[p]) {
    const missing = bins[p]!.filter((b) => !findBinary(b));
    return missing.length ? `missing ${missing.join(', ')}` : undefined;
  }
  // Provided by this harness (or always true for a root system-manager run).
  if (/^(setup:|fixture:|manager-env:|credstore:|credentials-dir|LoadCredential=|after |dummy-netif|netns|generated-drop-in|mountns|userns|dynamic-user|system manager|\/var\/lib writable)/.test(p)) return undefined;
  return `unrecognised precondition ${JSON.stringify(p)}`;
}

/* ------------------------------------------------------------------ namespace setup */

const UNSET = ['USER', 'LOGNAME', 'SHELL', 'HOME', 'TMPDIR', 'VAR1', 'VAR2', 'VAR3', 'VAR4', 'VAR5'];
const PASS_VARS: Record<string, string> = { VAR1: 'word1 word2', VAR2: 'word3', VAR3: '$word 5 6', VAR4: 'new\nline', VAR5: 'passwordwithbackslashes' };

function managerEnv(row: Row): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of UNSET) delete env[k];
  const me = row.pre.find((p) => p.startsWith('manager-env:'));
  if (me && !/unset/.test(me)) Object.assign(env, PASS_VARS);
  if (me && /PATH=\/usr/.test(me)) env['PATH'] = '/usr';
  return env;
}

/** Per-row `setup:` steps from test-execute.c; every setup: precondition in the table must have one. */
const SETUP: Record<string, string> = {
  'exec-bindpaths.service': 'mkdir -p /tmp/test-exec-bindpaths /tmp/test-exec-bindreadonlypaths',
  'exec-dynamicuser-statedir-migrate-step1.service': 'rm -rf /var/lib/test-dynamicuser-migrate* /var/lib/private/test-dynamicuser-migrate*',
  'exec-execsearchpath.service': 'mkdir -p /tmp/test-exec_execsearchpath && cp /bin/ls /tmp/test-exec_execsearchpath/ls_temp && chmod 0777 /tmp/test-exec_execsearchpath/ls_temp',
  'exec-execsearchpath.service#2': 'rm -rf /tmp/test-exec_execsearchpath',
  'exec-mount-apivfs-no.service': 'mkdir -p /tmp/test-exec-mount-apivfs-no/root',
  'exec-privatetmp-yes.service': 'touch /tmp/test-exec_privatetmp',
  'exec-privatetmp-disabled-by-prefix.service': 'touch /tmp/test-exec_privatetmp',
  'exec-privatetmp-no.service': 'touch /tmp/test-exec_privatetmp',
  'exec-runtimedirectory.service': 'rm -rf /run/test-exec_runtimedirectory2',
  'exec-workingdirectory.service': 'mkdir -p /tmp/test-exec_workingdirectory',
  'exec-workingdirectory-trailing-dot.service': 'mkdir -p /tmp/test-exec_workingdirectory',
};

function mountTmpfs(path: string, mode: string): void {
  mkdirSync(path, { recursive: true });
  must('mount', ['-t', 'tmpfs', '-o', `mode=${mode},nosuid,nodev`, 'tmpfs', path]);
}

/** The drop-in test-execute.c generates for exec-mount-apivfs-no.service, from ldd on this host. */
function apivfsDropIn(): string {
  const touch = findBinary('touch')!;
  const test = findBinary('test')!;
  const libs = new Set<string>();
  for (const line of must('ldd', [touch, test]).split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]!);
  }
  return ['[Service]', `ExecStart=${touch} /aaa`, `ExecStart=${test} -f /aaa`, `BindReadOnlyPaths=${touch}`, `BindReadOnlyPaths=${test}`,
    ...[...libs].map((l) => `BindReadOnlyPaths=${l}`), ''].join('\n');
}

interface TraceData { execs: Map<number, string[]>; sigsys: Set<number>; lost: boolean }
interface Trace {
  readonly dir: string;
  clear(): void;
  /** pid → exec'd filenames, pids that were sent SIGSYS, and whether events were lost. */
  read(): TraceData;
  close(): void;
}

function setupTrace(): Trace {
  mkdirSync(TRACEFS, { recursive: true });
  must('mount', ['-t', 'tracefs', 'nodev', TRACEFS]);
  const dir = join(TRACEFS, 'instances', `sysg-conformance-${process.pid}`);
  mkdirSync(dir);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    try {
      writeFileSync(join(dir, 'tracing_on'), '0');
    } catch { /* removing it below is what matters */ }
    try {
      rmdirSync(dir);
    } catch (e) {
      process.stderr.write(`conformance: could not remove trace instance ${dir}: ${(e as Error).message}\n`);
    }
  };
  process.on('exit', close);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      close();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  try {
    writeFileSync(join(dir, 'buffer_size_kb'), '8192');
  } catch { /* default size */ }
  writeFileSync(join(dir, 'events', 'sched', 'sched_process_exec', 'enable'), '1');
  // A filter that kills execve itself (SystemCallFilter=~execve …) leaves no exec event: the SIGSYS seccomp sends is the proof then.
  try {
    writeFileSync(join(dir, 'events', 'signal', 'signal_generate', 'filter'), 'sig == 31');
    writeFileSync(join(dir, 'events', 'signal', 'signal_generate', 'enable'), '1');
  } catch { /* kernel without the signal events: such rows stay unproven */ }
  writeFileSync(join(dir, 'tracing_on'), '1');
  return {
    dir,
    clear: () => writeFileSync(join(dir, 'trace'), ''),
    read: () => {
      const execs = new Map<number, string[]>();
      const sigsys = new Set<number>();
      let lost = false;
      for (const line of readFileSync(join(dir, 'trace'), 'utf8').split('\n')) {
        const h = /entries-in-buffer\/entries-written: (\d+)\/(\d+)/.exec(line);
        if (h && h[1] !== h[2]) lost = true;
        const g = /signal_generate: sig=31 .* pid=(\d+)/.exec(line);
        if (g) sigsys.add(Number(g[1]));
        const m = /sched_process_exec: filename=(.*) pid=(\d+) old_pid=(\d+)/.exec(line);
        if (!m) continue;
        for (const pid of new Set([Number(m[2]), Number(m[3])])) {
          const l = execs.get(pid) ?? [];
          l.push(m[1]!);
          execs.set(pid, l);
        }
      }
      return { execs, sigsys, lost };
    },
    close,
  };
}

function makeInaccessibleNodes(): void {
  const d = '/run/systemd/inaccessible';
  mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileSync(join(d, 'reg'), '');
  mkdirSync(join(d, 'dir'));
  must('mknod', ['-m', '0000', join(d, 'chr'), 'c', '0', '0']);
  must('mknod', ['-m', '0000', join(d, 'blk'), 'b', '0', '0']);
  must('mknod', ['-m', '0000', join(d, 'fifo'), 'p']);
  const py = findBinary('python3');
  if (py) run(py, ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(d, 'sock'))})`]);
  for (const n of ['reg', 'dir', 'chr', 'blk', 'fifo', 'sock']) if (existsSync(join(d, n))) chmodSync(join(d, n), 0o000);
}

function setupNamespace(): Trace {
  // Fresh tmpfs everywhere test-execute.c puts one (+ /run, so /run/netns, /run/credstore, /run/sysg stay here).
  mountTmpfs('/run', '0755');
  mkdirSync(WORK, { recursive: true, mode: 0o700 });
  mountTmpfs('/tmp', '1777');
  mountTmpfs('/var/tmp', '1777');
  mountTmpfs('/var/lib', '0755');
  mountTmpfs('/root', '0700');
  mountTmpfs('/dev/shm', '1777');
  const trace = setupTrace();
  mkdirSync(PKG);
  must('cp', ['-a', join(REPO, 'dist'), join(REPO, 'compat'), join(REPO, 'package.json'), PKG]);
  symlinkSync(join(REPO, 'node_modules'), join(PKG, 'node_modules'));
  SYSG = join(PKG, 'dist', 'src', 'cli', 'main.js');
  NOUNSHARE_WRAPPER = join(PKG, 'dist', 'test', 'conformance', 'nounshare.js');
  // Fixtures.
  for (const f of readdirSync(join(SOURCE_DIR, 'fixtures', 'tmp'))) {
    copyFileSync(join(SOURCE_DIR, 'fixtures', 'tmp', f), join('/tmp', f));
    chmodSync(join('/tmp', f), 0o644);
  }
  mkdirSync('/run/credstore');
  for (const f of readdirSync(join(SOURCE_DIR, 'fixtures', 'run', 'credstore'))) {
    copyFileSync(join(SOURCE_DIR, 'fixtures', 'run', 'credstore', f), join('/run/credstore', f));
    chmodSync(join('/run/credstore', f), 0o600);
  }
  chmodSync('/run/credstore', 0o000);
  mkdirSync('/run/credstore.encrypted', { mode: 0o000 });
  makeInaccessibleNodes();
  // Units (+ the generated drop-in) in a unit dir of our own.
  mkdirSync(UNIT_DIR, { recursive: true });
  for (const f of readdirSync(SOURCE_DIR)) if (f.endsWith('.service')) copyFileSync(join(SOURCE_DIR, f), join(UNIT_DIR, f));
  if (findBinary('ldd') && findBinary('touch') && findBinary('test')) {
    mkdirSync(join(UNIT_DIR, 'exec-mount-apivfs-no.service.d'));
    writeFileSync(join(UNIT_DIR, 'exec-mount-apivfs-no.service.d', '10-bind-mount.conf'), apivfsDropIn());
  }
  // Network: in this harness's own netns (and /run/netns on our /run tmpfs).
  if (findBinary('ip')) {
    run('ip', ['link', 'set', 'lo', 'up']);
    // The units only check that the link is (in)visible by name; where the kernel has
    // no dummy driver, a veth pair with the same name stands in (its peer has another name).
    const addLink = (name: string, netns?: string): { status: number | null; stderr: string } => {
      const pre = netns ? ['netns', 'exec', netns, 'ip'] : [];
      const dummy = run('ip', [...pre, 'link', 'add', name, 'type', 'dummy']);
      if (dummy.status === 0) return dummy;
      const veth = run('ip', [...pre, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name.slice(0, 10)}-peer`]);
      return veth.status === 0 ? veth : { status: dummy.status, stderr: `${dummy.stderr.trim()}; veth: ${veth.stderr.trim()}` };
    };
    const link = addLink('dummy-test-exec');
    if (link.status !== 0) network.dummy = `ip link add dummy-test-exec: ${link.stderr.trim()} (kernel without dummy and veth drivers?)`;
    const ns = run('ip', ['netns', 'add', 'test-execute-netns']);
    if (ns.status !== 0) network.netns = `ip netns add test-execute-netns: ${ns.stderr.trim()}`;
    else {
      const l2 = addLink('dummy-test-ns', 'test-execute-netns');
      if (l2.status !== 0) network.netns = `dummy-test-ns in test-execute-netns: ${l2.stderr.trim()} (kernel without dummy and veth drivers?)`;
    }
  } else {
    network.dummy = network.netns = 'no ip(8)';
  }
  // sysfs shows the network devices of the namespace that mounted it: remount it so
  // /sys/class/net is this harness's netns (where dummy-test-exec lives), as it is for
  // test-execute.c in the host's. The cgroup hierarchies are carried over.
  const keep = '/run/sysg-conformance/sys-fs-cgroup';
  mkdirSync(keep, { recursive: true });
  must('mount', ['--rbind', '/sys/fs/cgroup', keep]);
  must('mount', ['-t', 'sysfs', 'sysfs', '/sys']);
  must('mount', ['--move', keep, '/sys/fs/cgroup']);
  // Last: "/" read-only for the units, as test-execute.c does (this mount namespace only).
  must('mount', ['-o', 'remount,bind,ro', '/']);
  return trace;
}

/* ------------------------------------------------------------------ one row */

interface CommandDef { readonly argv: string[]; readonly path?: string; readonly ignore_failure?: boolean }
type Kind = 'condition' | 'start_pre' | 'start' | 'start_post' | 'stop' | 'stop_post';
const KINDS: Kind[] = ['condition', 'start_pre', 'start', 'start_post', 'stop', 'stop_post'];
interface CommandRecord { kind: Kind; argv: string[]; pid?: number; status: string; error?: string }
interface Outcome { result: string; exitStatus: number; status: string; commands: CommandRecord[] }

type Manifest = { services?: Record<string, { commands?: Partial<Record<Kind, CommandDef[]>> }> };
/** What `sysg convert --json --unit-path UNIT_DIR <unit>` prints, computed in-process (saves a node start per row). */
let convertInProcess: ((unit: string) => Manifest | undefined) | undefined;
async function loadConverter(): Promise<void> {
  try {
    const base = dirname(dirname(SYSG)); // <pkg>/dist/src
    const { convertUnits } = (await import(pathToFileURL(join(base, 'convert', 'convert.js')).href)) as typeof import('../../src/convert/convert.js');
    const { UnitSearchPath } = (await import(pathToFileURL(join(base, 'unit', 'search-path.js')).href)) as typeof import('../../src/unit/search-path.js');
    convertInProcess = (unit) => {
      const r = convertUnits([unit], new UnitSearchPath({ unitPath: [UNIT_DIR] }));
      return r.failed ? undefined : (r.manifest as Manifest | undefined);
    };
  } catch {
    convertInProcess = undefined; // fall back to the CLI
  }
}
const convertCache = new Map<string, Record<Kind, CommandDef[]> | string>();
function definedCommands(unit: string): Record<Kind, CommandDef[]> | string {
  const hit = convertCache.get(unit);
  if (hit) return hit;
  let out: Record<Kind, CommandDef[]> | string;
  try {
    let m: Manifest | undefined;
    if (convertInProcess) m = convertInProcess(unit);
    else {
      const r = run(process.execPath, [SYSG, 'convert', '--json', '--unit-path', UNIT_DIR, unit]);
      m = r.status === 0 ? (JSON.parse(r.stdout) as Manifest) : undefined;
    }
    if (!m) throw new Error('conversion failed');
    const svc = Object.values(m.services ?? {})[0];
    out = Object.fromEntries(KINDS.map((k) => [k, svc?.commands?.[k] ?? []])) as Record<Kind, CommandDef[]>;
  } catch (e) {
    out = `convert --json ${unit}: ${(e as Error).message}`;
  }
  convertCache.set(unit, out);
  return out;
}

/** The commands systemd runs on the path the recorded statuses took; missing ones are reported. */
function provenOrWhy(unit: string, outcome: Outcome, trace: TraceData): string | undefined {
  const defs = definedCommands(unit);
  if (typeof defs === 'string') return defs;
  const recorded = new Map<Kind, CommandRecord[]>(KINDS.map((k) => [k, outcome.commands.filter((c) => c.kind === k)]));
  const problems: string[] = [];
  const ok = (c: CommandRecord, d: CommandDef): boolean => c.status === 'exit:0' || !!d.ignore_failure;
  const walk = (kind: Kind): boolean => {
    const recs = recorded.get(kind)!;
    const list = defs[kind];
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      const c = recs[i];
      if (!c) {
        problems.push(`${kind}[${i}] ${d.argv.join(' ')} not in result file`);
        return false;
      }
      if (!ok(c, d)) return false;
    }
    return true;
  };
  let reached = walk('condition');
  const conditionsPassed = reached;
  if (reached) reached = walk('start_pre') && walk('start') && walk('start_post');
  if (reached) walk('stop');
  if (conditionsPassed) walk('stop_post');
  // Every recorded command must carry a pid that exec'd it (setup failures never reach exec).
  for (const c of outcome.commands) {
    const def = defs[c.kind]?.find((d) => d.argv.join('\0') === c.argv.join('\0'));
    const want = basename(def?.path ?? c.argv[0] ?? '');
    if (c.status.startsWith('setup:')) continue;
    if (c.pid === undefined) {
      problems.push(`${c.kind} ${c.argv.join(' ')}: no pid in result file`);
      continue;
    }
    const files = trace.execs.get(c.pid) ?? [];
    if (files.length === 0 && c.status === 'signal:SIGSYS' && trace.sigsys.has(c.pid)) continue; // killed at execve by its own filter
    if (!files.some((f) => basename(f) === want || f === def?.path)) {
      problems.push(`${c.kind} ${c.argv.join(' ')}: pid ${c.pid} has no sched_process_exec of ${want}${files.length ? ` (saw ${files.join(', ')})` : ''}${trace.lost ? ' [trace overrun]' : ''}`);
    }
  }
  return problems.length ? problems.join('; ') : undefined;
}

/** refused:<manifest field> for an unenforced directive, setup-error:<Directive=> for a setup step that failed. */
function refusedCategory(message: string): string {
  const m = /not enforced by sysg \(([^)]+)\)/.exec(message);
  if (m) return `refused:${m[1]!}`;
  const d = /^(\w+=)/.exec(message);
  return `setup-error:${d ? d[1]! : (message.split('\n')[0] ?? '').slice(0, 40)}`;
}

async function runRow(row: Row, trace: Trace, timeoutMs: number): Promise<RowResult> {
  const t0 = Date.now();
  const base = { row: row.row, unit: row.unit, expected: row.expected };
  const setup = SETUP[row.row];
  if (setup) {
    const r = run('/bin/sh', ['-c', setup]);
    if (r.status !== 0) return { ...base, verdict: 'fail', category: 'harness-setup', got: 'not run', reason: `setup ${setup}: ${r.stderr.trim()}` };
  }
  const resultFile = join(WORK, 'result.json');
  rmSync(resultFile, { force: true });
  trace.clear();
  const sysgArgs = [SYSG, 'run', '--unit-path', UNIT_DIR, '--result-file', resultFile, ...(nounshareBestEffort ? ['--best-effort-sandbox'] : []), row.unit];
  const child = spawn(process.execPath, nounshare ? [NOUNSHARE_WRAPPER, ...sysgArgs] : sysgArgs, {
    cwd: '/', env: managerEnv(row), stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout = (stdout + b.toString()).slice(-4096);
  });
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 16384) stderr += b.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch { /* gone */ }
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch { /* gone */ }
    }, 3000).unref();
  }, timeoutMs);
  const rc = await new Promise<number>((res) => child.on('close', (code, sig) => res(code ?? 128 + (sig ? 15 : 0))));
  clearTimeout(timer);
  await killStragglers();
  const durationMs = Date.now() - t0;
  const lastLine = (): string => stderr.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
  if (timedOut) return { ...base, verdict: 'fail', category: 'timeout', got: `timeout after ${timeoutMs / 1000}s`, reason: lastLine(), durationMs };
  let entry: { outcome?: Outcome; message?: string } | undefined;
  try {
    entry = (JSON.parse(readFileSync(resultFile, 'utf8')) as { outcome?: Outcome; message?: string }[])[0];
  } catch { /* no result file */ }
  if (!entry?.outcome) {
    const crash = stderr.split('\n').find((l) => /^\w*Error\b|^\s*throw |Error: /.test(l));
    return { ...base, verdict: 'fail', category: rc === 2 ? 'unloadable' : crash ? 'sysg-crashed' : 'no-result-file', got: `sysg exit ${rc}, no result file`, reason: crash?.trim() ?? lastLine(), durationMs };
  }
  const o = entry.outcome;
  if (o.result === 'refused') {
    const msg = entry.message ?? lastLine();
    return { ...base, verdict: 'fail', category: refusedCategory(msg), got: 'refused', reason: msg.split('\n')[0], durationMs };
  }
  const isResult = row.expected.startsWith('result:');
  const got = isResult ? `result:${o.result}` : o.status;
  const refusal = /^exit:22[56]$/.test(got);
  if (nounshare && !nounshareBestEffort && refusal && !/^exit:22[56]$/.test(row.expected)) {
    // Fail closed where systemd degraded: nothing ran, so there is nothing to prove.
    return { ...base, verdict: 'pass', category: 'stricter', got, durationMs };
  }
  if (got !== row.expected) {
    const failing = [...o.commands].reverse().find((c) => c.error || c.status !== 'exit:0');
    const said = stderr.split('\n').filter((l) => l.startsWith('sysg:')).slice(-1)[0] ?? lastLine();
    const out = stdout.trim().split('\n').slice(-3).join(' | ');
    const why = failing
      ? `${failing.kind} ${failing.argv.join(' ')}: ${failing.error ?? failing.status}${out ? `; output: ${out}` : ''}`
      : said;
    return { ...base, verdict: 'fail', category: o.status.startsWith('exit:2') && Number(o.status.slice(5)) >= 200 ? `setup-failed:${o.status}` : 'wrong-status', got: `${got} (result ${o.result})`, reason: why, durationMs };
  }
  const notProven = provenOrWhy(row.unit, o, trace.read());
  if (notProven) return { ...base, verdict: 'fail', category: 'not-proven', got, reason: `not proven: ${notProven}`, durationMs };
  return { ...base, verdict: 'pass', got, durationMs };
}

/** We are a child subreaper: whatever a run orphaned is reparented to us; kill it so nothing outlives its row. */
async function killStragglers(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const orphans: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) === process.pid && fields[0] !== 'Z') orphans.push(Number(e));
      } catch { /* gone */ }
    }
    // Our own helpers (spawnSync children) are never alive here; anything left is a straggler.
    if (orphans.length === 0) return;
    for (const p of orphans) {
      try {
        process.kill(p, 'SIGKILL');
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function becomeSubreaper(): Promise<void> {
  try {
    const { prctl } = await import('../../src/sys/libc.js');
    const { PR_SET_CHILD_SUBREAPER } = await import('../../src/sys/constants.js');
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  } catch (e) {
    process.stderr.write(`conformance: not a subreaper (${(e as Error).message}); stray processes may survive a row\n`);
  }
}

/* ------------------------------------------------------------------ inner / outer */

interface Options { filter?: RegExp; timeoutS: number }

/**
 * What a not-container row really needs, checked instead of skipping every such
 * row in a container: a negative OOM score adjustment needs CAP_SYS_RESOURCE,
 * which container root usually lacks (the kernel refuses it; so would systemd).
 */
function privilegeMissing(unit: string): string | undefined {
  const eff = BigInt(`0x${statusField('CapEff') || '0'}`);
  if (unit === 'exec-oomscoreadjust-negative.service' && ((eff >> 24n) & 1n) === 0n) return 'root here lacks CAP_SYS_RESOURCE (a negative OOMScoreAdjust= needs it)';
  return undefined;
}

async function inner(opts: Options, container: boolean): Promise<Report> {
  await becomeSubreaper();
  const trace = setupNamespace();
  await loadConverter();
  const rows: RowResult[] = [];
  try {
    for (const row of readTable()) {
      if (opts.filter && !opts.filter.test(row.row)) continue;
      if (row.expected === 'skip') {
        rows.push({ row: row.row, unit: row.unit, expected: row.expected, verdict: 'skip', category: 'expectation is skip' });
        continue;
      }
      const why = row.pre.map((p) => preconditionFails(p, container)).find((w) => w !== undefined) ?? privilegeMissing(row.unit);
      if (why) {
        rows.push({ row: row.row, unit: row.unit, expected: row.expected, verdict: 'skip', category: why });
        continue;
      }
      const r = await runRow(row, trace, opts.timeoutS * 1000);
      rows.push(r);
      if (process.env['SYSG_CONFORMANCE_VERBOSE']) process.stderr.write(`${r.verdict} ${r.row} ${r.got ?? ''} ${r.reason ?? ''}\n`);
    }
  } finally {
    trace.close();
  }
  return summarize(rows, !!opts.filter, container);
}

function summarize(rows: RowResult[], filtered: boolean, containerized: boolean): Report {
  const applicable = rows.filter((r) => r.verdict !== 'skip').length;
  return { total: rows.length, applicable, passed: rows.filter((r) => r.verdict === 'pass').length, filtered, containerized, rows };
}

function baselineFile(): string {
  if (!nounshare) return BASELINE_FILE;
  return nounshareBestEffort ? NOUNSHARE_BEST_EFFORT_BASELINE_FILE : NOUNSHARE_BASELINE_FILE;
}

export function readBaseline(): Baseline | undefined {
  try {
    return JSON.parse(readFileSync(baselineFile(), 'utf8')) as Baseline;
  } catch {
    return undefined;
  }
}


/** Run the whole harness (as root): re-exec under unshare, collect the inner report from fd 3. */
export async function runConformance(opts: Options): Promise<Report> {
  if (process.geteuid?.() !== 0) throw new Error('the conformance harness needs root (it builds private mount and network namespaces)');
  const unshare = findBinary('unshare');
  if (!unshare) throw new Error('the conformance harness needs unshare(1) (util-linux)');
  const args = [SELF, '--inner', '--timeout', String(opts.timeoutS), ...(opts.filter ? ['--filter', opts.filter.source] : [])];
  const child = spawn(unshare, ['--mount', '--net', '--propagation', 'private', process.execPath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: { ...cleanEnv(), SYSG_CONFORMANCE_CONTAINER: inContainer() ? '1' : '0', SYSG_CONFORMANCE_CONTAINER_SKIPS: containerSkips ? '1' : '0', SYSG_CONFORMANCE_NOUNSHARE: nounshare ? '1' : '0', SYSG_CONFORMANCE_NOUNSHARE_BEST_EFFORT: nounshareBestEffort ? '1' : '0' },
  });
  let out = '';
  const fd3 = child.stdio[3] as NodeJS.ReadableStream;
  fd3.on('data', (b: Buffer) => void (out += b.toString()));
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 1)));
  try {
    return JSON.parse(out) as Report;
  } catch {
    cleanupTraceInstance(child.pid);
    throw new Error(`conformance harness (inner) exited ${code} without a report`);
  }
}

/** If the inner process died before removing its trace instance, remove it from a throwaway mount namespace. */
function cleanupTraceInstance(pid: number | undefined): void {
  if (!pid) return;
  run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `d=$(mktemp -d) && mount -t tracefs nodev "$d" && { rmdir "$d/instances/sysg-conformance-${pid}" 2>/dev/null; umount "$d"; rmdir "$d"; }`]);
}

export function formatReport(report: Report, baseline: Baseline | undefined): string {
  const lines: string[] = [];
  for (const r of report.rows) if (r.verdict === 'fail') lines.push(`${r.row}: expected ${r.expected}, got ${r.got ?? '?'} (reason: ${r.reason ?? r.category ?? ''})`);
  const breakdown = new Map<string, number>();
  for (const r of report.rows) {
    if (r.verdict !== 'fail') continue;
    const cat = r.category ?? 'other';
    breakdown.set(cat, (breakdown.get(cat) ?? 0) + 1);
  }
  if (breakdown.size) {
    lines.push('failures by reason:');
    for (const [k, v] of [...breakdown].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) lines.push(`  ${v}\t${k}`);
  }
  const stricter = report.rows.filter((r) => r.verdict === 'pass' && r.category === 'stricter');
  if (stricter.length) lines.push(`refused where systemd runs without the namespace (fail closed; --best-effort-sandbox degrades like systemd) (${stricter.length}): ${stricter.map((r) => `${r.row} [systemd: ${r.expected}]`).join(', ')}`);
  const skips = report.rows.filter((r) => r.verdict === 'skip');
  if (skips.length) lines.push(`not applicable here (${skips.length}): ${skips.map((r) => `${r.row} [${r.category}]`).join(', ')}`);
  lines.push(`conformance: ${report.passed}/${report.applicable} applicable passed (baseline ${baseline?.count ?? 'none'})${report.filtered ? ' [filtered]' : ''}`);
  return lines.join('\n');
}

export function regressions(report: Report, baseline: Baseline | undefined): string[] {
  if (!baseline) return [];
  const now = new Map(report.rows.map((r) => [r.row, r]));
  return baseline.passing.filter((row) => {
    const r = now.get(row);
    return r !== undefined && r.verdict === 'fail';
  });
}

function parseArgs(argv: string[]): { opts: Options; json?: string; record: boolean; inner: boolean } {
  let filter: RegExp | undefined;
  let json: string | undefined;
  let record = false;
  let isInner = false;
  let timeoutS = DEFAULT_TIMEOUT_S;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--filter') filter = new RegExp(argv[++i] ?? '');
    else if (a === '--json') json = argv[++i];
    else if (a === '--record') record = true;
    else if (a === '--container-skips') containerSkips = true;
    else if (a === '--nounshare') nounshare = true;
    else if (a === '--nounshare-best-effort') nounshare = nounshareBestEffort = true;
    else if (a === '--inner') isInner = true;
    else if (a === '--timeout') timeoutS = Number(argv[++i]);
    else throw new Error(`unknown argument ${a} (usage: harness.js [--filter REGEX] [--json out.json] [--record] [--timeout SEC] [--container-skips] [--nounshare | --nounshare-best-effort])`);
  }
  return { opts: filter ? { filter, timeoutS } : { timeoutS }, ...(json ? { json } : {}), record, inner: isInner };
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.inner) {
    const report = await inner(a.opts, process.env['SYSG_CONFORMANCE_CONTAINER'] === '1');
    const s = createWriteStream('', { fd: 3 });
    await new Promise<void>((res) => s.end(JSON.stringify(report), () => res()));
    return 0;
  }
  const report = await runConformance(a.opts);
  const baseline = readBaseline();
  process.stdout.write(`${formatReport(report, baseline)}\n`);
  const regressed = regressions(report, baseline);
  if (regressed.length) process.stdout.write(`passed in the baseline, fail now: ${regressed.join(', ')}\n`);
  if (a.json) writeFileSync(a.json, `${JSON.stringify(report, null, 2)}\n`);
  if (a.record) {
    if (report.filtered) throw new Error('--record needs the full table (no --filter)');
    const b: Baseline = {
      count: report.passed,
      applicable: report.applicable,
      recorded: new Date().toISOString(),
      passing: report.rows.filter((r) => r.verdict === 'pass').map((r) => r.row),
    };
    writeFileSync(baselineFile(), `${JSON.stringify(b, null, 2)}\n`);
    process.stdout.write(`recorded baseline ${b.count} in ${baselineFile()}\n`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main().then((c) => process.exit(c), (e: unknown) => {
    process.stderr.write(`conformance: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  });
}
