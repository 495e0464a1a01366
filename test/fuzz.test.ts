/**
 * Property test: thousands of seeded random mutations of real unit files.
 * Converting them never throws, every diagnostic about a unit names a line,
 * and whatever convert prints is a manifest that validates.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertUnits } from '../src/convert/convert.js';
import { emitYaml } from '../src/convert/emit.js';
import { loadManifestText } from '../src/model/manifest.js';
import { UnitSearchPath } from '../src/unit/search-path.js';
import { packageRoot } from '../src/package-root.js';

const CONFORMANCE = join(packageRoot(), '..', 'shared', 'conformance', 'systemd-test-execute');
const MUTATIONS = Number(process.env.SYSG_FUZZ_MUTATIONS ?? 3000);

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = ['[', ']', '=', '\\', '%', '%i', '%Z', ';', '#', '"', "'", '\n', '~', '@', '-', '+', '!', ':', '$', '${', ' ', '\t', '\\x4', '\\u12', '\u00e9', '\uFFFD', 'infinity', '0', '-1', '99999999999999999999', '@system-service', 'CAP_', '~CAP_CHOWN', 'yes', 'strict'];
const DIRECTIVES = ['ExecStart', 'Environment', 'CapabilityBoundingSet', 'SystemCallFilter', 'TimeoutSec', 'LimitNOFILE', 'MemoryMax', 'ProtectSystem', 'BindPaths', 'User', 'RestrictAddressFamilies', 'RestrictNamespaces', 'ListenStream', 'ConditionPathExists', 'CPUAffinity', 'EnvironmentFile', 'SetCredential', 'StandardOutput', 'Nice', 'UMask', 'X-Vendor', 'Bogus'];

function mutate(text: string, r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lines = text.split('\n');
  const n = 1 + Math.floor(r() * 4);
  let out = text;
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 7)) {
      case 0:
        out = out.slice(0, pos) + out.slice(pos + 1 + Math.floor(r() * 5));
        break;
      case 1:
        out = out.slice(0, pos) + pick(TOKENS) + out.slice(pos);
        break;
      case 2: {
        const l = pick(lines);
        out = out.slice(0, pos) + `\n${l}\n` + out.slice(pos);
        break;
      }
      case 3:
        out = out.slice(0, pos);
        break;
      case 4:
        out += `\n${pick(DIRECTIVES)}=${pick(TOKENS)}${pick(TOKENS)}${pick(TOKENS)}\n`;
        break;
      case 5:
        out = out.replace(/=.*$/m, `=${pick(TOKENS)}${pick(TOKENS)}`);
        break;
      default:
        out = out.slice(0, pos) + String.fromCharCode(Math.floor(r() * 0x3000)) + out.slice(pos);
    }
  }
  return out;
}

t.test(`${MUTATIONS} mutations of real units never throw and every problem names a line`, async (t) => {
  const sources = readdirSync(CONFORMANCE).filter((f) => f.endsWith('.service')).map((f) => ({ name: f, text: readFileSync(join(CONFORMANCE, f), 'utf8') }));
  sources.push({ name: 'demo.service', text: readFileSync(join(packageRoot(), 'units', 'demo.service'), 'utf8') });
  const dir = mkdtempSync(join(tmpdir(), 'sysg-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const searchPath = new UnitSearchPath({ unitPath: [dir] });
  const r = rng(0x5eed);
  let failures = 0;
  let unlocated = 0;
  let invalid = 0;
  for (let i = 0; i < MUTATIONS && failures < 5; i++) {
    const src = sources[Math.floor(r() * sources.length)]!;
    const text = mutate(src.text, r);
    const file = join(dir, src.name);
    writeFileSync(file, text);
    try {
      searchPath.refresh();
      const res = convertUnits([file], searchPath);
      for (const d of res.diagnostics) {
        if (d.loc === undefined || !(d.loc.line >= 1)) {
          unlocated++;
          if (unlocated <= 3) t.fail(`mutation ${i} of ${src.name}: diagnostic without a line: ${d.message}`);
        }
      }
      if (res.manifest) {
        const yaml = emitYaml(res.manifest, res.provenance, { header: [] });
        const loaded = loadManifestText('fuzz.yaml', yaml);
        const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length > 0) {
          invalid++;
          if (invalid <= 3) t.fail(`mutation ${i} of ${src.name}: converted manifest does not validate: ${errors.map((e) => `${e.directive}: ${e.message}`).join('; ')}\n--- unit ---\n${text}`);
        }
      }
    } catch (e) {
      failures++;
      t.fail(`mutation ${i} of ${src.name} threw: ${(e as Error).stack}\n--- unit ---\n${text}`);
    }
  }
  t.equal(failures, 0, 'no exception');
  t.equal(unlocated, 0, 'every diagnostic names a file:line');
  t.equal(invalid, 0, 'every converted manifest validates');
});
