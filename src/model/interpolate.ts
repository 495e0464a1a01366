/**
 * systemg's load-time `${VAR}` / `$VAR` expansion (../shared/reference/systemg.md
 * §1.1): the variables of every `env.file` and `env.vars` block, then the loading
 * process's environment, are substituted into the manifest's strings; an
 * undefined variable is an error. sysg expands string values only (not keys or
 * comments), and `interpolate: false` turns it off (converted units need that:
 * systemd expands `$VAR` at exec time).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

type Obj = Record<string, unknown>;
export interface InterpolationError {
  readonly path: (string | number)[];
  readonly message: string;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** systemg's env-file grammar: KEY=VALUE, # comments, surrounding double quotes stripped. */
function readSystemgEnvFile(file: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    vars.set(line.slice(0, eq).trim(), value);
  }
  return vars;
}

/** Every env block: top level, each project, each service (in document order). */
function envBlocks(m: Obj): Array<{ env: Obj; path: (string | number)[] }> {
  const blocks: Array<{ env: Obj; path: (string | number)[] }> = [];
  const addServices = (services: unknown, at: (string | number)[]): void => {
    if (!isObj(services)) return;
    for (const [name, svc] of Object.entries(services)) if (isObj(svc) && isObj(svc.env)) blocks.push({ env: svc.env, path: [...at, name, 'env'] });
  };
  if (isObj(m.env)) blocks.push({ env: m.env, path: ['env'] });
  if (isObj(m.projects)) {
    for (const [id, p] of Object.entries(m.projects)) {
      if (!isObj(p)) continue;
      if (isObj(p.env)) blocks.push({ env: p.env, path: ['projects', id, 'env'] });
      addServices(p.services, ['projects', id, 'services']);
    }
  }
  addServices(m.services, ['services']);
  return blocks;
}

const RESERVED_ENV_KEYS = new Set(['file', 'vars', 'clear_session_vars', 'strip', 'inherit_env', 'files', 'pass', 'unset', 'login_environment']);

export function interpolateManifest(m: Obj, manifestPath: string, processEnv: NodeJS.ProcessEnv): { manifest: Obj; errors: InterpolationError[] } {
  const errors: InterpolationError[] = [];
  const vars = new Map<string, string>();
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) vars.set(k, v);
  for (const { env, path } of envBlocks(m)) {
    if (typeof env.file === 'string') {
      const file = resolve(dirname(manifestPath), env.file);
      try {
        for (const [k, v] of readSystemgEnvFile(file)) vars.set(k, v);
      } catch (e) {
        errors.push({ path: [...path, 'file'], message: `cannot read env file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      }
    }
    const own = isObj(env.vars) ? Object.entries(env.vars) : [];
    const flattened = Object.entries(env).filter(([k]) => !RESERVED_ENV_KEYS.has(k));
    for (const [k, v] of [...own, ...flattened]) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') vars.set(k, String(v));
  }
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(VAR, (whole, braced: string | undefined, bare: string | undefined) => {
        const name = braced ?? bare ?? '';
        const value = vars.get(name);
        if (value === undefined) {
          errors.push({ path, message: `undefined variable ${whole} (systemg expands \${VAR} at load time; set interpolate: false to keep it literal)` });
          return whole;
        }
        return value;
      });
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, [...path, i]));
    if (isObj(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, [...path, k])]));
    return node;
  };
  return { manifest: walk(m, []) as Obj, errors };
}
