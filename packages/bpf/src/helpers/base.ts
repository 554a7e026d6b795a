/**
 * Helpers every program type reaches through bpf_base_func_proto (kernel/bpf/helpers.c): time, randomness,
 * CPU ids, and the privileged ones (trace_printk, probe reads, current task), with their implementations
 * (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c).
 */
import type { Task } from '@ebpf-sim/kernel';
import type { BpfFuncName } from '@ebpf-sim/uapi';
import type { HelperContext } from '@ebpf-sim/vm';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { Bprintf, MAX_TRACE_PRINTK_VARARGS } from './bprintf.js';
import { helper, type BpfHelper } from './define.js';
import { copyFromKernelNofault, copyFromUserNofault, strncpyFromKernelNofault, strncpyFromUserNofault } from './nofault.js';

/**
 * The tick the coarse clock and jiffies advance by. HZ = 1000, CONFIG_HZ of x86_64_defconfig and of the
 * simulated kernel's default scheduler tick (config `tickNs` 1 ms); distributions also ship 250 (this
 * machine's 6.18 has CONFIG_HZ=250) and 100.
 */
export const HZ = 1000;
const TICK_NSEC = 1_000_000_000 / HZ;
/**
 * INITIAL_JIFFIES ((unsigned long)(unsigned int)(-300 * HZ)): jiffies start 5 minutes before the 32-bit
 * wrap, so wrap bugs show early; jiffies_64 counts from there.
 */
export const INITIAL_JIFFIES = 2 ** 32 - 300 * HZ;

/** ktime_get_ns / ktime_get_boot_fast_ns / ktime_get_tai_fast_ns: virtual time since boot. The simulated
 * machine never suspends (boot time is monotonic time) and its realtime clock starts at the boot with a TAI
 * offset of 0 (Linux's until adjtimex sets one), so all three read the clock. */
const ktimeGetNs: HelperImpl = (env) => () => env.k.clock.now;

/** ktime_get_coarse_ns: the time of the last tick (timekeeping updated at tick granularity). */
const ktimeGetCoarseNs: HelperImpl = (env) => () => Math.floor(env.k.clock.now / TICK_NSEC) * TICK_NSEC;

/** bpf_jiffies64: get_jiffies_64(), INITIAL_JIFFIES plus the ticks since boot. */
const jiffies64: HelperImpl = (env) => () => INITIAL_JIFFIES + Math.floor(env.k.clock.now / TICK_NSEC);

/** bpf_get_prandom_u32: the kernel's seeded PRNG (Linux: a per-CPU prandom state seeded at boot). */
const getPrandomU32: HelperImpl = (env) => () => env.k.random.nextU32() >>> 0;

/** bpf_get_smp_processor_id: the CPU the program runs on. */
const getSmpProcessorId: HelperImpl = (env) => () => env.run.cpu;

/** bpf_get_numa_node_id: the simulated machine is one NUMA node. */
const getNumaNodeId: HelperImpl = () => () => 0;

/**
 * bpf_get_current_pid_tgid: (tgid << 32) | pid of the current task. With no task on the CPU (an idle CPU, an
 * interrupt) Linux's current is the CPU's idle task, swapper/N, whose pid and tgid are 0.
 */
const getCurrentPidTgid: HelperImpl = (env) => () => {
  const task = env.k.current.currentTask();
  return task === undefined ? 0 : task.tgid * 2 ** 32 + task.pid;
};

/**
 * bpf_get_current_task: `current` as a kernel address, the task_struct the kernel keeps for the running task
 * (or the CPU's idle task, swapper/N). A program reads its fields with probe_read_kernel at the offsets the
 * vmlinux BTF gives (/sys/kernel/btf/vmlinux).
 */
const getCurrentTask: HelperImpl = (env) => () => env.k.current.currentTaskStruct(env.run.cpu);

/** The current task's user memory, or none (no task on the CPU: Linux's idle task has no mm). */
function currentUser(env: HelperEnv): ReturnType<HelperEnv['k']['userMemory']['of']> | undefined {
  const task: Task | undefined = env.k.current.currentTask();
  return task === undefined ? undefined : env.k.userMemory.of(task);
}

/**
 * bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): bpf_bprintf_prepare then bstr_printf (bprintf.ts), the
 * message written to trace_pipe through trace_bpf_trace_printk; returns the formatted length or -errno.
 */
const tracePrintk: HelperImpl = (env) => {
  const printf = new Bprintf({ mem: env.k.phys, user: () => currentUser(env) }, () => env.k.random.nextU32());
  const args: bigint[] = new Array<bigint>(MAX_TRACE_PRINTK_VARARGS).fill(0n);
  return (ctx) => {
    for (let i = 0; i < MAX_TRACE_PRINTK_VARARGS; i++) args[i] = ctx.arg(3 + i);
    const result = printf.format(ctx.argNumber(1), ctx.argU32(2), args);
    if (typeof result === 'number') return result;
    env.trace.printk(result.message);
    return result.length;
  };
};

/** The (dst, size, unsafe_ptr) arguments of the probe reads. */
type ProbeRead = (env: HelperEnv, dst: number, size: number, src: number) => number;

