import { describe, expect, it } from 'vitest';
import type { ProgramLineInfo } from './object.js';
import { btfInfoOf } from './source-lines.js';

const line = (insn: number, text: string, lineNumber: number, column = 5): ProgramLineInfo => ({
  insn,
  fileNameOff: 1,
  lineOff: 2 + insn,
  fileName: '/src/dir/prog.bpf.c',
  line: text,
  lineNumber,
  column,
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
