/** Model → launch steps for the credentials mechanism (see src/plan/context.ts). */
import type { Fragment } from '../plan/context.js';

export const credentialsFragment: Fragment = {
  name: 'credentials',
  fields: [],
  build: () => [],
};
