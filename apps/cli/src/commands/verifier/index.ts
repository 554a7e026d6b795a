import type { Command } from '../../command.js';
import { verifyBenchCommand } from './verify-bench.js';
import { verifyCommand } from './verify.js';

/** The verifier commands: verifying a program, and the verifier benchmark. */
export const verifierCommands: readonly Command[] = [verifyCommand, verifyBenchCommand];
