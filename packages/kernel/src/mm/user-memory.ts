import type { UserMemory } from '@ebpf-sim/uapi';
import type { AddressSpace } from './address-space.js';

/**
 * A process's user memory as kernel code copies from and to it (copy_from_user, copy_to_user,
 * strncpy_from_user): what a syscall handler or a helper such as bpf_probe_read_user needs of an address
 * space. `AddressSpace` implements it; a test can hand-make one over a plain buffer.
 */
export interface UserCopy {
  /** Copy `length` bytes at user `address` into `dst` at `dstOffset`; false on a fault (the caller answers EFAULT). */
  copyFromUser(address: number, dst: Uint8Array, dstOffset: number, length: number): boolean;
  /** Copy `length` bytes of `src` from `srcOffset` to user `address`; false on a fault. */
  copyToUser(address: number, src: Uint8Array, srcOffset: number, length: number): boolean;
  /** A NUL-terminated string of at most `max` bytes: the string, or -EFAULT / -ENAMETOOLONG. */
  readCString(address: number, max: number): string | number;
}

/** Thrown into the kernel when user code touches memory it has not mapped: the task gets SIGSEGV. */
export class UserFault extends Error {
  override readonly name = 'UserFault';
  constructor(
    readonly address: number,
    readonly write: boolean,
  ) {
    super(`segmentation fault: ${write ? 'write to' : 'read from'} unmapped user address 0x${address.toString(16)}`);
  }
}

/** User code's loads and stores, through the process's current page tables (which execve replaces). */
export class UserMemoryView implements UserMemory {
  constructor(private readonly mm: () => AddressSpace) {}

  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(address, out, 0, length);
    return out;
  }

  readInto(address: number, dst: Uint8Array, dstOffset: number, length: number): void {
    if (!this.mm().copyFromUser(address, dst, dstOffset, length)) throw new UserFault(address, false);
  }

  write(address: number, bytes: Uint8Array): void {
    this.writeFrom(address, bytes, 0, bytes.length);
  }

  writeFrom(address: number, src: Uint8Array, srcOffset: number, length: number): void {
    if (!this.mm().copyToUser(address, src, srcOffset, length)) throw new UserFault(address, true);
  }
}
