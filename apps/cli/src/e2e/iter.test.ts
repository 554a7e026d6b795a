/**
 * Open-coded iterators and may_goto end to end (fixtures/attach/src/iter_sum.bpf.c): bpf_for loops (bpf_iter_num_new/
 * next/destroy, nested too) and a can_loop (may_goto) loop verify with Linux's convergence rule and run on
 * syscalls:sys_enter_getpid. The refused variants (iter_bad.bpf.c) get Linux 6.18's errno and error line
 * (kfunc-refusals.txt).
 */
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadOne, recorded } from './kfunc-recorded.js';
import { loadAttachObject, mapU64, perfOpen, perfSetBpf, progFd, tracepointId } from './perf-attach.js';
import { setArray } from './rawtp-attach.js';
import { PERF_TYPE } from '@ebpf-sim/uapi';

describe('open-coded iterators and may_goto: iter_sum.bpf.o', () => {
  it('sums with bpf_for, counts pairs with a nested bpf_for and steps a can_loop loop', () => {
    const out: number[] = [];
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'iter_sum');
      const vals = loaded.maps.get('vals')?.fd ?? -1;
      yield* setArray(libc, vals, 0, 100, 8);
      const id = yield* tracepointId(libc, 'syscalls', 'sys_enter_getpid');
      const event = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id });
      expect(yield* perfSetBpf(libc, event, progFd(loaded, 'sum'))).toBe(0);
      yield* libc.getpid();
      for (let key = 1; key <= 4; key++) out.push(yield* mapU64(loaded, 'vals', key));
      yield* libc.close(event);
    });
    // 0 + ... + 99, C(8, 2) pairs, 100 steps, one run.
    expect(out).toEqual([4950, 28, 100, 1]);
  });

  it('refuses what Linux 6.18 refuses, with its errno and error line', () => {
    const cases = recorded().filter((r) => r.object === 'iter_bad' || r.object === 'iter_sum');
    expect(cases.length).toBe(5);
    const got: Record<string, { errno: number; log: string }> = {};
    inCorpusKernel(function* (libc) {
      for (const c of cases) got[c.program] = yield* loadOne(libc, c.object, c.program);
    });
    for (const c of cases) {
      const ours = got[c.program];
      expect({ program: c.program, errno: ours?.errno }).toEqual({ program: c.program, errno: c.errno });
      if (c.key !== '') expect(ours?.log, c.program).toContain(c.key);
    }
  });
});
