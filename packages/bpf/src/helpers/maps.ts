/**
 * Map helpers (kernel/bpf/helpers.c, ringbuf.c): Linux helper numbers and bpf_func_proto argument and
 * return types.
 */
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { ringbufOfSample } from '../maps/ringbuf-records.js';
import type { RingBufMap } from '../maps/ringbuf.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** The ring buffer a program names in r1 (the verifier allows only RINGBUF maps there), or undefined. */
function ringAt(env: HelperEnv, address: number): RingBufMap | undefined {
  const map = env.mapAt(address);
  return map?.type === BPF_MAP_TYPE.RINGBUF ? (map as RingBufMap) : undefined;
}

/** bpf_ringbuf_output(map, data, size, flags): 0, -EINVAL for unknown flags, -EAGAIN when the record does not fit. */
const ringbufOutput: HelperImpl = (env) => (ctx) =>
  ringAt(env, ctx.argNumber(1))?.output(ctx.argNumber(2), ctx.argNumber(3), ctx.argNumber(4)) ?? -Errno.EINVAL;

/** bpf_ringbuf_reserve(map, size, flags): the sample's address, or NULL (also for any flags, which are reserved). */
const ringbufReserve: HelperImpl = (env) => (ctx) => (ctx.argNumber(3) !== 0 ? 0 : (ringAt(env, ctx.argNumber(1))?.reserve(ctx.argNumber(2)) ?? 0));

/** bpf_ringbuf_submit / bpf_ringbuf_discard(sample, flags): the ring is found from the record header's pg_off. */
const ringbufCommit =
  (discard: boolean): HelperImpl =>
  (env) => {
    const { bytes, view } = env.k.phys;
    return (ctx) => {
      const sample = ctx.argNumber(1);
      ringbufOfSample(bytes, view, sample)?.commit(sample, ctx.argU32(2), discard);
      return 0;
    };
  };

/** bpf_ringbuf_query(map, flags). */
const ringbufQuery: HelperImpl = (env) => (ctx) => ringAt(env, ctx.argNumber(1))?.query(ctx.argNumber(2)) ?? 0;

export const MAP_HELPERS: readonly BpfHelper[] = [
  helper('map_lookup_elem', { ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'], constKeyNeverNull: true }),
  helper('map_update_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'] }),
  helper('map_delete_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key'] }),
  helper('map_push_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_value', 'anything'], mapTypes: ['queue', 'stack'] }),
  helper('map_pop_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] }),
  helper('map_peek_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] }),
  helper('map_lookup_percpu_elem', {
    ret: 'ptr_to_map_value_or_null',
    args: ['const_map_ptr', 'ptr_to_map_key', 'anything'],
    mapTypes: ['percpu_hash', 'percpu_array', 'lru_percpu_hash'],
  }),
  helper('ringbuf_output', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_mem', 'const_size_or_zero', 'anything'], mapTypes: ['ringbuf'] }, ringbufOutput),
  helper(
    'ringbuf_reserve',
    {
      ret: 'ptr_to_ringbuf_mem_or_null',
      args: ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'],
      mapTypes: ['ringbuf'],
    },
    ringbufReserve,
  ),
  helper('ringbuf_submit', { ret: 'void', args: ['ptr_to_ringbuf_mem', 'anything'], releases: true }, ringbufCommit(false)),
  helper('ringbuf_discard', { ret: 'void', args: ['ptr_to_ringbuf_mem', 'anything'], releases: true }, ringbufCommit(true)),
  helper('ringbuf_query', { ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['ringbuf'] }, ringbufQuery),
  helper('spin_lock', { ret: 'void', args: ['ptr_to_spin_lock'], lock: 'acquire' }),
  helper('spin_unlock', { ret: 'void', args: ['ptr_to_spin_lock'], lock: 'release' }),
  helper('tail_call', { ret: 'void', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], mapTypes: ['prog_array'], tailCall: true }),
];
