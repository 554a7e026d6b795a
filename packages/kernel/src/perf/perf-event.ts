/**
 * perf events (kernel/events/core.c, ring_buffer.c, kernel/trace/trace_event_perf.c): perf_event_open(2) and
 * its anon-inode `[perf_event]` fd, for
 * - PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT on one CPU: mmap of 1 + 2^n pages (the perf_event_mmap_page
 *   header, then the data ring), PERF_RECORD_SAMPLE records with PERF_SAMPLE_RAW written by
 *   bpf_perf_event_output (PERF_RECORD_LOST first when earlier samples were dropped);
 * - PERF_TYPE_SOFTWARE / PERF_COUNT_SW_CPU_CLOCK sampling on one CPU (perf/cpu-clock.ts) for PERF_EVENT programs;
 * - PERF_TYPE_TRACEPOINT (config = the tracepoint id of tracefs's events/CAT/NAME/id) and the kprobe PMU
 *   (perf/kprobe-pmu.ts: config1 = function name, config bit 0 = retprobe) for TRACEPOINT and KPROBE programs;
 * - ioctl(2) PERF_EVENT_IOC_ENABLE, DISABLE, ID and SET_BPF (the bpf side registers through PerfEventBpfHost).
 *
 * Not modelled, each refused with an errno rather than accepted and ignored: groups, other software events,
 * task-bound (pid != -1) software events, sample records of tracing and cpu-clock events (any sample_type on
 * them: EOPNOTSUPP), sample_type bits other than PERF_SAMPLE_RAW (EOPNOTSUPP); hardware, raw and unknown
 * types (ENOENT, as on a machine with no PMU). read(2) of the counts is not modelled.
 */
import {
  CAP,
  EPOLL,
  Errno,
  MAP,
  O,
  PAGE_SIZE,
  PERF_ATTR_FLAG,
  PERF_ATTR_WATERMARK_BIT,
  PERF_ATTR_SIZE_VER0,
  PERF_CAP_BIT0_IS_DEPRECATED,
  PERF_COUNT_SW,
  PERF_EVENT_ATTR,
  PERF_EVENT_HEADER,
  PERF_EVENT_IOC,
  PERF_EVENT_MMAP_PAGE,
  PERF_FLAG,
  PERF_RECORD,
  PERF_RECORD_LOST_LAYOUT,
  PERF_RECORD_MISC,
  PERF_SAMPLE,
  PERF_SAMPLE_RAW_LAYOUT,
  PERF_TYPE,
  PROT,
  perfRawSize,
} from '@ebpf-sim/uapi';
import { releaseFile, type File, type FileOperations, type PollTable } from '../fs/file.js';
import type { HookPoint } from '../hooks/hook.js';
import type {
  KernelInternals,
  KernelMemory,
  KernelTime,
  PerfBpfEvent,
  PerfEventBpfHost,
  PerfEventBpfOps,
  PerfEventKind,
  PerfEvents,
  PerfOutputEvent,
  SysctlEntry,
} from '../services.js';
import { IrqWork } from '../sched/irq-work.js';
import { WaitQueue } from '../sched/wait.js';
import { hasCapability, type Task } from '../task/task.js';
import type { SyscallTable } from '../syscalls/table.js';
import { cpuClockPeriod, CpuClockTimer } from './cpu-clock.js';
import { KPROBE_PMU_TYPE, kprobeEventSource, publishPmus } from './kprobe-pmu.js';

/** PERF_FLAG_ALL: the flags perf_event_open knows. */
const PERF_FLAG_ALL = PERF_FLAG.FD_NO_GROUP | PERF_FLAG.FD_OUTPUT | PERF_FLAG.PID_CGROUP | PERF_FLAG.FD_CLOEXEC;
/** PERF_FORMAT_MAX: one past the last read_format bit (PERF_FORMAT_LOST is 1 << 4). */
const PERF_FORMAT_MAX = 1 << 5;
/** kernel.perf_event_max_sample_rate's default: a larger sample_freq is EINVAL. */
const MAX_SAMPLE_RATE = 100_000;
/** A record's size is a u16 in its header. */
const RECORD_MAX = 0xffff;

/** What an event counts and where a program set on it runs (perf_event_alloc's pmu->event_init result). */
export interface PerfEventSource {
  readonly kind: PerfEventKind;
  readonly attrType: number;
  readonly config: number;
  /** The tracepoint's or probe's hook (tracing events); undefined for software events. */
  readonly hook: HookPoint | undefined;
  readonly name: string;
  readonly probeOffset: number;
}

