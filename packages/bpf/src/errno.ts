/**
 * Kernel-internal errno values the bpf subsystem answers with (include/linux/errno.h, not uapi), in a module of
 * their own so that any file may use them without importing a subsystem.
 */

/** ENOTSUPP (524): defined with the errnos user space sees (@ebpf-sim/uapi), as the bpf() commands answer it. */
export { ENOTSUPP } from '@ebpf-sim/uapi';
