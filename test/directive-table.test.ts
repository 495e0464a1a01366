import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { directiveTable, UNIT_SECTIONS } from '../src/compat/table.js';
import { knownValueTypes, valueType } from '../src/compat/types.js';
import { manifestSchema } from '../src/model/manifest.js';
import { packageRoot } from '../src/package-root.js';

const reference = readFileSync(join(packageRoot(), '..', 'shared', 'reference', 'systemd-directives.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('.'))
  .map((l) => l.trim());

t.test('every directive of [Unit] [Service] [Socket] [Install] [Timer] has exactly one row', async (t) => {
  const table = directiveTable();
  const wanted = reference.filter((l) => (UNIT_SECTIONS as readonly string[]).includes(l.split('.')[0]!));
  t.equal(wanted.length, 695, 'the reference lists 695 directives for these sections');
  const missing = wanted.filter((l) => {
    const [section, name] = l.split('.') as [string, string];
    return table.lookup(section, name) === undefined;
  });
  t.same(missing, [], 'no directive lacks a row');
  const rowKeys = table.rows.flatMap((r) => r.sections.map((s) => `${s}.${r.name}`));
  // Directives of systemd releases newer than the reference (252) that sysg supports.
  const newer = ['Service.PrivatePIDs', 'Socket.PrivatePIDs'];
  const extra = rowKeys.filter((k) => !wanted.includes(k) && !newer.includes(k));
  t.same(extra, [], 'no row for a directive systemd does not have');
  t.equal(rowKeys.length, new Set(rowKeys).size, 'no directive has two rows');
});

t.test('every row names a known value type, a status and, when translated, a schema field', async (t) => {
  const table = directiveTable();
  const types = new Set(knownValueTypes());
  const schema = manifestSchema() as { $defs: { service: { properties: Record<string, { properties?: Record<string, unknown> }> } } };
  const service = schema.$defs.service;
  for (const row of table.rows) {
    if (row.status === 'unsupported' || row.status === 'ignored') {
      t.ok(row.reason.length > 0, `${row.name}: reason given`);
      continue;
    }
    t.ok(types.has(row.type.replace(/%$/, '')), `${row.name}: type ${row.type} is implemented`);
    t.doesNotThrow(() => valueType(row.type));
    for (const dest of row.yaml) {
      let node: { properties?: Record<string, unknown> } | undefined = service;
      for (const part of dest.split('.')) node = node?.properties?.[part] as typeof node;
      t.ok(node, `${row.name}: ${dest} is in the schema`);
    }
  }
});

t.test('every row has a one-line doc', async (t) => {
  const undocumented = directiveTable().rows.filter((r) => r.doc.trim() === '').map((r) => r.name);
  t.same(undocumented, []);
});

t.test('exposure weights come from systemd-analyze security', async (t) => {
  const table = directiveTable();
  t.equal(table.lookup('Service', 'PrivateNetwork')?.exposure, 2500);
  t.equal(table.lookup('Service', 'ProtectSystem')?.exposure, 1000);
  t.equal(table.lookup('Service', 'Description'), undefined);
  t.equal(table.lookup('Unit', 'Description')?.exposure, 0);
});