/** A software event's source (BPF output, cpu-clock). */
const softwareSource = (config: number): PerfEventSource => ({
  kind: 'software',
  attrType: PERF_TYPE.SOFTWARE,
  config,
  hook: undefined,
  name: '',
  probeOffset: 0,
});

/** Where an event finds the bpf subsystem's side of SET_BPF (the subsystem's, shared by its events). */
interface BpfOpsSlot {
  ops: PerfEventBpfOps | undefined;
}

/** One perf event: a BPF-output event and, once mapped, its ring; or a tracing or cpu-clock event a program runs on. */
export class PerfEvent implements PerfOutputEvent, PerfBpfEvent {
  /** Physical address of the ring (header page, then data), 0 until mmap'ed. */
  ring = 0;
  /** Data pages (a power of two, or 0 for a header-only mapping, which takes no samples: the ring is paused). */
  dataPages = 0;
  /** Mapped without PROT_WRITE: the kernel overwrites old records instead of checking the reader's tail. */
  overwrite = false;
  /** The kernel's write position (data_head), mirrored in the header page. */
  head = 0;
  /** Samples dropped since the last PERF_RECORD_LOST (rb->lost). */
  lost = 0;
  /** Samples dropped in all (event->lost_samples). */
  lostTotal = 0;
  /** event->waitq: pollers and epoll items waiting for a wake-up. */
  readonly waitq = new WaitQueue();
  /** rb->poll: EPOLLIN after a wake-up, taken (exchanged for 0) by the next poll, as perf_poll does. */
  pollMask = 0;
  /** attr.wakeup_events (wake every n samples), or with `watermark` set, attr.wakeup_watermark (bytes). */
  wakeupEvents = 0;
  watermark = false;
  /** Wake-ups the ring asked for (perf_output_wakeup). */
  wakeups = 0;
  /** The irq_work that wakes `waitq` after the output (perf_pending_irq); undefined: wake at once. */
  irqWork: IrqWork | undefined = undefined;
  /** rb->watermark, rb->events, rb->wakeup (a counter compared for change, advanced by whole watermarks). */
  private rbWatermark = 0;
  private rbEvents = 0;
  private rbWakeup = 0;
  /** event->prog, the bpf subsystem's (PerfBpfEvent.bpf). */
  bpf: unknown = undefined;
  /** The sampling timer of a cpu-clock event. */
  readonly clock: CpuClockTimer | undefined;

  constructor(
    /** The event id PERF_RECORD_LOST carries (primary_event_id). */
    readonly id: number,
    readonly cpu: number,
    readonly sampleType: number,
    /** event->oncpu !== -1: a disabled event takes no output. */
    public enabled: boolean,
    private readonly mem: Pick<KernelMemory, 'bytes' | 'view' | 'kmalloc' | 'kfree'>,
    readonly source: PerfEventSource = softwareSource(PERF_COUNT_SW.BPF_OUTPUT),
    private readonly bpfOps: BpfOpsSlot = { ops: undefined },
    clock?: CpuClockTimer,
  ) {
    this.clock = clock;
    clock?.setEnabled(enabled);
  }

  get kind(): PerfEventKind {
    return this.source.kind;
  }
  get attrType(): number {
    return this.source.attrType;
  }
  get config(): number {
    return this.source.config;
  }
  get hook(): HookPoint | undefined {
    return this.source.hook ?? this.clock?.hook;
  }
  get name(): string {
    return this.source.name;
  }
  get probeOffset(): number {
    return this.source.probeOffset;
  }

  /** The memory accounting owner of this event's ring. */
  get owner(): string {
    return `perf-event:${this.id}`;
  }

  /**
   * PERF_EVENT_IOC_ENABLE / DISABLE. A cpu-clock event's timer follows. A tracing event's program runs whether
   * the event is enabled or not, as Linux's perf_trace_run_bpf_submit and kprobe_perf_func call trace_call_bpf
   * before looking at the enabled events: enabling only starts the (unmodelled) counting.
   */
  enable(): void {
    this.enabled = true;
    this.clock?.setEnabled(true);
  }
  disable(): void {
    this.enabled = false;
    this.clock?.setEnabled(false);
  }

