import type { Command } from '../../command.js';
import { asmCommand } from './asm.js';
import { demoCommand } from './demo.js';
import { disasmCommand } from './disasm.js';

/** The isa commands: the demo, the disassembler and the assembler. */
export const isaCommands: readonly Command[] = [demoCommand, disasmCommand, asmCommand];
