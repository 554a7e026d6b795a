/**
 * Networking helpers (net/core/filter.c): socket buffers, XDP buffers, redirects, checksums. Helpers that
 * may move packet data are marked, so the verifier drops every packet pointer after calling them.
 *
 * The implementations follow Linux 6.18's net/core/filter.c bound for bound and errno for errno (the cases
 * in fixtures/test-run were recorded on it). Pointer arguments the verifier checked (ptr_to_mem, the context)
 * are used as they are; offsets and lengths the program computes are checked here as Linux checks them.
 */
import { SK_BUFF, XDP_BUFF } from '@ebpf-sim/kernel';
import { BPF_F, BPF_PROG_TYPE, Errno, TC_ACT, XDP_ACTION } from '@ebpf-sim/uapi';
import type { HelperContext } from '@ebpf-sim/vm';
import type { BpfMap } from '../maps/map.js';
import { ENOTSUPP } from '../errno.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { csumFrom32to16, csumPartial, csumReplace2, csumReplace4, csumReplaceByDiff, csumSub } from '../net/checksum.js';
import { skbClearHash, skbEnsureWritable, skbHeadlen } from '../net/skbuff.js';
import {
  ETH_HLEN,
  XDP_FRAME_SIZE,
  readPtr,
  writePtr,
  xdpBuffLen,
  xdpCopyBuf,
  xdpFragsIncreaseTail,
  xdpFragsShrinkTail,
  xdpHardEnd,
  xdpHasFrags,
  xdpMetalen,
  xdpMetalenInvalid,
  xdpPointer,
} from '../net/xdp.js';
import { helper, type BpfHelper } from './define.js';

/** INT_MAX: the largest packet offset skb_load_bytes / skb_store_bytes take, and the map id of an ifindex redirect. */
const INT_MAX = 0x7fffffff;
/** The XDP actions a failed redirect_map lookup may return (the low bits of its flags). */
const XDP_ACTION_MASK = XDP_ACTION.ABORTED | XDP_ACTION.DROP | XDP_ACTION.PASS | XDP_ACTION.TX;
/** l4_csum_replace's accepted flags. */
const L4_CSUM_FLAGS = BPF_F.MARK_MANGLED_0 | BPF_F.MARK_ENFORCE | BPF_F.PSEUDO_HDR | BPF_F.HDR_FIELD_MASK | BPF_F.IPV6;

/** A signed 32-bit argument (`int offset`). */
const argS32 = (c: HelperContext, n: number): number => c.argU32(n) | 0;

// ---- XDP buffers (struct xdp_buff) ----

/** bpf_xdp_adjust_head: move data by `offset`, keeping the xdp_frame's room in front and an Ethernet header. */
const xdpAdjustHead: HelperImpl = (env) => {
  const { view, bytes } = env.k.phys;
  return (c) => {
    const xdp = c.argNumber(1);
    const offset = argS32(c, 2);
    const metalen = xdpMetalen(view, xdp);
    const dataStart = readPtr(view, xdp + XDP_BUFF.data_hard_start) + XDP_FRAME_SIZE + metalen;
    const data = readPtr(view, xdp + XDP_BUFF.data) + offset;
    if (data < dataStart || data > readPtr(view, xdp + XDP_BUFF.data_end) - ETH_HLEN) return -Errno.EINVAL;
    const meta = readPtr(view, xdp + XDP_BUFF.data_meta);
    if (metalen > 0) bytes.copyWithin(meta + offset, meta, meta + metalen);
    writePtr(view, xdp + XDP_BUFF.data_meta, meta + offset);
    writePtr(view, xdp + XDP_BUFF.data, data);
    return 0;
  };
};

