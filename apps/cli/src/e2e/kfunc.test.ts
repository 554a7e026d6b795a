/**
 * Kfuncs end to end (fixtures/attach/src/kfunc_task.bpf.c): the loader resolves `extern ... __ksym` kfuncs by name in
 * the kernel's BTF (a `__weak` one the kernel lacks becomes a dead, poisoned call), the verifier tracks the references
 * bpf_task_from_pid and bpf_task_acquire take and bpf_task_release drops, and the program runs on tp_btf/sys_enter.
 * The refused variants (kfunc_bad.bpf.c, and the RCU sections of kfunc_rcu.bpf.c) get Linux 6.18's errno and error line, recorded in kfunc-refusals.txt.
 */
import { BtfKind } from '@ebpf-sim/btf';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadOne, recorded } from './kfunc-recorded.js';
import { arrayU64s, loadAttachObject, mapFd, progFd, rawTracepointOpen, setArray } from './rawtp-attach.js';

describe('kfuncs: kfunc_task.bpf.o', () => {
  it('resolves the kfuncs by BTF id, verifies the references and runs bpf_task_from_pid/acquire/release', () => {
    let pid = 0;
    let stats: number[] = [];
    const bpf = inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'kfunc_task');
      pid = yield* libc.getpid();
      yield* setArray(libc, mapFd(loaded, 'target'), 0, pid, 4);
      const link = yield* rawTracepointOpen(libc, null, progFd(loaded, 'task_by_pid'));
      expect(link).toBeGreaterThan(0);
      yield* libc.getpid();
      yield* libc.close(link);
      stats = yield* arrayU64s(libc, mapFd(loaded, 'stats'), 4);
    });
    // The kfuncs are FUNCs of the kernel's BTF, which is what the loader put in the calls' imm.
    const vmlinux = bpf.progs.vmlinux;
    expect(vmlinux?.findByNameKind('bpf_task_from_pid', BtfKind.FUNC)).toBeGreaterThan(0);
    expect(vmlinux?.findByNameKind('bpf_kfunc_not_in_this_kernel', BtfKind.FUNC)).toBeLessThan(0);
    // Ran; the task bpf_task_from_pid found is the caller (tgid and, for the single-threaded caller, pid); the
    // absent weak kfunc was never called.
    expect(stats).toEqual([1, pid, pid, 0]);
  });

  it('refuses what Linux 6.18 refuses, with its errno and error line', () => {
    const cases = recorded().filter((r) => r.object === 'kfunc_bad' || r.object === 'kfunc_task' || r.object === 'kfunc_rcu');
    expect(cases.length).toBe(11);
    const got: Record<string, { errno: number; log: string }> = {};
    inCorpusKernel(function* (libc) {
      for (const c of cases) got[c.program] = yield* loadOne(libc, c.object, c.program);
    });
    for (const c of cases) {
      const ours = got[c.program];
      // rcu_ok and rcu_parent_outside: task->real_parent is an `__rcu` field, so the walk gives an rcu_ptr_ that
      // bpf_task_acquire (KF_RCU) takes, inside bpf_rcu_read_lock and in a non-sleepable program alike.
      expect({ program: c.program, errno: ours?.errno }).toEqual({ program: c.program, errno: c.errno });
      if (c.key !== '') expect(ours?.log, c.program).toContain(c.key);
    }
  });
});
