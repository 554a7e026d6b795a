/**
 * The program's BTF line and function records on their way to the kernel: func_info and line_info for
 * BPF_PROG_LOAD as libbpf passes them (prog_btf_fd, struct bpf_func_info / bpf_line_info with the instruction
 * offsets of the linked program). The kernel's verifier prints the `; source @ file:line` lines itself (as
 * Linux's verbose_linfo does), so its log is shown as it is.
 */
import type { BpfFuncInfoRecord, BpfLineInfoRecord } from '@ebpf-sim/uapi';
import type { ObjectProgram } from './object.js';

/** BPF_LINE_INFO_LINE_NUM's shift: line_col is line << 10 | column. */
const LINE_COL_SHIFT = 10;

/** BPF_PROG_LOAD's prog_btf_fd, func_info and line_info for a program of an object whose BTF is loaded as `btfFd`. */
export function btfInfoOf(
  prog: Pick<ObjectProgram, 'funcInfo' | 'lineInfo'>,
  btfFd: number,
): { progBtfFd: number; funcInfo: BpfFuncInfoRecord[]; lineInfo: BpfLineInfoRecord[] } {
  return {
    progBtfFd: btfFd,
    funcInfo: prog.funcInfo.map((f) => ({ insnOff: f.insn, typeId: f.typeId })),
    lineInfo: prog.lineInfo.map((l) => ({
      insnOff: l.insn,
      fileNameOff: l.fileNameOff,
      lineOff: l.lineOff,
      lineCol: (l.lineNumber << LINE_COL_SHIFT) | l.column,
    })),
  };
}
