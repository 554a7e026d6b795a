/**
 * BPF_MAP_TYPE_RINGBUF, as Linux's kernel/bpf/ringbuf.c: one ring shared by every CPU, records reserved by
 * programs and read by user space through mmap.
 *
 * Memory is laid out as Linux's `struct bpf_ringbuf`, one physically contiguous run of pages:
 * - page 0: the ring's own header (Linux keeps waitq, mask, pending_pos there; `RINGBUF_PGOFF` = 1 page),
 * - page 1: `consumer_pos` (u64 at offset 0; user space maps it writable and advances it),
 * - page 2: `producer_pos` (u64; user space may only map it read-only),
 * - pages 3..: the data area, `max_entries` bytes, then its mirror, `max_entries` bytes more. Linux vmaps the
 *   data pages twice in a row, for the kernel and for user space, so a record that wraps around the end is
 *   written and read contiguously. Physical memory cannot alias a page, so the ring carries a second copy of
 *   the data area right after it: a record's header is always in the first copy, the tail of a record that
 *   wraps goes on into the second, and mmap hands user space the same two copies in the same order, so
 *   every record reads back at `data + (pos & mask)` exactly as it was written. (The mirror costs the
 *   data area's size again in simulated memory; Linux's second mapping costs none.)
 *
 * A record is an 8-byte `struct bpf_ringbuf_hdr { u32 len; s32 pg_off; }` and its sample, 8-byte aligned.
 * `len` carries BPF_RINGBUF_BUSY_BIT while reserved and BPF_RINGBUF_DISCARD_BIT once discarded; `pg_off` is the
 * header's page offset from the ring's start, which is how submit/discard find the ring from a sample pointer
 * (bpf_ringbuf_restore_from_rec).
 */
import { IrqWork, WaitQueue, type PollTable } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_RB, BPF_RINGBUF, EPOLL, Errno, PAGE_SHIFT, PAGE_SIZE, PROT } from '@ebpf-sim/uapi';
import { DYNPTR_KERN, registerRing, unregisterRing } from './ringbuf-records.js';

