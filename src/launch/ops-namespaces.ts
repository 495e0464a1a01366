/** Launch steps for unshare/setns of net, ipc, uts, user, pid, cgroup namespaces; hostname; loopback. */
import type { OpTable } from './compile-types.js';

export type NamespaceStep = never;

export const NAMESPACE_OPS: OpTable<NamespaceStep> = {};
