import { z } from 'zod';

/** A libc call: a generator the program delegates to with `yield*`; it yields traps and returns the result. */
export type Sys<T> = Generator<number, T, number>;

/** struct stat decoded (the fields user programs use). */
export const StatSchema = z.object({
  dev: z.number().int(),
  ino: z.number().int(),
  nlink: z.number().int(),
  mode: z.number().int(),
  uid: z.number().int(),
  gid: z.number().int(),
  rdev: z.number().int(),
  size: z.number().int(),
  blksize: z.number().int(),
  blocks: z.number().int(),
  mtimeNs: z.number(),
});
export type Stat = z.infer<typeof StatSchema>;

/** One linux_dirent64 record decoded. */
export const DirentSchema = z.object({ ino: z.number().int(), off: z.number().int(), type: z.number().int(), name: z.string() });
export type Dirent = z.infer<typeof DirentSchema>;

/** A result or a negative errno. */
export type Result<T> = { ok: true; value: T } | { ok: false; errno: number };

/** struct rusage decoded (the fields the simulated kernel fills). */
export const RusageSchema = z.object({
  utimeUs: z.number().int(),
  maxrssKb: z.number().int(),
  minorFaults: z.number().int(),
  voluntarySwitches: z.number().int(),
  involuntarySwitches: z.number().int(),
});
export type Rusage = z.infer<typeof RusageSchema>;

/** struct bpf_map_info as BPF_OBJ_GET_INFO_BY_FD returns it for a map (the fields this ABI fills). */
/** BPF_BTF_LOAD's answer: the fd (or -errno), the log Linux wrote (when a log size was given) and btf_log_true_size. */
export interface BpfBtfLoadResult {
  readonly fd: number;
  readonly log: string;
  readonly logTrueSize: number;
}

/** struct bpf_btf_info as BPF_OBJ_GET_INFO_BY_FD fills it for a BTF fd, with the blob read back. */
export interface BpfBtfInfo {
  readonly id: number;
  /** btf_size: the whole blob's size (the copy is at most the buffer given). */
  readonly btfSize: number;
  readonly btf: Uint8Array;
  readonly kernelBtf: boolean;
}

/** struct bpf_link_info as BPF_OBJ_GET_INFO_BY_FD wrote it for a link. */
export interface BpfLinkInfo {
  /** enum bpf_link_type. */
  readonly type: number;
  readonly id: number;
  /** The program the link runs (0 once a detached link let go of it). */
  readonly progId: number;
  /** The per-type union (BPF_LINK_INFO.union onward), as written. */
  readonly union: Uint8Array;
  /** info_len as written back: min(the buffer given, sizeof(struct bpf_link_info)). */
  readonly infoLen: number;
}

export interface BpfMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
  /** info_len as the kernel wrote it back. */
  infoLen: number;
  /** A struct_ops map's value type in the kernel's BTF (0 for other maps). */
  btfVmlinuxValueTypeId: number;
}

/** The fields of struct perf_event_attr the libc wrapper fills (the rest are zero). */
export interface PerfEventAttrInput {
  readonly type: number;
  readonly config: number;
  readonly sampleType?: number;
  readonly samplePeriod?: number;
  readonly wakeupEvents?: number;
  /** The u64 of one-bit fields (bit 0 disabled, bit 10 freq, ...). */
  readonly flags?: bigint;
  /** attr.config1 (kprobe PMU: a user pointer to the function name, kprobe_func). */
  readonly config1?: number | bigint;
  /** attr.config2 (kprobe PMU: the offset into the function, or the address, kprobe_addr). */
  readonly config2?: number | bigint;
  /** attr.size; default PERF_ATTR_SIZE_VER8. A larger size sends that many bytes (zero past the known fields). */
  readonly size?: number;
}

