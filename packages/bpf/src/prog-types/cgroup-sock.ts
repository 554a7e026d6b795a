/**
 * BPF_PROG_TYPE_CGROUP_SOCK (net/core/filter.c sock_filter_is_valid_access, bpf_sock_is_valid_access,
 * bpf_sock_convert_ctx_access, sock_filter_func_proto; Linux 6.18). The context is struct bpf_sock over the
 * kernel's struct sock. What a program may touch depends on its attach type
 * (__sock_filter_check_attach_type): sock_create/sock_release may read and write bound_dev_if, mark and
 * priority; post_bind4 reads src_ip4, post_bind6 src_ip6, both src_port; every attach type reads the rest.
 * Loading without an attach type means INET_SOCK_CREATE (bpf_prog_load_fixup_attach_type). A program returns
 * 0 (refuse) or 1 (allow).
 */
import { SOCK } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, BPF_SOCK, type BpfFuncName } from '@ebpf-sim/uapi';
import type { CtxConvert, CtxField, CtxLayout } from '@ebpf-sim/verifier';
import { defineProgType, withAttachTypes } from './define.js';
import { U32, scalar } from './sock.js';
import { bpfSockReads } from './sock-ptr.js';

const skRw = (off: number): CtxConvert => ({ read: [{ op: 'load', base: 'ctx', off, size: U32 }], write: { off, size: U32 } });

/**
 * The fields every attach type reads (bpf_sock_is_valid_access's narrow-readable ones, read-only here): the
 * context's socket is the context object itself, so they are the socket pointers' bpf_sock reads.
 */
const COMMON: readonly CtxField[] = bpfSockReads('family', 'type', 'protocol', 'dst_port', 'dst_ip4', 'dst_ip6', 'state', 'rx_queue_mapping');

/** bound_dev_if, mark and priority: whole-word reads and writes, for sock_create and sock_release only. */
const SOCKET_OPTIONS: readonly CtxField[] = [
  scalar('bound_dev_if', BPF_SOCK.bound_dev_if, skRw(SOCK.skc_bound_dev_if), { writable: true }),
  scalar('mark', BPF_SOCK.mark, skRw(SOCK.sk_mark), { writable: true }),
  scalar('priority', BPF_SOCK.priority, skRw(SOCK.sk_priority), { writable: true }),
];

const SRC_IP4 = bpfSockReads('src_ip4');
const SRC_IP6 = bpfSockReads('src_ip6');
const SRC_PORT = bpfSockReads('src_port');

const A = BPF_ATTACH_TYPE;

const ctxFor = (fields: readonly CtxField[]): CtxLayout => ({ structName: 'bpf_sock', size: BPF_SOCK.size, fields: [...COMMON, ...fields] });

function fieldsFor(attachType: number): readonly CtxField[] {
  switch (attachType) {
    case A.CGROUP_INET_SOCK_CREATE:
    case A.CGROUP_INET_SOCK_RELEASE:
      return SOCKET_OPTIONS;
    case A.CGROUP_INET4_POST_BIND:
      return [...SRC_IP4, ...SRC_PORT];
    default:
      return [...SRC_IP6, ...SRC_PORT];
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

const BASE = defineProgType({ name: 'cgroup_sock', uapiId: BPF_PROG_TYPE.CGROUP_SOCK, ctx: ctxFor(SOCKET_OPTIONS), retRange: { min: 0, max: 1 } }, [
  ...CGROUP_COMMON,
  'get_socket_cookie',
  'get_netns_cookie',
  'perf_event_output',
  'sk_storage_get',
  'ktime_get_coarse_ns',
]);

export const CGROUP_SOCK = withAttachTypes(
  BASE,
  [A.CGROUP_INET_SOCK_CREATE, A.CGROUP_INET_SOCK_RELEASE, A.CGROUP_INET4_POST_BIND, A.CGROUP_INET6_POST_BIND],
  (attachType) => ({ ctx: ctxFor(fieldsFor(attachType)) }),
  A.CGROUP_INET_SOCK_CREATE,
);
