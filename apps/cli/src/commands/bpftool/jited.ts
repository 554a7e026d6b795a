/**
 * `prog dump jited`: the JIT image as bpftool prints Linux's (jit_disasm.c with the LLVM disassembler), for
 * this kernel's architecture: the image is a WebAssembly module, so its instructions are WebAssembly's.
 *
 * bpftool prints, per function of the image, the symbol name then `%4x:\t<instruction>` lines whose offsets
 * start at 0 in each function, and with `opcodes` the instruction's bytes on the next line after a tab. Here the
 * functions are those of the module: the imports (the kernel's entry points: helpers, the access checker, the
 * kernel functions of inlined map lookups) are listed first as `;` lines, then every defined function with its
 * signature and locals, its nesting shown by indentation.
 */
import { WasmDecodeError, disassembleWasm, type WasmInstruction } from '@ebpf-sim/vm';
import { CliError } from '../../command.js';
import type { BtfJsonWriter } from '@ebpf-sim/btf';
import { hexBytes } from './print.js';

function decode(image: Uint8Array): ReturnType<typeof disassembleWasm> {
  try {
    return disassembleWasm(image);
  } catch (e) {
    if (e instanceof WasmDecodeError) throw new CliError(`can't disassemble the JIT image: ${e.message}`);
    throw e;
  }
}

const instructionText = (insn: WasmInstruction): string =>
  `${'  '.repeat(Math.max(0, insn.depth - 1))}${insn.op}${insn.operands.length > 0 ? `\t${insn.operands.join(' ')}` : ''}`;

/** The plain listing; `symbol` is the program's `bpf_prog_<tag>_<name>`. */
export function formatJitedListing(image: Uint8Array, symbol: string, opcodes: boolean): string {
  const module = decode(image);
  let out = `${symbol}:\n`;
  for (const line of module.imports) out += `; ${line}\n`;
  for (const line of module.exports) out += `; ${line}\n`;
  for (const fn of module.functions) {
    out += `\n${[`${fn.name}:`, fn.signature, fn.locals].filter(Boolean).join(' ')}\n`;
    for (const insn of fn.instructions) {
      out += `${insn.offset.toString(16).padStart(4)}:\t${instructionText(insn)}\n`;
      if (opcodes) out += `\t${hexBytes(insn.bytes)}\n`;
    }
  }
  return out;
}

/** The JSON form: one object per function, its instructions as bpftool's LLVM backend writes them. */
export function writeJitedJson(w: BtfJsonWriter, image: Uint8Array, opcodes: boolean): void {
  const module = decode(image);
  w.startArray();
  for (const fn of module.functions) {
    w.startObject();
    w.name('name');
    w.string(fn.name);
    w.name('proto');
    w.string([fn.signature, fn.locals].filter(Boolean).join(' '));
    w.name('insns');
    w.startArray();
    for (const insn of fn.instructions) {
      w.startObject();
      w.name('pc');
      w.string(`0x${insn.offset.toString(16)}`);
      w.name('operation');
      w.string(insn.op);
      w.name('operands');
      w.startArray();
      for (const operand of insn.operands) w.string(operand);
      w.endArray();
      if (opcodes) {
        w.name('opcodes');
        w.startArray();
        for (const byte of insn.bytes) w.string(`0x${byte.toString(16).padStart(2, '0')}`);
        w.endArray();
      }
      w.endObject();
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
}
