/**
 * Escape probes end to end through `sysg run` (issue 3: "a probe tries to break
 * it from inside: 0 escapes, and the same probe succeeds without the directive,
 * so each test can fail").
 *
 * Only the protections that no other test probes with and without the
 * directive are here; the rest are covered at the mechanism level:
 *  - mechanisms-mounts: ProtectSystem, ProtectHome, PrivateTmp, PrivateDevices (mounts),
 *    ProtectKernelTunables/Modules/Logs (mounts), ProtectControlGroups, ReadOnlyPaths,
 *    InaccessiblePaths, NoExecPaths, TemporaryFileSystem, ProtectProc, ProcSubset,
 *    PrivateMounts (mount escape)
 *  - mechanisms-seccomp-launch: SystemCallFilter, SystemCallArchitectures (x32),
 *    RestrictAddressFamilies, MemoryDenyWriteExecute, RestrictSUIDSGID, RestrictNamespaces,
 *    LockPersonality, ProtectClock, ProtectHostname (sethostname), RestrictRealtime,
 *    ProtectKernelModules/Logs and PrivateDevices (syscall parts)
 *  - mechanisms-credentials: User, Group, SupplementaryGroups, CapabilityBoundingSet,
 *    AmbientCapabilities, NoNewPrivileges, SecureBits
 *  - mechanisms-namespaces: PrivateNetwork, PrivateIPC, ProtectHostname (uts), PrivateUsers
 *  - mechanisms-resources: KeyringMode; mechanisms-cgroups: MemoryMax, TasksMax
 *
 * Each row runs one probe (test/probes/escape-probe.py) twice: with the
 * directive it must not escape (prints BLOCKED or is killed, never ESCAPED);
 * without it the same probe must print ESCAPED and exit 0. Nothing here changes
 * host state: files go to a scratch dir, forks exit at once, memory is the probe's,
 * and the DynamicUser= allocations the units make are released. All legs run in
 * one `sysg run` (it starts the units side by side), which keeps this file fast.
 *
 * Not probed here: LimitCORE= (a core dump would go through the host's
 * core_pattern), LimitRSS= and LimitLOCKS= (the kernel does not enforce them),
 * LimitNICE=/LimitRTPRIO= (they grant rather than protect; the RTPRIO zeroing of
 * RestrictRealtime= is in mechanisms-seccomp-launch), LimitRTTIME= (needs a
 * realtime policy), LimitSTACK= and LimitMSGQUEUE= (not yet written).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/package-root.js';
import { cleanEnv } from './util/clean-env.js';
import { releaseDynamicUser } from '../src/mechanisms/users.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const PYTHON = '/usr/bin/python3';
const PROBE = fileURLToPath(new URL('./probes/escape-probe.py', import.meta.url));
const isRoot = process.getuid?.() === 0;

const dir = mkdtempSync(join(tmpdir(), 'sysg-escape-'));
chmodSync(dir, 0o755);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
// Outside /tmp and /var/tmp: DynamicUser= implies PrivateTmp=, which would hide it for the wrong reason.
const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/sysg-escape-') : mkdtempSync(join(ROOT, '.sysg-escape-'));
chmodSync(shm, 0o755);
t.teardown(() => rmSync(shm, { recursive: true, force: true }));
const secret = join(shm, 'secret');
writeFileSync(secret, 'root only\n', { mode: 0o600 });

interface Row {
  name: string;
  /** Directive lines added to [Service] in the "with" leg only. */
  directives: string[];
  /** Lines present in both legs (e.g. User=nobody for limits root bypasses). */
  common?: string[];
  /** Probe arguments for escape-probe.py. */
  probe: string[];
  needsRoot?: boolean;
  /** What the with leg must report: the refusal is the directive's, not an unrelated failure. */
  reason: RegExp;
}

