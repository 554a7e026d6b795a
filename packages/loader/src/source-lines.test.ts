import { describe, expect, it } from 'vitest';
import type { ProgramLineInfo } from './object.js';
import { btfInfoOf, withSourceLines } from './source-lines.js';

const line = (insn: number, text: string, lineNumber: number, column = 5): ProgramLineInfo => ({
  insn,
  fileNameOff: 1,
  lineOff: 2 + insn,
  fileName: '/src/dir/prog.bpf.c',
  line: text,
  lineNumber,
  column,
});

describe('withSourceLines', () => {
  const lines = [line(0, '\tint x = ctx->len;', 12), line(2, '    return x;', 13), line(3, '', 14)];

  it("puts `; line @ file:n` before each instruction whose record changes, as Linux's verbose_linfo", () => {
    const log = ['0: R1=ctx() R10=fp0', '0: (61) r2 = *(u32 *)(r1 +0)', '1: (bf) r0 = r2', '2: (95) exit', '3: (05) goto pc-1', 'processed 3 insns'].join('\n');
    expect(withSourceLines(log, lines).split('\n')).toEqual([
      '0: R1=ctx() R10=fp0',
      '; int x = ctx->len; @ prog.bpf.c:12',
      '0: (61) r2 = *(u32 *)(r1 +0)',
      '1: (bf) r0 = r2',
      '; return x; @ prog.bpf.c:13',
      '2: (95) exit',
      ';  @ prog.bpf.c:14',
      '3: (05) goto pc-1',
      'processed 3 insns',
    ]);
  });

  it('leaves a log alone that already has source lines, or a program without line_info', () => {
    const log = '; int x = ctx->len; @ prog.bpf.c:12\n0: (61) r2 = *(u32 *)(r1 +0)';
    expect(withSourceLines(log, lines)).toBe(log);
    expect(withSourceLines('0: (95) exit', [])).toBe('0: (95) exit');
  });
});

describe('btfInfoOf', () => {
  it("gives BPF_PROG_LOAD's records: instruction offsets, string offsets and line << 10 | column", () => {
    expect(btfInfoOf({ funcInfo: [{ insn: 0, typeId: 7 }], lineInfo: [line(2, 'x', 13, 9)] }, 4)).toEqual({
      progBtfFd: 4,
      funcInfo: [{ insnOff: 0, typeId: 7 }],
      lineInfo: [{ insnOff: 2, fileNameOff: 1, lineOff: 4, lineCol: (13 << 10) | 9 }],
    });
  });
});