export { DYNPTR_KERN };
import { BpfMap, ENOTSUPP, SMALL_COPY, defineMapOps, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** RINGBUF_CREATE_FLAG_MASK: only a NUMA node may be asked for. */
const RINGBUF_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE;
/** RINGBUF_PGOFF: pages of struct bpf_ringbuf before consumer_pos (mmap's page 0 is the ring's page 1). */
const RINGBUF_PGOFF = 1;
/** RINGBUF_POS_PAGES: the consumer and producer position pages. */
const RINGBUF_POS_PAGES = 2;
/** RINGBUF_NR_META_PAGES: pages before the data area. */
export const RINGBUF_NR_META_PAGES = RINGBUF_PGOFF + RINGBUF_POS_PAGES;
/** RINGBUF_MAX_RECORD_SZ (UINT_MAX / 4): the largest sample reserve considers. */
const RINGBUF_MAX_RECORD_SZ = 0xffffffff / 4;
/** RINGBUF_MAX_DATA_SZ: the data area fits page offsets of 24 bits (bpf_ringbuf_alloc answers ENOMEM beyond). */
const RINGBUF_MAX_DATA_SZ = ((1 << 24) - RINGBUF_POS_PAGES - RINGBUF_PGOFF) * PAGE_SIZE;

/** Offsets from the ring's start of consumer_pos, producer_pos and the data area. */
const CONSUMER_OFF = RINGBUF_PGOFF * PAGE_SIZE;
const PRODUCER_OFF = (RINGBUF_PGOFF + 1) * PAGE_SIZE;
const DATA_OFF = RINGBUF_NR_META_PAGES * PAGE_SIZE;

const isPowerOf2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** ringbuf_map_alloc's checks: no key or value, max_entries a power-of-2 multiple of the page size. */
function ringbufAllocCheck(attr: MapAttr): number {
  if ((attr.mapFlags & ~RINGBUF_CREATE_FLAG_MASK) !== 0) return -Errno.EINVAL;
  if (attr.keySize !== 0 || attr.valueSize !== 0 || !isPowerOf2(attr.maxEntries) || attr.maxEntries % PAGE_SIZE !== 0) return -Errno.EINVAL;
  return 0;
}

/** A BPF ring buffer. Positions are byte counts that only grow (u64 in Linux; exact here below 2^53). */
export class RingBufMap extends BpfMap {
  /** Physical address of the ring's first page (struct bpf_ringbuf). */
  readonly base: number;
  /** Data area size - 1 (rb->mask). */
  readonly mask: number;
  /** Pages of the data area. */
  readonly dataPages: number;
  /** Wake-ups the ring asked for (Linux's irq_work that wakes rb->waitq); epoll and blocking reads count on them. */
  wakeups = 0;
  override readonly hasMmap = true;
  /** Called on each wake-up (the poll machinery's hook); none by default. */
  onWakeup: (() => void) | undefined = undefined;
  /** rb->waitq: pollers and epoll items. */
  readonly waitq = new WaitQueue();
  /** rb->work: the irq_work that wakes `waitq` after the program (undefined without a clock: at once). */
  private readonly work: IrqWork | undefined;
  /** rb->pending_pos: the oldest record not yet committed (records before it are all submitted or discarded). */
  private pendingPos = 0;
  protected readonly view: DataView;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, base: number) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.base = base;
    this.mask = attr.maxEntries - 1;
    this.dataPages = attr.maxEntries / PAGE_SIZE;
    this.view = env.phys.view;
    const waitq = this.waitq;
    this.work = env.clock === undefined ? undefined : new IrqWork(env.clock, () => waitq.wakeAll());
    registerRing(env.phys.bytes, base, this);
  }

  /** Physical address of the data area's first byte (rb->data). */
  get data(): number {
    return this.base + DATA_OFF;
  }

  /** consumer_pos (smp_load_acquire: what user space last stored). */
  get consumerPos(): number {
    return this.readPos(this.base + CONSUMER_OFF);
  }

  /** producer_pos. */
  get producerPos(): number {
    return this.readPos(this.base + PRODUCER_OFF);
  }

  protected readPos(at: number): number {
    return this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 0x100000000;
  }

  protected writePos(at: number, pos: number): void {
    this.view.setUint32(at, pos >>> 0, true);
    this.view.setUint32(at + 4, Math.floor(pos / 0x100000000), true);
  }

  /**
   * __bpf_ringbuf_reserve: a record of `size` sample bytes, BUSY until committed; the sample's address, or 0
   * when it cannot fit: the producer may not run more than the ring size - 1 ahead of the consumer, nor of
   * the oldest uncommitted record.
   */
  reserve(size: number): number {
    if (size > RINGBUF_MAX_RECORD_SZ) return 0;
    const len = (size + BPF_RINGBUF.HDR_SZ + 7) & ~7;
    if (len > this.mask + 1) return 0;
    const consPos = this.consumerPos;
    const prodPos = this.producerPos;
    let pendPos = this.pendingPos;
    const view = this.view;
    const data = this.data;
    while (pendPos < prodPos) {
      const hdrLen = view.getUint32(data + (pendPos & this.mask), true);
      if ((hdrLen & BPF_RINGBUF.BUSY_BIT) !== 0) break;
      pendPos += (((hdrLen & ~BPF_RINGBUF.DISCARD_BIT) >>> 0) + BPF_RINGBUF.HDR_SZ + 7) & ~7;
    }
    this.pendingPos = pendPos;
    const newProdPos = prodPos + len;
    if (newProdPos - consPos > this.mask || newProdPos - pendPos > this.mask) return 0;
    const hdr = data + (prodPos & this.mask);
    view.setUint32(hdr, (size | BPF_RINGBUF.BUSY_BIT) >>> 0, true);
    view.setInt32(hdr + 4, (hdr - this.base) >>> PAGE_SHIFT, true);
    this.writePos(this.base + PRODUCER_OFF, newProdPos);
    return hdr + BPF_RINGBUF.HDR_SZ;
  }

  /**
   * bpf_ringbuf_commit: clear BUSY (and set DISCARD for a discard), then wake the consumer if it asked to be
   * (BPF_RB_FORCE_WAKEUP) or if it has caught up with this record and BPF_RB_NO_WAKEUP was not given.
   */
  commit(sample: number, flags: number, discard: boolean): void {
    const hdr = sample - BPF_RINGBUF.HDR_SZ;
    let len = (this.view.getUint32(hdr, true) ^ BPF_RINGBUF.BUSY_BIT) >>> 0;
    if (discard) len = (len | BPF_RINGBUF.DISCARD_BIT) >>> 0;
    this.view.setUint32(hdr, len, true);
    const recPos = hdr - this.data;
    const consPos = this.consumerPos & this.mask;
    if ((flags & BPF_RB.FORCE_WAKEUP) !== 0 || (consPos === recPos && (flags & BPF_RB.NO_WAKEUP) === 0)) this.wakeup();
  }

  /** irq_work_queue(&rb->work): bpf_ringbuf_notify wakes the waiters once the program has returned. */
  protected wakeup(): void {
    this.wakeups++;
    this.onWakeup?.();
    if (this.work === undefined) this.waitq.wakeAll();
    else this.work.queue();
  }

  /**
   * ringbuf_map_poll_kern: readable while the producer is ahead of the consumer. A user ring buffer
   * (ringbuf_map_poll_user) is writable while it has room.
   */
  override poll(table: PollTable | null): number {
    table?.wait(this.waitq);
    return this.producerPos - this.consumerPos > 0 ? EPOLL.IN | EPOLL.RDNORM : 0;
  }

  /** bpf_ringbuf_output: reserve, copy `size` bytes from `src`, submit. 0, -EINVAL for unknown flags, -EAGAIN when full. */
  output(src: number, size: number, flags: number): number {
    if (flags > (BPF_RB.NO_WAKEUP | BPF_RB.FORCE_WAKEUP) || flags < 0) return -Errno.EINVAL;
    const rec = this.reserve(size);
    if (rec === 0) return -Errno.EAGAIN;
    const bytes = this.bytes;
    // Space just reserved is nothing a program can read, so it never overlaps `src`: a forward copy is exact.
    if (size <= SMALL_COPY) for (let i = 0; i < size; i++) bytes[rec + i] = bytes[src + i] as number;
    else bytes.copyWithin(rec, src, src + size);
    this.commit(rec, flags, false);
    return 0;
  }

  /** bpf_ringbuf_query: available data, ring size, consumer or producer position; 0 for an unknown selector. */
  query(flags: number): number {
    switch (flags) {
      case BPF_RB.AVAIL_DATA:
        return this.producerPos - this.consumerPos;
      case BPF_RB.RING_SIZE:
        return this.mask + 1;
      case BPF_RB.CONS_POS:
        return this.consumerPos;
      case BPF_RB.PROD_POS:
        return this.producerPos;
      default:
        return 0;
    }
  }

  /**
   * ringbuf_map_mmap_kern: page 0 consumer_pos, page 1 producer_pos, then the data pages twice (the data
   * area and its mirror). A writable
   * mapping may only be the consumer page alone (else EPERM); a range past the end is EINVAL
   * (remap_vmalloc_range).
   */
  override mmap(pgoff: number, pages: number, prot: number, _flags: number): readonly number[] | number {
    if ((prot & PROT.WRITE) !== 0 && (pgoff !== 0 || pages !== 1)) return -Errno.EPERM;
    const userPages = RINGBUF_POS_PAGES + 2 * this.dataPages;
    if (pages <= 0 || pgoff < 0 || pgoff + pages > userPages) return -Errno.EINVAL;
    const frames: number[] = [];
    // Pages after the two position pages are the data area and its mirror, in order.
    for (let p = pgoff; p < pgoff + pages; p++) frames.push(this.base + (RINGBUF_PGOFF + p) * PAGE_SIZE);
    return frames;
  }

  /** ringbuf_map_lookup_elem and friends: a ring has no elements user space can name (ENOTSUPP). */
  lookup(): number {
    return 0;
  }
  getNextKey(_key: Uint8Array | null, _next: Uint8Array): number {
    return -ENOTSUPP;
  }
  protected updateElem(): number {
    return -ENOTSUPP;
  }
  protected deleteElem(): number {
    return -ENOTSUPP;
  }
  protected copyOut(): number {
    return -ENOTSUPP;
  }

  /**
   * ringbuf_map_mem_usage: the struct, the meta and data pages, and the page pointers of the vmap, which maps the
   * data pages twice.
   */
  memUsage(): number {
    const pages = RINGBUF_NR_META_PAGES + this.dataPages;
    return K.bpf_ringbuf_map + pages * PAGE_SIZE + (RINGBUF_NR_META_PAGES + 2 * this.dataPages) * K.pointer;
  }

  free(): void {
    unregisterRing(this.bytes, this.base);
    this.mem.kfree(this.base);
  }
}

