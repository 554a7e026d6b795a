/**
 * mmap of map fds end to end: a user program creates a RINGBUF and a BPF_F_MMAPABLE array through the libc
 * bpf() wrapper, maps them with mmap(2) (the kernel's file-backed mmap reaching the bpf-map file's mmap op),
 * and reads ring records with uapi's RingBufferReader (libbpf's ring_buffer__consume) while the kernel side
 * produces them as the ringbuf helpers do (programs cannot be loaded in this part of the issue yet).
 */
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, Errno, Libc, MAP, PAGE_SIZE, PROT, RINGBUF_MMAP, RingBufferReader, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { ArrayMap } from '../maps/arraymap.js';
import { RingBufMap } from '../maps/ringbuf.js';
import { registerBpf, type BpfSyscall } from './bpf-syscall.js';

function run(program: (libc: Libc, bpf: BpfSyscall, mem: Parameters<UserProgram>[0]['mem'], kernel: Kernel) => Generator<number, void, number>): Kernel {
  const kernel = createKernel({ cpus: 2 });
  const bpf = registerBpf(kernel);
  kernel.vfs.registerProgram('/bin/test', function* (ctx) {
    yield* program(new Libc(ctx), bpf, ctx.mem, kernel);
    return 0;
  });
  kernel.spawn('/bin/test', { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  expect(kernel.crashes).toEqual([]);
  return kernel;
}

/** The map the newest id names (the kernel side of the fd the program holds). */
function newestMap(bpf: BpfSyscall): unknown {
  let id = 0;
  for (let next = bpf.maps.nextAfter(0); next !== 0; next = bpf.maps.nextAfter(next)) id = next;
  return bpf.maps.find(id)?.map;
}

describe('mmap of bpf map fds through mmap(2)', () => {
  it('a ring buffer: consumer page writable, producer read-only, records read by ring_buffer__consume, discarded ones skipped', () => {
    const seen: number[][] = [];
    const answers: Record<string, number> = {};
    const kernel = run(function* (libc, bpf, mem, k) {
      const ringSize = 2 * PAGE_SIZE;
      const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.RINGBUF, key_size: 0, value_size: 0, max_entries: ringSize, map_name: 'events' });
      expect(fd).toBeGreaterThanOrEqual(0);
      const rb = newestMap(bpf);
      if (!(rb instanceof RingBufMap)) throw new Error('no ring buffer behind the fd');
      const rw = PROT.READ | PROT.WRITE;
      answers.producerWritable = yield* libc.mmapFile(fd, PAGE_SIZE, rw, MAP.SHARED, PAGE_SIZE);
      answers.private = yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ, MAP.PRIVATE, 0);
      const consumer = yield* libc.mmapFile(fd, RINGBUF_MMAP.consumer.length, rw, MAP.SHARED, RINGBUF_MMAP.consumer.offset);
      const { length, offset } = RINGBUF_MMAP.producer(ringSize);
      const producer = yield* libc.mmapFile(fd, length, PROT.READ, MAP.SHARED, offset);
      expect(consumer).toBeGreaterThan(0);
      expect(producer).toBeGreaterThan(0);
      const reader = new RingBufferReader(mem, consumer, producer, ringSize);
      // The kernel side, as ringbuf_reserve/submit/discard/output do it: three records, the middle one discarded.
      const stack = k.phys.kmalloc(64, 'test-stack');
      k.phys.bytes.set([1, 2, 3], stack);
      expect(rb.output(stack, 3, 0)).toBe(0);
      const discarded = rb.reserve(100);
      rb.commit(discarded, 0, true);
      const kept = rb.reserve(5);
      k.phys.bytes.set([9, 9, 9, 9, 9], kept);
      // Still reserved: the reader stops at it.
      expect(reader.consume((sample) => void seen.push([...sample]))).toBe(1);
      rb.commit(kept, 0, false);
      expect(reader.consume((sample) => void seen.push([...sample]))).toBe(1);
      expect(reader.available()).toBe(0);
      expect(rb.consumerPos).toBe(rb.producerPos);
      // Records that wrap around the end read contiguously through the second mapping of the data.
      for (let i = 0; i < 200; i++) {
        k.phys.bytes.fill(i & 0xff, stack, stack + 64);
        expect(rb.output(stack, 60 + (i % 3), 0)).toBe(0);
        // Drain every few records so the ring goes round more than once.
        if (i % 4 === 3) reader.consume((sample) => void seen.push([sample.length, ...new Set(sample)]));
      }
      reader.consume((sample) => void seen.push([sample.length, ...new Set(sample)]));
      // The ring went round.
      expect(rb.producerPos).toBeGreaterThan(ringSize);
      k.phys.kfree(stack);
      yield* libc.close(fd);
    });
    expect(answers).toEqual({ producerWritable: -Errno.EPERM, private: -Errno.EINVAL });
    expect(seen.slice(0, 2)).toEqual([
      [1, 2, 3],
      [9, 9, 9, 9, 9],
    ]);
    expect(seen.slice(2)).toEqual(Array.from({ length: 200 }, (_, i) => [60 + (i % 3), i]));
    // The mappings went with the process: the ring's memory is back.
    expect(kernel.phys.usage().filter((charge) => charge.owner.startsWith('bpf-map:'))).toEqual([]);
  });

  it('an MMAPABLE array: user space writes through the mapping and bpf() lookups see it; frozen, a writable mapping is EPERM', () => {
    const answers: Record<string, number> = {};
    run(function* (libc, bpf, mem) {
      const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 16, map_flags: BPF_MAP_F.MMAPABLE });
      const array = newestMap(bpf);
      if (!(array instanceof ArrayMap)) throw new Error('no array behind the fd');
      const address = yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
      expect(address).toBeGreaterThan(0);
      mem.write(address + 8 * 3, new Uint8Array([0x2a, 0, 0, 0, 0, 0, 0, 0]));
      const out = new Uint8Array(8);
      const key = new Uint8Array([3, 0, 0, 0]);
      expect(array.lookupSys(key, out, 0)).toBe(0);
      answers.value = out[0]!;
      answers.freeze = yield* libc.bpfMapFreeze(fd);
      answers.writableAfterFreeze = yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
      answers.readOnlyAfterFreeze = (yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ, MAP.SHARED)) > 0 ? 0 : -1;
    });
    expect(answers).toEqual({ value: 0x2a, freeze: 0, writableAfterFreeze: -Errno.EPERM, readOnlyAfterFreeze: 0 });
  });
});
