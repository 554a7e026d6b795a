/** The kernel objects bpf() hands out as fds, as the syscall holds them (shared by the map and program commands). */
import type { BpfMap } from '../maps/map.js';
import type { BtfObject } from './btf.js';

/** A map as the syscall holds it: the map, its references (fds, pins, programs using it), and copy buffers for its keys and values. */
export interface MapObject {
  readonly map: BpfMap;
  /** Open files, bpffs pins, loaded programs and outer maps referring to the map; the map is freed when the last goes (bpf_map_put). */
  refs: number;
  /** The user-space references among them (map->usercnt: files and pins); the last runs map_release_uref. */
  urefs: number;
  readonly key: Uint8Array;
  readonly nextKey: Uint8Array;
  readonly value: Uint8Array;
  /** MAP_CREATE's btf_fd object, referenced until the map is freed, with the key and value type ids. */
  readonly btf?: { readonly object: BtfObject; readonly keyTypeId: number; readonly valueTypeId: number };
}
