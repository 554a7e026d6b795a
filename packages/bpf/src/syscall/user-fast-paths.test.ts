/**
 * The fast paths between user space and bpf(): the libc's element commands (attr, key and value laid out in one
 * block and trapping from the wrapper itself), the attr block reused across calls, and the ring buffer reader
 * reading what was published with one copy per pass. Each test fails if its fast path stops doing what the
 * slow one did.
 */
import { createKernel, type Kernel, type SyscallHandler } from '@ebpf-sim/kernel';
import {
  BPF_ATTR_LAYOUTS,
  BPF_CMD,
  BPF_MAP_F,
  BPF_MAP_TYPE,
  BPF_UPDATE,
  Errno,
  Libc,
  MAP,
  PAGE_SIZE,
  PROT,
  RINGBUF_MMAP,
  RingBufferReader,
  SyscallNr,
  encodeBpfAttr,
  type UserProgram,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { RingBufMap } from '../maps/ringbuf.js';
import { registerBpf, type BpfSyscall } from './bpf-syscall.js';

function run(program: (libc: Libc, bpf: BpfSyscall, kernel: Kernel, mem: Parameters<UserProgram>[0]['mem']) => Generator<number, void, number>): Kernel {
  const kernel = createKernel({ cpus: 1 });
  const bpf = registerBpf(kernel);
  kernel.vfs.registerProgram('/bin/test', function* (ctx) {
    yield* program(new Libc(ctx), bpf, kernel, ctx.mem);
    return 0;
  });
  kernel.spawn('/bin/test', { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  expect(kernel.crashes).toEqual([]);
  return kernel;
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const E = BPF_ATTR_LAYOUTS.MAP_UPDATE_ELEM;
const N = BPF_ATTR_LAYOUTS.MAP_GET_NEXT_KEY;

/** One bpf() call as the kernel received it: the command, the size, the attr fields and the bytes behind the pointers. */
interface SeenCall {
  cmd: number;
  size: number;
  fd: number;
  key: number[] | null;
  value: number[] | null;
  valueField: number;
  flags: number;
}

describe('the libc element commands', () => {
  it("pass libbpf's block (offsetofend(bpf_attr, flags) bytes), with the key and value where the attr points, and answer as before", () => {
    const seen: SeenCall[] = [];
    const answers: Record<string, unknown> = {};
    run(function* (libc, bpf, kernel) {
      // Wrap the kernel's bpf(): record what each element command hands it, then run it.
      const handler: SyscallHandler = (task, cmd, uattr, size, a3, a4, a5) => {
        if (cmd !== BPF_CMD.MAP_CREATE) {
          const mm = kernel.userMemory.of(task);
          const attr = new Uint8Array(size);
          expect(mm.copyFromUser(uattr, attr, 0, size)).toBe(true);
          const view = new DataView(attr.buffer);
          const u64 = (offset: number): number => view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
          const bytesAt = (address: number, length: number): number[] | null => {
            if (address === 0) return null;
            const out = new Uint8Array(length);
            expect(mm.copyFromUser(address, out, 0, length)).toBe(true);
            return [...out];
          };
          const valueField = cmd === BPF_CMD.MAP_GET_NEXT_KEY ? N.next_key.offset : E.value.offset;
          seen.push({
            cmd,
            size,
            fd: view.getUint32(E.map_fd.offset, true),
            key: bytesAt(u64(E.key.offset), 4),
            // The value as user space passed it (for a lookup, whatever the stack held: only its address matters).
            value: cmd === BPF_CMD.MAP_UPDATE_ELEM ? bytesAt(u64(valueField), 8) : u64(valueField) === 0 ? null : [],
            valueField: u64(valueField),
            flags: u64(E.flags.offset),
          });
        }
        return bpf.handler(task, cmd, uattr, size, a3, a4, a5);
      };
      kernel.syscalls.register('bpf', handler);
      const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 8 });
      expect(fd).toBeGreaterThanOrEqual(0);
      const value = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      answers.update = yield* libc.bpfMapUpdate(fd, u32(0x0a0b0c0d), value, BPF_UPDATE.NOEXIST);
      answers.updateAgain = yield* libc.bpfMapUpdate(fd, u32(0x0a0b0c0d), value, BPF_UPDATE.NOEXIST);
      answers.lookup = yield* libc.bpfMapLookup(fd, u32(0x0a0b0c0d), 8);
      answers.lookupMissing = yield* libc.bpfMapLookup(fd, u32(7), 8);
      answers.firstKey = yield* libc.bpfMapGetNextKey(fd, null, 4);
      answers.nextKey = yield* libc.bpfMapGetNextKey(fd, u32(0x0a0b0c0d), 4);
      answers.lookupAndDelete = yield* libc.bpfMapLookupAndDelete(fd, u32(0x0a0b0c0d), 8);
      answers.delete = yield* libc.bpfMapDelete(fd, u32(0x0a0b0c0d));
      // Flags past 32 bits take the schema-checked encoding; the kernel refuses them (flags are a u64 in bpf_attr).
      answers.updateHighFlags = yield* libc.bpfMapUpdate(fd, u32(1), value, 2 ** 32);
      const bloom = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.BLOOM_FILTER, key_size: 0, value_size: 8, max_entries: 8 });
      answers.bloomPush = yield* libc.bpfMapUpdate(bloom, null, value);
      answers.bloomContains = yield* libc.bpfMapContains(bloom, value);
    });
    expect(answers).toEqual({
      update: 0,
      updateAgain: -Errno.EEXIST,
      lookup: { ok: true, value: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
      lookupMissing: { ok: false, errno: Errno.ENOENT },
      firstKey: { ok: true, value: u32(0x0a0b0c0d) },
      nextKey: { ok: false, errno: Errno.ENOENT },
      lookupAndDelete: { ok: true, value: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
      delete: -Errno.ENOENT,
      updateHighFlags: -Errno.EINVAL,
      bloomPush: 0,
      bloomContains: 0,
    });
    const ELEM_SIZE = E.flags.offset + 8;
    const key = [0x0d, 0x0c, 0x0b, 0x0a];
    const value = [1, 2, 3, 4, 5, 6, 7, 8];
    const hash = seen[0]?.fd;
    const rows = seen.map(({ valueField, ...call }) => ({ ...call, valueSet: valueField !== 0 }));
    const call = (cmd: number, k: number[] | null, v: number[] | null, flags: number, fd = hash, size = ELEM_SIZE): object => ({
      cmd,
      size,
      fd,
      key: k,
      value: v,
      flags,
      valueSet: v !== null,
    });
    expect(rows).toEqual([
      call(BPF_CMD.MAP_UPDATE_ELEM, key, value, BPF_UPDATE.NOEXIST),
      call(BPF_CMD.MAP_UPDATE_ELEM, key, value, BPF_UPDATE.NOEXIST),
      call(BPF_CMD.MAP_LOOKUP_ELEM, key, [], 0),
      call(BPF_CMD.MAP_LOOKUP_ELEM, [7, 0, 0, 0], [], 0),
      call(BPF_CMD.MAP_GET_NEXT_KEY, null, [], 0),
      call(BPF_CMD.MAP_GET_NEXT_KEY, key, [], 0),
      call(BPF_CMD.MAP_LOOKUP_AND_DELETE_ELEM, key, [], 0),
      // Delete passes no value (libbpf leaves it 0).
      call(BPF_CMD.MAP_DELETE_ELEM, key, null, 0),
      // The checked encoding passes the whole bpf_attr this ABI knows.
      { ...call(BPF_CMD.MAP_UPDATE_ELEM, [1, 0, 0, 0], value, 2 ** 32), size: expect.any(Number) as number },
      { ...call(BPF_CMD.MAP_UPDATE_ELEM, null, value, 0), fd: expect.any(Number) as number },
      { ...call(BPF_CMD.MAP_LOOKUP_ELEM, null, [], 0), fd: expect.any(Number) as number },
    ]);
    expect(seen[8]?.size).toBeGreaterThan(ELEM_SIZE);
  });

  it("bpfMapLookupInto (libbpf's bpf_map_lookup_elem into the caller's buffer) answers as bpfMapLookup, and leaves the buffer alone on an error", () => {
    const answers: Record<string, unknown> = {};
    run(function* (libc) {
      const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 8 });
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(yield* libc.bpfMapUpdate(fd, u32(5), Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1))).toBe(0);
      const out = new Uint8Array(8).fill(0xee);
      answers.found = yield* libc.bpfMapLookupInto(fd, u32(5), out);
      answers.value = [...out];
      answers.asLookup = yield* libc.bpfMapLookup(fd, u32(5), 8);
      out.fill(0xee);
      answers.missing = yield* libc.bpfMapLookupInto(fd, u32(6), out);
      answers.badFlags = yield* libc.bpfMapLookupInto(fd, u32(5), out, 1);
      answers.badFd = yield* libc.bpfMapLookupInto(fd + 100, u32(5), out);
      // Flags past 32 bits take the schema-checked encoding; the kernel refuses them.
      answers.highFlags = yield* libc.bpfMapLookupInto(fd, u32(5), out, 2 ** 32);
      answers.untouched = [...out];
      // The block (attr 32, key 8, value 8) 16 bytes below a page boundary: the attr straddles it.
      const mark = libc.stack.mark();
      libc.stack.alloca(mark - (Math.floor(mark / PAGE_SIZE) * PAGE_SIZE - PAGE_SIZE - 16 + 48));
      answers.straddling = yield* libc.bpfMapLookupInto(fd, u32(5), out);
      libc.stack.release(mark);
      answers.straddlingValue = [...out];
    });
    expect(answers).toEqual({
      found: 0,
      value: [8, 7, 6, 5, 4, 3, 2, 1],
      asLookup: { ok: true, value: Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1) },
      missing: -Errno.ENOENT,
      badFlags: -Errno.EINVAL,
      badFd: -Errno.EBADF,
      highFlags: -Errno.EINVAL,
      untouched: Array.from({ length: 8 }, () => 0xee),
      straddling: 0,
      straddlingValue: [8, 7, 6, 5, 4, 3, 2, 1],
    });
  });

  it('copy keys and values that straddle a stack page boundary, as large as the block grows', () => {
    const answers: string[] = [];
    run(function* (libc) {
      const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 24, value_size: 200, max_entries: 64 });
      expect(fd).toBeGreaterThanOrEqual(0);
      for (let shift = 0; shift < 256; shift += 8) {
        // Move the stack pointer so the block (attr 32, key 24, value 200) starts `shift` bytes below a page boundary.
        const mark = libc.stack.mark();
        const boundary = Math.floor(mark / PAGE_SIZE) * PAGE_SIZE - PAGE_SIZE;
        libc.stack.alloca(mark - (boundary - shift + 32 + 24 + 200));
        const key = Uint8Array.from({ length: 24 }, (_, i) => (shift + i) & 0xff);
        const value = Uint8Array.from({ length: 200 }, (_, i) => (shift * 3 + i) & 0xff);
        const update = yield* libc.bpfMapUpdate(fd, key, value);
        const found = yield* libc.bpfMapLookup(fd, key, 200);
        libc.stack.release(mark);
        if (update !== 0 || !found.ok || found.value.join() !== value.join()) answers.push(`shift ${shift}: update ${update}, lookup ${JSON.stringify(found)}`);
      }
    });
    expect(answers).toEqual([]);
  });
});

