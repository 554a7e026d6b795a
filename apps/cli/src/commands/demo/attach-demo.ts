/**
 * `ebpf-sim attach-demo` (the README's first command, `pnpm run demo`): a clang-compiled object
 * (fixtures/attach/src/demo.bpf.c) loaded by the loader into a simulated kernel, its tracepoint program
 * attached to syscalls:sys_enter_openat and its XDP program to eth0, a shell workload and packet traffic run,
 * and what the programs collected read back by user space: a map, ring buffer events, trace_pipe lines, with a
 * few words on each layer. Everything after opening the file happens inside the kernel, through syscalls.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { LoaderError, load, openObject, type Link, type LoadedObject, type MapOutput } from '@ebpf-sim/loader';
import { MAP, PROT, RINGBUF_MMAP, RingBufferReader, strerror, type Libc, type Sys, type UserMemory } from '@ebpf-sim/uapi';
import { defineCommand } from '../../args.js';
import { CliError } from '../../command.js';
import { readInputFile } from '../../files.js';
import { interfaceIndex } from '../bpftool/link.js';
import { runSteps, type StepContext } from '../bpftool/session.js';
import { SIM_NIC, WORKLOADS, drainTracePipe } from '../bpftool/workloads.js';

/** The demo object, from the repository root. */
export const DEMO_OBJECT = join('apps', 'cli', 'fixtures', 'attach', 'obj', 'demo.bpf.o');
const DEMO_SOURCE = 'apps/cli/fixtures/attach/src/demo.bpf.c';

/** struct open_event in demo.bpf.c: u32 pid, char comm[16], char filename[48]. */
const EVENT = { pid: 0, comm: 4, filename: 20, size: 68 } as const;
/** How many ring buffer events and trace_pipe lines to show. */
const SHOWN = 5;
/** XDP actions by value (enum xdp_action), for the verdict counts. */
const XDP_ACTIONS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;

function findRepoFile(relativePath: string): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new CliError(`cannot find ${relativePath}: run the demo from a checkout of the repository`);
  }
}

const cString = (bytes: Uint8Array): string => {
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, nul < 0 ? bytes.length : nul));
};

/** A map key as text: a BTF char array decodes to a string, bytes to their C string. */
const keyText = (key: MapOutput): string =>
  typeof key === 'string' ? key : key instanceof Uint8Array ? cString(key) : JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

const numberOf = (value: MapOutput): number => (typeof value === 'number' || typeof value === 'bigint' ? Number(value) : NaN);

/** mmap the ring buffer map as libbpf's ring_buffer__add does, and read every record. */
function* ringEvents(libc: Libc, fd: number, ringSize: number, mem: UserMemory): Sys<Uint8Array[]> {
  const consumer = yield* libc.mmapFile(fd, RINGBUF_MMAP.consumer.length, PROT.READ | PROT.WRITE, MAP.SHARED, RINGBUF_MMAP.consumer.offset);
  if (consumer < 0) throw new CliError(`mmap of the ring buffer's consumer page: ${strerror(-consumer)}`);
  const producer = yield* libc.mmapFile(fd, RINGBUF_MMAP.producer(ringSize).length, PROT.READ, MAP.SHARED, RINGBUF_MMAP.producer(ringSize).offset);
  if (producer < 0) throw new CliError(`mmap of the ring buffer's data: ${strerror(-producer)}`);
  const records: Uint8Array[] = [];
  new RingBufferReader(mem, consumer, producer, ringSize).consume((sample) => void records.push(sample.slice()));
  return records;
}

/** Attach, or one line naming the program, its target and the loader's reason. */
function* attachOrExplain(attach: () => Sys<Link>, what: string): Sys<Link> {
  try {
    return yield* attach();
  } catch (error) {
    if (!(error instanceof LoaderError)) throw error;
    throw new CliError(`could not attach ${what}: ${error.message}`);
  }
}

