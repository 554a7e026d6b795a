import { BPF_LOG, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { checkLogAttr, finalizeLog } from './verifier-log.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('the verifier log of BPF_PROG_LOAD', () => {
  it('refuses the attribute combinations bpf_vlog_init refuses', () => {
    expect(checkLogAttr(1, 0, 0x1000)).toBe(-Errno.EINVAL);
    expect(checkLogAttr(1, 64, 0)).toBe(-Errno.EINVAL);
    expect(checkLogAttr(0, 64, 0x1000)).toBe(-Errno.EINVAL);
    expect(checkLogAttr(16, 64, 0x1000)).toBe(-Errno.EINVAL);
    expect(checkLogAttr(1, 0x40000000, 0x1000)).toBe(-Errno.EINVAL);
    expect(checkLogAttr(1, 0x3fffffff, 0x1000)).toBe(0);
    expect(checkLogAttr(BPF_LOG.LEVEL2 | BPF_LOG.STATS | BPF_LOG.FIXED, 0, 0)).toBe(0);
  });

  it('keeps the end of a rotated log and the start of a fixed one, NUL-terminated, with ENOSPC and the true size', () => {
    const log = 'func#0 @0\nLive regs\nprocessed 1 insns mark_read 0\n';
    const rotated = finalizeLog(log, 2, 16);
    expect(rotated.errno).toBe(-Errno.ENOSPC);
    expect(rotated.trueSize).toBe(log.length + 1);
    expect(text(rotated.bytes)).toBe(`${log.slice(-15)}\0`);
    const fixed = finalizeLog(log, 2 | BPF_LOG.FIXED, 16);
    expect(text(fixed.bytes)).toBe(`${log.slice(0, 15)}\0`);
    expect(fixed.errno).toBe(-Errno.ENOSPC);
  });

  it('fits a log exactly as long as the buffer allows, and reports the size without a buffer', () => {
    expect(finalizeLog('abc\n', 1, 5)).toEqual({ bytes: new TextEncoder().encode('abc\n\0'), trueSize: 5, errno: 0 });
    expect(finalizeLog('abc\n', 1, 4).errno).toBe(-Errno.ENOSPC);
    expect(finalizeLog('abc\n', 1, 0)).toEqual({ bytes: new Uint8Array(0), trueSize: 5, errno: 0 });
    expect(finalizeLog('abc\n', 0, 0).trueSize).toBe(0);
  });
});
