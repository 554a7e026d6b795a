// BPF_PROG_LOAD's func_info and line_info checked as Linux's check_btf_info does: the records' sizes, order and
// types against the BTF behind prog_btf_fd and the program's sub-programs, with Linux's log lines and errnos.
import { BtfKind, parseBtf } from '@ebpf-sim/btf';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_FUNC_INFO, BPF_LINE_INFO, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, type BpfProgLoadSpec, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { recordedBlob } from '../../../btf/fixtures/blobs.js';
import { runUserProgram } from '../testing/user-program.js';
import { registerBpf } from './bpf-syscall.js';
import { xlatedBtfInfo } from './prog-btf-info.js';

const blob = recordedBlob('valid_all_kinds');
const btf = parseBtf(blob);
const FUNC = btf.types.find((t) => t.kind === BtfKind.FUNC)?.id ?? 0;
const INT = btf.types.find((t) => t.kind === BtfKind.INT)?.id ?? 0;

/** Instructions, 8 bytes each: [code, dst | src << 4, off, imm]. */
const insns = (...list: ReadonlyArray<readonly [number, number, number, number]>): Uint8Array => {
  const out = new Uint8Array(list.length * 8);
  const view = new DataView(out.buffer);
  list.forEach(([code, regs, off, imm], i) => {
    out[i * 8] = code;
    out[i * 8 + 1] = regs;
    view.setInt16(i * 8 + 2, off, true);
    view.setInt32(i * 8 + 4, imm, true);
  });
  return out;
};
/** r0 = 0; exit. */
const ONE_FUNC = insns([0xb7, 0, 0, 0], [0x95, 0, 0, 0]);
/** call pc+2 (a sub-program at 3); r0 = 0; exit; r0 = 1; exit. */
const TWO_FUNCS = insns([0x85, 0x10, 0, 2], [0xb7, 0, 0, 0], [0x95, 0, 0, 0], [0xb7, 0, 0, 1], [0x95, 0, 0, 0]);
/** r1 = 0; call pc+2 (a sub-program at 4); r0 = 0; exit; r0 = 1; exit: the FUNC `foo(int x)` is global, so R1 must be a scalar. */
const TWO_FUNCS_INT_ARG = insns([0xb7, 1, 0, 0], [0x85, 0x10, 0, 2], [0xb7, 0, 0, 0], [0x95, 0, 0, 0], [0xb7, 0, 0, 1], [0x95, 0, 0, 0]);

function load(libc: Libc, btfFd: number, spec: Partial<BpfProgLoadSpec>): Generator<number, { ret: number; log: string }, number> {
  return libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SOCKET_FILTER, insns: ONE_FUNC, license: 'GPL', progBtfFd: btfFd, logLevel: 1, logSize: 4096, ...spec });
}

