/**
 * Loading a sysg/systemg YAML manifest: YAML syntax, the JSON Schema (every
 * unknown key is an error, at every level), then semantic checks. Every problem
 * is reported with the manifest's file:line and the field's YAML path.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic } from '../unit/diagnostics.js';
import { directiveTable } from '../compat/table.js';
import { buildSchema } from './schema.js';
import type { JsonSchema } from './schema-systemg.js';
import { semanticChecks } from './semantics.js';
import { interpolateManifest } from './interpolate.js';

export type Manifest = Record<string, unknown>;

export interface LoadedManifest {
  readonly path: string;
  readonly manifest?: Manifest;
  readonly diagnostics: Diagnostic[];
  /** Source line of a YAML path (for semantic checks and later stages). */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

let compiled: { schema: JsonSchema; validate: ValidateFunction } | undefined;

export function manifestSchema(): JsonSchema {
  return compiledSchema().schema;
}

function compiledSchema(): { schema: JsonSchema; validate: ValidateFunction } {
  if (!compiled) {
    const schema = buildSchema(directiveTable());
    const ajv = new Ajv({ allErrors: true, strict: false });
    compiled = { schema, validate: ajv.compile(schema) };
  }
  return compiled;
}

/** `/services/web/sandbox` → ['services', 'web', 'sandbox'] (JSON Pointer unescaping). */
function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function dottedPath(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

function describeError(e: ErrorObject): { path: string[]; message: string; keyOf?: string } {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path, keyOf: String(p.additionalProperty), message: `unknown key '${String(p.additionalProperty)}'` };
    case 'required':
      return { path, message: `missing required key '${String(p.missingProperty)}'` };
    case 'enum':
      return { path, message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'propertyNames':
      return { path, keyOf: String(p.propertyName), message: `invalid name '${String(p.propertyName)}'` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/**
 * ajv reports every failing branch of an anyOf; keep the most useful errors:
 * drop the generic "must match a schema in anyOf" when a branch said more, and
 * errors at a path when a deeper error exists under it.
 */
function pruneErrors(errors: ErrorObject[]): ErrorObject[] {
  const unknownKeys = errors.filter((e) => e.keyword === 'additionalProperties');
  if (unknownKeys.length > 0) return unknownKeys.concat(errors.filter((e) => e.keyword === 'required'));
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const out: ErrorObject[] = [];
  for (const [path, list] of byPath) {
    const deeper = [...byPath.keys()].some((q) => q !== path && q.startsWith(path + '/'));
    if (deeper) continue;
    const specific = list.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
    out.push(specific.length > 0 ? specific[specific.length - 1]! : list[0]!);
  }
  return out;
}

export function nodeLine(doc: Document, lc: LineCounter, path: readonly (string | number)[], keyOf?: string): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined = node && (node as YamlNode).range ? lc.linePos((node as YamlNode).range![0]).line : undefined;
  const steps = keyOf === undefined ? path : [...path, keyOf];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(step));
      if (!pair) break;
      const key = pair.key as YamlNode;
      if (key.range) line = lc.linePos(key.range[0]).line;
      if (i === steps.length - 1 && keyOf !== undefined) break;
      node = pair.value;
      if (node && (node as YamlNode).range && !isMap(node) && !isSeq(node)) line = lc.linePos((node as YamlNode).range![0]).line;
    } else if (isSeq(node)) {
      const item = node.items[Number(step)];
      if (!item) break;
      if ((item as YamlNode).range) line = lc.linePos((item as YamlNode).range![0]).line;
      node = item;
    } else break;
  }
  return line;
}

export function loadManifestText(path: string, text: string): LoadedManifest {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const lineOf = (p: readonly (string | number)[], keyOf?: string): number | undefined => nodeLine(doc, lc, p, keyOf);
  for (const err of doc.errors) {
    const line = lc.linePos(err.pos[0]).line;
    diagnostics.push({ severity: 'error', loc: { file: path, line }, message: `YAML: ${err.message.split('\n')[0]}` });
  }
  for (const warning of doc.warnings) {
    const line = lc.linePos(warning.pos[0]).line;
    diagnostics.push({ severity: 'warning', loc: { file: path, line }, message: `YAML: ${warning.message.split('\n')[0]}` });
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { path, diagnostics, lineOf };

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    diagnostics.push({ severity: 'error', loc: { file: path, line: 1 }, message: 'a manifest must be a YAML mapping with at least `version:`' });
    return { path, diagnostics, lineOf };
  }
  const { validate } = compiledSchema();
  if (!validate(data)) {
    for (const e of pruneErrors(validate.errors ?? [])) {
      const d = describeError(e);
      const line = lineOf(d.path, d.keyOf) ?? 1;
      diagnostics.push({ severity: 'error', loc: { file: path, line }, directive: dottedPath(d.path), message: d.message });
    }
    return { path, diagnostics, lineOf };
  }
  let manifest = data as Manifest;
  if (manifest.interpolate !== false) {
    const expanded = interpolateManifest(manifest, path, process.env);
    for (const e of expanded.errors) diagnostics.push({ severity: 'error', loc: { file: path, line: lineOf(e.path) ?? 1 }, directive: dottedPath(e.path), message: e.message });
    manifest = expanded.manifest;
  }
  for (const d of semanticChecks(manifest, (p) => lineOf(p))) diagnostics.push({ ...d, loc: { file: path, line: d.line ?? 1 } });
  if (diagnostics.some((d) => d.severity === 'error')) return { path, diagnostics, lineOf };
  return { path, manifest, diagnostics, lineOf };
}

export function loadManifestFile(path: string): LoadedManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { path, diagnostics: [{ severity: 'error', message: `cannot read ${path}: ${err.code ?? err.message}` }], lineOf: () => undefined };
  }
  return loadManifestText(path, text);
}
