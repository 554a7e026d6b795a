/**
 * The simulator's side of `bpf-bench`: everything goes through bpf() from a process in the simulated kernel,
 * as a user of the real one would measure it.
 *
 * - XDP: every bench program loaded with BPF_PROG_LOAD and run with BPF_PROG_TEST_RUN on input.bin; the
 *   duration is what the test run reports (ns per run, steady state), the retval is checked against the manifest.
 * - Map lookups from a program: a loaded program looks up LOOKUPS_PER_RUN keys in a loop (an array, and a hash of
 *   4-byte keys at 64k entries); ns per lookup is the test run's duration over the lookups per run.
 * - Map operations from user space: wall time of a loop of bpf(BPF_MAP_UPDATE_ELEM) / LOOKUP_ELEM calls, after the
 *   same loops on a scratch map as a warm-up (steady state, as the XDP and program rows are).
 * - Ring buffer: a program emits RECORDS_PER_RUN records with bpf_ringbuf_output per run; user space consumes
 *   them through the mmap'ed ring after each test run (libbpf's ring_buffer__consume); records per second of the
 *   whole round trip.
 */
import { assembleLlvm, encodeProgram } from '@ebpf-sim/isa';
import { createKernel } from '@ebpf-sim/kernel';
import { registerBpf } from '@ebpf-sim/bpf';
import { BPF_FUNC, BPF_MAP_TYPE, BPF_PROG_TYPE, Libc, MAP, O, PROT, RINGBUF_MMAP, RingBufferReader, type UserProgram } from '@ebpf-sim/uapi';

/** One bench program as bpf-bench runs it: its bytecode (the xdp variant) and what it must return. */
export interface XdpBenchProgram {
  readonly name: string;
  readonly insns: Uint8Array;
  readonly expected: number;
}

export interface XdpBenchRow {
  readonly name: string;
  readonly retval: number;
  readonly expected: number;
  /** Test run duration: ns per run. */
  readonly ns: number;
}

export interface MapBenchRow {
  readonly name: string;
  readonly operations: number;
  /** ns per operation. */
  readonly ns: number;
}

export interface SimBenchReport {
  readonly engine: 'jit' | 'interp';
  readonly xdp: readonly XdpBenchRow[];
  readonly maps: readonly MapBenchRow[];
}

export interface SimBenchOptions {
  readonly programs: readonly XdpBenchProgram[];
  readonly input: Uint8Array;
  /** net.core.bpf_jit_enable: 1 JIT (default), 0 interpreter. */
  readonly engine: 'jit' | 'interp';
  /** Scale the operation counts (1: the default sizes). */
  readonly scale: number;
  /** Skip the map and ring buffer rows. */
  readonly xdpOnly: boolean;
  /** Test runs per XDP program, the fastest duration counting (default 1). */
  readonly rounds?: number;
}

/** Entries of the hash map the lookups run against, and the key mask (keys 0..65535 are all present). */
const HASH_ENTRIES = 65536;
const LOOKUPS_PER_RUN = 1024;
const RECORDS_PER_RUN = 64;
const RINGBUF_SIZE = 1 << 20;

const asm = (text: string): Uint8Array => encodeProgram(assembleLlvm(text));

/** Point the LD imm64 at `slot` at map `fd` (src_reg BPF_PSEUDO_MAP_FD), as libbpf's relocation does. */
function withMapFd(insns: Uint8Array, slot: number, fd: number): Uint8Array {
  insns[slot * 8 + 1] = (1 << 4) | ((insns[slot * 8 + 1] ?? 0) & 0x0f);
  new DataView(insns.buffer, insns.byteOffset).setInt32(slot * 8 + 4, fd, true);
  return insns;
}

