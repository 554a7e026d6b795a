import { packageBuild } from '../../tsup.base.js';

/** The package and its `./demo` subpath (workloads, hook tour, bench and their tables). */
export default packageBuild(['src/index.ts', 'src/demo/index.ts']);
