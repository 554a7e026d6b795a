/**
 * BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK, as Linux's kernel/bpf/queue_stack_maps.c: a ring of
 * `max_entries + 1` values (one slot stays free so full and empty differ) without keys. A queue takes from the
 * tail (oldest first), a stack from the head (newest first).
 *
 * Programs use map_push_elem/pop_elem/peek_elem; bpf() maps MAP_UPDATE_ELEM to push (BPF_EXIST overwrites the
 * oldest value when full), MAP_LOOKUP_ELEM to peek and MAP_LOOKUP_AND_DELETE_ELEM to pop. Lookup from a
 * program gives NULL; update, delete and get_next_key give EINVAL.
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { BPF_F_ACCESS_MASK, BpfMap, KMALLOC_MAX_SIZE, MAP_AREA_MAX, defineMapOps, mapFlagsAccessOk, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** QUEUE_STACK_CREATE_FLAG_MASK (kernel/bpf/queue_stack_maps.c). */
const QUEUE_STACK_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_F_ACCESS_MASK;

/** queue_stack_map_alloc_check. */
function queueStackAllocCheck(attr: MapAttr): number {
  if (attr.maxEntries === 0 || attr.keySize !== 0 || attr.valueSize === 0) return -Errno.EINVAL;
  if ((attr.mapFlags & ~QUEUE_STACK_CREATE_FLAG_MASK) !== 0 || !mapFlagsAccessOk(attr.mapFlags)) return -Errno.EINVAL;
  // Larger values could not be copied to user space.
  if (attr.valueSize > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
  return 0;
}

/** A queue (FIFO) or stack (LIFO): struct bpf_queue_stack with its head, tail and size. */
export class QueueStackMap extends BpfMap {
  /** Physical address of element 0. */
  readonly base: number;
  /** max_entries + 1 slots. */
  private readonly size: number;
  private readonly stack: boolean;
  /** Next slot to push into. */
  private head = 0;
  /** Oldest value (a queue pops here). */
  private tail = 0;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, base: number) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.base = base;
    this.size = attr.maxEntries + 1;
    this.stack = attr.mapType === BPF_MAP_TYPE.STACK;
  }

  /** queue_stack_map_is_empty. */
  private isEmpty(): boolean {
    return this.head === this.tail;
  }

  /** queue_stack_map_is_full. */
  private isFull(): boolean {
    const head = this.head + 1 >= this.size ? 0 : this.head + 1;
    return head === this.tail;
  }

  /** queue_stack_map_push_elem: BPF_EXIST replaces the oldest value when full; BPF_NOEXIST and unknown flags are EINVAL. */
  private pushFrom(src: Uint8Array, srcOff: number, flags: number): number {
    if ((flags & BPF_UPDATE.NOEXIST) !== 0 || flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    if (this.isFull()) {
      if ((flags & BPF_UPDATE.EXIST) === 0) return -Errno.E2BIG;
      // Advance the tail to overwrite the oldest element.
      if (++this.tail >= this.size) this.tail = 0;
    }
    this.copyRange(this.base + this.head * this.valueSize, src, srcOff, this.valueSize);
    if (++this.head >= this.size) this.head = 0;
    return 0;
  }

  /**
   * __queue_map_get / __stack_map_get: the slot of the next value, taken when `take`; -ENOENT when empty
   * (the caller zeroes its buffer, as Linux does).
   */
  private next(take: boolean): number {
    if (this.isEmpty()) return -Errno.ENOENT;
    if (!this.stack) {
      const slot = this.tail;
      if (take && ++this.tail >= this.size) this.tail = 0;
      return this.base + slot * this.valueSize;
    }
    const index = this.head === 0 ? this.size - 1 : this.head - 1;
    if (take) this.head = index;
    return this.base + index * this.valueSize;
  }

  /** Copy the next value to kernel memory at `valueAddr` (a program's buffer), zeroed when there is none. */
  private getTo(valueAddr: number, take: boolean): number {
    const src = this.next(take);
    if (src < 0) {
      this.bytes.fill(0, valueAddr, valueAddr + this.valueSize);
      return src;
    }
    this.bytes.copyWithin(valueAddr, src, src + this.valueSize);
    return 0;
  }

  /** Copy the next value to user space's buffer. */
  private getOut(out: Uint8Array, take: boolean): number {
    const src = this.next(take);
    if (src < 0) {
      out.fill(0, 0, this.valueSize);
      return src;
    }
    out.set(this.bytes.subarray(src, src + this.valueSize));
    return 0;
  }

  /** queue_stack_map_lookup_elem: there is no element to point at. */
  lookup(): number {
    return 0;
  }

  override push(valueAddr: number, flags: number): number {
    return this.pushFrom(this.bytes, valueAddr, flags);
  }

  override pop(valueAddr: number): number {
    return this.getTo(valueAddr, true);
  }

  override peek(valueAddr: number): number {
    return this.getTo(valueAddr, false);
  }

  /** bpf_map_update_value: MAP_UPDATE_ELEM on a queue or stack is map_push_elem (the key is NULL). */
  override updateSys(_key: Uint8Array, value: Uint8Array, flags: number): number {
    // map_update_elem: BPF_F_LOCK needs a spin lock, which these maps never have.
    if ((flags & BPF_UPDATE.F_LOCK) !== 0) return -Errno.EINVAL;
    return this.pushFrom(value, 0, flags);
  }

  /** map_lookup_and_delete_elem: flags are EINVAL for a queue or stack; then map_pop_elem. */
  override lookupAndDeleteSys(_key: Uint8Array, out: Uint8Array, flags: number): number {
    if (flags !== 0) return -Errno.EINVAL;
    return this.getOut(out, true);
  }

  /** bpf_map_copy_value: MAP_LOOKUP_ELEM on a queue or stack is map_peek_elem. */
  protected copyOut(_key: Uint8Array, out: Uint8Array): number {
    return this.getOut(out, false);
  }

  /** queue_stack_map_update_elem: a program's map_update_elem has no meaning here. */
  protected updateElem(): number {
    return -Errno.EINVAL;
  }

  /** queue_stack_map_delete_elem. */
  protected deleteElem(): number {
    return -Errno.EINVAL;
  }

  /** queue_stack_map_get_next_key: there are no keys. */
  getNextKey(_key: Uint8Array | null, _next: Uint8Array): number {
    return -Errno.EINVAL;
  }

  /** queue_stack_map_mem_usage: the struct and max_entries + 1 value slots. */
  memUsage(): number {
    return K.bpf_queue_stack + (this.maxEntries + 1) * this.valueSize;
  }

  free(): void {
    this.mem.kfree(this.base);
  }
}

/** queue_stack_map_alloc: max_entries + 1 slots of value_size bytes (u64 arithmetic in Linux; ENOMEM past bpf_map_area_alloc's limit). */
function queueStackAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const size = (attr.maxEntries + 1) * attr.valueSize;
  if (size >= MAP_AREA_MAX) return -Errno.ENOMEM;
  const base = env.phys.kmalloc(size, owner);
  if (base < 0) return -Errno.ENOMEM;
  return new QueueStackMap(ops, attr, env, owner, base);
}

export const QUEUE_OPS = defineMapOps(BPF_MAP_TYPE.QUEUE, 'queue', false, queueStackAllocCheck, queueStackAlloc);
export const STACK_OPS = defineMapOps(BPF_MAP_TYPE.STACK, 'stack', false, queueStackAllocCheck, queueStackAlloc);