/** LOOKUPS_PER_RUN lookups of keys i & 0xffff, summing the values found; the map's LD imm64 is slot 5. */
const lookupLoop = (fd: number): Uint8Array =>
  withMapFd(
    asm(
      [
        'r6 = 0',
        'r7 = 0',
        'r1 = r6',
        'r1 &= 65535',
        '*(u32 *)(r10 - 4) = r1',
        'r2 = r10',
        'r2 += -4',
        'r1 = 0 ll',
        `call ${BPF_FUNC.map_lookup_elem}`,
        'if r0 == 0 goto +2',
        'r1 = *(u64 *)(r0 + 0)',
        'r7 += r1',
        'r6 += 1',
        `if r6 < ${LOOKUPS_PER_RUN} goto -13`,
        'r0 = r7',
        'exit',
      ].join('\n'),
    ),
    7,
    fd,
  );

/** RECORDS_PER_RUN bpf_ringbuf_output calls of an 8-byte counter; the ring's LD imm64 is slot 2. */
const ringbufLoop = (fd: number): Uint8Array =>
  withMapFd(
    asm(
      [
        'r6 = 0',
        '*(u64 *)(r10 - 8) = r6',
        'r1 = 0 ll',
        'r2 = r10',
        'r2 += -8',
        'r3 = 8',
        'r4 = 0',
        `call ${BPF_FUNC.ringbuf_output}`,
        'r6 += 1',
        `if r6 < ${RECORDS_PER_RUN} goto -10`,
        'r0 = 2',
        'exit',
      ].join('\n'),
    ),
    2,
    fd,
  );

/** An Ethernet frame for test runs that do not read it. */
const FRAME = new Uint8Array(64);

/** What {@link userMapPasses} measured: wall ms of each pass, or the call that failed and its result. */
interface UserMapPasses {
  readonly updateMs: number;
  readonly lookupMs: number;
  readonly failure: string | null;
  readonly ret: number;
}

/**
 * From user space, as a C program with libbpf would: bpf_map_update_elem of every key 0..HASH_ENTRIES-1 (an
 * 8-byte value whose first byte is the key's), then (unless `updateOnly`) bpf_map_lookup_elem of each, the key
 * and value in buffers reused across calls (a C caller's locals). Each lookup's value is checked.
 */
function* userMapPasses(libc: Libc, map: number, updateOnly = false): Generator<number, UserMapPasses, number> {
  const key = new Uint8Array(4);
  const keyView = new DataView(key.buffer);
  const value = new Uint8Array(8);
  const t0 = performance.now();
  for (let k = 0; k < HASH_ENTRIES; k++) {
    keyView.setUint32(0, k, true);
    value[0] = k & 0xff;
    const ret = yield* libc.bpfMapUpdate(map, key, value);
    if (ret < 0) return { updateMs: 0, lookupMs: 0, failure: 'BPF_MAP_UPDATE_ELEM', ret };
  }
  const updateMs = performance.now() - t0;
  if (updateOnly) return { updateMs, lookupMs: 0, failure: null, ret: 0 };
  const t1 = performance.now();
  for (let k = 0; k < HASH_ENTRIES; k++) {
    keyView.setUint32(0, k, true);
    const ret = yield* libc.bpfMapLookupInto(map, key, value);
    if (ret < 0) return { updateMs, lookupMs: 0, failure: 'BPF_MAP_LOOKUP_ELEM', ret };
    if (value[0] !== (k & 0xff)) return { updateMs, lookupMs: 0, failure: `BPF_MAP_LOOKUP_ELEM of key ${k}: value byte ${value[0]}`, ret: 0 };
  }
  return { updateMs, lookupMs: performance.now() - t1, failure: null, ret: 0 };
}

export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}

