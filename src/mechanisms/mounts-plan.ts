/** Model → launch steps for the mounts mechanism (see src/plan/context.ts). */
import type { Fragment } from '../plan/context.js';

export const mountsFragment: Fragment = {
  name: 'mounts',
  fields: [],
  build: () => [],
};
