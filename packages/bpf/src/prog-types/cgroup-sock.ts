/**
 * BPF_PROG_TYPE_CGROUP_SOCK (net/core/filter.c sock_filter_is_valid_access, bpf_sock_is_valid_access,
 * bpf_sock_convert_ctx_access, sock_filter_func_proto; Linux 6.18). The context is struct bpf_sock over the
 * kernel's struct sock. What a program may touch depends on its attach type
 * (__sock_filter_check_attach_type): sock_create/sock_release may read and write bound_dev_if, mark and
 * priority; post_bind4 reads src_ip4, post_bind6 src_ip6, both src_port; every attach type reads the rest.
 * Loading without an attach type means INET_SOCK_CREATE (bpf_prog_load_fixup_attach_type). A program returns
 * 0 (refuse) or 1 (allow).
 */
import { SK_NO_QUEUE_MAPPING, SOCK } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, BPF_SOCK, type BpfFuncName } from '@ebpf-sim/uapi';
import type { CtxConvert, CtxField, CtxLayout } from '@ebpf-sim/verifier';
import { defineProgType } from './define.js';
import { U16, U32, U8, ip6Words, scalar } from './sock.js';

/** The context's socket is the context object itself: bpf_sock fields are struct sock fields. */
const sk = (off: number, size: 1 | 2 | 4, targetSize?: number): CtxConvert => ({
  read: [{ op: 'load', base: 'ctx', off, size }],
  ...(targetSize === undefined ? {} : { targetSize }),
});
const skRw = (off: number): CtxConvert => ({ read: [{ op: 'load', base: 'ctx', off, size: U32 }], write: { off, size: U32 } });

/** The fields every attach type reads (bpf_sock_is_valid_access's narrow-readable ones, read-only here). */
const COMMON: readonly CtxField[] = [
  scalar('family', BPF_SOCK.family, sk(SOCK.skc_family, U16), { narrow: true }),
  scalar('type', BPF_SOCK.type, sk(SOCK.sk_type, U16), { narrow: true }),
  scalar('protocol', BPF_SOCK.protocol, sk(SOCK.sk_protocol, U16), { narrow: true }),
  // A 2-byte port in a 4-byte slot: whole-word, half-word and byte loads are all allowed (bpf_sock_is_valid_access).
  scalar('dst_port', BPF_SOCK.dst_port, sk(SOCK.skc_dport, U16, U16), { narrow: true }),
  scalar('dst_ip4', BPF_SOCK.dst_ip4, sk(SOCK.skc_daddr, U32), { narrow: true }),
  ...ip6Words('dst_ip6', BPF_SOCK.dst_ip6, (i) => sk(SOCK.skc_v6_daddr + i * U32, U32), { narrow: true }),
  scalar('state', BPF_SOCK.state, sk(SOCK.skc_state, U8), { narrow: true }),
  // NO_QUEUE_MAPPING reads as -1.
  scalar(
    'rx_queue_mapping',
    BPF_SOCK.rx_queue_mapping,
    {
      read: [
        { op: 'load', base: 'ctx', off: SOCK.sk_rx_queue_mapping, size: U16 },
        { op: 'jne', imm: SK_NO_QUEUE_MAPPING, skip: 1 },
        { op: 'mov', imm: -1, alu64: true },
      ],
    },
    { narrow: true },
  ),
];

/** bound_dev_if, mark and priority: whole-word reads and writes, for sock_create and sock_release only. */
const SOCKET_OPTIONS: readonly CtxField[] = [
  scalar('bound_dev_if', BPF_SOCK.bound_dev_if, skRw(SOCK.skc_bound_dev_if), { writable: true }),
  scalar('mark', BPF_SOCK.mark, skRw(SOCK.sk_mark), { writable: true }),
  scalar('priority', BPF_SOCK.priority, skRw(SOCK.sk_priority), { writable: true }),
];

const SRC_IP4 = scalar('src_ip4', BPF_SOCK.src_ip4, sk(SOCK.skc_rcv_saddr, U32), { narrow: true });
const SRC_IP6 = ip6Words('src_ip6', BPF_SOCK.src_ip6, (i) => sk(SOCK.skc_v6_rcv_saddr + i * U32, U32), { narrow: true });
const SRC_PORT = scalar('src_port', BPF_SOCK.src_port, sk(SOCK.skc_num, U16), { narrow: true });

const A = BPF_ATTACH_TYPE;

const ctxFor = (fields: readonly CtxField[]): CtxLayout => ({ structName: 'bpf_sock', size: BPF_SOCK.size, fields: [...COMMON, ...fields] });

function fieldsFor(attachType: number): readonly CtxField[] {
  switch (attachType) {
    case A.CGROUP_INET_SOCK_CREATE:
    case A.CGROUP_INET_SOCK_RELEASE:
      return SOCKET_OPTIONS;
    case A.CGROUP_INET4_POST_BIND:
      return [SRC_IP4, SRC_PORT];
    default:
      return [...SRC_IP6, SRC_PORT];
  }
}

/** Helpers of cgroup programs that run in the task's context (cgroup_common_func_proto, cgroup_current_func_proto). */
export const CGROUP_COMMON: readonly BpfFuncName[] = [
  'get_local_storage',
  'get_retval',
  'set_retval',
  'get_current_uid_gid',
  'get_current_comm',
  'get_current_cgroup_id',
  'get_current_ancestor_cgroup_id',
  'get_cgroup_classid',
];

export const CGROUP_SOCK = defineProgType(
  {
    name: 'cgroup_sock',
    uapiId: BPF_PROG_TYPE.CGROUP_SOCK,
    ctx: ctxFor(SOCKET_OPTIONS),
    retRange: { min: 0, max: 1 },
    attachTypes: new Map(
      [A.CGROUP_INET_SOCK_CREATE, A.CGROUP_INET_SOCK_RELEASE, A.CGROUP_INET4_POST_BIND, A.CGROUP_INET6_POST_BIND].map((type) => [
        type,
        { ctx: ctxFor(fieldsFor(type)) },
      ]),
    ),
    defaultAttachType: A.CGROUP_INET_SOCK_CREATE,
  },
  [...CGROUP_COMMON, 'get_socket_cookie', 'get_netns_cookie', 'perf_event_output', 'sk_storage_get', 'ktime_get_coarse_ns'],
);
