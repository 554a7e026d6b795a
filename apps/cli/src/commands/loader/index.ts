import type { Command } from '../../command.js';
import { loaderBenchCommand } from './loader-bench.js';

/** The loader's commands. */
export const loaderCommands: readonly Command[] = [loaderBenchCommand];
