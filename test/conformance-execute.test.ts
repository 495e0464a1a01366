/**
 * systemd's test-execute units through `sysg run` (test/conformance/harness.ts):
 * the pass count must not drop below test/conformance/baseline.json.
 * Re-record after mechanisms land: `node dist/test/conformance/harness.js --record`.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { cleanEnv } from './util/clean-env.js';

const ROOT = packageRoot();
const HARNESS = join(ROOT, 'dist', 'test', 'conformance', 'harness.js');
/**
 * Three runs: root mode (the expectations column), and test-execute.c's
 * no-unshare mode (unshare(2) blocked by seccomp) held to the `nounshare=`
 * notes — by default sysg refuses where systemd would degrade (fail closed,
 * counted as "stricter"); with --best-effort-sandbox it must match systemd exactly.
 */
const MODES = [
  { name: 'root mode', args: [] as string[], baseline: 'baseline.json' },
  { name: 'no-unshare mode (fail closed)', args: ['--nounshare'], baseline: 'baseline-nounshare.json' },
  { name: 'no-unshare mode with --best-effort-sandbox', args: ['--nounshare-best-effort'], baseline: 'baseline-nounshare-best-effort.json' },
];

interface RowResult { row: string; expected: string; verdict: 'pass' | 'fail' | 'skip'; got?: string; reason?: string; category?: string }
interface Report { applicable: number; passed: number; rows: RowResult[] }
interface Baseline { count: number; passing: string[] }

if (process.geteuid?.() !== 0) {
  t.plan(0, 'skip: the conformance harness needs root (private mount and network namespaces, tracefs); CI runs it as root');
} else if (!existsSync(HARNESS)) {
  t.fail(`conformance harness not built: ${HARNESS} (the test command runs tsc first)`);
} else {
  // 3 × ~165 `sysg run`s: a few minutes each on an idle machine, more on a loaded one.
  t.setTimeout(45 * 60 * 1000);
  for (const mode of MODES) t.test(`systemd test-execute conformance, ${mode.name}`, async (t) => {
    const BASELINE = join(ROOT, 'test', 'conformance', mode.baseline);
    const dir = mkdtempSync(join(tmpdir(), 'sysg-conformance-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'report.json');
    // The harness kills any unit that runs longer than its own timeout; the tap timeout is the outer guard.
    // A clean environment: tap's loader hooks (NODE_OPTIONS, TAP*) would follow every
    // `sysg run` into the read-only namespace and slow each one down.
    const r = spawnSync(process.execPath, [HARNESS, ...mode.args, '--json', out], { encoding: 'utf8', cwd: ROOT, env: cleanEnv(), maxBuffer: 64 << 20 });
    t.comment(r.stdout.trim());
    if (r.stderr.trim()) t.comment(r.stderr.trim());
    t.equal(r.status, 0, 'harness ran');
    if (!existsSync(out)) return;
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const baseline = JSON.parse(readFileSync(BASELINE, 'utf8')) as Baseline;
    for (const row of report.rows) {
      if (row.verdict === 'fail') t.comment(`${row.row}: expected ${row.expected}, got ${row.got ?? '?'} (reason: ${row.reason ?? row.category ?? ''})`);
    }
    const now = new Map(report.rows.map((row) => [row.row, row]));
    const regressed = baseline.passing.filter((row) => now.get(row)?.verdict === 'fail');
    t.comment(`conformance: ${report.passed}/${report.applicable} applicable passed (baseline ${baseline.count})`);
    t.ok(report.passed >= baseline.count,
      `pass count ${report.passed} >= baseline ${baseline.count}${regressed.length ? `; passed in the baseline, fail now: ${regressed.join(', ')}` : ''}`);
    t.same(regressed, [], 'no row that passed in the baseline fails now');
  });
}
