/**
 * All 163 units of systemd's test-execute suite convert, every assignment in
 * them is accounted for (translated or reported), and each converted manifest
 * passes `validate`.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { convertUnits } from '../src/convert/convert.js';
import { emitYaml } from '../src/convert/emit.js';
import { loadManifestText } from '../src/model/manifest.js';
import { loadUnit } from '../src/unit/load.js';
import { UnitSearchPath } from '../src/unit/search-path.js';
import { packageRoot } from '../src/package-root.js';

const DIR = join(packageRoot(), '..', 'shared', 'conformance', 'systemd-test-execute');
const units = readdirSync(DIR).filter((f) => f.endsWith('.service')).sort();

t.equal(units.length, 163, 'the conformance set has 163 unit files');

t.test('every test-execute unit converts, accounts for every assignment, and validates', async (t) => {
  const searchPath = new UnitSearchPath({ unitPath: [DIR] });
  let assignments = 0;
  let untranslated = 0;
  for (const name of units) {
    // Templates are converted as the instance test-execute starts.
    const arg = name === 'exec-specifier@.service' ? 'exec-specifier@foo-bar.service' : join(DIR, name);
    const res = convertUnits([arg], searchPath);
    t.equal(res.failed, false, `${name}: loads`);
    t.ok(res.manifest, `${name}: manifest produced`);
    if (!res.manifest) continue;
    const unit = loadUnit(arg, searchPath);
    assignments += unit.assignments.length;
    untranslated += res.untranslated;
    const reported = res.diagnostics.filter((d) => d.severity === 'warning' && d.directive !== undefined).length;
    const services = res.manifest.services as Record<string, Record<string, unknown>>;
    const svc = Object.values(services)[0]!;
    const xs = (svc.x_unsupported as unknown[] | undefined) ?? [];
    t.ok(xs.length <= reported, `${name}: every x_unsupported entry was also reported on stderr`);
    const yaml = emitYaml(res.manifest, res.provenance, { header: [] });
    const loaded = loadManifestText(`${name}.yaml`, yaml);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    t.same(errors, [], `${name}: converted manifest validates`);
  }
  t.ok(assignments > 600, `${assignments} assignments read`);
  t.comment(`${assignments} assignments, ${untranslated} not translated (reported)`);
});
