/**
 * Launch latency: spawn→exit of /bin/true through the zygote versus
 * child_process.spawn, 50 runs each after 3 warm-ups, one at a time.
 * For `npm run bench`; never asserted in tests.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Launcher } from './launcher.js';

export interface BenchRow {
  readonly metric: string;
  readonly value: string;
  readonly goal: string;
  readonly verdict: string;
}

const WARMUP = 3;
const RUNS = 50;
const TRUE = { path: '/bin/true', argv: ['true'], env: [] } as const;

function quantile(sorted: readonly number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

async function sample(once: () => Promise<void>): Promise<{ median: number; p90: number }> {
  for (let i = 0; i < WARMUP; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: quantile(ms, 0.5), p90: quantile(ms, 0.9) };
}

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const cp = spawn('/bin/true', [], { stdio: 'ignore' });
    cp.once('error', reject);
    cp.once('exit', () => resolve());
  });
}

const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
const row = (metric: string, ms: number, goalMs?: number): BenchRow => ({
  metric,
  value: fmt(ms),
  goal: goalMs === undefined ? '' : `<= ${goalMs} ms`,
  verdict: goalMs === undefined ? '' : ms <= goalMs ? 'met' : 'NOT MET',
});

export async function benchLaunch(): Promise<BenchRow[]> {
  const t0 = performance.now();
  const launcher = await Launcher.start();
  const startMs = performance.now() - t0;
  try {
    const zygote = await sample(async () => {
      const exit = await (await launcher.launch(TRUE)).exited;
      if (!('code' in exit) || exit.code !== 0) throw new Error(`bench: /bin/true ended with ${JSON.stringify(exit)}`);
    });
    const threads = readdirSync(`/proc/${launcher.pid}/task`).length;
    const direct = await sample(spawnTrue);
    // Goals: the prototype's numbers for a launch without sandbox steps
    // (fork+execve 2.7 ms, the full sandbox 4.7 ms median / 6.3 ms p90).
    return [
      row('launch: zygote start', startMs),
      { metric: 'launch: zygote threads', value: String(threads), goal: '<= 5', verdict: threads <= 5 ? 'met' : 'NOT MET' },
      row('launch: zygote /bin/true launch→exit median', zygote.median, 5),
      row('launch: zygote /bin/true launch→exit p90', zygote.p90, 8),
      row('launch: child_process.spawn /bin/true median (reference)', direct.median),
      row('launch: child_process.spawn /bin/true p90 (reference)', direct.p90),
    ];
  } finally {
    await launcher.close();
  }
}
