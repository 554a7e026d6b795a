import { BRK_BASE, Errno, MAP, MMAP_BASE, PAGE_SIZE, PROT, STACK_SIZE, STACK_TOP, TASK_SIZE } from '@ebpf-sim/uapi';
import { releaseFile, type File } from '../fs/file.js';
import type { PhysicalMemory } from './physmem.js';
import type { UserCopy } from './user-memory.js';

/** A virtual memory area: [start, end) with one protection. */
export interface Vma {
  start: number;
  end: number;
  prot: number;
  flags: number;
  name: string;
  /**
   * The file a file-backed mapping maps (it holds a reference on it until unmapped). Its pages are the
   * object's: unmapping does not free them. A private mapping copies a page on its first write.
   */
  file?: File;
}

/** Page-fault counters of one address space. */
export interface FaultStats {
  /** Faults that mapped a fresh zeroed page (demand paging). */
  minor: number;
  /** Faults on an address no VMA covers or without permission (EFAULT / SIGSEGV). */
  invalid: number;
}

const pageDown = (address: number): number => address - (address % PAGE_SIZE);
const pageUp = (address: number): number => pageDown(address + PAGE_SIZE - 1);
/**
 * Copies up to this many bytes go byte by byte: below it a loop is cheaper than the view `subarray` makes
 * (the keys, values and attr blocks of bpf() are mostly 4 to 32 bytes; the libc's element block, attr then key
 * then value, is 40 to 64).
 */
const SMALL_COPY = 64;
/**
 * The offset in its page of a physical address (below 2^32: a frame number times PAGE_SIZE): a bit mask, where
 * `%` on a user address (past 2^31, so a double) would call fmod on every copy.
 */
const pageOffsetOf = (physical: number): number => physical & (PAGE_SIZE - 1);

/**
 * A process's virtual address space: a sorted list of VMAs and a page table (virtual page number to physical
 * frame). Pages are allocated on first touch (a minor fault); the kernel's copy_from_user / copy_to_user go
 * through the same translation and fail with EFAULT where user code would get SIGSEGV.
 */
export class AddressSpace implements UserCopy {
  readonly vmas: Vma[] = [];
  private readonly pageTable = new Map<number, number>();
  /** Virtual pages whose frame belongs to a mapped file's object, not to this address space. */
  private readonly objectPages = new Set<number>();
  readonly faults: FaultStats = { minor: 0, invalid: 0 };
  brkStart = BRK_BASE;
  brk = BRK_BASE;
  /** Tasks sharing this address space (CLONE_VM). */
  users = 1;
  private lastVpn = -1;
  private lastFrame = 0;
  private lastWritable = false;

  constructor(
    private readonly phys: PhysicalMemory,
    /** Accounting owner of the pages, e.g. `mm:42`. */
    public owner: string,
  ) {}

  /** Resident pages. */
  get rss(): number {
    return this.pageTable.size;
  }

