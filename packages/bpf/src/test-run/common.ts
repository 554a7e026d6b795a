/**
 * The shared half of net/bpf/test_run.c: bpf_ctx_init / bpf_ctx_finish (ctx_in, ctx_out), bpf_test_init's
 * buffer, bpf_test_finish (data_out, data_size_out, retval, duration), bpf_test_run's loop and timer, and the
 * loopback device frames come in on.
 */
import { NET_DEVICE, XDP_RXQ_INFO, XDP_RXQ_REG_STATE_REGISTERED } from '@ebpf-sim/kernel';
import { Errno, PAGE_SIZE } from '@ebpf-sim/uapi';
import { writePtr } from '../net/xdp.js';
import { measureSteadyState, type ScratchContext } from './timing.js';
import type { TestRunAttr, TestRunEnv, TestRunNetDevice, TestRunOutput, TestRunProgram } from './types.js';

/** SMP_CACHE_BYTES on x86_64: SKB_DATA_ALIGN's unit. */
const SMP_CACHE_BYTES = 64;
/** The largest u32 (a duration above it is reported as U32_MAX). */
const U32_MAX = 0xffffffff;
/** The loopback device's ifindex (always 1 in Linux). */
export const LOOPBACK_IFINDEX = 1;

/** SKB_DATA_ALIGN. */
export function skbDataAlign(size: number): number {
  return Math.ceil(size / SMP_CACHE_BYTES) * SMP_CACHE_BYTES;
}

/** Kernel allocations of one test run, freed together (kzalloc'd: zeroed as Linux's are). */
export class TestRunAllocations {
  private readonly addresses: number[] = [];
  constructor(private readonly env: TestRunEnv) {}

  /** `size` zeroed bytes, or -1 (the caller answers ENOMEM). */
  kzalloc(size: number): number {
    const address = this.env.phys.kmalloc(size, 'bpf-test-run');
    if (address < 0) return -1;
    this.env.phys.bytes.fill(0, address, address + size);
    this.addresses.push(address);
    return address;
  }

  /** Give back what has not been freed already (`freed`: addresses a helper released, such as fragment pages). */
  freeAll(): void {
    for (const address of this.addresses) this.env.phys.kfree(address);
    this.addresses.length = 0;
  }
}

/**
 * The loopback device (net->loopback_dev) a test run's frame arrives on: one RX queue, registered. The
 * simulated kernel probes no `lo`, so each test run builds its own, and frees it with the run.
 */
export function buildLoopback(env: TestRunEnv, allocs: TestRunAllocations): TestRunNetDevice | undefined {
  const netdev = allocs.kzalloc(NET_DEVICE.size);
  const rxq = allocs.kzalloc(XDP_RXQ_INFO.size);
  if (netdev < 0 || rxq < 0) return undefined;
  const view = env.phys.view;
  view.setUint32(netdev + NET_DEVICE.ifindex, LOOPBACK_IFINDEX, true);
  view.setUint32(netdev + NET_DEVICE.mtu, 65536, true);
  env.phys.bytes.set(Uint8Array.of(0x6c, 0x6f), netdev + NET_DEVICE.name);
  writePtr(view, rxq + XDP_RXQ_INFO.dev, netdev);
  view.setUint32(rxq + XDP_RXQ_INFO.reg_state, XDP_RXQ_REG_STATE_REGISTERED, true);
  return { ifindex: LOOPBACK_IFINDEX, netdev, rxQueues: 1, rxqInfoOf: () => rxq };
}

/** dev_get_by_index: ifindex 1 is the loopback device, the rest the kernel's. */
export function deviceByIndex(env: TestRunEnv, lo: TestRunNetDevice, ifindex: number): TestRunNetDevice | undefined {
  return ifindex === LOOPBACK_IFINDEX ? lo : env.netdevByIfindex(ifindex);
}

/**
 * A kernel copy of the `size` bytes of user context at `ctxIn` (memdup_user) for the test runs that run on the
 * caller's context as it is (raw_tp, syscall): its address, 0 for no context, or -ENOMEM / -EFAULT.
 */
export function ctxCopyIn(env: TestRunEnv, allocs: TestRunAllocations, ctxIn: number, size: number): number {
  if (size === 0) return 0;
  const ctx = allocs.kzalloc(size);
  if (ctx < 0) return -Errno.ENOMEM;
  return env.user.copyFromUser(ctxIn, env.phys.bytes, ctx, size) ? ctx : -Errno.EFAULT;
}

