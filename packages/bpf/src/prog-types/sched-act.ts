/**
 * BPF_PROG_TYPE_SCHED_ACT (tc's `act_bpf` action): Linux gives it tc_cls_act_verifier_ops, the same context,
 * prologue, helpers and return values as SCHED_CLS, and the same test run (bpf_prog_test_run_skb at L2).
 */
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { tcClsAct } from './sched-cls.js';

export const SCHED_ACT = tcClsAct('sched_act', BPF_PROG_TYPE.SCHED_ACT);
