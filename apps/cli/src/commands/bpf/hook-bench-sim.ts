/**
 * The measurements of `ebpf-sim hook-bench`: BPF programs at kernel hook points, timed in host (wall) time
 * while the simulated kernel runs them. Each scenario runs in a fresh kernel with the programs of the clang
 * object rb_bench.bpf.o, loaded by the loader (JIT-compiled: net.core.bpf_jit_enable is 1 by default) and put
 * on their hook with a BpfAttachment, the object every attach path (perf links, raw tracepoints, XDP links)
 * attaches:
 *
 * (a) syscalls: a process making `syscalls` getpid(2) calls, bare and with count_sys_enter on the
 *     raw_syscalls:sys_enter tracepoint (the counter checked afterwards);
 * (b) XDP_DROP: `packets` 64-byte UDP frames received by a NIC model whose XDP hook runs xdp_drop_all
 *     (the NIC's drop counter checked);
 * (c) ringbuf: rb_burst on syscalls:sys_enter_getppid writes 64 records per call into a ring buffer, which a
 *     reader process consumes with the loader's RingBuffer, sleeping in epoll_wait (the records counted).
 *
 * Every figure is the best of `rounds` timed runs after one untimed warm-up run.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BpfAttachment, registerBpf, type ProgObject } from '@ebpf-sim/bpf';
import { buildUdpFrame, createKernel, type Kernel } from '@ebpf-sim/kernel';
import { RingBuffer, load, openObject, type LoadedObject } from '@ebpf-sim/loader';
import { Libc, type UserProgram } from '@ebpf-sim/uapi';
import { repoRoot } from '../../repo.js';

/** The object with the bench programs (apps/cli/fixtures/attach/src/rb_bench.bpf.c). */
export const HOOK_BENCH_OBJECT = resolve(repoRoot(), 'apps/cli/fixtures/attach/obj/rb_bench.bpf.o');
/** Records rb_burst writes per getppid(2). */
const BURST = 64;
/** Frames handed to the NIC per batch (its RX ring size here). */
const NIC_BATCH = 4096;

export interface HookBenchOptions {
  readonly syscalls: number;
  readonly packets: number;
  readonly events: number;
  readonly rounds: number;
}

export interface HookBenchRow {
  readonly name: string;
  /** Operations per timed run. */
  readonly operations: number;
  /** The best run, host milliseconds. */
  readonly ms: number;
  /** Operations per host second in the best run. */
  readonly perSecond: number;
  /** What the programs reported, to check the run did what it says (counted syscalls, dropped frames, records read). */
  readonly observed: number;
}

export interface HookBenchReport {
  readonly syscallsBare: HookBenchRow;
  readonly syscallsCounted: HookBenchRow;
  readonly xdpDrop: HookBenchRow;
  readonly ringbuf: HookBenchRow;
}

/** A failure of the bench itself (a load or a syscall that should not fail). */
export class HookBenchFailure extends Error {}

const row = (name: string, operations: number, ms: number, observed: number): HookBenchRow => ({
  name,
  operations,
  ms,
  perSecond: (operations / ms) * 1e3,
  observed,
});

/** Load rb_bench.bpf.o in the calling process of `kernel`; the loaded object and a way to its programs' kernel objects. */
function* loadBench(
  kernel: Kernel,
  bpf: ReturnType<typeof registerBpf>,
  libc: Libc,
): Generator<number, { loaded: LoadedObject; prog: (name: string) => Generator<number, ProgObject, number> }, number> {
  const loaded = yield* load(openObject(new Uint8Array(readFileSync(HOOK_BENCH_OBJECT)), { name: 'rb_bench' }), libc, { possibleCpus: kernel.config.cpus });
  const prog = function* (name: string): Generator<number, ProgObject, number> {
    const handle = loaded.programs.get(name);
    if (handle === undefined) throw new HookBenchFailure(`rb_bench.bpf.o has no program ${name}`);
    const info = yield* libc.bpfProgGetInfo(handle.fd);
    if (!info.ok) throw new HookBenchFailure(`BPF_OBJ_GET_INFO_BY_FD (${name}): errno ${info.errno}`);
    const object = bpf.progs.progs.find(info.value.id);
    if (object === undefined) throw new HookBenchFailure(`no kernel object for program ${name}`);
    return object;
  };
  return { loaded, prog };
}

