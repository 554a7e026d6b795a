import { Errno, Libc, MAP, PAGE_SIZE, PROT, SyscallNr } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';
import { AddressSpace } from './address-space.js';
import { PhysicalMemory } from './physmem.js';

describe('physical memory', () => {
  it('is one WebAssembly.Memory, never hands out frame 0, and charges every allocation to its owner', () => {
    const phys = new PhysicalMemory(1 << 20);
    expect(phys.memory.buffer.byteLength).toBe(1 << 20);
    const free = phys.freePages;
    const a = phys.kmalloc(100, 'bpf-map:1');
    const b = phys.kmalloc(3 * PAGE_SIZE, 'bpf-map:2');
    expect(a).toBeGreaterThan(0);
    expect(a % PAGE_SIZE).toBe(0);
    expect(phys.usageOf('bpf-map:1')).toMatchObject({ pages: 1, bytes: 100, allocations: 1 });
    expect(phys.usageOf('bpf-map:2')).toMatchObject({ pages: 3, bytes: 3 * PAGE_SIZE });
    expect(phys.freePages).toBe(free - 4);
    phys.kfree(a);
    phys.kfree(b);
    expect(phys.freePages).toBe(free);
    expect(phys.usageOf('bpf-map:1').allocations).toBe(0);
    expect(() => phys.kfree(a)).toThrow(/double free/);
  });

  it('accepts an existing WebAssembly.Memory (the VM can share it)', () => {
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 32 });
    expect(new PhysicalMemory(32 * 65536, memory).memory).toBe(memory);
  });

  it('returns -1 (ENOMEM) when no contiguous run is left', () => {
    const phys = new PhysicalMemory(1 << 20);
    expect(phys.allocPages(phys.totalPages, 'x')).toBe(-1);
    expect(phys.allocPages(phys.freePages, 'x')).toBeGreaterThan(0);
    expect(phys.allocPages(1, 'y')).toBe(-1);
  });
});

describe('address space', () => {
  it('faults pages in on first touch, copies across pages, and rejects unmapped addresses', () => {
    const phys = new PhysicalMemory(1 << 20);
    const mm = new AddressSpace(phys, 'mm:1');
    const base = mm.mmap(0, 3 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    expect(base).toBeGreaterThan(0);
    expect(mm.rss).toBe(0);
    const data = Uint8Array.from({ length: 6000 }, (_, i) => i & 0xff);
    expect(mm.copyToUser(base + 100, data, 0, data.length)).toBe(true);
    expect(mm.faults.minor).toBe(2);
    const back = new Uint8Array(6000);
    expect(mm.copyFromUser(base + 100, back, 0, back.length)).toBe(true);
    expect(back).toEqual(data);
    // A read that runs off the end of the mapping fails, after faulting in the last mapped page.
    expect(mm.copyFromUser(base + 3 * PAGE_SIZE - 10, back, 0, 20)).toBe(false);
    expect(phys.usageOf('mm:1').pages).toBe(3);
    expect(mm.munmap(base, 3 * PAGE_SIZE)).toBe(0);
    expect(phys.usageOf('mm:1').pages).toBe(0);
    expect(mm.copyFromUser(base, back, 0, 1)).toBe(false);
  });

  it('copies small blocks (the byte-by-byte path) exactly, from and to any offset, across a page boundary and up to a fault', () => {
    const phys = new PhysicalMemory(1 << 20);
    const mm = new AddressSpace(phys, 'mm:3');
    const base = mm.mmap(0, 2 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    const source = Uint8Array.from({ length: 80 }, (_, i) => (i * 7 + 1) & 0xff);
    // Every length up to past the small-copy limit, at offsets that end before, at and past the page boundary,
    // from an offset into the source and into the destination.
    for (let length = 1; length <= 40; length++) {
      for (const at of [PAGE_SIZE - length - 3, PAGE_SIZE - length, PAGE_SIZE - 5, PAGE_SIZE - 1]) {
        const address = base + at;
        expect(mm.copyToUser(address, source, 3, length)).toBe(true);
        const back = new Uint8Array(length + 4).fill(0xaa);
        expect(mm.copyFromUser(address, back, 2, length)).toBe(true);
        expect({ length, at, back: [...back] }).toEqual({ length, at, back: [0xaa, 0xaa, ...source.subarray(3, 3 + length), 0xaa, 0xaa] });
      }
    }
    // A block that runs off the end of the mapping fails.
    expect(mm.copyToUser(base + 2 * PAGE_SIZE - 4, source, 0, 8)).toBe(false);
    expect(mm.copyFromUser(base + 2 * PAGE_SIZE - 4, new Uint8Array(8), 0, 8)).toBe(false);
  });

  it('refuses writes to read-only mappings and follows mmap/munmap/brk rules', () => {
    const mm = new AddressSpace(new PhysicalMemory(1 << 20), 'mm:2');
    const ro = mm.mmap(0, PAGE_SIZE, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS);
    expect(mm.copyToUser(ro, new Uint8Array(1), 0, 1)).toBe(false);
    expect(mm.copyFromUser(ro, new Uint8Array(1), 0, 1)).toBe(true);
    expect(mm.mmap(0, 0, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS)).toBe(-Errno.EINVAL);
    expect(mm.mmap(ro, PAGE_SIZE, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE)).toBe(-Errno.EEXIST);
    expect(mm.munmap(ro + 1, PAGE_SIZE)).toBe(-Errno.EINVAL);
    mm.setupImage();
    const start = mm.brk;
    expect(mm.setBrk(start + 10_000)).toBe(start + 10_000);
    expect(mm.copyToUser(start + 9_000, new Uint8Array(8), 0, 8)).toBe(true);
    expect(mm.setBrk(start - 1)).toBe(start + 10_000);
    expect(mm.setBrk(start)).toBe(start);
    expect(mm.copyToUser(start + 9_000, new Uint8Array(8), 0, 8)).toBe(false);
  });
});

describe('memory syscalls', () => {
  it('mmap/munmap/brk from user space, EFAULT on a bad pointer, SIGSEGV when user code touches unmapped memory', () => {
    const results: number[] = [];
    const { kernel, status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const address = yield* libc.mmapAnonymous(2 * PAGE_SIZE);
      results.push(address > 0 ? 1 : address);
      ctx.mem.write(address, Uint8Array.of(1, 2, 3));
      results.push(yield* libc.syscall(SyscallNr.write, 1, 0x1000, 4));
      results.push(yield* libc.syscall(SyscallNr.mmap, 0, PAGE_SIZE, PROT.READ, MAP.ANONYMOUS, 0, 0));
      results.push(yield* libc.syscall(SyscallNr.mmap, 0, PAGE_SIZE, PROT.READ, MAP.PRIVATE, 3, 0));
      results.push(yield* libc.munmap(address, 2 * PAGE_SIZE));
      ctx.mem.read(address, 1);
      results.push(99);
      return 0;
    });
    // fd 3 is not open: EBADF, as ksys_mmap_pgoff answers before anything else is looked at.
    expect(results).toEqual([1, -Errno.EFAULT, -Errno.EINVAL, -Errno.EBADF, 0]);
    expect(status).toBe(11 | 0x80);
    expect(kernel.crashes[0]?.message).toMatch(/segmentation fault: read from unmapped user address/);
  });
});
