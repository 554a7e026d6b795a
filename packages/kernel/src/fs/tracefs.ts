/**
 * tracefs (kernel/trace/trace.c), mounted at /sys/kernel/tracing: the trace buffer bpf_trace_printk writes to,
 * read through `trace_pipe` (consuming, blocking) and `trace` (a snapshot with Linux's header). One buffer for
 * all CPUs in time order (Linux keeps one ring per CPU and merges them by timestamp when reading: the same
 * order, since virtual time never goes back). It is bounded: when full the oldest line is overwritten, as the
 * ring buffer does in its default overwrite mode, and counted (`entries-in-buffer/entries-written`).
 */
import { Errno, O, S_IFREG } from '@ebpf-sim/uapi';
import type { HookKind, HookPoint } from '../hooks/hook.js';
import { BLOCKED, WaitQueue } from '../sched/wait.js';
import type { CurrentTask, TracePipe } from '../services.js';
import type { File, FileOperations, IoContext } from './file.js';
import { Inode } from './inode.js';
import { snapshotFileOps } from './procfs.js';
import { tracepointFormat } from './trace-format.js';
import { Ramfs } from './ramfs.js';

/** Lines the buffer holds before overwriting the oldest (a simulation limit, in place of buffer_size_kb). */
export const TRACE_BUFFER_LINES = 16384;

/**
 * The flags field (irqs-off/BH-disabled, need-resched, hardirq/softirq, preempt-depth, migrate-disable) Linux
 * prints for a bpf_trace_printk line, by where the program runs. Measured on Linux 6.18
 * (fixtures/tracefs/lines.txt, recorded by fixtures/tracefs/record.sh) where marked.
 */
export const PRINTK_FLAGS = {
  /** A program run from a syscall (BPF_PROG_TEST_RUN of a syscall or raw_tracepoint program). Measured. */
  syscall: '...11',
  /** A tracepoint program on a syscall tracepoint. Measured. */
  tracepoint: '...21',
  /** An XDP program in BPF_PROG_TEST_RUN: bpf_test_run runs XDP with bottom halves disabled. Measured. */
  xdpTestRun: 'b..11',
  /**
   * An XDP program run by a device in NET_RX softirq. Not measured (no device runs XDP on the recording
   * machine): tracing_gen_ctx's 's' for a served softirq and the event's one level of preemption.
   */
  softirq: '..s1.',
} as const;

/**
 * Which flags a program on each kind of hook gets. kprobes and perf events were not measured (the recording
 * kernel has CONFIG_KPROBES off); they run, like tracepoints, with preemption disabled around the program.
 */
export const PRINTK_FLAGS_BY_HOOK: Readonly<Record<HookKind, string>> = {
  tracepoint: PRINTK_FLAGS.tracepoint,
  kprobe: PRINTK_FLAGS.tracepoint,
  kretprobe: PRINTK_FLAGS.tracepoint,
  lsm: PRINTK_FLAGS.tracepoint,
  perf_event: PRINTK_FLAGS.tracepoint,
  xdp: PRINTK_FLAGS.softirq,
  // tc ingress runs in NET_RX softirq as XDP does (egress, from __dev_queue_xmit with BHs off, is not told apart).
  tc: PRINTK_FLAGS.softirq,
  // Raw tracepoints and trampolines run where their site is, with preemption disabled around the program.
  raw_tracepoint: PRINTK_FLAGS.tracepoint,
  fentry: PRINTK_FLAGS.tracepoint,
  fexit: PRINTK_FLAGS.tracepoint,
  fmod_ret: PRINTK_FLAGS.tracepoint,
};

/** The `trace` file's header, as Linux 6.x prints it for the nop tracer (print_trace_header, print_func_help_header_irq). */
export function traceHeader(entries: number, written: number, cpus: number): string {
  return (
    '# tracer: nop\n' +
    '#\n' +
    `# entries-in-buffer/entries-written: ${entries}/${written}   #P:${cpus}\n` +
    '#\n' +
    '#                                _-----=> irqs-off/BH-disabled\n' +
    '#                               / _----=> need-resched\n' +
    '#                              | / _---=> hardirq/softirq\n' +
    '#                              || / _--=> preempt-depth\n' +
    '#                              ||| / _-=> migrate-disable\n' +
    '#                              |||| /     delay\n' +
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n' +
    '#              | |         |   |||||     |         |\n'
  );
}

/**
 * One bpf_trace_printk line as trace_print_context and the event's output format write it:
 * `%16s-%-7d [%03d] <flags> %5lu.%06lu: bpf_trace_printk: <message>\n`. `nowNs` is the trace clock.
 */
export function printkLine(comm: string, pid: number, cpu: number, flags: string, nowNs: number, message: string): string {
  const usecs = Math.floor(nowNs / 1000);
  const secs = Math.floor(usecs / 1e6);
  const fraction = String(usecs - secs * 1e6).padStart(6, '0');
  return `${comm.padStart(16)}-${String(pid).padEnd(7)} [${String(cpu).padStart(3, '0')}] ${flags} ${String(secs).padStart(5)}.${fraction}: bpf_trace_printk: ${message}\n`;
}

