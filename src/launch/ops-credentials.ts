/** Launch steps for User/group switch, capabilities, securebits, no_new_privs. */
import type { OpTable } from './compile-types.js';

export type CredentialStep = never;

export const CREDENTIAL_OPS: OpTable<CredentialStep> = {};
