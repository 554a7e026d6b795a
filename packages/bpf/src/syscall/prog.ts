/**
 * Programs as kernel objects (kernel/bpf/syscall.c): BPF_PROG_LOAD (bpf_prog_load + bpf_check +
 * bpf_prog_select_runtime), program fds `anon_inode:bpf-prog` with reference counts and ids,
 * PROG_GET_NEXT_ID / PROG_GET_FD_BY_ID, OBJ_GET_INFO_BY_FD for a program (struct bpf_prog_info) and
 * ENABLE_STATS. The map side (fds, references) is the syscall's; this file reaches it through {@link MapAccess}.
 */
import { Class, JmpOp, Mode, PseudoLd, Size, encodeProgram, type RawInsn } from '@ebpf-sim/isa';
import type { File, FileOperations, KernelServices, SysctlEntry, Task, UserCopy } from '@ebpf-sim/kernel';
import { hasCapability } from '@ebpf-sim/kernel';
import {
  BPF_ATTACH_TYPE,
  BPF_ATTR_LAYOUTS,
  BPF_FUNC_INFO,
  BPF_LINE_INFO,
  BPF_LOG,
  BPF_OBJ_NAME_LEN,
  BPF_PROG_F,
  BPF_PROG_INFO,
  BPF_PROG_TYPE,
  BPF_STATS,
  CAP,
  Errno,
  O,
  PAGE_SIZE,
} from '@ebpf-sim/uapi';
import {
  CtxRewriteError,
  INSN_LIMIT,
  convertCtxAccesses,
  fixupDivisions,
  inlineLoops,
  insertNospec,
  removeDeadCode,
  sanitizeAluInsns,
  verify,
  type MapDesc,
  type ProgramTypeDesc,
  type SubprogLinkage,
  type VerifierRegistry,
  type VerifyOptions,
  type XlatedProgram,
} from '@ebpf-sim/verifier';
import { JitLimitError, jitCompiled, loadProgram, type Program } from '@ebpf-sim/vm';
import { HELPERS } from '../helpers/index.js';
import { licenseIsGplCompatible } from '../license.js';
import { PROGRAM_TYPES, resolveAttachType, type BpfProgramType } from '../prog-types/index.js';
import type { BpfRuntime, RunnableProgram } from '../runtime/runtime.js';
import type { TailCallTarget } from '../runtime/env.js';
import type { BpfMap } from '../maps/map.js';
import type { MapObject } from './objects.js';
import { bpfCapable, dumpRawOk, perfmonCapable, progLoadDenied } from './permissions.js';
import { calledHelpers, directValueAddress, dumpXlated, inlineMapLookups, isValueRef, mapRefKind, progTag, readInsns } from './prog-fixups.js';
import { CyclicIdr } from './idr.js';
import type { BtfObject } from './btf.js';
import { checkProgBtfInfo, progCtxName, verifierBtfViews, xlatedBtfInfo } from './prog-btf-info.js';
import { checkLogAttr, finalizeLog } from './verifier-log.js';
import { mapProgIncompatibility } from './map-prog-compat.js';
import type { KernelBtf } from '../vmlinux/btf-attach.js';
import { resolveKsyms } from '../vmlinux/ksym.js';
import { BPF_ITER_FUNC_PREFIX, ITER_TARGETS } from '../vmlinux/vmlinux-btf.js';
import { kfuncLookup } from '../kfuncs/index.js';
import { sleepableTargetRefusal, sleepableTypeRefusal } from './sleepable.js';
import { BTF_MAX_TYPE } from '@ebpf-sim/btf';
import { checkStructOpsBtfId, type StructOpsProgInfo } from '../struct-ops/prog.js';
import type { StructOpsTable } from '../struct-ops/registry.js';
import { SOCKET_LAYOUTS } from '../prog-types/sock-ptr.js';

/** The statistics line that closes a log when a refusal came before the check itself. */
const PROCESSED_NONE = `processed 0 insns (limit ${INSN_LIMIT}) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n`;

/** A loaded program: Linux's struct bpf_prog with its aux, as a runnable program and a PROG_ARRAY slot's target. */
export interface ProgObject extends RunnableProgram, TailCallTarget {
  readonly progType: number;
  readonly expectedAttachType: number;
  /** prog->aux->attach_btf_id: the vmlinux BTF type a TRACING or LSM program attaches to (0: none). */
  readonly attachBtfId: number;
  id: number;
  readonly name: string;
  readonly tag: Uint8Array;
  readonly gplCompatible: boolean;
  /** ktime_get_boottime_ns at load (the kernel's virtual clock). */
  readonly loadTime: number;
  readonly createdByUid: number;
  /** The xlated instructions as OBJ_GET_INFO_BY_FD dumps them (map references as map ids). */
  readonly xlated: Uint8Array;
  /** The JIT image's size in bytes (0 when the program runs interpreted). */
  readonly jitedLen: number;
  /**
   * The JIT image: the WebAssembly module the JIT made of the whole program, subprograms included (each is a
   * function of the module), or null when the program runs interpreted.
   */
  readonly jitedImage: Uint8Array | null;
  readonly verifiedInsns: number;
  /** prog->pages: the pages of struct bpf_prog with its instructions (fdinfo's memlock). */
  readonly pages: number;
  /** prog->aux->max_ctx_offset: the end of the furthest context byte the program accesses (raw_tp test runs). */
  readonly maxCtxOffset: number;
  /** BPF_F_XDP_HAS_FRAGS at load (aux->xdp_has_frags): maps holding programs take one kind only. */
  readonly xdpHasFrags: boolean;
  /** The maps the program uses (prog->aux->used_maps): each holds one reference while the program lives. */
  readonly usedMaps: readonly MapObject[];
  /** Kernel addresses of the program's callbacks (BPF_PSEUDO_FUNC targets), freed with the program. */
  readonly callbacks: readonly number[];
  /** prog->aux->btf: the BTF func_info / line_info refer to (held while the program lives). */
  readonly btf: BtfObject | undefined;
  /** prog->aux->func_info: struct bpf_func_info records, at the xlated program's sub-program starts. */
  readonly funcInfo: Uint8Array;
  /** prog->aux->linfo: struct bpf_line_info records, at xlated instruction offsets. */
  readonly lineInfo: Uint8Array;
  /** Open files and pins referring to the program (plus whatever else holds it: PROG_ARRAY slots, attachments). */
  refs: number;
  /** A STRUCT_OPS program's type and member (prog->aux->st_ops, attach_st_ops_member_off). */
  readonly structOps?: StructOpsProgInfo;
}

