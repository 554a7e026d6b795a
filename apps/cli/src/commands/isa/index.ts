import type { Command } from '../../command.js';
import { asmCommand } from './asm.js';
import { demoCommand } from './demo.js';
import { disasmCommand } from './disasm.js';
import { isaBenchCommand } from './isa-bench.js';

/** The isa commands: the demo, the disassembler, the assembler and their benchmark. */
export const isaCommands: readonly Command[] = [demoCommand, disasmCommand, asmCommand, isaBenchCommand];
