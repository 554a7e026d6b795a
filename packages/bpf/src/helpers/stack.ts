/**
 * The stack and probe helpers (kernel/bpf/stackmap.c, kernel/trace/bpf_trace.c): bpf_get_stackid,
 * bpf_get_stack, bpf_get_func_ip and bpf_override_return.
 *
 * The kernel stack is the call chain of the hook whose programs run (RunState.hook; its chain is data in the
 * kernel's hooks/callchain.ts, addresses from /proc/kallsyms), the user stack the current task's simulated
 * user call chain. Linux's tracepoint and perf-event variants (bpf_get_stackid_tp, _pe) find the same
 * registers through their contexts; here every variant reads the running hook, so one implementation serves.
 * Nothing here allocates: the chains are computed once per hook (or program name) and kept.
 */
import { hookStack, requestOverride, userCallchain, type HookPoint, type Task } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, BPF_STACK_BUILD_ID, BPF_STACKID_F, Errno } from '@ebpf-sim/uapi';
import type { HelperContext } from '@ebpf-sim/vm';
import { PERF_MAX_STACK_DEPTH } from '../maps/perf-max-stack.js';
// Type only: the map implementations load the helper tables, which load this file.
import type { StackTraceMap } from '../maps/stackmap.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';

/** No frames: an unmodelled site, or no user context. */
const NO_FRAMES = new Uint8Array(0);

/** bpf_get_stack's known flags (BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID). */
const GET_STACK_FLAGS = BPF_STACKID_F.SKIP_FIELD_MASK | BPF_STACKID_F.USER_STACK | BPF_STACKID_F.USER_BUILD_ID;

/**
 * The kernel callchain at the running hook. A perf-event sample taken while a task runs interrupted user
 * mode: perf_callchain_kernel records nothing for user-mode regs. Test runs have no hook: no frames.
 */
function kernelChain(hook: HookPoint | null, task: Task | undefined): Uint8Array {
  if (hook === null) return NO_FRAMES;
  if (hook.kind === 'perf_event' && task !== undefined) return NO_FRAMES;
  return hookStack(hook).kernel;
}

/**
 * The user callchain of the current task (perf_callchain_user from task_pt_regs(current)); none for the idle
 * task, which has no user mm (get_perf_callchain leaves the entry empty then).
 */
function userChain(task: Task | undefined): Uint8Array {
  return task === undefined ? NO_FRAMES : userCallchain(task.comm);
}

/** A u64 flags argument: its value when it fits 32 bits, else -1 (every known flag is below bit 32: EINVAL). */
function flagsArg(ctx: HelperContext, n: number): number {
  return ctx.argNumber(n) >= 2 ** 32 ? -1 : ctx.argU32(n);
}

/**
 * bpf_get_stackid(ctx, map, flags): the id of the current stack in the STACK_TRACE map, or -errno (EINVAL
 * for unknown flags, EFAULT when the chain has no frames past `skip`, EEXIST on a bucket collision without
 * BPF_F_REUSE_STACKID, ENOMEM when the map's elements are used up). The map cuts the chain to its depth.
 */
const getStackid: HelperImpl = (env) => (ctx) => {
  const map = env.mapAt(ctx.argNumber(2));
  // The verifier lets only STACK_TRACE maps reach this helper (its mapTypes); the check keeps a stray address harmless.
  if (map?.type !== BPF_MAP_TYPE.STACK_TRACE) return -Errno.EINVAL;
  const flags = flagsArg(ctx, 3);
  if (flags < 0) return -Errno.EINVAL;
  const task = env.k.current.currentTask();
  const ips = (flags & BPF_STACKID_F.USER_STACK) !== 0 ? userChain(task) : kernelChain(env.run.hook, task);
  return (map as StackTraceMap).getStackid(ips, flags);
};

/**
 * __bpf_get_stack(regs, NULL, NULL, buf, size, flags): copies the chain (past `skip` frames, at most
 * size / elem frames) to buf, zeroes the rest, and returns the bytes copied. EINVAL (buffer zeroed) for
 * unknown flags, BPF_F_USER_BUILD_ID without BPF_F_USER_STACK, or a size that is not a whole number of
 * elements; EFAULT (zeroed) when the chain has fewer frames than `skip`. With BPF_F_USER_BUILD_ID each frame
 * is a struct bpf_stack_build_id saying BPF_STACK_BUILD_ID_IP: the simulated programs have no build id notes,
 * Linux's answer when it cannot read one.
 */
