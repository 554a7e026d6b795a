/**
 * The program's line_info in the verifier's log (Linux kernel/bpf/log.c verbose_linfo, find_linfo): before the
 * text of an instruction, the source line its line_info record names, as `; <line> @ <file>:<n>`, once per new
 * record. The records arrive as data with PROG_LOAD (the bpf subsystem reads them from the program's BTF).
 */

/** One bpf_line_info record, its strings resolved from the program's BTF. */
export interface LineInfoView {
  /** First instruction (slot) the record covers. */
  readonly insn: number;
  /** The source line (BTF string at line_off), as the compiler wrote it. */
  readonly line: string;
  /** The file name (BTF string at file_name_off), as the compiler wrote it (may hold directories). */
  readonly file: string;
  /** file_name_off itself: verbose_linfo compares records by it, not by the string. */
  readonly fileOff: number;
  /** BPF_LINE_INFO_LINE_NUM(line_col). */
  readonly lineNumber: number;
  /** BPF_LINE_INFO_LINE_COL(line_col): Linux does not print it. */
  readonly column: number;
}

/**
 * The source-line printer of one verifier pass. `prev` is env->prev_linfo: reset at the start of each pass
 * (do_check_common), and kept when the log is cut back on a pop (Linux's pop_stack does not restore it).
 */
export class LineInfoPrinter {
  private prev = -1;

  /** `records` sorted by instruction, the first at instruction 0 (check_btf_line made sure of both). */
  constructor(private readonly records: readonly LineInfoView[]) {}

  /** do_check_common: a new pass starts with no previous record. */
  reset(): void {
    this.prev = -1;
  }

  /**
   * verbose_linfo(env, insn, "; "): the line to print before instruction `insn`'s text, or null when its record
   * is the one printed last, or names the same file and line (a different column only), or there is none.
   */
  lineFor(insn: number): string | null {
    const at = findLinfo(this.records, insn);
    if (at < 0 || at === this.prev) return null;
    const rec = this.records[at];
    if (!rec) return null;
    const prev = this.records[this.prev];
    // Same file and line, another column: Linux skips it and keeps the previous record as the one printed.
    if (prev !== undefined && prev.fileOff === rec.fileOff && prev.lineNumber === rec.lineNumber) return null;
    this.prev = at;
    const slash = rec.file.lastIndexOf('/');
    return `; ${ltrim(rec.line)} @ ${slash < 0 ? rec.file : rec.file.slice(slash + 1)}:${rec.lineNumber}`;
  }
}

/** Linux ltrim: leading spaces and tabs go (isspace). */
function ltrim(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** find_linfo: the last record at or before `insn` (a lower-bound search over records sorted by instruction), -1 when none. */
function findLinfo(records: readonly LineInfoView[], insn: number): number {
  if (records.length === 0) return -1;
  let l = 0;
  let r = records.length - 1;
  if ((records[0]?.insn ?? 0) > insn) return -1;
  while (l < r) {
    const m = l + ((r - l + 1) >> 1);
    if ((records[m]?.insn ?? 0) <= insn) l = m;
    else r = m - 1;
  }
  return l;
}