/** What the program commands use of the syscall: the attr block, the map fds and references, and put_user. */
export interface MapAccess {
  /** The attr block as copied in (BPF_ATTR_SIZE bytes, zero-extended). */
  readonly attr: Uint8Array;
  u32(offset: number): number;
  u64(offset: number): number;
  /** The open map file behind `fd` of `task`, -EBADF (no file) or -EINVAL (not a map). */
  mapFile(task: Task, fd: number): File | number;
  mapPut(object: MapObject): void;
  putU32(mm: UserCopy, address: number, value: number): number;
  /** Bytes of bpf_attr user space passed (before it was cut to what this kernel knows). */
  readonly attrSize: number;
  /** btf_get_by_fd (a reference taken) and btf_put: the program's BTF for func_info / line_info. */
  btfGet(task: Task, fd: number): BtfObject | number;
  btfPut(object: BtfObject): void;
}

export type ProgServices = Pick<KernelServices, 'fds' | 'clock' | 'phys'>;

/** The sysctls the program commands read (registered by the syscall). */
export interface ProgSysctls {
  readonly unprivBpfDisabled: SysctlEntry;
  readonly jitEnable: SysctlEntry;
}

/** The prog_flags BPF_PROG_LOAD accepts (6.x). */
const PROG_FLAGS_KNOWN =
  BPF_PROG_F.STRICT_ALIGNMENT |
  BPF_PROG_F.ANY_ALIGNMENT |
  BPF_PROG_F.TEST_STATE_FREQ |
  BPF_PROG_F.SLEEPABLE |
  BPF_PROG_F.TEST_RND_HI32 |
  BPF_PROG_F.XDP_HAS_FRAGS |
  BPF_PROG_F.XDP_DEV_BOUND_ONLY |
  BPF_PROG_F.TEST_REG_INVARIANTS |
  BPF_PROG_F.TOKEN_FD;

/** BPF_MAXINSNS: the most instructions an unprivileged loader may pass. */
const BPF_MAXINSNS = 4096;
/** sizeof(license) in bpf_prog_load: at most 127 characters are read. */
const LICENSE_MAX = 128;

/** The program types this kernel can load, by uapi number (find_prog_type). */
const PROG_TYPES_BY_ID: ReadonlyMap<number, BpfProgramType> = new Map([...PROGRAM_TYPES.values()].map((desc) => [desc.uapiId, desc]));

/**
 * bpf_prog_load_fixup_attach_type + bpf_prog_load_check_attach: the attach type the program keeps and the
 * descriptor to verify it as (undefined for a type this kernel lacks, refused later as find_prog_type does), or
 * undefined as a whole for an attach type the program type does not take.
 */
function checkAttach(progType: number, expectedAttachType: number): { readonly attachType: number; readonly desc: ProgramTypeDesc | undefined } | undefined {
  const type = PROG_TYPES_BY_ID.get(progType);
  return type === undefined ? { attachType: expectedAttachType, desc: undefined } : resolveAttachType(type, expectedAttachType);
}

/** check_attach_btf_id's refusal of a type that loads only as sleepable, loaded without BPF_F_SLEEPABLE. */
function sleepableRefusal(desc: BpfProgramType | undefined, progFlags: number): { readonly log: string; readonly program: number } | undefined {
  if (desc?.onlySleepable === undefined || (progFlags & BPF_PROG_F.SLEEPABLE) !== 0) return undefined;
  // The refusal skips the check itself, whose statistics line still closes the log.
  return {
    log: `${desc.onlySleepable}\nprocessed 0 insns (limit ${INSN_LIMIT}) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n`,
    program: -Errno.EINVAL,
  };
}

/** Program types that only load with BTF (attach_btf_id or a target program). */
const BTF_ONLY_PROG_TYPES: ReadonlySet<number> = new Set([BPF_PROG_TYPE.TRACING, BPF_PROG_TYPE.STRUCT_OPS, BPF_PROG_TYPE.EXT, BPF_PROG_TYPE.LSM]);
/**
 * The ones this kernel loads: attach_btf_id names a vmlinux FUNC or `btf_trace_` typedef (bpf_check_attach_target),
 * or a struct_ops type's ops struct (check_struct_ops_btf_id).
 */
const BTF_ATTACH_PROG_TYPES: ReadonlySet<number> = new Set([BPF_PROG_TYPE.TRACING, BPF_PROG_TYPE.LSM, BPF_PROG_TYPE.STRUCT_OPS]);

/** bpf_obj_name_cpy: a NUL within BPF_OBJ_NAME_LEN and only [A-Za-z0-9_.] before it; the name, or -EINVAL. */
function objName(bytes: Uint8Array): string | number {
  let name = '';
  for (let i = 0; i < BPF_OBJ_NAME_LEN; i++) {
    const c = bytes[i] ?? 0;
    if (c === 0) return name;
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46;
    if (!ok) return -Errno.EINVAL;
    name += String.fromCharCode(c);
  }
  return -Errno.EINVAL;
}

/** The verifier's log with BPF_LOG_STATS's lines (verification time, stack depth) before its last line, as print_verification_stats prints them. */
function withStats(log: string, timeUs: number, stackDepth: readonly number[]): string {
  const lines = log.split('\n');
  const last = lines.length >= 2 ? lines.length - 2 : 0;
  lines.splice(last, 0, `verification time ${timeUs} usec`, `stack depth ${stackDepth.length === 0 ? '0' : stackDepth.join('+')}`);
  return lines.join('\n');
}

export class ProgSyscall {
  /** Program ids (prog_idr). */
  readonly progs = new CyclicIdr<ProgObject>();
  /** bpf_prog_fops: a program fd's last close, or its last pin going, drops a reference. */
  readonly fops: FileOperations;
  /** bpf_stats_fops: ENABLE_STATS's fd keeps run accounting on while it is open. */
  readonly statsFops: FileOperations;
  private readonly info = new Uint8Array(BPF_PROG_INFO.size);
  private readonly infoView = new DataView(this.info.buffer);
  private readonly scratch = new Uint8Array(PAGE_SIZE);
  private readonly idBuf = new Uint8Array(4);
  /** btf_vmlinux: the kernel's BTF, once published (registerBpf); TRACING and LSM programs attach by its ids. */
  vmlinux: KernelBtf | undefined;
  /** The vmlinux BTF's object id (1 once registerBpf made it), what bpf_prog_info.attach_btf_obj_id says. */
  vmlinuxObjectId = 0;
  /** The struct_ops types found in the vmlinux BTF (bpf_struct_ops_init), once it is published. */
  structOps: StructOpsTable | undefined;