/** What the trace buffer reads: the current task and CPU, the clock, the running hook, the CPU count. */
export interface TracefsSources {
  readonly current: CurrentTask;
  readonly clock: { readonly now: number };
  /** The hook whose programs run on `cpu` now (HookArena.running). */
  running(cpu: number): HookPoint | undefined;
  readonly nrCpus: number;
}

/** The trace buffer and the tracefs tree; the kernel service `tracing` (bpf_trace_printk's sink). */
export class Tracefs implements TracePipe {
  readonly root: Inode;
  /** Readers of trace_pipe sleep here until a line arrives. */
  readonly readers = new WaitQueue();
  /**
   * local_bh_disable depth per CPU. BPF_PROG_TEST_RUN raises it around an XDP run (as bpf_test_run does), so
   * the lines that program writes carry Linux's 'b' flag.
   */
  readonly bhDisabled: Int32Array;
  private readonly lines: string[];
  private readonly tree: Ramfs;
  private head = 0;
  private count = 0;
  /** Lines written since the buffer was last cleared, overwritten ones included. */
  written = 0;
  /** Lines trace_pipe readers took since the buffer was last cleared. */
  private consumed = 0;

  constructor(
    readonly dev: number,
    private readonly sources: TracefsSources,
    readonly capacity = TRACE_BUFFER_LINES,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`tracefs: a buffer of ${capacity} lines cannot hold a line`);
    this.lines = new Array<string>(capacity).fill('');
    this.bhDisabled = new Int32Array(sources.nrCpus);
    const tree = new Ramfs(dev, sources.clock);
    this.tree = tree;
    this.root = tree.makeRoot(0o700);
    // TRACE_MODE_READ (0440) and TRACE_MODE_WRITE (0640), root's.
    tree.link(this.root, 'trace_pipe', this.file(tree, 0o440, tracePipeOps));
    tree.link(this.root, 'trace', this.file(tree, 0o640, traceOps));
  }

  /** Lines in the buffer now. */
  get entries(): number {
    return this.count;
  }

  /** Lines overwritten before anyone read them. */
  get overwritten(): number {
    return this.written - this.count - this.consumed;
  }

  printk(message: string): void {
    const sources = this.sources;
    const cpu = sources.current.currentCpu;
    const task = sources.current.currentTask();
    const hook = sources.running(cpu);
    const flags = hook !== undefined ? PRINTK_FLAGS_BY_HOOK[hook.kind] : (this.bhDisabled[cpu] ?? 0) > 0 ? PRINTK_FLAGS.xdpTestRun : PRINTK_FLAGS.syscall;
    // trace_find_cmdline: pid 0 is <idle>.
    const line = printkLine(task === undefined ? '<idle>' : task.comm, task === undefined ? 0 : task.pid, cpu, flags, sources.clock.now, message);
    this.push(line);
  }

  /** Append a line, overwriting the oldest when full, and wake trace_pipe readers. */
  push(line: string): void {
    const capacity = this.capacity;
    this.lines[(this.head + this.count) % capacity] = line;
    if (this.count === capacity) this.head = (this.head + 1) % capacity;
    else this.count++;
    this.written++;
    this.readers.wakeAll();
  }

  /** The oldest line, left in the buffer, or undefined when it is empty. */
  peek(): string | undefined {
    return this.count === 0 ? undefined : this.lines[this.head];
  }

  /** Take the oldest line (trace_pipe's consuming read), or undefined when the buffer is empty. */
  take(): string | undefined {
    if (this.count === 0) return undefined;
    const line = this.lines[this.head] as string;
    this.lines[this.head] = '';
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    this.consumed++;
    return line;
  }

  /** The buffer's lines, oldest first, without consuming them. */
  snapshot(): string[] {
    const result: string[] = [];
    for (let index = 0; index < this.count; index++) result.push(this.lines[(this.head + index) % this.capacity] as string);
    return result;
  }

  /** `trace`'s text: the header, then every line in the buffer. */
  render(): string {
    return traceHeader(this.count, this.written, this.sources.nrCpus) + this.snapshot().join('');
  }

  /** Empty the buffer (opening `trace` with O_TRUNC for writing: tracing_reset_online_cpus). */
  clear(): void {
    this.lines.fill('');
    this.head = 0;
    this.count = 0;
    this.written = 0;
    this.consumed = 0;
  }

  /**
   * The event files of kernel/trace/trace_events.c: `events/CAT/NAME/{id,format,enable}` for each tracepoint,
   * `available_events` (`cat:name` lines) and `available_filter_functions` (the functions kprobes can probe:
   * those with a kprobe site, the `__x64_sys_*` wrappers included). Published once the kernel's hooks are
   * defined (at boot, after the drivers probed); a hook defined later is not listed.
   */
  publishEvents(hooks: { list(kind?: HookKind): readonly HookPoint[] }): void {
    const tree = this.tree;
    const root = { uid: 0, gid: 0 };
    const events = tree.lookup(this.root, 'events') ?? tree.mkdir(this.root, 'events', 0o755, root);
    const tracepoints = hooks.list('tracepoint');
    for (const hook of tracepoints) {
      const colon = hook.name.indexOf(':');
      const system = hook.name.slice(0, colon);
      const name = hook.name.slice(colon + 1);
      const systemDir = tree.lookup(events, system) ?? tree.mkdir(events, system, 0o755, root);
      if (tree.lookup(systemDir, name) !== undefined) continue;
      const dir = tree.mkdir(systemDir, name, 0o755, root);
      // TRACE_MODE_READ for id and format, TRACE_MODE_WRITE for enable.
      tree.link(dir, 'id', this.textFile(0o440, `${hook.id}\n`));
      tree.link(dir, 'format', this.textFile(0o440, tracepointFormat(hook.name, hook.id, hook.fields)));
      tree.link(dir, 'enable', this.textFile(0o640, '0\n'));
    }
    const lines = (names: readonly string[]): string => names.map((name) => `${name}\n`).join('');
    tree.link(this.root, 'available_events', this.textFile(0o440, lines(tracepoints.map((hook) => hook.name))));
    const probed = hooks.list('kprobe').map((hook) => hook.name.slice(hook.name.indexOf(':') + 1));
    tree.link(this.root, 'available_filter_functions', this.textFile(0o440, lines(probed)));
  }

  private textFile(mode: number, text: string): Inode {
    const inode = new Inode(this.tree.allocateIno(), S_IFREG | mode, 0, 0, this.dev, textFileOps);
    inode.privateData = encoder.encode(text);
    inode.size = 0;
    return inode;
  }

  private file(tree: Ramfs, mode: number, ops: FileOperations): Inode {
    const inode = new Inode(tree.allocateIno(), S_IFREG | mode, 0, 0, this.dev, ops);
    inode.privateData = this;
    return inode;
  }
}

