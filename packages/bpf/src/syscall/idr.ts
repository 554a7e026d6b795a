import { Errno } from '@ebpf-sim/uapi';

/** INT_MAX: idr_alloc_cyclic(&map_idr, map, 1, INT_MAX, ...) hands out ids below it. */
const ID_END = 0x7fffffff;

/**
 * The object ids of one kind (Linux's map_idr / prog_idr / link_idr), allocated as idr_alloc_cyclic does:
 * from 1, each new id the next free one after the last handed out, wrapping to 1 at INT_MAX, so a freed id
 * is not reused until the ids wrap.
 */
export class CyclicIdr<T> {
  private readonly objects = new Map<number, T>();
  private next = 1;

  /** A new id for `object`, or -ENOSPC when every id is taken. */
  alloc(object: T): number {
    for (let tried = 0, id = this.next; tried < ID_END - 1; tried++, id = id + 1 >= ID_END ? 1 : id + 1) {
      if (this.objects.has(id)) continue;
      this.objects.set(id, object);
      this.next = id + 1 >= ID_END ? 1 : id + 1;
      return id;
    }
    return -Errno.ENOSPC;
  }

  remove(id: number): void {
    this.objects.delete(id);
  }

  find(id: number): T | undefined {
    return this.objects.get(id);
  }

  /** idr_get_next from `start + 1`: the smallest id above `start`, or 0 when there is none. */
  nextAfter(start: number): number {
    let best = 0;
    for (const id of this.objects.keys()) if (id > start && (best === 0 || id < best)) best = id;
    return best;
  }

  get size(): number {
    return this.objects.size;
  }
}
