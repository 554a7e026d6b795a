import type { Command } from '../../command.js';

/** The kernel commands; this group's owner adds each command module here. */
export const kernelCommands: readonly Command[] = [];
