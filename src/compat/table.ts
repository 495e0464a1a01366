/**
 * Loads compat/directives.tsv: the single table that says, for every systemd
 * directive of [Unit] [Service] [Socket] [Install] [Timer], how its value parses,
 * where it lands in the YAML model, which mechanism enforces it and its status.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export type DirectiveStatus = 'enforced' | 'translated' | 'unsupported' | 'ignored';
export const STATUSES: readonly DirectiveStatus[] = ['enforced', 'translated', 'unsupported', 'ignored'];
export const UNIT_SECTIONS = ['Unit', 'Service', 'Socket', 'Install', 'Timer'] as const;
export type UnitSection = (typeof UNIT_SECTIONS)[number];

export interface DirectiveRow {
  readonly sections: readonly UnitSection[];
  readonly name: string;
  /** Value grammar: a key of VALUE_TYPES in src/compat/types.ts. */
  readonly type: string;
  /** Dotted YAML destinations in a service (several joined by `+`); empty when none. */
  readonly yaml: readonly string[];
  readonly mechanism: string;
  readonly exposure: number;
  readonly status: DirectiveStatus;
  readonly reason: string;
  readonly doc: string;
  /** Line in directives.tsv, for error messages about the table itself. */
  readonly tableLine: number;
}

/** Exec/cgroup/kill-context rows are shared by [Service] and [Socket]; in a socket they land under `socket.`. */
export function destinationsFor(row: DirectiveRow, section: UnitSection): readonly string[] {
  if (section === 'Socket' && row.sections.includes('Service')) return row.yaml.map((p) => `socket.${p}`);
  return row.yaml;
}

export class DirectiveTable {
  readonly rows: readonly DirectiveRow[];
  private readonly bySection = new Map<string, Map<string, DirectiveRow>>();

  constructor(rows: readonly DirectiveRow[]) {
    this.rows = rows;
    for (const row of rows) {
      for (const s of row.sections) {
        let m = this.bySection.get(s);
        if (!m) this.bySection.set(s, (m = new Map()));
        if (m.has(row.name)) throw new Error(`compat/directives.tsv:${row.tableLine}: duplicate row for ${s}.${row.name}`);
        m.set(row.name, row);
      }
    }
  }

  lookup(section: string, name: string): DirectiveRow | undefined {
    return this.bySection.get(section)?.get(name);
  }

  sectionNames(section: UnitSection): string[] {
    return [...(this.bySection.get(section)?.keys() ?? [])];
  }
}

export function tablePath(): string {
  return join(packageRoot(), 'compat', 'directives.tsv');
}

export function parseDirectiveTable(text: string, file = 'compat/directives.tsv'): DirectiveTable {
  const rows: DirectiveRow[] = [];
  const lines = text.split('\n');
  let header = true;
  lines.forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const cols = line.split('\t');
    if (header) {
      header = false;
      return;
    }
    const where = `${file}:${i + 1}`;
    if (cols.length !== 9) throw new Error(`${where}: expected 9 tab-separated columns, found ${cols.length}`);
    const [sections, name, type, yaml, mechanism, exposure, status, reason, doc] = cols as [string, string, string, string, string, string, string, string, string];
    const secs = sections.split(',');
    for (const s of secs) if (!(UNIT_SECTIONS as readonly string[]).includes(s)) throw new Error(`${where}: unknown section '${s}'`);
    if (!(STATUSES as readonly string[]).includes(status)) throw new Error(`${where}: unknown status '${status}'`);
    if ((status === 'translated' || status === 'enforced') && (yaml === '-' || yaml === '')) throw new Error(`${where}: ${name} is ${status} but has no YAML destination`);
    if (status === 'enforced' && mechanism === '') throw new Error(`${where}: ${name} is enforced but names no mechanism`);
    if (status === 'unsupported' && reason === '') throw new Error(`${where}: ${name} is unsupported without a reason`);
    rows.push({
      sections: secs as UnitSection[],
      name,
      type,
      yaml: yaml === '-' || yaml === '' ? [] : yaml.split('+'),
      mechanism,
      exposure: exposure === '' ? 0 : Number(exposure),
      status: status as DirectiveStatus,
      reason,
      doc,
      tableLine: i + 1,
    });
  });
  return new DirectiveTable(rows);
}

let cached: DirectiveTable | undefined;
export function directiveTable(): DirectiveTable {
  cached ??= parseDirectiveTable(readFileSync(tablePath(), 'utf8'));
  return cached;
}
