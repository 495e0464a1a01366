/**
 * Issue 3's launch bench: launch→exit of /bin/true with the bench set
 * (ProtectSystem=strict, PrivateTmp=, PrivateDevices=, ProtectHome=,
 * NoNewPrivileges=, CapabilityBoundingSet=, SystemCallFilter=@system-service,
 * User=nobody) through sysg's launcher, against bubblewrap doing the same
 * work, with plain child_process.spawn for scale.
 *
 * - sysg: the plan comes from the plan layer (hardened.ts: converter →
 *   ServiceView → prepareService → planCommand, as `sysg run`); it is built
 *   once and sent for every launch (the zygote has no compiled-plan cache, so
 *   it compiles the plan on each launch; that cost is inside the figure).
 *   Measured with and without the cgroup attach (`cgroup-join`), since bwrap
 *   attaches none.
 * - bwrap: the same mount list as ours (mounts-table.ts for this set), the
 *   same seccomp program (ours, passed with --add-seccomp-fd), caps dropped,
 *   uid/gid 65534, a new session.
 * - The variants run interleaved (one of each per round, rotating order), so
 *   load from other processes hits all of them alike; the ratio is what to
 *   read on a busy machine.
 * For `npm run bench`; never asserted in tests.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Launcher } from '../../src/launch/launcher.js';
import type { LaunchPlan } from '../../src/launch/plan.js';
import { privateTmpOf } from '../../src/mechanisms/mounts-tmp.js';
import { hardenedService, seccompPrograms, withoutCgroupJoin } from './hardened.js';

export interface BenchRow {
  readonly metric: string;
  readonly value: string;
  readonly goal: string;
  readonly verdict: string;
}

const WARMUP_ROUNDS = 5;
const ROUNDS = 100;

interface Stats {
  readonly median: number;
  readonly p90: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p90: quantile(s, 0.9) };
}

interface Variant {
  readonly name: string;
  readonly once: () => Promise<void>;
  /** Cumulative CPU ms of the processes doing the launch besides this one (the zygote and its reaped children; or our reaped children). */
  readonly helperCpuMs: () => number;
}

interface Measured extends Stats {
  /** CPU per launch (ms), all processes involved: this supervisor, the helpers, the service. Load-independent, unlike wall time. */
  readonly cpuMs: number;
}

/** utime+stime (+ cutime+cstime of reaped children) of a process, in ms (USER_HZ = 100). */
function processCpuMs(pid: number | 'self', withChildren: boolean, self = true): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = (self ? Number(f[11]) + Number(f[12]) : 0) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
  return ticks * 10;
}

/** Round-robin: every round runs each variant once, starting at a rotating offset. */
async function interleaved(variants: readonly Variant[]): Promise<Map<string, Measured>> {
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpu = new Map<string, number>(variants.map((v) => [v.name, 0]));
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const h0 = v.helperCpuMs();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await v.once();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (round < WARMUP_ROUNDS) continue;
      samples.get(v.name)!.push(ms);
      cpu.set(v.name, cpu.get(v.name)! + (c.user + c.system) / 1000 + (v.helperCpuMs() - h0));
    }
  }
  return new Map([...samples].map(([name, ms]) => [name, { ...stats(ms), cpuMs: cpu.get(name)! / ROUNDS }]));
}

function spawnExit(file: string, args: readonly string[], extraFd?: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'ignore' | number> = ['ignore', 'ignore', 'ignore'];
    if (extraFd !== undefined) stdio.push(extraFd);
    const cp = spawn(file, args, { stdio });
    cp.once('error', reject);
    cp.once('exit', (code) => resolve(code));
  });
}

/**
 * bwrap arguments doing what our plan does for the bench set. Our mount list
 * (mounts-table.ts) for it: / read-only (recursive), /proc and /sys kept
 * writable (ProtectSystem=strict's API exceptions), a private /dev,
 * /tmp and /var/tmp bound from the service's systemd-private-* directories,
 * /home, /root, /run/user and /run/credentials inaccessible, nosuid
 * everywhere (bwrap binds are nosuid anyway).
 */
