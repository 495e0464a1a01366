/**
 * Where the cgroup hierarchies are and where this process sits in each:
 * /proc/self/mountinfo gives the mounts (cgroup2, or cgroup v1 with its
 * controllers in the super options), /proc/self/cgroup our path in each
 * hierarchy. Works for pure v2, hybrid (v2 + v1 controllers) and legacy v1,
 * and inside a cgroup namespace (paths are then relative to its root, as the
 * mounts' roots are).
 */
import { readFileSync } from 'node:fs';

/** cgroup v1 controllers (kernel's cgroup_subsys list); a v1 mount's super options name some of them, or name=…. */
const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb',
  'pids', 'rdma', 'misc',
]);

export interface Hierarchy {
  readonly version: 1 | 2;
  /** v1: the controllers bound to this hierarchy ("name=systemd" for a named one); v2: []. */
  readonly controllers: readonly string[];
  /** Where it is mounted. */
  readonly mount: string;
  /** This process's cgroup directory in it. */
  readonly own: string;
  /** Our path is the hierarchy's (or cgroup namespace's) root. */
  readonly ownIsRoot: boolean;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

interface CgroupMount {
  readonly version: 1 | 2;
  readonly key: string; // sorted controller list for v1, "" for v2
  readonly root: string;
  readonly mount: string;
}

function parseMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const [fstype, , superOpts = ''] = line.slice(dash + 3).split(' ');
    const root = unescapeMountinfo(left[3] ?? '');
    const mount = unescapeMountinfo(left[4] ?? '');
    if (fstype === 'cgroup2') out.push({ version: 2, key: '', root, mount });
    else if (fstype === 'cgroup') {
      const ctrls = superOpts.split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
      out.push({ version: 1, key: [...ctrls].sort().join(','), root, mount });
    }
  }
  return out;
}

/** The hierarchies this process can use, from /proc/self/mountinfo and /proc/self/cgroup (or the given texts). */
export function detectHierarchies(mountinfo?: string, procCgroup?: string): Hierarchy[] {
  const mounts = parseMounts(mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  const out: Hierarchy[] = [];
  for (const line of (procCgroup ?? readFileSync('/proc/self/cgroup', 'utf8')).split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, ctrlList, path] = m as unknown as [string, string, string, string];
    const v2 = id === '0' && ctrlList === '';
    const key = v2 ? '' : ctrlList.split(',').sort().join(',');
    const mnt = mounts.find((x) => (v2 ? x.version === 2 : x.version === 1 && x.key === key));
    if (!mnt) continue;
    // Our path must lie under the mount's root; otherwise we cannot reach our cgroup through this mount.
    const rel = mnt.root === '/' ? path : path === mnt.root ? '/' : path.startsWith(`${mnt.root}/`) ? path.slice(mnt.root.length) : undefined;
    if (rel === undefined || rel.includes('/../') || rel.endsWith('/..')) continue;
    const own = rel === '/' ? mnt.mount : `${mnt.mount}${rel}`;
    out.push({ version: v2 ? 2 : 1, controllers: v2 ? [] : key.split(','), mount: mnt.mount, own, ownIsRoot: rel === '/' });
  }
  return out;
}