/** bpf_xdp_adjust_tail: move data_end by `offset` (grown bytes zeroed) within the frame; fragments for multi-buffer frames. */
const xdpAdjustTail: HelperImpl = (env) => {
  const { view, bytes } = env.k.phys;
  return (c) => {
    const xdp = c.argNumber(1);
    const offset = argS32(c, 2);
    if (xdpHasFrags(view, xdp)) return offset < 0 ? xdpFragsShrinkTail(view, env.k.phys, xdp, -offset) : xdpFragsIncreaseTail(bytes, view, xdp, offset);
    const dataEnd = readPtr(view, xdp + XDP_BUFF.data_end);
    const newEnd = dataEnd + offset;
    if (newEnd > xdpHardEnd(view, xdp)) return -Errno.EINVAL;
    if (newEnd < readPtr(view, xdp + XDP_BUFF.data) + ETH_HLEN) return -Errno.EINVAL;
    if (offset > 0) bytes.fill(0, dataEnd, newEnd);
    writePtr(view, xdp + XDP_BUFF.data_end, newEnd);
    return 0;
  };
};

/** bpf_xdp_adjust_meta: move data_meta; metadata stays 4-byte aligned and at most 255 bytes (else -EACCES). */
const xdpAdjustMeta: HelperImpl = (env) => {
  const { view } = env.k.phys;
  return (c) => {
    const xdp = c.argNumber(1);
    const offset = argS32(c, 2);
    const data = readPtr(view, xdp + XDP_BUFF.data);
    const oldMeta = readPtr(view, xdp + XDP_BUFF.data_meta);
    // xdp_data_meta_unsupported: a driver without metadata support marks data_meta one past data.
    if (oldMeta > data) return -ENOTSUPP;
    const meta = oldMeta + offset;
    if (meta < readPtr(view, xdp + XDP_BUFF.data_hard_start) + XDP_FRAME_SIZE || meta > data) return -Errno.EINVAL;
    if (xdpMetalenInvalid(data - meta)) return -Errno.EACCES;
    writePtr(view, xdp + XDP_BUFF.data_meta, meta);
    return 0;
  };
};

/** bpf_xdp_load_bytes / bpf_xdp_store_bytes: copy between the frame (linear part and fragments) and a buffer. */
const xdpCopyBytes =
  (toFrame: boolean): HelperImpl =>
  (env) => {
    const { view, bytes } = env.k.phys;
    return (c) => {
      const xdp = c.argNumber(1);
      const offset = c.argU32(2);
      const buf = c.argNumber(3);
      const len = c.argU32(4);
      const ptr = xdpPointer(view, xdp, offset, len);
      if (ptr < 0) return ptr;
      if (ptr === 0) xdpCopyBuf(bytes, view, xdp, offset, buf, len, toFrame);
      else if (toFrame) bytes.copyWithin(ptr, buf, buf + len);
      else bytes.copyWithin(buf, ptr, ptr + len);
      return 0;
    };
  };

const xdpGetBuffLen: HelperImpl = (env) => {
  const { view } = env.k.phys;
  return (c) => xdpBuffLen(view, c.argNumber(1));
};

// ---- checksums ----

/**
 * bpf_csum_diff (Linux 6.13+): the 32-bit sum of `to` seeded with `seed`, less the sum of `from`, folded to 16
 * bits (csum_from32to16); sizes must be multiples of 4.
 */
const csumDiff: HelperImpl = (env) => {
  const { view } = env.k.phys;
  return (c) => {
    const from = c.argNumber(1);
    const fromSize = c.argU32(2);
    const to = c.argNumber(3);
    const toSize = c.argU32(4);
    if (((fromSize | toSize) & 3) !== 0) return -Errno.EINVAL;
    let ret = c.argU32(5);
    if (fromSize !== 0 && toSize !== 0) ret = csumSub(csumPartial(view, to, toSize, ret), csumPartial(view, from, fromSize, 0));
    else if (toSize !== 0) ret = csumPartial(view, to, toSize, ret);
    else if (fromSize !== 0) ret = ~csumPartial(view, from, fromSize, ~ret >>> 0) >>> 0;
    return csumFrom32to16(ret);
  };
};

