/**
 * The installed package's root directory (where compat/, man/ and units/ live),
 * found by walking up from this module: the same code runs compiled from
 * dist/src/ and as TypeScript from src/ under the test runner.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'compat'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('sysg: cannot find the package root (compat/ beside package.json)');
    dir = up;
  }
}
