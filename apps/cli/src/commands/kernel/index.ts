import type { Command } from '../../command.js';
import { kernelBenchCommand } from './kernel-bench.js';
import { simCommand } from './sim.js';

/** The kernel commands. */
export const kernelCommands: readonly Command[] = [simCommand, kernelBenchCommand];
