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
  /** attr.size; default PERF_ATTR_SIZE_VER8. A larger size sends that many bytes (zero past the known fields). */
  readonly size?: number;
}
