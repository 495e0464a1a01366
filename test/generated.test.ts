import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { directiveTable } from '../src/compat/table.js';
import { generatedFiles } from '../src/tools/generated.js';
import { packageRoot } from '../src/package-root.js';

t.test('files generated from the directive table are up to date (run `npm run gen`)', async (t) => {
  for (const [rel, content] of generatedFiles(directiveTable())) {
    const committed = readFileSync(join(packageRoot(), rel), 'utf8');
    t.ok(committed === content, `${rel} matches what npm run gen writes`);
  }
});

t.test('the published JSON Schema is a valid draft-07 schema that ajv compiles', async (t) => {
  const { Ajv } = await import('ajv');
  const schema = JSON.parse(readFileSync(join(packageRoot(), 'compat', 'sysg.schema.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(schema);
  t.equal(validate({ version: '3', services: { a: { exec: ['/bin/true'] } } }), true);
  t.equal(validate({ version: '3', services: { a: { exec: ['/bin/true'], sandbox: { protect_sytem: 'strict' } } } }), false);
});
