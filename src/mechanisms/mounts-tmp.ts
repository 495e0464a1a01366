/**
 * PrivateTmp= directories on the host, systemd's setup_tmp_dirs(): per
 * service (not per command: ExecStartPre=, ExecStart=, ExecStartPost=, … all
 * share them, and they live as long as the service runs)
 *   /tmp/systemd-private-<boot id>-<unit>-XXXXXX/tmp      (0700 / 1777)
 *   /var/tmp/systemd-private-<boot id>-<unit>-XXXXXX/tmp
 * The mount step binds the inner tmp/ directories on /tmp and /var/tmp.
 *
 * API for the supervisor: ensurePrivateTmp(unit) at service start (the plan
 * fragment calls it too, so the first launch creates them), and
 * removePrivateTmp(unit) when the service has stopped. Whatever is left is
 * removed when the supervisor process exits.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PrivateTmpDirs {
  /** Bound on /tmp. */
  readonly tmp: string;
  /** Bound on /var/tmp. */
  readonly varTmp: string;
  /** The systemd-private-* directories to delete at stop. */
  readonly parents: readonly string[];
}

const live = new Map<string, PrivateTmpDirs>();
let exitHook = false;

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
  } catch {
    return '0'.repeat(32);
  }
}

function oneDir(prefix: string, unit: string): { parent: string; inner: string } {
  mkdirSync(prefix, { recursive: true, mode: 0o1777 });
  // mkdtemp creates the directory 0700 (systemd's umask 0077), with a random suffix.
  const parent = mkdtempSync(join(prefix, `systemd-private-${bootId()}-${unit}-`));
  const inner = join(parent, 'tmp');
  mkdirSync(inner);
  chmodSync(inner, 0o1777);
  return { parent, inner };
}

/** The unit's private /tmp and /var/tmp host directories, created on first use. */
export function ensurePrivateTmp(unit: string, prefixes: { tmp: string; varTmp: string } = { tmp: '/tmp', varTmp: '/var/tmp' }): PrivateTmpDirs {
  const have = live.get(unit);
  if (have) return have;
  const a = oneDir(prefixes.tmp, unit);
  let b;
  try {
    b = oneDir(prefixes.varTmp, unit);
  } catch (e) {
    rmSync(a.parent, { recursive: true, force: true });
    throw e;
  }
  const dirs = { tmp: a.inner, varTmp: b.inner, parents: [a.parent, b.parent] };
  live.set(unit, dirs);
  if (!exitHook) {
    // A supervisor that exits has stopped its services: nothing may outlive it in /tmp.
    exitHook = true;
    process.on('exit', () => {
      for (const u of [...live.keys()]) removePrivateTmp(u);
    });
  }
  return dirs;
}

/** Deletes the unit's private tmp directories (after the service and all its processes are gone). */
export function removePrivateTmp(unit: string): void {
  const dirs = live.get(unit);
  if (!dirs) return;
  live.delete(unit);
  for (const p of dirs.parents) rmSync(p, { recursive: true, force: true });
}

/** The unit's directories if they exist. */
export function privateTmpOf(unit: string): PrivateTmpDirs | undefined {
  return live.get(unit);
}
