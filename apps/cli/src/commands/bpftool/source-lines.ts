/**
 * The BTF annotations of `prog dump xlated`, as bpftool's xlated_dumper.c prints them: the function's one-line
 * prototype above its first instruction (func_info), and `; source` lines from line_info (btf_dump_linfo_plain /
 * btf_dump_linfo_json), found the way libbpf's bpf_prog_linfo__lfind finds them.
 */
import { BPF_FUNC_INFO, BPF_LINE_INFO } from '@ebpf-sim/uapi';
import { btfTypeOnly, type Btf } from '@ebpf-sim/btf';

/** What the kernel gave for one program: its BTF and the records at xlated offsets. */
export interface ProgSource {
  readonly btf: Btf;
  readonly funcInfo: Uint8Array;
  readonly lineInfo: Uint8Array;
}

/** One line record as bpftool shows it. */
export interface SourceLine {
  readonly src: string;
  readonly file: string;
  readonly lineNum: number;
  readonly lineCol: number;
}

/** BPF_LINE_INFO_LINE_NUM / BPF_LINE_INFO_LINE_COL. */
const LINE_SHIFT = 10;
const COL_MASK = 0x3ff;

const utf8 = new TextDecoder();

/** btf__name_by_offset of a string-section offset: the NUL-terminated string there, or undefined past the section. */
function btfString(btf: Btf, offset: number): string | undefined {
  if (offset >= btf.strings.length) return undefined;
  const end = btf.strings.indexOf(0, offset);
  return utf8.decode(btf.strings.subarray(offset, end < 0 ? btf.strings.length : end));
}

/** Walks a program's slots in order, giving what bpftool prints before each. */
export class XlatedAnnotations {
  private nextFunc = 0;
  private nrSkip = 0;
  private readonly funcs: DataView;
  private readonly lines: DataView;
  private readonly nrLines: number;

  constructor(private readonly source: ProgSource) {
    this.funcs = new DataView(source.funcInfo.buffer, source.funcInfo.byteOffset, source.funcInfo.byteLength);
    this.lines = new DataView(source.lineInfo.buffer, source.lineInfo.byteOffset, source.lineInfo.byteLength);
    this.nrLines = source.lineInfo.length / BPF_LINE_INFO.size;
  }

  /** The prototype when slot `slot` starts the next function of func_info ('' when bpftool can't print its type). */
  proto(slot: number): string | undefined {
    const at = this.nextFunc * BPF_FUNC_INFO.size;
    if (at + BPF_FUNC_INFO.size > this.funcs.byteLength) return undefined;
    if (this.funcs.getUint32(at + BPF_FUNC_INFO.insn_off, true) !== slot) return undefined;
    this.nextFunc++;
    return btfTypeOnly(this.source.btf, this.funcs.getUint32(at + BPF_FUNC_INFO.type_id, true));
  }

  /**
   * bpf_prog_linfo__lfind(prog_linfo, slot, nr_skip): the last record at or before `slot`, looking only from the
   * first not yet printed, and none when that one is past `slot`. Each record found counts as printed.
   */
  line(slot: number): SourceLine | undefined {
    if (this.nrSkip >= this.nrLines) return undefined;
    const offAt = (i: number): number => this.lines.getUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.insn_off, true);
    if (slot < offAt(this.nrSkip)) return undefined;
    let found = this.nrSkip;
    while (found + 1 < this.nrLines && offAt(found + 1) <= slot) found++;
    this.nrSkip++;
    const base = found * BPF_LINE_INFO.size;
    const src = btfString(this.source.btf, this.lines.getUint32(base + BPF_LINE_INFO.line_off, true));
    if (src === undefined) return undefined;
    const lineCol = this.lines.getUint32(base + BPF_LINE_INFO.line_col, true);
    return {
      src: src.trimStart(),
      file: btfString(this.source.btf, this.lines.getUint32(base + BPF_LINE_INFO.file_name_off, true)) ?? '',
      lineNum: lineCol >>> LINE_SHIFT,
      lineCol: lineCol & COL_MASK,
    };
  }
}

/** btf_dump_linfo_plain with the "; " prefix. */
export function formatSourceLine(line: SourceLine, linum: boolean): string {
  return linum ? `; ${line.src} [file:${line.file} line_num:${line.lineNum} line_col:${line.lineCol}]\n` : `; ${line.src}\n`;
}
