/**
 * BTF objects behind bpf() (kernel/bpf/btf.c: btf_new_fd, btf_get_by_fd, btf_get_info_by_fd, btf_idr): a blob
 * validated by @ebpf-sim/btf's parseBtf and kept in kernel memory, as an `anon_inode:btf` fd with a reference
 * count and an id. Maps created with BTF hold a reference (MAP_CREATE's btf_fd) until they are freed.
 */
import { BTF_MAX_SIZE, BtfError, BtfKind, parseBtf, type Btf, type BtfVarSecinfo } from '@ebpf-sim/btf';
import { hasCapability, type File, type FileOperations, type KernelServices, type Task, type UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_BTF_INFO, BPF_MAP_TYPE, CAP, Errno, O } from '@ebpf-sim/uapi';
import { ENOTSUPP } from '../maps/map.js';
import { CyclicIdr } from './idr.js';
import { checkLogAttr, finalizeLog } from './verifier-log.js';

/** A loaded BTF object: the parsed blob, whose bytes live at `address` in kernel memory, and its references (fds, maps). */
export interface BtfObject {
  readonly btf: Btf;
  readonly address: number;
  readonly size: number;
  id: number;
  refs: number;
  /** The kernel's own BTF (btf->kernel_btf): its name, `vmlinux`. Undefined for BTF user space loaded. */
  readonly kernelName?: string;
}

/** What the BTF commands read of the syscall in progress. */
export interface BtfAttrAccess {
  u32(offset: number): number;
  u64(offset: number): number;
  putU32(mm: UserCopy, address: number, value: number): number;
  readonly attrSize: number;
  /** bpf_check_uarg_tail_zero on OBJ_GET_INFO_BY_FD's user struct: the length to copy, or -E2BIG / -EFAULT. */
  infoLen(mm: UserCopy, uinfo: number, infoLen: number, size: number): number;
}

export type BtfServices = Pick<KernelServices, 'fds' | 'phys'>;

/** parseBtf's errno names as numbers (ENOTSUPP, 524: what btf_parse answers for an unknown version, flags or INT encoding). */
const ERRNO_OF: Record<BtfError['errno'], number> = { EINVAL: Errno.EINVAL, E2BIG: Errno.E2BIG, EEXIST: Errno.EEXIST, ENOTSUPP };
const L = BPF_ATTR_LAYOUTS;

/** The map as map_check_btf sees it. */
export interface MapBtfShape {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

/** The name of the struct whose place in a map value btf_parse_fields records (BPF_SPIN_LOCK). */
const SPIN_LOCK_STRUCT = 'bpf_spin_lock';

/**
 * map_check_btf: the key and value type ids resolve to types of exactly key_size / value_size (-EINVAL
 * otherwise); a keyless BTF (key id 0) only for a single-element ARRAY whose value is a DATASEC (.data, .bss,
 * .rodata: array_map_check_btf). Returns the offset of the value's `struct bpf_spin_lock` member (-1: none).
 */
export function mapCheckBtf(btf: Btf, keyTypeId: number, valueTypeId: number, map: MapBtfShape): number {
  const value = btf.skipModifiers(valueTypeId);
  if (value === undefined || btf.sizeOf(valueTypeId) !== map.valueSize) return -Errno.EINVAL;
  if (keyTypeId === 0) {
    if (map.mapType !== BPF_MAP_TYPE.ARRAY || map.maxEntries !== 1 || value.kind !== BtfKind.DATASEC) return -Errno.EINVAL;
  } else if (btf.sizeOf(keyTypeId) !== map.keySize) return -Errno.EINVAL;
  if (value.kind === BtfKind.DATASEC) return datasecSpinLock(btf, value.secinfo);
  if (value.kind !== BtfKind.STRUCT && value.kind !== BtfKind.UNION) return -1;
  for (const member of value.members) {
    const type = btf.skipModifiers(member.type);
    if (type?.kind === BtfKind.STRUCT && type.name === SPIN_LOCK_STRUCT) return member.bitOffset / 8;
  }
  return -1;
}

/**
 * btf_find_datasec_var for BPF_SPIN_LOCK: a global variable of type `struct bpf_spin_lock` in a .data/.bss section
 * is the map's lock, at the variable's offset (as Linux does: a lock in global data is usable by bpf_spin_lock,
 * recorded on Linux 6.18 by the verifier corpus's lock_global); a second one is -E2BIG (btf_find_field_one).
 */
function datasecSpinLock(btf: Btf, secinfo: readonly BtfVarSecinfo[]): number {
  let found = -1;
  for (const vsi of secinfo) {
    const variable = btf.types[vsi.type];
    if (variable?.kind !== BtfKind.VAR) continue;
    const type = btf.skipModifiers(variable.sizeOrType);
    if (type?.kind !== BtfKind.STRUCT || type.name !== SPIN_LOCK_STRUCT) continue;
    if (found >= 0) return -Errno.E2BIG;
    found = vsi.offset;
  }
  return found;
}

export class BtfSyscall {
  /** BTF ids (btf_idr). */
  readonly ids = new CyclicIdr<BtfObject>();
  /** btf_fops: an fd's last close drops its reference. */
  readonly fops: FileOperations;
  private readonly info = new Uint8Array(BPF_BTF_INFO.size);
  private readonly infoView = new DataView(this.info.buffer);

