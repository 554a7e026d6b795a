import { TASK_COMM_LEN, TRACE_ENTRY } from '@ebpf-sim/uapi';

const encoder = new TextEncoder();

/** Little-endian stores into physical memory for building hook contexts, without BigInt. */
export class ContextWriter {
  /**
   * The memory as little-endian 32-bit words (WebAssembly memory is little-endian, and so is every host that
   * runs it: typed arrays use the host's order). An Int32Array store truncates a number modulo 2^32 inline,
   * where DataView.setUint32 of a number past 2^31 takes a slow conversion: 64-bit stores go through here.
   */
  readonly words: Int32Array;

  constructor(
    private readonly view: DataView,
    private readonly bytes: Uint8Array,
  ) {
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  }

  u8(address: number, value: number): void {
    this.view.setUint8(address, value & 0xff);
  }
  u16(address: number, value: number): void {
    this.view.setUint16(address, value & 0xffff, true);
  }
  u32(address: number, value: number): void {
    this.view.setUint32(address, value >>> 0, true);
  }
  i32(address: number, value: number): void {
    this.view.setInt32(address, value | 0, true);
  }

  /**
   * A 64-bit value from a JS number (negative numbers as two's complement; exact below 2^53). Hooks store every
   * argument this way, so 32-bit values take a path without floating-point division.
   */
  u64(address: number, value: number): void {
    if ((address & 3) === 0) {
      storeU64Words(this.words, address, value);
      return;
    }
    const view = this.view;
    if (value >>> 0 === value) {
      view.setUint32(address, value, true);
      view.setUint32(address + 4, 0, true);
      return;
    }
    if ((value | 0) === value) {
      view.setInt32(address, value, true);
      view.setInt32(address + 4, -1, true);
      return;
    }
    // floor() makes the high word of a negative value its two's complement; >>> 0 wraps what is past 64 bits.
    const high = Math.floor(value / 0x1_0000_0000);
    view.setUint32(address, (value - high * 0x1_0000_0000) >>> 0, true);
    view.setUint32(address + 4, high >>> 0, true);
  }

  /** struct trace_entry, the 8-byte header of every tracepoint record (flags and preempt count are 0). */
  traceEntry(ctx: number, type: number, pid: number): void {
    this.u16(ctx + TRACE_ENTRY.common_type, type);
    this.u8(ctx + TRACE_ENTRY.common_flags, 0);
    this.u8(ctx + TRACE_ENTRY.common_preempt_count, 0);
    this.i32(ctx + TRACE_ENTRY.common_pid, pid);
  }

  /** task->comm: NUL-padded, at most 15 characters. */
  comm(address: number, comm: string): void {
    this.bytes.fill(0, address, address + TASK_COMM_LEN);
    const encoded = encoder.encode(comm).subarray(0, TASK_COMM_LEN - 1);
    this.bytes.set(encoded, address);
  }

  /** A NUL-terminated string of at most `max` bytes; returns the bytes written including the NUL. */
  cString(address: number, text: string, max: number): number {
    const encoded = encoder.encode(text).subarray(0, max - 1);
    this.bytes.set(encoded, address);
    this.bytes[address + encoded.length] = 0;
    return encoded.length + 1;
  }

  zero(address: number, length: number): void {
    this.bytes.fill(0, address, address + length);
  }

  /** A copy of `src` (a kernel buffer the hook hands its programs, e.g. security_bpf's attr). */
  copy(address: number, src: Uint8Array): void {
    this.bytes.set(src, address);
  }
}

/**
 * Store `value` (an exact integer below 2^53 in magnitude, negative as two's complement) as a little-endian
 * u64 at the 4-aligned `address` of `words`: an Int32Array store takes a number modulo 2^32, so the low word
 * is the value itself and the high word its floor division by 2^32 (-1 for a small negative value).
 */
export function storeU64Words(words: Int32Array, address: number, value: number): void {
  const index = address >>> 2;
  words[index] = value;
  words[index + 1] = Math.floor(value / 0x1_0000_0000);
}

/** Read back a 64-bit little-endian value as a JS number (signed when `signed`). */
export function readU64(view: DataView, address: number, signed = false): number {
  const low = view.getUint32(address, true);
  const high = signed ? view.getInt32(address + 4, true) : view.getUint32(address + 4, true);
  return high * 0x1_0000_0000 + low;
}
