import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, mapFd, progFd, rawTracepointOpen, setArray } from './rawtp-attach.js';

describe('run-time accounting at hooks with a clang object (rawtp_sys.bpf.o)', () => {
  it('run_cnt counts every run at the hook while BPF_ENABLE_STATS is held and run_time_ns grows', () => {
    const bpf = inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'rawtp_sys');
      const prog = progFd(loaded, 'count_sys_enter');
      yield* setArray(libc, mapFd(loaded, 'target'), 0, yield* libc.getpid(), 4);
      const link = yield* rawTracepointOpen(libc, 'sys_enter', prog);
      expect(link).toBeGreaterThan(0);
      // Stats off: these runs are not counted.
      yield* libc.getpid();
      const stats = yield* libc.bpfEnableStats();
      expect(stats).toBeGreaterThan(0);
      for (let i = 0; i < 4; i++) yield* libc.getpid();
      // The info request's own sys_enter is the fifth counted run.
      const info = yield* libc.bpfProgGetInfo(prog);
      if (!info.ok) throw new Error(`prog info: ${info.errno}`);
      expect(info.value.runCnt).toBe(5);
      expect(info.value.runTimeNs).toBeGreaterThan(0);
      yield* libc.close(stats);
      yield* libc.close(link);
    });
    // No run faulted.
    expect(bpf.runtime.hookFaults).toBe(0);
  });
});
