/**
 * Kernel-internal errno values the bpf subsystem answers with (include/linux/errno.h, not uapi), in a module of
 * their own so that any file may use them without importing a subsystem.
 */

/**
 * ENOTSUPP, Linux's kernel-internal errno 524: what BPF_MAP_CREATE answers for an LRU map without
 * preallocation, BPF_MAP_LOOKUP_AND_DELETE_ELEM for a map type without it, BPF_PROG_TEST_RUN for a program type
 * without a test run. User space sees 524.
 */
export const ENOTSUPP = 524;