describe('BPF_PROG_LOAD func_info and line_info', () => {
  it('loads with records that match the program, holding the BTF while the program lives', () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const btfFd = (yield* libc.bpfBtfLoad(blob)).fd;
      const prog = yield* load(libc, btfFd, {
        insns: TWO_FUNCS_INT_ARG,
        funcInfo: [
          { insnOff: 0, typeId: FUNC },
          { insnOff: 4, typeId: FUNC },
        ],
        lineInfo: [
          { insnOff: 0, fileNameOff: 0, lineOff: 0, lineCol: 1 << 10 },
          { insnOff: 4, fileNameOff: 0, lineOff: 0, lineCol: 2 << 10 },
        ],
      });
      expect(prog.ret, prog.log).toBeGreaterThan(0);
      yield* libc.close(btfFd);
      expect(bpf.btfs.ids.size).toBe(2); // with vmlinux's
      yield* libc.close(prog.ret);
    });
    expect(bpf.btfs.ids.size).toBe(1); // vmlinux's
  });

  it("refuses bad records with Linux's errno and log line", () => {
    const kernel = createKernel({ cpus: 1 });
    registerBpf(kernel);
    const results: Record<string, [number, string]> = {};
    runUserProgram(kernel, function* (libc) {
      const btfFd = (yield* libc.bpfBtfLoad(blob)).fd;
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 4, max_entries: 1 });
      const cases: Record<string, Partial<BpfProgLoadSpec>> = {
        'first record not at 0': { funcInfo: [{ insnOff: 1, typeId: FUNC }] },
        'not a FUNC': { funcInfo: [{ insnOff: 0, typeId: INT }] },
        'one record, two sub-programs': { insns: TWO_FUNCS, funcInfo: [{ insnOff: 0, typeId: FUNC }] },
        'records out of order': {
          insns: TWO_FUNCS,
          funcInfo: [
            { insnOff: 0, typeId: FUNC },
            { insnOff: 0, typeId: FUNC },
          ],
        },
        'line past the end': {
          lineInfo: [
            { insnOff: 0, fileNameOff: 0, lineOff: 0, lineCol: 0 },
            { insnOff: 2, fileNameOff: 0, lineOff: 0, lineCol: 0 },
          ],
        },
        'string offset out of the BTF': { lineInfo: [{ insnOff: 0, fileNameOff: 0, lineOff: 1 << 20, lineCol: 0 }] },
        'no line for a sub-program': { insns: TWO_FUNCS, lineInfo: [{ insnOff: 0, fileNameOff: 0, lineOff: 0, lineCol: 0 }] },
        'a map as prog_btf_fd': { progBtfFd: mapFd, funcInfo: [{ insnOff: 0, typeId: FUNC }] },
        'no such fd': { progBtfFd: 99, funcInfo: [{ insnOff: 0, typeId: FUNC }] },
      };
      for (const [name, spec] of Object.entries(cases)) {
        const got = yield* load(libc, btfFd, spec);
        results[name] = [got.ret, got.log];
      }
    });
    expect(results).toEqual({
      'first record not at 0': [-Errno.EINVAL, 'nonzero insn_off 1 for the first func info record'],
      'not a FUNC': [-Errno.EINVAL, `invalid type id ${INT} in func info`],
      'one record, two sub-programs': [-Errno.EINVAL, "number of funcs in func_info doesn't match number of subprogs\n"],
      'records out of order': [-Errno.EINVAL, 'same or smaller insn offset (0) than previous func info record (0)'],
      'line past the end': [-Errno.EINVAL, 'Invalid line_info[1].insn_off:2 (prev_offset:0 prog->len:2)\n'],
      'string offset out of the BTF': [-Errno.EINVAL, 'Invalid line_info[0].line_off or .file_name_off\n'],
      'no line for a sub-program': [-Errno.EINVAL, 'missing bpf_line_info for 1 funcs starting from func#1\n'],
      'a map as prog_btf_fd': [-Errno.EINVAL, ''],
      'no such fd': [-Errno.EBADF, ''],
    });
  });
});

describe('xlatedBtfInfo: the records moved along the rewrites (adjust_btf_func, bpf_adj_linfo, bpf_adj_linfo_after_remove)', () => {
  /** Six one-slot instructions (mov r0, 0) and the line records at `offsets`, each naming its own line (line_off = offset + 1). */
  const insns = new Uint8Array(6 * 8).map((_, i) => (i % 8 === 0 ? 0xb7 : 0));
  const lines = (offsets: readonly number[]): Uint8Array => {
    const out = new Uint8Array(offsets.length * BPF_LINE_INFO.size);
    const view = new DataView(out.buffer);
    offsets.forEach((off, i) => {
      view.setUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.insn_off, off, true);
      view.setUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.line_off, off + 1, true);
    });
    return out;
  };
  const read = (records: Uint8Array): Array<[number, number]> => {
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    return Array.from({ length: records.length / BPF_LINE_INFO.size }, (_, i) => [
      view.getUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.insn_off, true),
      view.getUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.line_off, true) - 1,
    ]);
  };
  // Slots 2 and 3 removed as dead code: each maps to where slot 4 now starts.
  const removed = [0, 1, 2, 2, 2, 3, 4];

  it('drops the records of removed instructions when the next live one has its own', () => {
    expect(read(xlatedBtfInfo(insns, removed, new Uint8Array(0), lines([0, 2, 4])).lineInfo)).toEqual([
      [0, 0],
      [2, 4],
    ]);
  });

  it('moves the last record of a removed range to the next live instruction when it has none', () => {
    expect(read(xlatedBtfInfo(insns, removed, new Uint8Array(0), lines([0, 2, 3, 5])).lineInfo)).toEqual([
      [0, 0],
      [2, 3],
      [3, 5],
    ]);
  });

  it('keeps a record on the first instruction of a patch, shifts what follows, and moves func_info to the new starts', () => {
    // Slot 1 became three instructions (an inlined map lookup, say).
    const grown = [0, 1, 4, 5, 6, 7, 8];
    const funcs = new Uint8Array(16);
    new DataView(funcs.buffer).setUint32(8 + BPF_FUNC_INFO.insn_off, 3, true);
    const moved = xlatedBtfInfo(insns, grown, funcs, lines([0, 1, 2, 3]));
    expect(read(moved.lineInfo)).toEqual([
      [0, 0],
      [1, 1],
      [4, 2],
      [5, 3],
    ]);
    expect(new DataView(moved.funcInfo.buffer).getUint32(8 + BPF_FUNC_INFO.insn_off, true)).toBe(5);
  });
});
