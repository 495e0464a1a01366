/**
 * The environment for a `sysg` child process without the test runner's hooks:
 * tap injects NODE_OPTIONS loaders (and TAP_/_TAPJS_ variables) that would load
 * into every child node, costing seconds per `sysg run` and adding threads.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'NODE_OPTIONS' && !/^_?TAP/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}
