import type { Command } from '../../command.js';
import { verifyCorpusCommand } from './corpus.js';
import { verifyBenchCommand } from './verify-bench.js';
import { verifyCommand } from './verify.js';

/** The verifier commands: verifying a program, the verifier benchmark, and the verifier corpus beside Linux. */
export const verifierCommands: readonly Command[] = [verifyCommand, verifyBenchCommand, verifyCorpusCommand];