const rows: Row[] = [
  { name: 'LimitNOFILE=16: opening 32 files', directives: ['LimitNOFILE=16'], probe: ['nofile', '32'], reason: /BLOCKED open #\d+: Too many open files/ },
  { name: 'LimitFSIZE=4K: writing 64 KiB', directives: ['LimitFSIZE=4K'], probe: ['fsize', join(dir, 'fsize.out'), String(64 * 1024)], reason: /BLOCKED File too large/ },
  // A DynamicUser= uid of its own per unit: no other process counts against RLIMIT_NPROC, so the second fork is the one refused.
  { name: 'LimitNPROC=2 as a dynamic user: 4 forks', directives: ['LimitNPROC=2'], common: ['DynamicUser=yes'], probe: ['nproc', '4'], needsRoot: true, reason: /BLOCKED fork #1: Resource temporarily unavailable/ },
  { name: 'LimitAS=256M: allocating 512 MiB', directives: ['LimitAS=256M'], probe: ['alloc', '512'], reason: /BLOCKED MemoryError/ },
  { name: 'LimitDATA=256M: allocating 512 MiB', directives: ['LimitDATA=256M'], probe: ['alloc', '512'], reason: /BLOCKED MemoryError/ },
  { name: 'LimitCPU=1:3: spinning 2 s of CPU', directives: ['LimitCPU=1:3'], probe: ['cpu', '2'], reason: /BLOCKED SIGXCPU/ },
  { name: 'LimitMEMLOCK=0 as nobody: mlock 64 KiB', directives: ['LimitMEMLOCK=0'], common: ['User=nobody'], probe: ['memlock', '64'], needsRoot: true, reason: /BLOCKED Operation not permitted/ },
  { name: 'LimitSIGPENDING=4: queueing 16 signals', directives: ['LimitSIGPENDING=4'], probe: ['sigpending', '16'], reason: /BLOCKED sigqueue #\d+: Resource temporarily unavailable/ },
  { name: 'DynamicUser=yes: reading a root-only file', directives: ['DynamicUser=yes'], probe: ['read', secret], needsRoot: true, reason: /BLOCKED Permission denied/ },
  { name: 'PrivatePIDs=yes: signalling a host process', directives: ['PrivatePIDs=yes'], probe: ['pid-visible', String(process.pid)], needsRoot: true, reason: /BLOCKED no such process/ },
];

// Without tap's process-info hooks the CLI starts in about a second instead of several.
const childEnv = cleanEnv();

interface Leg {
  exitStatus: number | undefined;
  result: string | undefined;
  out: string;
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  legs: Map<string, Leg>;
}

/** One `sysg run` with every unit: it starts them side by side, which keeps this file fast on a loaded machine. */
function runAll(units: Map<string, string>): Promise<RunResult> {
  const files = [...units].map(([name, text]) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  });
  const resultFile = join(dir, 'results.json');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', '--result-file', resultFile, ...files], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 80_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => {
      const results = existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as { unit: string; outcome?: { result?: string; exitStatus?: number } }[]) : [];
      const legs = new Map<string, Leg>();
      for (const name of units.keys()) {
        const r = results.find((x) => x.unit === name);
        const prefix = `${name}: `;
        const out = stdout
          .split('\n')
          .filter((l) => l.startsWith(prefix))
          .map((l) => l.slice(prefix.length))
          .join('\n');
        legs.set(name, { exitStatus: r?.outcome?.exitStatus, result: r?.outcome?.result, out });
      }
      resolve({ status, stdout, stderr, legs });
    });
  });
}

const unitText = (lines: string[], probe: string[]): string => `[Service]\nType=oneshot\n${lines.join('\n')}\nExecStart=${[PYTHON, PROBE, ...probe].join(' ')}\n`;

t.test('escape probes: blocked with the directive, escaping without it', async (t) => {
  const active = rows.filter((r) => isRoot || !r.needsRoot);
  const units = new Map<string, string>();
  active.forEach((row, i) => {
    units.set(`escape${i}-with.service`, unitText([...(row.common ?? []), ...row.directives], row.probe));
    units.set(`escape${i}-without.service`, unitText(row.common ?? [], row.probe));
  });
  // DynamicUser= allocations persist (named after the unit, as sysg run as root keeps them): give ours back.
  t.teardown(() => {
    for (const name of units.keys()) releaseDynamicUser(name.replace(/\.service$/, ''), { dynamicUserDir: '/var/lib/sysg/dynamic-users' });
  });
  const all = await runAll(units);
  t.equal(all.legs.size, units.size, `every unit reported\n${all.stderr}`);
  for (const row of rows) {
    const i = active.indexOf(row);
    if (i < 0) {
      t.test(row.name, { skip: 'needs root' }, async () => undefined);
      continue;
    }
    const w = all.legs.get(`escape${i}-with.service`)!;
    const wo = all.legs.get(`escape${i}-without.service`)!;
    const detail = (l: Leg): string => `exit=${l.exitStatus} result=${l.result}: ${l.out}`;
    t.test(row.name, async (t) => {
      t.notMatch(w.out, /ESCAPED/, `with ${row.directives.join(' ')}: no escape — ${detail(w)}`);
      t.match(w.out, row.reason, `with: refused for the directive's reason — ${detail(w)}`);
      t.not(w.exitStatus, 0, `with: the service failed — ${detail(w)}`);
      t.match(wo.out, /ESCAPED/, `without: the same probe escapes — ${detail(wo)}`);
      t.equal(wo.exitStatus, 0, `without: exit 0 — ${detail(wo)}`);
      t.equal(wo.result, 'success', 'without: success');
    });
  }
});