function bwrapArgs(tmp: string, varTmp: string, seccompFd: number): string[] {
  const inaccessible = ['/home', '/root', '/run/user', '/run/credentials'].filter((p) => existsSync(p));
  return [
    // bwrap refuses --uid without a user namespace: as root it maps 65534 inside to 0 outside.
    '--unshare-user',
    '--ro-bind', '/', '/',
    '--bind', '/proc', '/proc',
    '--bind', '/sys', '/sys',
    '--dev', '/dev',
    '--bind', tmp, '/tmp',
    '--bind', varTmp, '/var/tmp',
    ...inaccessible.flatMap((p) => ['--perms', '0000', '--tmpfs', p]),
    '--uid', '65534',
    '--gid', '65534',
    '--cap-drop', 'ALL',
    '--new-session',
    '--die-with-parent',
    '--add-seccomp-fd', String(seccompFd),
    '/bin/true',
  ];
}

const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
const row = (metric: string, value: string, goal = '', verdict = ''): BenchRow => ({ metric, value, goal, verdict });

function launchOnce(launcher: Launcher, plan: LaunchPlan): () => Promise<void> {
  return async () => {
    const exit = await (await launcher.launch(plan)).exited;
    if (!('code' in exit) || exit.code !== 0) throw new Error(`bench: hardened /bin/true ended with ${JSON.stringify(exit)}`);
  };
}

