import type { Command } from '../../command.js';
import { benchCommand } from './bench.js';
import { conformanceCommand } from './conformance.js';
import { conformancePluginCommand } from './conformance-plugin.js';
import { runCommand } from './run.js';

/** The vm commands: running raw programs, the bpf_conformance plugin and runner, the benchmark. */
export const vmCommands: readonly Command[] = [runCommand, conformancePluginCommand, conformanceCommand, benchCommand];
