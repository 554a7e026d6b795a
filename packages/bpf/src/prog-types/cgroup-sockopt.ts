/**
 * BPF_PROG_TYPE_CGROUP_SOCKOPT (kernel/bpf/cgroup.c cg_sockopt_is_valid_access, cg_sockopt_convert_ctx_access,
 * cg_sockopt_func_proto; Linux 6.18). The context is struct bpf_sockopt over struct bpf_sockopt_kern.
 * `optval`..`optval_end` is the option's buffer, checked and accessed as a packet (read and write). A
 * setsockopt program may rewrite level, optname and optlen; a getsockopt program optlen and retval, and only it
 * reads retval. A program returns 0 (EPERM to the caller) or 1.
 *
 * Not modelled: `sk` (PTR_TO_SOCKET): programs reading it are refused.
 */
import { BPF_SOCKOPT_KERN } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, BPF_SOCKOPT } from '@ebpf-sim/uapi';
import type { CtxField, CtxLayout } from '@ebpf-sim/verifier';
import { CGROUP_COMMON } from './cgroup-sock.js';
import { POINTER } from './convert.js';
import { defineProgType, withAttachTypes } from './define.js';
import { U32, direct, directRw, scalar } from './sock.js';

const K = BPF_SOCKOPT_KERN;
const O = BPF_SOCKOPT;
const A = BPF_ATTACH_TYPE;

const rw = (name: 'level' | 'optname' | 'optlen' | 'retval', writable: boolean): CtxField =>
  scalar(name, O[name], writable ? directRw(K[name], U32) : direct(K[name], U32), { writable });

function ctxFor(attachType: number): CtxLayout {
  const set = attachType === A.CGROUP_SETSOCKOPT;
  return {
    structName: 'bpf_sockopt',
    size: O.size,
    fields: [
      { name: 'optval', off: O.optval, size: 8, kind: 'pkt', convert: direct(K.optval, POINTER) },
      { name: 'optval_end', off: O.optval_end, size: 8, kind: 'pkt_end', convert: direct(K.optval_end, POINTER) },
      rw('level', set),
      rw('optname', set),
      rw('optlen', true),
      ...(set ? [] : [rw('retval', true)]),
    ],
  };
}

const BASE = defineProgType(
  {
    name: 'cgroup_sockopt',
    uapiId: BPF_PROG_TYPE.CGROUP_SOCKOPT,
    ctx: ctxFor(A.CGROUP_GETSOCKOPT),
    retRange: { min: 0, max: 1 },
    directPacketWrite: true,
    helpersTakePackets: true,
  },
  [...CGROUP_COMMON, 'sk_storage_get', 'sk_storage_delete', 'setsockopt', 'getsockopt', 'tcp_sock', 'get_netns_cookie'],
);

export const CGROUP_SOCKOPT = withAttachTypes(BASE, [A.CGROUP_GETSOCKOPT, A.CGROUP_SETSOCKOPT], (attachType) => ({ ctx: ctxFor(attachType) }));
