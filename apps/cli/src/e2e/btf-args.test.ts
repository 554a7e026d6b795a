/**
 * BTF-typed arguments end to end (btfptr_args.bpf.o, loaded by the loader): tp_btf, fentry and LSM programs walk
 * kernel objects through their pointer arguments (task->real_parent->tgid, file->f_path.dentry->d_name), fexit reads
 * the return value,
 * a walk through a NULL pointer (an idle task's mm) reads 0 without stopping the program (BPF_PROBE_MEM), and an
 * fmod_ret program on __x64_sys_getppid replaces the syscall's result for the traced process only.
 */
import { BPF_ATTACH_TYPE, Libc, O } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { arrayU64s, loadAttachObject, mapFd, progFd, setArray, tracingLinkCreate } from './rawtp-attach.js';

/** Indexes of the object's `values` map (its enum). */
const V = {
  FORK_COUNT: 0,
  FORK_CHILD_PID: 1,
  FORK_CHILD_PARENT: 2,
  FORK_GRANDPARENT: 3,
  WAKE_PID: 4,
  WAKE_PARENT: 5,
  READ_COUNT: 6,
  READ_BYTES: 7,
  READ_RET: 8,
  OPEN_COUNT: 9,
  OPEN_PARENT: 10,
  OPEN_INO: 11,
  OPEN_NAME_LEN: 12,
  OPEN_NAME: 13,
  IDLE_SWITCHES: 14,
  IDLE_MM_READS: 15,
  IDLE_MM_SUM: 16,
  NR_VALUES: 17,
} as const;

/** The first 8 bytes of `name` as a little-endian u64 (what the program stores of a dentry's name). */
const nameWord = (name: string): number => Number(new DataView(new TextEncoder().encode(name.padEnd(8, '\0').slice(0, 8)).buffer).getBigUint64(0, true));

describe('BTF-typed arguments: btfptr_args.bpf.o', () => {
  it('walks task and file pointers at tp_btf, fentry, fexit and LSM hooks, reads 0 through NULL, and fmod_ret replaces a result', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'btfptr_args');
      const pid = yield* libc.getpid();
      const ppid = yield* libc.getppid();
      const file = yield* libc.open('/tmp/btfptr', O.CREAT | O.WRONLY);
      expect(yield* libc.write(file, 'eleven byte')).toBe(11);
      yield* libc.close(file);
      const stat = yield* libc.stat('/tmp/btfptr');
      if (!stat.ok) throw new Error(`stat: ${stat.errno}`);
      const links: number[] = [];
      for (const [prog, type] of [
        ['on_fork', BPF_ATTACH_TYPE.TRACE_RAW_TP],
        ['on_wake', BPF_ATTACH_TYPE.TRACE_FENTRY],
        ['read_entry', BPF_ATTACH_TYPE.TRACE_FENTRY],
        ['read_exit', BPF_ATTACH_TYPE.TRACE_FEXIT],
        ['open_check', BPF_ATTACH_TYPE.LSM_MAC],
        ['on_switch', BPF_ATTACH_TYPE.TRACE_RAW_TP],
        ['fake_ppid', BPF_ATTACH_TYPE.MODIFY_RETURN],
      ] as const) {
        const link = yield* tracingLinkCreate(libc, progFd(loaded, prog), type);
        expect(link, prog).toBeGreaterThan(0);
        links.push(link);
      }
      yield* setArray(libc, mapFd(loaded, 'target'), 0, pid, 4);
      // fmod_ret: the traced process's getppid() is the program's 4242, the syscall skipped.
      expect(yield* libc.getppid()).toBe(4242);
      const fd = yield* libc.open('/tmp/btfptr');
      expect(fd).toBeGreaterThanOrEqual(0);
      expect((yield* libc.read(fd, 64)).ret).toBe(11);
      yield* libc.close(fd);
      const child = yield* libc.fork(function* (childCtx) {
        // The child is another process, not traced: its getppid() is the kernel's.
        return (yield* new Libc(childCtx).getppid()) === pid ? 0 : 1;
      });
      expect(child).toBeGreaterThan(0);
      const waited = yield* libc.wait4(child);
      expect(waited.pid).toBe(child);
      expect(waited.status).toBe(0);
      // Sleeping lets the CPU go idle: the switches to the idle task read through its NULL mm.
      yield* libc.nanosleep(1_000_000);
      yield* setArray(libc, mapFd(loaded, 'target'), 0, 0, 4);
      const v = yield* arrayU64s(libc, mapFd(loaded, 'values'), V.NR_VALUES);
      expect(v[V.FORK_COUNT]).toBe(1);
      expect(v[V.FORK_CHILD_PID]).toBe(child);
      // child->real_parent->tgid: the forking process; parent->real_parent->tgid: its own parent (rcu_ptr_ walks).
      expect(v[V.FORK_CHILD_PARENT]).toBe(pid);
      expect(v[V.FORK_GRANDPARENT]).toBe(ppid);
      // fentry/wake_up_new_task(p): the new task, and p->real_parent->tgid through fentry's plain pointer.
      expect(v[V.WAKE_PID]).toBe(child);
      expect(v[V.WAKE_PARENT]).toBe(pid);
      expect(v[V.READ_COUNT]).toBe(1);
      expect(v[V.READ_BYTES]).toBe(64);
      expect(v[V.READ_RET]).toBe(11);
      // Every open after `target` was set: /tmp/btfptr (the creating open came before).
      expect(v[V.OPEN_COUNT]).toBe(1);
      expect(v[V.OPEN_PARENT]).toBe(ppid);
      expect(v[V.OPEN_INO]).toBe(stat.value.ino);
      expect(v[V.OPEN_NAME_LEN]).toBe('btfptr'.length);
      expect(v[V.OPEN_NAME]).toBe(nameWord('btfptr'));
      expect(v[V.IDLE_SWITCHES]).toBeGreaterThan(0);
      expect(v[V.IDLE_MM_READS]).toBe(v[V.IDLE_SWITCHES]);
      expect(v[V.IDLE_MM_SUM]).toBe(0);
      for (const link of links) expect(yield* libc.close(link)).toBe(0);
      // The fmod_ret link is gone: getppid() is the kernel's again.
      expect(yield* libc.getppid()).toBe(ppid);
    });
  });
});
