/**
 * PROG_ARRAY with programs PROG_LOAD made: bpf_tail_call through the runtime's tail-call hook, the array's
 * program type fixed by its first program, and the entries dropped with the last user-space reference.
 */
import { PseudoLd, encodeProgram, type RawInsn } from '@ebpf-sim/isa';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, Libc, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from './bpf-syscall.js';

const i = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });
const EXIT = i(0x95, 0, 0, 0, 0);
/** r0 = `value`; exit. */
const returns = (value: number): Uint8Array => encodeProgram([i(0xb7, 0, 0, 0, value), EXIT]);
/** bpf_tail_call(ctx, prog_array, `index`); r0 = 1 when the slot is empty; exit. */
const tailCaller = (arrayFd: number, index: number): Uint8Array =>
  encodeProgram([i(0x18, 2, PseudoLd.MAP_FD, 0, arrayFd), i(0xb7, 3, 0, 0, index), i(0x85, 0, 0, 0, BPF_FUNC.tail_call), i(0xb7, 0, 0, 0, 1), EXIT]);
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

describe('PROG_ARRAY with loaded programs', () => {
  it('tail-calls the program in the slot, keeps one program type, and empties when its last fd closes', () => {
    const kernel = createKernel({ cpus: 2 });
    const bpf = registerBpf(kernel);
    const results: Array<bigint | number> = [];
    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const array = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.PROG_ARRAY, key_size: 4, value_size: 4, max_entries: 2 });
      const target = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns: returns(3), license: 'GPL' });
      const filter = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SOCKET_FILTER, insns: returns(0), license: 'GPL' });
      const caller = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns: tailCaller(array, 0), license: 'GPL' });
      if (caller.ret < 0) throw new Error(`${caller.ret} ${caller.log}`);
      expect(yield* libc.bpfMapUpdate(array, u32(0), u32(target.ret))).toBe(0);
      expect(yield* libc.bpfMapUpdate(array, u32(1), u32(filter.ret))).toBe(-Errno.EINVAL);
      const callerProg = bpf.progs.progFromFd(kernel.tasks.get(yield* libc.getpid())!, caller.ret);
      if (typeof callerProg === 'number') throw new Error(`caller: ${callerProg}`);
      results.push(bpf.runtime.runProgram(callerProg, 0, 0));
      // The slot holds the program past its fd.
      yield* libc.close(target.ret);
      results.push(bpf.runtime.runProgram(callerProg, 0, 0));
      expect(yield* libc.bpfMapDelete(array, u32(0))).toBe(0);
      results.push(bpf.runtime.runProgram(callerProg, 0, 0));
      const again = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns: returns(3), license: 'GPL' });
      expect(yield* libc.bpfMapUpdate(array, u32(0), u32(again.ret))).toBe(0);
      yield* libc.close(again.ret);
      // The caller holds the array, but the last user-space fd going clears its programs (map_release_uref).
      yield* libc.close(array);
      results.push(bpf.runtime.runProgram(callerProg, 0, 0));
      expect(bpf.progs.progs.size).toBe(2);
      return 0;
    };
    kernel.vfs.registerProgram('/bin/test', user);
    kernel.spawn('/bin/test', { uid: 0 });
    kernel.run({ untilNs: 100e9 });
    expect(kernel.crashes).toEqual([]);
    expect(results).toEqual([3n, 3n, 1n, 1n]);
    expect(bpf.progs.progs.size).toBe(0);
    expect(bpf.maps.size).toBe(0);
  });

  it('refuses to load a program of another type that tail-calls through an array holding XDP programs (bpf_check_tail_call)', () => {
    const kernel = createKernel({ cpus: 1 });
    registerBpf(kernel);
    const answers: number[] = [];
    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const array = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.PROG_ARRAY, key_size: 4, value_size: 4, max_entries: 2 });
      const target = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns: returns(3), license: 'GPL' });
      answers.push(yield* libc.bpfMapUpdate(array, u32(0), u32(target.ret)));
      answers.push((yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SCHED_CLS, insns: tailCaller(array, 0), license: 'GPL' })).ret);
      const xdp = (yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns: tailCaller(array, 0), license: 'GPL' })).ret;
      answers.push(xdp >= 0 ? 0 : xdp);
      return 0;
    };
    kernel.vfs.registerProgram('/bin/test', user);
    kernel.spawn('/bin/test');
    kernel.run({ untilNs: 100e9 });
    expect(kernel.crashes).toEqual([]);
    expect(answers).toEqual([0, -Errno.EINVAL, 0]);
  });
});
