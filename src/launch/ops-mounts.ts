/** Launch steps for the mount namespace: ProtectSystem, PrivateTmp, bind/tmpfs/inaccessible paths, …. */
import type { OpTable } from './compile-types.js';

export type MountStep = never;

export const MOUNT_OPS: OpTable<MountStep> = {};
