/** Specifier expansion bound to one loaded unit, as the system manager sees it. */
import { type SpecifierContext, expandSpecifiers, systemHostInfo } from './specifiers.js';
import type { LoadedUnit } from './load.js';

export function specifierContext(unit: Pick<LoadedUnit, 'name' | 'fragment'>): SpecifierContext {
  return {
    unitName: unit.name,
    ...(unit.fragment ? { fragmentPath: unit.fragment } : {}),
    scope: 'system',
    host: systemHostInfo(),
  };
}

export function specifierExpander(unit: Pick<LoadedUnit, 'name' | 'fragment'>): (text: string) => string {
  const ctx = specifierContext(unit);
  return (text) => (text.includes('%') ? expandSpecifiers(text, ctx) : text);
}
