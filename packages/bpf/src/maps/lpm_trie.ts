/**
 * BPF_MAP_TYPE_LPM_TRIE, as Linux 6.18's kernel/bpf/lpm_trie.c: a path-compressed binary trie of prefixes.
 *
 * A key is `struct bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[] }` (prefixlen in host order, data compared
 * most significant bit first, as extract_bit reads it). A lookup finds the longest stored prefix that matches
 * the first `prefixlen` bits of the key; update and delete work on exact prefixes. Intermediate nodes
 * (LPM_TREE_NODE_FLAG_IM) hold no value and always have two children.
 *
 * Every node, leaf or intermediate, is one slot of the same size in kernel memory, charged to the map's owner
 * (Linux takes both from one bpf_mem_alloc): words child[0], child[1] (physical addresses, 0 for none),
 * prefixlen, flags, then the key's data, then the value at the next 8-byte boundary. Slots are taken from the
 * kernel in chunks of about 64 KiB as the trie grows and go back to the map's free list when removed, to the
 * kernel when the map is freed. A replaced node keeps its slot (Linux swaps in a fresh node under RCU).
 *
 * Update flags follow Linux 6.13 and later (trie_check_add_elem): BPF_NOEXIST on a present prefix is EEXIST,
 * BPF_EXIST on an absent one ENOENT, a new prefix in a full trie ENOSPC (not E2BIG). get_next_key walks the
 * trie in post-order, more specific prefixes before less specific ones.
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import {
  BPF_F_ACCESS_MASK,
  BpfMap,
  KMALLOC_MAX_SIZE,
  MAP_AREA_MAX,
  defineMapOps,
  mapFlagsAccessOk,
  round8,
  type MapAttr,
  type MapEnv,
  type MapOps,
} from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** LPM_DATA_SIZE_MIN / LPM_DATA_SIZE_MAX: bytes of a key's data. */
const LPM_DATA_SIZE_MIN = 1;
const LPM_DATA_SIZE_MAX = 256;
/** offsetof(struct bpf_lpm_trie_key_u8, data): the u32 prefixlen. */
const LPM_KEY_DATA_OFF = 4;
/** sizeof(struct lpm_trie_node) on x86_64 in 6.x with bpf_mem_alloc: child[2], prefixlen, flags. */
const LPM_TRIE_NODE_SIZE = 24;
/** LPM_VAL_SIZE_MAX: a node (header, data, value) must fit in one kmalloc; 4194024, as Linux 6.18 answers BPF_MAP_CREATE. */
export const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - LPM_TRIE_NODE_SIZE;
/** LPM_CREATE_FLAG_MASK. */
const LPM_CREATE_FLAG_MASK = BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.NUMA_NODE | BPF_F_ACCESS_MASK;
/** LPM_TREE_NODE_FLAG_IM: an intermediate node, without a value. */
const LPM_TREE_NODE_FLAG_IM = 1;

/** Node header words (u32 index from address / 4) and the data's byte offset. */
const N_CHILD0 = 0;
const N_PREFIXLEN = 2;
const N_FLAGS = 3;
const NODE_DATA_OFF = 16;
/** Bytes of nodes a trie takes from the kernel at a time. */
const CHUNK_BYTES = 64 << 10;

/**
 * The checks at the top of trie_alloc (the type has no map_alloc_check; nothing observable happens before
 * them in Linux either).
 */
function trieAllocCheck(attr: MapAttr): number {
  const dataSize = attr.keySize - LPM_KEY_DATA_OFF;
  if (
    attr.maxEntries === 0 ||
    (attr.mapFlags & BPF_MAP_F.NO_PREALLOC) === 0 ||
    (attr.mapFlags & ~LPM_CREATE_FLAG_MASK) !== 0 ||
    !mapFlagsAccessOk(attr.mapFlags) ||
    dataSize < LPM_DATA_SIZE_MIN ||
    dataSize > LPM_DATA_SIZE_MAX ||
    attr.valueSize < 1 ||
    attr.valueSize > LPM_VAL_SIZE_MAX
  )
    return -Errno.EINVAL;
  return 0;
}

