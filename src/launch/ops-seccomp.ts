/** Launch steps for installing the seccomp BPF programs compiled by src/mechanisms/seccomp.ts. */
import type { OpTable } from './compile-types.js';

export type SeccompStep = never;

export const SECCOMP_OPS: OpTable<SeccompStep> = {};
