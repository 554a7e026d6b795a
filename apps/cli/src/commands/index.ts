import type { Command } from '../command.js';

/** Every sub-command, in the order `ebpf-sim help` lists them. Add a command by adding its module here. */
export const COMMANDS: readonly Command[] = [];
