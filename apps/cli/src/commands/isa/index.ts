import type { Command } from '../../command.js';
import { disasmCommand } from './disasm.js';

/** The isa commands: disassembler, assembler and the demo. */
export const isaCommands: readonly Command[] = [disasmCommand];
