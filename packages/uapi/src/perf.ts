/**
 * perf_event_open(2)'s ABI (include/uapi/linux/perf_event.h, Linux 6.x): struct perf_event_attr, the mmap'ed
 * ring's header page (struct perf_event_mmap_page) and its records, as far as BPF output events use them.
 */

/** perf_type_id. */
export const PERF_TYPE = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;

/** perf_sw_ids; MAX is one past the last (not ABI, but what the kernel checks configs against). */
export const PERF_COUNT_SW = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
  CGROUP_SWITCHES: 11,
  MAX: 12,
} as const;

/** perf_event_sample_format bits (the ones BPF output readers use) and PERF_SAMPLE_MAX, one past the last. */
export const PERF_SAMPLE = {
  IP: 1 << 0,
  TID: 1 << 1,
  TIME: 1 << 2,
  ADDR: 1 << 3,
  READ: 1 << 4,
  CALLCHAIN: 1 << 5,
  ID: 1 << 6,
  CPU: 1 << 7,
  PERIOD: 1 << 8,
  STREAM_ID: 1 << 9,
  RAW: 1 << 10,
  MAX: 1 << 25,
} as const;

/** perf_event_open's flags argument. */
export const PERF_FLAG = { FD_NO_GROUP: 1 << 0, FD_OUTPUT: 1 << 1, PID_CGROUP: 1 << 2, FD_CLOEXEC: 1 << 3 } as const;

/** Sizes of struct perf_event_attr's published versions: VER0 is the smallest the kernel takes, VER8 (with config3) 6.x's. */
export const PERF_ATTR_SIZE_VER0 = 64;
export const PERF_ATTR_SIZE_VER8 = 136;

/**
 * struct perf_event_attr (136 bytes in 6.x). `flags` is the u64 of one-bit fields: `disabled` is bit 0,
 * `freq` bit 10, `sample_id_all` bit 18, and bits 38..63 are __reserved_1, which must be zero.
 */
export const PERF_EVENT_ATTR = {
  size: PERF_ATTR_SIZE_VER8,
  type: 0,
  size_field: 4,
  config: 8,
  sample_period: 16,
  sample_type: 24,
  read_format: 32,
  flags: 40,
  wakeup_events: 48,
  bp_type: 52,
  config1: 56,
  config2: 64,
  branch_sample_type: 72,
  sample_regs_user: 80,
  sample_stack_user: 88,
  clockid: 92,
  sample_regs_intr: 96,
  aux_watermark: 104,
  sample_max_stack: 108,
  reserved_2: 110,
  aux_sample_size: 112,
  reserved_3: 116,
  sig_data: 120,
  config3: 128,
} as const;

/** Bits of perf_event_attr's flags word (exclude_kernel: a counter that leaves the kernel out needs no perf_allow_kernel). */
export const PERF_ATTR_FLAG = { DISABLED: 0, EXCLUDE_KERNEL: 5, FREQ: 10, SAMPLE_ID_ALL: 18, FIRST_RESERVED: 38 } as const;
/** perf_event_attr's `watermark` bit: wake up by bytes (wakeup_watermark) rather than by events (wakeup_events). */
export const PERF_ATTR_WATERMARK_BIT = 14;

/**
 * struct perf_event_mmap_page: the first page of the mmap'ed ring. The kernel advances `data_head` (user space
 * reads it with acquire ordering); user space advances `data_tail` after consuming (release ordering). The
 * data area starts at `data_offset` from the mapping and is `data_size` bytes.
 */
export const PERF_EVENT_MMAP_PAGE = {
  version: 0,
  compat_version: 4,
  lock: 8,
  index: 12,
  offset: 16,
  time_enabled: 24,
  time_running: 32,
  capabilities: 40,
  size: 72,
  /** offsetof(struct perf_event_mmap_page, __reserved): what `size` holds. */
  reserved: 96,
  data_head: 1024,
  data_tail: 1032,
  data_offset: 1040,
  data_size: 1048,
} as const;
/** capabilities: cap_bit0_is_deprecated (bit 1) is always set. */
export const PERF_CAP_BIT0_IS_DEPRECATED = 2;

/** perf_event_type of the records in the ring. */
export const PERF_RECORD = { LOST: 2, SAMPLE: 9 } as const;
/** perf_event_header.misc: where the sample was taken. */
export const PERF_RECORD_MISC = { KERNEL: 1, USER: 2 } as const;
/** struct perf_event_header { u32 type; u16 misc; u16 size; }. */
export const PERF_EVENT_HEADER = { size: 8, type: 0, misc: 4, size_field: 6 } as const;
/** PERF_RECORD_LOST: header, u64 id, u64 lost. */
export const PERF_RECORD_LOST_LAYOUT = { size: 24, id: 8, lost: 16 } as const;
/** PERF_RECORD_SAMPLE with only PERF_SAMPLE_RAW: header, u32 size, the data, padded so the record is 8-aligned. */
export const PERF_SAMPLE_RAW_LAYOUT = { size: 8, data: 12 } as const;
/**
 * PERF_SAMPLE_RAW's u32 size for `length` bytes of data: the data and its padding, so that the size field and
 * the data end 8-aligned (perf_prepare_sample: round_up(sum + sizeof(u32), sizeof(u64)) - sizeof(u32)).
 */
export const perfRawSize = (length: number): number => Math.ceil((length + 4) / 8) * 8 - 4;
/** The length of a PERF_RECORD_SAMPLE carrying only PERF_SAMPLE_RAW of `length` bytes. */
export const perfRawRecordLength = (length: number): number => PERF_SAMPLE_RAW_LAYOUT.data + perfRawSize(length);

/**
 * ioctls of a perf event fd: ENABLE _IO('$', 0), DISABLE _IO('$', 1), ID _IOR('$', 7, __u64 *) (the event id
 * written to the u64 at arg), SET_BPF _IOW('$', 8, __u32) (arg is a program fd).
 */
export const PERF_EVENT_IOC = { ENABLE: 0x2400, DISABLE: 0x2401, ID: 0x8008_2407, SET_BPF: 0x4004_2408 } as const;

/**
 * The kprobe PMU's attr fields (perf_event_attr's unions): config1 is kprobe_func (a user pointer to the
 * function's name, or 0), config2 is probe_offset when kprobe_func is set and kprobe_addr otherwise. Bit 0 of
 * config is the PMU's `retprobe` format bit (PERF_PROBE_CONFIG_IS_RETPROBE), published as "config:0" in
 * /sys/bus/event_source/devices/kprobe/format/retprobe.
 */
export const PERF_PROBE_CONFIG_IS_RETPROBE = 1;
/** KSYM_NAME_LEN: the longest function name kprobe_func may give (strndup_user's limit, NUL included). */
export const KSYM_NAME_LEN = 512;
