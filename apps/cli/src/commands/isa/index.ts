import type { Command } from '../../command.js';

/** The isa commands; this group's owner adds each command module here. */
export const isaCommands: readonly Command[] = [];
