/** Model → launch steps for the namespaces mechanism (see src/plan/context.ts). */
import type { Fragment } from '../plan/context.js';

export const namespacesFragment: Fragment = {
  name: 'namespaces',
  fields: [],
  build: () => [],
};