  constructor(
    private readonly k: BtfServices,
    private readonly a: BtfAttrAccess,
  ) {
    this.fops = {
      name: 'btf',
      release: (file: File) => this.put(file.privateData as BtfObject),
      // bpf_btf_show_fdinfo.
      showFdinfo: (file: File) => `btf_id:\t${(file.privateData as BtfObject).id}\n`,
    };
  }

  /** btf_put: the last reference frees the blob and the id. */
  put(object: BtfObject): void {
    if (--object.refs > 0) return;
    this.ids.remove(object.id);
    this.k.phys.kfree(object.address);
  }

  /** btf_get_by_fd: the BTF object behind `fd` with a reference taken, -EBADF for no file, -EINVAL for another kind. */
  get(task: Task, fd: number): BtfObject | number {
    const file = this.k.fds.fdget(task, fd);
    if (file === undefined) return -Errno.EBADF;
    if (file.ops !== this.fops) return -Errno.EINVAL;
    const object = file.privateData as BtfObject;
    object.refs++;
    return object;
  }

  /** __btf_new_fd: `anon_inode:btf`, read-only, close-on-exec, holding the caller's reference. */
  private newFd(task: Task, object: BtfObject): number {
    const fd = this.k.fds.installFd(task, 'btf', this.fops, object, O.RDONLY | O.CLOEXEC);
    if (fd < 0) this.put(object);
    return fd;
  }

