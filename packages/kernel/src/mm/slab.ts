import { PAGE_SIZE } from '@ebpf-sim/uapi';
import type { PhysicalMemory } from './physmem.js';

/** Objects in a slab are aligned to 8 bytes (ARCH_KMALLOC_MINALIGN on x86_64). */
const SLAB_ALIGN = 8;

/**
 * A kmem_cache (mm/slub.c): fixed-size kernel objects packed into whole pages, a page taken when every one in
 * use is full and given back when its last object is freed, so the memory charged to the cache (`slab:<name>`)
 * returns to what it was once its objects are gone. Objects come zeroed; a freed object is zeroed at once, so a
 * stale pointer reads zeros, never another object's old bytes.
 */
export class KmemCache {
  readonly objectSize: number;
  readonly objectsPerPage: number;
  /** Free object indexes of each page with one free, by frame. */
  private readonly freeSlots = new Map<number, number[]>();
  /** Objects in use per page, by frame. */
  private readonly used = new Map<number, number>();
  /** Objects allocated and not freed. */
  live = 0;

  constructor(
    private readonly phys: PhysicalMemory,
    readonly name: string,
    objectSize: number,
  ) {
    this.objectSize = Math.ceil(objectSize / SLAB_ALIGN) * SLAB_ALIGN;
    this.objectsPerPage = Math.floor(PAGE_SIZE / this.objectSize);
    if (this.objectsPerPage === 0) throw new RangeError(`kmem_cache ${name}: ${objectSize}-byte objects do not fit a page`);
  }

  /** The accounting owner of the cache's pages. */
  get owner(): string {
    return `slab:${this.name}`;
  }

  /** kmem_cache_zalloc: a zeroed object's physical address, or -1 when memory is exhausted (ENOMEM). */
  alloc(): number {
    let frame = -1;
    for (const candidate of this.freeSlots.keys()) {
      frame = candidate;
      break;
    }
    if (frame < 0) {
      frame = this.phys.allocPages(1, this.owner);
      if (frame < 0) return -1;
      const slots: number[] = [];
      for (let i = this.objectsPerPage - 1; i >= 0; i--) slots.push(i);
      this.freeSlots.set(frame, slots);
      this.used.set(frame, 0);
    }
    const slots = this.freeSlots.get(frame) as number[];
    const index = slots.pop() as number;
    if (slots.length === 0) this.freeSlots.delete(frame);
    this.used.set(frame, (this.used.get(frame) ?? 0) + 1);
    this.live++;
    return frame * PAGE_SIZE + index * this.objectSize;
  }

  /** kmem_cache_free: the object is zeroed; its page goes back to physical memory when it holds no other. */
  release(address: number): void {
    const frame = Math.floor(address / PAGE_SIZE);
    const offset = address - frame * PAGE_SIZE;
    const inUse = this.used.get(frame);
    if (inUse === undefined || offset % this.objectSize !== 0 || offset / this.objectSize >= this.objectsPerPage)
      throw new Error(`kmem_cache ${this.name}: 0x${address.toString(16)} is not one of its objects`);
    const slots = this.freeSlots.get(frame) ?? [];
    if (slots.includes(offset / this.objectSize)) throw new Error(`kmem_cache ${this.name}: 0x${address.toString(16)} freed twice`);
    this.phys.bytes.fill(0, address, address + this.objectSize);
    this.live--;
    if (inUse === 1) {
      this.used.delete(frame);
      this.freeSlots.delete(frame);
      this.phys.freeRun(frame);
      return;
    }
    this.used.set(frame, inUse - 1);
    slots.push(offset / this.objectSize);
    this.freeSlots.set(frame, slots);
  }
}
