/**
 * Socket pointers (Linux PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK): what a program
 * gets from `__sk_buff.sk` (sock_common_or_null), bpf_sk_fullsock (sock_or_null) and bpf_tcp_sock
 * (tcp_sock_or_null). They are read-only views of the kernel's struct sock: a load is checked against the
 * struct the program sees (struct bpf_sock, struct bpf_tcp_sock: check_sock_access with
 * bpf_sock_common_is_valid_access, bpf_sock_is_valid_access, bpf_tcp_sock_is_valid_access) and rewritten into
 * loads of struct sock like a context access (convert_ctx_accesses with bpf_sock_convert_ctx_access /
 * bpf_tcp_sock_convert_ctx_access). The layouts arrive as data (VerifierRegistry.sockets); pointer arithmetic on
 * them is refused (alu.ts), as Linux's adjust_ptr_min_max_vals does.
 */
import type { Env } from './env.js';
import { RegType, regTypeName, type Reg } from './reg.js';
import type { CtxField, CtxLayout } from './registry.js';
import { Reject } from './reject.js';
import { tnumToString } from './tnum.js';

/** Linux type_is_sk_pointer: the socket pointer types (without PTR_MAYBE_NULL: the caller checks that first). */
export function isSockPointerType(type: number): boolean {
  return type === RegType.PTR_TO_SOCKET || type === RegType.PTR_TO_SOCK_COMMON || type === RegType.PTR_TO_TCP_SOCK || type === RegType.PTR_TO_XDP_SOCK;
}

/** reg_type_str names in the order compatible_reg_types lists them for ARG_PTR_TO_SOCK_COMMON (sock_types). */
export const SOCK_TYPE_NAMES = 'sock_common, sock, tcp_sock, xdp_sock';

/** The struct a socket pointer of `type` points at, or undefined (no layout: xdp_sock is not modelled). */
function layoutOf(env: Env, type: number): CtxLayout | undefined {
  const sockets = env.registry.sockets;
  if (sockets === undefined) return undefined;
  switch (type) {
    case RegType.PTR_TO_SOCK_COMMON:
      return sockets.sockCommon;
    case RegType.PTR_TO_SOCKET:
      return sockets.sock;
    case RegType.PTR_TO_TCP_SOCK:
      return sockets.tcpSock;
    default:
      return undefined;
  }
}

function fieldAt(layout: CtxLayout, off: number): CtxField | undefined {
  for (const f of layout.fields) if (off >= f.off && off < f.off + f.size) return f;
  return undefined;
}

/**
 * check_ptr_alignment (strict for socket pointers), the refusal of stores and check_sock_access, for an access of
 * `size` bytes at `off` (the instruction's offset plus the pointer's fixed one) through the socket pointer `reg`
 * in `regno`. On success the access is recorded for the rewrite; the caller marks the loaded register unknown.
 */
export function checkSockAccess(env: Env, regno: number, reg: Reg, off: number, size: number, write: boolean): void {
  if (off % size !== 0) {
    const desc = `${regTypeName(reg)} `;
    throw new Reject(`misaligned ${desc}access off ${tnumToString(reg.varOff)}+${reg.off}+${off - reg.off} size ${size}`, 'ctx-access');
  }
  if (write) throw new Reject(`R${regno} cannot write into ${regTypeName(reg)}`, 'ctx-write');
  if (reg.smin < 0n) throw new Reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, 'map-neg');
  const invalid = (): Reject => new Reject(`R${regno} invalid ${regTypeName(reg)} access off=${off} size=${size}`, 'ctx-access');
  const layout = layoutOf(env, reg.type);
  if (layout === undefined || off < 0 || off + size > layout.size) throw invalid();
  const field = fieldAt(layout, off);
  if (field === undefined) throw invalid();
  const exact = off === field.off && size === field.size;
  // bpf_ctx_narrow_access_ok: a power-of-two load no wider than the field, aligned to its width.
  const narrow = field.narrowLoads === true && size < field.size && (size & (size - 1)) === 0 && size >= (field.minNarrowLoad ?? 1);
  if (!exact && !narrow) throw invalid();
  const insn = env.insnIdx;
  const prev = env.facts.ctxAccesses.get(insn);
  // Linux's insn_aux_data.ptr_type: one instruction may not reach two kinds of object on different paths
  // ("same insn cannot be used with different pointers"); a field of another layout means another kind.
  if (prev !== undefined && !layout.fields.includes(prev.field)) env.facts.recordAccessBase(insn, false);
  env.facts.ctxAccesses.set(insn, { insn, field, offsetInField: off - field.off, size, write: false });
}