  /** bpf_btf_load and btf_new_fd / btf_parse. */
  load(task: Task, mm: UserCopy, uattr: number): number {
    const B = L.BTF_LOAD;
    const a = this.a;
    // BPF_F_TOKEN_FD is the only flag; this kernel has no BPF tokens, so any flag (and any token fd) is EINVAL.
    if (a.u32(B.btf_flags.offset) !== 0 || a.u32(B.btf_token_fd.offset) !== 0) return -Errno.EINVAL;
    if (!hasCapability(task.group.cred, CAP.BPF) && !hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    const size = a.u32(B.btf_size.offset);
    if (size > BTF_MAX_SIZE) return -Errno.E2BIG;
    const logLevel = a.u32(B.btf_log_level.offset);
    const logSize = a.u32(B.btf_log_size.offset);
    const logBuf = a.u64(B.btf_log_buf.offset);
    const bad = checkLogAttr(logLevel, logSize, logBuf);
    if (bad !== 0) return bad;
    // The blob is kept where the kernel keeps it (kvmalloc), charged to bpf-btf.
    const address = this.k.phys.kmalloc(size, 'bpf-btf');
    if (address < 0) return -Errno.ENOMEM;
    const bytes = this.k.phys.bytes.subarray(address, address + size);
    if (!mm.copyFromUser(a.u64(B.btf.offset), bytes, 0, size)) {
      this.k.phys.kfree(address);
      return -Errno.EFAULT;
    }
    let btf: Btf | undefined;
    let err = 0;
    let logText: string;
    try {
      btf = parseBtf(bytes);
      logText = btf.log;
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
      err = -ERRNO_OF[e.errno];
      logText = e.log;
    }
    // finalize_log: the log goes back either way, and its -ENOSPC or -EFAULT overrides the parse's answer.
    const log = finalizeLog(logText, logLevel, logSize);
    let finalized = log.errno;
    if (log.bytes.length > 0 && !mm.copyToUser(logBuf, log.bytes, 0, log.bytes.length)) finalized = -Errno.EFAULT;
    const trueSizeEnd = B.btf_log_true_size.offset + 4;
    if (a.attrSize >= trueSizeEnd && a.putU32(mm, uattr + B.btf_log_true_size.offset, log.trueSize) !== 0) finalized = -Errno.EFAULT;
    if (finalized !== 0) err = finalized;
    if (err !== 0 || btf === undefined) {
      this.k.phys.kfree(address);
      return err;
    }
    const object: BtfObject = { btf, address, size, id: 0, refs: 1 };
    const id = this.ids.alloc(object);
    if (id < 0) {
      this.k.phys.kfree(address);
      return id;
    }
    object.id = id;
    return this.newFd(task, object);
  }

  /**
   * btf_vmlinux_init / btf_parse_vmlinux: the kernel's own BTF as a BTF object, allocated first, so id 1 as on
   * Linux; it holds its reference for the kernel's lifetime (GET_FD_BY_ID and bpftool `btf show` find it).
   */
  registerKernelBtf(name: string, btf: Btf, blob: Uint8Array): BtfObject | number {
    const address = this.k.phys.kmalloc(blob.length, 'btf-vmlinux');
    if (address < 0) return -Errno.ENOMEM;
    this.k.phys.bytes.set(blob, address);
    const object: BtfObject = { btf, address, size: blob.length, id: 0, refs: 1, kernelName: name };
    const id = this.ids.alloc(object);
    if (id < 0) {
      this.k.phys.kfree(address);
      return id;
    }
    object.id = id;
    return object;
  }

  /** bpf_btf_get_fd_by_id (open_flags may hold only BPF_F_TOKEN_FD, and this kernel has no tokens). */
  getFdById(task: Task): number {
    const B = L.BTF_GET_FD_BY_ID;
    if (this.a.u32(B.open_flags.offset) !== 0) return -Errno.EINVAL;
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    const object = this.ids.find(this.a.u32(B.id.offset));
    if (object === undefined) return -Errno.ENOENT;
    object.refs++;
    return this.newFd(task, object);
  }

  /**
   * btf_get_info_by_fd: the user's struct read in (min(info_len, sizeof)), the blob copied into info.btf up to
   * info.btf_size and the real size written back, the name and kernel_btf, info_len written back.
   */
  getInfo(mm: UserCopy, object: BtfObject, uinfo: number, rawInfoLen: number, infoLenAddress: number): number {
    const infoLen = this.a.infoLen(mm, uinfo, rawInfoLen, BPF_BTF_INFO.size);
    if (infoLen < 0) return infoLen;
    const info = this.info;
    const view = this.infoView;
    info.fill(0);
    if (!mm.copyFromUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    const ubtf = view.getUint32(BPF_BTF_INFO.btf, true) + view.getUint32(BPF_BTF_INFO.btf + 4, true) * 0x1_0000_0000;
    const copy = Math.min(object.size, view.getUint32(BPF_BTF_INFO.btf_size, true));
    if (!mm.copyToUser(ubtf, this.k.phys.bytes, object.address, copy)) return -Errno.EFAULT;
    view.setUint32(BPF_BTF_INFO.btf_size, object.size, true);
    view.setUint32(BPF_BTF_INFO.id, object.id, true);
    view.setUint32(BPF_BTF_INFO.kernel_btf, object.kernelName === undefined ? 0 : 1, true);
    const uname = view.getUint32(BPF_BTF_INFO.name, true) + view.getUint32(BPF_BTF_INFO.name + 4, true) * 0x1_0000_0000;
    const unameLen = view.getUint32(BPF_BTF_INFO.name_len, true);
    if ((uname === 0) !== (unameLen === 0)) return -Errno.EINVAL;
    // The name (`vmlinux` for the kernel's BTF, empty for a loaded one) with its NUL; a short buffer gets what fits, NUL-ended, and ENOSPC.
    const name = new TextEncoder().encode(`${object.kernelName ?? ''}\0`);
    view.setUint32(BPF_BTF_INFO.name_len, name.length - 1, true);
    let ret = 0;
    if (uname !== 0) {
      const fits = unameLen >= name.length;
      const out = fits ? name : Uint8Array.from([...name.subarray(0, unameLen - 1), 0]);
      if (!mm.copyToUser(uname, out, 0, out.length)) return -Errno.EFAULT;
      if (!fits) ret = -Errno.ENOSPC;
    }
    if (!mm.copyToUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    if (ret !== 0) return ret;
    return this.a.putU32(mm, infoLenAddress, infoLen);
  }
}