/** BPF_MAX_USER_RINGBUF_SAMPLES: the most records one bpf_user_ringbuf_drain call visits. */
export const BPF_MAX_USER_RINGBUF_SAMPLES = 128 * 1024;

/**
 * BPF_MAP_TYPE_USER_RINGBUF (ringbuf.c's user_ringbuf_map_ops): the same ring with the roles swapped. User space
 * produces: it maps the producer page and the data writable (only the consumer page is read-only to it), writes
 * records with the BPF_RINGBUF_* header bits and advances producer_pos; a program consumes with
 * bpf_user_ringbuf_drain ({@link drain}), which advances consumer_pos.
 */
export class UserRingBufMap extends RingBufMap {
  /** rb->busy: a drain is in progress (a second one, from its callback, is EBUSY). */
  private busy = false;
  /** The sample __bpf_user_ringbuf_peek found (its address and length). */
  private sample = 0;
  private sampleSize = 0;

  /**
   * Where the drain builds the dynptr it hands each callback: in the ring's own first page (struct bpf_ringbuf,
   * which user space never maps), since Linux's lives on the drain's stack and only one drain runs at a time.
   */
  get dynptrAddress(): number {
    return this.base;
  }

  override poll(table: PollTable | null): number {
    table?.wait(this.waitq);
    return this.producerPos - this.consumerPos < this.mask + 1 ? EPOLL.OUT | EPOLL.WRNORM : 0;
  }