/** The checksum field at `offset` of the skb's data for the replace helpers: its address, or -errno (odd or far offsets -EFAULT). */
function csumField(view: DataView, skb: number, offset: number): number {
  if (offset > 0xffff || (offset & 1) !== 0) return -Errno.EFAULT;
  if (skbEnsureWritable(view, skb, offset + 2) < 0) return -Errno.EFAULT;
  return readPtr(view, skb + SK_BUFF.data) + offset;
}

/** bpf_l3_csum_replace: update an IP header checksum for a changed field of size 2 or 4, or by a diff (size 0). */
const l3CsumReplace: HelperImpl = (env) => {
  const { view } = env.k.phys;
  return (c) => {
    const flags = c.argNumber(5);
    if (flags > BPF_F.HDR_FIELD_MASK) return -Errno.EINVAL;
    const ptr = csumField(view, c.argNumber(1), c.argU32(2));
    if (ptr < 0) return ptr;
    const sum = view.getUint16(ptr, true);
    let next: number;
    switch (flags) {
      case 0:
        if (c.argNumber(3) !== 0) return -Errno.EINVAL;
        next = csumReplaceByDiff(sum, c.argU32(4));
        break;
      case 2:
        next = csumReplace2(sum, c.argU32(3) & 0xffff, c.argU32(4) & 0xffff);
        break;
      case 4:
        next = csumReplace4(sum, c.argU32(3), c.argU32(4));
        break;
      default:
        return -Errno.EINVAL;
    }
    view.setUint16(ptr, next, true);
    return 0;
  };
};

/**
 * bpf_l4_csum_replace: the same for a TCP/UDP checksum (inet_proto_csum_replace*; the skb is CHECKSUM_NONE, so
 * BPF_F_PSEUDO_HDR and BPF_F_IPV6 change nothing here). BPF_F_MARK_MANGLED_0 leaves a zero (absent UDP)
 * checksum alone unless BPF_F_MARK_ENFORCE, and writes a result of 0 as CSUM_MANGLED_0 (0xffff).
 */
const l4CsumReplace: HelperImpl = (env) => {
  const { view } = env.k.phys;
  return (c) => {
    const flags = c.argNumber(5);
    if (flags > L4_CSUM_FLAGS) return -Errno.EINVAL;
    const ptr = csumField(view, c.argNumber(1), c.argU32(2));
    if (ptr < 0) return ptr;
    const mangled0 = (flags & BPF_F.MARK_MANGLED_0) !== 0;
    const sum = view.getUint16(ptr, true);
    if (mangled0 && (flags & BPF_F.MARK_ENFORCE) === 0 && sum === 0) return 0;
    let next: number;
    switch (flags & BPF_F.HDR_FIELD_MASK) {
      case 0:
        if (c.argNumber(3) !== 0) return -Errno.EINVAL;
        next = csumReplaceByDiff(sum, c.argU32(4));
        break;
      case 2:
        // inet_proto_csum_replace2 widens the 16-bit values to 32 bits and replaces those.
        next = csumReplace4(sum, c.argU32(3) & 0xffff, c.argU32(4) & 0xffff);
        break;
      case 4:
        next = csumReplace4(sum, c.argU32(3), c.argU32(4));
        break;
      default:
        return -Errno.EINVAL;
    }
    view.setUint16(ptr, mangled0 && next === 0 ? 0xffff : next, true);
    return 0;
  };
};

// ---- socket buffers (struct sk_buff) ----

