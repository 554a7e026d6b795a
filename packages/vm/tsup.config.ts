import { packageBuild } from '../../tsup.base.js';

// The main entry (browser-safe) and `@ebpf-sim/vm/node` (the tooling: bench, conformance suite).
export default packageBuild(['src/index.ts', 'src/node/index.ts']);
