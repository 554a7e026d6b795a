import { PAGE_SIZE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from './physmem.js';
import { KmemCache } from './slab.js';

describe('kmem_cache', () => {
  it('packs objects into pages and gives each page back with its last object', () => {
    const phys = new PhysicalMemory(1 << 20);
    const free = phys.freePages;
    const cache = new KmemCache(phys, 'thing', 1000);
    expect(cache.objectSize).toBe(1000);
    expect(cache.objectsPerPage).toBe(4);
    const objects = Array.from({ length: 5 }, () => cache.alloc());
    expect(new Set(objects.map((a) => Math.floor(a / PAGE_SIZE))).size).toBe(2);
    expect(phys.usageOf('slab:thing')).toMatchObject({ pages: 2, allocations: 2 });
    phys.bytes.fill(7, objects[0] ?? 0, (objects[0] ?? 0) + 1000);
    cache.release(objects[0] ?? 0);
    expect(phys.bytes.subarray(objects[0] ?? 0, (objects[0] ?? 0) + 1000).every((b) => b === 0)).toBe(true);
    // A free slot in a page the cache holds is used before a new page is taken.
    const again = cache.alloc();
    expect(phys.usageOf('slab:thing').pages).toBe(2);
    for (const a of [...objects.slice(1), again]) cache.release(a);
    expect(phys.freePages).toBe(free);
    expect(cache.live).toBe(0);
  });

  it('refuses a pointer it did not hand out, and a double free', () => {
    const phys = new PhysicalMemory(1 << 20);
    const cache = new KmemCache(phys, 'thing', 24);
    const a = cache.alloc();
    cache.alloc();
    expect(() => cache.release(a + 4)).toThrow(/not one of its objects/);
    cache.release(a);
    expect(() => cache.release(a)).toThrow(/freed twice/);
    expect(() => new KmemCache(phys, 'huge', PAGE_SIZE + 1)).toThrow(/do not fit a page/);
  });
});
