/**
 * A precision-heavy object end to end: prec_sort.bpf.o (clang-19, fixtures/attach/src/prec_sort.bpf.c) sorts
 * the first 8 packet bytes on the stack in a static subprogram (variable-offset stack accesses whose indexes
 * the verifier backtracks as precise) that calls a third frame, loads through the loader as Linux 6.18 loads
 * it, and runs with BPF_PROG_TEST_RUN: user space reads the sorted bytes back from the array map.
 */
import { XDP_ACTION } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { loadObject, runInKernel } from './attach-kernel.js';

describe('precision and call chains end to end: prec_sort.bpf.o', () => {
  it('loads, sorts the packet bytes in a subprogram and user space reads them from the map', () => {
    const seen: number[] = [];
    let retval = -1;
    runInKernel({ cpus: 1 }, function* (libc) {
      const object = yield* loadObject(libc, 'prec_sort', 1);
      const prog = object.programs.get('prec_sort');
      const sorted = object.maps.get('sorted');
      if (prog === undefined || sorted === undefined) throw new Error('prec_sort.bpf.o: program or map missing');
      const packet = new Uint8Array(64);
      packet.set([5, 3, 8, 1, 9, 2, 7, 4]);
      const run = yield* libc.bpfProgTestRun(prog.fd, { data: packet, dataOutSize: 128 });
      expect(run.ret).toBe(0);
      retval = run.retval;
      for (let k = 0; k < 8; k++) {
        const value = yield* libc.bpfMapLookup(sorted.fd, new Uint8Array(new Uint32Array([k]).buffer), 4);
        if (!value.ok) throw new Error(`lookup sorted[${k}]: errno ${value.errno}`);
        seen.push(new DataView(value.value.buffer, value.value.byteOffset).getUint32(0, true));
      }
      yield* object.close();
    });
    expect(seen).toEqual([1, 2, 3, 4, 5, 7, 8, 9]);
    // 31 * (1+2+...+9 - 6) = 1209 is odd: XDP_DROP.
    expect(retval).toBe(XDP_ACTION.DROP);
  });
});