  constructor(
    private readonly k: ProgServices,
    private readonly sys: MapAccess,
    private readonly runtime: BpfRuntime,
    private readonly sysctls: ProgSysctls,
    /** bpf_stats_enabled_key: run accounting is on while it is non-zero (the sysctl and every stats fd add one). */
    private readonly statsKey: { enabled: number },
  ) {
    const put = (object: unknown): void => this.put(object as ProgObject);
    this.fops = {
      name: 'bpf-prog',
      release: (file: File) => put(file.privateData),
      unpin: put,
      showFdinfo: (file: File) => showProgFdinfo(file.privateData as ProgObject),
    };
    this.statsFops = {
      name: 'bpf-stats',
      release: () => {
        this.statsKey.enabled--;
      },
    };
  }

  /** bpf_prog_put: drop a reference; the last frees the program, its id and its maps' references. */
  put(prog: ProgObject): void {
    prog.refs--;
    if (prog.refs > 0) return;
    this.progs.remove(prog.id);
    for (const map of prog.usedMaps) this.sys.mapPut(map);
    for (const address of prog.callbacks) this.runtime.unplaceCallback(address);
    if (prog.btf !== undefined) this.sys.btfPut(prog.btf);
  }

  /**
   * check_btf_info_early + check_btf_info: without func_info and line_info, nothing (Linux ignores prog_btf_fd
   * and core_relo then). With them, the BTF behind prog_btf_fd (a reference, -EBADF / -EINVAL as btf_get_by_fd)
   * and the records checked; a refusal comes back as the log and errno the verifier would give.
   */
  private btfInfo(
    task: Task,
    mm: UserCopy,
    uattr: number,
    insnBytes: Uint8Array,
  ):
    | number
    | {
        btf?: BtfObject;
        linkage?: readonly SubprogLinkage[];
        refused?: { log: string; program: number };
        funcInfo?: Uint8Array;
        lineInfo?: Uint8Array;
      } {
    const P = BPF_ATTR_LAYOUTS.PROG_LOAD;
    const a = this.sys;
    const attr = {
      funcInfoRecSize: a.u32(P.func_info_rec_size.offset),
      funcInfo: a.u64(P.func_info.offset),
      funcInfoCnt: a.u32(P.func_info_cnt.offset),
      lineInfoRecSize: a.u32(P.line_info_rec_size.offset),
      lineInfo: a.u64(P.line_info.offset),
      lineInfoCnt: a.u32(P.line_info_cnt.offset),
    };
    if (attr.funcInfoCnt === 0 && attr.lineInfoCnt === 0) return {};
    const btf = a.btfGet(task, a.u32(P.prog_btf_fd.offset));
    if (typeof btf === 'number') return btf;
    // check_core_relo would apply the relocations in the kernel (bpf_core_apply); libbpf applies them itself and never
    // passes any, and this kernel does not model the in-kernel CO-RE path.
    if (a.u32(P.core_relo_cnt.offset) !== 0) return { btf, refused: { log: 'core_relo is not supported by this kernel\n', program: -Errno.EINVAL } };
    const checked = checkProgBtfInfo(btf.btf, insnBytes, attr, mm);
    if (checked.errno === 0)
      return { btf, funcInfo: checked.funcInfo, lineInfo: checked.lineInfo, ...(checked.linkage === undefined ? {} : { linkage: checked.linkage }) };
    // E2BIG: the record size the kernel knows goes back to user space, so the loader can retry with it.
    const back = checked.writeBack;
    if (back !== undefined && a.putU32(mm, uattr + P[back.field].offset, back.value) !== 0)
      return { btf, refused: { log: checked.log, program: -Errno.EFAULT } };
    return { btf, refused: { log: checked.log, program: checked.errno } };
  }

  /** bpf_prog_new_fd: a new `anon_inode:bpf-prog` fd holding one reference (taken by the caller). */
  newFd(task: Task, prog: ProgObject): number {
    const fd = this.k.fds.installFd(task, 'bpf-prog', this.fops, prog, O.RDWR | O.CLOEXEC);
    if (fd < 0) this.put(prog);
    return fd;
  }

  /** bpf_prog_get: the program behind `fd` of `task`, -EBADF for no file, -EINVAL for a file that is not a program. */
  progFromFd(task: Task, fd: number): ProgObject | number {
    const file = this.k.fds.fdget(task, fd);
    if (file === undefined) return -Errno.EBADF;
    if (file.ops !== this.fops) return -Errno.EINVAL;
    return file.privateData as ProgObject;
  }

