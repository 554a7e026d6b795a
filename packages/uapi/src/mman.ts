/** mmap/brk constants (include/uapi/asm-generic/mman-common.h) and the x86_64 address-space geometry. */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02, SHARED_VALIDATE: 0x03, FIXED: 0x10, ANONYMOUS: 0x20, FIXED_NOREPLACE: 0x100000 } as const;
/** The bits of mmap's flags that say shared or private (MAP_TYPE). */
export const MAP_TYPE = 0x0f;
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** Top of the user address space on x86_64 with 4-level paging (TASK_SIZE_MAX). */
export const TASK_SIZE = 0x7ffffffff000;
/** Where mmap places mappings when the caller gives no hint (grows down, like the legacy layout's mmap_base). */
export const MMAP_BASE = 0x7f0000000000;
/** Default start of the heap (brk) in a fresh image. */
export const BRK_BASE = 0x0000_5555_0000_0000;
/** The user stack: top and size. */
export const STACK_TOP = 0x7ffe_0000_0000;
export const STACK_SIZE = 128 * 1024;
/** MAP_FAILED as returned by the raw syscall is -errno; libc maps it to this. */
export const MAP_FAILED = -1;