/** bpf_skb_store_bytes: write `len` bytes at `offset` of the packet; BPF_F_INVALIDATE_HASH clears the flow hash. */
const skbStoreBytes: HelperImpl = (env) => {
  const { view, bytes } = env.k.phys;
  return (c) => {
    const skb = c.argNumber(1);
    const offset = c.argU32(2);
    const from = c.argNumber(3);
    const len = c.argU32(4);
    const flags = c.argNumber(5);
    if (flags > (BPF_F.RECOMPUTE_CSUM | BPF_F.INVALIDATE_HASH)) return -Errno.EINVAL;
    if (offset > INT_MAX) return -Errno.EFAULT;
    if (skbEnsureWritable(view, skb, offset + len) < 0) return -Errno.EFAULT;
    const ptr = readPtr(view, skb + SK_BUFF.data) + offset;
    // BPF_F_RECOMPUTE_CSUM updates skb->csum only for CHECKSUM_COMPLETE skbs; ours are CHECKSUM_NONE.
    bytes.copyWithin(ptr, from, from + len);
    if ((flags & BPF_F.INVALIDATE_HASH) !== 0) skbClearHash(view, skb);
    return 0;
  };
};

/** bpf_skb_load_bytes: copy `len` bytes at `offset`; past the packet the buffer is zeroed and -EFAULT returned. */
const skbLoadBytes: HelperImpl = (env) => {
  const { view, bytes } = env.k.phys;
  return (c) => {
    const skb = c.argNumber(1);
    const offset = c.argU32(2);
    const to = c.argNumber(3);
    const len = c.argU32(4);
    if (offset > INT_MAX || offset + len > view.getUint32(skb + SK_BUFF.len, true)) {
      bytes.fill(0, to, to + len);
      return -Errno.EFAULT;
    }
    const ptr = readPtr(view, skb + SK_BUFF.data) + offset;
    bytes.copyWithin(to, ptr, ptr + len);
    return 0;
  };
};

/** bpf_skb_pull_data: make the first `len` bytes (0: the linear part) directly accessible; -ENOMEM past the packet. */
const skbPullData: HelperImpl = (env) => {
  const { view } = env.k.phys;
  return (c) => {
    const skb = c.argNumber(1);
    const len = c.argU32(2);
    return skbEnsureWritable(view, skb, len === 0 ? skbHeadlen(view, skb) : len);
  };
};

// ---- redirects ----

/** bpf_redirect for tc (and the other skb types): the target in the CPU's redirect info, TC_ACT_REDIRECT; unknown flags TC_ACT_SHOT. */
function skbRedirect(env: HelperEnv, c: HelperContext): number {
  const flags = c.argNumber(2);
  if (flags > BPF_F.INGRESS) return TC_ACT.SHOT;
  env.run.redirectFlags = flags;
  env.run.redirectIfindex = c.argU32(1);
  return TC_ACT.REDIRECT;
}

/** bpf_xdp_redirect: any flag aborts; an ifindex redirect is map id INT_MAX (never an idr id). */
function xdpRedirect(env: HelperEnv, c: HelperContext): number {
  if (c.argNumber(2) !== 0) return XDP_ACTION.ABORTED;
  env.run.redirectIfindex = c.argU32(1);
  env.run.redirectMapId = INT_MAX;
  return XDP_ACTION.REDIRECT;
}

/** bpf_redirect's variant by program type (Linux: xdp_func_proto gives bpf_xdp_redirect_proto); the rest use skbRedirect. */
const REDIRECT_BY_PROG_TYPE: ReadonlyMap<number, (env: HelperEnv, c: HelperContext) => number> = new Map([[BPF_PROG_TYPE.XDP, xdpRedirect]]);

const redirect: HelperImpl = (env) => (c) => (REDIRECT_BY_PROG_TYPE.get(env.run.progType) ?? skbRedirect)(env, c);

/**
 * The map side of bpf_redirect_map (DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP: their map_redirect op): the flags the
 * type accepts besides the action bits, and the lookup of a target (0 when there is none).
 */
export interface RedirectMap {
  /** BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS for device maps, 0 for the others. */
  readonly redirectFlagMask: number;
  /** The target at `index` (its kernel address), or 0. */
  redirectLookup(index: number): number;
}