  /** bpf_prog_load. */
  load(task: Task, mm: UserCopy, uattr: number): number {
    const P = BPF_ATTR_LAYOUTS.PROG_LOAD;
    const a = this.sys;
    const progType = a.u32(P.prog_type.offset);
    const progFlags = a.u32(P.prog_flags.offset);
    if ((progFlags & ~PROG_FLAGS_KNOWN) !== 0) return -Errno.EINVAL;
    // BPF tokens (delegated permissions in a user namespace) are not modelled: no fd is a token.
    if ((progFlags & BPF_PROG_F.TOKEN_FD) !== 0) return -Errno.EINVAL;
    const denied = progLoadDenied(task, progType, this.sysctls.unprivBpfDisabled.value);
    if (denied.early !== 0) return denied.early;
    const privileged = bpfCapable(task);
    const insnCnt = a.u32(P.insn_cnt.offset);
    if (insnCnt === 0 || insnCnt > (privileged ? INSN_LIMIT : BPF_MAXINSNS)) return -Errno.E2BIG;
    if (denied.late !== 0) return denied.late;
    // attach_prog_fd / attach_btf_obj_fd (one slot) name a target program (EXT, fentry on a program) or a module's
    // BTF: neither is modelled, no fd resolves. attach_btf_id alone means a type of the vmlinux BTF.
    if (a.u32(P.attach_prog_fd.offset) !== 0) return -Errno.EINVAL;
    const attachBtfId = a.u32(P.attach_btf_id.offset);
    // bpf_prog_load_check_attach: a BTF id only for the types that attach by one, and only with a vmlinux BTF.
    if (attachBtfId !== 0 && (attachBtfId > BTF_MAX_TYPE || this.vmlinux === undefined || !BTF_ATTACH_PROG_TYPES.has(progType))) return -Errno.EINVAL;
    // STRUCT_OPS and EXT programs (a struct_ops map's BTF, a target program) are not modelled.
    if (BTF_ONLY_PROG_TYPES.has(progType) && !BTF_ATTACH_PROG_TYPES.has(progType)) return -Errno.EINVAL;
    // bpf_prog_load_fixup_attach_type + bpf_prog_load_check_attach: the expected attach type the type takes.
    const attach = checkAttach(progType, a.u32(P.expected_attach_type.offset));
    if (attach === undefined) return -Errno.EINVAL;
    // prog_ifindex asks for a device-offloaded program; no simulated NIC offloads (bpf_prog_dev_bound_init: EINVAL).
    if (a.u32(P.prog_ifindex.offset) !== 0) return -Errno.EINVAL;
    const insnBytes = new Uint8Array(insnCnt * 8);
    if (!mm.copyFromUser(a.u64(P.insns.offset), insnBytes, 0, insnBytes.length)) return -Errno.EFAULT;
    const license = this.license(mm, a.u64(P.license.offset));
    if (typeof license === 'number') return license;
    const gplCompatible = licenseIsGplCompatible(license);
    const desc = attach.desc;
    if (desc === undefined) return -Errno.EINVAL;
    const name = objName(a.attr.subarray(P.prog_name.offset, P.prog_name.offset + BPF_OBJ_NAME_LEN));
    if (typeof name === 'number') return name;
    // bpf_check: the log attributes first.
    const logLevel = a.u32(P.log_level.offset);
    const logSize = a.u32(P.log_size.offset);
    const logBuf = a.u64(P.log_buf.offset);
    const bad = checkLogAttr(logLevel, logSize, logBuf);
    if (bad !== 0) return bad;

    // check_btf_info_early / check_btf_info: with func_info or line_info, prog_btf_fd must be a BTF object.
    const btfInfo = this.btfInfo(task, mm, uattr, insnBytes);
    if (typeof btfInfo === 'number') return btfInfo;
    const btf = btfInfo.btf;
    const held: MapObject[] = [];
    const callbacks: number[] = [];
    const release = (): void => {
      for (const address of callbacks) this.runtime.unplaceCallback(address);
      for (const object of held) a.mapPut(object);
      if (btf !== undefined) a.btfPut(btf);
    };
    const expectedAttachType = attach.attachType;
    // check_attach_btf_id: TRACING and LSM programs get their context from the attach target's BTF, STRUCT_OPS ones
    // from their member's prototype.
    const structOps =
      progType === BPF_PROG_TYPE.STRUCT_OPS
        ? checkStructOpsBtfId(this.structOps, desc, attachBtfId, expectedAttachType, {
            gpl: gplCompatible,
            sleepable: (progFlags & BPF_PROG_F.SLEEPABLE) !== 0,
          })
        : undefined;
    const attached =
      structOps !== undefined
        ? 'program' in structOps
          ? { log: `${structOps.log}${PROCESSED_NONE}`, program: structOps.program }
          : structOps.desc
        : BTF_ATTACH_PROG_TYPES.has(progType)
          ? this.attachTarget(desc, expectedAttachType, attachBtfId, gplCompatible)
          : desc;
    const result =
      btfInfo.refused ??
      sleepableRefusal(PROG_TYPES_BY_ID.get(progType), progFlags) ??
      sleepableTypeRefusal(progType, expectedAttachType, progFlags) ??
      sleepableTargetRefusal(this.vmlinux, progType, expectedAttachType, attachBtfId, progFlags) ??
      ('program' in attached
        ? attached
        : this.verifyAndFix(
            task,
            mm,
            insnBytes,
            attached,
            {
              privileged,
              // bpf_bypass_spec_v1/v4: CAP_PERFMON (or CAP_SYS_ADMIN) skips Spectre sanitising.
              bypassSpec: perfmonCapable(task),
              gpl: gplCompatible,
              sleepable: (progFlags & BPF_PROG_F.SLEEPABLE) !== 0,
              ...(btfInfo.linkage === undefined ? {} : { subprogLinkage: btfInfo.linkage }),
              // The subprograms' signatures and the source lines, as the verifier reads them (prog-btf-info.ts).
              ...(btf === undefined
                ? {}
                : verifierBtfViews(btf.btf, btfInfo.funcInfo ?? NO_RECORDS, btfInfo.lineInfo ?? NO_RECORDS, progCtxName(attached), this.vmlinux?.btf)),
            },
            logLevel,
            held,
            callbacks,
          ));
    // bpf_vlog_finalize: the log goes back whether or not the program loaded, and log_true_size with it.
    const log = finalizeLog(result.log, logLevel, logSize);
    if (log.bytes.length > 0 && !mm.copyToUser(logBuf, log.bytes, 0, log.bytes.length)) {
      release();
      return -Errno.EFAULT;
    }
    const trueSizeEnd = P.log_true_size.offset + 4;
    if (a.attrSize >= trueSizeEnd && a.putU32(mm, uattr + P.log_true_size.offset, log.trueSize) !== 0) {
      release();
      return -Errno.EFAULT;
    }
    const err = typeof result.program === 'number' ? result.program : log.errno;
    if (err !== 0) {
      release();
      return err;
    }
    const loaded = result as Loaded;
    // bpf_prog_select_runtime: the JIT unless net.core.bpf_jit_enable is 0; a program the JIT cannot take runs interpreted.
    let jitedImage: Uint8Array | null = null;
    let jited = this.sysctls.jitEnable.value !== 0;
    if (jited) {
      try {
        jitedImage = jitCompiled(loaded.program, 'checked').wasm;
      } catch (e) {
        if (!(e instanceof JitLimitError)) throw e;
        jited = false;
      }
    }
    // bpf_check_tail_call (bpf_prog_select_runtime): every map holding programs that this one uses must take it.
    for (const used of held) {
      if (!used.map.progCompatible({ progType, jited, xdpHasFrags: (progFlags & BPF_PROG_F.XDP_HAS_FRAGS) !== 0 })) {
        release();
        return -Errno.EINVAL;
      }
    }
    const prog: ProgObject = {
      program: loaded.program,
      progType,
      jited,
      runCnt: 0,
      runTimeNs: 0,
      expectedAttachType,
      attachBtfId,
      id: 0,
      name,
      tag: progTag(insnBytes),
      gplCompatible,
      loadTime: this.k.clock.now,
      createdByUid: task.group.cred.uid,
      xlated: loaded.xlated,
      jitedLen: jitedImage?.length ?? 0,
      jitedImage,
      verifiedInsns: loaded.verifiedInsns,
      pages: progPages(Math.max(insnCnt, loaded.xlated.length / 8)),
      maxCtxOffset: loaded.maxCtxOffset,
      xdpHasFrags: (progFlags & BPF_PROG_F.XDP_HAS_FRAGS) !== 0,
      usedMaps: held,
      callbacks,
      btf,
      ...(structOps === undefined || 'program' in structOps ? {} : { structOps: structOps.info }),
      ...xlatedBtfInfo(insnBytes, loaded.slotMap, btfInfo.funcInfo ?? NO_RECORDS, btfInfo.lineInfo ?? NO_RECORDS),
      refs: 1,
    };
    const id = this.progs.alloc(prog);
    if (id < 0) {
      release();
      return id;
    }
    prog.id = id;
    return this.newFd(task, prog);
  }

