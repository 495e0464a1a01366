/**
 * The directive table and the code agree: a directive whose model field some
 * mechanism enforces is marked `enforced` with exactly those mechanisms, and
 * a directive marked `enforced` really is covered by the plan builder's
 * fail-closed check (so nothing is advertised that the launcher skips).
 */
import t from 'tap';
import { directiveTable } from '../src/compat/table.js';
import { EXEC_ROOTS, enforcingMechanisms } from '../src/plan/build.js';
import { PROCESS_FIELDS } from '../src/plan/process.js';

const covers = (prefix: string, field: string): boolean => field === prefix || field.startsWith(`${prefix}.`);

t.test('enforced ⇔ covered by a mechanism, for every execution-environment directive', async (t) => {
  let checked = 0;
  for (const row of directiveTable().rows) {
    if (row.status !== 'translated' && row.status !== 'enforced') continue;
    const dests = row.yaml.filter((d) => !/^(socket|timer)\./.test(d) && EXEC_ROOTS.some((r) => covers(r, d)));
    if (dests.length === 0) continue;
    const mechanisms = [...new Set(dests.flatMap((d) => enforcingMechanisms(d, PROCESS_FIELDS)))].sort();
    const enforced = dests.every((d) => enforcingMechanisms(d, PROCESS_FIELDS).length > 0);
    checked++;
    if (row.status === 'enforced') {
      t.ok(enforced, `${row.name}= is marked enforced, so every destination (${dests.join(', ')}) must be enforced`);
      t.equal(row.mechanism, mechanisms.join('+'), `${row.name}=: the mechanism column names what enforces it`);
    } else {
      t.notOk(enforced, `${row.name}= is enforced by ${mechanisms.join('+')}: mark it enforced in compat/directives.tsv`);
    }
  }
  t.ok(checked > 100, `${checked} execution-environment directives checked`);
});