  /**
   * _perf_ioctl: ENABLE, DISABLE, ID (the id written as a u64 at `arg`), SET_BPF (`arg` is a program fd);
   * anything else is ENOTTY.
   */
  ioctl(task: Task, cmd: number, arg: number): number {
    switch (cmd) {
      case PERF_EVENT_IOC.ENABLE:
        this.enable();
        return 0;
      case PERF_EVENT_IOC.DISABLE:
        this.disable();
        return 0;
      case PERF_EVENT_IOC.ID: {
        const id = new Uint8Array(8);
        new DataView(id.buffer).setUint32(0, this.id, true);
        return task.group.mm.copyToUser(arg, id, 0, 8) ? 0 : -Errno.EFAULT;
      }
      case PERF_EVENT_IOC.SET_BPF: {
        const ops = this.bpfOps.ops;
        return ops === undefined ? -Errno.EOPNOTSUPP : ops.setBpf(task, this, arg | 0);
      }
      default:
        return -Errno.ENOTTY;
    }
  }

  /**
   * perf_event_output of a PERF_SAMPLE_RAW sample: 0; -EOPNOTSUPP when the event is disabled (bpf_perf_event_output's
   * oncpu check); -ENOSPC when there is no ring, it is paused, or the record does not fit (then counted as lost).
   * The record's padding after the data is skipped, not written, as perf_output_skip does.
   */
  outputSample(bytes: Uint8Array, offset: number, length: number): number {
    if (!this.enabled) return -Errno.EOPNOTSUPP;
    const ring = this.ring;
    if (ring === 0 || this.dataPages === 0) return -Errno.ENOSPC;
    const raw = (this.sampleType & PERF_SAMPLE.RAW) !== 0;
    const recordLength = raw ? PERF_SAMPLE_RAW_LAYOUT.data + perfRawSize(length) : PERF_EVENT_HEADER.size;
    if (recordLength > RECORD_MAX) return -Errno.E2BIG;
    const lostLength = this.lost > 0 ? PERF_RECORD_LOST_LAYOUT.size : 0;
    const dataSize = this.dataPages * PAGE_SIZE;
    const view = this.mem.view;
    const head = this.head;
    if (!this.overwrite) {
      const tail = view.getUint32(ring + PERF_EVENT_MMAP_PAGE.data_tail, true) + view.getUint32(ring + PERF_EVENT_MMAP_PAGE.data_tail + 4, true) * 2 ** 32;
      // ring_buffer_has_space: CIRC_SPACE(head, tail, size) >= size, one byte always kept free.
      const space = (((tail - (head + 1)) % dataSize) + dataSize) % dataSize;
      if (space < recordLength + lostLength) {
        this.lost++;
        this.lostTotal++;
        return -Errno.ENOSPC;
      }
    }
    const data = ring + PAGE_SIZE;
    let at = head;
    if (lostLength > 0) {
      const record = data + (at % dataSize);
      view.setUint32(record + PERF_EVENT_HEADER.type, PERF_RECORD.LOST, true);
      view.setUint16(record + PERF_EVENT_HEADER.misc, 0, true);
      view.setUint16(record + PERF_EVENT_HEADER.size_field, PERF_RECORD_LOST_LAYOUT.size, true);
      view.setUint32(record + PERF_RECORD_LOST_LAYOUT.id, this.id, true);
      view.setUint32(record + PERF_RECORD_LOST_LAYOUT.id + 4, 0, true);
      view.setUint32(record + PERF_RECORD_LOST_LAYOUT.lost, this.lost, true);
      view.setUint32(record + PERF_RECORD_LOST_LAYOUT.lost + 4, 0, true);
      at += lostLength;
      this.lost = 0;
    }
    // Records are 8-aligned and the data area a multiple of 8, so the header and the u32 size never wrap.
    const record = data + (at % dataSize);
    view.setUint32(record + PERF_EVENT_HEADER.type, PERF_RECORD.SAMPLE, true);
    view.setUint16(record + PERF_EVENT_HEADER.misc, PERF_RECORD_MISC.KERNEL, true);
    view.setUint16(record + PERF_EVENT_HEADER.size_field, recordLength, true);
    if (raw) {
      view.setUint32(record + PERF_SAMPLE_RAW_LAYOUT.size, perfRawSize(length), true);
      const start = (at + PERF_SAMPLE_RAW_LAYOUT.data) % dataSize;
      const first = Math.min(length, dataSize - start);
      const target = this.mem.bytes;
      target.set(bytes.subarray(offset, offset + first), data + start);
      if (first < length) target.set(bytes.subarray(offset + first, offset + length), data);
    }
    this.head = at + recordLength;
    // smp_store_release(&userpg->data_head): the records are in place before the head moves.
    view.setUint32(ring + PERF_EVENT_MMAP_PAGE.data_head, this.head % 2 ** 32, true);
    view.setUint32(ring + PERF_EVENT_MMAP_PAGE.data_head + 4, Math.floor(this.head / 2 ** 32), true);
    this.outputWakeup();
    return 0;
  }

