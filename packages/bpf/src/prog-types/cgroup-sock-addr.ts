/**
 * BPF_PROG_TYPE_CGROUP_SOCK_ADDR (net/core/filter.c sock_addr_is_valid_access, sock_addr_convert_ctx_access,
 * sock_addr_func_proto; check_return_code; Linux 6.18). The context is struct bpf_sock_addr over struct
 * bpf_sock_addr_kern: the address a bind/connect/sendmsg/recvmsg/getpeername/getsockname carries, which the
 * program may read and rewrite, and its socket's family, type and protocol (read-only). Which address fields
 * exist depends on the attach type: user_ip4 for the IPv4 hooks, user_ip6 for the IPv6 ones, neither for the
 * unix-socket ones; msg_src_ip4/6 only for UDP sendmsg. Return values: bind 0..3 (bit 1: skip the port
 * check), recvmsg/getpeername/getsockname exactly 1, the others 0 (refuse) or 1.
 *
 * Not modelled: the 8-byte loads and stores Linux allows across two words of user_ip6/msg_src_ip6
 * (bpf_ctx_wide_access_ok), and `sk` (a PTR_TO_SOCKET the verifier here has no type for): programs using them
 * are refused.
 */
import { BPF_SOCK_ADDR_KERN, SOCK, SOCKADDR_IN } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, BPF_SOCK_ADDR } from '@ebpf-sim/uapi';
import type { CtxConvert, CtxField, CtxLayout } from '@ebpf-sim/verifier';
import { CGROUP_COMMON } from './cgroup-sock.js';
import { defineProgType } from './define.js';
import { U16, U32, ip6Words, scalar, sockField } from './sock.js';

const K = BPF_SOCK_ADDR_KERN;
const A = BPF_ATTACH_TYPE;

/** A u32 of the address copy, read (narrow loads allowed) and written whole. */
const addrWord = (off: number): CtxConvert => ({ read: [{ op: 'load', base: 'ctx', off, size: U32 }], write: { off, size: U32 } });

const USER_IP4 = scalar('user_ip4', BPF_SOCK_ADDR.user_ip4, addrWord(K.uaddr + SOCKADDR_IN.sin_addr), { narrow: true, writable: true });
const USER_IP6 = ip6Words('user_ip6', BPF_SOCK_ADDR.user_ip6, (i) => addrWord(K.uaddr + SOCKADDR_IN.sin6_addr + i * U32), { narrow: true, writable: true });
const MSG_SRC_IP4 = scalar('msg_src_ip4', BPF_SOCK_ADDR.msg_src_ip4, addrWord(K.msg_src), { narrow: true, writable: true });
const MSG_SRC_IP6 = ip6Words('msg_src_ip6', BPF_SOCK_ADDR.msg_src_ip6, (i) => addrWord(K.msg_src + i * U32), { narrow: true, writable: true });

/** The fields of every attach type. */
const COMMON: readonly CtxField[] = [
  scalar('user_family', BPF_SOCK_ADDR.user_family, { read: [{ op: 'load', base: 'ctx', off: K.uaddr + SOCKADDR_IN.sin_family, size: U16 }] }),
  // sin_port / sin6_port: a 2-byte network-order port, read at any narrow width and stored as the port.
  scalar(
    'user_port',
    BPF_SOCK_ADDR.user_port,
    {
      read: [{ op: 'load', base: 'ctx', off: K.uaddr + SOCKADDR_IN.sin_port, size: U16 }],
      write: { off: K.uaddr + SOCKADDR_IN.sin_port, size: U16 },
      targetSize: U16,
    },
    { narrow: true, writable: true },
  ),
  scalar('family', BPF_SOCK_ADDR.family, sockField(K.sk, SOCK.skc_family, U16)),
  scalar('type', BPF_SOCK_ADDR.type, sockField(K.sk, SOCK.sk_type, U16)),
  scalar('protocol', BPF_SOCK_ADDR.protocol, sockField(K.sk, SOCK.sk_protocol, U16)),
];

const IPV4 = new Set<number>([
  A.CGROUP_INET4_BIND,
  A.CGROUP_INET4_CONNECT,
  A.CGROUP_INET4_GETPEERNAME,
  A.CGROUP_INET4_GETSOCKNAME,
  A.CGROUP_UDP4_SENDMSG,
  A.CGROUP_UDP4_RECVMSG,
]);
const IPV6 = new Set<number>([
  A.CGROUP_INET6_BIND,
  A.CGROUP_INET6_CONNECT,
  A.CGROUP_INET6_GETPEERNAME,
  A.CGROUP_INET6_GETSOCKNAME,
  A.CGROUP_UDP6_SENDMSG,
  A.CGROUP_UDP6_RECVMSG,
]);
const UNIX = [A.CGROUP_UNIX_CONNECT, A.CGROUP_UNIX_SENDMSG, A.CGROUP_UNIX_RECVMSG, A.CGROUP_UNIX_GETPEERNAME, A.CGROUP_UNIX_GETSOCKNAME];
/** Hooks that only report an address: the program may rewrite it but not refuse (check_return_code: [1, 1]). */
const REPORTING = new Set<number>([
  A.CGROUP_UDP4_RECVMSG,
  A.CGROUP_UDP6_RECVMSG,
  A.CGROUP_UNIX_RECVMSG,
  A.CGROUP_INET4_GETPEERNAME,
  A.CGROUP_INET6_GETPEERNAME,
  A.CGROUP_UNIX_GETPEERNAME,
  A.CGROUP_INET4_GETSOCKNAME,
  A.CGROUP_INET6_GETSOCKNAME,
  A.CGROUP_UNIX_GETSOCKNAME,
]);

function ctxFor(attachType: number): CtxLayout {
  const fields = [...COMMON];
  if (IPV4.has(attachType)) fields.push(USER_IP4);
  if (IPV6.has(attachType)) fields.push(...USER_IP6);
  if (attachType === A.CGROUP_UDP4_SENDMSG) fields.push(MSG_SRC_IP4);
  if (attachType === A.CGROUP_UDP6_SENDMSG) fields.push(...MSG_SRC_IP6);
  return { structName: 'bpf_sock_addr', size: BPF_SOCK_ADDR.size, fields };
}

function retRangeFor(attachType: number): { readonly min: number; readonly max: number } {
  if (REPORTING.has(attachType)) return { min: 1, max: 1 };
  if (attachType === A.CGROUP_INET4_BIND || attachType === A.CGROUP_INET6_BIND) return { min: 0, max: 3 };
  return { min: 0, max: 1 };
}

export const CGROUP_SOCK_ADDR = defineProgType(
  {
    name: 'cgroup_sock_addr',
    uapiId: BPF_PROG_TYPE.CGROUP_SOCK_ADDR,
    ctx: ctxFor(A.CGROUP_INET4_BIND),
    retRange: retRangeFor(A.CGROUP_INET4_BIND),
    attachTypes: new Map([...IPV4, ...IPV6, ...UNIX].map((type) => [type, { ctx: ctxFor(type), retRange: retRangeFor(type) }])),
  },
  [
    ...CGROUP_COMMON,
    'bind',
    'get_socket_cookie',
    'get_netns_cookie',
    'perf_event_output',
    'sk_lookup_tcp',
    'sk_lookup_udp',
    'sk_release',
    'skc_lookup_tcp',
    'sk_storage_get',
    'sk_storage_delete',
    'setsockopt',
    'getsockopt',
  ],
);