  /**
   * check_attach_btf_id for TRACING and LSM programs: bpf_check_attach_target against the vmlinux BTF (its log
   * lines and errno on a refusal), and the program type with its context typed by the target (btf_ctx_access).
   */
  private attachTarget(desc: ProgramTypeDesc, expectedAttachType: number, btfId: number, gpl: boolean): ProgramTypeDesc | { log: string; program: number } {
    const vmlinux = this.vmlinux;
    // bpf_check_attach_target with no BTF: the program gave no attach_btf_id.
    if (btfId === 0 || vmlinux === undefined) return { log: 'Tracing programs must provide btf_id\n', program: -Errno.EINVAL };
    const A = BPF_ATTACH_TYPE;
    const isLsm = desc.uapiId === BPF_PROG_TYPE.LSM;
    // TRACING: fentry, fexit, fmod_ret, tp_btf (BPF_TRACE_ITER's bpf_iter_ targets are not modelled); LSM: BPF_LSM_MAC
    // (BPF_LSM_CGROUP is not modelled). Linux leaves other attach types to fail at attach; this kernel refuses them here.
    if (!isLsm && expectedAttachType === A.TRACE_ITER) return this.iterTarget(vmlinux, desc, btfId, gpl);
    const known: readonly number[] = isLsm ? [A.LSM_MAC] : [A.TRACE_FENTRY, A.TRACE_FEXIT, A.MODIFY_RETURN, A.TRACE_RAW_TP];
    if (!known.includes(expectedAttachType)) return { log: '', program: -Errno.EINVAL };
    const target = vmlinux.checkAttachTarget(desc.uapiId, expectedAttachType, btfId, gpl);
    if ('errno' in target) return { log: target.log, program: target.errno };
    // prog_args_trusted: tp_btf's and the LSM hooks' pointer arguments are trusted; fentry/fexit's are not.
    const trusted = isLsm || expectedAttachType === A.TRACE_RAW_TP;
    return { ...desc, btfCtxAccess: (off, size) => vmlinux.ctxAccess(target, expectedAttachType, trusted, off, size) };
  }

  /**
   * check_attach_btf_id for BPF_TRACE_ITER: bpf_check_attach_target (a FUNC), then bpf_iter_prog_supported: the
   * function is `bpf_iter_<target>` of a registered target, whose ctx_arg_info types the context's argument slots
   * as trusted, maybe NULL BTF pointers (`trusted_ptr_or_null_task_struct`, recorded on Linux 6.18 by the verifier
   * corpus's tr_iter_task_nocheck); `meta` is read as btf_ctx_access types it (prog_args_trusted holds for
   * iterators). check_return_code's range for an iterator is [0, 1]. Loading is modelled; attaching (an iterator
   * link, reading it) is not.
   */
  private iterTarget(vmlinux: KernelBtf, desc: ProgramTypeDesc, btfId: number, gpl: boolean): ProgramTypeDesc | { log: string; program: number } {
    const A = BPF_ATTACH_TYPE;
    const target = vmlinux.checkAttachTarget(desc.uapiId, A.TRACE_ITER, btfId, gpl);
    if ('errno' in target) return { log: target.log, program: target.errno };
    const name = target.funcName.startsWith(BPF_ITER_FUNC_PREFIX) ? target.funcName.slice(BPF_ITER_FUNC_PREFIX.length) : undefined;
    const args = name === undefined ? undefined : ITER_TARGETS[name];
    if (args === undefined) return { log: '', program: -Errno.EINVAL };
    return {
      ...desc,
      retRange: { min: 0, max: 1 },
      btfCtxAccess: (off, size) => {
        const access = vmlinux.ctxAccess(target, A.TRACE_ITER, true, off, size);
        // ctx_arg_info: the slots after `meta` (PTR_TO_BTF_ID_OR_NULL | PTR_TRUSTED), without btf_ctx_access's log line.
        if (off >= 8 && off % 8 === 0 && off / 8 <= args.length && access.kind === 'ptr')
          return { kind: 'ptr', btfName: access.btfName, trusted: true, nullable: true };
        return access;
      },
    };
  }

  /** strncpy_from_bpfptr(license, attr->license, sizeof(license) - 1): a longer string is cut, a fault is EFAULT. */
  private license(mm: UserCopy, address: number): string | number {
    const text = mm.readCString(address, LICENSE_MAX - 1);
    if (typeof text === 'string') return text;
    if (text !== -Errno.ENAMETOOLONG) return -Errno.EFAULT;
    const bytes = new Uint8Array(LICENSE_MAX - 1);
    if (!mm.copyFromUser(address, bytes, 0, bytes.length)) return -Errno.EFAULT;
    return String.fromCharCode(...bytes);
  }

