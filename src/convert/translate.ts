/**
 * Parsed unit → service model, driven by the directive table: each assignment
 * is looked up, specifier-expanded when its parser does that in systemd, parsed
 * by its value type and merged into the state at its YAML destination(s).
 * Nothing is dropped silently: every assignment is either translated or
 * reported (diagnostic + an `x_unsupported` entry naming file:line and why).
 */
import { type Diagnostic, type SourceLoc, ValueError, formatLoc } from '../unit/diagnostics.js';
import { type DirectiveTable, type UnitSection, destinationsFor } from '../compat/table.js';
import { valueType, typeUsesSpecifiers } from '../compat/types.js';
import type { ApplyContext } from '../compat/value-type.js';
import type { LoadedUnit } from '../unit/load.js';
import { ExecLineError } from '../unit/values/exec.js';
import { FatalValueError } from '../unit/values/paths.js';

export interface UnsupportedEntry {
  directive: string;
  value: string;
  source: string;
  reason: string;
}

export interface Translation {
  /** Fields of the service this unit contributes to (dotted destination → YAML value). */
  readonly fields: Map<string, unknown>;
  /** Dotted destination → `Directive= file:line` sources, in order. */
  readonly provenance: Map<string, string[]>;
  readonly unsupported: UnsupportedEntry[];
  readonly diagnostics: Diagnostic[];
  /** Set when systemd would refuse to load the unit because of a setting (e.g. a bad ExecStart=). */
  readonly fatal?: Diagnostic;
}

/** Where a section of a unit of this type lands inside the service it belongs to. */
function sectionPrefix(unitType: string, section: string): string {
  if (unitType === 'socket' && (section === 'Unit' || section === 'Install')) return 'socket.';
  if (unitType === 'timer' && (section === 'Unit' || section === 'Install')) return 'timer.';
  return '';
}

export interface TranslateOptions {
  readonly table: DirectiveTable;
  /** Specifier expansion for this unit (see src/unit/specifiers.ts). */
  readonly expand: (text: string) => string;
}

export function translateUnit(unit: LoadedUnit, opts: TranslateOptions): Translation {
  const states = new Map<string, { type: string; state: unknown }>();
  const provenance = new Map<string, string[]>();
  const unsupported: UnsupportedEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let fatal: Diagnostic | undefined;

  const report = (loc: SourceLoc, directive: string, value: string, reason: string, record = true): void => {
    diagnostics.push({ severity: 'warning', loc, directive: `${directive}=${value}`, message: reason });
    if (record) unsupported.push({ directive, value, source: formatLoc(loc), reason });
  };

  for (const a of unit.assignments) {
    const row = opts.table.lookup(a.section, a.key);
    if (!row) {
      if (a.key.startsWith('X-')) continue; // vendor extensions: systemd ignores them silently
      report(a.loc, a.key, a.value, `Unknown key '${a.key}' in section [${a.section}], ignoring.`);
      continue;
    }
    if (row.status === 'ignored') {
      report(a.loc, a.key, a.value, `not translated: ${row.reason}`);
      continue;
    }
    if (row.status === 'unsupported') {
      report(a.loc, a.key, a.value, `not translated: ${row.reason}`);
      continue;
    }
    const type = valueType(row.type);
    const warnings: string[] = [];
    const ctx: ApplyContext = {
      directive: a.key,
      section: a.section,
      expand: opts.expand,
      warn: (m) => warnings.push(m),
    };
    const prefix = sectionPrefix(unit.type, a.section);
    const dests = destinationsFor(row, a.section as UnitSection).map((d) => prefix + d);
    try {
      const value = typeUsesSpecifiers(row.type) && !type.selfExpanding ? opts.expand(a.value) : a.value;
      // Parse once per destination (TimeoutSec= sets two); a failure leaves all untouched.
      const next = dests.map((d) => type.apply(states.get(d)?.state, value, ctx));
      dests.forEach((d, i) => {
        states.set(d, { type: row.type, state: next[i] });
        const src = `${a.key}= ${formatLoc(a.loc)}`;
        const list = provenance.get(d) ?? [];
        if (!list.includes(src)) list.push(src);
        provenance.set(d, list);
      });
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      if ((e instanceof ExecLineError && e.fatal) || e instanceof FatalValueError) {
        // config_parse_exec() returns -ENOEXEC: the unit fails to load ("bad-setting").
        fatal ??= { severity: 'error', loc: a.loc, directive: `${a.key}=${a.value}`, message: `${e.message}; systemd refuses to load this unit` };
        diagnostics.push(fatal);
        continue;
      }
      report(a.loc, a.key, a.value, /ignoring\.?$/.test(e.message) ? e.message : `${e.message}, ignoring.`);
      continue;
    }
    for (const w of warnings) diagnostics.push({ severity: 'warning', loc: a.loc, directive: `${a.key}=${a.value}`, message: w });
  }

  const fields = new Map<string, unknown>();
  for (const [dest, { type, state }] of states) {
    if (state === undefined) {
      provenance.delete(dest);
      continue;
    }
    const t = valueType(type);
    fields.set(dest, t.finalize ? t.finalize(state) : state);
  }
  return fatal ? { fields, provenance, unsupported, diagnostics, fatal } : { fields, provenance, unsupported, diagnostics };
}