const tracefsOf = (file: File): Tracefs => file.inode.privateData as Tracefs;
const encoder = new TextEncoder();

/** A trace_pipe reader's bytes of a line taken but not yet read (a read smaller than the line). */
interface PipeReader {
  pending: Uint8Array;
  offset: number;
}

/**
 * trace_pipe: a read takes whole lines while they fit (at least the start of one), consuming them; with
 * nothing in the buffer it sleeps until a line arrives (EAGAIN with O_NONBLOCK). Not seekable.
 */
const tracePipeOps: FileOperations = {
  name: 'trace_pipe',
  open(file: File): number {
    file.privateData = { pending: new Uint8Array(0), offset: 0 } satisfies PipeReader;
    return 0;
  },
  read(io: IoContext, file: File, buffer: Uint8Array, count: number): number {
    const trace = tracefsOf(file);
    const reader = file.privateData as PipeReader;
    let done = 0;
    for (;;) {
      if (reader.offset < reader.pending.length) {
        const n = Math.min(count - done, reader.pending.length - reader.offset);
        buffer.set(reader.pending.subarray(reader.offset, reader.offset + n), done);
        reader.offset += n;
        done += n;
        if (done === count) return done;
      }
      // Start another line only when it fits whole (tracing_read_pipe stops before a line it cannot copy).
      const next = trace.peek();
      if (next === undefined) break;
      const bytes = encoder.encode(next);
      if (done > 0 && bytes.length > count - done) return done;
      trace.take();
      reader.pending = bytes;
      reader.offset = 0;
    }
    if (done > 0) return done;
    if ((file.flags & O.NONBLOCK) !== 0) return -Errno.EAGAIN;
    io.sleepOn(trace.readers);
    return BLOCKED;
  },
};

/**
 * A tracefs file of fixed text (an event's `id` and `format`, `available_events`): read from the start, with
 * size 0 in stat as tracefs reports. An event's `enable` reads `0`; turning an event on for the trace buffer
 * (its records printed into `trace`) is not modelled, so a write is refused with EINVAL rather than accepted
 * and ignored.
 */
const textFileOps: FileOperations = {
  ...snapshotFileOps,
  name: 'tracefs',
  open(file: File): number {
    file.privateData = file.inode.privateData;
    return 0;
  },
  write(): number {
    return -Errno.EINVAL;
  },
};

/** `trace`: the header and the buffer's lines, snapshotted at open; opening it with O_TRUNC for writing empties the buffer. */
const traceOps: FileOperations = {
  ...snapshotFileOps,
  name: 'trace',
  open(file: File): number {
    const trace = tracefsOf(file);
    if ((file.flags & O.ACCMODE) !== O.RDONLY && (file.flags & O.TRUNC) !== 0) trace.clear();
    file.privateData = encoder.encode(trace.render());
    return 0;
  },
  // tracing_write_stub: writes are accepted and ignored.
  write(_io: IoContext, _file: File, _data: Uint8Array, count: number): number {
    return count;
  },
};
