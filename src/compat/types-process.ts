/** Value types of commands, environment, standard I/O, credentials and identities. */
import { ValueError } from '../unit/diagnostics.js';
import { type ValueType, list, scalar, selfExpanding } from './value-type.js';
import { type ExecCommand, parseExec } from '../unit/values/exec.js';
import { parseEnvironment, parseEnvironmentFile, parsePassEnvironment, parseUnsetEnvironment } from '../unit/values/environment.js';
import { cunescape } from '../unit/escape.js';
import { EXTRACT_UNQUOTE, extractWords } from '../unit/words.js';

function execToYaml(c: ExecCommand): Record<string, unknown> {
  const out: Record<string, unknown> = { argv: c.argv };
  if (c.argv0Separate || c.path !== c.argv[0]) out.path = c.path;
  if (c.ignoreFailure) out.ignore_failure = true;
  if (c.noEnvExpand) out.no_env_expand = true;
  if (c.privileged !== 'none') out.privileged = c.privileged;
  return out;
}

/** config_parse_exec: each assignment appends its commands (`;`-separated); empty resets. */
const exec: ValueType = {
  schema: { type: 'array', items: { $ref: '#/$defs/exec_command' } },
  selfExpanding: true,
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const cmds = parseExec(raw, { expandSpecifiers: (text) => ctx.expand(text), onWarning: (m) => ctx.warn(m) });
    return [...((prev as unknown[] | undefined) ?? []), ...cmds.map(execToYaml)];
  },
};

/** config_parse_environ: later assignments of a name win; empty resets. */
const environ: ValueType = {
  schema: { type: 'object', additionalProperties: { type: 'string' } },
  selfExpanding: true,
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const parsed = parseEnvironment(raw, { expandSpecifiers: ctx.expand });
    for (const w of parsed.warnings) ctx.warn(w);
    for (const bad of parsed.invalid) ctx.warn(`Invalid environment assignment, ignoring: ${bad}`);
    const next: Record<string, string> = { ...((prev as Record<string, string> | undefined) ?? {}) };
    for (const [k, v] of parsed.assignments) next[k] = v;
    return next;
  },
};

const envFile = selfExpanding(
  list(
    { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string' }, optional: { type: 'boolean' } } },
    (raw, ctx) => {
      const f = parseEnvironmentFile(raw, { expandSpecifiers: ctx.expand });
      return [f.optional ? { path: f.path, optional: true } : { path: f.path }];
    },
  ),
);

const envNames = selfExpanding(
  list({ type: 'string', pattern: '^[^=]+$' }, (raw, ctx) => {
    const r = parsePassEnvironment(raw, { expandSpecifiers: ctx.expand });
    for (const w of r.warnings) ctx.warn(w);
    for (const bad of r.invalid) ctx.warn(`Invalid environment variable name, ignoring: ${bad}`);
    return r.names;
  }),
);

const envUnset = selfExpanding(
  list({ type: 'string' }, (raw, ctx) => {
    const r = parseUnsetEnvironment(raw, { expandSpecifiers: ctx.expand });
    for (const w of r.warnings) ctx.warn(w);
    for (const bad of r.invalid) ctx.warn(`Invalid environment name or assignment, ignoring: ${bad}`);
    return r.names;
  }),
);

const INPUTS = ['null', 'tty', 'tty-force', 'tty-fail', 'socket', 'data'];
/** config_parse_exec_input: a keyword, `file:PATH` or `fd:NAME`. */
const stdin = scalar({ type: 'string', pattern: '^(null|tty|tty-force|tty-fail|socket|data|file:/.*|fd(:.+)?)$' }, (raw, ctx) => {
  if (INPUTS.includes(raw) || raw === 'fd' || raw.startsWith('fd:')) return raw;
  if (raw.startsWith('file:')) return `file:${absolute(ctx.expand(raw.slice(5)))}`;
  throw new ValueError(`Failed to parse input specifier '${raw}'`);
});

const OUTPUTS = ['inherit', 'null', 'tty', 'journal', 'kmsg', 'journal+console', 'kmsg+console', 'socket', 'syslog', 'syslog+console'];
/** config_parse_exec_output: a keyword, `file:`/`append:`/`truncate:` PATH or `fd:NAME`. */
const stdout = scalar({ type: 'string', pattern: '^(inherit|null|tty|journal|kmsg|journal\\+console|kmsg\\+console|socket|syslog|syslog\\+console|(file|append|truncate):/.*|fd(:.+)?)$' }, (raw, ctx) => {
  if (OUTPUTS.includes(raw) || raw === 'fd' || raw.startsWith('fd:')) return raw;
  const m = /^(file|append|truncate):(.*)$/.exec(raw);
  if (m) return `${m[1]}:${absolute(ctx.expand(m[2]!))}`;
  throw new ValueError(`Failed to parse output specifier '${raw}'`);
});

function absolute(p: string): string {
  if (!p.startsWith('/')) throw new ValueError(`Path '${p}' is not absolute`);
  return p;
}

/** StandardInputText= (C-unescaped, newline-terminated) and StandardInputData= (base64) append to one buffer. */
const inputData: ValueType = {
  schema: { type: 'string', contentEncoding: 'base64', description: 'data fed to standard input (base64)' },
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const before = prev === undefined ? Buffer.alloc(0) : Buffer.from(prev as string, 'base64');
    let add: Buffer;
    if (ctx.directive === 'StandardInputText') add = Buffer.from(`${cunescape(raw)}\n`, 'utf8');
    else {
      const compact = raw.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) throw new ValueError('Failed to decode base64 data');
      add = Buffer.from(compact, 'base64');
    }
    const all = Buffer.concat([before, add]);
    if (all.length > 128 * 1024 * 1024) throw new ValueError('Too much standard input data');
    return all.toString('base64');
  },
};

