/**
 * A typed read-only view of one service of a (validated) manifest, with the
 * source of every field: `ProtectSystem= unit.service:12` for converted
 * units, `web.yaml:30 (services.web.sandbox.protect_system)` for manifests.
 * Mechanisms read the model only through this view, so a field of the wrong
 * shape is reported with its source rather than crashing a launch.
 */

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly field: string,
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

export type SourceOf = (field: string) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ServiceView {
  constructor(
    /** Key under `services:`. */
    readonly key: string,
    readonly raw: Readonly<Record<string, unknown>>,
    private readonly sourceOfField: SourceOf = () => undefined,
  ) {}

  /** systemd's unit name: `unit.name`, else `<key>.service`. */
  get unitName(): string {
    const n = this.value('unit.name');
    return typeof n === 'string' ? n : `${this.key}.service`;
  }

  /** Where a field came from (the longest set prefix that has a known source). */
  source(field: string): string {
    for (let f = field; f; f = f.includes('.') ? f.slice(0, f.lastIndexOf('.')) : '') {
      const s = this.sourceOfField(f);
      if (s) return s;
    }
    return `services.${this.key}.${field}`;
  }

  value(field: string): unknown {
    let cur: unknown = this.raw;
    for (const part of field.split('.')) {
      if (!isObj(cur)) return undefined;
      cur = cur[part];
    }
    return cur;
  }

  has(field: string): boolean {
    return this.value(field) !== undefined;
  }

  private bad(field: string, what: string): never {
    throw new ModelError(field, this.source(field), `${field}: expected ${what}, got ${JSON.stringify(this.value(field))}`);
  }

  bool(field: string): boolean | undefined {
    const v = this.value(field);
    if (v === undefined || typeof v === 'boolean') return v;
    return this.bad(field, 'a boolean');
  }

  str(field: string): string | undefined {
    const v = this.value(field);
    if (v === undefined || typeof v === 'string') return v;
    return this.bad(field, 'a string');
  }

  num(field: string): number | undefined {
    const v = this.value(field);
    if (v === undefined || (typeof v === 'number' && Number.isFinite(v))) return v;
    return this.bad(field, 'a number');
  }

  /** A string or a number (YAML users write `umask: 0022` or `"0022"`). */
  scalar(field: string): string | number | undefined {
    const v = this.value(field);
    if (v === undefined || typeof v === 'string' || typeof v === 'number') return v;
    return this.bad(field, 'a string or number');
  }

  strings(field: string): string[] | undefined {
    const v = this.value(field);
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    return this.bad(field, 'a list of strings');
  }

  list(field: string): unknown[] | undefined {
    const v = this.value(field);
    if (v === undefined || Array.isArray(v)) return v;
    return this.bad(field, 'a list');
  }

  obj(field: string): Record<string, unknown> | undefined {
    const v = this.value(field);
    if (v === undefined || isObj(v)) return v;
    return this.bad(field, 'a mapping');
  }

  /** Throws a ModelError about this field (for mechanisms' own value checks). */
  error(field: string, message: string): never {
    throw new ModelError(field, this.source(field), message);
  }
}

/**
 * A field *requests* something unless it is unset, false, null or "no"
 * (an empty list does request: `capability_bounding_set: []` drops every capability).
 */
export function requests(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false && v !== 'no' && v !== 'false';
}

/** Dotted paths of the requested leaves under `roots` (objects are descended; arrays are leaves). */
export function requestedFields(svc: ServiceView, roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string): void => {
    if (isObj(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
      return;
    }
    if (requests(v)) out.push(path);
  };
  for (const r of roots) walk(svc.value(r), r);
  return out;
}