/** Run `body` as root process /bin/bench in `kernel` to its end; rethrow what it throws. */
function runProcess(kernel: Kernel, body: (libc: Libc) => Generator<number, void, number>): void {
  let failure: unknown;
  const program: UserProgram = function* (ctx) {
    try {
      yield* body(new Libc(ctx));
    } catch (error) {
      failure = error;
    }
    return 0;
  };
  kernel.vfs.registerProgram('/bin/bench', program);
  kernel.spawn('/bin/bench', { uid: 0 });
  kernel.run({});
  if (failure !== undefined) throw failure instanceof Error ? failure : new HookBenchFailure(`the bench process threw ${JSON.stringify(failure)}`);
  if (kernel.crashes.length > 0) throw new HookBenchFailure(`the simulated kernel crashed: ${JSON.stringify(kernel.crashes[0])}`);
}

/** (a): best bare and counted times of `syscalls` getpid(2) calls, alternating so both see the same host state. */
function benchSyscalls(options: HookBenchOptions): [HookBenchRow, HookBenchRow] {
  const kernel = createKernel({ cpus: 1 });
  const bpf = registerBpf(kernel);
  let bare = Infinity;
  let counted = Infinity;
  let observed = 0;
  runProcess(kernel, function* (libc) {
    const { loaded, prog } = yield* loadBench(kernel, bpf, libc);
    const attachment = new BpfAttachment(bpf.runtime, yield* prog('count_sys_enter'), 0n);
    const hook = kernel.hooks.require('raw_syscalls:sys_enter');
    const counts = loaded.maps.get('counts');
    if (counts === undefined) throw new HookBenchFailure('rb_bench.bpf.o has no map counts');
    const calls = function* (): Generator<number, number, number> {
      const started = performance.now();
      for (let index = 0; index < options.syscalls; index++) yield* libc.getpid();
      return performance.now() - started;
    };
    for (let round = 0; round <= options.rounds; round++) {
      const bareMs = yield* calls();
      const detach = hook.attach(attachment);
      const before = attachment.runs;
      const countedMs = yield* calls();
      observed = attachment.runs - before;
      detach();
      // Round 0 warms up (JIT, inline caches); the others are timed.
      if (round > 0) {
        bare = Math.min(bare, bareMs);
        counted = Math.min(counted, countedMs);
      }
    }
    // The program's own count: every syscall of every counted run (and nothing while detached).
    const value = yield* libc.bpfMapLookup(counts.fd, new Uint8Array(4), 8);
    if (!value.ok) throw new HookBenchFailure(`BPF_MAP_LOOKUP_ELEM (counts): errno ${value.errno}`);
    const total = Number(new DataView(value.value.buffer, value.value.byteOffset, 8).getBigUint64(0, true));
    if (total < observed * (options.rounds + 1)) throw new HookBenchFailure(`count_sys_enter counted ${total} syscalls, fewer than it ran`);
    yield* loaded.close();
  });
  return [
    row('syscalls/s, bare', options.syscalls, bare, 0),
    row('syscalls/s, counting program on raw_syscalls:sys_enter', options.syscalls, counted, observed),
  ];
}

