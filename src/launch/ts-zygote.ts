/**
 * Test-runner support: running the zygote from TypeScript sources.
 *
 * Forwarding the runner's TypeScript loader would put a loader thread (a
 * second V8 isolate holding the TypeScript compiler) into the zygote: more
 * threads than in production, and every fork would copy its page tables
 * (measured: 15.7 ms per launch instead of 3.5). Instead the zygote's import
 * closure is transpiled once (ts.transpileModule, no type checking) into
 * node_modules/.cache/sysg-zygote/<content hash>/, and run as plain JS.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g;

/** entry and every .ts file it imports through relative specifiers. */
function importClosure(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const todo = [entry];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (files.has(f)) continue;
    const text = readFileSync(f, 'utf8');
    files.set(f, text);
    for (const m of text.matchAll(RELATIVE_IMPORT)) todo.push(resolve(dirname(f), `${m[1]}.ts`));
  }
  return files;
}

function packageRootOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules'))) return dir;
    if (dirname(dir) === dir) throw new Error(`sysg: no package root above ${file}`);
  }
}

/** Drops copies of older sources (a day old: a parallel run may still use a recent one). */
function prune(cache: string): void {
  if (!existsSync(cache)) return;
  for (const d of readdirSync(cache)) {
    const p = join(cache, d);
    if (Date.now() - statSync(p).mtimeMs > 86_400_000) rmSync(p, { recursive: true, force: true });
  }
}

/** Returns the path of the transpiled .js entry. */
export function transpiledZygote(entryTs: string): string {
  const root = packageRootOf(entryTs);
  const files = importClosure(entryTs);
  const hash = createHash('sha256');
  for (const [f, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(`${f}\0${text}\0`);
  const cache = join(root, 'node_modules', '.cache', 'sysg-zygote');
  const out = join(cache, hash.digest('hex').slice(0, 16));
  const entryJs = join(out, relative(root, entryTs).replace(/\.ts$/, '.js'));
  if (existsSync(entryJs)) return entryJs;

  prune(cache);
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  // Build beside the final place, then rename: parallel test files may race here.
  const tmp = `${out}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [f, text] of files) {
    const js = ts.transpileModule(text, {
      fileName: f,
      // ESNext, not NodeNext: transpileModule cannot see the package scope and would emit CommonJS.
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
    }).outputText;
    const dest = join(tmp, relative(root, f).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  // Package scope stops at node_modules: declare ESM explicitly.
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  try {
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(entryJs)) throw e;
  }
  return entryJs;
}
