/**
 * `npm run bench`: prints a table of figures. Speed goals are measured here,
 * never asserted in tests.
 *
 * Rows so far:
 * - convert: every real unit file at hand (systemd's test-execute units from
 *   ../shared and this machine's /usr/lib/systemd/system) converted in one
 *   process, parse + translate + YAML emission; goal: >= 250 units in <= 1 s.
 * - launch: /bin/true launch->exit through the zygote vs child_process.spawn.
 * - hardened: /bin/true with issue 3's bench set through sysg's launcher (plan
 *   from the plan layer) vs bubblewrap doing the same, vs spawn for scale
 *   (launch-hardened.ts); goal <= 1.0x bwrap.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { convertUnits } from '../../src/convert/convert.js';
import { emitYaml } from '../../src/convert/emit.js';
import { UnitSearchPath } from '../../src/unit/search-path.js';
import { packageRoot } from '../../src/package-root.js';
import { benchLaunch } from '../../src/launch/bench.js';
import { benchHardenedLaunch, HARDENED_BENCH_NOTES } from './launch-hardened.js';

interface Row {
  readonly metric: string;
  readonly value: string;
  readonly goal: string;
  readonly verdict: string;
}

function unitFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(service|socket|timer)$/.test(f) && !f.endsWith('@.socket'))
    .map((f) => join(dir, f));
}

function benchConvert(): Row[] {
  const dirs = [resolve(packageRoot(), '..', 'shared', 'conformance', 'systemd-test-execute'), '/usr/lib/systemd/system'];
  const files = dirs.flatMap(unitFiles);
  const searchPath = new UnitSearchPath({ unitPath: [] });
  // Warm-up: the directive table and schema load once per process.
  convertUnits([files[0]!], searchPath);
  let converted = 0;
  const t0 = performance.now();
  for (const f of files) {
    const r = convertUnits([f], searchPath);
    if (r.manifest) {
      emitYaml(r.manifest, r.provenance, { header: [] });
      converted++;
    }
  }
  const ms = performance.now() - t0;
  const perSec = (converted / ms) * 1000;
  return [
    { metric: 'convert: unit files converted', value: `${converted} of ${files.length}`, goal: '>= 250', verdict: converted >= 250 ? 'met' : 'NOT MET' },
    { metric: 'convert: total time', value: `${ms.toFixed(0)} ms`, goal: '<= 1000 ms', verdict: ms <= 1000 && converted >= 250 ? 'met' : 'NOT MET' },
    { metric: 'convert: throughput', value: `${perSec.toFixed(0)} units/s`, goal: '', verdict: '' },
  ];
}

function printTable(rows: readonly Row[]): void {
  const head = ['metric', 'value', 'goal', 'verdict'];
  const cells = rows.map((r) => [r.metric, r.value, r.goal, r.verdict]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${cells.map(line).join('\n')}\n`);
}

printTable([...benchConvert(), ...(await benchLaunch()), ...(await benchHardenedLaunch())]);
process.stdout.write(`\nhardened vs bwrap, remaining differences:\n${HARDENED_BENCH_NOTES.map((n) => `- ${n}`).join('\n')}\n`);
