/**
 * Map descriptions the verifier needs (type, key/value sizes, max entries) until the bpf subsystem's maps
 * exist: the uapi type numbers and a registry over a list of maps addressed by fd or by index.
 */
import type { HelperProto, MapDesc, VerifierRegistry } from '@ebpf-sim/verifier';
import { HELPERS } from './helpers/index.js';

/** `BPF_MAP_TYPE_*` numbers (include/uapi/linux/bpf.h). */
export const MAP_TYPE_IDS: Readonly<Record<string, number>> = {
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  lru_hash: 9,
  lru_percpu_hash: 10,
  devmap: 14,
  cpumap: 16,
  xskmap: 17,
  queue: 22,
  stack: 23,
  devmap_hash: 25,
  ringbuf: 27,
};

/** Helpers a map type may never be passed to (the map side of Linux check_map_func_compatibility). */
const MAP_ONLY_HELPERS: Readonly<Record<string, readonly number[]>> = {
  prog_array: [12],
  perf_event_array: [25, 22, 55],
  ringbuf: [130, 131, 134],
  stack_trace: [27],
  queue: [87, 88, 89],
  stack: [87, 88, 89],
  devmap: [51, 1],
  devmap_hash: [51, 1],
  cpumap: [51],
  xskmap: [51, 1, 3],
};

export interface MapSpec {
  readonly name: string;
  /** A key of {@link MAP_TYPE_IDS}. */
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly spinLockOff?: number;
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
    ...(only ? { allowedHelpers: only } : {}),
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
