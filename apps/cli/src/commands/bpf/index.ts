import type { Command } from '../../command.js';
import { bpfBenchCommand } from './bpf-bench.js';
import { hookBenchCommand } from './hook-bench.js';

/** The bpf subsystem's commands. */
export const bpfCommands: readonly Command[] = [bpfBenchCommand, hookBenchCommand];