  /**
   * resolve_pseudo_ldimm64, the verifier with the real maps, and the fixups: the log text and the runnable
   * program, or the log text and -errno. Maps resolved are pushed to `held` with a reference each, the kernel
   * addresses given to the program's callbacks to `callbacks`.
   */
  private verifyAndFix(
    task: Task,
    mm: UserCopy,
    insnBytes: Uint8Array,
    desc: ProgramTypeDesc,
    checks: { readonly privileged: boolean; readonly bypassSpec: boolean; readonly gpl: boolean } & Pick<
      VerifyOptions,
      'subprogLinkage' | 'subprogBtf' | 'lineInfo' | 'sleepable'
    >,
    logLevel: number,
    held: MapObject[],
    callbacks: number[],
  ): Loaded | { readonly log: string; readonly program: number } {
    const { privileged } = checks;
    const P = BPF_ATTR_LAYOUTS.PROG_LOAD;
    // check_pseudo_btf_id: kernel symbols named by BTF id get their addresses and types (vmlinux/ksym.ts).
    const resolvedKsyms = resolveKsyms(insnBytes, this.vmlinux);
    if (!('ksyms' in resolvedKsyms)) return resolvedKsyms;
    insnBytes = resolvedKsyms.insns;
    const insns = readInsns(insnBytes);
    // resolve_pseudo_ldimm64: every map an LD imm64 names, by fd or by fd_array index, with a reference.
    const byRef = new Map<string, MapObject>();
    const fdArray = this.sys.u64(P.fd_array.offset);
    const idxBuf = new Uint8Array(4);
    for (const insn of insns) {
      if (insn.code !== 0x18) continue;
      const kind = mapRefKind(insn.src);
      if (kind === null) continue;
      const key = `${kind}:${insn.imm}`;
      let object = byRef.get(key);
      if (object === undefined) {
        let fd = insn.imm;
        if (kind === 'idx') {
          if (fdArray === 0) return { log: 'no fd_array for a map index\n', program: -Errno.EPROTO };
          if (!mm.copyFromUser(fdArray + 4 * (insn.imm >>> 0), idxBuf, 0, 4)) return { log: '', program: -Errno.EFAULT };
          fd = new DataView(idxBuf.buffer).getInt32(0, true);
        }
        const file = this.sys.mapFile(task, fd);
        if (typeof file === 'number') return { log: `fd ${fd} is not pointing to valid bpf_map\n`, program: file };
        object = file.privateData as MapObject;
        const incompatible = mapProgIncompatibility(desc.uapiId, object.map);
        if (incompatible !== undefined) return { log: `${incompatible}\n`, program: -Errno.EINVAL };
        if (!held.includes(object)) {
          object.refs++;
          held.push(object);
        }
        byRef.set(key, object);
      }
      if (isValueRef(insn.src)) {
        const address = directValueAddress(object.map, insn.imm2 ?? 0);
        if (address < 0) {
          const line =
            address === -Errno.EINVAL
              ? 'invalid access to map value pointer, value_size=' + String(object.map.valueSize) + ' off=' + String(insn.imm2 ?? 0)
              : '';
          return { log: line === '' ? '' : `${line}\n`, program: address };
        }
      }
    }
    // One description per map (however many references name it): a call's map is known by its identity.
    const descs = new Map<string, MapDesc>();
    const descOf = new Map<MapObject, MapDesc>();
    const mapOfDesc = new Map<MapDesc, BpfMap>();
    for (const [key, object] of byRef) {
      let mapDesc = descOf.get(object);
      if (mapDesc === undefined) {
        mapDesc = object.map.desc();
        descOf.set(object, mapDesc);
        mapOfDesc.set(mapDesc, object.map);
      }
      descs.set(key, mapDesc);
    }
    const registry: VerifierRegistry = {
      helper: (id) => HELPERS.get(id),
      map: (ref, how) => descs.get(`${how}:${ref}`),
      ksym: (insn) => resolvedKsyms.ksyms.get(insn),
      sockets: SOCKET_LAYOUTS,
      ...(this.vmlinux === undefined ? {} : { kernelBtf: this.vmlinux }),
      ...(this.vmlinux === undefined ? {} : { kfunc: kfuncLookup(this.vmlinux, desc.uapiId) }),
    };
    const verifierLevel = (logLevel & BPF_LOG.LEVEL2) !== 0 ? 2 : logLevel !== 0 ? 1 : 0;
    const result = verify(insnBytes, { progType: desc, registry, logLevel: verifierLevel, ...checks });
    let log = (logLevel & BPF_LOG.STATS) !== 0 ? withStats(result.log, result.stats.timeUs, result.stackDepth) : result.log;
    if (!result.accepted) return { log, program: -(result.error?.errno ?? Errno.EINVAL) };
    // Linux's rewrites: context accesses, then dead code (removed for a privileged loader, trapped for an
    // unprivileged one: a malformed instruction on a dead path goes with it), then the division guards.
    let live: XlatedProgram;
    try {
      live = removeDeadCode(convertCtxAccesses(insnBytes, result.facts, desc), result.facts, { privileged });
      // optimize_bpf_loop (Linux runs it before the dead-code passes; no dead call is ever fit to inline).
      live = inlineLoops(live, result.facts, result.stackDepth).program;
      // do_misc_fixups' map_gen_lookup, for a program the JIT will compile (prog->jit_requested: bpf_jit_enable).
      if (this.sysctls.jitEnable.value !== 0) live = inlineMapLookups(live, result.facts.callMaps, (mapDesc) => mapOfDesc.get(mapDesc));
    } catch (e) {
      // The verifier's facts disagree with the program: Linux reports such a state as a verifier bug (EFAULT).
      if (!(e instanceof CtxRewriteError)) throw e;
      return { log: `${log}verifier bug: ${e.message}\n`, program: -Errno.EFAULT };
    }
    // do_misc_fixups' helper binding: a helper this simulator has no implementation of cannot run. Like Linux it
    // runs after dead code is gone, so a call the verifier never reached (libbpf's poisoned CO-RE call) is not bound.
    for (const id of calledHelpers(live.insns)) {
      // bpf_tail_call is the VM's own (its tail-call hook asks the PROG_ARRAY), not an entry of the helper table.
      if (this.runtime.helpers.get(id) === undefined && HELPERS.get(id)?.tailCall !== true) {
        const proto = HELPERS.get(id);
        log += `helper call ${proto?.name ?? 'unknown'}#${id} is known to the verifier but not implemented by this kernel; the program cannot be loaded\n`;
        return { log, program: -Errno.EINVAL };
      }
    }
    // The program Linux runs and user space reads back (as Linux 6.18 prints it): do_misc_fixups' Spectre v1
    // masking of sanitised pointer arithmetic and its division guards, both with BPF_REG_AX (r11) as scratch, and
    // convert_ctx_accesses' speculation barriers (`nospec`). The VM runs exactly this program: r11 is its
    // kernel-internal register and `nospec` a no-op (vm kernel-insns.ts, LoadOptions.kernelInsns).
    const shown = insertNospec(fixupDivisions(sanitizeAluInsns(live, result.facts)), result.facts);
    const refOf = (insn: RawInsn): MapObject | undefined => {
      const kind = mapRefKind(insn.src);
      return kind === null ? undefined : byRef.get(`${kind}:${insn.imm}`);
    };
    // The program's callbacks (BPF_PSEUDO_FUNC targets): each gets a kernel address, what the LD imm64 holds at
    // run time (Linux: the JITed function's address), and a VM program that starts at it (callbackProgram).
    const funcAddress = new Map<number, number>();
    for (const target of pseudoFuncTargets(shown.insns)) {
      const address = this.runtime.placeCallback();
      if (address < 0) return { log, program: address };
      callbacks.push(address);
      funcAddress.set(target, address);
    }
    const load = (insns: readonly RawInsn[], shift: number): Program =>
      loadProgram(insns, {
        name: desc.name,
        // The accesses the verifier proved in bounds run without a region check on the JIT; the rest keep theirs.
        memoryInBounds: shown.memoryInBounds.map((slot) => slot + shift),
        // Loads through BTF pointers run as BPF_PROBE_MEM: a fault reads 0 (the dump still shows BPF_MEM, as
        // bpf_insn_prepare_dump turns them back).
        probeLoads: (shown.probeLoads ?? []).map((slot) => slot + shift),
        // Linux has no instruction budget and the verifier proved every path ends: the JIT tests the VM's budget
        // only at function entries, and loops run without taking it (vm's BudgetTests 'entry'). A program's
        // caller (a hook, a test run) reads only its return value, r0.
        budgetTests: 'entry',
        exitRegisters: 'r0',
        // The divisions whose divisor the verifier proved non-zero run without the JIT's zero test (Linux's
        // fixup leaves those without a guard too).
        divisorsNonZero: shown.divisionsWithoutZeroCheck.map((slot) => slot + shift),
        // r11 (BPF_REG_AX) and `nospec`, which only the kernel's own rewrites write (the verifier refused them above).
        kernelInsns: true,
        // Kernel functions map_gen_lookup calls (__htab_map_lookup_elem): direct WebAssembly calls from JIT code.
        wasmCalls: this.runtime.wasmCalls,
        resolveLdImm64: (insn) => {
          if (insn.src === PseudoLd.FUNC) {
            const address = funcAddress.get(insn.slot - shift + insn.imm + 1);
            return address === undefined ? undefined : BigInt(address);
          }
          // A kernel symbol's address, put in by resolveKsyms.
          if (insn.src === PseudoLd.BTF_ID) return BigInt.asUintN(64, (BigInt(insn.imm2 ?? 0) << 32n) | BigInt(insn.imm >>> 0));
          const object = refOf(insn);
          if (object === undefined) return undefined;
          return BigInt(isValueRef(insn.src) ? directValueAddress(object.map, insn.imm2 ?? 0) : object.map.address);
        },
      });
    let program: Program;
    try {
      program = load(shown.insns, 0);
      for (const [target, address] of funcAddress) this.runtime.bindCallback(address, load(callbackProgram(shown.insns, target), 1));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { log: `${log}${message}\n`, program: -Errno.EINVAL };
    }
    const dump = dumpXlated(shown.insns, (insn) => {
      const object = refOf(insn);
      return object === undefined ? undefined : { map: object.map, off: isValueRef(insn.src) ? (insn.imm2 ?? 0) : 0 };
    });
    return {
      log,
      program,
      xlated: encodeProgram(dump),
      slotMap: shown.slotMap,
      verifiedInsns: result.stats.processed,
      maxCtxOffset: result.facts.maxCtxOffset,
    };
  }