/** The demo as a step of a commands' kernel (session.ts: a fresh kernel with eth0 and the workloads' programs). */
export function demoStep(objectPath: string, bytes: Uint8Array, jobs: number, frames: number) {
  return function* (ctx: StepContext): Sys<void> {
    const { libc, io } = ctx;
    const out = (lines: readonly string[]): void => io.out(`${lines.join('\n')}\n`);
    out([
      'ebpf-sim attach-demo: a real eBPF object at the hook points of a simulated Linux kernel',
      '',
      `1. User space: the loader opens ${objectPath} (clang-19 output of ${DEMO_SOURCE}), creates its maps`,
      '   and loads its programs with bpf(2), as libbpf does; the verifier checks each program and the JIT compiles it.',
    ]);
    const spec = openObject(bytes, { name: 'demo' });
    let loaded: LoadedObject;
    try {
      loaded = yield* load(spec, libc);
    } catch (error) {
      if (error instanceof LoaderError) throw new CliError(`${objectPath}: ${error.message}`);
      throw error;
    }
    const prog = (name: string) => {
      const found = loaded.programs.get(name);
      if (found === undefined) throw new CliError(`${objectPath}: no program '${name}'`);
      return found;
    };
    const map = (name: string) => {
      const found = loaded.maps.get(name);
      if (found === undefined) throw new CliError(`${objectPath}: no map '${name}'`);
      return found;
    };
    out([
      `   maps: ${[...loaded.maps.values()].map((m) => m.spec.name).join(', ')}; programs: ${[...loaded.programs.values()]
        .map((p) => `${p.spec.name} (SEC("${p.spec.sectionName}"))`)
        .join(', ')}`,
      '',
      '2. Attach, as bpf_program__attach does it:',
    ]);
    const tracepoint = yield* attachOrExplain(() => prog('trace_openat').attach(), 'trace_openat to syscalls:sys_enter_openat');
    out(['   trace_openat: tracepoint id from tracefs, perf_event_open(PERF_TYPE_TRACEPOINT), BPF_LINK_CREATE(BPF_PERF_EVENT)']);
    const ifindex = yield* interfaceIndex(libc, SIM_NIC);
    if (ifindex === 0) throw new CliError(`no interface ${SIM_NIC}`);
    const xdp = yield* attachOrExplain(() => prog('xdp_filter').attach({ ifindex }), `xdp_filter to ${SIM_NIC}`);
    out([`   xdp_filter: BPF_LINK_CREATE(BPF_XDP) on ${SIM_NIC} (ifindex ${ifindex})`, '']);

    const shell = WORKLOADS.get('shell');
    const packets = WORKLOADS.get('packets');
    if (shell === undefined || packets === undefined) throw new CliError('the shell and packets workloads are missing');
    out(['3. The kernel runs work; the programs run at their hooks:']);
    out([`   ${yield* shell.run(ctx, { jobs })}`]);
    out([`   ${yield* packets.run(ctx, { jobs: Math.max(1, Math.round(frames / 100)) })}`, '']);

    out([
      '4. User space reads what the programs collected:',
      '',
      '   map "opens" (hash, key = command name, value = openat calls), through BPF_MAP_GET_NEXT_KEY/LOOKUP_ELEM:',
    ]);
    const opens = yield* map('opens').entries();
    for (const { key, value } of opens) out([`     ${keyText(key).padEnd(16)} ${numberOf(value)}`]);
    const ring = map('events');
    const records = yield* ringEvents(libc, ring.fd, ring.spec.maxEntries, libc.ctx.mem);
    out(['', `   ring buffer "events": ${records.length} events, consumed through its mmap'ed pages; the first ${Math.min(SHOWN, records.length)}:`]);
    for (const record of records.slice(0, SHOWN)) {
      const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
      out([
        `     pid ${view.getUint32(EVENT.pid, true)} ${cString(record.subarray(EVENT.comm, EVENT.filename)).padEnd(16)} openat("${cString(record.subarray(EVENT.filename, EVENT.size))}")`,
      ]);
    }
    const printed = (yield* drainTracePipe(libc)).split('\n').filter((line) => line !== '');
    out(['', `   /sys/kernel/tracing/trace_pipe: ${printed.length} lines from bpf_printk; the first ${Math.min(SHOWN, printed.length)}:`]);
    for (const line of printed.slice(0, SHOWN)) out([`   ${line}`]);
    out(['', '   map "xdp_verdicts" (array, index = XDP action):']);
    for (const { key, value } of yield* map('xdp_verdicts').entries()) {
      const n = numberOf(value);
      if (n > 0) out([`     ${XDP_ACTIONS[numberOf(key)] ?? keyText(key)}: ${n}`]);
    }
    yield* tracepoint.destroy();
    yield* xdp.destroy();
    out(['', '5. Closing the links detached both programs; the kernel frees them with their last reference.']);
  };
}

export const attachDemoCommand = defineCommand(
  {
    name: 'attach-demo',
    summary: 'Load a real eBPF object, attach it to a tracepoint and to XDP, run work and read what it collected',
    description: `The end-to-end demo: ${DEMO_SOURCE} (committed with its clang-compiled object) loaded by the loader
into a simulated kernel, a tracepoint program on syscalls:sys_enter_openat and an XDP program on eth0 attached as
libbpf attaches them, a shell workload and UDP traffic run, then the map, the ring buffer events and the trace_pipe
lines the programs produced, read from user space.`,
    options: {},
  },
  (_parsed, io) => {
    const path = findRepoFile(DEMO_OBJECT);
    const shown = relative(process.cwd(), path) || path;
    runSteps([{ step: demoStep(shown, readInputFile(path), 2, 200) }], io, 'plain');
    return 0;
  },
);
