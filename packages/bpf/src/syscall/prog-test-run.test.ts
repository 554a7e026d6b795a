/**
 * BPF_PROG_TEST_RUN through bpf(), as a user program calls it (libc bpfProgLoad / bpfProgTestRun): the
 * outputs land in the caller's attr and buffers, the runtime's VM runs the loaded (JIT-compiled) program,
 * and kernel memory is back where it was once the program is closed.
 */
import { assembleLlvm, encodeProgram } from '@ebpf-sim/isa';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, Libc, XDP_PACKET_HEADROOM, __SK_BUFF, type BpfTestRunResult, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { ENOTSUPP } from '../maps/map.js';
import { XDP_FRAME_SIZE } from '../net/xdp.js';
import { registerBpf } from './bpf-syscall.js';

const asm = (text: string): Uint8Array => encodeProgram(assembleLlvm(text));
const packet = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
const allBytes = (kernel: ReturnType<typeof createKernel>): number =>
  kernel.phys.usage().reduce((sum, charge) => sum + (charge.owner.startsWith('mm:') ? 0 : charge.bytes), 0);

describe('BPF_PROG_TEST_RUN through bpf()', () => {
  it('runs XDP, tc and raw_tp programs loaded with PROG_LOAD and reports as Linux does', () => {
    const kernel = createKernel({ cpus: 2, devices: { nics: [{ name: 'eth0' }] } });
    registerBpf(kernel);
    const results: Record<string, BpfTestRunResult | number> = {};
    const before = allBytes(kernel);
    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const load = function* (progType: number, text: string): Generator<number, number, number> {
        return (yield* libc.bpfProgLoad({ progType, insns: asm(text), license: 'GPL' })).ret;
      };
      const room = XDP_PACKET_HEADROOM - XDP_FRAME_SIZE;
      const grow = yield* load(BPF_PROG_TYPE.XDP, `r6 = r1\nr2 = ${-room}\nr1 = r6\ncall 44\nexit`);
      results.grow = yield* libc.bpfProgTestRun(grow, { data: packet(64), dataOutSize: 4096 });
      results.growTwice = yield* libc.bpfProgTestRun(grow, { data: packet(64), dataOutSize: 4096, repeat: 2 });
      results.enospc = yield* libc.bpfProgTestRun(grow, { data: packet(64), dataOutSize: 4096, dataSizeOutHint: 100 });
      const tc = yield* load(BPF_PROG_TYPE.SCHED_CLS, 'r2 = *(u32 *)(r1 + 8)\nr2 += 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit');
      const skb = new Uint8Array(__SK_BUFF.size);
      new DataView(skb.buffer).setUint32(__SK_BUFF.mark, 41, true);
      results.tc = yield* libc.bpfProgTestRun(tc, { data: packet(64), dataOutSize: 128, ctx: skb, ctxOutSize: __SK_BUFF.size });
      const rawTp = yield* load(BPF_PROG_TYPE.RAW_TRACEPOINT, 'r0 = *(u64 *)(r1 + 8)\nexit');
      results.rawTp = yield* libc.bpfProgTestRun(rawTp, { ctx: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0), flags: 1, cpu: 1 });
      const kprobe = yield* load(BPF_PROG_TYPE.KPROBE, 'r0 = 0\nexit');
      results.kprobe = (yield* libc.bpfProgTestRun(kprobe, { data: packet(64) })).ret;
      results.badFd = (yield* libc.bpfProgTestRun(99, { data: packet(64) })).ret;
      results.ctxWithoutSize = (yield* libc.bpfAttr('PROG_TEST_RUN', { prog_fd: grow, ctx_in: 0x1000 })).ret;
      for (const fd of [grow, tc, rawTp, kprobe]) yield* libc.close(fd);
      return 0;
    };
    kernel.vfs.registerProgram('/bin/test-run', user);
    kernel.spawn('/bin/test-run');
    kernel.run({ untilNs: 100e9 });
    expect(kernel.crashes).toEqual([]);
    const room = XDP_PACKET_HEADROOM - XDP_FRAME_SIZE;
    expect(results.grow).toMatchObject({ ret: 0, retval: 0, dataSizeOut: 64 + room });
    expect((results.grow as BpfTestRunResult).dataOut.subarray(room)).toEqual(packet(64));
    expect(results.growTwice).toMatchObject({ ret: 0, retval: -Errno.EINVAL >>> 0, dataSizeOut: 64 + room });
    expect(results.enospc).toMatchObject({ ret: -Errno.ENOSPC, dataSizeOut: 64 + room });
    expect((results.enospc as BpfTestRunResult).dataOut.length).toBe(100);
    const tc = results.tc as BpfTestRunResult;
    expect(tc).toMatchObject({ ret: 0, retval: 0, dataSizeOut: 64, ctxSizeOut: __SK_BUFF.size });
    expect(new DataView(tc.ctxOut.buffer, tc.ctxOut.byteOffset).getUint32(__SK_BUFF.mark, true)).toBe(42);
    expect(results.rawTp).toMatchObject({ ret: 0, retval: 7 });
    expect(results.kprobe).toBe(-ENOTSUPP);
    expect(results.badFd).toBe(-Errno.EBADF);
    expect(results.ctxWithoutSize).toBe(-Errno.EINVAL);
    expect(allBytes(kernel)).toBe(before);
  });

  it('runs a program with side effects exactly `repeat` times, as Linux (no warm-up runs a map would count)', () => {
    const kernel = createKernel({ cpus: 1 });
    registerBpf(kernel);
    const seen: { counter?: bigint; durationSet?: boolean } = {};
    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const map = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 });
      // key 0 on the stack; lookup; atomic add 1 to the value; XDP_PASS.
      const text = [
        'r1 = 0',
        '*(u32 *)(r10 - 4) = r1',
        'r2 = r10',
        'r2 += -4',
        'r1 = 0 ll',
        'call 1',
        'if r0 == 0 goto +2',
        'r1 = 1',
        'lock *(u64 *)(r0 + 0) += r1',
        'r0 = 2',
        'exit',
      ].join('\n');
      const insns = asm(text);
      // The LD imm64 (slot 4) names the map by fd: src_reg BPF_PSEUDO_MAP_FD (1), imm the fd.
      insns[4 * 8 + 1] = (1 << 4) | 1;
      new DataView(insns.buffer).setInt32(4 * 8 + 4, map, true);
      const prog = (yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns, license: 'GPL' })).ret;
      const run = yield* libc.bpfProgTestRun(prog, { data: packet(64), repeat: 1000 });
      seen.durationSet = run.ret === 0 && run.retval === 2;
      const value = yield* libc.bpfMapLookup(map, new Uint8Array(4), 8);
      if (value.ok) seen.counter = new DataView(value.value.buffer, value.value.byteOffset).getBigUint64(0, true);
      yield* libc.close(prog);
      yield* libc.close(map);
      return 0;
    };
    kernel.vfs.registerProgram('/bin/count', user);
    kernel.spawn('/bin/count');
    kernel.run({ untilNs: 100e9 });
    expect(kernel.crashes).toEqual([]);
    expect(seen).toEqual({ counter: 1000n, durationSet: true });
  });
});