  /**
   * The wake-up rules of a sample just written, as __perf_output_begin, perf_output_sample and
   * perf_output_put_handle apply them: rb->wakeup moves by a watermark when the head passed it, and (without
   * attr.watermark) by one every wakeup_events samples; when it moved, rb->poll becomes EPOLLIN and the
   * event's waiters are woken through irq_work.
   */
  private outputWakeup(): void {
    const before = this.rbWakeup;
    if (this.head - this.rbWakeup > this.rbWatermark) this.rbWakeup += this.rbWatermark;
    if (!this.watermark && this.wakeupEvents !== 0 && ++this.rbEvents >= this.wakeupEvents) {
      this.rbEvents -= this.wakeupEvents;
      this.rbWakeup++;
    }
    if (this.rbWakeup === before) return;
    this.pollMask = EPOLL.IN;
    this.wakeups++;
    if (this.irqWork === undefined) this.waitq.wakeAll();
    else this.irqWork.queue();
  }

  /** perf_poll: EPOLLHUP without a ring, else the pending rb->poll, taken. */
  poll(table: PollTable | null): number {
    table?.wait(this.waitq);
    if (this.ring === 0) return EPOLL.HUP;
    const mask = this.pollMask;
    this.pollMask = 0;
    return mask;
  }

  /**
   * perf_mmap: the data mapping starts at page 0, is shared, and has 1 + 2^n pages; a second mapping must have
   * the first one's size. The ring is made on the first mmap (its header initialised as perf_event_init_userpage
   * does) and kept until the event's file is released.
   */
  mmap(pgoff: number, pages: number, prot: number, flags: number): readonly number[] | number {
    if (pgoff !== 0 || (flags & MAP.SHARED) === 0) return -Errno.EINVAL;
    const dataPages = pages - 1;
    if (dataPages !== 0 && (dataPages & (dataPages - 1)) !== 0) return -Errno.EINVAL;
    if (this.ring !== 0) {
      if (dataPages !== this.dataPages) return -Errno.EINVAL;
    } else {
      const ring = this.mem.kmalloc(pages * PAGE_SIZE, this.owner);
      if (ring < 0) return -Errno.ENOMEM;
      this.ring = ring;
      this.dataPages = dataPages;
      this.overwrite = (prot & PROT.WRITE) === 0;
      const view = this.mem.view;
      view.setUint32(ring + PERF_EVENT_MMAP_PAGE.capabilities, PERF_CAP_BIT0_IS_DEPRECATED, true);
      view.setUint32(ring + PERF_EVENT_MMAP_PAGE.size, PERF_EVENT_MMAP_PAGE.reserved, true);
      view.setUint32(ring + PERF_EVENT_MMAP_PAGE.data_offset, PAGE_SIZE, true);
      view.setUint32(ring + PERF_EVENT_MMAP_PAGE.data_size, dataPages * PAGE_SIZE, true);
      // ring_buffer_init: rb->watermark is attr.wakeup_watermark (at most the data size) or half the data.
      const size = dataPages * PAGE_SIZE;
      this.rbWatermark = this.watermark && this.wakeupEvents !== 0 ? Math.min(this.wakeupEvents, size) : size / 2;
    }
    return Array.from({ length: pages }, (_, index) => this.ring + index * PAGE_SIZE);
  }

  /** The event's file went: its program goes (perf_event_free_bpf_prog), its timer stops, its ring is freed. */
  release(): void {
    if (this.bpf !== undefined) this.bpfOps.ops?.freeBpf(this);
    this.clock?.stop();
    if (this.ring !== 0) this.mem.kfree(this.ring);
    this.ring = 0;
    this.dataPages = 0;
  }
}

const eventOf = (file: File): PerfEvent => file.privateData as PerfEvent;

