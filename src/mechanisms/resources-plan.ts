/** Model → launch steps for the resources mechanism (see src/plan/context.ts). */
import type { Fragment } from '../plan/context.js';

export const resourcesFragment: Fragment = {
  name: 'resources',
  fields: [],
  build: () => [],
};
