/**
 * The narrow interfaces of BPF_PROG_TEST_RUN (net/bpf/test_run.c): what it needs of a loaded program, of the
 * kernel, and the attr fields it reads and writes. The syscall command (and tests) supply them.
 */
import type { KernelMemory, UserCopy } from '@ebpf-sim/kernel';
import type { StructOpsProgInfo } from '../struct-ops/prog.js';

/** A loaded program as a test run uses it (the runtime's program object supplies it). */
export interface TestRunProgram {
  /** BPF_PROG_TYPE. */
  readonly progType: number;
  /** expected_attach_type at load (XDP refuses BPF_XDP_DEVMAP / BPF_XDP_CPUMAP programs). */
  readonly expectedAttachType: number;
  /** prog->aux->max_ctx_offset: the end of the furthest context byte the program reads (raw_tp's ctx_size_in floor). */
  readonly maxCtxOffset: number;
  /**
   * Run the program `repeat` times on the context at `ctx` on CPU `cpu`, as bpf_test_run's loop does (the same
   * context every run, nothing reset between): r0 of the last run as a u32, or a string saying how a run
   * faulted (a verified program does not fault; the test run answers EFAULT if one does).
   */
  runRepeat(ctx: number, repeat: number, cpu: number): number | string;
  /** A STRUCT_OPS program's type and member (prog->aux->st_ops): its test run is the type's. */
  readonly structOps?: StructOpsProgInfo;
}

/** A network device a test run may name (ingress_ifindex, ifindex). */
export interface TestRunNetDevice {
  readonly ifindex: number;
  /** Its struct net_device. */
  readonly netdev: number;
  /** real_num_rx_queues. */
  readonly rxQueues: number;
  /** The struct xdp_rxq_info of RX queue `queue`. */
  rxqInfoOf(queue: number): number;
}

/** How the duration is measured: `steady` (the default) warms the engine up first; `once` times the run alone. */
export type TestRunTiming = 'steady' | 'once';

/** What a test run uses of the kernel. */
export interface TestRunEnv {
  readonly phys: Pick<KernelMemory, 'kmalloc' | 'kfree' | 'view' | 'bytes'>;
  /** The calling process's memory (data_in/out, ctx_in/out). */
  readonly user: UserCopy;
  /** dev_get_by_index for ifindex above 1 (1 is the loopback device the test run builds itself). */
  netdevByIfindex(ifindex: number): TestRunNetDevice | undefined;
  /** nr_cpu_ids. */
  readonly nrCpus: number;
  /** The CPU the calling task runs on (get_cpu). */
  readonly currentCpu: number;
  /** Wall-clock time in ns: a test run's duration is real time per run, as Linux reports it. */
  now(): number;
  readonly timing: TestRunTiming;
  /** The calling task's struct cgroup (what cgroup_sk_alloc gives the skb test run's dummy socket); 0 for none. */
  readonly cgroupAddress?: number;
}

/** The `test` member of union bpf_attr that BPF_PROG_TEST_RUN reads (uapi BPF_ATTR_LAYOUTS.PROG_TEST_RUN). */
export interface TestRunAttr {
  readonly data_in: number;
  readonly data_size_in: number;
  readonly data_out: number;
  readonly data_size_out: number;
  readonly repeat: number;
  readonly duration: number;
  readonly ctx_in: number;
  readonly ctx_size_in: number;
  readonly ctx_out: number;
  readonly ctx_size_out: number;
  readonly flags: number;
  readonly cpu: number;
  readonly batch_size: number;
}

/** The attr fields a test run writes back to user space; a field left undefined is not written (as Linux leaves it). */
export interface TestRunOutput {
  retval?: number;
  data_size_out?: number;
  duration?: number;
  ctx_size_out?: number;
}

/** One program type's test_run op (bpf_prog_ops.test_run): 0 or -errno, the outputs in `out`. */
export type TestRunOp = (prog: TestRunProgram, attr: TestRunAttr, env: TestRunEnv, out: TestRunOutput) => number;
