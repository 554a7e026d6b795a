/** BPF_PROG_TEST_RUN (net/bpf/test_run.c). */
export { TEST_RUN_OPS, bpfProgTestRun } from './registry.js';
export { LOOPBACK_IFINDEX } from './common.js';
export type { TestRunAttr, TestRunEnv, TestRunNetDevice, TestRunOp, TestRunOutput, TestRunProgram, TestRunTiming } from './types.js';
