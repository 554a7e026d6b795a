import type { UserMemory } from '@ebpf-sim/uapi';
import type { AddressSpace } from './address-space.js';

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
    if (!this.mm().copyFromUser(address, out, 0, length)) throw new UserFault(address, false);
    return out;
  }

  write(address: number, bytes: Uint8Array): void {
    if (!this.mm().copyToUser(address, bytes, 0, bytes.length)) throw new UserFault(address, true);
  }
}
