/**
 * The contract between the directive table and the translator: a value type
 * knows how one assignment of a directive changes the accumulated state at its
 * YAML destination (systemd's per-directive merge rules: override, accumulate,
 * reset on empty, `~` inversion…), what the final YAML value is, and the JSON
 * Schema of that value.
 */
import type { JsonSchema } from '../model/schema-systemg.js';
import { ValueError } from '../unit/diagnostics.js';

export interface ApplyContext {
  /** Directive name, e.g. `ListenStream` (some types derive meaning from it). */
  readonly directive: string;
  readonly section: string;
  /** Expand unit specifiers (%n, %i, …); throws ValueError on an unknown one. */
  expand(text: string): string;
  /** A non-fatal complaint about part of the value (systemd logs it and keeps the rest). */
  warn(message: string): void;
}

export interface ValueType {
  readonly schema: JsonSchema;
  /**
   * Applies one assignment to the previous state (undefined = directive not set
   * yet) and returns the new state; undefined removes the field again. Throws
   * ValueError when systemd would ignore the whole line.
   */
  apply(prev: unknown, raw: string, ctx: ApplyContext): unknown;
  /**
   * The parser expands specifiers itself, word by word, as systemd's does
   * (Exec lines, Environment=…); the translator then passes the raw value.
   */
  readonly selfExpanding?: boolean;
  /** Turns the accumulated state into the YAML value (identity when absent). */
  finalize?(state: unknown): unknown;
}

export function selfExpanding(t: ValueType): ValueType {
  return { ...t, selfExpanding: true };
}

/** Helper for scalar types: an empty assignment resets to the default (removes the field). */
export function scalar(schema: JsonSchema, parse: (raw: string, ctx: ApplyContext) => unknown): ValueType {
  return { schema, apply: (_prev, raw, ctx) => (raw === '' ? undefined : parse(raw, ctx)) };
}

/** Helper for list types: each assignment appends its items; an empty one resets the list. */
export function list(itemSchema: JsonSchema, parseItems: (raw: string, ctx: ApplyContext) => unknown[], opts: { resetOnEmpty?: boolean } = {}): ValueType {
  const resetOnEmpty = opts.resetOnEmpty ?? true;
  return {
    schema: { type: 'array', items: itemSchema },
    apply(prev, raw, ctx) {
      const before = Array.isArray(prev) ? prev : [];
      if (raw === '') return resetOnEmpty ? undefined : prev;
      const items = parseItems(raw, ctx);
      if (items.length === 0) return prev;
      return [...before, ...items];
    },
  };
}

/**
 * Helper for keyword types. With `booleans`, systemd's boolean spellings are
 * accepted too and land in YAML as true/false (ProtectSystem=yes|full|strict).
 */
export function enumType(values: readonly string[], opts: { booleans?: boolean; what?: string } = {}): ValueType {
  const schema: JsonSchema = opts.booleans ? { anyOf: [{ type: 'boolean' }, { enum: values }] } : { enum: values };
  return scalar(schema, (raw) => {
    if (values.includes(raw)) return raw;
    if (opts.booleans) {
      const b = booleanOrUndefined(raw);
      if (b !== undefined) return b;
    }
    throw new ValueError(`Failed to parse ${opts.what ?? 'value'} '${raw}' (expected ${opts.booleans ? 'a boolean or ' : ''}one of: ${values.join(', ')})`);
  });
}

function booleanOrUndefined(raw: string): boolean | undefined {
  const v = raw.toLowerCase();
  if (['1', 'yes', 'y', 'true', 't', 'on'].includes(v)) return true;
  if (['0', 'no', 'n', 'false', 'f', 'off'].includes(v)) return false;
  return undefined;
}
