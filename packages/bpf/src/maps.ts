/**
 * Map descriptions the verifier needs (type, key/value sizes, max entries): the uapi type numbers, `mapDesc`
 * (which a live map's `BpfMap.desc()` also goes through) and a registry over a list of map specs addressed by
 * fd or by index.
 */
import type { HelperProto, MapDesc, VerifierRegistry } from '@ebpf-sim/verifier';
import { BPF_MAP_TYPE, type BpfFuncName, type BpfMapTypeName } from '@ebpf-sim/uapi';
import { funcIds } from './helpers/define.js';
import { HELPERS } from './helpers/index.js';

/** The map types the verifier models (lower-case enum bpf_map_type names, as in map specs). */
const MODELLED_MAP_TYPES = [
  'hash',
  'array',
  'prog_array',
  'perf_event_array',
  'percpu_hash',
  'percpu_array',
  'stack_trace',
  'lru_hash',
  'lru_percpu_hash',
  'lpm_trie',
  'devmap',
  'cpumap',
  'xskmap',
  'queue',
  'stack',
  'devmap_hash',
  'ringbuf',
  'bloom_filter',
  'task_storage',
  'array_of_maps',
  'hash_of_maps',
  'sk_storage',
  'inode_storage',
  'cgrp_storage',
  'cgroup_storage',
  'percpu_cgroup_storage',
  'user_ringbuf',
  'cgroup_array',
  'sockmap',
  'sockhash',
  'reuseport_sockarray',
  'struct_ops',
] as const satisfies ReadonlyArray<Lowercase<BpfMapTypeName>>;

/** Their uapi numbers, taken from @ebpf-sim/uapi's enum bpf_map_type (the one copy of the ABI). */
export const MAP_TYPE_IDS: Readonly<Record<string, number>> = Object.fromEntries(
  MODELLED_MAP_TYPES.map((name) => [name, BPF_MAP_TYPE[name.toUpperCase() as Uppercase<typeof name>]]),
);

/**
 * The helpers each map type may be passed to, when it restricts them (the map side of Linux
 * check_map_func_compatibility).
 */
const MAP_ONLY_HELPERS: Readonly<Record<string, readonly BpfFuncName[]>> = {
  prog_array: ['tail_call'],
  perf_event_array: ['perf_event_output', 'perf_event_read', 'perf_event_read_value'],
  ringbuf: ['ringbuf_output', 'ringbuf_reserve', 'ringbuf_query', 'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr', 'ringbuf_discard_dynptr'],
  stack_trace: ['get_stackid'],
  task_storage: ['task_storage_get', 'task_storage_delete'],
  sk_storage: ['sk_storage_get', 'sk_storage_delete'],
  inode_storage: ['inode_storage_get', 'inode_storage_delete'],
  cgrp_storage: ['cgrp_storage_get', 'cgrp_storage_delete'],
  cgroup_storage: ['get_local_storage'],
  percpu_cgroup_storage: ['get_local_storage'],
  user_ringbuf: ['user_ringbuf_drain'],
  queue: ['map_push_elem', 'map_pop_elem', 'map_peek_elem'],
  stack: ['map_push_elem', 'map_pop_elem', 'map_peek_elem'],
  bloom_filter: ['map_push_elem', 'map_peek_elem'],
  devmap: ['redirect_map', 'map_lookup_elem'],
  devmap_hash: ['redirect_map', 'map_lookup_elem'],
  cpumap: ['redirect_map'],
  xskmap: ['redirect_map', 'map_lookup_elem', 'map_delete_elem'],
  cgroup_array: ['skb_under_cgroup', 'current_task_under_cgroup'],
  // Linux's may_update_sockmap also lets some program types (tc, XDP, socket filter, sk_reuseport, flow
  // dissector, sk_lookup, iterators) update and delete: which is the program type's decision, not the map's.
  sockmap: ['sk_redirect_map', 'sock_map_update', 'msg_redirect_map', 'sk_select_reuseport', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem'],
  sockhash: ['sk_redirect_hash', 'sock_hash_update', 'msg_redirect_hash', 'sk_select_reuseport', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem'],
  reuseport_sockarray: ['sk_select_reuseport'],
  // A program only looks inner maps up; user space updates them.
  array_of_maps: ['map_lookup_elem'],
  hash_of_maps: ['map_lookup_elem'],
};

/** The map types with map_for_each_callback (bpf_for_each_map_elem): arraymap.c and hashtab.c. */
const FOR_EACH_MAP_TYPES: ReadonlySet<string> = new Set(['array', 'percpu_array', 'hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash']);

export interface MapSpec {
  readonly name: string;
  /** A key of {@link MAP_TYPE_IDS}. */
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly spinLockOff?: number;
  readonly timerOff?: number;
  readonly readOnly?: boolean;
}

/** A map description for the verifier from a plain spec. Throws on an unknown map type. */
export function mapDesc(spec: MapSpec): MapDesc {
  const typeId = MAP_TYPE_IDS[spec.type];
  if (typeId === undefined) throw new Error(`unknown map type '${spec.type}'`);
  const only = MAP_ONLY_HELPERS[spec.type];
  return {
    ...spec,
    typeId,
    ...(only ? { allowedHelpers: funcIds(only) } : {}),
    ...(FOR_EACH_MAP_TYPES.has(spec.type) ? { forEachCallback: true } : {}),
    directValue: spec.type === 'array',
  };
}

/**
 * The registry the verifier asks: helpers from the prototype tables; maps from `maps`, where an LD imm64
 * map fd `n` and map index `n` both name `maps[n]`.
 */
export function createRegistry(maps: readonly MapSpec[] = [], helpers: ReadonlyMap<number, HelperProto> = HELPERS): VerifierRegistry {
  const descs = maps.map(mapDesc);
  return {
    helper: (id) => helpers.get(id),
    map: (ref) => descs[ref],
  };
}