/** Run the bench in a fresh simulated kernel; throws BenchFailure with the failing step. */
export function runSimBench(options: SimBenchOptions): SimBenchReport {
  const kernel = createKernel({ cpus: 1, memoryBytes: 256 * 1024 * 1024 });
  registerBpf(kernel);
  const xdp: XdpBenchRow[] = [];
  const maps: MapBenchRow[] = [];
  let failure: string | null = null;
  const scaled = (n: number): number => Math.max(1, Math.round(n * options.scale));

  const user: UserProgram = function* (ctx) {
    const libc = new Libc(ctx);
    const fail = (what: string, ret: number): number => {
      failure = `${what}: ${ret < 0 ? `errno ${-ret}` : String(ret)}`;
      return 1;
    };
    if (options.engine === 'interp') {
      const sysctl = yield* libc.open('/proc/sys/net/core/bpf_jit_enable', O.WRONLY);
      if (sysctl < 0) return fail('open /proc/sys/net/core/bpf_jit_enable', sysctl);
      const wrote = yield* libc.write(sysctl, '0\n');
      if (wrote < 0) return fail('write /proc/sys/net/core/bpf_jit_enable', wrote);
      yield* libc.close(sysctl);
    }
    const load = function* (name: string, insns: Uint8Array): Generator<number, number, number> {
      const loaded = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns, license: 'GPL', name: name.slice(0, 15) });
      return loaded.ret;
    };

    for (const program of options.programs) {
      const fd = yield* load(program.name, program.insns);
      if (fd < 0) return fail(`BPF_PROG_LOAD ${program.name}`, fd);
      // bpftool's default for prog run is repeat 1; the kernel figures were taken with enough repeats to amortize the syscall.
      // Several test runs, the fastest counting, as the kernel column is the best of its rounds: on a loaded machine
      // a whole test run can fall in a phase where other processes slow this one down (measured: the same program
      // at 1x or 2x in CPU time, for seconds at a time, whatever the timing inside the test run).
      let run = yield* libc.bpfProgTestRun(fd, { data: options.input, repeat: scaled(1000) });
      if (run.ret < 0) return fail(`BPF_PROG_TEST_RUN ${program.name}`, run.ret);
      for (let round = 1; round < (options.rounds ?? 1); round++) {
        const again = yield* libc.bpfProgTestRun(fd, { data: options.input, repeat: scaled(1000) });
        if (again.ret < 0) return fail(`BPF_PROG_TEST_RUN ${program.name}`, again.ret);
        if (again.retval !== run.retval) return fail(`BPF_PROG_TEST_RUN ${program.name}: retval ${again.retval >>> 0} after ${run.retval >>> 0}`, again.retval);
        if (again.duration < run.duration) run = again;
      }
      xdp.push({ name: program.name, retval: run.retval >>> 0, expected: program.expected, ns: run.duration });
      yield* libc.close(fd);
    }
    if (options.xdpOnly) return 0;

    // Map lookups from a program: an array and a hash, both with every key 0..65535 present.
    for (const [label, mapType] of [
      ['array lookup from a program', BPF_MAP_TYPE.ARRAY],
      ['hash lookup (4-byte keys, 64k entries) from a program', BPF_MAP_TYPE.HASH],
    ] as const) {
      const map = yield* libc.bpfMapCreate({ map_type: mapType, key_size: 4, value_size: 8, max_entries: HASH_ENTRIES });
      if (map < 0) return fail(`BPF_MAP_CREATE (${label})`, map);
      const isHash = mapType === BPF_MAP_TYPE.HASH;
      let scratch = -1;
      if (isHash) {
        // Warm-up, as the kernel's bench tool (tools/testing/selftests/bpf/bench.c) discards its warm-up seconds:
        // the same passes on a scratch map of the same shape first, so the figures are the steady state of the
        // simulator's code, not V8 compiling it. The scratch map is made before and closed after the measured
        // passes: a command between them would take V8 down paths the warmed code has not seen (a deopt).
        scratch = yield* libc.bpfMapCreate({ map_type: mapType, key_size: 4, value_size: 8, max_entries: HASH_ENTRIES });
        if (scratch < 0) return fail(`BPF_MAP_CREATE (${label}, warm-up)`, scratch);
        const warmed = yield* userMapPasses(libc, scratch);
        if (warmed.failure !== null) return fail(`${warmed.failure} (warm-up)`, warmed.ret);
      }
      const passes = yield* userMapPasses(libc, map, !isHash);
      if (passes.failure !== null) return fail(`${passes.failure} (${label})`, passes.ret);
      if (isHash) {
        yield* libc.close(scratch);
        maps.push({ name: 'bpf(BPF_MAP_UPDATE_ELEM) on the hash, from user space', operations: HASH_ENTRIES, ns: (passes.updateMs * 1e6) / HASH_ENTRIES });
        maps.push({ name: 'bpf(BPF_MAP_LOOKUP_ELEM) on the hash, from user space', operations: HASH_ENTRIES, ns: (passes.lookupMs * 1e6) / HASH_ENTRIES });
      }
      const prog = yield* load('lookup_loop', lookupLoop(map));
      if (prog < 0) return fail(`BPF_PROG_LOAD (${label})`, prog);
      // A warm-up test run first: a program with maps is timed on its own runs, as Linux times it.
      const warm = yield* libc.bpfProgTestRun(prog, { data: FRAME, repeat: scaled(200) });
      if (warm.ret < 0) return fail(`BPF_PROG_TEST_RUN (${label})`, warm.ret);
      const repeat = scaled(2000);
      const run = yield* libc.bpfProgTestRun(prog, { data: FRAME, repeat });
      if (run.ret < 0) return fail(`BPF_PROG_TEST_RUN (${label})`, run.ret);
      maps.push({ name: label, operations: repeat * LOOKUPS_PER_RUN, ns: run.duration / LOOKUPS_PER_RUN });
      yield* libc.close(prog);
      yield* libc.close(map);
    }

    // Ring buffer records from a program to user space through mmap.
    const ring = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.RINGBUF, key_size: 0, value_size: 0, max_entries: RINGBUF_SIZE });
    if (ring < 0) return fail('BPF_MAP_CREATE (ringbuf)', ring);
    const consumer = yield* libc.mmapFile(ring, RINGBUF_MMAP.consumer.length, PROT.READ | PROT.WRITE, MAP.SHARED, RINGBUF_MMAP.consumer.offset);
    if (consumer < 0) return fail('mmap (ringbuf consumer page)', consumer);
    const { length, offset } = RINGBUF_MMAP.producer(RINGBUF_SIZE);
    const producer = yield* libc.mmapFile(ring, length, PROT.READ, MAP.SHARED, offset);
    if (producer < 0) return fail('mmap (ringbuf producer pages)', producer);
    const reader = new RingBufferReader(ctx.mem, consumer, producer, RINGBUF_SIZE);
    const emitter = yield* load('ringbuf_loop', ringbufLoop(ring));
    if (emitter < 0) return fail('BPF_PROG_LOAD (ringbuf)', emitter);
    // Each test run fills at most (RECORDS_PER_RUN × repeat × 16 bytes) of the ring before user space drains it.
    const repeat = Math.floor(RINGBUF_SIZE / 2 / (16 * RECORDS_PER_RUN));
    let records = 0;
    let expected = 0;
    const rounds = scaled(40);
    const t0 = performance.now();
    for (let round = 0; round < rounds; round++) {
      const run = yield* libc.bpfProgTestRun(emitter, { data: FRAME, repeat });
      if (run.ret < 0) return fail('BPF_PROG_TEST_RUN (ringbuf)', run.ret);
      expected += repeat * RECORDS_PER_RUN;
      records += reader.consume(() => undefined);
    }
    const ms = performance.now() - t0;
    if (records !== expected) return fail(`ring buffer: read ${records} records of ${expected}`, records);
    maps.push({ name: 'ringbuf records, program to user space through mmap', operations: records, ns: (ms * 1e6) / records });
    yield* libc.munmap(consumer, RINGBUF_MMAP.consumer.length);
    yield* libc.munmap(producer, length);
    yield* libc.close(emitter);
    yield* libc.close(ring);
    return 0;
  };

  kernel.vfs.registerProgram('/bin/bpf-bench', user);
  kernel.spawn('/bin/bpf-bench');
  kernel.run();
  const crash = kernel.crashes[0];
  if (crash !== undefined) throw new BenchFailure(`the bench process crashed: ${crash.message}`);
  if (failure !== null) throw new BenchFailure(failure);
  return { engine: options.engine, xdp, maps };
}
