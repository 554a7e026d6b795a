import type { UserContext } from '../abi.js';
import { STACK_SIZE } from '../mman.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The user-space stack used to marshal arguments: wrappers push strings, structs and buffers here, pass their
 * addresses to the kernel, and pop them afterwards (what C code does with locals).
 */
export class UserStack {
  private sp: number;
  private readonly limit: number;

  constructor(private readonly ctx: UserContext) {
    // Leave the top 256 bytes for argv/envp the kernel placed there.
    this.sp = ctx.stackTop - 256;
    this.limit = ctx.stackTop - STACK_SIZE;
  }

  /** The current stack pointer, to restore with `release`. */
  mark(): number {
    return this.sp;
  }

  release(mark: number): void {
    this.sp = mark;
  }

  /** Reserve `size` bytes (8-aligned) and return their address. */
  alloca(size: number): number {
    // Addresses exceed 32 bits: align with arithmetic, not bitwise operators.
    const next = Math.floor((this.sp - size) / 8) * 8;
    if (next < this.limit) throw new RangeError(`user stack overflow: ${size} bytes do not fit in the ${STACK_SIZE}-byte stack`);
    this.sp = next;
    return next;
  }

  pushBytes(bytes: Uint8Array): number {
    const address = this.alloca(bytes.length);
    this.ctx.mem.write(address, bytes);
    return address;
  }

  /** Push a NUL-terminated string. */
  pushString(text: string): number {
    const bytes = encoder.encode(text);
    const buffer = new Uint8Array(bytes.length + 1);
    buffer.set(bytes);
    return this.pushBytes(buffer);
  }

  /** Push a NULL-terminated array of 64-bit pointers. */
  pushPointerArray(pointers: readonly number[]): number {
    const buffer = new Uint8Array((pointers.length + 1) * 8);
    const view = new DataView(buffer.buffer);
    pointers.forEach((pointer, index) => view.setBigUint64(index * 8, BigInt(pointer), true));
    return this.pushBytes(buffer);
  }

  readView(address: number, length: number): DataView {
    const bytes = this.ctx.mem.read(address, length);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  readBytes(address: number, length: number): Uint8Array {
    return this.ctx.mem.read(address, length);
  }
}

export const utf8 = {
  encode: (text: string): Uint8Array => encoder.encode(text),
  decode: (bytes: Uint8Array): string => decoder.decode(bytes),
};