describe('the attr block bpf() reuses across calls', () => {
  it('reads a short block zero-extended after a longer one left bytes past it', () => {
    const answers: Record<string, number> = {};
    run(function* (libc) {
      const raw = function* (cmd: number, bytes: Uint8Array): Generator<number, number, number> {
        const mark = libc.stack.mark();
        try {
          return yield* libc.syscall(SyscallNr.bpf, cmd, libc.stack.pushBytes(bytes), bytes.length);
        } finally {
          libc.stack.release(mark);
        }
      };
      // A full block with map_flags = BPF_F_NO_PREALLOC (a hash takes it) ...
      const hash = encodeBpfAttr('MAP_CREATE', { map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 4, map_flags: BPF_MAP_F.NO_PREALLOC });
      answers.hash = (yield* raw(BPF_CMD.MAP_CREATE, hash)) >= 0 ? 0 : -1;
      // ... then an array's block that ends before map_flags: it must read 0 there (an array refuses NO_PREALLOC).
      const array = encodeBpfAttr('MAP_CREATE', { map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 4 });
      const arrayFd = yield* raw(BPF_CMD.MAP_CREATE, array.subarray(0, BPF_ATTR_LAYOUTS.MAP_CREATE.map_flags.offset));
      answers.shortArray = arrayFd >= 0 ? 0 : arrayFd;
      const info = yield* libc.bpfMapGetInfo(arrayFd);
      answers.arrayFlags = info.ok ? info.value.mapFlags : -1;
      // A block that faults part-way: EFAULT, and the next short block still reads zero past its end.
      answers.fault = yield* libc.syscall(SyscallNr.bpf, BPF_CMD.MAP_CREATE, 16, hash.length);
      const again = yield* raw(BPF_CMD.MAP_CREATE, array.subarray(0, BPF_ATTR_LAYOUTS.MAP_CREATE.map_flags.offset));
      answers.again = again >= 0 ? 0 : again;
    });
    expect(answers).toEqual({ hash: 0, shortArray: 0, arrayFlags: 0, fault: -Errno.EFAULT, again: 0 });
  });
});

