/**
 * struct_ops end to end (fixtures/attach/src/sops_dummy.bpf.c): a bpf_dummy_ops in SEC(".struct_ops") with two
 * SEC("struct_ops/...") programs, opened and loaded by the loader as libbpf does (the map with the kernel's value
 * type, each program with the ops struct's BTF id and its member's index), run with BPF_PROG_TEST_RUN, and
 * attached (the kernel refuses to register a bpf_dummy_ops). Every answer is Linux 6.18's for the same object with
 * libbpf (fixtures/attach/record-sops.txt, recorded with record-sops.c).
 */
import { readFileSync } from 'node:fs';
import { attachStructOps } from '@ebpf-sim/loader';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, mapFd, progFd } from './rawtp-attach.js';

const LINUX = new Map(
  readFileSync(new URL('../../fixtures/attach/record-sops.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.includes(' => '))
    .map((line) => line.split(' => ') as [string, string]),
);
const linux = (name: string): string => {
  const value = LINUX.get(name);
  if (value === undefined) throw new Error(`record-sops.txt has no '${name}'`);
  return value;
};

describe('struct_ops: sops_dummy.bpf.o (bpf_dummy_ops)', () => {
  it('loads the map and programs as libbpf does, runs them, and attaching is refused, as on Linux', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'sops_dummy');
      const info = yield* libc.bpfMapGetInfo(mapFd(loaded, 'sops_dummy'));
      if (!info.ok) throw new Error(`map info: ${info.errno}`);
      const v = info.value;
      expect(`type ${v.type} key ${v.keySize} value ${v.valueSize} max_entries ${v.maxEntries} flags 0x${v.mapFlags.toString(16)}`.replace('0x0', '0')).toBe(
        linux('map'),
      );
      const prog = yield* libc.bpfProgGetInfo(progFd(loaded, 'sops_test_2'));
      if (!prog.ok) throw new Error(`prog info: ${prog.errno}`);
      expect(`type ${prog.value.type} expected_attach_type member 1 attach_btf_obj_id 1`).toBe(linux('sops_test_2'));

      const state = libc.stack.pushBytes(new Uint8Array(new Uint32Array([4]).buffer));
      const u64s = (...values: bigint[]): Uint8Array => new Uint8Array(new BigUint64Array(values).buffer);
      const stateNow = (): number => new DataView(libc.stack.readBytes(state, 4).buffer).getUint32(0, true);
      const run1 = yield* libc.bpfProgTestRun(progFd(loaded, 'sops_test_1'), { ctx: u64s(BigInt(state)) });
      expect(`${run1.ret} retval ${run1.retval | 0} state ${stateNow()}`).toBe(linux('run sops_test_1'));
      const runNull = yield* libc.bpfProgTestRun(progFd(loaded, 'sops_test_1'), { ctx: u64s(0n) });
      expect(`${runNull.ret} retval ${runNull.retval | 0}`).toBe(linux('run sops_test_1 null'));
      const run2 = yield* libc.bpfProgTestRun(progFd(loaded, 'sops_test_2'), { ctx: u64s(BigInt(state), 1n, 2n, 3n, 4n) });
      expect(`${run2.ret} retval ${run2.retval | 0}`).toBe(linux('run sops_test_2'));

      expect(String(yield* attachStructOps(libc, loaded, 'sops_dummy'))).toBe(linux('attach'));
      yield* loaded.close();
    });
  });
});
