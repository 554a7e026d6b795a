/**
 * The bpf() syscall end to end, as a user of the real kernel drives it: one process in the simulated kernel
 * that, through the user-side wrappers of @ebpf-sim/uapi's libc only, creates a map of every type, loads XDP
 * programs that use them (BPF_PROG_LOAD: verified, fixed up, JIT-compiled), runs them with BPF_PROG_TEST_RUN,
 * and reads back what they did: map values, ring buffer records through mmap, perf records through the
 * perf event's mmap'ed ring, trace_pipe lines. Then it pins, gets, closes and unpins everything, and kernel
 * memory is back where it started with no map or program id left.
 */
import { assembleLlvm, encodeProgram } from '@ebpf-sim/isa';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import {
  BPF_MAP_F,
  BPF_MAP_TYPE,
  BPF_PROG_TYPE,
  Errno,
  Libc,
  MAP,
  O,
  PAGE_SIZE,
  PERF_COUNT_SW,
  PERF_RECORD,
  PERF_SAMPLE,
  PERF_TYPE,
  PROT,
  PerfRingReader,
  RINGBUF_MMAP,
  RingBufferReader,
  type UserProgram,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from './syscall/bpf-syscall.js';

const XDP_PASS = 2;
const XDP_REDIRECT = 4;
const FRAME = Uint8Array.from({ length: 64 }, (_, i) => i);

/**
 * Assemble LLVM-syntax text in which `rN = map:NAME ll` names a map by fd (BPF_PSEUDO_MAP_FD) and
 * `rN = value:NAME ll` the value of its element 0 (BPF_PSEUDO_MAP_VALUE), as libbpf's relocations leave them.
 */
function program(text: string, fds: Readonly<Record<string, number>>): Uint8Array {
  const patches: Array<{ slot: number; src: number; fd: number }> = [];
  let slot = 0;
  const lines = text
    .split('\n')
    .map((raw) => raw.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const ref = /^(r\d) = (map|value):(\w+) ll$/.exec(line);
      const at = slot;
      slot += line.endsWith(' ll') ? 2 : 1;
      if (ref === null) return line;
      const fd = fds[ref[3] ?? ''];
      if (fd === undefined) throw new Error(`no map '${ref[3] ?? ''}'`);
      patches.push({ slot: at, src: ref[2] === 'map' ? 1 : 2, fd });
      return `${ref[1] ?? 'r1'} = 0 ll`;
    });
  const bytes = encodeProgram(assembleLlvm(lines.join('\n')));
  const view = new DataView(bytes.buffer);
  for (const { slot: at, src, fd } of patches) {
    bytes[at * 8 + 1] = (src << 4) | ((bytes[at * 8 + 1] ?? 0) & 0x0f);
    view.setInt32(at * 8 + 4, fd, true);
  }
  return bytes;
}

const u32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
};
const u64 = (value: bigint): Uint8Array => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
};
const readU64 = (bytes: Uint8Array, at = 0): bigint => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at, true);

/** A BTF blob as clang would emit it for `int` ([1], 4 bytes) and `long` ([2], 8 bytes): header, two BTF_KIND_INT, strings. */
function intTypesBtf(): Uint8Array {
  const strings = new TextEncoder().encode('\0int\0long\0');
  const typeLen = 2 * 16;
  const bytes = new Uint8Array(24 + typeLen + strings.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xeb9f, true); // magic
  view.setUint8(2, 1); // version
  view.setUint32(4, 24, true); // hdr_len
  view.setUint32(8, 0, true); // type_off
  view.setUint32(12, typeLen, true); // type_len
  view.setUint32(16, typeLen, true); // str_off
  view.setUint32(20, strings.length, true); // str_len
  const BTF_KIND_INT = 1;
  const BTF_INT_SIGNED = 1;
  for (const [index, [nameOff, size]] of [
    [1, 4],
    [5, 8],
  ].entries()) {
    const at = 24 + index * 16;
    view.setUint32(at, nameOff ?? 0, true);
    view.setUint32(at + 4, BTF_KIND_INT << 24, true);
    view.setUint32(at + 8, size ?? 0, true);
    view.setUint32(at + 12, (BTF_INT_SIGNED << 24) | ((size ?? 0) * 8), true);
  }
  bytes.set(strings, 24 + typeLen);
  return bytes;
}

/** Kernel memory in use, without the processes' own pages (they come and go with the process). */
const kernelBytes = (kernel: Kernel): number => kernel.phys.usage().reduce((sum, charge) => sum + (charge.owner.startsWith('mm:') ? 0 : charge.bytes), 0);

