/**
 * RemoveIPC=: when a service stops, the SysV shared memory segments,
 * semaphore sets and message queues and the POSIX shared memory objects and
 * message queues owned (or created) by its user are removed — systemd's
 * clean_ipc_by_uid() (src/shared/clean-ipc.c). Never for root.
 */
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { IPC_RMID, msgctl, semctl, shmctl } from '../sys/libc-ipc.js';

interface SysvTable {
  readonly file: string;
  /** Column names we need: the id and the owner/creator uids. */
  readonly remove: (id: number) => number;
}

const TABLES: readonly SysvTable[] = [
  { file: '/proc/sysvipc/shm', remove: (id) => shmctl(id, IPC_RMID, null) },
  { file: '/proc/sysvipc/sem', remove: (id) => semctl(id, 0, IPC_RMID, 0) },
  { file: '/proc/sysvipc/msg', remove: (id) => msgctl(id, IPC_RMID, null) },
];

/** Rows of a /proc/sysvipc table as column → value. */
function rows(file: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const [header, ...lines] = text.split('\n').filter((l) => l.trim());
  if (!header) return [];
  const cols = header.trim().split(/\s+/);
  return lines.map((l) => Object.fromEntries(l.trim().split(/\s+/).map((v, i) => [cols[i] ?? `c${i}`, v])));
}

function removeFilesOf(dir: string, uid: number): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.uid !== uid) continue;
    rmSync(p, { recursive: true, force: true });
    n++;
  }
  return n;
}

/** Removes the IPC objects of uid; returns how many were removed. */
export function removeIpcOf(uid: number): number {
  if (uid === 0) return 0;
  let removed = 0;
  for (const t of TABLES) {
    const idCol = t.file.endsWith('shm') ? 'shmid' : t.file.endsWith('sem') ? 'semid' : 'msqid';
    for (const r of rows(t.file)) {
      if (Number(r['uid']) !== uid && Number(r['cuid']) !== uid) continue;
      if (t.remove(Number(r[idCol])) === 0) removed++;
    }
  }
  removed += removeFilesOf('/dev/shm', uid);
  removed += removeFilesOf('/dev/mqueue', uid);
  return removed;
}