function isRedirectMap(map: BpfMap | undefined): map is BpfMap & RedirectMap {
  return map !== undefined && typeof (map as Partial<RedirectMap>).redirectLookup === 'function';
}

/**
 * bpf_redirect_map (__bpf_xdp_redirect_map): XDP_REDIRECT to the map's target at `key`; when there is none (and
 * no BPF_F_BROADCAST) the redirect info is cleared and the flags' low bits are the action returned.
 */
const redirectMap: HelperImpl = (env) => (c) => {
  const map = env.mapAt(c.argNumber(1));
  if (!isRedirectMap(map)) throw new Error(`bpf_redirect_map: the map at 0x${c.argNumber(1).toString(16)} has no redirect op`);
  const flags = c.argNumber(3);
  if (flags > 0xffffffff || (flags & ~(XDP_ACTION_MASK | map.redirectFlagMask)) !== 0) return XDP_ACTION.ABORTED;
  const index = c.argU32(2);
  if (map.redirectLookup(index) === 0 && (flags & BPF_F.BROADCAST) === 0) {
    env.run.redirectMapId = INT_MAX;
    return flags & XDP_ACTION_MASK;
  }
  env.run.redirectIfindex = index;
  env.run.redirectMapId = map.id;
  env.run.redirectFlags = (flags & BPF_F.BROADCAST) !== 0 ? flags : 0;
  return XDP_ACTION.REDIRECT;
};

export const NET_HELPERS: readonly BpfHelper[] = [
  helper('skb_store_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size', 'anything'], changesPktData: true }, skbStoreBytes),
  helper('l3_csum_replace', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], changesPktData: true }, l3CsumReplace),
  helper('l4_csum_replace', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], changesPktData: true }, l4CsumReplace),
  helper('clone_redirect', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('get_cgroup_classid', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('skb_vlan_push', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('skb_vlan_pop', { ret: 'integer', args: ['ptr_to_ctx'], changesPktData: true }),
  helper('redirect', { ret: 'integer', args: ['anything', 'anything'] }, redirect),
  helper('skb_load_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'] }, skbLoadBytes),
  helper(
    'csum_diff',
    {
      pktAccess: true,
      ret: 'integer',
      args: ['ptr_to_mem_or_null', 'const_size_or_zero', 'ptr_to_mem_or_null', 'const_size_or_zero', 'anything'],
    },
    csumDiff,
  ),
  helper('skb_change_proto', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('get_hash_recalc', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('skb_change_tail', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('skb_pull_data', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }, skbPullData),
  helper('csum_update', { pktAccess: true, ret: 'integer', args: ['ptr_to_ctx', 'anything'] }),
  helper('skb_change_head', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('xdp_adjust_head', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }, xdpAdjustHead),
  helper('get_socket_uid', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('set_hash', { ret: 'integer', args: ['ptr_to_ctx', 'anything'] }),
  helper('skb_adjust_room', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything'], changesPktData: true }),
  helper(
    'redirect_map',
    {
      ret: 'integer',
      args: ['const_map_ptr', 'anything', 'anything'],
      mapTypes: ['devmap', 'devmap_hash', 'cpumap', 'xskmap'],
    },
    redirectMap,
  ),
  helper('xdp_adjust_meta', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }, xdpAdjustMeta),
  helper('xdp_adjust_tail', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }, xdpAdjustTail),
  helper('fib_lookup', { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_mem', 'const_size', 'anything'] }),
  helper('skb_ecn_set_ce', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('check_mtu', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_int', 'anything', 'anything'] }),
  helper('xdp_get_buff_len', { ret: 'integer', args: ['ptr_to_ctx'] }, xdpGetBuffLen),
  helper('xdp_load_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'] }, xdpCopyBytes(false)),
  helper('xdp_store_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size'] }, xdpCopyBytes(true)),
];
