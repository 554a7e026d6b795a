/** Instruction sequences many selftests share. */
import { BPF_FUNC, XDP_MD } from '@ebpf-sim/uapi';
import { asm, type RawInsn } from '@ebpf-sim/isa';

const { Add, Call, Exit, JEq, JGt, LdImm64, Ldx, Mov, St, label, R0, R1, R2, R3, R4, R10 } = asm;
type Item = RawInsn | ReturnType<typeof label>;

/** `return 0`. */
export const RET0: readonly Item[] = [Mov.imm(R0, 0), Exit()];

/** XDP: r2 = data, r3 = data_end, and `if (data + n > data_end) return 0` (label `bad` must follow RET0). */
export function pktCheck(n: number): Item[] {
  return [Ldx.w(R2, R1, XDP_MD.data), Ldx.w(R3, R1, XDP_MD.data_end), Mov.reg(R4, R2), Add.imm(R4, n), JGt.reg(R4, R3, 'bad')];
}

/** The tail for {@link pktCheck}: the `bad` label returning 0. */
export const BAD: readonly Item[] = [label('bad'), Mov.imm(R0, 0), Exit()];

/** `r0 = bpf_map_lookup_elem(map fd, &(u32){0} at fp-8)`, with a 4-byte zero key. */
export function lookup(fd: number, keyWidth: 'w' | 'dw' = 'w'): Item[] {
  return [St[keyWidth](R10, -8, 0), Mov.reg(R2, R10), Add.imm(R2, -8), LdImm64.mapFd(R1, fd), Call.helper(BPF_FUNC.map_lookup_elem)];
}

/** lookup, then `if (!r0) return 0` (label `out` must exist). */
export function lookupChecked(fd: number, keyWidth: 'w' | 'dw' = 'w'): Item[] {
  return [...lookup(fd, keyWidth), JEq.imm(R0, 0, 'out')];
}

export const OUT: readonly Item[] = [label('out'), Mov.imm(R0, 0), Exit()];

export { asm };
export type { Item };

/** Raw 8-byte slots (little-endian), for malformed programs: each entry is one slot, LD imm64 halves apart. */
export function slots(...raw: ReadonlyArray<readonly [number, number?, number?, number?, number?]>): Uint8Array {
  const bytes = new Uint8Array(raw.length * 8);
  const view = new DataView(bytes.buffer);
  raw.forEach(([code, dst = 0, src = 0, off = 0, imm = 0], i) => {
    view.setUint8(i * 8, code);
    view.setUint8(i * 8 + 1, (dst & 0xf) | ((src & 0xf) << 4));
    view.setInt16(i * 8 + 2, off, true);
    view.setInt32(i * 8 + 4, imm, true);
  });
  return bytes;
}
