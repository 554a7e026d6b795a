import { PAGE_SIZE } from '@ebpf-sim/uapi';

/** Memory usage charged to one owner (a process's pages, a BPF map, a driver's rings). */
export interface MemoryCharge {
  readonly owner: string;
  pages: number;
  /** Bytes the owner asked for (kmalloc sizes; whole pages for page allocations). */
  bytes: number;
  allocations: number;
}

/**
 * Physical memory: one `WebAssembly.Memory` (the linear byte space the eBPF VM executes against) carved into
 * 4 KiB page frames. Frame 0 is never handed out, so physical address 0 stays an invalid pointer. Every
 * allocation is charged to a named owner.
 */
export class PhysicalMemory {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly totalPages: number;
  /** For each frame, 0 if free, else the index+1 of its owner in `owners`; a run's head frame knows its length. */
  private readonly frameOwner: Uint16Array;
  private readonly runLength: Uint32Array;
  private readonly owners: MemoryCharge[] = [];
  private readonly ownerIndex = new Map<string, number>();
  private hint = 1;
  freePages: number;

  constructor(sizeBytes: number, memory?: WebAssembly.Memory) {
    const wasmPages = Math.ceil(sizeBytes / 65536);
    this.memory = memory ?? new WebAssembly.Memory({ initial: wasmPages, maximum: wasmPages });
    if (this.memory.buffer.byteLength < sizeBytes)
      throw new RangeError(`physical memory: the given WebAssembly.Memory holds ${this.memory.buffer.byteLength} bytes, ${sizeBytes} needed`);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
    this.totalPages = Math.floor(sizeBytes / PAGE_SIZE);
    this.frameOwner = new Uint16Array(this.totalPages);
    this.runLength = new Uint32Array(this.totalPages);
    this.frameOwner[0] = this.ownerId('reserved');
    this.runLength[0] = 1;
    this.charge(0, 1, PAGE_SIZE, +1);
    this.freePages = this.totalPages - 1;
  }

  /**
   * Allocate `count` physically contiguous zeroed frames for `owner`; returns the first frame number, or -1
   * when memory is exhausted (the caller answers ENOMEM).
   */
  allocPages(count: number, owner: string, chargedBytes = count * PAGE_SIZE): number {
    if (count <= 0 || count > this.freePages) return -1;
    const total = this.totalPages;
    const owned = this.frameOwner;
    for (let pass = 0; pass < 2; pass++) {
      let start = pass === 0 ? this.hint : 1;
      const end = pass === 0 ? total : this.hint + count;
      while (start + count <= Math.min(end, total)) {
        let run = 0;
        while (run < count && owned[start + run] === 0) run++;
        if (run === count) {
          const id = this.ownerId(owner);
          owned.fill(id, start, start + count);
          this.runLength[start] = count;
          this.bytes.fill(0, start * PAGE_SIZE, (start + count) * PAGE_SIZE);
          this.freePages -= count;
          this.hint = start + count < total ? start + count : 1;
          this.charge(id - 1, count, chargedBytes, +1);
          this.allocationBytes.set(start, chargedBytes);
          return start;
        }
        start += run + 1;
      }
    }
    return -1;
  }

  /** Free a run returned by allocPages (by its first frame). */
  freeRun(frame: number): void {
    const count = this.runLength[frame] ?? 0;
    const id = this.frameOwner[frame] ?? 0;
    if (frame <= 0 || count === 0 || id === 0) throw new Error(`physical memory: frame ${frame} is not the start of an allocation (double free?)`);
    this.frameOwner.fill(0, frame, frame + count);
    this.runLength[frame] = 0;
    this.freePages += count;
    this.charge(id - 1, count, this.allocationBytes.get(frame) ?? count * PAGE_SIZE, -1);
    this.allocationBytes.delete(frame);
  }

  /** Bytes charged for each live allocation, by first frame, so freeing uncharges exactly that. */
  private readonly allocationBytes = new Map<number, number>();

  /** kmalloc: `size` bytes for `owner` in whole contiguous frames; the physical address, or -1 (ENOMEM). */
  kmalloc(size: number, owner: string): number {
    const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
    const frame = this.allocPages(pages, owner, size);
    return frame < 0 ? -1 : frame * PAGE_SIZE;
  }

  /** kfree an address returned by kmalloc. */
  kfree(address: number): void {
    if (address % PAGE_SIZE !== 0) throw new Error(`kfree: 0x${address.toString(16)} is not an address kmalloc returned`);
    this.freeRun(address / PAGE_SIZE);
  }

  /** Usage by owner, largest first (then by name, for stable output). */
  usage(): MemoryCharge[] {
    return this.owners
      .filter((o) => o.allocations > 0)
      .map((o) => ({ ...o }))
      .sort((a, b) => b.pages - a.pages || a.owner.localeCompare(b.owner));
  }

  /** Usage of one owner. */
  usageOf(owner: string): MemoryCharge {
    const id = this.ownerIndex.get(owner);
    const charge = id === undefined ? undefined : this.owners[id];
    return charge === undefined ? { owner, pages: 0, bytes: 0, allocations: 0 } : { ...charge };
  }

  /** Owner of a frame ('' when free). */
  ownerOf(frame: number): string {
    const id = this.frameOwner[frame] ?? 0;
    return id === 0 ? '' : (this.owners[id - 1]?.owner ?? '');
  }

  private ownerId(owner: string): number {
    let index = this.ownerIndex.get(owner);
    if (index === undefined) {
      index = this.owners.length;
      if (index >= 0xfffe) throw new RangeError('physical memory: too many distinct owners');
      this.owners.push({ owner, pages: 0, bytes: 0, allocations: 0 });
      this.ownerIndex.set(owner, index);
    }
    return index + 1;
  }

  private charge(index: number, pages: number, bytes: number, sign: 1 | -1): void {
    const charge = this.owners[index];
    if (charge === undefined) return;
    charge.pages += sign * pages;
    charge.bytes += sign * bytes;
    charge.allocations += sign;
  }
}
