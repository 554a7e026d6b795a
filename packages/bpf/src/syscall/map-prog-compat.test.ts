import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { mapProgIncompatibility } from './map-prog-compat.js';

describe('check_map_prog_compatibility', () => {
  const locked = { spinLockOff: 0 };
  it('refuses a map with a spin lock to socket filters and tracing programs, in Linux 6.18 words', () => {
    expect(mapProgIncompatibility(BPF_PROG_TYPE.SOCKET_FILTER, locked)).toBe('socket filter progs cannot use bpf_spin_lock yet');
    for (const t of [BPF_PROG_TYPE.KPROBE, BPF_PROG_TYPE.TRACEPOINT, BPF_PROG_TYPE.PERF_EVENT, BPF_PROG_TYPE.RAW_TRACEPOINT])
      expect(mapProgIncompatibility(t, locked)).toBe('tracing progs cannot use bpf_spin_lock yet');
  });
  it('lets other program types use it, and any program a map without one', () => {
    expect(mapProgIncompatibility(BPF_PROG_TYPE.SCHED_CLS, locked)).toBeUndefined();
    expect(mapProgIncompatibility(BPF_PROG_TYPE.XDP, locked)).toBeUndefined();
    expect(mapProgIncompatibility(BPF_PROG_TYPE.SOCKET_FILTER, { spinLockOff: -1 })).toBeUndefined();
  });
});