  /** bpf_prog_get_info_by_fd: fill struct bpf_prog_info, copy min(info_len, sizeof) back and write info_len. */
  getInfo(task: Task, mm: UserCopy, prog: ProgObject, uinfo: number, infoLenIn: number, infoLenAt: number): number {
    const I = BPF_PROG_INFO;
    let infoLen = infoLenIn;
    if (infoLen > I.size) {
      if (infoLen > PAGE_SIZE) return -Errno.E2BIG;
      const rest = infoLen - I.size;
      if (!mm.copyFromUser(uinfo + I.size, this.scratch, 0, rest)) return -Errno.EFAULT;
      for (let i = 0; i < rest; i++) if (this.scratch[i] !== 0) return -Errno.E2BIG;
      infoLen = I.size;
    }
    const info = this.info;
    const view = this.infoView;
    info.fill(0);
    // The user's struct is read first: its lengths and pointers say where the arrays go.
    if (!mm.copyFromUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    const u32 = (off: number): number => view.getUint32(off, true);
    const u64 = (off: number): number => view.getUint32(off, true) + view.getUint32(off + 4, true) * 0x1_0000_0000;
    const setU64 = (off: number, value: number): void => {
      view.setUint32(off, value >>> 0, true);
      view.setUint32(off + 4, Math.floor(value / 0x1_0000_0000), true);
    };
    const mapIdsLen = u32(I.nr_map_ids);
    const mapIdsAt = u64(I.map_ids);
    const xlatedLen = u32(I.xlated_prog_len);
    const xlatedAt = u64(I.xlated_prog_insns);
    const jitedRoom = u32(I.jited_prog_len);
    const jitedAt = u64(I.jited_prog_insns);
    const funcLensRoom = u32(I.nr_jited_func_lens);
    const funcLensAt = u64(I.jited_func_lens);
    const funcInfoRoom = u32(I.nr_func_info);
    const funcInfoAt = u64(I.func_info);
    const lineInfoRoom = u32(I.nr_line_info);
    const lineInfoAt = u64(I.line_info);
    // The record sizes user space names must be the kernel's (or 0 with no records asked for).
    const recSizeWrong = (nrField: number, sizeField: number, kernelSize: number): boolean =>
      (u32(nrField) !== 0 || u32(sizeField) !== 0) && u32(sizeField) !== kernelSize;
    if (
      recSizeWrong(I.nr_func_info, I.func_info_rec_size, BPF_FUNC_INFO.size) ||
      recSizeWrong(I.nr_line_info, I.line_info_rec_size, BPF_LINE_INFO.size) ||
      recSizeWrong(I.nr_jited_line_info, I.jited_line_info_rec_size, JITED_LINE_INFO_REC_SIZE)
    )
      return -Errno.EINVAL;
    info.fill(0);
    view.setUint32(I.type, prog.progType, true);
    view.setUint32(I.id, prog.id, true);
    info.set(prog.tag, I.tag);
    setU64(I.load_time, prog.loadTime);
    view.setUint32(I.created_by_uid, prog.createdByUid, true);
    for (let i = 0; i < prog.name.length; i++) info[I.name + i] = prog.name.charCodeAt(i);
    view.setUint32(I.gpl_compatible, prog.gplCompatible ? 1 : 0, true);
    setU64(I.run_time_ns, prog.runTimeNs);
    setU64(I.run_cnt, prog.runCnt);
    view.setUint32(I.verified_insns, prog.verifiedInsns, true);
    // The type a TRACING or LSM program attached to, and the BTF object holding it (vmlinux's).
    view.setUint32(I.attach_btf_id, prog.attachBtfId, true);
    if (prog.attachBtfId !== 0) view.setUint32(I.attach_btf_obj_id, this.vmlinuxObjectId, true);
    view.setUint32(I.nr_map_ids, prog.usedMaps.length, true);
    setU64(I.map_ids, mapIdsAt);
    const ids = Math.min(mapIdsLen, prog.usedMaps.length);
    for (let i = 0; i < ids; i++) {
      new DataView(this.idBuf.buffer).setUint32(0, prog.usedMaps[i]?.map.id ?? 0, true);
      if (!mm.copyToUser(mapIdsAt + 4 * i, this.idBuf, 0, 4)) return -Errno.EFAULT;
    }
    // Only bpf_capable() callers see the instructions and their sizes.
    if (bpfCapable(task)) {
      view.setUint32(I.xlated_prog_len, prog.xlated.length, true);
      setU64(I.xlated_prog_insns, xlatedAt);
      const copy = Math.min(xlatedLen, prog.xlated.length);
      if (copy > 0 && !mm.copyToUser(xlatedAt, prog.xlated, 0, copy)) return -Errno.EFAULT;
      view.setUint32(I.jited_prog_len, prog.jitedLen, true);
      // The image and the function lengths only for bpf_dump_raw_ok callers; Linux zeroes the pointers otherwise.
      const rawOk = dumpRawOk(task);
      const image = prog.jitedImage;
      if (image !== null && jitedRoom > 0 && rawOk) {
        setU64(I.jited_prog_insns, jitedAt);
        if (!mm.copyToUser(jitedAt, image, 0, Math.min(jitedRoom, image.length))) return -Errno.EFAULT;
      }
      // nr_jited_func_lens is func_cnt or 1: the module is one image (its subprograms are functions inside
      // it), so one length. nr_jited_ksyms stays 0: JIT images have no kernel address (no kallsyms entry).
      view.setUint32(I.nr_jited_func_lens, 1, true);
      if (funcLensRoom > 0 && rawOk) {
        setU64(I.jited_func_lens, funcLensAt);
        new DataView(this.idBuf.buffer).setUint32(0, prog.jitedLen, true);
        if (!mm.copyToUser(funcLensAt, this.idBuf, 0, 4)) return -Errno.EFAULT;
      }
      // The BTF, and the func_info / line_info records at their xlated offsets (bpftool's `; source` lines).
      // nr_jited_line_info stays 0: JIT images have no kernel addresses to give.
      if (prog.btf !== undefined) view.setUint32(I.btf_id, prog.btf.id, true);
      view.setUint32(I.func_info_rec_size, BPF_FUNC_INFO.size, true);
      view.setUint32(I.line_info_rec_size, BPF_LINE_INFO.size, true);
      view.setUint32(I.jited_line_info_rec_size, JITED_LINE_INFO_REC_SIZE, true);
      const records: ReadonlyArray<readonly [Uint8Array, number, number, number, number, number]> = [
        [prog.funcInfo, BPF_FUNC_INFO.size, funcInfoRoom, funcInfoAt, I.nr_func_info, I.func_info],
        [prog.lineInfo, BPF_LINE_INFO.size, lineInfoRoom, lineInfoAt, I.nr_line_info, I.line_info],
      ];
      for (const [kept, size, room, at, nrField, ptrField] of records) {
        view.setUint32(nrField, kept.length / size, true);
        setU64(ptrField, at);
        const bytes = Math.min(room, kept.length / size) * size;
        if (bytes > 0 && !mm.copyToUser(at, kept, 0, bytes)) return -Errno.EFAULT;
      }
    }
    if (!mm.copyToUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    return this.sys.putU32(mm, infoLenAt, infoLen);
  }

  /** bpf_prog_get_fd_by_id. */
  getFdById(task: Task): number {
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    const prog = this.progs.find(this.sys.u32(BPF_ATTR_LAYOUTS.PROG_GET_FD_BY_ID.id.offset));
    if (prog === undefined) return -Errno.ENOENT;
    prog.refs++;
    return this.newFd(task, prog);
  }

  /** bpf_enable_stats: BPF_STATS_RUN_TIME gives an fd that keeps run accounting on while it is open. */
  enableStats(task: Task): number {
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    if (this.sys.u32(BPF_ATTR_LAYOUTS.ENABLE_STATS.type.offset) !== BPF_STATS.RUN_TIME) return -Errno.EINVAL;
    const fd = this.k.fds.installFd(task, 'bpf-stats', this.statsFops, null, O.RDONLY | O.CLOEXEC);
    if (fd >= 0) this.statsKey.enabled++;
    return fd;
  }
}

const NO_RECORDS = new Uint8Array(0);
/** jited_line_info's record: one __u64 address per line_info record. */
const JITED_LINE_INFO_REC_SIZE = 8;

/** A program that verified and was fixed up. */
interface Loaded {
  readonly log: string;
  readonly program: Program;
  readonly xlated: Uint8Array;
  /** Each slot of the verified program (and one past its end) to its slot in `xlated`. */
  readonly slotMap: readonly number[];
  readonly verifiedInsns: number;
  readonly maxCtxOffset: number;
}

const OP_LD_IMM64 = Class.LD | Mode.IMM | Size.DW;

/** The first slots of the subprograms a BPF_PSEUDO_FUNC LD imm64 names (the program's callbacks). */
function pseudoFuncTargets(insns: readonly RawInsn[]): Set<number> {
  const targets = new Set<number>();
  let slot = 0;
  for (const insn of insns) {
    if (insn.code === OP_LD_IMM64 && insn.src === PseudoLd.FUNC) targets.add(slot + insn.imm + 1);
    slot += insn.code === OP_LD_IMM64 ? 2 : 1;
  }
  return targets;
}

/**
 * A callback as a VM program: the program's own instructions after one `goto` to the callback's first slot,
 * so a run starts in the callback's body (its frame the run's entry frame, as Linux calls the callback's
 * address) and the callback's exit ends the run. Every other slot is one further on than in the program.
 */
function callbackProgram(insns: readonly RawInsn[], target: number): RawInsn[] {
  return [{ code: Class.JMP | JmpOp.JA, dst: 0, src: 0, off: target, imm: 0 }, ...insns];
}

/** The program's tag as fdinfo and bpftool print it: 16 hex digits. */
export function progTagHex(prog: ProgObject): string {
  return Array.from(prog.tag, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** offsetof(struct bpf_prog, insns) on Linux 6.18 x86_64 (fixtures/fdinfo: 500 instructions fit one page, 501 do not). */
const BPF_PROG_HEADER_BYTES = 96;

/**
 * bpf_prog_size, page-rounded: the pages bpf_prog_alloc takes for `slots` instructions. Linux allocates for
 * insn_cnt and reallocates only when fixups grow the program, so the larger of the two counts.
 */
function progPages(slots: number): number {
  return Math.ceil((BPF_PROG_HEADER_BYTES + 8 * slots) / PAGE_SIZE);
}

/**
 * bpf_prog_show_fdinfo. recursion_misses counts runs skipped because the program was already running on the
 * CPU; nothing runs programs re-entrantly before they are attached to hooks, so it is 0.
 */
function showProgFdinfo(prog: ProgObject): string {
  const tag = progTagHex(prog);
  return (
    `prog_type:\t${prog.progType}\nprog_jited:\t${prog.jited ? 1 : 0}\nprog_tag:\t${tag}\nmemlock:\t${prog.pages * PAGE_SIZE}\n` +
    `prog_id:\t${prog.id}\nrun_time_ns:\t${prog.runTimeNs}\nrun_cnt:\t${prog.runCnt}\nrecursion_misses:\t0\nverified_insns:\t${prog.verifiedInsns}\n`
  );
}
