/**
 * Sleepable programs end to end (fixtures/attach/src/sleep_copy.bpf.c and sleep_bad.bpf.c, loaded through the loader,
 * whose `.s` sections and SEC("syscall") ask for BPF_F_SLEEPABLE): a SYSCALL program and an fentry.s program on a
 * syscall read user memory with bpf_copy_from_user; what Linux 6.18 refuses is refused with its errno and line:
 * BPF_F_SLEEPABLE on a type that cannot sleep (recorded on this machine's 6.18 kernel), on an LSM hook or function
 * that may not sleep (bpf_check_attach_target), and a helper that may sleep in a program that may not. The SYSCALL
 * program's answers are Linux 6.18's on this object (fixtures/attach/record-sleep-copy.py prints them).
 */
import { attachProgram } from '@ebpf-sim/loader';
import { BPF_PROG_F, BPF_PROG_TYPE, Errno, PROT } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadOne } from './kfunc-recorded.js';
import { loadAttachObject, progFd } from './rawtp-attach.js';

/** struct args of sleep_copy.bpf.c: the user pointer, the helper's return, the value read. */
function args(ptr: number): Uint8Array {
  const bytes = new Uint8Array(24);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(ptr), true);
  return bytes;
}

describe('sleepable programs', () => {
  it("reads the caller's memory with bpf_copy_from_user from a SYSCALL program, and zeroes the copy on a fault", () => {
    const got: Array<number | bigint> = [];
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'sleep_copy');
      const page = yield* libc.mmapAnonymous(4096, PROT.READ | PROT.WRITE);
      expect(page).toBeGreaterThan(0);
      libc.ctx.mem.write(page + 8, new Uint8Array(new BigUint64Array([0x1122334455667788n]).buffer));
      for (const ptr of [page + 8, 0x10]) {
        const run = yield* libc.bpfProgTestRun(progFd(loaded, 'copy_user'), { ctx: args(ptr) });
        const out = new DataView(run.ctxIn.buffer, run.ctxIn.byteOffset);
        got.push(run.ret, out.getInt32(8, true), out.getBigUint64(16, true));
      }
      yield* loaded.close();
    });
    expect(got).toEqual([0, 0, 0x1122334455667788n, 0, -Errno.EFAULT, 0n]);
  });

  it("runs an fentry.s program on a syscall, which copies the syscall's argument from user memory", () => {
    let seen: Record<string, unknown> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'sleep_copy');
      const prog = loaded.programs.get('nanosleep_s');
      if (prog === undefined) throw new Error('no nanosleep_s');
      const link = yield* attachProgram(libc, prog);
      yield* libc.nanosleep(3_000_000_123);
      yield* link.destroy();
      // req_sec and req_ret start non-zero: they are in .data.
      const data = [...loaded.maps.values()].find((map) => map.spec.name.endsWith('.data'));
      if (data === undefined) throw new Error('no .data map');
      seen = ((yield* data.lookup(new Uint8Array(4))) ?? {}) as Record<string, unknown>;
      yield* loaded.close();
    });
    expect([Number(seen['req_ret'] as number), Number(seen['req_sec'] as bigint)]).toEqual([0, 3]);
  });

  it('refuses what Linux 6.18 refuses, with its errno and line', () => {
    const got: Record<string, { errno: number; log: string }> = {};
    inCorpusKernel(function* (libc) {
      for (const program of ['kill_s', 'vfs_read_s', 'copy_not_sleepable', 'file_open_s']) got[program] = yield* loadOne(libc, 'sleep_bad', program);
      // BPF_F_SLEEPABLE on XDP (this machine's Linux 6.18 answers EINVAL with this line).
      const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
      const xdp = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns, license: 'GPL', progFlags: BPF_PROG_F.SLEEPABLE, logLevel: 1, logSize: 4096 });
      got['xdp'] = { errno: xdp.ret < 0 ? -xdp.ret : 0, log: xdp.log };
    });
    expect(got['xdp']?.errno).toBe(Errno.EINVAL);
    expect(got['xdp']?.log).toBe(
      'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable\n' +
        'processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n',
    );
    // bpf_check_attach_target: only bpf_lsm.c's sleepable_lsm_hooks and error-injection functions take sleepable programs.
    expect(got['kill_s']?.errno).toBe(Errno.EINVAL);
    expect(got['kill_s']?.log).toContain('\nbpf_lsm_task_kill is not sleepable\n');
    expect(got['vfs_read_s']?.errno).toBe(Errno.EINVAL);
    expect(got['vfs_read_s']?.log).toContain('\nvfs_read is not sleepable\n');
    // check_helper_call: bpf_copy_from_user's might_sleep in a non-sleepable fentry program.
    expect(got['copy_not_sleepable']?.errno).toBe(Errno.EINVAL);
    expect(got['copy_not_sleepable']?.log).toContain('helper call might sleep in a non-sleepable prog');
    // A sleepable LSM program on a sleepable hook may call it.
    expect(got['file_open_s']?.errno).toBe(0);
  });
});