/** valid_user_group_name(…, VALID_USER_RELAX) or a numeric id. */
function userOrGroup(raw: string, what: string): string {
  if (/^[0-9]+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 0xffffffff || n === 0xffff) throw new ValueError(`Invalid ${what} id ${raw}`);
    return raw;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.@-]*\$?$/.test(raw) || raw.length > 256) throw new ValueError(`Invalid ${what} name '${raw}'`);
  return raw;
}

const user = scalar({ type: 'string', description: 'user or group name, or numeric id' }, (raw, ctx) => userOrGroup(raw, ctx.directive.includes('Group') ? 'group' : 'user'));
const groups = list({ type: 'string' }, (raw) => extractWords(raw, EXTRACT_UNQUOTE).map((g) => userOrGroup(g, 'group')));

const credentialId = (id: string): string => {
  if (id === '' || id.includes('/') || id === '.' || id === '..' || id.length > 255) throw new ValueError(`Credential name '${id}' is invalid`);
  return id;
};

/** SetCredential=ID:DATA (data C-unescaped); a later one for the same ID replaces it. */
const credentialSet: ValueType = {
  schema: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['id', 'data'], properties: { id: { type: 'string' }, data: { type: 'string' } } } },
  apply(prev, raw) {
    if (raw === '') return undefined;
    const colon = raw.indexOf(':');
    if (colon < 0) throw new ValueError(`Failed to parse credential, missing ':': ${raw}`);
    const id = credentialId(raw.slice(0, colon));
    const data = cunescape(raw.slice(colon + 1));
    const before = ((prev as Array<{ id: string }> | undefined) ?? []).filter((c) => c.id !== id);
    return [...before, { id, data }];
  },
};

/** LoadCredential=ID[:PATH] (no path: search the credential store for ID). */
const credentialLoad: ValueType = {
  schema: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string' }, path: { type: 'string' } } } },
  apply(prev, raw) {
    if (raw === '') return undefined;
    const colon = raw.indexOf(':');
    const id = credentialId(colon < 0 ? raw : raw.slice(0, colon));
    const path = colon < 0 ? '' : raw.slice(colon + 1);
    if (path !== '' && path.startsWith('/') === false && path.includes('/')) throw new ValueError(`Credential source '${path}' is neither an absolute path nor a credential name`);
    const before = ((prev as Array<{ id: string }> | undefined) ?? []).filter((c) => c.id !== id);
    return [...before, path ? { id, path } : { id }];
  },
};

export const processTypes: Record<string, ValueType> = {
  exec,
  environ,
  'env-file': envFile,
  'env-names': envNames,
  'env-unset': envUnset,
  stdin,
  stdout,
  'input-text': inputData,
  'input-data': inputData,
  user,
  groups,
  'credential-set': credentialSet,
  'credential-load': credentialLoad,
};