function getStackInto(env: HelperEnv, buf: number, size: number, flags: number): number {
  const bytes = env.k.phys.bytes;
  if (flags < 0 || (flags & ~GET_STACK_FLAGS) !== 0) return clearStack(bytes, buf, size, Errno.EINVAL);
  const user = (flags & BPF_STACKID_F.USER_STACK) !== 0;
  const buildId = (flags & BPF_STACKID_F.USER_BUILD_ID) !== 0;
  if (!user && buildId) return clearStack(bytes, buf, size, Errno.EINVAL);
  const elemSize = buildId ? BPF_STACK_BUILD_ID.SIZE : 8;
  if (size % elemSize !== 0) return clearStack(bytes, buf, size, Errno.EINVAL);
  const skip = flags & BPF_STACKID_F.SKIP_FIELD_MASK;
  const numElem = size / elemSize;
  const maxDepth = Math.min(numElem + skip, PERF_MAX_STACK_DEPTH);
  const task = env.k.current.currentTask();
  const ips = user ? userChain(task) : kernelChain(env.run.hook, task);
  const nr = Math.min(ips.length >>> 3, maxDepth);
  if (nr < skip) return clearStack(bytes, buf, size, Errno.EFAULT);
  const traceNr = Math.min(nr - skip, numElem);
  const copyLen = traceNr * elemSize;
  if (buildId) {
    const view = env.k.phys.view;
    for (let i = 0; i < traceNr; i++) {
      const frame = buf + i * BPF_STACK_BUILD_ID.SIZE;
      bytes.fill(0, frame, frame + 24);
      view.setInt32(frame, BPF_STACK_BUILD_ID.IP, true);
      bytes.set(ips.subarray((skip + i) * 8, (skip + i) * 8 + 8), frame + 24);
    }
  } else bytes.set(ips.subarray(skip * 8, skip * 8 + copyLen), buf);
  bytes.fill(0, buf + copyLen, buf + size);
  return copyLen;
}

/** __bpf_get_stack's `clear:` path: the buffer zeroed, -errno. */
function clearStack(bytes: Uint8Array, buf: number, size: number, errno: number): number {
  bytes.fill(0, buf, buf + size);
  return -errno;
}

/** bpf_get_stack(ctx, buf, size, flags): see {@link getStackInto}. */
const getStack: HelperImpl = (env) => (ctx) => getStackInto(env, ctx.argNumber(2), ctx.argU32(3), flagsArg(ctx, 4));

/**
 * bpf_get_func_ip(ctx) for kprobes (bpf_get_func_ip_kprobe: the probed function's entry address, kretprobes
 * included) and function-entry hooks; 0 where no function is probed (kprobe_running() is NULL).
 */
const getFuncIp: HelperImpl = (env) => () => {
  const hook = env.run.hook;
  return hook === null ? 0 : hookStack(hook).funcIp;
};

/**
 * bpf_override_return(regs, rc): regs_set_return_value + override_function_with_return on the probe's
 * pt_regs (the context); the kprobe site sees the moved ip and returns rc without running the function.
 * Always 0. Only kprobe programs may call it (the verifier), and only at functions on the error-injection
 * list may such a program attach (the attach path checks it, as perf_event_attach_bpf_prog does).
 */
const overrideReturn: HelperImpl = (env) => (ctx) => {
  const regs = ctx.argNumber(1);
  const lo = ctx.argU32(2);
  const value = ctx.argNumber(2);
  // The high half without a BigInt, exact for the sign-extended -errno values it is used with, whether the
  // engine hands the register over as a signed (-1) or an unsigned (2^64 - 1, rounded) number.
  const hi = value >= 2 ** 63 ? 0xffffffff : Math.floor(value / 2 ** 32) >>> 0;
  requestOverride(env.k.phys.view, regs, lo, hi);
  return 0;
};

export { getFuncIp, getStack, getStackid, getStackInto, overrideReturn };
