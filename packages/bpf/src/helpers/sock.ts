/**
 * The socket helpers (net/core/filter.c, Linux 6.18): bpf_sk_fullsock and bpf_tcp_sock (socket pointer casts),
 * bpf_get_socket_cookie (sock_gen_cookie), bpf_skb_cgroup_id / bpf_sk_cgroup_id (__bpf_sk_cgroup_id) and
 * bpf_sk_storage_get/delete on the socket a pointer names. Each reads the kernel's struct sock in memory (SOCK):
 * its state, protocol, cgroup pointer and cookie, as Linux's do.
 */
import { CGROUP_STRUCT, KERNFS_NODE, SK_BUFF, SOCK } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, IPPROTO, TCP_STATE } from '@ebpf-sim/uapi';
import type { HelperContext } from '@ebpf-sim/vm';
import type { SkStorageMap } from '../maps/bpf_sk_storage.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

const readPtr = (view: DataView, at: number): number => view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;

/** sk_fullsock: neither a time-wait nor a request socket (TCPF_TIME_WAIT | TCPF_NEW_SYN_RECV). */
function fullsock(view: DataView, sk: number): boolean {
  const state = view.getUint8(sk + SOCK.skc_state);
  return state !== TCP_STATE.TIME_WAIT && state !== TCP_STATE.NEW_SYN_RECV;
}

/** bpf_sk_fullsock(sk): the socket as a full one, or NULL. */
const skFullsock: HelperImpl = (env) => (c) => {
  const sk = c.argNumber(1);
  return fullsock(env.k.phys.view, sk) ? sk : 0;
};

/** bpf_tcp_sock(sk): a full TCP socket as a tcp_sock, or NULL. */
const tcpSock: HelperImpl = (env) => (c) => {
  const sk = c.argNumber(1);
  const view = env.k.phys.view;
  return fullsock(view, sk) && view.getUint16(sk + SOCK.sk_protocol, true) === IPPROTO.TCP ? sk : 0;
};

/** The sock cookie generator of each kernel (Linux's global sock_cookie: cookies start at 1, never reused). */
const cookieGenerators = new WeakMap<object, { last: number }>();

/** __sock_gen_cookie: the socket's cookie, given on first use (sk->sk_cookie). */
function sockGenCookie(env: HelperEnv, sk: number): number {
  const view = env.k.phys.view;
  const at = sk + SOCK.sk_cookie;
  const cookie = readPtr(view, at);
  if (cookie !== 0) return cookie;
  let gen = cookieGenerators.get(env.k.phys);
  if (gen === undefined) {
    gen = { last: 0 };
    cookieGenerators.set(env.k.phys, gen);
  }
  const next = ++gen.last;
  view.setUint32(at, next >>> 0, true);
  view.setUint32(at + 4, Math.floor(next / 0x1_0000_0000), true);
  return next;
}

/**
 * Where each program type's context keeps the socket bpf_get_socket_cookie asks about (Linux's per-type protos:
 * bpf_get_socket_cookie_proto reads skb->sk, _sock_proto the context itself, _sock_addr_proto and
 * _sock_ops_proto ctx->sk): the offset of the socket pointer in the context, or SELF for a context that is the sock.
 */
const SELF = -1;
const COOKIE_SOCKET: ReadonlyMap<number, number> = new Map([
  [BPF_PROG_TYPE.SOCKET_FILTER, SK_BUFF.sk],
  [BPF_PROG_TYPE.SCHED_CLS, SK_BUFF.sk],
  [BPF_PROG_TYPE.SCHED_ACT, SK_BUFF.sk],
  [BPF_PROG_TYPE.CGROUP_SKB, SK_BUFF.sk],
  [BPF_PROG_TYPE.SK_SKB, SK_BUFF.sk],
  [BPF_PROG_TYPE.CGROUP_SOCK, SELF],
  // bpf_get_socket_ptr_cookie_proto: the argument is the socket itself (GET_SOCKET_PTR_COOKIE).
  [BPF_PROG_TYPE.SYSCALL, SELF],
]);

