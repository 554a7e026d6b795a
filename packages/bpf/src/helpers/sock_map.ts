/**
 * The helpers of the fd maps that hold sockets and cgroups (net/core/sock_map.c, net/core/filter.c,
 * kernel/trace/bpf_trace.c): socket redirects through SOCKMAP / SOCKHASH, sock_ops programs adding sockets,
 * sk_reuseport's socket selection, and the cgroup tests against a CGROUP_ARRAY. The verifier keeps each to its
 * map types (`mapTypes`, check_map_func_compatibility's helper side).
 *
 * This kernel has no socket objects and no cgroup hierarchy yet: every task and socket is in the default
 * hierarchy's root cgroup, and a context's socket is never one the socket maps take (so sock_map_update and
 * sock_hash_update answer as Linux does for an unsuitable socket). The map side is complete: a map holding a
 * socket (through {@link MapFdObjects}) is found, redirected to and selected as Linux does.
 */
import { SK_BUFF } from '@ebpf-sim/kernel';
import { BPF_F, Errno, SK_ACTION } from '@ebpf-sim/uapi';
import type { BpfMap, MapSocket } from '../maps/map.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** The default hierarchy's root cgroup id (cgrp_dfl_root's kernfs node id): where every task and socket here is. */
export const ROOT_CGROUP_ID = 1n;

/** The map side of the cgroup helpers (CGROUP_ARRAY's CgroupArrayMap.underCgroup). */
interface CgroupTestMap {
  underCgroup(index: number, cgroupId: bigint): number;
}

/** The map side of the socket helpers (SOCKMAP, SOCKHASH, REUSEPORT_SOCKARRAY). */
interface SocketKeyMap {
  socketAtKey(src: Uint8Array, off: number): MapSocket | undefined;
  readonly reuseportUngroupedErrno: number;
}

function cgroupArrayAt(env: HelperEnv, address: number): CgroupTestMap {
  const map: (BpfMap & Partial<CgroupTestMap>) | undefined = env.mapAt(address);
  if (typeof map?.underCgroup !== 'function') throw new Error(`the map at 0x${address.toString(16)} is not a CGROUP_ARRAY`);
  return map as CgroupTestMap;
}

/** The socket map at `address` (the verifier let only these through). */
function socketMapAt(env: HelperEnv, address: number): SocketKeyMap {
  const map: (BpfMap & Partial<SocketKeyMap>) | undefined = env.mapAt(address);
  if (typeof map?.socketAtKey !== 'function') throw new Error(`the map at 0x${address.toString(16)} holds no sockets`);
  return map as SocketKeyMap;
}

/**
 * bpf_skb_under_cgroup: -ENOENT for an skb without a (full) socket, else the socket's cgroup against the
 * array's slot (CgroupArrayMap.underCgroup).
 */
const skbUnderCgroup: HelperImpl = (env) => (c) => {
  const sk = env.k.phys.view.getBigUint64(c.argNumber(1) + SK_BUFF.sk, true);
  if (sk === 0n) return -Errno.ENOENT;
  return cgroupArrayAt(env, c.argNumber(2)).underCgroup(c.argU32(3), ROOT_CGROUP_ID);
};

/** bpf_current_task_under_cgroup: the current task's cgroup against the array's slot. */
const currentTaskUnderCgroup: HelperImpl = (env) => (c) => cgroupArrayAt(env, c.argNumber(1)).underCgroup(c.argU32(2), ROOT_CGROUP_ID);

/**
 * bpf_sk_redirect_map / bpf_msg_redirect_map (key in a register) and their _hash forms (key in memory): only
 * BPF_F_INGRESS (else SK_DROP), a socket under the key (else SK_DROP), which becomes the run's redirect target.
 * (Linux also refuses sockets that cannot be redirected to, sock_map_redirect_allowed, and vsock for ingress;
 * every socket a map holds here is a TCP, UDP or unix one that can.)
 */
const skRedirect =
  (keyInRegister: boolean): HelperImpl =>
  (env) => {
    const keyBytes = new Uint8Array(4);
    const keyView = new DataView(keyBytes.buffer);
    return (c) => {
      const flags = c.argNumber(4);
      if (flags > 0xffffffff || (flags & ~BPF_F.INGRESS) !== 0) return SK_ACTION.DROP;
      let sock: MapSocket | undefined;
      if (keyInRegister) {
        keyView.setUint32(0, c.argU32(3), true);
        sock = socketMapAt(env, c.argNumber(2)).socketAtKey(keyBytes, 0);
      } else {
        sock = socketMapAt(env, c.argNumber(2)).socketAtKey(env.k.phys.bytes, c.argNumber(3));
      }
      if (sock === undefined) return SK_ACTION.DROP;
      env.run.redirectSocket = sock.address;
      env.run.redirectFlags = flags;
      return SK_ACTION.PASS;
    };
  };

/**
 * bpf_sock_map_update / bpf_sock_hash_update from a sock_ops program: the context's socket must be one the
 * socket maps take (sock_map_sk_is_suitable, sock_map_op_okay), else -EOPNOTSUPP. The sockets of this kernel's
 * sock_ops contexts never are (it has no TCP sockets), so the map is left as it was.
 */
const sockOpsUpdate: HelperImpl = () => () => -Errno.EOPNOTSUPP;

/**
 * bpf_sk_select_reuseport: the socket under the key (-ENOENT for none), which must be in a reuseport group
 * (-ENOENT for REUSEPORT_SOCKARRAY, whose sockets left their group only by being unhashed; -EINVAL for the
 * socket maps), becomes the selected socket.
 */
const skSelectReuseport: HelperImpl = (env) => (c) => {
  const map = socketMapAt(env, c.argNumber(2));
  const sock = map.socketAtKey(env.k.phys.bytes, c.argNumber(3));
  if (sock === undefined) return -Errno.ENOENT;
  if (!sock.inReuseportGroup) return map.reuseportUngroupedErrno;
  env.run.redirectSocket = sock.address;
  return 0;
};

export const SOCK_MAP_HELPERS: readonly BpfHelper[] = [
  helper('skb_under_cgroup', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], mapTypes: ['cgroup_array'] }, skbUnderCgroup),
  helper('current_task_under_cgroup', { ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['cgroup_array'] }, currentTaskUnderCgroup),
  helper('sk_redirect_map', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything', 'anything'], mapTypes: ['sockmap'] }, skRedirect(true)),
  helper(
    'sk_redirect_hash',
    { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'ptr_to_map_key', 'anything'], mapTypes: ['sockhash'] },
    skRedirect(false),
  ),
  helper('msg_redirect_map', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything', 'anything'], mapTypes: ['sockmap'] }, skRedirect(true)),
  helper(
    'msg_redirect_hash',
    { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'ptr_to_map_key', 'anything'], mapTypes: ['sockhash'] },
    skRedirect(false),
  ),
  helper('sock_map_update', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'ptr_to_map_key', 'anything'], mapTypes: ['sockmap'] }, sockOpsUpdate),
  helper('sock_hash_update', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'ptr_to_map_key', 'anything'], mapTypes: ['sockhash'] }, sockOpsUpdate),
  helper(
    'sk_select_reuseport',
    { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'ptr_to_map_key', 'anything'], mapTypes: ['reuseport_sockarray', 'sockmap', 'sockhash'] },
    skSelectReuseport,
  ),
];