export async function benchHardenedLaunch(): Promise<BenchRow[]> {
  const hasBwrap = ['/usr/bin/bwrap', '/bin/bwrap'].some((p) => existsSync(p));
  const svc = hardenedService(`sysg-bench-hardened-${process.pid}`, ['ExecStart=/bin/true']);
  const scratch = mkdtempSync(join(tmpdir(), 'sysg-bench-'));
  const launcher = await Launcher.start();
  try {
    // planCommand's cost is paid by `sysg run` for every command it starts (supervisor CPU).
    const p0 = performance.now();
    const plan = svc.planOf('start');
    const planMs = performance.now() - p0;
    const planNoCgroup = withoutCgroupJoin(plan);
    const hasCgroupJoin = (plan.steps ?? []).some((s) => s.op === 'cgroup-join');
    const programs = seccompPrograms(plan);
    if (programs.length !== 1) throw new Error(`bench: expected one seccomp program in the plan, got ${programs.length}`);
    const bpfFile = join(scratch, 'system-service.bpf');
    writeFileSync(bpfFile, programs[0]!);
    const tmps = privateTmpOf(svc.unitName);
    if (!tmps) throw new Error('bench: the plan layer made no PrivateTmp= directories');

    // The zygote reaps the services before it reports their exit; libuv reaps ours before 'exit'.
    const zygoteCpu = (): number => processCpuMs(launcher.pid, true);
    const ourChildrenCpu = (): number => processCpuMs('self', true, false);
    const variants: Variant[] = [
      { name: 'sysg', once: launchOnce(launcher, plan), helperCpuMs: zygoteCpu },
      { name: 'sysg-nocg', once: launchOnce(launcher, planNoCgroup), helperCpuMs: zygoteCpu },
      {
        name: 'spawn',
        once: async () => {
          if ((await spawnExit('/bin/true', [])) !== 0) throw new Error('bench: /bin/true failed');
        },
        helperCpuMs: ourChildrenCpu,
      },
    ];
    if (hasBwrap) {
      variants.push({
        name: 'bwrap',
        helperCpuMs: ourChildrenCpu,
        once: async () => {
          // bwrap reads the program to EOF: a fresh open file description per launch (~20 µs).
          const fd = openSync(bpfFile, 'r');
          try {
            const code = await spawnExit('bwrap', bwrapArgs(tmps.tmp, tmps.varTmp, 3), fd);
            if (code !== 0) throw new Error(`bench: bwrap exited ${code}`);
          } finally {
            closeSync(fd);
          }
        },
      });
    }
    const r = await interleaved(variants);
    const ours = r.get('sysg')!;
    const oursNoCg = r.get('sysg-nocg')!;
    const bw = r.get('bwrap');
    const spawned = r.get('spawn')!;
    const rows: BenchRow[] = [
      row('hardened: plan layer, planCommand once (supervisor side)', fmt(planMs)),
      row(`hardened: sysg launch→exit median${hasCgroupJoin ? ' (with cgroup attach)' : ''}`, fmt(ours.median)),
      row(`hardened: sysg launch→exit p90${hasCgroupJoin ? ' (with cgroup attach)' : ''}`, fmt(ours.p90)),
      row('hardened: sysg launch→exit median, no cgroup attach', fmt(oursNoCg.median)),
      row('hardened: sysg launch→exit p90, no cgroup attach', fmt(oursNoCg.p90)),
    ];
    if (bw) {
      const ratio = oursNoCg.median / bw.median;
      const ratioCg = ours.median / bw.median;
      rows.push(
        row('hardened: bwrap equivalent median', fmt(bw.median)),
        row('hardened: bwrap equivalent p90', fmt(bw.p90)),
        row('hardened: ratio sysg/bwrap median (both without cgroup attach)', `${ratio.toFixed(2)}x`, '<= 1.0x', ratio <= 1 ? 'met' : 'NOT MET'),
        row('hardened: ratio sysg/bwrap p90 (both without cgroup attach)', `${(oursNoCg.p90 / bw.p90).toFixed(2)}x`),
        row('hardened: ratio sysg (with cgroup attach)/bwrap median', `${ratioCg.toFixed(2)}x`),
      );
    } else {
      rows.push(row('hardened: bwrap equivalent', 'bwrap not installed (.ci/install-deps.sh installs it)', '<= 1.0x', 'NOT MEASURED'));
    }
    rows.push(
      row('hardened: CPU per launch, sysg with cgroup attach (supervisor + zygote + service)', fmt(ours.cpuMs)),
      row('hardened: CPU per launch, sysg without cgroup attach', fmt(oursNoCg.cpuMs)),
    );
    if (bw) rows.push(row('hardened: CPU per launch, bwrap (supervisor + bwrap + service)', fmt(bw.cpuMs)));
    rows.push(
      row('hardened: child_process.spawn /bin/true median (scale)', fmt(spawned.median)),
      row('hardened: child_process.spawn /bin/true p90 (scale)', fmt(spawned.p90)),
      row('hardened: rounds (interleaved, after warm-up)', `${ROUNDS} x ${variants.length}`),
    );
    return rows;
  } finally {
    await launcher.close();
    svc.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What still differs between the two sides: printed under the table. */
export const HARDENED_BENCH_NOTES: readonly string[] = [
  'bwrap needs a user namespace for --uid (as root it maps uid 65534 inside to 0 outside); sysg switches to the real uid 65534 with setresuid and sets the supplementary groups (65534).',
  'bwrap mounts ProtectHome= paths as empty 0000 tmpfs; sysg binds systemd\'s "inaccessible" directory over them, read-only and noexec.',
  'sysg also sets up what systemd does for every service: a private session keyring (KeyringMode=private), UMask=0022, RLIMIT_NOFILE 1024:hard, IgnoreSIGPIPE=; bwrap sets no keyring and no limits. bwrap runs a monitor process (its parent) and execs the target from a forked child.',
  'sysg installs the seccomp program before the uid switch (with CAP_SYS_ADMIN) as systemd does; bwrap loads the same program last, before execve.',
  'The cgroup attach (writing cgroup.procs) is part of every sysg launch ("every service in its own cgroup"); bwrap does none, hence the two sysg rows. It is a sleep, not CPU: the write takes cgroup_threadgroup_rwsem for writing, whose rcu_sync waits one RCU grace period unless another migration happened within the last one (measured here: +12..14 ms with launches 20 ms apart, +0.1 ms back-to-back). clone3(CLONE_INTO_CGROUP) or a cgroup2 mount with favordynmods avoids it.',
];
