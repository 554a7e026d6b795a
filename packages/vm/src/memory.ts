/**
 * The machine's one linear byte space, backed by a `WebAssembly.Memory` so that the interpreter and the JIT
 * address the same bytes. Every object an eBPF program can touch (stack frames, the context, packet data, map
 * values) lives at an address in it, and eBPF pointers are those addresses.
 *
 * The memory itself is flat; what a program may access is the set of *regions* the embedder mapped with
 * {@link LinearMemory.mapRegion}. Page 0 is never mappable, so a NULL dereference always faults. The stack is
 * not a region: the engines check it against the frames currently live (see `vm.ts`).
 */

/** Access permissions of a region (bit set). */
export const Perm = { R: 1, W: 2, RW: 3 } as const;
export type PermBits = 1 | 2 | 3;

/** Bytes per WebAssembly page. */
export const WASM_PAGE = 65536;
/** Nothing is ever mapped below this address: a NULL (or small) pointer dereference faults. */
export const NULL_GUARD = 4096;
/**
 * Eight bytes of page 0 that nothing ever writes (below the JIT's exchange area at 0xf00): what a probe load
 * that would fault reads instead (LoadOptions.probeLoads), so its destination gets 0 as Linux's BPF_PROBE_MEM
 * fixup gives it. No region covers page 0, so no program reaches these bytes by an ordinary access.
 */
export const PROBE_ZERO = 0xef8;

/** One mapped range of the linear memory. */
export interface Region {
  readonly start: number;
  readonly size: number;
  readonly perms: PermBits;
  readonly name: string;
}

export interface LinearMemoryOptions {
  /** Use this memory (e.g. the kernel's physical memory) instead of creating one. */
  readonly memory?: WebAssembly.Memory;
  /** Initial size in 64 KiB pages when creating a memory (default 16 = 1 MiB). */
  readonly pages?: number;
  /** Maximum size in pages when creating a memory (default 65536 = 4 GiB). */
  readonly maxPages?: number;
}

/** An error in using the region API (overlap, out of bounds, page 0): a bug in the embedder, not the program. */
export class MemoryMapError extends Error {
  override readonly name = 'MemoryMapError';
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export class LinearMemory {
  readonly memory: WebAssembly.Memory;
  /** Region table, sorted by start; parallel arrays so the slow-path lookup does not chase objects. */
  private starts: number[] = [];
  private ends: number[] = [];
  private permsOf: number[] = [];
  private names: string[] = [];
  /** Bumped on every map/unmap, so engines can drop cached region bounds after a helper call. */
  generation = 0;
  /** A one-byte view of the current buffer: its length drops to 0 when a grow detaches the buffer. */
  private cachedProbe: Uint8Array;
  private cachedView: DataView;

  constructor(options: LinearMemoryOptions = {}) {
    this.memory = options.memory ?? new WebAssembly.Memory({ initial: options.pages ?? 16, maximum: options.maxPages ?? 65536 });
    const buffer = this.memory.buffer;
    this.cachedProbe = new Uint8Array(buffer, 0, 1);
    this.cachedView = new DataView(buffer);
  }

  /** A DataView of the whole memory, re-made only when the memory has grown (growing detaches the old buffer). */
  get dataView(): DataView {
    // Growing a WebAssembly.Memory (here or by the embedder) detaches its old buffer, and every view of a
    // detached buffer has length 0. A typed array's length is read inline by optimized code, whereas
    // `ArrayBuffer.prototype.byteLength` is a builtin call (measured: ~5 ns of every interpreter run).
    if (this.cachedProbe.length === 0) {
      const buffer = this.memory.buffer;
      this.cachedProbe = new Uint8Array(buffer, 0, 1);
      this.cachedView = new DataView(buffer);
    }
    return this.cachedView;
  }

  /** Current size in bytes. */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** A byte view of the whole memory; invalid after the memory grows, so take a fresh one each time. */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** Grow by `pages` WebAssembly pages; returns the previous size in pages. */
  grow(pages: number): number {
    return this.memory.grow(pages);
  }

  /** Make `[addr, addr + size)` accessible with `perms`. Regions never overlap and never touch page 0. */
  mapRegion(addr: number, size: number, perms: PermBits, name: string): Region {
    if (!Number.isInteger(addr) || !Number.isInteger(size) || size <= 0) {
      throw new MemoryMapError(`mapRegion '${name}': address and size must be positive integers (got ${addr}, ${size})`);
    }
    if (addr < NULL_GUARD) {
      throw new MemoryMapError(`mapRegion '${name}': address ${hex(addr)} is in page 0, which stays unmapped so NULL dereferences fault`);
    }
    const end = addr + size;
    if (end > this.size) {
      throw new MemoryMapError(`mapRegion '${name}': [${hex(addr)}, ${hex(end)}) is beyond the memory size ${hex(this.size)}; grow the memory first`);
    }
    const at = this.insertionPoint(addr);
    const before = at - 1;
    if (before >= 0 && (this.ends[before] ?? 0) > addr) {
      throw new MemoryMapError(`mapRegion '${name}': [${hex(addr)}, ${hex(end)}) overlaps region '${this.names[before] ?? ''}'`);
    }
    if (at < this.starts.length && (this.starts[at] ?? Infinity) < end) {
      throw new MemoryMapError(`mapRegion '${name}': [${hex(addr)}, ${hex(end)}) overlaps region '${this.names[at] ?? ''}'`);
    }
    this.starts.splice(at, 0, addr);
    this.ends.splice(at, 0, end);
    this.permsOf.splice(at, 0, perms);
    this.names.splice(at, 0, name);
    this.generation++;
    return { start: addr, size, perms, name };
  }

  /** Remove the region that starts at `addr`. */
  unmapRegion(addr: number): void {
    const at = this.insertionPoint(addr) - 1;
    if (at < 0 || this.starts[at] !== addr) throw new MemoryMapError(`unmapRegion: no region starts at ${hex(addr)}`);
    this.starts.splice(at, 1);
    this.ends.splice(at, 1);
    this.permsOf.splice(at, 1);
    this.names.splice(at, 1);
    this.generation++;
  }

  /** Every mapped region, by address. */
  regions(): Region[] {
    return this.starts.map((start, i) => ({
      start,
      size: (this.ends[i] ?? start) - start,
      perms: (this.permsOf[i] ?? 0) as PermBits,
      name: this.names[i] ?? '',
    }));
  }

  /** The region holding `addr`, if any. */
  regionAt(addr: number): Region | undefined {
    const i = this.insertionPoint(addr) - 1;
    if (i < 0 || (this.ends[i] ?? 0) <= addr) return undefined;
    return this.regions()[i];
  }

  /**
   * Index of the region containing all of `[addr, addr + size)` with every bit of `perm`, or -1. The engines'
   * slow path: they cache the returned bounds ({@link regionStart}/{@link regionEnd}) for the next access.
   */
  findRegion(addr: number, size: number, perm: number): number {
    const i = this.insertionPoint(addr) - 1;
    if (i < 0) return -1;
    if ((this.ends[i] ?? 0) < addr + size) return -1;
    if (((this.permsOf[i] ?? 0) & perm) !== perm) return -1;
    return i;
  }

  regionStart(index: number): number {
    return this.starts[index] ?? 0;
  }

  regionEnd(index: number): number {
    return this.ends[index] ?? 0;
  }

  /** Copy `length` bytes out of the memory (no permission check: this is the embedder's view). */
  read(addr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, addr, length).slice();
  }

