/**
 * Helpers that call a callback of the program (kernel/bpf/bpf_iter.c: bpf_loop, bpf_for_each_map_elem;
 * kernel/bpf/ringbuf.c: bpf_user_ringbuf_drain).
 * The verifier checks the callback's body with its arguments (set_loop_callback_state,
 * set_map_elem_callback_state; prototypes' `callback`); at run time the helper calls it through
 * `HelperEnv.runCallback`, a run nested in the calling program's, on the same VM and stack.
 */
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { BPF_MAX_LOOPS } from '@ebpf-sim/vm';
import type { UserRingBufMap } from '../maps/ringbuf.js';
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/**
 * bpf_loop(nr_loops, callback_fn, callback_ctx, flags): callback_fn(i, callback_ctx) for i from 0 until it
 * returns non-zero or nr_loops calls were made; the number of calls. -EINVAL for any flag, -E2BIG for more than
 * BPF_MAX_LOOPS (1 << 23) iterations. (Linux inlines the loop when the flags are a known 0; this is the helper
 * both forms compute.)
 */
const loop: HelperImpl = (env) => (ctx) => {
  if (ctx.arg(4) !== 0n) return -Errno.EINVAL;
  const nrLoops = ctx.argU32(1);
  if (nrLoops > BPF_MAX_LOOPS) return -Errno.E2BIG;
  const fn = ctx.argNumber(2);
  const callbackCtx = ctx.argNumber(3);
  for (let i = 0; i < nrLoops; i++) {
    // Return value: 0 - continue, 1 - stop and return.
    if (env.runCallback(fn, i, callbackCtx, 0, 0) !== 0) return i + 1;
  }
  return nrLoops;
};

/**
 * bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags): callback_fn(map, key, value, callback_ctx) for
 * each element (the map type's map_for_each_callback order, this CPU's value) until it returns non-zero; the
 * number of elements visited. -EINVAL for any flag.
 */
const forEachMapElem: HelperImpl = (env) => (ctx) => {
  const mapAddress = ctx.argNumber(1);
  const map = env.mapAt(mapAddress);
  if (map === undefined) throw new Error(`bpf_for_each_map_elem: r1 (0x${mapAddress.toString(16)}) is no map's address`);
  if (ctx.arg(4) !== 0n) return -Errno.EINVAL;
  const fn = ctx.argNumber(2);
  const callbackCtx = ctx.argNumber(3);
  return map.forEachElem(env.run.cpu, env.callbackScratch(), (key, value) => env.runCallback(fn, mapAddress, key, value, callbackCtx) !== 0);
};

/**
 * bpf_user_ringbuf_drain(map, callback_fn, callback_ctx, flags): callback_fn(dynptr, callback_ctx) for each
 * record user space committed (the ring's side: UserRingBufMap.drain); the records drained, or -errno.
 */
const userRingbufDrain: HelperImpl = (env) => (ctx) => {
  const mapAddress = ctx.argNumber(1);
  const map = env.mapAt(mapAddress);
  // The verifier allows only USER_RINGBUF maps here (check_map_func_compatibility). A type import: the map
  // classes import the helper tables (through maps.ts), so the helpers may not import them at run time.
  if (map?.type !== BPF_MAP_TYPE.USER_RINGBUF) throw new Error(`bpf_user_ringbuf_drain: r1 (0x${mapAddress.toString(16)}) is no user ring buffer's address`);
  const ring = map as UserRingBufMap;
  const fn = ctx.argNumber(2);
  const callbackCtx = ctx.argNumber(3);
  const flags = ctx.arg(4) > 0xffffffffn ? -1 : ctx.argU32(4);
  return ring.drain(flags, (dynptr) => env.runCallback(fn, dynptr, callbackCtx, 0, 0));
};

export const CALLBACK_HELPERS: readonly BpfHelper[] = [
  helper('loop', { ret: 'integer', args: ['anything', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'], callback: 'loop' }, loop),
  helper(
    'for_each_map_elem',
    { ret: 'integer', args: ['const_map_ptr', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'], callback: 'map_elem' },
    forEachMapElem,
  ),
  helper(
    'user_ringbuf_drain',
    { ret: 'integer', args: ['const_map_ptr', 'ptr_to_func', 'ptr_to_stack_or_null', 'anything'], mapTypes: ['user_ringbuf'], callback: 'user_ringbuf' },
    userRingbufDrain,
  ),
];
