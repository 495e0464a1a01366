/** `npm run gen`: rewrites the files derived from compat/directives.tsv. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { directiveTable } from '../compat/table.js';
import { packageRoot } from '../package-root.js';
import { generatedFiles } from './generated.js';

for (const [rel, content] of generatedFiles(directiveTable())) {
  writeFileSync(join(packageRoot(), rel), content);
  process.stdout.write(`wrote ${rel}\n`);
}
