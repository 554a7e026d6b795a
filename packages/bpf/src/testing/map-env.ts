/**
 * A map environment for tests: a real PhysicalMemory, a seeded PRNG, a CPU count and a capability set, with no
 * kernel around them; and a scratch page standing in for a program's stack, where keys and values are written
 * before calling the program-side map ops.
 */
import { PhysicalMemory, Prng } from '@ebpf-sim/kernel';
import type { MapEnv } from '../maps/map.js';

export interface MapTestEnv extends MapEnv {
  readonly phys: PhysicalMemory;
  /** Physical address of a 4 KiB scratch area (a program's stack). */
  readonly scratch: number;
  /** Write `bytes` at scratch + `offset`; returns that address. */
  put(bytes: Uint8Array, offset?: number): number;
  /** `size` bytes of kernel memory at `address`, copied. */
  read(address: number, size: number): Uint8Array;
}

export function mapTestEnv(options: { nrCpus?: number; capabilities?: readonly number[] | 'all'; memoryBytes?: number } = {}): MapTestEnv {
  const phys = new PhysicalMemory(options.memoryBytes ?? 32 << 20);
  const caps = options.capabilities ?? 'all';
  const scratch = phys.kmalloc(4096, 'test-scratch');
  return {
    phys,
    random: new Prng(12),
    nrCpus: options.nrCpus ?? 4,
    capable: (cap) => caps === 'all' || caps.includes(cap),
    scratch,
    put(bytes, offset = 0) {
      phys.bytes.set(bytes, scratch + offset);
      return scratch + offset;
    },
    read: (address, size) => phys.bytes.slice(address, address + size),
  };
}

/** A u32 as 4 little-endian bytes (an array map's key). */
export function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** A u64 as 8 little-endian bytes. */
export function u64le(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true);
  return out;
}

/** The u32 at the start of `bytes`, little-endian. */
export function readU32le(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}