/** An LPM trie: struct lpm_trie with its root, n_entries, data_size and max_prefixlen. */
export class LpmTrie extends BpfMap {
  private readonly u32: Uint32Array;
  /** Bytes of a key's data, and max_prefixlen = data_size × 8. */
  private readonly dataSize: number;
  private readonly maxPrefixlen: number;
  /** The value's offset in a node, and a node's size. */
  private readonly valueOff: number;
  private readonly nodeSize: number;
  private readonly chunkNodes: number;
  private readonly chunks: number[] = [];
  private freeHead = 0;
  private root = 0;
  private count = 0;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.u32 = new Uint32Array(env.phys.memory.buffer);
    this.dataSize = attr.keySize - LPM_KEY_DATA_OFF;
    this.maxPrefixlen = this.dataSize * 8;
    this.valueOff = round8(NODE_DATA_OFF + this.dataSize);
    this.nodeSize = this.valueOff + round8(attr.valueSize);
    // A trie of n prefixes has at most n - 1 intermediate nodes.
    this.chunkNodes = Math.min(2 * attr.maxEntries, Math.max(1, Math.floor(CHUNK_BYTES / this.nodeSize)));
  }

  /** n_entries: prefixes in the trie (intermediate nodes not counted). */
  get size(): number {
    return this.count;
  }

  /** trie_lookup_elem: the value of the longest prefix matching the key, or 0. Allocates nothing. */
  lookup(keyAddr: number): number {
    const node = this.longestMatch(this.bytes, keyAddr);
    return node === 0 ? 0 : node + this.valueOff;
  }

  /** trie_update_elem. */
  protected updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    const prefixlen = readPrefixlen(keySrc, keyOff);
    if (prefixlen > this.maxPrefixlen) return -Errno.EINVAL;
    const u32 = this.u32;
    const dataOff = keyOff + LPM_KEY_DATA_OFF;
    // Walk from the root, matching as many bits as possible, to an empty slot or a node to replace or split.
    let slot = -1; // -1: the root; else the u32 index of a child word
    let node = this.root;
    let matchlen = 0;
    while (node !== 0) {
      const nodeLen = u32[(node >>> 2) + N_PREFIXLEN]!;
      matchlen = this.matchLength(node, keySrc, dataOff, prefixlen);
      if (nodeLen !== matchlen || nodeLen === prefixlen) break;
      slot = (node >>> 2) + N_CHILD0 + extractBit(keySrc, dataOff, nodeLen);
      node = u32[slot]!;
    }
    if (node === 0) {
      const fresh = this.newLeaf(keySrc, dataOff, prefixlen, valSrc, valOff, flags);
      if (fresh < 0) return fresh;
      this.setSlot(slot, fresh);
      return 0;
    }
    const nodeLen = u32[(node >>> 2) + N_PREFIXLEN]!;
    if (nodeLen === matchlen) {
      // The exact prefix: replace its value, or give an intermediate node one.
      if ((u32[(node >>> 2) + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) === 0) {
        if (flags === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
      } else {
        const added = this.checkAddElem(flags);
        if (added !== 0) return added;
        u32[(node >>> 2) + N_FLAGS] = 0;
        this.bytes.fill(0, node + this.valueOff, node + this.nodeSize);
      }
      this.copyRange(node + NODE_DATA_OFF, keySrc, dataOff, this.dataSize);
      this.copyIn(node + this.valueOff, valSrc, valOff, this.valueSize);
      return 0;
    }
    const fresh = this.newLeaf(keySrc, dataOff, prefixlen, valSrc, valOff, flags);
    if (fresh < 0) return fresh;
    if (matchlen === prefixlen) {
      // The new prefix covers the node: insert it as the node's parent.
      u32[(fresh >>> 2) + N_CHILD0 + extractBit(this.bytes, node + NODE_DATA_OFF, matchlen)] = node;
      this.setSlot(slot, fresh);
      return 0;
    }
    const im = this.takeNode();
    if (im < 0) {
      this.release(fresh);
      this.count--;
      return im;
    }
    const w = im >>> 2;
    u32[w + N_PREFIXLEN] = matchlen;
    u32[w + N_FLAGS] = LPM_TREE_NODE_FLAG_IM;
    this.bytes.copyWithin(im + NODE_DATA_OFF, node + NODE_DATA_OFF, node + NODE_DATA_OFF + this.dataSize);
    this.bytes.fill(0, im + this.valueOff, im + this.nodeSize);
    const bit = extractBit(keySrc, dataOff, matchlen);
    u32[w + N_CHILD0 + bit] = fresh;
    u32[w + N_CHILD0 + 1 - bit] = node;
    this.setSlot(slot, im);
    return 0;
  }

  /** trie_delete_elem: the exact prefix, or ENOENT; intermediate nodes left with one child are removed too. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const prefixlen = readPrefixlen(keySrc, keyOff);
    if (prefixlen > this.maxPrefixlen) return -Errno.EINVAL;
    const u32 = this.u32;
    const dataOff = keyOff + LPM_KEY_DATA_OFF;
    let trim = -1;
    let trim2 = -1;
    let parent = 0;
    let node = this.root;
    let matchlen = 0;
    while (node !== 0) {
      const nodeLen = u32[(node >>> 2) + N_PREFIXLEN]!;
      matchlen = this.matchLength(node, keySrc, dataOff, prefixlen);
      if (nodeLen !== matchlen || nodeLen === prefixlen) break;
      parent = node;
      trim2 = trim;
      trim = (node >>> 2) + N_CHILD0 + extractBit(keySrc, dataOff, nodeLen);
      node = u32[trim]!;
    }
    if (node === 0) return -Errno.ENOENT;
    const w = node >>> 2;
    const nodeLen = u32[w + N_PREFIXLEN]!;
    if (nodeLen !== prefixlen || nodeLen !== matchlen || (u32[w + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) !== 0) return -Errno.ENOENT;
    this.count--;
    const child0 = u32[w + N_CHILD0]!;
    const child1 = u32[w + N_CHILD0 + 1]!;
    // Two children: the node stays as an intermediate one.
    if (child0 !== 0 && child1 !== 0) {
      u32[w + N_FLAGS] = LPM_TREE_NODE_FLAG_IM;
      return 0;
    }
    // A leaf under an intermediate parent: the parent goes too, its other child takes its place.
    if (parent !== 0 && (u32[(parent >>> 2) + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) !== 0 && child0 === 0 && child1 === 0) {
      const p = parent >>> 2;
      this.setSlot(trim2, u32[p + N_CHILD0] === node ? u32[p + N_CHILD0 + 1]! : u32[p + N_CHILD0]!);
      this.release(parent);
      this.release(node);
      return 0;
    }
    this.setSlot(trim, child0 !== 0 ? child0 : child1);
    this.release(node);
    return 0;
  }

  /** bpf_map_copy_value: MAP_LOOKUP_ELEM is the same longest-prefix lookup. */
  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const node = this.longestMatch(key, 0);
    if (node === 0) return -Errno.ENOENT;
    this.copyToUser(out, 0, node + this.valueOff, this.valueSize);
    return 0;
  }

  /**
   * trie_get_next_key: post-order. The prefix after an exact key's node is the leftmost leaf-most prefix of
   * the next right subtree up its path, else its nearest non-intermediate ancestor; a null, absent or
   * oversized key starts at the leftmost one.
   */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    const u32 = this.u32;
    if (this.root === 0) return -Errno.ENOENT;
    let searchRoot = this.root;
    const prefixlen = key === null ? 0 : readPrefixlen(key, 0);
    if (key !== null && prefixlen <= this.maxPrefixlen) {
      const stack: number[] = [];
      let node = this.root;
      let matchlen = 0;
      while (node !== 0) {
        stack.push(node);
        const nodeLen = u32[(node >>> 2) + N_PREFIXLEN]!;
        matchlen = this.matchLength(node, key, LPM_KEY_DATA_OFF, prefixlen);
        if (nodeLen !== matchlen || nodeLen === prefixlen) break;
        node = u32[(node >>> 2) + N_CHILD0 + extractBit(key, LPM_KEY_DATA_OFF, nodeLen)]!;
      }
      if (node !== 0 && u32[(node >>> 2) + N_PREFIXLEN] === matchlen && (u32[(node >>> 2) + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) === 0) {
        let found = 0;
        for (let at = stack.length - 1; at > 0 && found === 0; at--) {
          const child = stack[at]!;
          const p = stack[at - 1]! >>> 2;
          if (u32[p + N_CHILD0] === child && u32[p + N_CHILD0 + 1] !== 0) {
            searchRoot = u32[p + N_CHILD0 + 1]!;
            found = -1;
          } else if ((u32[p + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) === 0) found = stack[at - 1]!;
        }
        if (found === 0) return -Errno.ENOENT;
        if (found > 0) return this.copyKey(found, next);
      }
    }
    return this.copyKey(this.leftmost(searchRoot), next);
  }

  /** trie_mem_usage: the entries (not the intermediate nodes), each a node with its prefix data and value. */
  memUsage(): number {
    return (K.lpm_trie_node + this.dataSize + this.valueSize) * this.count;
  }

  free(): void {
    for (const chunk of this.chunks) this.mem.kfree(chunk);
    this.chunks.length = 0;
    this.freeHead = 0;
    this.root = 0;
    this.count = 0;
  }

  /** The first prefix in post-order under `node`: follow child[0] (else child[1]) from the last non-intermediate node seen. */
  private leftmost(from: number): number {
    const u32 = this.u32;
    let found = 0;
    let node = from;
    while (node !== 0) {
      const w = node >>> 2;
      if ((u32[w + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) !== 0) node = u32[w + N_CHILD0]!;
      else {
        found = node;
        node = u32[w + N_CHILD0] !== 0 ? u32[w + N_CHILD0]! : u32[w + N_CHILD0 + 1]!;
      }
    }
    return found;
  }

  private copyKey(node: number, next: Uint8Array): number {
    const prefixlen = this.u32[(node >>> 2) + N_PREFIXLEN]!;
    next[0] = prefixlen & 0xff;
    next[1] = (prefixlen >>> 8) & 0xff;
    next[2] = (prefixlen >>> 16) & 0xff;
    next[3] = prefixlen >>> 24;
    next.set(this.bytes.subarray(node + NODE_DATA_OFF, node + NODE_DATA_OFF + this.dataSize), LPM_KEY_DATA_OFF);
    return 0;
  }

  /** trie_lookup_elem's walk: the node of the longest matching prefix, or 0. */
  private longestMatch(src: Uint8Array, keyOff: number): number {
    const prefixlen = readPrefixlen(src, keyOff);
    if (prefixlen > this.maxPrefixlen) return 0;
    const u32 = this.u32;
    const dataOff = keyOff + LPM_KEY_DATA_OFF;
    let found = 0;
    let node = this.root;
    while (node !== 0) {
      const w = node >>> 2;
      const matchlen = this.matchLength(node, src, dataOff, prefixlen);
      if (matchlen === this.maxPrefixlen) return node;
      const nodeLen = u32[w + N_PREFIXLEN]!;
      if (matchlen < nodeLen) break;
      if ((u32[w + N_FLAGS]! & LPM_TREE_NODE_FLAG_IM) === 0) found = node;
      node = u32[w + N_CHILD0 + extractBit(src, dataOff, nodeLen)]!;
    }
    return found;
  }

  /** longest_prefix_match: leading bits the node's data and the key's share, at most min(node prefixlen, key prefixlen). */
  private matchLength(node: number, src: Uint8Array, dataOff: number, prefixlen: number): number {
    const nodeLen = this.u32[(node >>> 2) + N_PREFIXLEN]!;
    const limit = nodeLen < prefixlen ? nodeLen : prefixlen;
    const bytes = this.bytes;
    const data = node + NODE_DATA_OFF;
    for (let i = 0; i * 8 < limit; i++) {
      const diff = bytes[data + i]! ^ src[dataOff + i]!;
      if (diff !== 0) {
        const matched = i * 8 + Math.clz32(diff) - 24;
        return matched < limit ? matched : limit;
      }
    }
    return limit;
  }

  /** trie_check_add_elem: a new prefix is ENOENT under BPF_EXIST and ENOSPC when the trie is full; else counted. */
  private checkAddElem(flags: number): number {
    if (flags === BPF_UPDATE.EXIST) return -Errno.ENOENT;
    if (this.count === this.maxEntries) return -Errno.ENOSPC;
    this.count++;
    return 0;
  }

  /** A counted leaf node with the key and value (lpm_trie_node_alloc), or -errno. */
  private newLeaf(keySrc: Uint8Array, dataOff: number, prefixlen: number, valSrc: Uint8Array, valOff: number, flags: number): number {
    const added = this.checkAddElem(flags);
    if (added !== 0) return added;
    const node = this.takeNode();
    if (node < 0) {
      this.count--;
      return node;
    }
    const w = node >>> 2;
    this.u32[w + N_CHILD0] = 0;
    this.u32[w + N_CHILD0 + 1] = 0;
    this.u32[w + N_PREFIXLEN] = prefixlen;
    this.u32[w + N_FLAGS] = 0;
    this.copyRange(node + NODE_DATA_OFF, keySrc, dataOff, this.dataSize);
    // A new value starts zeroed (its padding).
    this.bytes.fill(0, node + this.valueOff, node + this.nodeSize);
    this.copyIn(node + this.valueOff, valSrc, valOff, this.valueSize);
    return node;
  }

  private setSlot(slot: number, node: number): void {
    if (slot < 0) this.root = node;
    else this.u32[slot] = node;
  }

  /** A free node slot, taking a chunk from the kernel when there is none: the address, or -ENOMEM. */
  private takeNode(): number {
    if (this.freeHead === 0) {
      const size = this.chunkNodes * this.nodeSize;
      const chunk = size >= MAP_AREA_MAX ? -1 : this.mem.kmalloc(size, this.owner);
      if (chunk < 0) return -Errno.ENOMEM;
      this.chunks.push(chunk);
      for (let i = this.chunkNodes - 1; i >= 0; i--) this.release(chunk + i * this.nodeSize);
    }
    const node = this.freeHead;
    this.freeHead = this.u32[(node >>> 2) + N_CHILD0]!;
    return node;
  }

  private release(node: number): void {
    this.u32[(node >>> 2) + N_CHILD0] = this.freeHead;
    this.freeHead = node;
  }
}

/** The key's prefixlen: a host-order (little-endian) u32. */
function readPrefixlen(src: Uint8Array, off: number): number {
  return (src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16) | (src[off + 3]! << 24)) >>> 0;
}

/** extract_bit: bit `index` of the data, most significant bit of each byte first. */
function extractBit(src: Uint8Array, dataOff: number, index: number): number {
  return (src[dataOff + (index >>> 3)]! >>> (7 - (index & 7))) & 1;
}

/** trie_alloc: nothing is taken until the first prefix (BPF_F_NO_PREALLOC is required). */
function trieAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  return new LpmTrie(ops, attr, env, owner);
}

export const LPM_TRIE_OPS = defineMapOps(BPF_MAP_TYPE.LPM_TRIE, 'lpm_trie', false, trieAllocCheck, trieAlloc);