/** A probe-read helper: run `read`, and on failure zero the destination (bpf_probe_read_*_common's memset). */
function probeRead(read: ProbeRead): HelperImpl {
  return (env) => (ctx: HelperContext) => {
    const dst = ctx.argNumber(1);
    const size = ctx.argU32(2);
    const ret = read(env, dst, size, ctx.argNumber(3));
    if (ret < 0) env.k.phys.bytes.fill(0, dst, dst + size);
    return ret;
  };
}

/** bpf_probe_read_kernel: copy_from_kernel_nofault; 0, -ERANGE (NULL page) or -EFAULT. */
const probeReadKernel = probeRead((env, dst, size, src) => copyFromKernelNofault(env.k.phys, env.k.phys.bytes, dst, src, size));
/** bpf_probe_read_kernel_str: strncpy_from_kernel_nofault; the length with the NUL, or -errno. */
const probeReadKernelStr = probeRead((env, dst, size, src) => strncpyFromKernelNofault(env.k.phys, env.k.phys.bytes, dst, src, size));
/** bpf_probe_read_user: copy_from_user_nofault from the current task's address space; 0 or -EFAULT. */
const probeReadUser = probeRead((env, dst, size, src) => copyFromUserNofault(currentUser(env), env.k.phys.bytes, dst, src, size));
/** bpf_probe_read_user_str: strncpy_from_user_nofault; the length with the NUL, or -EFAULT. */
const probeReadUserStr = probeRead((env, dst, size, src) => strncpyFromUserNofault(currentUser(env), env.k.phys.bytes, dst, src, size));

export const BASE_HELPERS: readonly BpfHelper[] = [
  helper('ktime_get_ns', { ret: 'integer', args: [] }, ktimeGetNs),
  helper('ktime_get_boot_ns', { ret: 'integer', args: [] }, ktimeGetNs),
  helper('ktime_get_coarse_ns', { ret: 'integer', args: [] }, ktimeGetCoarseNs),
  helper('ktime_get_tai_ns', { ret: 'integer', args: [] }, ktimeGetNs),
  helper('jiffies64', { ret: 'integer', args: [] }, jiffies64),
  helper('get_prandom_u32', { ret: 'integer', args: [] }, getPrandomU32),
  helper('get_current_pid_tgid', { ret: 'integer', args: [] }, getCurrentPidTgid),
  helper('get_smp_processor_id', { ret: 'integer', args: [] }, getSmpProcessorId),
  helper('get_numa_node_id', { ret: 'integer', args: [] }, getNumaNodeId),
  helper('trace_printk', { ret: 'integer', args: ['ptr_to_mem', 'const_size'], gplOnly: true }, tracePrintk),
  helper('get_current_task', { ret: 'integer', args: [], gplOnly: true }, getCurrentTask),
  // bpf_get_current_task_btf returns `current` as bpf_get_current_task does; only the verifier's view differs (a trusted task_struct).
  helper('get_current_task_btf', { ret: 'ptr_to_btf_id', args: [], gplOnly: true, retBtfName: 'task_struct' }, getCurrentTask),
  helper('probe_read', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_str', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_user', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }, probeReadUser),
  helper('probe_read_kernel', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }, probeReadKernel),
  helper('probe_read_user_str', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }, probeReadUserStr),
  helper('probe_read_kernel_str', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }, probeReadKernelStr),
];

/** Helpers of bpf_base_func_proto any program may call without CAP_BPF (the first switch in Linux). */
export const UNPRIVILEGED_BASE: readonly BpfFuncName[] = [
  'map_lookup_elem',
  'map_update_elem',
  'map_delete_elem',
  'map_push_elem',
  'map_pop_elem',
  'map_peek_elem',
  'map_lookup_percpu_elem',
  'get_prandom_u32',
  'get_smp_processor_id',
  'get_numa_node_id',
  'tail_call',
  'ktime_get_ns',
  'ktime_get_boot_ns',
  'ktime_get_tai_ns',
  'ringbuf_output',
  'ringbuf_reserve',
  'ringbuf_submit',
  'ringbuf_discard',
  'ringbuf_query',
];
/**
 * Base helpers behind CAP_BPF (spin locks, jiffies, get_current_pid_tgid: Linux 6.18 lets XDP call it) and
 * CAP_PERFMON (printk, probe reads, current task).
 */
export const PRIVILEGED_BASE: readonly BpfFuncName[] = [
  'spin_lock',
  'spin_unlock',
  // The callback-calling helpers are in bpf_base_func_proto's CAP_BPF part (with the timers).
  'for_each_map_elem',
  'loop',
  'user_ringbuf_drain',
  'dynptr_read',
  'dynptr_from_mem',
  'dynptr_write',
  'dynptr_data',
  'ringbuf_reserve_dynptr',
  'ringbuf_submit_dynptr',
  'ringbuf_discard_dynptr',
  'timer_init',
  'timer_set_callback',
  'timer_start',
  'timer_cancel',
  'jiffies64',
  'get_current_pid_tgid',
  'trace_printk',
  'get_current_task',
  'get_current_task_btf',
  'probe_read_user',
  'probe_read_kernel',
  'probe_read_user_str',
  'probe_read_kernel_str',
  // The cgroup helpers are in bpf_base_func_proto's CAP_BPF part in 6.18 (an XDP program may call them: verified).
  'get_current_cgroup_id',
  'get_current_ancestor_cgroup_id',
  'cgrp_storage_get',
  'cgrp_storage_delete',
];
