/** Launch steps for nice, CPU affinity, scheduling, I/O priority, OOM score, cgroup placement, personality, keyring, …. */
import type { OpTable } from './compile-types.js';

export type ResourceStep = never;

export const RESOURCE_OPS: OpTable<ResourceStep> = {};