/**
 * bpf_ctx_init: ctx_in copied into a zeroed struct of `maxSize` bytes. null without ctx_in and ctx_out; -E2BIG for
 * a larger ctx_in whose tail is not zero (bpf_check_uarg_tail_zero, above a page always), -EFAULT for bad memory.
 */
export function ctxInit(attr: TestRunAttr, env: TestRunEnv, maxSize: number): Uint8Array | null | number {
  if (attr.ctx_in === 0 && attr.ctx_out === 0) return null;
  const ctx = new Uint8Array(maxSize);
  if (attr.ctx_in === 0) return ctx;
  const size = attr.ctx_size_in;
  if (size > PAGE_SIZE) return -Errno.E2BIG;
  if (size > maxSize) {
    const tail = new Uint8Array(size - maxSize);
    if (!env.user.copyFromUser(attr.ctx_in + maxSize, tail, 0, tail.length)) return -Errno.EFAULT;
    if (tail.some((byte) => byte !== 0)) return -Errno.E2BIG;
  }
  return env.user.copyFromUser(attr.ctx_in, ctx, 0, Math.min(size, maxSize)) ? ctx : -Errno.EFAULT;
}

/** bpf_ctx_finish: the context back to ctx_out (at most ctx_size_out bytes: then -ENOSPC) and its size to ctx_size_out. */
export function ctxFinish(attr: TestRunAttr, env: TestRunEnv, out: TestRunOutput, ctx: Uint8Array | null): number {
  if (ctx === null || attr.ctx_out === 0) return 0;
  let err = 0;
  let copy = ctx.length;
  if (copy > attr.ctx_size_out) {
    copy = attr.ctx_size_out;
    err = -Errno.ENOSPC;
  }
  if (!env.user.copyToUser(attr.ctx_out, ctx, 0, copy)) return -Errno.EFAULT;
  out.ctx_size_out = ctx.length;
  return err;
}

/**
 * bpf_test_finish: `data` (the packet as it is after the run, `fragsSize` of it in fragments) to data_out,
 * clamped to a non-zero data_size_out (-ENOSPC, the full size still reported); data_size_out, retval and
 * duration written back. When the hint does not even cover the fragments Linux writes nothing and answers ENOSPC.
 */
export function testFinish(
  attr: TestRunAttr,
  env: TestRunEnv,
  out: TestRunOutput,
  data: Uint8Array,
  fragsSize: number,
  retval: number,
  duration: number,
): number {
  let err = 0;
  let copy = data.length;
  if (attr.data_size_out !== 0 && copy > attr.data_size_out) {
    copy = attr.data_size_out;
    err = -Errno.ENOSPC;
  }
  if (attr.data_out !== 0) {
    // The linear part is cut so that the fragments fit behind it (data_out = linear[0, len) then the fragments).
    const len = copy - fragsSize;
    if (len < 0) return -Errno.ENOSPC;
    if (!env.user.copyToUser(attr.data_out, data, 0, len)) return -Errno.EFAULT;
    const frags = data.length - fragsSize;
    if (!env.user.copyToUser(attr.data_out + len, data, frags, copy - len)) return -Errno.EFAULT;
  }
  out.data_size_out = data.length;
  out.retval = retval;
  out.duration = duration;
  return err;
}

/** The outcome of bpf_test_run: -errno, or the last run's r0 and the time per run in ns. */
export interface TestRunResult {
  readonly err: number;
  readonly retval: number;
  readonly duration: number;
}

/**
 * bpf_test_run: `repeat` runs (0 means 1) of `prog` on `ctx`, timed as bpf_test_timer does (total time / runs,
 * at most U32_MAX). With `steady` timing the engine is warmed up first on contexts `scratch` builds (a fresh
 * copy of the input each), and the duration is the steady-state time per run (see timing.ts); the reported
 * retval and packet are those of the run on `ctx`.
 */
export function bpfTestRun(
  prog: TestRunProgram,
  ctx: number,
  repeatIn: number,
  cpu: number,
  env: TestRunEnv,
  scratch: () => ScratchContext | undefined,
): TestRunResult {
  const repeat = repeatIn === 0 ? 1 : repeatIn;
  const steady = env.timing === 'steady' ? measureSteadyState(prog, repeat, cpu, env, scratch) : NaN;
  const t0 = env.now();
  const retval = prog.runRepeat(ctx, repeat, cpu);
  const total = env.now() - t0;
  if (typeof retval === 'string') return { err: -Errno.EFAULT, retval: 0, duration: 0 };
  const perRun = Number.isNaN(steady) ? total / repeat : steady;
  return { err: 0, retval: retval >>> 0, duration: Math.min(U32_MAX, Math.floor(perRun)) };
}
