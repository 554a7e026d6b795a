/**
 * The program's BTF line and function records on their way to the kernel, and back in its log: func_info and
 * line_info for BPF_PROG_LOAD as libbpf passes them (prog_btf_fd, struct bpf_func_info / bpf_line_info with the
 * instruction offsets of the linked program), and a verifier log with the kernel's `; source @ file:line` lines.
 */
import type { BpfFuncInfoRecord, BpfLineInfoRecord } from '@ebpf-sim/uapi';
import type { ObjectProgram, ProgramLineInfo } from './object.js';

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

/** The instruction a verifier log line prints (`12: (71) r2 = ...`), or undefined for other lines. */
const INSN_LINE = /^(\d+): \(/;
/** A source line as verbose_linfo prints it: `; <line> @ <file>:<n>`. */
const SOURCE_LINE = /^; .* @ [^ ]+:\d+$/m;

/**
 * The verifier's log with the source line of each instruction, as Linux's verbose_linfo prints it before an
 * instruction whose line_info record differs from the last one printed: `; ` and the line without leading
 * blanks (ltrim), ` @ `, the file's base name, `:` and the line number. A log that already has such lines (a
 * kernel that prints them itself) is returned as it is.
 */
export function withSourceLines(log: string, lineInfo: readonly ProgramLineInfo[]): string {
  if (lineInfo.length === 0 || SOURCE_LINE.test(log)) return log;
  let previous: ProgramLineInfo | undefined;
  const out: string[] = [];
  for (const line of log.split('\n')) {
    const match = INSN_LINE.exec(line);
    if (match !== null) {
      const info = findLineInfo(lineInfo, Number(match[1]));
      if (info !== undefined && info !== previous) {
        out.push(`; ${info.line.trimStart()} @ ${info.fileName.slice(info.fileName.lastIndexOf('/') + 1)}:${info.lineNumber}`);
        previous = info;
      }
    }
    out.push(line);
  }
  return out.join('\n');
}

/** find_linfo: the last record at or before instruction `insn` (records are sorted by instruction). */
function findLineInfo(lineInfo: readonly ProgramLineInfo[], insn: number): ProgramLineInfo | undefined {
  let lo = 0;
  let hi = lineInfo.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((lineInfo[mid]?.insn ?? 0) <= insn) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : lineInfo[lo - 1];
}