  /** ringbuf_map_mmap_user: any page but the consumer's may be mapped writable (EPERM for a writable mapping from page 0). */
  override mmap(pgoff: number, pages: number, prot: number, flags: number): readonly number[] | number {
    if ((prot & PROT.WRITE) !== 0 && pgoff === 0) return -Errno.EPERM;
    return super.mmap(pgoff, pages, prot & ~PROT.WRITE, flags);
  }

  /** __bpf_user_ringbuf_peek: 0 with the next sample found, or -ENODATA, -EAGAIN (a discarded record skipped), -EINVAL, -E2BIG. */
  private peekUser(): number {
    const prodPos = this.producerPos;
    if (prodPos % 8 !== 0) return -Errno.EINVAL;
    const consPos = this.consumerPos;
    if (consPos >= prodPos) return -Errno.ENODATA;
    const hdrLen = this.view.getUint32(this.data + (consPos & this.mask), true);
    const bits = (hdrLen & (BPF_RINGBUF.BUSY_BIT | BPF_RINGBUF.DISCARD_BIT)) >>> 0;
    const sampleLen = (hdrLen & ~bits) >>> 0;
    const totalLen = (sampleLen + BPF_RINGBUF.HDR_SZ + 7) & ~7;
    // The record must lie inside what the producer published, inside the ring, and fit a dynptr.
    if (totalLen > prodPos - consPos) return -Errno.EINVAL;
    if (totalLen > this.mask + 1 || sampleLen > DYNPTR_KERN.MAX_SIZE) return -Errno.E2BIG;
    if ((bits & BPF_RINGBUF.DISCARD_BIT) !== 0) {
      this.writePos(this.base + CONSUMER_OFF, consPos + totalLen);
      return -Errno.EAGAIN;
    }
    if ((bits & BPF_RINGBUF.BUSY_BIT) !== 0) return -Errno.ENODATA;
    this.sample = this.data + ((consPos + BPF_RINGBUF.HDR_SZ) & this.mask);
    this.sampleSize = sampleLen;
    return 0;
  }