/** (b): `packets` frames through a NIC whose XDP program drops them all. */
function benchXdpDrop(options: HookBenchOptions): HookBenchRow {
  const kernel = createKernel({ cpus: 1, devices: { nics: [{ name: 'eth0', rxRingSize: NIC_BATCH }] } });
  const bpf = registerBpf(kernel);
  const nic = kernel.devices.net('eth0');
  if (nic === undefined) throw new HookBenchFailure('no NIC eth0');
  runProcess(kernel, function* (libc) {
    const { prog } = yield* loadBench(kernel, bpf, libc);
    // The attachment keeps the program alive after the process exits (a link would hold it the same way).
    nic.xdp.attach(new BpfAttachment(bpf.runtime, yield* prog('xdp_drop_all'), 0n));
  });
  const frame = buildUdpFrame(0x0a000001, 0x0a000002, 1000, 2000, 64 - 42, 0);
  let best = Infinity;
  for (let round = 0; round <= options.rounds; round++) {
    const before = nic.stats.xdpDrop;
    const started = performance.now();
    for (let sent = 0; sent < options.packets;) {
      const batch = Math.min(NIC_BATCH, options.packets - sent);
      for (let index = 0; index < batch; index++) nic.receive(frame);
      kernel.run({});
      sent += batch;
    }
    const ms = performance.now() - started;
    if (nic.stats.xdpDrop - before !== options.packets) throw new HookBenchFailure(`XDP dropped ${nic.stats.xdpDrop - before} of ${options.packets} frames`);
    if (round > 0) best = Math.min(best, ms);
  }
  return row('XDP_DROP packets/s through a NIC model', options.packets, best, options.packets);
}

/** (c): `events` ring buffer records from rb_burst to a reader in epoll_wait, per timed run. */
function benchRingbuf(options: HookBenchOptions): HookBenchRow {
  const kernel = createKernel({ cpus: 2, memoryBytes: 256 * 1024 * 1024 });
  const bpf = registerBpf(kernel);
  const calls = Math.max(1, Math.ceil(options.events / BURST));
  const events = calls * BURST;
  kernel.vfs.registerProgram('/bin/producer', function* (ctx) {
    const libc = new Libc(ctx);
    for (let index = 0; index < calls; index++) yield* libc.getppid();
    return 0;
  });
  let best = Infinity;
  let observed = 0;
  runProcess(kernel, function* (libc) {
    const { loaded, prog } = yield* loadBench(kernel, bpf, libc);
    kernel.hooks.require('syscalls:sys_enter_getppid').attach(new BpfAttachment(bpf.runtime, yield* prog('rb_burst'), 0n));
    const ring = loaded.maps.get('bench_rb');
    if (ring === undefined) throw new HookBenchFailure('rb_bench.bpf.o has no map bench_rb');
    let records = 0;
    const rb = yield* RingBuffer.create(libc, ring.fd, () => {
      records++;
    });
    if (typeof rb === 'number') throw new HookBenchFailure(`ring_buffer__new: errno ${-rb}`);
    for (let round = 0; round <= options.rounds; round++) {
      records = 0;
      const started = performance.now();
      const producer = yield* libc.fork(function* (childCtx) {
        return yield* new Libc(childCtx).execve('/bin/producer', ['producer'], []);
      });
      while (records < events) {
        // A second of virtual time without a record means records were lost (the ring was full).
        const n = yield* rb.poll(1000);
        if (n < 0) throw new HookBenchFailure(`ring_buffer__poll: errno ${-n}`);
        if (n === 0 && rb.consume() === 0) throw new HookBenchFailure(`the reader got ${records} of ${events} records`);
      }
      const ms = performance.now() - started;
      yield* libc.wait4(producer);
      observed = records;
      if (round > 0) best = Math.min(best, ms);
    }
    yield* rb.free();
    yield* loaded.close();
  });
  return row('ringbuf events/s, tracepoint program to a reader in epoll_wait', events, best, observed);
}

export function runHookBench(options: HookBenchOptions): HookBenchReport {
  const [syscallsBare, syscallsCounted] = benchSyscalls(options);
  return { syscallsBare, syscallsCounted, xdpDrop: benchXdpDrop(options), ringbuf: benchRingbuf(options) };
}
