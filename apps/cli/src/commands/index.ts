import type { Command } from '../command.js';
import { bpfCommands } from './bpf/index.js';
import { bpftoolCommands } from './bpftool/index.js';
import { attachDemoCommand } from './demo/attach-demo.js';
import { isaCommands } from './isa/index.js';
import { kernelCommands } from './kernel/index.js';
import { loaderCommands } from './loader/index.js';
import { verifierCommands } from './verifier/index.js';
import { vmCommands } from './vm/index.js';

/** Every sub-command, in the order `ebpf-sim help` lists them. Each group lists its own commands. */
export const COMMANDS: readonly Command[] = [
  ...isaCommands,
  ...vmCommands,
  ...verifierCommands,
  ...kernelCommands,
  ...bpfCommands,
  ...loaderCommands,
  ...bpftoolCommands,
  attachDemoCommand,
];