/** A perf event fd: mmap gives the ring, ioctl controls it; the last reference frees it. read(2) of the count is not modelled. */
export const perfEventFileOps: FileOperations = {
  name: 'perf_event',
  ioctl(task: Task, file: File, cmd: number, arg: number): number {
    return eventOf(file).ioctl(task, cmd, arg);
  },
  mmap(file: File, pgoff: number, pages: number, prot: number, flags: number): readonly number[] | number {
    return eventOf(file).mmap(pgoff, pages, prot, flags);
  },
  release(file: File): void {
    eventOf(file).release();
  },
  poll(file: File, table: PollTable | null): number {
    return eventOf(file).poll(table);
  },
};

/**
 * What perf_event_open uses: physical memory for rings, fds, the task table (pids), sysctls, hooks (tracepoint
 * ids, kprobe sites), sysfs (the PMUs' types), and for cpu-clock sampling the CPUs, the clock and the arena.
 */
export type PerfEventServices = Pick<KernelInternals, 'phys' | 'fds' | 'tasks' | 'sysctl' | 'hooks' | 'config' | 'sysfs' | 'sched' | 'clock' | 'hookArena'>;

/** The perf events subsystem: perf_event_open(2), and the services the bpf subsystem reaches events through. */
export class PerfEventSubsystem implements PerfEvents, PerfEventBpfHost {
  private nextId = 1;
  /** kernel.perf_event_paranoid (default 2): above 0 a CPU-wide event needs CAP_PERFMON, above 1 any event that counts the kernel. */
  readonly paranoid: SysctlEntry;
  private readonly attr = new Uint8Array(PERF_EVENT_ATTR.size);
  private readonly attrView = new DataView(this.attr.buffer);
  /** The clock ring wake-ups are deferred on (irq_work); the kernel sets it. Undefined: wake at once. */
  clock: Pick<KernelTime, 'now' | 'at'> | undefined = undefined;

  /** The bpf subsystem's side of SET_BPF, once registered. */
  private readonly bpfOps: BpfOpsSlot = { ops: undefined };

  constructor(private readonly k: PerfEventServices) {
    // Linux accepts any value here (proc_dointvec with CAP_SYS_ADMIN); -1 lets everyone in.
    this.paranoid = k.sysctl.register('kernel.perf_event_paranoid', 2);
    publishPmus(k.sysfs);
  }

  setBpfOps(ops: PerfEventBpfOps): void {
    this.bpfOps.ops = ops;
  }

  fget(task: Task, fd: number): File | number {
    const file = this.k.fds.fdget(task, fd);
    if (file?.ops !== perfEventFileOps) return -Errno.EBADF;
    file.refs++;
    return file;
  }

  fput(file: File): void {
    if (--file.refs === 0) releaseFile(file);
  }

  bpfEventOf(file: File): PerfBpfEvent | undefined {
    return this.eventOf(file);
  }

  bpfOutputOf(file: File): PerfOutputEvent | undefined {
    return this.eventOf(file);
  }

  /** The perf event behind an open file, or undefined (what ioctl(PERF_EVENT_IOC_ENABLE/DISABLE) would act on). */
  eventOf(file: File): PerfEvent | undefined {
    return file.ops === perfEventFileOps ? eventOf(file) : undefined;
  }

