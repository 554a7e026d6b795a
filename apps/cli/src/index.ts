export { main } from './main.js';
export { CliError } from './command.js';
export type { CliIo, Command } from './command.js';
export { COMMANDS } from './commands/index.js';
