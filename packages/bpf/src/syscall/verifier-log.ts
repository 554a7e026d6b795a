/**
 * The verifier log as BPF_PROG_LOAD hands it to user space (kernel/bpf/log.c): bpf_vlog_init's attribute
 * checks, and bpf_vlog_finalize's result: the log written into log_buf, rotated (the last log_size - 1 bytes
 * kept) unless BPF_LOG_FIXED asks for the first ones, always NUL-terminated; log_true_size, the bytes the whole
 * log needs with its NUL; and ENOSPC when it did not fit (6.x: a truncated log fails the load).
 */
import { BPF_LOG, Errno } from '@ebpf-sim/uapi';

/** UINT_MAX >> 2: the largest log_size bpf_verifier_log_attr_valid accepts. */
const LOG_SIZE_MAX = 0xffffffff >>> 2;

/** bpf_vlog_init / bpf_verifier_log_attr_valid: 0, or -EINVAL for a log_buf/log_size/log_level combination Linux refuses. */
export function checkLogAttr(level: number, size: number, buf: number): number {
  // log_buf and log_size come together or not at all.
  if ((buf !== 0) !== (size !== 0)) return -Errno.EINVAL;
  // A buffer without a level is meaningless.
  if (buf !== 0 && level === 0) return -Errno.EINVAL;
  if ((level & ~BPF_LOG.MASK) !== 0) return -Errno.EINVAL;
  if (size > LOG_SIZE_MAX) return -Errno.EINVAL;
  return 0;
}

/** What goes back to user space: the bytes for log_buf (empty when there is none), log_true_size, and 0 or -ENOSPC. */
export interface FinalLog {
  readonly bytes: Uint8Array;
  readonly trueSize: number;
  readonly errno: number;
}

/** bpf_vlog_finalize for the whole log `text` (ASCII, as the verifier's lines are). */
export function finalizeLog(text: string, level: number, size: number): FinalLog {
  if (level === 0) return { bytes: new Uint8Array(0), trueSize: 0, errno: 0 };
  const whole = new TextEncoder().encode(text);
  const trueSize = whole.length + 1;
  if (size === 0) return { bytes: new Uint8Array(0), trueSize, errno: 0 };
  const kept = Math.min(whole.length, size - 1);
  const bytes = new Uint8Array(kept + 1);
  // Rotating mode keeps the end of the log; BPF_LOG_FIXED the beginning. Either way the last byte is the NUL.
  bytes.set((level & BPF_LOG.FIXED) !== 0 ? whole.subarray(0, kept) : whole.subarray(whole.length - kept), 0);
  return { bytes, trueSize, errno: trueSize > size ? -Errno.ENOSPC : 0 };
}
