import type { Command } from '../../command.js';

/** The vm commands; this group's owner adds each command module here. */
export const vmCommands: readonly Command[] = [];