/** Store r1 (an 8-byte value) as the update value and key 1, then bpf_map_update_elem(map, &key, &value, BPF_ANY). */
const updateOne = (map: string): string => `
  r1 = map:${map} ll
  r2 = r10
  r2 += -4
  r3 = r10
  r3 += -16
  r4 = 0
  call 2
`;

const pushOne = (map: string, value: number): string => `
  r1 = ${value}
  *(u64 *)(r10 - 8) = r1
  r1 = map:${map} ll
  r2 = r10
  r2 += -8
  r3 = 0
  call 87
`;

const PLAIN_MAPS = ['array', 'percpu_array', 'hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash'] as const;
const PERCPU = new Set<string>(['percpu_array', 'percpu_hash', 'lru_percpu_hash']);

describe('bpf() end to end through the user-side wrappers', () => {
  it('creates a map of every type, loads programs that use them, runs them, reads the results back and frees everything', () => {
    const cpus = 2;
    const kernel = createKernel({ cpus, devices: { nics: [{ name: 'eth0' }] } });
    registerBpf(kernel);
    const nic = kernel.devices.nics[0];
    if (nic === undefined) throw new Error('no eth0');
    const before = kernelBytes(kernel);
    const seen: Record<string, unknown> = {};
    let pinnedBytes = 0;

    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const fds: Record<string, number> = {};
      const create = function* (name: string, attr: Parameters<Libc['bpfMapCreate']>[0]): Generator<number, number, number> {
        const fd = yield* libc.bpfMapCreate({ ...attr, map_name: name });
        fds[name] = fd;
        return fd;
      };
      const load = function* (name: string, text: string): Generator<number, number, number> {
        const loaded = yield* libc.bpfProgLoad({
          progType: BPF_PROG_TYPE.XDP,
          insns: program(text, fds),
          license: 'GPL',
          name: name.slice(0, 15),
          logLevel: 1,
          logSize: 65536,
        });
        if (loaded.ret < 0) throw new Error(`BPF_PROG_LOAD ${name}: errno ${-loaded.ret}\n${loaded.log}`);
        fds[`prog_${name}`] = loaded.ret;
        return loaded.ret;
      };
      const testRun = function* (fd: number): Generator<number, number, number> {
        const run = yield* libc.bpfProgTestRun(fd, { data: FRAME });
        if (run.ret < 0) throw new Error(`BPF_PROG_TEST_RUN: errno ${-run.ret}`);
        return run.retval;
      };

      // --- the array and hash families: a program updates key 1 of each to 42 ---
      for (const name of PLAIN_MAPS)
        yield* create(name, { map_type: BPF_MAP_TYPE[name.toUpperCase() as Uppercase<typeof name>], key_size: 4, value_size: 8, max_entries: 16 });
      const updater = yield* load(
        'update_all',
        `r1 = 1\n*(u32 *)(r10 - 4) = r1\nr1 = 42\n*(u64 *)(r10 - 16) = r1\n${PLAIN_MAPS.map(updateOne).join('')}\nr0 = ${XDP_PASS}\nexit`,
      );
      seen.updateRetval = yield* testRun(updater);
      const values: Record<string, bigint[]> = {};
      for (const name of PLAIN_MAPS) {
        const size = PERCPU.has(name) ? 8 * cpus : 8;
        const got = yield* libc.bpfMapLookup(fds[name] ?? -1, u32(1), size);
        values[name] = got.ok ? Array.from({ length: size / 8 }, (_, i) => readU64(got.value, i * 8)) : [BigInt(-got.errno)];
      }
      seen.values = values;

      // --- LPM trie: the longest prefix wins ---
      yield* create('lpm', { map_type: BPF_MAP_TYPE.LPM_TRIE, key_size: 8, value_size: 8, max_entries: 16, map_flags: BPF_MAP_F.NO_PREALLOC });
      yield* libc.bpfMapUpdate(fds.lpm ?? -1, Uint8Array.of(8, 0, 0, 0, 10, 0, 0, 0), u64(1n));
      yield* libc.bpfMapUpdate(fds.lpm ?? -1, Uint8Array.of(16, 0, 0, 0, 10, 1, 0, 0), u64(2n));
      const lpm = yield* load(
        'lpm_lookup',
        `r1 = 32\n*(u32 *)(r10 - 8) = r1\nr1 = 0x0302010a\n*(u32 *)(r10 - 4) = r1\nr1 = map:lpm ll\nr2 = r10\nr2 += -8\ncall 1\nr6 = 0\nif r0 == 0 goto +1\nr6 = *(u64 *)(r0 + 0)\nr0 = r6\nexit`,
      );
      seen.lpmRetval = yield* testRun(lpm);

      // --- queue, stack, bloom filter: pushed by a program, popped or tested by user space ---
      yield* create('queue', { map_type: BPF_MAP_TYPE.QUEUE, key_size: 0, value_size: 8, max_entries: 8 });
      yield* create('stack', { map_type: BPF_MAP_TYPE.STACK, key_size: 0, value_size: 8, max_entries: 8 });
      yield* create('bloom', { map_type: BPF_MAP_TYPE.BLOOM_FILTER, key_size: 0, value_size: 8, max_entries: 64 });
      const pusher = yield* load(
        'push',
        [pushOne('queue', 7), pushOne('queue', 8), pushOne('stack', 7), pushOne('stack', 8), pushOne('bloom', 99), `r0 = ${XDP_PASS}`, 'exit'].join('\n'),
      );
      yield* testRun(pusher);
      const pops: Record<string, bigint[]> = { queue: [], stack: [] };
      for (const name of ['queue', 'stack'] as const) {
        for (;;) {
          const got = yield* libc.bpfMapLookupAndDelete(fds[name] ?? -1, null, 8);
          if (!got.ok) {
            pops[name]?.push(BigInt(got.errno));
            break;
          }
          pops[name]?.push(readU64(got.value));
        }
      }
      seen.pops = pops;
      seen.bloom = [yield* libc.bpfMapContains(fds.bloom ?? -1, u64(99n)), yield* libc.bpfMapContains(fds.bloom ?? -1, u64(12345n))];

      // --- ring buffer: a record from the program, read through the mmap'ed ring ---
      const ringSize = 4 * PAGE_SIZE;
      yield* create('rb', { map_type: BPF_MAP_TYPE.RINGBUF, key_size: 0, value_size: 0, max_entries: ringSize });
      const consumer = yield* libc.mmapFile(fds.rb ?? -1, RINGBUF_MMAP.consumer.length, PROT.READ | PROT.WRITE, MAP.SHARED, RINGBUF_MMAP.consumer.offset);
      const producerMap = RINGBUF_MMAP.producer(ringSize);
      const producer = yield* libc.mmapFile(fds.rb ?? -1, producerMap.length, PROT.READ, MAP.SHARED, producerMap.offset);
      const emit = yield* load(
        'rb_output',
        `r1 = 0x1122334455667788 ll\n*(u64 *)(r10 - 8) = r1\nr1 = map:rb ll\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 0\ncall 130\nr0 = ${XDP_PASS}\nexit`,
      );
      yield* testRun(emit);
      yield* testRun(emit);
      const records: bigint[] = [];
      new RingBufferReader(ctx.mem, consumer, producer, ringSize).consume((sample) => void records.push(readU64(sample)));
      seen.ringbuf = records;

      // --- perf event array: a BPF output event on each CPU, the record read from the one the program ran on ---
      yield* create('perf', { map_type: BPF_MAP_TYPE.PERF_EVENT_ARRAY, key_size: 4, value_size: 4, max_entries: cpus });
      const rings: Array<{ fd: number; reader: PerfRingReader; base: number }> = [];
      const perfPages = 1 + 2;
      for (let cpu = 0; cpu < cpus; cpu++) {
        const fd = yield* libc.perfEventOpen(
          { type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.BPF_OUTPUT, sampleType: PERF_SAMPLE.RAW, wakeupEvents: 1 },
          -1,
          cpu,
        );
        const base = yield* libc.mmapFile(fd, perfPages * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
        yield* libc.bpfMapUpdate(fds.perf ?? -1, u32(cpu), u32(fd));
        rings.push({ fd, base, reader: new PerfRingReader(ctx.mem, base) });
      }
      const perfOut = yield* load(
        'perf_output',
        `r6 = r1\nr1 = 0x0102030405060708 ll\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = map:perf ll\nr3 = 0xffffffff ll\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\nr0 = ${XDP_PASS}\nexit`,
      );
      yield* testRun(perfOut);
      const samples: bigint[] = [];
      for (const ring of rings) {
        ring.reader.consume((record) => {
          if (record.type === PERF_RECORD.SAMPLE && 'raw' in record) samples.push(readU64(record.raw));
        });
      }
      seen.perf = samples;

      // --- trace_printk, read from trace_pipe ---
      const printk = yield* load(
        'printk',
        `r1 = 0x00000a6425206968 ll\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 7\nr3 = 42\ncall 6\nr0 = ${XDP_PASS}\nexit`,
      );
      yield* testRun(printk);
      const pipe = yield* libc.open('/sys/kernel/tracing/trace_pipe', O.RDONLY);
      const text = yield* libc.read(pipe, 4096);
      seen.tracePipe = libc.decode(text.data).trimEnd();
      yield* libc.close(pipe);

      // --- PROG_ARRAY: a tail call into a program that answers 7 ---
      yield* create('progs', { map_type: BPF_MAP_TYPE.PROG_ARRAY, key_size: 4, value_size: 4, max_entries: 4 });
      const target = yield* load('tail_target', 'r0 = 7\nexit');
      yield* libc.bpfMapUpdate(fds.progs ?? -1, u32(0), u32(target));
      const caller = yield* load('tail_caller', 'r6 = r1\nr2 = map:progs ll\nr1 = r6\nr3 = 0\ncall 12\nr0 = 1\nexit');
      seen.tailCall = yield* testRun(caller);

      // --- ARRAY_OF_MAPS and HASH_OF_MAPS: the program reaches an inner array through the outer map ---
      yield* create('inner', { map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 });
      yield* libc.bpfMapUpdate(fds.inner ?? -1, u32(0), u64(5n));
      const inMaps: Record<string, number> = {};
      for (const [name, mapType] of [
        ['aom', BPF_MAP_TYPE.ARRAY_OF_MAPS],
        ['hom', BPF_MAP_TYPE.HASH_OF_MAPS],
      ] as const) {
        yield* create(name, { map_type: mapType, key_size: 4, value_size: 4, max_entries: 2, inner_map_fd: fds.inner ?? -1 });
        yield* libc.bpfMapUpdate(fds[name] ?? -1, u32(0), u32(fds.inner ?? -1));
        const through = yield* load(
          `${name}_lookup`,
          `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr1 = map:${name} ll\nr2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +7\nr1 = r0\nr2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +2\nr0 = *(u64 *)(r0 + 0)\nexit\nr0 = 0\nexit`,
        );
        inMaps[name] = yield* testRun(through);
      }
      seen.mapInMap = inMaps;

      // --- DEVMAP and DEVMAP_HASH: bpf_redirect_map to eth0 ---
      const redirects: Record<string, number> = {};
      for (const [name, mapType, key] of [
        ['devmap', BPF_MAP_TYPE.DEVMAP, 0],
        ['devmap_hash', BPF_MAP_TYPE.DEVMAP_HASH, 5],
      ] as const) {
        yield* create(name, { map_type: mapType, key_size: 4, value_size: 4, max_entries: 8 });
        yield* libc.bpfMapUpdate(fds[name] ?? -1, u32(key), u32(nic.ifindex));
        const redirect = yield* load(`${name}_redirect`, `r1 = map:${name} ll\nr2 = ${key}\nr3 = 0\ncall 51\nexit`);
        redirects[name] = yield* testRun(redirect);
      }
      seen.redirect = redirects;

      // --- global data: a frozen read-only array is a constant to the verifier, and the dead branch goes ---
      yield* create('rodata', { map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1, map_flags: BPF_MAP_F.RDONLY_PROG });
      yield* libc.bpfMapUpdate(fds.rodata ?? -1, u32(0), u64(1n));
      seen.freeze = yield* libc.bpfMapFreeze(fds.rodata ?? -1);
      const config = yield* load('rodata_branch', `r1 = value:rodata ll\nr2 = *(u64 *)(r1 + 0)\nr0 = ${XDP_PASS}\nif r2 == 1 goto +1\nr0 = 1\nexit`);
      const info = yield* libc.bpfProgGetInfo(config, 8, 256);
      seen.rodata = { retval: yield* testRun(config), xlatedSlots: info.ok ? info.value.xlatedProgLen / 8 : -info.errno };

      // --- STACK_TRACE is created and empty; TASK_STORAGE needs BTF type ids (EINVAL without, as Linux) ---
      yield* create('stacks', { map_type: BPF_MAP_TYPE.STACK_TRACE, key_size: 4, value_size: 8 * 16, max_entries: 16 });
      const stack = yield* libc.bpfMapLookup(fds.stacks ?? -1, u32(0), 8 * 16);
      seen.stackTrace = stack.ok ? 'found' : stack.errno;
      const storage = { map_type: BPF_MAP_TYPE.TASK_STORAGE, key_size: 4, value_size: 8, max_entries: 0, map_flags: BPF_MAP_F.NO_PREALLOC };
      const withoutBtf = yield* libc.bpfMapCreate(storage);
      const btf = yield* libc.bpfBtfLoad(intTypesBtf());
      fds.btf = btf.fd;
      const withBtf = yield* create('task_storage', { ...storage, btf_fd: btf.fd, btf_key_type_id: 1, btf_value_type_id: 2 });
      seen.taskStorage = { withoutBtf, withBtf: withBtf >= 0 ? 'fd' : withBtf };

      // --- pin, get, close everything, unpin ---
      seen.pin = [yield* libc.bpfObjPin(fds.hash ?? -1, '/sys/fs/bpf/e2e_hash'), yield* libc.bpfObjPin(updater, '/sys/fs/bpf/e2e_update')];
      const again = yield* libc.bpfObjGet('/sys/fs/bpf/e2e_hash');
      const againValue = yield* libc.bpfMapLookup(again, u32(1), 8);
      seen.pinnedValue = againValue.ok ? readU64(againValue.value) : -againValue.errno;
      const progAgain = yield* libc.bpfObjGet('/sys/fs/bpf/e2e_update');
      seen.pinnedProgRuns = yield* testRun(progAgain);
      yield* libc.munmap(consumer, RINGBUF_MMAP.consumer.length);
      yield* libc.munmap(producer, producerMap.length);
      for (const ring of rings) {
        yield* libc.munmap(ring.base, perfPages * PAGE_SIZE);
        yield* libc.close(ring.fd);
      }
      for (const fd of [...Object.values(fds), again, progAgain]) yield* libc.close(fd);
      pinnedBytes = kernelBytes(kernel);
      seen.unlink = [yield* libc.unlink('/sys/fs/bpf/e2e_hash'), yield* libc.unlink('/sys/fs/bpf/e2e_update')];
      seen.ids = [(yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: 0 })).ret, yield* libc.bpfProgGetNextId(0)];
      return 0;
    };

    kernel.vfs.registerProgram('/bin/e2e', user);
    kernel.spawn('/bin/e2e');
    kernel.run({ untilNs: 60e9 });
    expect(kernel.crashes).toEqual([]);

    expect(seen.updateRetval).toBe(XDP_PASS);
    for (const name of PLAIN_MAPS) {
      const slots = (seen.values as Record<string, bigint[]>)[name] ?? [];
      // A per-CPU map holds 42 in the slot of the CPU the test run ran on, and 0 in the others.
      if (PERCPU.has(name))
        expect({ name, sum: slots.reduce((a, b) => a + b, 0n), set: slots.filter((v) => v !== 0n).length }).toEqual({ name, sum: 42n, set: 1 });
      else expect({ name, slots }).toEqual({ name, slots: [42n] });
    }
    expect(seen.lpmRetval).toBe(2);
    expect(seen.pops).toEqual({ queue: [7n, 8n, BigInt(Errno.ENOENT)], stack: [8n, 7n, BigInt(Errno.ENOENT)] });
    expect(seen.bloom).toEqual([0, -Errno.ENOENT]);
    expect(seen.ringbuf).toEqual([0x1122334455667788n, 0x1122334455667788n]);
    expect(seen.perf).toEqual([0x0102030405060708n]);
    expect(seen.tracePipe).toMatch(/^ +e2e-\d+ +\[00\d\] [.a-zA-Z0-9]{5} +\d+\.\d{6}: bpf_trace_printk: hi 42$/);
    expect(seen.tailCall).toBe(7);
    expect(seen.mapInMap).toEqual({ aom: 5, hom: 5 });
    expect(seen.redirect).toEqual({ devmap: XDP_REDIRECT, devmap_hash: XDP_REDIRECT });
    // r1 = value ll (2 slots), the load, r0 = 2, exit: the branch and r0 = 1 are gone.
    expect(seen.freeze).toBe(0);
    expect(seen.rodata).toEqual({ retval: XDP_PASS, xlatedSlots: 5 });
    expect(seen.stackTrace).toBe(Errno.ENOENT);
    expect(seen.taskStorage).toEqual({ withoutBtf: -Errno.EINVAL, withBtf: 'fd' });
    expect(seen.pin).toEqual([0, 0]);
    expect(seen.pinnedValue).toBe(42n);
    expect(seen.pinnedProgRuns).toBe(XDP_PASS);
    // The pins held the hash and the program after every fd was closed; unpinned, nothing is left.
    expect(pinnedBytes).toBeGreaterThan(before);
    expect(seen.unlink).toEqual([0, 0]);
    expect(seen.ids).toEqual([-Errno.ENOENT, -Errno.ENOENT]);
    expect(kernelBytes(kernel)).toBe(before);
  });
});
