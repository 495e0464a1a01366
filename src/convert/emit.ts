/**
 * Renders a converted manifest as YAML: deterministic key order (as built),
 * each translated field commented with the directive and file:line it came from.
 */
import { Document, isMap, isPair, isScalar, isSeq, type Pair } from 'yaml';

export interface Provenance {
  /** Dotted YAML path → where its value came from (`Directive= file:line`, in order). */
  readonly fields: Map<string, string[]>;
}

function findPair(doc: Document, path: readonly string[]): Pair | undefined {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const step of path) {
    if (!isMap(node)) return undefined;
    pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === step) as Pair | undefined;
    if (!pair) return undefined;
    node = pair.value;
  }
  return pair;
}

export interface EmitOptions {
  readonly header: string[];
}

export function emitYaml(manifest: Record<string, unknown>, provenance: Provenance, opts: EmitOptions): string {
  const doc = new Document(manifest);
  for (const [dotted, sources] of provenance.fields) {
    const pair = findPair(doc, dotted.split('.'));
    if (!pair) continue;
    const text = ` ${sources.join(', ')}`;
    const value = pair.value;
    if (isScalar(value)) value.comment = text;
    else if ((isSeq(value) || isMap(value)) && value.items.length === 0) {
      value.flow = true;
      value.comment = text;
    } else if (isScalar(pair.key)) pair.key.comment = text;
  }
  doc.commentBefore = opts.header.map((l) => ` ${l}`).join('\n');
  // Quote strings that YAML would otherwise read as other types ("yes", "0755").
  const text = doc.toString({ lineWidth: 0, indentSeq: true, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
  return text;
}

