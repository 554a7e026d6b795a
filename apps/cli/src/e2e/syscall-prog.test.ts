/**
 * BPF_PROG_TYPE_SYSCALL end to end (fixtures/attach/src/sys_bpf.bpf.c, loaded by the loader from SEC("syscall")):
 * run with BPF_PROG_TEST_RUN on an argument block, the program creates a map with bpf_sys_bpf, fills and freezes
 * it, and closes fds with bpf_sys_close; every answer is Linux 6.18's on the same object
 * (fixtures/attach/record-sys-bpf.txt, recorded with record-sys-bpf.c).
 */
import { readFileSync } from 'node:fs';
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, progFd } from './rawtp-attach.js';

/** Linux's answers: `name => value` lines of record-sys-bpf.txt. */
const LINUX = new Map(
  readFileSync(new URL('../../fixtures/attach/record-sys-bpf.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.includes(' => '))
    .map((line) => line.split(' => ') as [string, string]),
);
const linux = (name: string): string => {
  const value = LINUX.get(name);
  if (value === undefined) throw new Error(`record-sys-bpf.txt has no '${name}'`);
  return value;
};

/** struct args of sys_bpf.bpf.c: eight ints, then the key and the value (u64). */
const ARGS_SIZE = 48;
const FIELDS = ['max_entries', 'map_fd', 'update_ret', 'lookup_ret', 'test_run_ret', 'delete_extra_ret', 'freeze_ret', 'update_frozen_ret'] as const;

function args(maxEntries: number, key: bigint, value: bigint): Uint8Array {
  const bytes = new Uint8Array(ARGS_SIZE);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, maxEntries, true);
  view.setBigUint64(32, key, true);
  view.setBigUint64(40, value, true);
  return bytes;
}

describe('SYSCALL programs: sys_bpf.bpf.o', () => {
  it('creates, fills and freezes a map with bpf_sys_bpf, and closes its fd with bpf_sys_close, as Linux does', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'sys_bpf');
      const run = yield* libc.bpfProgTestRun(progFd(loaded, 'make_map'), { ctx: args(4, 7n, 42n) });
      expect(`${run.ret} retval ${run.retval}`).toBe(linux('make_map test_run'));
      // The context went back to ctx_in with every answer in it.
      const out = new DataView(run.ctxIn.buffer, run.ctxIn.byteOffset);
      const field = (name: (typeof FIELDS)[number]): number => out.getInt32(4 * FIELDS.indexOf(name), true);
      const mapFd = field('map_fd');
      expect(String(mapFd > 2 ? 1 : 0)).toBe(linux('map_fd is an fd'));
      for (const name of ['update_ret', 'lookup_ret', 'test_run_ret', 'delete_extra_ret', 'freeze_ret', 'update_frozen_ret'] as const)
        expect([name, String(field(name))]).toEqual([name, linux(name)]);
      // The map is the calling process's: its fd works from user space.
      const info = yield* libc.bpfMapGetInfo(mapFd);
      if (!info.ok) throw new Error(`map info: ${info.errno}`);
      expect(`type ${info.value.type} key ${info.value.keySize} value ${info.value.valueSize} max_entries ${info.value.maxEntries}`).toBe(linux('map info'));
      expect(info.value.type).toBe(BPF_MAP_TYPE.HASH);
      const key = new Uint8Array(new BigUint64Array([7n]).buffer);
      const found = yield* libc.bpfMapLookup(mapFd, key, 8);
      if (!found.ok) throw new Error(`lookup: ${found.errno}`);
      expect(`0 value ${new DataView(found.value.buffer, found.value.byteOffset).getBigUint64(0, true)}`).toBe(linux('user lookup'));
      // A context shorter than what the program reads, and repeat (SYSCALL test runs run once): EINVAL.
      expect(String((yield* libc.bpfProgTestRun(progFd(loaded, 'make_map'), { ctx: args(4, 7n, 42n).subarray(0, 8) })).ret)).toBe(linux('small ctx'));
      expect(String((yield* libc.bpfProgTestRun(progFd(loaded, 'make_map'), { ctx: args(4, 7n, 42n), repeat: 2 })).ret)).toBe(linux('repeat'));

      const closeArgs = new Uint8Array(12);
      new DataView(closeArgs.buffer).setInt32(0, mapFd, true);
      const closed = yield* libc.bpfProgTestRun(progFd(loaded, 'close_fd'), { ctx: closeArgs });
      expect(`${closed.ret} retval ${closed.retval}`).toBe(linux('close_fd test_run'));
      const answers = new DataView(closed.ctxIn.buffer, closed.ctxIn.byteOffset);
      expect(String(answers.getInt32(4, true))).toBe(linux('close ret'));
      expect(String(answers.getInt32(8, true))).toBe(linux('close again'));
      expect(answers.getInt32(8, true)).toBe(-Errno.EBADF);
      // The fd is gone from the process.
      expect((yield* libc.bpfMapGetInfo(mapFd)).ok).toBe(false);
      yield* loaded.close();
    });
  });
});