  /**
   * bpf_user_ringbuf_drain's ring side: for each record user space has committed, up to
   * BPF_MAX_USER_RINGBUF_SAMPLES, build the dynptr at {@link dynptrAddress} and call `callback` with it (the
   * helper runs the program's callback; a non-zero return stops the drain), then release the record. Returns
   * the records visited less the discarded ones skipped, or -EINVAL for unknown flags or a malformed record
   * (the records before it stay consumed), -E2BIG for one larger than the ring, -EBUSY while another drain
   * runs. Wakes the producer's waiters as Linux does: always with BPF_RB_FORCE_WAKEUP, after any record unless
   * BPF_RB_NO_WAKEUP.
   */
  drain(flags: number, callback: (dynptr: number) => number | bigint): number {
    if ((flags & ~(BPF_RB.NO_WAKEUP | BPF_RB.FORCE_WAKEUP)) !== 0 || flags < 0) return -Errno.EINVAL;
    if (this.busy) return -Errno.EBUSY;
    this.busy = true;
    const view = this.view;
    const dynptr = this.dynptrAddress;
    let samples = 0;
    let discarded = 0;
    let ret: number | bigint = 0;
    let failed = 0;
    try {
      for (; samples < BPF_MAX_USER_RINGBUF_SAMPLES && (ret === 0 || ret === 0n); samples++) {
        const err = this.peekUser();
        if (err === -Errno.ENODATA) break;
        if (err === -Errno.EAGAIN) {
          discarded++;
          continue;
        }
        if (err !== 0) {
          failed = err;
          break;
        }
        const size = this.sampleSize;
        // bpf_dynptr_init(&dynptr, sample, BPF_DYNPTR_TYPE_LOCAL, 0, size)
        view.setUint32(dynptr + DYNPTR_KERN.data, this.sample >>> 0, true);
        view.setUint32(dynptr + DYNPTR_KERN.data + 4, 0, true);
        view.setUint32(dynptr + DYNPTR_KERN.size, (size | (DYNPTR_KERN.TYPE_LOCAL << DYNPTR_KERN.TYPE_SHIFT)) >>> 0, true);
        view.setUint32(dynptr + DYNPTR_KERN.offset, 0, true);
        ret = callback(dynptr);
        // __bpf_user_ringbuf_sample_release
        this.writePos(this.base + CONSUMER_OFF, this.consumerPos + ((size + BPF_RINGBUF.HDR_SZ + 7) & ~7));
      }
    } finally {
      this.busy = false;
    }
    if ((flags & BPF_RB.FORCE_WAKEUP) !== 0 || ((flags & BPF_RB.NO_WAKEUP) === 0 && samples > 0)) this.wakeup();
    return failed !== 0 ? failed : samples - discarded;
  }
}

/** ringbuf_map_alloc + bpf_ringbuf_alloc: the meta pages, the data area and its mirror, zeroed (positions start at 0). */
function ringbufAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  if (attr.maxEntries > RINGBUF_MAX_DATA_SZ) return -Errno.ENOMEM;
  const size = RINGBUF_NR_META_PAGES * PAGE_SIZE + 2 * attr.maxEntries;
  // kmalloc hands out whole page runs, so the ring starts on a page boundary as vmap'ed pages do.
  const base = env.phys.kmalloc(size, owner);
  if (base < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, base, base + size);
  return attr.mapType === BPF_MAP_TYPE.USER_RINGBUF ? new UserRingBufMap(ops, attr, env, owner, base) : new RingBufMap(ops, attr, env, owner, base);
}

export const RINGBUF_OPS = defineMapOps(BPF_MAP_TYPE.RINGBUF, 'ringbuf', false, ringbufAllocCheck, ringbufAlloc);
export const USER_RINGBUF_OPS = defineMapOps(BPF_MAP_TYPE.USER_RINGBUF, 'user_ringbuf', false, ringbufAllocCheck, ringbufAlloc);
