/**
 * Loading one unit: find its fragment and drop-ins on the unit search path,
 * lex them in systemd's order (fragment first, then drop-ins sorted by file
 * name), and return the located assignments. Value parsing happens later,
 * against the directive table.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { type Diagnostic, ValueError } from './diagnostics.js';
import { type Assignment, decodeUnitText, lexUnitText } from './ini.js';
import { type ResolvedUnit, type UnitSearchPath } from './search-path.js';

import { type UnitType, unitTypeOf } from './names.js';

export type { UnitType };

const SECTIONS: Record<UnitType, readonly string[]> = {
  service: ['Unit', 'Service', 'Install'],
  socket: ['Unit', 'Socket', 'Install'],
  timer: ['Unit', 'Timer', 'Install'],
  target: ['Unit', 'Install'],
  path: ['Unit', 'Path', 'Install'],
  mount: ['Unit', 'Mount', 'Install'],
  automount: ['Unit', 'Automount', 'Install'],
  swap: ['Unit', 'Swap', 'Install'],
  slice: ['Unit', 'Slice', 'Install'],
  scope: ['Unit', 'Scope', 'Install'],
  device: ['Unit', 'Install'],
};

export interface LoadedUnit {
  /** The unit's name (for an alias, the name of the unit it points to). */
  readonly name: string;
  readonly type: UnitType;
  readonly fragment?: string;
  readonly dropins: readonly string[];
  readonly masked: boolean;
  readonly assignments: readonly Assignment[];
  readonly diagnostics: readonly Diagnostic[];
  /** Set when systemd would refuse to load the unit (unreadable or malformed file, not found, masked). */
  readonly fatal?: Diagnostic;
  readonly resolved: ResolvedUnit;
}

function readUnitFile(path: string, shownAs: string, sections: readonly string[]): { assignments: Assignment[]; diagnostics: Diagnostic[]; fatal?: Diagnostic } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const fatal: Diagnostic = { severity: 'error', loc: { file: shownAs, line: 1 }, message: `Failed to read unit file: ${err.code ?? err.message}` };
    return { assignments: [], diagnostics: [fatal], fatal };
  }
  const { text, badLines } = decodeUnitText(buf);
  const lexed = lexUnitText(shownAs, text, { sections }, badLines);
  return lexed.fatal ? { assignments: lexed.assignments, diagnostics: lexed.diagnostics, fatal: lexed.fatal } : { assignments: lexed.assignments, diagnostics: lexed.diagnostics };
}

/** Loads `nameOrPath` (a unit name looked up on the search path, or a file path). */
export function loadUnit(nameOrPath: string, searchPath: UnitSearchPath): LoadedUnit {
  let resolved: ResolvedUnit;
  try {
    resolved = searchPath.resolveUnit(nameOrPath);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    const fatal: Diagnostic = { severity: 'error', message: `${nameOrPath}: ${e.message}` };
    const name = nameOrPath.split('/').pop() ?? nameOrPath;
    return { name, type: 'service', dropins: [], masked: false, assignments: [], diagnostics: [fatal], fatal, resolved: { name, requested: name, masked: false, aliases: [], dropins: [], searchPath: searchPath.dirs } };
  }
  const type = unitTypeOf(resolved.name);
  const base = { name: resolved.name, dropins: resolved.dropins, masked: resolved.masked, resolved };
  const fail = (message: string, loc?: { file: string; line: number }): LoadedUnit => {
    const fatal: Diagnostic = loc ? { severity: 'error', loc, message } : { severity: 'error', message };
    return { ...base, type: type ?? 'service', ...(resolved.fragment ? { fragment: resolved.fragment } : {}), assignments: [], diagnostics: [fatal], fatal };
  };
  if (!type) return fail(`${resolved.name}: not a unit name (unknown type suffix)`);
  if (resolved.masked) return fail(`Unit ${resolved.name} is masked (its file is empty or a link to /dev/null).`, { file: resolved.fragment ?? nameOrPath, line: 1 });
  if (!resolved.fragment) return fail(`Unit ${resolved.name} not found.`);

  // A unit given as a path is shown as the user wrote it, in every file:line.
  const shown = (file: string): string => (nameOrPath.includes('/') && file === resolvePath(nameOrPath) ? nameOrPath : file);
  const sections = SECTIONS[type];
  const assignments: Assignment[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of [resolved.fragment, ...resolved.dropins]) {
    const r = readUnitFile(file, shown(file), sections);
    assignments.push(...r.assignments);
    diagnostics.push(...r.diagnostics);
    if (r.fatal) return { ...base, type, fragment: shown(resolved.fragment), assignments, diagnostics, fatal: r.fatal };
  }
  return { ...base, type, fragment: shown(resolved.fragment), assignments, diagnostics };
}
