import type { Command } from '../../command.js';

/** The verifier commands; this group's owner adds each command module here. */
export const verifierCommands: readonly Command[] = [];