/** bpf_get_socket_cookie(ctx): the cookie of the context's socket, 0 when it has none. */
const getSocketCookie: HelperImpl = (env) => (c) => {
  const ctx = c.argNumber(1);
  const where = COOKIE_SOCKET.get(env.run.progType);
  if (where === undefined) return 0;
  const sk = where === SELF ? ctx : readPtr(env.k.phys.view, ctx + where);
  return sk === 0 ? 0 : sockGenCookie(env, sk);
};

/** __bpf_sk_cgroup_id: the id of the cgroup a full socket was created in (cgroup_id: its kernfs node's id), else 0. */
function skCgroupId(view: DataView, sk: number): number {
  if (sk === 0 || !fullsock(view, sk)) return 0;
  const cgrp = readPtr(view, sk + SOCK.sk_cgrp_data);
  if (cgrp === 0) return 0;
  const kn = readPtr(view, cgrp + CGROUP_STRUCT.kn);
  return kn === 0 ? 0 : readPtr(view, kn + KERNFS_NODE.id);
}

/** bpf_skb_cgroup_id(skb). */
const skbCgroupId: HelperImpl = (env) => (c) => skCgroupId(env.k.phys.view, readPtr(env.k.phys.view, c.argNumber(1) + SK_BUFF.sk));

/** bpf_sk_cgroup_id(sk). */
const skCgroupIdHelper: HelperImpl = (env) => (c) => skCgroupId(env.k.phys.view, c.argNumber(1));

/** The SK_STORAGE map in r1 (the verifier lets no other through). */
function skStorageMap(env: HelperEnv, c: HelperContext): SkStorageMap | undefined {
  const map = env.mapAt(c.argNumber(1));
  return map?.type === BPF_MAP_TYPE.SK_STORAGE ? (map as SkStorageMap) : undefined;
}

/** BPF_SK_STORAGE_GET_F_CREATE. */
const GET_F_CREATE = 1;

/**
 * bpf_sk_storage_get(map, sk, value, flags): NULL for no full socket or unknown flags, else the socket's value
 * (created with F_CREATE: bpf_local_storage's rules, LocalStorageMap.storageGet).
 */
const skStorageGet: HelperImpl = (env) => (c) => {
  const map = skStorageMap(env, c);
  const sk = c.argNumber(2);
  const flags = c.argNumber(4);
  if (map === undefined || sk === 0 || !fullsock(env.k.phys.view, sk) || flags > GET_F_CREATE) return 0;
  return map.storageGet(map.ownerAt(sk), c.argNumber(3), flags);
};

/** bpf_sk_storage_delete(map, sk): -EINVAL for no full socket, -ENOENT without a value, else 0. */
const skStorageDelete: HelperImpl = (env) => (c) => {
  const map = skStorageMap(env, c);
  const sk = c.argNumber(2);
  if (map === undefined || sk === 0 || !fullsock(env.k.phys.view, sk)) return -Errno.EINVAL;
  return map.storageDelete(map.ownerAt(sk));
};

export const SOCK_HELPERS: readonly BpfHelper[] = [
  helper('sk_fullsock', { ret: 'ptr_to_socket_or_null', args: ['ptr_to_sock_common'] }, skFullsock),
  helper('tcp_sock', { ret: 'ptr_to_tcp_sock_or_null', args: ['ptr_to_sock_common'] }, tcpSock),
  helper('get_socket_cookie', { ret: 'integer', args: ['ptr_to_ctx'] }, getSocketCookie),
  helper('skb_cgroup_id', { ret: 'integer', args: ['ptr_to_ctx'] }, skbCgroupId),
  helper('sk_cgroup_id', { ret: 'integer', args: ['ptr_to_btf_id_sock_common'] }, skCgroupIdHelper),
];

/** bpf_sk_storage_get / bpf_sk_storage_delete (in storage.ts's table with the other local storages). */
export const SK_STORAGE_GET = skStorageGet;
export const SK_STORAGE_DELETE = skStorageDelete;

/**
 * bpf_get_socket_ptr_cookie_proto, the tracing types' bpf_get_socket_cookie (tracing_prog_func_proto, which
 * SYSCALL's syscall_prog_func_proto falls back to): the cookie of a socket pointer (ARG_PTR_TO_BTF_ID_SOCK_COMMON).
 */
export const GET_SOCKET_PTR_COOKIE: BpfHelper = helper('get_socket_cookie', { ret: 'integer', args: ['ptr_to_btf_id_sock_common'] }, getSocketCookie);