describe('RingBufferReader', () => {
  it('reads records on both sides of the wrap in one pass, each sample a copy that outlives the ring reusing its space', () => {
    const kept: Uint8Array[] = [];
    const lengths: number[] = [];
    run(function* (libc, bpf, kernel, mem) {
      const ringSize = PAGE_SIZE;
      const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.RINGBUF, key_size: 0, value_size: 0, max_entries: ringSize });
      const rb = bpf.maps.find(bpf.maps.nextAfter(0))?.map;
      if (!(rb instanceof RingBufMap)) throw new Error('no ring buffer behind the fd');
      const consumer = yield* libc.mmapFile(fd, RINGBUF_MMAP.consumer.length, PROT.READ | PROT.WRITE, MAP.SHARED, RINGBUF_MMAP.consumer.offset);
      const { length, offset } = RINGBUF_MMAP.producer(ringSize);
      const producer = yield* libc.mmapFile(fd, length, PROT.READ, MAP.SHARED, offset);
      const reader = new RingBufferReader(mem, consumer, producer, ringSize);
      const src = kernel.phys.kmalloc(256, 'test-src');
      const emit = (n: number, size: number): void => {
        kernel.phys.bytes.fill(n, src, src + size);
        expect(rb.output(src, size, 0)).toBe(0);
      };
      // 3000 bytes in and out, so the next records go round the end of the data area.
      for (let n = 0; n < 25; n++) emit(n, 112);
      expect(reader.consume(() => undefined)).toBe(25);
      // Records before the wrap, one across it (its tail in the mirror) and several after it, all in one pass.
      for (let n = 100; n < 120; n++) emit(n, 100 + (n % 5));
      expect(rb.producerPos - rb.consumerPos).toBeLessThan(ringSize);
      expect(reader.consume((sample) => void kept.push(sample))).toBe(20);
      // The ring's space is written again; the samples handed out before are copies and keep their bytes.
      for (let n = 200; n < 230; n++) emit(n, 100);
      expect(reader.consume((sample) => void lengths.push(sample.length))).toBe(30);
      kernel.phys.kfree(src);
      yield* libc.close(fd);
    });
    expect(kept.map((sample) => [sample.length, ...new Set(sample)])).toEqual(Array.from({ length: 20 }, (_, i) => [100 + ((100 + i) % 5), 100 + i]));
    expect(lengths).toEqual(Array.from({ length: 30 }, () => 100));
  });
});
