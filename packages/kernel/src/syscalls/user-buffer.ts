/**
 * The kernel's bounce buffer for read/write: data moves between user memory and files through it. One
 * buffer, grown on demand, so the hot path does not allocate.
 */
let scratch = new Uint8Array(64 * 1024);

/** Linux's MAX_RW_COUNT (INT_MAX rounded down to a page): the most one read/write transfers. */
export const MAX_RW_COUNT = 0x7ffff000;
/** The most this model moves in one call (a simulation limit; larger requests are short reads/writes). */
export const MAX_TRANSFER = 16 * 1024 * 1024;

export function bounceBuffer(size: number): Uint8Array {
  if (size > scratch.length) scratch = new Uint8Array(Math.min(MAX_TRANSFER, Math.max(size, scratch.length * 2)));
  return scratch;
}