/** What BPF_PROG_LOAD is asked to load (Libc.bpfProgLoad). */
export interface BpfProgLoadSpec {
  /** BPF_PROG_TYPE_*. */
  progType: number;
  /** The instructions, 8 bytes each (little-endian). */
  insns: Uint8Array;
  license: string;
  name?: string;
  expectedAttachType?: number;
  progFlags?: number;
  /** BPF_LOG_* bits; with `logSize` > 0 a buffer of that size is passed. */
  logLevel?: number;
  logSize?: number;
  /** fd_array: the map fds BPF_PSEUDO_MAP_IDX / MAP_IDX_VALUE index. */
  fdArray?: readonly number[];
  /** prog_btf_fd: the BTF object func_info and line_info refer to. */
  progBtfFd?: number;
  /** attach_btf_id: the vmlinux BTF type a TRACING or LSM program attaches to (attach_btf_obj_fd 0: vmlinux). */
  attachBtfId?: number;
  /** func_info: one record per function (struct bpf_func_info), passed with func_info_rec_size = its size. */
  funcInfo?: readonly BpfFuncInfoRecord[];
  /** line_info: source lines by instruction (struct bpf_line_info), passed with line_info_rec_size = its size. */
  lineInfo?: readonly BpfLineInfoRecord[];
}

/** struct bpf_func_info: a function's first instruction and its BTF FUNC type. */
export interface BpfFuncInfoRecord {
  insnOff: number;
  typeId: number;
}

/** struct bpf_line_info: the source line of the instructions from `insnOff` on (string offsets into the program's BTF). */
export interface BpfLineInfoRecord {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  /** line << 10 | column, as in the object's .BTF.ext. */
  lineCol: number;
}

/** BPF_PROG_LOAD's outcome: the fd or -errno, the log as written (up to its NUL) and log_true_size. */
export interface BpfProgLoadResult {
  ret: number;
  log: string;
  logTrueSize: number;
}

/** struct bpf_prog_info as Libc.bpfProgGetInfo reads it. */
export interface BpfProgInfo {
  type: number;
  id: number;
  /** The tag as 16 lower-case hex digits (as bpftool prints it). */
  tag: string;
  jitedProgLen: number;
  /** The JIT image (when asked for and the caller may see it: CAP_SYSLOG). */
  jitedProgInsns: Uint8Array;
  xlatedProgLen: number;
  /** The xlated instructions (when asked for). */
  xlatedProgInsns: Uint8Array;
  /** The BTF object the program's func_info and line_info refer to (0: none). */
  btfId: number;
  nrFuncInfo: number;
  nrLineInfo: number;
  /** struct bpf_func_info records at xlated offsets (when asked for). */
  funcInfo: Uint8Array;
  /** struct bpf_line_info records at xlated offsets (when asked for). */
  lineInfo: Uint8Array;
  loadTime: number;
  createdByUid: number;
  mapIds: number[];
  name: string;
  gplCompatible: boolean;
  runTimeNs: number;
  runCnt: number;
  verifiedInsns: number;
  infoLen: number;
}

/** BPF_PROG_TEST_RUN's inputs (Libc.bpfProgTestRun), as libbpf's struct bpf_test_run_opts. */
export interface BpfTestRunSpec {
  /** data_in. */
  data?: Uint8Array;
  /** Room for data_out (0 or absent: no data_out). */
  dataOutSize?: number;
  /** data_size_out as passed in: a non-zero hint clamps what is copied (ENOSPC past it). */
  dataSizeOutHint?: number;
  /** ctx_in. */
  ctx?: Uint8Array;
  /** Room for ctx_out (0 or absent: no ctx_out). */
  ctxOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** BPF_PROG_TEST_RUN's outcome: 0 or -errno, and the attr fields and buffers the kernel wrote. */
export interface BpfTestRunResult {
  ret: number;
  retval: number;
  duration: number;
  dataSizeOut: number;
  /** data_out, up to min(dataSizeOut, the room given). */
  dataOut: Uint8Array;
  ctxSizeOut: number;
  ctxOut: Uint8Array;
  /** ctx_in as it is after the call (a SYSCALL program's run writes its context back there). */
  ctxIn: Uint8Array;
}
