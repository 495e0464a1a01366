/**
 * The manifest model: systemg manifests load with their meaning, unknown keys
 * are errors at every level with path and line, and semantic checks catch
 * what the schema cannot.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifestFile, loadManifestText } from '../src/model/manifest.js';
import { packageRoot } from '../src/package-root.js';

function problems(text: string): string[] {
  return loadManifestText('m.yaml', text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.loc?.line}: ${d.directive ?? ''}: ${d.message}`);
}

t.test('the bundled examples validate', async (t) => {
  const dir = join(packageRoot(), 'examples');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const r = loadManifestFile(join(dir, f));
    t.same(r.diagnostics.filter((d) => d.severity === 'error'), [], f);
    t.ok(r.manifest, `${f} loads`);
  }
});

t.test('systemg manifests: projects, loose services, flattened env vars, interpolation', async (t) => {
  const r = loadManifestText(
    'm.yaml',
    'version: 3\nenv:\n  GREETING: hi\nprojects:\n  shop:\n    name: Shop\n    services:\n      web:\n        command: echo ${GREETING} $GREETING\n        restart_policy: always\n        depends_on: [db]\n      db:\n        exec: [/bin/sleep, "100"]\n',
  );
  t.same(r.diagnostics, []);
  const web = ((r.manifest!.projects as Record<string, { services: Record<string, { command: string }> }>).shop!.services.web)!;
  t.equal(web.command, 'echo hi hi', 'systemg expands ${VAR} and $VAR at load time');
  t.same(problems('version: "3"\ninterpolate: false\nservices:\n  a:\n    command: echo $UNDEFINED_SYSG_VAR\n'), [], 'interpolate: false keeps it literal');
  t.same(problems('version: "3"\nservices:\n  a:\n    command: echo $UNDEFINED_SYSG_VAR\n'), [
    '4: services.a.command: undefined variable $UNDEFINED_SYSG_VAR (systemg expands ${VAR} at load time; set interpolate: false to keep it literal)',
  ]);
});

t.test('unknown keys are errors at every level, with YAML path and line', async (t) => {
  t.same(problems('version: "3"\nservise: {}\n'), ["2: (top level): unknown key 'servise'"]);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    restart_polcy: always\n'), ["5: services.a: unknown key 'restart_polcy'"]);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    limits:\n      cgroup:\n        memory_maximum: 5\n'), ["7: services.a.limits.cgroup: unknown key 'memory_maximum'"]);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    deployment:\n      health_check:\n        urll: http://x\n'), ["7: services.a.deployment.health_check: unknown key 'urll'"]);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    sandbox:\n      bind_paths:\n        - source: /a\n          destination: /b\n          recursve: false\n'), ["9: services.a.sandbox.bind_paths.0: unknown key 'recursve'"]);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    sandbox:\n      protect_system: sometimes\n'), ['6: services.a.sandbox.protect_system: must be one of: "full", "strict"']);
});

t.test('semantic checks', async (t) => {
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    command: "true"\n'), ['3: services.a: set only one of `command` and `exec`']);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    depends_on: [b]\n'), ["5: services.a.depends_on.0: depends on unknown service 'b'"]);
  t.match(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    depends_on: [b]\n  b:\n    exec: [/bin/true]\n    depends_on: [a]\n').join('\n'), /dependency cycle: a -> b -> a/);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    isolation: { private_tmp: true }\n    sandbox: { private_tmp: false }\n'), ['6: services.a.sandbox.private_tmp: contradicts isolation.private_tmp: true vs false']);
  t.same(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    timeouts:\n      stop: 5x\n'), ['6: services.a.timeouts.stop: Failed to parse time span "5x": unknown unit "x"']);
  t.same(problems('version: "3"\nservices:\n  a:\n    commands: {start: [{argv: [/bin/true]}]}\n    exec: [/bin/true]\n'), ['4: services.a.commands.start: `commands.start` and `exec` both say how to start the service; keep one']);
});

t.test('YAML errors name a line; duplicate keys are errors', async (t) => {
  t.match(problems('version: "3"\nservices:\n  a: [\n').join('\n'), /^\d+: : YAML:/);
  t.match(problems('version: "3"\nservices:\n  a:\n    exec: [/bin/true]\n    exec: [/bin/false]\n').join('\n'), /5: : YAML: Map keys must be unique/);
  t.same(problems('- just\n- a list\n'), ['1: : a manifest must be a YAML mapping with at least `version:`']);
});