  /** perf_event_open(2): the new fd, or -errno in the order Linux checks. */
  open(task: Task, attrAddress: number, pid: number, cpu: number, groupFd: number, flags: number): number {
    if (flags % 2 ** 32 !== flags || (flags & ~PERF_FLAG_ALL) !== 0) return -Errno.EINVAL;
    const copied = this.copyAttr(task, attrAddress);
    if (copied !== 0) return copied;
    const view = this.attrView;
    const attrFlags = view.getBigUint64(PERF_EVENT_ATTR.flags, true);
    const flagBit = (bit: number): boolean => ((attrFlags >> BigInt(bit)) & 1n) === 1n;
    const perfmon = hasCapability(task.group.cred, CAP.PERFMON) || hasCapability(task.group.cred, CAP.SYS_ADMIN);
    const paranoid = this.paranoid.value;
    // perf_allow_kernel (exclude_kernel is bit 5), then perf_allow_cpu for a CPU-wide event.
    if (!flagBit(PERF_ATTR_FLAG.EXCLUDE_KERNEL) && paranoid > 1 && !perfmon) return -Errno.EACCES;
    if (pid === -1 && paranoid > 0 && !perfmon) return -Errno.EACCES;
    const period = view.getBigUint64(PERF_EVENT_ATTR.sample_period, true);
    if (flagBit(PERF_ATTR_FLAG.FREQ) ? period > BigInt(MAX_SAMPLE_RATE) : period >> 63n !== 0n) return -Errno.EINVAL;
    if ((flags & PERF_FLAG.PID_CGROUP) !== 0 && (pid === -1 || cpu === -1)) return -Errno.EINVAL;
    if (groupFd !== -1) {
      const group = task.group.files.get(groupFd);
      if (group?.ops !== perfEventFileOps) return -Errno.EBADF;
      return -Errno.EOPNOTSUPP;
    }
    // find_lively_task_by_vpid: pid 0 is the caller; a task-bound event needs ptrace access to its task
    // (perf_check_permission: the same uid, or CAP_PERFMON).
    if (pid !== -1) {
      const target = pid === 0 ? task : pid > 0 ? this.k.tasks.get(pid) : undefined;
      if (target === undefined) return -Errno.ESRCH;
      if (!perfmon && target.group.cred.uid !== task.group.cred.uid) return -Errno.EACCES;
    }
    // perf_event_alloc: a CPU-wide event needs a CPU that exists; cpu -1 is only for a task-bound event.
    if (!(cpu === -1 ? pid !== -1 : cpu >= 0 && cpu < this.k.config.cpus)) return -Errno.EINVAL;
    const type = view.getUint32(PERF_EVENT_ATTR.type, true);
    const config = view.getBigUint64(PERF_EVENT_ATTR.config, true);
    const sampleType = Number(view.getBigUint64(PERF_EVENT_ATTR.sample_type, true));
    const source = this.eventSource(task, type, config, sampleType, perfmon);
    if (typeof source === 'number') return source;
    // Task-bound software events (output or sampling that follows one task across CPUs) are not modelled.
    if (source.kind === 'software' && pid !== -1) return -Errno.EOPNOTSUPP;
    if ((sampleType & ~PERF_SAMPLE.RAW) !== 0) return -Errno.EOPNOTSUPP;
    if ((flags & PERF_FLAG.FD_OUTPUT) !== 0) return -Errno.EOPNOTSUPP;
    const isOutput = source.kind === 'software' && source.config === PERF_COUNT_SW.BPF_OUTPUT;
    // Sample records of tracing and cpu-clock events into the ring are not modelled (see the file's comment).
    if (!isOutput && sampleType !== 0) return -Errno.EOPNOTSUPP;
    const enabled = !flagBit(PERF_ATTR_FLAG.DISABLED);
    let clock: CpuClockTimer | undefined;
    if (source.kind === 'software' && source.config === PERF_COUNT_SW.CPU_CLOCK) {
      const period = cpuClockPeriod(Number(period64(view)), flagBit(PERF_ATTR_FLAG.FREQ));
      clock = new CpuClockTimer(this.k, cpu, period, this.k.hooks.require('perf_event:cpu-clock').fields);
    }
    const event = new PerfEvent(this.nextId++, cpu, sampleType, enabled, this.k.phys, source, this.bpfOps, clock);
    event.wakeupEvents = view.getUint32(PERF_EVENT_ATTR.wakeup_events, true);
    event.watermark = flagBit(PERF_ATTR_WATERMARK_BIT);
    const irqClock = this.clock;
    if (irqClock !== undefined) event.irqWork = new IrqWork(irqClock, () => event.waitq.wakeAll());
    const fileFlags = O.RDWR | ((flags & PERF_FLAG.FD_CLOEXEC) !== 0 ? O.CLOEXEC : 0);
    return this.k.fds.installFd(task, '[perf_event]', perfEventFileOps, event, fileFlags);
  }

