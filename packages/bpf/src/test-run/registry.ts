/**
 * BPF_PROG_TEST_RUN: the per-type test_run ops (bpf_prog_ops.test_run, as bpf_types.h ties them to types) and
 * the command's shared checks (bpf_prog_test_run in kernel/bpf/syscall.c).
 */
import { BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import { ENOTSUPP } from '../errno.js';
import { testRunFlowDissector } from './flow-dissector.js';
import { testRunRawTp } from './raw-tp.js';
import { testRunSkb } from './skb.js';
import { testRunSkLookup } from './sk-lookup.js';
import { testRunSyscall } from './syscall.js';
import { testRunStructOps } from './struct-ops.js';
import type { TestRunAttr, TestRunEnv, TestRunOp, TestRunOutput, TestRunProgram } from './types.js';
import { testRunXdp } from './xdp.js';

/**
 * The test_run op of each program type that has one (Linux: xdp, tc, socket filter, raw tracepoint, lwt, cgroup skb,
 * flow dissector, sk_lookup, syscall here; lwt_seg6local, sk_skb and sk_reuseport have none: ENOTSUPP, as Linux 6.18
 * answers).
 */
export const TEST_RUN_OPS: ReadonlyMap<number, TestRunOp> = new Map([
  [BPF_PROG_TYPE.XDP, testRunXdp],
  [BPF_PROG_TYPE.SCHED_CLS, testRunSkb({ isL2: true, directPacketAccess: true })],
  [BPF_PROG_TYPE.SOCKET_FILTER, testRunSkb({ isL2: false, directPacketAccess: false })],
  [BPF_PROG_TYPE.RAW_TRACEPOINT, testRunRawTp],
  [BPF_PROG_TYPE.SCHED_ACT, testRunSkb({ isL2: true, directPacketAccess: true })],
  [BPF_PROG_TYPE.LWT_IN, testRunSkb({ isL2: false, directPacketAccess: true })],
  [BPF_PROG_TYPE.LWT_OUT, testRunSkb({ isL2: false, directPacketAccess: true })],
  [BPF_PROG_TYPE.LWT_XMIT, testRunSkb({ isL2: false, directPacketAccess: true })],
  [BPF_PROG_TYPE.CGROUP_SKB, testRunSkb({ isL2: false, directPacketAccess: true })],
  [BPF_PROG_TYPE.FLOW_DISSECTOR, testRunFlowDissector],
  [BPF_PROG_TYPE.SK_LOOKUP, testRunSkLookup],
  [BPF_PROG_TYPE.SYSCALL, testRunSyscall],
  [BPF_PROG_TYPE.STRUCT_OPS, testRunStructOps],
]);

/**
 * BPF_PROG_TEST_RUN on a program: ctx_in/ctx_out must come with their sizes and the reverse (EINVAL), a type
 * without a test_run op is ENOTSUPP (524), then the type's op. Returns 0 or -errno; `out` holds what to write
 * back to the attr.
 */
export function bpfProgTestRun(prog: TestRunProgram, attr: TestRunAttr, env: TestRunEnv, out: TestRunOutput): number {
  if ((attr.ctx_size_in !== 0) !== (attr.ctx_in !== 0)) return -Errno.EINVAL;
  if ((attr.ctx_size_out !== 0) !== (attr.ctx_out !== 0)) return -Errno.EINVAL;
  const op = TEST_RUN_OPS.get(prog.progType);
  return op === undefined ? -ENOTSUPP : op(prog, attr, env, out);
}
