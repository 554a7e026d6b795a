/**
 * `prog dump xlated PROG visual`: the program's control flow graph in DOT, as bpftool's cfg.c draws it. Functions
 * start at the entry and at every bpf-to-bpf call target; basic blocks start at a function's first instruction, at
 * every jump target and after every conditional jump; each block's last instruction decides its edges (a jump: the
 * next block and the target, JA: the target, anything else, exit included, falls through to the next block); each
 * function has an ENTRY and an EXIT node.
 */
import { decodeProgram, formatXlated, PseudoCall, type Insn } from '@ebpf-sim/isa';

const JMP_CLASSES: ReadonlySet<number> = new Set([0x05, 0x06]);
const OP_JA = 0x00;
const OP_CALL = 0x80;
const OP_EXIT = 0x90;

const isJump = (insn: Insn): boolean => JMP_CLASSES.has(insn.code & 0x07);
const op = (insn: Insn): number => insn.code & 0xf0;
/** The slot a jump goes to (cur + off + 1, as cfg.c counts in struct bpf_insn). */
const target = (insn: Insn): number => insn.slot + insn.off + 1;

/** print_insn_for_graph's escapes: `<`, `>`, `|` and `&` get a backslash. */
const escape = (text: string): string => text.replace(/[<>|&]/g, (c) => `\\${c}`);

function block(fn: number, bb: number, insns: readonly Insn[]): string {
  const lines = insns.map((insn, i) => `${i === 0 ? '' : ' | '}${String(insn.slot).padStart(4)}: ${escape(formatXlated(insn, insn.form))}\\l\\\n`);
  return `\tfn_${fn}_bb_${bb} [shape=record,style=filled,label="{${lines.join('')}}"];\n\n`;
}

const edge = (fn: number, from: number, to: number): string =>
  `\tfn_${fn}_bb_${from}:s -> fn_${fn}_bb_${to}:n [style="solid,bold", color=black, weight=10, constraint=true];\n`;

/** The DOT text bpftool prints for these xlated instructions. */
export function formatXlatedGraph(xlated: Uint8Array): string {
  const insns = decodeProgram(xlated);
  const bySlot = new Map(insns.map((insn) => [insn.slot, insn]));
  const starts = new Set([0]);
  for (const insn of insns) if (op(insn) === OP_CALL && isJump(insn) && insn.src === PseudoCall.LOCAL) starts.add(insn.slot + insn.imm + 1);
  const funcStarts = [...starts].sort((a, b) => a - b);
  let out = 'digraph "DOT graph for eBPF program" {\n';
  funcStarts.forEach((start, fn) => {
    const end = funcStarts[fn + 1] ?? Infinity;
    const body = insns.filter((insn) => insn.slot >= start && insn.slot < end);
    const heads = new Set([start]);
    for (const insn of body) {
      if (!isJump(insn) || op(insn) === OP_EXIT || op(insn) === OP_CALL) continue;
      heads.add(target(insn));
      if (op(insn) !== OP_JA) heads.add(insn.slot + 1);
    }
    const headList = [...heads].filter((h) => bySlot.has(h) && h >= start && h < end).sort((a, b) => a - b);
    // Blocks are numbered from 2 in order: 0 is ENTRY, 1 is EXIT.
    const blocks = headList.map((head, i) => body.filter((insn) => insn.slot >= head && insn.slot < (headList[i + 1] ?? end)));
    const exitBb = 1;
    const bbOfHead = new Map(headList.map((head, i) => [head, i + 2]));
    out += `subgraph "cluster_${fn}" {\n\tstyle="dashed";\n\tcolor="black";\n\tlabel="func_${fn} ()";\n`;
    out += `\tfn_${fn}_bb_0 [shape=Mdiamond,style=filled,label="ENTRY"];\n\n`;
    blocks.forEach((insnsOf, i) => (out += block(fn, i + 2, insnsOf)));
    out += `\tfn_${fn}_bb_${exitBb} [shape=Mdiamond,style=filled,label="EXIT"];\n\n`;
    out += edge(fn, 0, blocks.length > 0 ? 2 : exitBb);
    blocks.forEach((insnsOf, i) => {
      const bb = i + 2;
      const next = i + 1 < blocks.length ? bb + 1 : exitBb;
      const tail = insnsOf[insnsOf.length - 1];
      if (tail === undefined || !isJump(tail) || op(tail) === OP_CALL || op(tail) === OP_EXIT) {
        out += edge(fn, bb, next);
        return;
      }
      const to = bbOfHead.get(target(tail)) ?? exitBb;
      if (op(tail) !== OP_JA) out += edge(fn, bb, next);
      out += edge(fn, bb, to);
    });
    out += `\tfn_${fn}_bb_0:s -> fn_${fn}_bb_${exitBb}:n [style="invis", constraint=true];\n}\n`;
  });
  return `${out}}\n`;
}