  /**
   * Which PMU takes `type`/`config` and what the event is (perf_init_event, then the PMU's event_init):
   * -ENOENT when no PMU does (unknown types, hardware and raw events on a machine without a PMU, software
   * configs past PERF_COUNT_SW_MAX); -EOPNOTSUPP for software events Linux has but this model does not.
   * Tracepoints (perf_tp_event_init → perf_trace_init): -EINVAL for an id no tracepoint has, and
   * perf_trace_event_perm's EPERM for raw samples without CAP_PERFMON unless perf_event_paranoid is -1.
   * The kprobe PMU: see kprobeEventSource.
   */
  private eventSource(task: Task, type: number, config: bigint, sampleType: number, perfmon: boolean): PerfEventSource | number {
    if (type === PERF_TYPE.SOFTWARE) {
      if (config >= BigInt(PERF_COUNT_SW.MAX)) return -Errno.ENOENT;
      const sw = Number(config);
      return sw === PERF_COUNT_SW.BPF_OUTPUT || sw === PERF_COUNT_SW.CPU_CLOCK ? softwareSource(sw) : -Errno.EOPNOTSUPP;
    }
    if (type === PERF_TYPE.TRACEPOINT) {
      if (config >= 2n ** 32n) return -Errno.EINVAL;
      const id = Number(config);
      const hook = this.k.hooks.list('tracepoint').find((tracepoint) => tracepoint.id === id);
      if (hook === undefined) return -Errno.EINVAL;
      if ((sampleType & PERF_SAMPLE.RAW) !== 0 && this.paranoid.value > -1 && !perfmon) return -Errno.EPERM;
      return { kind: 'tracepoint', attrType: type, config: id, hook, name: hook.name.slice(hook.name.indexOf(':') + 1), probeOffset: 0 };
    }
    if (type === KPROBE_PMU_TYPE) return kprobeEventSource(this.k.hooks, task, config, this.attrView, perfmon);
    return -Errno.ENOENT;
  }

  /**
   * perf_copy_attr: size 0 means PERF_ATTR_SIZE_VER0; a size below that or above a page, or bytes past what
   * the kernel knows that are not zero, give E2BIG with the kernel's size written back to attr.size; reserved
   * fields and unknown sample_type / read_format bits give EINVAL. 0 or -errno; the attr is in `this.attr`.
   */
  private copyAttr(task: Task, address: number): number {
    const mm = task.group.mm;
    const attr = this.attr;
    attr.fill(0);
    if (!mm.copyFromUser(address, attr, 0, 8)) return -Errno.EFAULT;
    let size = this.attrView.getUint32(PERF_EVENT_ATTR.size_field, true);
    if (size === 0) size = PERF_ATTR_SIZE_VER0;
    const tooBig = (): number => {
      const written = new Uint8Array(4);
      new DataView(written.buffer).setUint32(0, PERF_EVENT_ATTR.size, true);
      return mm.copyToUser(address + PERF_EVENT_ATTR.size_field, written, 0, 4) ? -Errno.E2BIG : -Errno.EFAULT;
    };
    if (size < PERF_ATTR_SIZE_VER0 || size > PAGE_SIZE) return tooBig();
    attr.fill(0);
    if (!mm.copyFromUser(address, attr, 0, Math.min(size, attr.length))) return -Errno.EFAULT;
    if (size > attr.length) {
      const rest = new Uint8Array(size - attr.length);
      if (!mm.copyFromUser(address + attr.length, rest, 0, rest.length)) return -Errno.EFAULT;
      if (rest.some((byte) => byte !== 0)) return tooBig();
    }
    const view = this.attrView;
    const reserved1 = view.getBigUint64(PERF_EVENT_ATTR.flags, true) >> BigInt(PERF_ATTR_FLAG.FIRST_RESERVED);
    if (reserved1 !== 0n || view.getUint16(PERF_EVENT_ATTR.reserved_2, true) !== 0 || view.getUint32(PERF_EVENT_ATTR.reserved_3, true) !== 0)
      return -Errno.EINVAL;
    if (view.getBigUint64(PERF_EVENT_ATTR.sample_type, true) >= BigInt(PERF_SAMPLE.MAX)) return -Errno.EINVAL;
    if (view.getBigUint64(PERF_EVENT_ATTR.read_format, true) >= BigInt(PERF_FORMAT_MAX)) return -Errno.EINVAL;
    return 0;
  }
}

/** attr.sample_period (or sample_freq, its union) as a bigint. */
const period64 = (view: DataView): bigint => view.getBigUint64(PERF_EVENT_ATTR.sample_period, true);

/** perf_event_open is x86_64 syscall 298. */
export function registerPerfEventOpen(table: SyscallTable, perf: PerfEventSubsystem): void {
  table.register('perf_event_open', (task, attr, pid, cpu, groupFd, flags) => perf.open(task, attr, pid, cpu, groupFd, flags));
}
