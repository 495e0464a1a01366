/**
 * sysg's manifest schema: systemg's schema (schema-systemg.ts) extended with one
 * field per translated systemd directive. The extension is derived from the
 * directive table (destination path + value type), so the table stays the single
 * source of truth; `npm run gen` writes it to compat/sysg.schema.json for editors.
 */
import { type DirectiveTable, type DirectiveRow, destinationsFor } from '../compat/table.js';
import { valueType } from '../compat/types.js';
import { type JsonSchema, systemgServiceProperties, systemgTopLevelProperties } from './schema-systemg.js';

export const SCHEMA_ID = 'https://sysg.invalid/schema/sysg.schema.json';

function objectNode(description?: string): JsonSchema {
  const node: JsonSchema = { type: 'object', additionalProperties: false, properties: {} };
  if (description) node.description = description;
  return node;
}

function propertiesOf(node: JsonSchema, where: string): Record<string, JsonSchema> {
  const props = node.properties;
  if (typeof props !== 'object' || props === null) throw new Error(`schema: ${where} is not an object node`);
  return props as Record<string, JsonSchema>;
}

/** Inserts `schema` at a dotted path, creating closed object nodes on the way. */
function insert(root: JsonSchema, path: string, schema: JsonSchema, doc: string): void {
  const parts = path.split('.');
  let node = root;
  parts.forEach((part, i) => {
    const props = propertiesOf(node, parts.slice(0, i).join('.') || '(service)');
    const last = i === parts.length - 1;
    if (last) {
      // systemg already defines some destinations (user, limits.nice…); theirs stay.
      if (!props[part]) props[part] = { ...schema, description: doc };
      else if (!props[part]!.description && doc) props[part]!.description = doc;
      return;
    }
    props[part] ??= objectNode();
    node = props[part]!;
  });
}

const execCommand: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['argv'],
  properties: {
    argv: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'argv; argv[0] is the program unless `path` is given' },
    path: { type: 'string', description: 'program to execute when argv[0] differs from it (systemd\'s @ prefix)' },
    ignore_failure: { type: 'boolean', description: "systemd's - prefix: a failing exit status is not a failure" },
    no_env_expand: { type: 'boolean', description: "systemd's : prefix: no $VAR expansion" },
    privileged: { enum: ['full', 'no-setuid', 'no-setuid-ambient'], description: "systemd's + / ! / !! prefixes" },
  },
};

function sourceRef(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['directive', 'source'],
    properties: {
      directive: { type: 'string' },
      value: { type: 'string' },
      source: { type: 'string', description: 'file:line' },
      reason: { type: 'string' },
    },
  };
}

/** Fields sysg adds that do not come from one directive. */
function addFixedExtensions(service: JsonSchema): void {
  const props = propertiesOf(service, 'service');
  props.semantics = {
    enum: ['systemd', 'systemg'],
    description: "Whose defaults apply to unset fields: systemd's (converted units) or systemg's (default)",
  };
  props.x_unsupported = { type: 'array', items: sourceRef(), description: 'Directives of the source unit that sysg did not translate, with the reason' };
  insert(service, 'unit.name', { type: 'string' }, 'Unit name this service came from (e.g. nginx.service)');
  insert(service, 'unit.fragment', { type: 'string' }, 'Path of the unit file');
  insert(service, 'unit.dropins', { type: 'array', items: { type: 'string' } }, 'Drop-in files applied, in order');
  insert(service, 'socket.name', { type: 'string' }, 'Socket unit name');
  insert(service, 'socket.fragment', { type: 'string' }, 'Path of the socket unit file');
  insert(service, 'timer.name', { type: 'string' }, 'Timer unit name');
  insert(service, 'timer.fragment', { type: 'string' }, 'Path of the timer unit file');
}

export function buildSchema(table: DirectiveTable): JsonSchema {
  const service: JsonSchema = { type: 'object', additionalProperties: false, properties: systemgServiceProperties() };
  const add = (row: DirectiveRow, section: 'Unit' | 'Service' | 'Socket' | 'Install' | 'Timer'): void => {
    if (row.status !== 'translated' && row.status !== 'enforced') return;
    const type = valueType(row.type);
    const schema = type.schema;
    const enforced = row.status === 'enforced' ? ` Enforced by sysg (${row.mechanism.replace(/\+/g, ', ')}).` : '';
    const doc = `${section}.${row.name}=: ${row.doc}${enforced}`.trim();
    for (const dest of destinationsFor(row, section)) {
      insert(service, dest, schema, doc);
      // A .socket's or .timer's own [Unit]/[Install] settings live inside its block.
      if (section === 'Unit' || section === 'Install') for (const p of ['socket.', 'timer.']) insert(service, p + dest, schema, doc);
    }
  };
  for (const row of table.rows) for (const s of row.sections) add(row, s);
  // Exec command objects are shared by all Exec*= destinations.
  addFixedExtensions(service);

  const top = systemgTopLevelProperties({ $ref: '#/$defs/service' });
  top.interpolate = {
    type: 'boolean',
    description: 'systemg expands ${VAR}/$VAR in every string at load time; false turns that off (sysg convert writes false: systemd expands $VAR at exec time)',
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'sysg manifest (a superset of systemg version 3)',
    type: 'object',
    additionalProperties: false,
    required: ['version'],
    properties: top,
    $defs: { service, exec_command: execCommand },
  };
}
