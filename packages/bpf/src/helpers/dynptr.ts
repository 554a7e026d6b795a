/**
 * Dynptr helpers (kernel/bpf/helpers.c). A program gets a dynptr from the kernel (bpf_user_ringbuf_drain's
 * callback argument: struct bpf_dynptr_kern, maps/ringbuf.ts DYNPTR_KERN) and reads through it; the simulator
 * has no helper that makes one on the program's stack.
 */
import { Errno } from '@ebpf-sim/uapi';
import { DYNPTR_KERN } from '../maps/ringbuf-records.js';
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** DYNPTR_SIZE_MASK: the low 24 bits of bpf_dynptr_kern.size are the size (the type and read-only bits above). */
const DYNPTR_SIZE_MASK = 0xffffff;

/**
 * bpf_dynptr_read(dst, len, src, offset, flags): copy `len` bytes at `offset` of the dynptr's data to `dst`; 0,
 * -EINVAL for a NULL dynptr or any flag, -E2BIG past its size (bpf_dynptr_check_off_len).
 */
const dynptrRead: HelperImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const src = ctx.argNumber(3);
  const data = view.getUint32(src + DYNPTR_KERN.data, true) + view.getUint32(src + DYNPTR_KERN.data + 4, true) * 0x1_0000_0000;
  if (data === 0 || ctx.arg(5) !== 0n) return -Errno.EINVAL;
  const size = view.getUint32(src + DYNPTR_KERN.size, true) & DYNPTR_SIZE_MASK;
  const len = ctx.argU32(2);
  const offset = ctx.argU32(4);
  if (len > size || offset > size - len) return -Errno.E2BIG;
  const from = data + view.getUint32(src + DYNPTR_KERN.offset, true) + offset;
  bytes.copyWithin(ctx.argNumber(1), from, from + len);
  return 0;
};

export const DYNPTR_HELPERS: readonly BpfHelper[] = [
  helper('dynptr_read', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_dynptr', 'anything', 'anything'] }, dynptrRead),
];
