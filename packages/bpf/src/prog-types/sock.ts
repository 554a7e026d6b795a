/**
 * Building blocks of the socket and cgroup program types' contexts: u32 fields, and the reads of struct sock
 * fields (Linux bpf_sock_convert_ctx_access and the sock_common loads of sock_ops and sk_msg) through the
 * context object's socket pointer.
 */
import { SOCK } from '@ebpf-sim/kernel';
import type { CtxConvert, CtxConvertSize, CtxField } from '@ebpf-sim/verifier';
import { POINTER, chain, fromCtx } from './convert.js';

export const U32 = 4;
export const U16 = 2;
export const U8 = 1;

/** Options of a scalar context field: narrow loads, a store, Linux's target size. */
export interface ScalarOptions {
  readonly narrow?: boolean;
  readonly writable?: boolean;
}

/** A scalar context field of `size` bytes (4 unless said) converted as `convert`. */
export function scalar(name: string, off: number, convert: CtxConvert | undefined, options: ScalarOptions = {}, size = U32): CtxField {
  return {
    name,
    off,
    size,
    kind: 'scalar',
    ...(options.narrow === true ? { narrowLoads: true } : {}),
    ...(options.writable === true ? { writable: true } : {}),
    ...(convert === undefined ? {} : { convert }),
  };
}

/** One load of the context object's field. */
export const direct = (off: number, size: CtxConvertSize): CtxConvert => ({ read: [fromCtx(off, size)] });

/** One load of a field of the context object, and a store of the same width back to it. */
export const directRw = (off: number, size: CtxConvertSize): CtxConvert => ({ read: [fromCtx(off, size)], write: { off, size } });

/** A struct sock field read through the socket pointer at `skOff` of the context object. */
export const sockField = (skOff: number, off: number, size: CtxConvertSize, targetSize?: number): CtxConvert => ({
  read: chain([skOff, POINTER], [off, size]),
  ...(targetSize === undefined ? {} : { targetSize }),
});

/**
 * `remote_port` of sock_ops and sk_msg: skc_dport (network order) shifted into the upper half of the u32, as
 * Linux does on a little-endian machine (why programs read it through bpf_ntohl).
 */
export const remotePortShifted = (skOff: number): CtxConvert => ({ read: [...chain([skOff, POINTER], [SOCK.skc_dport, U16]), { op: 'lsh', imm: 16 }] });

/** The four u32 words of an IPv6 address at uapi offset `off`, each read as `convert(word)` gives it. */
export function ip6Words(name: string, off: number, convert: (word: number) => CtxConvert | undefined, options: ScalarOptions = {}): CtxField[] {
  return [0, 1, 2, 3].map((i) => scalar(`${name}[${i}]`, off + i * U32, convert(i), options));
}

/** Where a context keeps its connection's addresses and ports (sock_ops, sk_msg_md: the same members). */
export interface SockAddressOffsets {
  readonly family: number;
  readonly remote_ip4: number;
  readonly local_ip4: number;
  readonly remote_ip6: number;
  readonly local_ip6: number;
  readonly remote_port: number;
  readonly local_port: number;
}

/**
 * family, the IPv4 and IPv6 addresses and the ports of the socket behind the pointer at `skOff` of the context
 * object: whole read-only u32s (sock_ops_convert_ctx_access, sk_msg_convert_ctx_access read the same
 * sock_common fields).
 */
export function sockAddressFields(o: SockAddressOffsets, skOff: number): CtxField[] {
  return [
    scalar('family', o.family, sockField(skOff, SOCK.skc_family, U16)),
    scalar('remote_ip4', o.remote_ip4, sockField(skOff, SOCK.skc_daddr, U32)),
    scalar('local_ip4', o.local_ip4, sockField(skOff, SOCK.skc_rcv_saddr, U32)),
    ...ip6Words('remote_ip6', o.remote_ip6, (i) => sockField(skOff, SOCK.skc_v6_daddr + i * U32, U32)),
    ...ip6Words('local_ip6', o.local_ip6, (i) => sockField(skOff, SOCK.skc_v6_rcv_saddr + i * U32, U32)),
    scalar('remote_port', o.remote_port, remotePortShifted(skOff)),
    scalar('local_port', o.local_port, sockField(skOff, SOCK.skc_num, U16)),
  ];
}
