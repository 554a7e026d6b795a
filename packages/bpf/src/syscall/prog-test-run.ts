/**
 * BPF_PROG_TEST_RUN (kernel/bpf/syscall.c bpf_prog_test_run): the program behind prog_fd run by its type's
 * test_run op (../test-run/) on the runtime's VM, the attr's outputs (retval, data_size_out, duration,
 * ctx_size_out) written back to user space where the op set them.
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_FUNC, Errno, type BpfFuncName } from '@ebpf-sim/uapi';
import type { BpfRuntime } from '../runtime/runtime.js';
import { bpfProgTestRun, type TestRunAttr, type TestRunEnv, type TestRunOutput, type TestRunProgram } from '../test-run/index.js';
import type { BpfServices } from './bpf-syscall.js';
import type { ProgObject } from './prog.js';

const T = BPF_ATTR_LAYOUTS.PROG_TEST_RUN;

/** What the command uses of the syscall: the attr block, the program fds and the runtime. */
export interface TestRunSyscall {
  u32(offset: number): number;
  u64(offset: number): number;
  putU32(mm: UserCopy, address: number, value: number): number;
  progFromFd(task: Task, fd: number): ProgObject | number;
  readonly runtime: BpfRuntime;
}

/**
 * Helpers whose effects stay in the run's own context and packet, or that only read: a program calling no
 * others, and using no map, may run untimed warm-up runs on scratch copies of the input (timing.ts) without
 * anyone seeing them. Any other program is timed on its `repeat` runs alone, as Linux runs it exactly `repeat`
 * times: a warm-up run would bump a map counter, print to trace_pipe or advance the PRNG.
 */
const WARM_UP_SAFE_HELPERS: ReadonlySet<number> = new Set(
  (
    [
      'xdp_adjust_head',
      'xdp_adjust_tail',
      'xdp_adjust_meta',
      'xdp_load_bytes',
      'xdp_store_bytes',
      'xdp_get_buff_len',
      'csum_diff',
      'l3_csum_replace',
      'l4_csum_replace',
      'skb_load_bytes',
      'skb_store_bytes',
      'skb_pull_data',
      'redirect',
      'ktime_get_ns',
      'ktime_get_boot_ns',
      'ktime_get_coarse_ns',
      'ktime_get_tai_ns',
      'jiffies64',
      'get_smp_processor_id',
      'get_numa_node_id',
    ] satisfies BpfFuncName[]
  ).map((name) => BPF_FUNC[name]),
);

const BPF_CALL = 0x85;
const INSN_SIZE = 8;

/** The program's runs are invisible outside its context: no maps, and only {@link WARM_UP_SAFE_HELPERS} called. */
function warmUpSafe(prog: ProgObject): boolean {
  if (prog.usedMaps.length > 0) return false;
  const xlated = prog.xlated;
  for (let at = 0; at + INSN_SIZE <= xlated.length; at += INSN_SIZE) {
    // A helper call: BPF_JMP | BPF_CALL with src_reg 0 (1 is a bpf-to-bpf call, 2 a kfunc).
    if (xlated[at] !== BPF_CALL) continue;
    const src = (xlated[at + 1] ?? 0) >> 4;
    if (src === 1) continue;
    const id = (xlated[at + 4] ?? 0) | ((xlated[at + 5] ?? 0) << 8) | ((xlated[at + 6] ?? 0) << 16) | ((xlated[at + 7] ?? 0) << 24);
    if (src !== 0 || !WARM_UP_SAFE_HELPERS.has(id)) return false;
  }
  return true;
}

/** A loaded program as the test run drives it: `repeat` runs on the runtime's VM with the run state set (and restored). */
function testRunProgram(runtime: BpfRuntime, prog: ProgObject): TestRunProgram {
  return {
    progType: prog.progType,
    expectedAttachType: prog.expectedAttachType,
    maxCtxOffset: prog.maxCtxOffset,
    ...(prog.structOps === undefined ? {} : { structOps: prog.structOps }),
    runRepeat(ctx, repeat, cpu) {
      if (!runtime.runRepeat(prog, ctx, cpu, repeat)) return runtime.vmOf(prog).fault?.message ?? 'the program faulted';
      return Number(runtime.vmOf(prog).r0 & 0xffffffffn);
    },
  };
}

/** bpf_prog_test_run: 0 or -errno; the outputs the op produced are written to `uattr` either way. */
export function progTestRun(sys: TestRunSyscall, k: BpfServices, task: Task, mm: UserCopy, uattr: number): number {
  const prog = sys.progFromFd(task, sys.u32(T.prog_fd.offset));
  if (typeof prog === 'number') return prog;
  const attr: TestRunAttr = {
    data_in: sys.u64(T.data_in.offset),
    data_size_in: sys.u32(T.data_size_in.offset),
    data_out: sys.u64(T.data_out.offset),
    data_size_out: sys.u32(T.data_size_out.offset),
    repeat: sys.u32(T.repeat.offset),
    duration: sys.u32(T.duration.offset),
    ctx_in: sys.u64(T.ctx_in.offset),
    ctx_size_in: sys.u32(T.ctx_size_in.offset),
    ctx_out: sys.u64(T.ctx_out.offset),
    ctx_size_out: sys.u32(T.ctx_size_out.offset),
    flags: sys.u32(T.flags.offset),
    cpu: sys.u32(T.cpu.offset),
    batch_size: sys.u32(T.batch_size.offset),
  };
  const env: TestRunEnv = {
    phys: k.phys,
    user: mm,
    netdevByIfindex: (ifindex) => k.devices?.netByIndex(ifindex),
    nrCpus: k.hookArena.nrCpus,
    currentCpu: k.current.currentCpu,
    now: () => performance.now() * 1e6,
    // With run accounting on, a warm-up run would show in run_cnt: only the `repeat` runs happen then.
    timing: warmUpSafe(prog) && !sys.runtime.statsEnabled ? 'steady' : 'once',
    cgroupAddress: k.current.currentTask()?.cgroup?.kernelAddress ?? 0,
  };
  const out: TestRunOutput = {};
  const ret = bpfProgTestRun(testRunProgram(sys.runtime, prog), attr, env, out);
  // Linux writes these with put_user as it goes: a fault there is EFAULT.
  const writes: ReadonlyArray<readonly [number | undefined, number]> = [
    [out.retval, T.retval.offset],
    [out.data_size_out, T.data_size_out.offset],
    [out.duration, T.duration.offset],
    [out.ctx_size_out, T.ctx_size_out.offset],
  ];
  for (const [value, offset] of writes) {
    if (value !== undefined && sys.putU32(mm, uattr + offset, value) < 0) return -Errno.EFAULT;
  }
  return ret;
}