  /** Copy bytes into the memory (no permission check). */
  write(addr: number, data: Uint8Array): void {
    new Uint8Array(this.memory.buffer, addr, data.length).set(data);
  }

  /** Number of regions whose start is <= addr (binary search). */
  private insertionPoint(addr: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] ?? 0) <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * A bump allocator over a range of a {@link LinearMemory}, for embedders and tests that need no freeing
 * (or free everything at once with {@link Arena.reset}). The kernel can use its own allocator and call
 * `mapRegion` directly instead.
 */
export class Arena {
  private next: number;
  private readonly mapped: number[] = [];

  constructor(
    readonly mem: LinearMemory,
    readonly base: number = NULL_GUARD,
    /** One past the last usable address; the memory grows on demand up to it. */
    readonly limit: number = Infinity,
  ) {
    if (base < NULL_GUARD) throw new MemoryMapError(`Arena: base ${hex(base)} is in page 0`);
    this.next = base;
  }

  /** Reserve `size` bytes aligned to `align` without mapping them (e.g. the VM's stack area). Grows the memory when needed. */
  reserve(size: number, align = 8): number {
    const addr = Math.ceil(this.next / align) * align;
    const end = addr + size;
    if (end > this.limit) {
      throw new MemoryMapError(`Arena: out of space (${size} bytes requested, ${this.limit - addr} left)`);
    }
    if (end > this.mem.size) this.mem.grow(Math.ceil((end - this.mem.size) / WASM_PAGE));
    this.next = end;
    return addr;
  }

  /** Reserve and map a region; its bytes are zeroed. */
  alloc(size: number, perms: PermBits, name: string, align = 8): Region {
    const addr = this.reserve(size, align);
    this.mem.bytes().fill(0, addr, addr + size);
    const region = this.mem.mapRegion(addr, size, perms, name);
    this.mapped.push(addr);
    return region;
  }

  /** Map a region holding a copy of `data`. */
  allocBytes(data: Uint8Array, perms: PermBits, name: string, align = 8): Region {
    const region = this.alloc(Math.max(data.length, 1), perms, name, align);
    this.mem.write(region.start, data);
    return region;
  }

  /** Unmap everything this arena mapped and rewind to `to` (default: the base). */
  reset(to = this.base): void {
    for (const addr of this.mapped.splice(0)) {
      if (addr >= to) this.mem.unmapRegion(addr);
      else this.mapped.push(addr);
    }
    this.next = to;
  }

  /** The next free address. */
  get top(): number {
    return this.next;
  }
}
