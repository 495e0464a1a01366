/** Model → launch steps for the seccomp mechanism (see src/plan/context.ts). */
import type { Fragment } from '../plan/context.js';

export const seccompFragment: Fragment = {
  name: 'seccomp',
  fields: [],
  build: () => [],
};
