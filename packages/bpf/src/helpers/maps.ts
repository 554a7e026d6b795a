/**
 * Map helpers (kernel/bpf/helpers.c, ringbuf.c): Linux helper numbers, bpf_func_proto argument and return
 * types, and the implementations of the generic map helpers, which call the map's own ops as Linux's
 * `map->ops->map_*_elem` (the ringbuf helpers are implemented with the ring buffer map).
 */
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import type { HelperContext } from '@ebpf-sim/vm';
import { ringbufOfSample } from '../maps/ringbuf-records.js';
import type { RingBufMap } from '../maps/ringbuf.js';
import type { BpfMap } from '../maps/map.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/**
 * The map a program passes in r1 (its kernel address, as the LD imm64 was fixed up at load). The verifier
 * proves the argument is a map pointer, so anything else means the program was not fixed up: the helper
 * throws, which the VM turns into a helper-error fault of the program, not a crash of the kernel.
 */
function mapArg(env: HelperEnv, ctx: HelperContext, helperName: string): BpfMap {
  const address = ctx.argNumber(1);
  const map = env.mapAt(address);
  if (map === undefined) throw new Error(`${helperName}: r1 (0x${address.toString(16)}) is no map's address; was the program's map fd fixed up at load?`);
  return map;
}

/**
 * A u64 `flags` argument as the map ops take it: the low 32 bits, or all ones when the high half is set.
 * Every map type answers EINVAL for flags above BPF_EXIST | BPF_F_LOCK (Linux compares the u64), and all
 * ones is above them for every type, so no flag bit is lost by passing a number.
 */
function flagsArg(ctx: HelperContext, n: number): number {
  return ctx.argNumber(n) > 0xffffffff ? 0xffffffff : ctx.argU32(n);
}

/** bpf_map_lookup_elem: the value's address (this CPU's slot of a per-CPU map) or NULL. */
const mapLookupElem: HelperImpl = (env) => (ctx) => mapArg(env, ctx, 'bpf_map_lookup_elem').lookup(ctx.argNumber(2), env.run.cpu);

/** bpf_map_update_elem: 0 or -errno (E2BIG when full, EEXIST / ENOENT for BPF_NOEXIST / BPF_EXIST, EINVAL for bad flags). */
const mapUpdateElem: HelperImpl = (env) => (ctx) =>
  mapArg(env, ctx, 'bpf_map_update_elem').update(ctx.argNumber(2), ctx.argNumber(3), flagsArg(ctx, 4), env.run.cpu);

/** bpf_map_delete_elem: 0 or -errno (ENOENT; EINVAL for an array). */
const mapDeleteElem: HelperImpl = (env) => (ctx) => mapArg(env, ctx, 'bpf_map_delete_elem').delete(ctx.argNumber(2));

/** bpf_map_push_elem (QUEUE, STACK, BLOOM_FILTER): 0 or -errno. */
const mapPushElem: HelperImpl = (env) => (ctx) => mapArg(env, ctx, 'bpf_map_push_elem').push(ctx.argNumber(2), flagsArg(ctx, 3));

/** bpf_map_pop_elem (QUEUE, STACK): 0, or -ENOENT with the buffer zeroed. */
const mapPopElem: HelperImpl = (env) => (ctx) => mapArg(env, ctx, 'bpf_map_pop_elem').pop(ctx.argNumber(2));

/** bpf_map_peek_elem (QUEUE, STACK; a BLOOM_FILTER tests the value): 0 or -ENOENT. */
const mapPeekElem: HelperImpl = (env) => (ctx) => mapArg(env, ctx, 'bpf_map_peek_elem').peek(ctx.argNumber(2));

/**
 * bpf_map_lookup_percpu_elem(map, key, u32 cpu): CPU `cpu`'s slot of the value, NULL when `cpu` is not below
 * nr_cpu_ids (Linux checks that before calling map_lookup_percpu_elem).
 */
const mapLookupPercpuElem: HelperImpl = (env) => (ctx) => {
  const map = mapArg(env, ctx, 'bpf_map_lookup_percpu_elem');
  const cpu = ctx.argU32(3);
  if (cpu >= map.nrCpuIds) return 0;
  return map.lookup(ctx.argNumber(2), cpu);
};

/**
 * bpf_spin_lock / bpf_spin_unlock on the `struct bpf_spin_lock` in a map value. Linux's __bpf_spin_lock is
 * arch_spin_lock on the 4-byte word: with queued spinlocks an uncontended lock is cmpxchg(val, 0,
 * _Q_LOCKED_VAL = 1) and unlock stores 0 to the locked byte. The simulation runs one program at a time on
 * one JavaScript thread and the verifier forbids taking a second lock while one is held, so the lock is
 * never contended: the helpers only write the word as Linux leaves it (1 while held, 0 after), which is what a
 * program reading its own value would see. User space never sees the word: copies with or without BPF_F_LOCK
 * skip it and read it as 0 (copy_map_value, check_and_init_map_value).
 */
const Q_LOCKED_VAL = 1;
const spinLock: HelperImpl = (env) => (ctx) => {
  env.k.phys.view.setUint32(ctx.argNumber(1), Q_LOCKED_VAL, true);
  return 0;
};
const spinUnlock: HelperImpl = (env) => (ctx) => {
  env.k.phys.bytes[ctx.argNumber(1)] = 0;
  return 0;
};

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
  helper(
    'map_lookup_elem',
    { pktAccess: true, ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'], constKeyNeverNull: true },
    mapLookupElem,
  ),
  helper('map_update_elem', { pktAccess: true, ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'] }, mapUpdateElem),
  helper('map_delete_elem', { pktAccess: true, ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key'] }, mapDeleteElem),
  // Linux check_map_func_compatibility: a bloom filter reaches push and peek (its insert and test), not pop.
  helper(
    'map_push_elem',
    { pktAccess: true, ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_value', 'anything'], mapTypes: ['queue', 'stack', 'bloom_filter'] },
    mapPushElem,
  ),
  helper('map_pop_elem', { pktAccess: true, ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] }, mapPopElem),
  helper(
    'map_peek_elem',
    { pktAccess: true, ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack', 'bloom_filter'] },
    mapPeekElem,
  ),
  helper(
    'map_lookup_percpu_elem',
    {
      pktAccess: true,
      ret: 'ptr_to_map_value_or_null',
      args: ['const_map_ptr', 'ptr_to_map_key', 'anything'],
      mapTypes: ['percpu_hash', 'percpu_array', 'lru_percpu_hash'],
    },
    mapLookupPercpuElem,
  ),
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
  helper('spin_lock', { ret: 'void', args: ['ptr_to_spin_lock'], lock: 'acquire' }, spinLock),
  helper('spin_unlock', { ret: 'void', args: ['ptr_to_spin_lock'], lock: 'release' }, spinUnlock),
  helper('tail_call', { ret: 'void', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], mapTypes: ['prog_array'], tailCall: true }),
];