  /** The VMA containing `address`, if any. */
  findVma(address: number): Vma | undefined {
    const vmas = this.vmas;
    let lo = 0;
    let hi = vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const vma = vmas[mid] as Vma;
      if (address < vma.start) hi = mid - 1;
      else if (address >= vma.end) lo = mid + 1;
      else return vma;
    }
    return undefined;
  }

  /**
   * Physical address of user `address` for a read (or write), faulting the page in when the VMA allows it.
   * -1 when the access is invalid.
   */
  translate(address: number, write: boolean): number {
    const vpn = Math.floor(address / PAGE_SIZE);
    if (vpn === this.lastVpn && (!write || this.lastWritable)) return this.lastFrame * PAGE_SIZE + (address - vpn * PAGE_SIZE);
    if (!(address >= 0 && address < TASK_SIZE)) {
      this.faults.invalid++;
      return -1;
    }
    const vma = this.findVma(address);
    if (vma === undefined || (vma.prot & (write ? PROT.WRITE : PROT.READ)) === 0) {
      this.faults.invalid++;
      return -1;
    }
    let frame = this.pageTable.get(vpn);
    if (frame === undefined) {
      frame = this.phys.allocPages(1, this.owner);
      if (frame < 0) return -1;
      this.pageTable.set(vpn, frame);
      this.faults.minor++;
    }
    // A private mapping of a file shares the object's page until the first write copies it (copy-on-write).
    const copyOnWrite = vma.file !== undefined && (vma.flags & MAP.SHARED) === 0 && this.objectPages.has(vpn);
    if (copyOnWrite && write) {
      const copy = this.phys.allocPages(1, this.owner);
      if (copy < 0) return -1;
      this.phys.bytes.copyWithin(copy * PAGE_SIZE, frame * PAGE_SIZE, (frame + 1) * PAGE_SIZE);
      this.pageTable.set(vpn, copy);
      this.objectPages.delete(vpn);
      this.faults.minor++;
      frame = copy;
    }
    this.lastVpn = vpn;
    this.lastFrame = frame;
    this.lastWritable = (vma.prot & PROT.WRITE) !== 0 && !(copyOnWrite && !write);
    return frame * PAGE_SIZE + (address - vpn * PAGE_SIZE);
  }

  /** copy_from_user: `length` bytes from user `address` into `dst` at `dstOffset`. False on a bad address. */
  copyFromUser(address: number, dst: Uint8Array, dstOffset: number, length: number): boolean {
    const bytes = this.phys.bytes;
    let done = 0;
    while (done < length) {
      const physical = this.translate(address + done, false);
      if (physical < 0) return false;
      const chunk = Math.min(length - done, PAGE_SIZE - pageOffsetOf(physical));
      if (chunk <= SMALL_COPY) for (let i = 0; i < chunk; i++) dst[dstOffset + done + i] = bytes[physical + i] as number;
      else dst.set(bytes.subarray(physical, physical + chunk), dstOffset + done);
      done += chunk;
    }
    return true;
  }

  /** copy_to_user: `length` bytes of `src` from `srcOffset` to user `address`. False on a bad address. */
  copyToUser(address: number, src: Uint8Array, srcOffset: number, length: number): boolean {
    const bytes = this.phys.bytes;
    let done = 0;
    while (done < length) {
      const physical = this.translate(address + done, true);
      if (physical < 0) return false;
      const chunk = Math.min(length - done, PAGE_SIZE - pageOffsetOf(physical));
      if (chunk <= SMALL_COPY) for (let i = 0; i < chunk; i++) bytes[physical + i] = src[srcOffset + done + i] as number;
      else bytes.set(src.subarray(srcOffset + done, srcOffset + done + chunk), physical);
      done += chunk;
    }
    return true;
  }

  /** Whether [address, address+length) is entirely mapped with `prot` (access_ok plus VMA permission). */
  accessOk(address: number, length: number, prot: number): boolean {
    if (length === 0) return address >= 0 && address <= TASK_SIZE;
    if (!(address >= 0 && address + length <= TASK_SIZE)) return false;
    let cursor = address;
    while (cursor < address + length) {
      const vma = this.findVma(cursor);
      if (vma === undefined || (vma.prot & prot) !== prot) return false;
      cursor = vma.end;
    }
    return true;
  }

  /**
   * strncpy_from_user of a NUL-terminated string of at most `max` bytes (NUL included): the string, or
   * -EFAULT, or -ENAMETOOLONG when no NUL came within `max` bytes.
   */
  readCString(address: number, max: number): string | number {
    const bytes = this.phys.bytes;
    const codes: number[] = [];
    for (let index = 0; index < max; index++) {
      const physical = this.translate(address + index, false);
      if (physical < 0) return -Errno.EFAULT;
      const byte = bytes[physical] ?? 0;
      if (byte === 0) return decodeUtf8(codes);
      codes.push(byte);
    }
    return -Errno.ENAMETOOLONG;
  }

  /** Read a 64-bit little-endian user word (as a number); -1 on a bad address is indistinguishable, so null. */
  readU64(address: number): number | null {
    const buffer = new Uint8Array(8);
    if (!this.copyFromUser(address, buffer, 0, 8)) return null;
    const view = new DataView(buffer.buffer);
    return view.getUint32(0, true) + view.getUint32(4, true) * 0x1_0000_0000;
  }

  /** Insert a VMA, keeping the list sorted. Callers have checked it does not overlap. */
  private insertVma(vma: Vma): void {
    let index = 0;
    while (index < this.vmas.length && (this.vmas[index] as Vma).start < vma.start) index++;
    this.vmas.splice(index, 0, vma);
    this.lastVpn = -1;
  }

  private overlaps(start: number, end: number): boolean {
    return this.vmas.some((vma) => vma.start < end && start < vma.end);
  }

  /** Set up a fresh image: stack below STACK_TOP and an empty heap at BRK_BASE. */
  setupImage(): void {
    this.insertVma({ start: STACK_TOP - STACK_SIZE, end: STACK_TOP, prot: PROT.READ | PROT.WRITE, flags: MAP.PRIVATE | MAP.ANONYMOUS, name: '[stack]' });
    this.brkStart = BRK_BASE;
    this.brk = BRK_BASE;
  }

  /** mmap of anonymous memory: the start address or -errno (Linux's checks for the cases modelled). */
  mmap(hint: number, length: number, prot: number, flags: number): number {
    const start = this.placeMapping(hint, length, flags);
    if (start < 0) return start;
    this.insertVma({ start, end: start + pageUp(length), prot, flags, name: '[anon]' });
    return start;
  }

  /**
   * mmap of a file whose object supplies the pages (the caller has made do_mmap's checks): places the
   * mapping, asks `pagesOf(pages)` for the physical page addresses (the file's ->mmap, or -errno), maps them
   * and takes a reference on `file` that unmapping (or exit) drops. The start address or -errno.
   */
  mmapFile(hint: number, length: number, prot: number, flags: number, file: File, pagesOf: (pages: number) => readonly number[] | number): number {
    const start = this.placeMapping(hint, length, flags);
    if (start < 0) return start;
    const pages = pageUp(length) / PAGE_SIZE;
    const frames = pagesOf(pages);
    if (typeof frames === 'number') return frames;
    if (frames.length !== pages || frames.some((address) => !(address > 0 && address % PAGE_SIZE === 0))) {
      throw new Error(`mmap of ${file.path}: its mmap gave ${frames.length} page addresses for ${pages} pages (each must be a page-aligned physical address)`);
    }
    const vpn = start / PAGE_SIZE;
    frames.forEach((address, index) => {
      this.pageTable.set(vpn + index, address / PAGE_SIZE);
      this.objectPages.add(vpn + index);
    });
    file.refs++;
    this.insertVma({ start, end: start + pages * PAGE_SIZE, prot, flags, name: file.path, file });
    return start;
  }

  /** Where a new mapping of `length` bytes goes (get_unmapped_area; MAP_FIXED unmaps what was there): the start or -errno. */
  private placeMapping(hint: number, length: number, flags: number): number {
    if (length === 0) return -Errno.EINVAL;
    const size = pageUp(length);
    if (size === 0 || size > TASK_SIZE) return -Errno.ENOMEM;
    const fixed = (flags & (MAP.FIXED | MAP.FIXED_NOREPLACE)) !== 0;
    if (fixed) {
      if (hint % PAGE_SIZE !== 0) return -Errno.EINVAL;
      if (hint + size > TASK_SIZE) return -Errno.ENOMEM;
      if (this.overlaps(hint, hint + size)) {
        if ((flags & MAP.FIXED_NOREPLACE) !== 0) return -Errno.EEXIST;
        this.unmapRange(hint, hint + size);
      }
      return hint;
    }
    // Top-down search below MMAP_BASE for a gap (the hint is used when it is free).
    if (hint !== 0 && hint % PAGE_SIZE === 0 && hint + size <= TASK_SIZE && !this.overlaps(hint, hint + size)) return hint;
    let top = MMAP_BASE;
    for (let index = this.vmas.length - 1; index >= 0; index--) {
      const vma = this.vmas[index] as Vma;
      if (vma.start >= top) continue;
      if (vma.end <= top - size) break;
      top = vma.start;
    }
    const start = top - size;
    if (start < this.brk + PAGE_SIZE) return -Errno.ENOMEM;
    return start;
  }

  /** munmap: 0 or -EINVAL (unaligned address, zero length). */
  munmap(address: number, length: number): number {
    if (address % PAGE_SIZE !== 0 || length === 0 || address + length > TASK_SIZE) return -Errno.EINVAL;
    this.unmapRange(address, address + pageUp(length));
    return 0;
  }

  /** brk: move the program break; returns the new break (or the old one when the request is refused). */
  setBrk(requested: number): number {
    if (requested < this.brkStart) return this.brk;
    const oldEnd = pageUp(this.brk);
    const newEnd = pageUp(requested);
    if (newEnd > oldEnd) {
      if (this.overlaps(oldEnd, newEnd) || newEnd > MMAP_BASE) return this.brk;
      const heap = this.vmas.find((vma) => vma.name === '[heap]');
      if (heap === undefined) this.insertVma({ start: oldEnd, end: newEnd, prot: PROT.READ | PROT.WRITE, flags: MAP.PRIVATE, name: '[heap]' });
      else heap.end = newEnd;
    } else if (newEnd < oldEnd) {
      this.unmapRange(newEnd, oldEnd);
    }
    this.brk = requested;
    return requested;
  }

  /**
   * Remove [start, end) from every VMA, splitting as needed, and free its pages (not a file's: those stay
   * the object's). Each piece of a split file mapping holds its own reference on the file, as each VMA does.
   */
  private unmapRange(start: number, end: number): void {
    const kept: Vma[] = [];
    const dropped: File[] = [];
    for (const vma of this.vmas) {
      if (vma.end <= start || vma.start >= end) {
        kept.push(vma);
        continue;
      }
      const pieces = (vma.start < start ? 1 : 0) + (vma.end > end ? 1 : 0);
      if (vma.start < start) kept.push({ ...vma, end: start });
      if (vma.end > end) kept.push({ ...vma, start: end });
      if (vma.file !== undefined) {
        if (pieces === 0) dropped.push(vma.file);
        else vma.file.refs += pieces - 1;
      }
    }
    this.vmas.length = 0;
    this.vmas.push(...kept);
    for (const [vpn, frame] of [...this.pageTable]) {
      const address = vpn * PAGE_SIZE;
      if (address >= start && address < end) {
        this.dropPage(vpn, frame);
      }
    }
    this.lastVpn = -1;
    for (const file of dropped) dropFileReference(file);
  }

  /** Unmap one page: free it if it is ours, leave it to its object if a file's. */
  private dropPage(vpn: number, frame: number): void {
    if (!this.objectPages.delete(vpn)) this.phys.freeRun(frame);
    this.pageTable.delete(vpn);
  }

  /** fork: a copy of this address space with its own pages (copied eagerly; copy-on-write is not modelled). */
  duplicate(owner: string): AddressSpace | undefined {
    const copy = new AddressSpace(this.phys, owner);
    copy.brkStart = this.brkStart;
    copy.brk = this.brk;
    for (const vma of this.vmas) {
      copy.vmas.push({ ...vma });
      if (vma.file !== undefined) vma.file.refs++;
    }
    const bytes = this.phys.bytes;
    for (const [vpn, frame] of this.pageTable) {
      // A file's pages are shared with the child (a private mapping's still copy on their first write).
      if (this.objectPages.has(vpn)) {
        copy.pageTable.set(vpn, frame);
        copy.objectPages.add(vpn);
        continue;
      }
      const newFrame = this.phys.allocPages(1, owner);
      if (newFrame < 0) {
        copy.release();
        return undefined;
      }
      bytes.copyWithin(newFrame * PAGE_SIZE, frame * PAGE_SIZE, (frame + 1) * PAGE_SIZE);
      copy.pageTable.set(vpn, newFrame);
    }
    return copy;
  }

  /** Free every page and VMA (exit, execve), dropping the mapped files' references. */
  release(): void {
    for (const [vpn, frame] of [...this.pageTable]) this.dropPage(vpn, frame);
    const files = this.vmas.flatMap((vma) => (vma.file === undefined ? [] : [vma.file]));
    this.vmas.length = 0;
    this.lastVpn = -1;
    for (const file of files) dropFileReference(file);
  }
}

/** fput: a mapping's reference on its file went; the last one releases the file. */
function dropFileReference(file: File): void {
  file.refs--;
  if (file.refs === 0) releaseFile(file);
}

function decodeUtf8(codes: number[]): string {
  return new TextDecoder().decode(Uint8Array.from(codes));
}
