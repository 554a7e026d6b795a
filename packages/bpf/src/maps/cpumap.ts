/**
 * BPF_MAP_TYPE_CPUMAP, as Linux's kernel/bpf/cpumap.c: CPUs that bpf_redirect_map sends XDP frames to. The key is
 * a CPU number; user space writes a `struct bpf_cpumap_val` of 4 bytes (the queue size) or 8 (the queue size and
 * the fd of an XDP program of expected attach type BPF_XDP_CPUMAP to run on the frames there) and reads back the
 * queue size and the program's id. A queue size of 0 empties the slot.
 *
 * Linux gives each entry a ptr_ring of `qsize` frames and a kthread bound to the CPU, which turns redirected
 * frames into skbs. Here an entry is its value (in kernel memory, where bpf_redirect_map's target points) and its
 * program: no frame is ever queued, since BPF_PROG_TEST_RUN does not redirect (live frames are not modelled).
 */
import { NR_CPUS } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_CPUMAP_VAL, BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { arrayGetNextKey } from './arraymap.js';
import { BpfMap, defineMapOps, ProgMapOwner, readU32, type FdProgram, type FdRef, type MapAttr, type MapEnv, type MapFdObjects, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** cpu_map_update_elem's sanity limit on a queue size (EOVERFLOW above it). */
export const CPUMAP_QSIZE_MAX = 16384;

function writeU32(dst: Uint8Array, off: number, value: number): void {
  for (let i = 0; i < 4; i++) dst[off + i] = (value >>> (8 * i)) & 0xff;
}

/** struct bpf_cpu_map_entry, as far as the map can tell: the CPU's program (with its reference). */
interface CpuEntry {
  prog: FdRef<FdProgram> | null;
}

export class CpuMap extends BpfMap {
  private readonly entries: Array<CpuEntry | undefined>;
  /** Each slot's struct bpf_cpumap_val (8 bytes), allocated at creation. */
  private readonly vals: number;
  private readonly owner_ = new ProgMapOwner();

  /** bpf_redirect_map's flags for a CPU map: only the action bits (cpu_map_redirect passes no others). */
  readonly redirectFlagMask = 0;

  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    vals: number,
    private readonly possibleCpus: number,
  ) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.vals = vals;
    this.entries = new Array<CpuEntry | undefined>(attr.maxEntries);
  }

  /** bpf_prog_map_compatible for the XDP_CPUMAP programs the entries hold, and for programs loaded using the map. */
  override progCompatible(prog: Pick<FdProgram, 'progType' | 'jited' | 'xdpHasFrags'>): boolean {
    return this.owner_.compatible(prog);
  }

  override progOwner(): { readonly progType: number; readonly jited: boolean } | undefined {
    return this.owner_.claimedBy;
  }

  /** __cpu_map_lookup_elem for bpf_redirect_map: the entry's value address, or 0 for an empty slot or a key past the end. */
  redirectLookup(index: number): number {
    return index < this.maxEntries && this.entries[index] !== undefined ? this.vals + index * BPF_CPUMAP_VAL.size : 0;
  }

  /** The XDP program of CPU `key`'s entry (run on frames redirected there), or null. */
  entryProgram(key: number): FdProgram | null {
    return key < this.maxEntries ? (this.entries[key]?.prog?.object ?? null) : null;
  }

  /** Programs cannot look CPU maps up (check_map_func_compatibility allows only bpf_redirect_map). */
  lookup(_keyAddr: number, _cpu: number): number {
    return 0;
  }

  /** cpu_map_lookup_elem from user space: the entry's bpf_cpumap_val (queue size, program id), ENOENT for none. */
  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const at = this.redirectLookup(readU32(key, 0));
    if (at === 0) return -Errno.ENOENT;
    out.set(this.bytes.subarray(at, at + this.valueSize));
    return 0;
  }

  /** Programs cannot update CPU maps, and user space goes through {@link updateWithFds} (the value may name a program fd). */
  protected updateElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  /**
   * cpu_map_update_elem: flags, the key, BPF_NOEXIST, the queue size (EOVERFLOW above 16384), a possible CPU
   * (ENODEV), then the entry. A program fd that is not an XDP program of expected attach type BPF_XDP_CPUMAP
   * compatible with the map makes __cpu_map_entry_alloc fail, which cpu_map_update_elem reports as ENOMEM.
   */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    const index = readU32(key, 0);
    const qsize = readU32(value, BPF_CPUMAP_VAL.qsize);
    const progFd = this.valueSize >= BPF_CPUMAP_VAL.size ? readU32(value, BPF_CPUMAP_VAL.bpf_prog) | 0 : 0;
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    if (index >= this.maxEntries) return -Errno.E2BIG;
    if (flags === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    if (qsize > CPUMAP_QSIZE_MAX) return -Errno.EOVERFLOW;
    if (index >= this.possibleCpus) return -Errno.ENODEV;
    let entry: CpuEntry | undefined;
    if (qsize !== 0) {
      let prog: FdRef<FdProgram> | null = null;
      if (progFd > 0) {
        const ref = fds.progFromFd(progFd);
        if (typeof ref === 'number') return -Errno.ENOMEM;
        const p = ref.object;
        if (p.progType !== BPF_PROG_TYPE.XDP || p.expectedAttachType !== BPF_ATTACH_TYPE.XDP_CPUMAP || !this.progCompatible(p)) {
          ref.put();
          return -Errno.ENOMEM;
        }
        prog = ref;
      }
      entry = { prog };
    }
    this.replace(index, entry);
    if (entry !== undefined) {
      const at = this.vals + index * BPF_CPUMAP_VAL.size;
      writeU32(this.bytes, at + BPF_CPUMAP_VAL.qsize, qsize);
      writeU32(this.bytes, at + BPF_CPUMAP_VAL.bpf_prog, entry.prog === null ? 0 : entry.prog.id);
    }
    return 0;
  }

  /** cpu_map_delete_elem: EINVAL past the end; an empty slot deletes fine. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const index = readU32(keySrc, keyOff);
    if (index >= this.maxEntries) return -Errno.EINVAL;
    this.replace(index, undefined);
    return 0;
  }

  /** cpu_map_get_next_key: array order. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  /** cpu_map_mem_usage: the struct and a pointer per slot (Linux does not count the entries). */
  memUsage(): number {
    return K.bpf_cpu_map + this.maxEntries * K.pointer;
  }

  free(): void {
    for (let i = 0; i < this.maxEntries; i++) this.replace(i, undefined);
    this.mem.kfree(this.vals);
  }

  /** __cpu_map_entry_replace: the old entry's program reference goes, and its value reads as empty. */
  private replace(index: number, entry: CpuEntry | undefined): void {
    const old = this.entries[index];
    this.entries[index] = entry;
    old?.prog?.put();
    if (entry === undefined) this.bytes.fill(0, this.vals + index * BPF_CPUMAP_VAL.size, this.vals + (index + 1) * BPF_CPUMAP_VAL.size);
  }
}

/**
 * cpu_map_alloc: key 4, value 4 (qsize) or 8 (qsize and program fd), only BPF_F_NUMA_NODE (EINVAL), at most
 * NR_CPUS entries (E2BIG). CPUMAP has no map_alloc_check: map_create's CAP_BPF check comes first.
 */
function cpuMapAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const valueOk = attr.valueSize === BPF_CPUMAP_VAL.bpf_prog || attr.valueSize === BPF_CPUMAP_VAL.size;
  if (attr.maxEntries === 0 || attr.keySize !== 4 || !valueOk || (attr.mapFlags & ~BPF_MAP_F.NUMA_NODE) !== 0) return -Errno.EINVAL;
  if (attr.maxEntries > NR_CPUS) return -Errno.E2BIG;
  const bytes = attr.maxEntries * BPF_CPUMAP_VAL.size;
  const vals = env.phys.kmalloc(bytes, owner);
  if (vals < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, vals, vals + bytes);
  return new CpuMap(ops, attr, env, owner, vals, env.nrCpus);
}

export const CPUMAP_OPS = defineMapOps(BPF_MAP_TYPE.CPUMAP, 'cpumap', false, () => 0, cpuMapAlloc);
