/**
 * Building blocks of context conversions (the data of Linux's *_convert_ctx_access): the loads a field's
 * read becomes. Kernel pointers are 8 bytes (see @ebpf-sim/kernel kernel-objects.ts).
 */
import type { CtxConvertInsn, CtxConvertSize } from '@ebpf-sim/verifier';

/** Width of a kernel pointer field (BPF_FIELD_SIZEOF of a pointer on a 64-bit kernel). */
export const POINTER = 8;

/** `value = *(size *)(ctx + off)`: a field of the object the context register points to. */
export const fromCtx = (off: number, size: CtxConvertSize): CtxConvertInsn => ({ op: 'load', base: 'ctx', off, size });

/** `value = *(size *)(value + off)`: a field of the object the previous load pointed to. */
export const fromValue = (off: number, size: CtxConvertSize): CtxConvertInsn => ({ op: 'load', base: 'value', off, size });

/**
 * A pointer chain: each `[offset, width]` step but the last loads a pointer, the first from the context
 * object, each next from the object the previous one pointed to (`xdp->rxq->dev->ifindex`).
 */
export function chain(first: readonly [number, CtxConvertSize], ...rest: ReadonlyArray<readonly [number, CtxConvertSize]>): CtxConvertInsn[] {
  return [fromCtx(first[0], first[1]), ...rest.map(([off, size]) => fromValue(off, size))];
}
