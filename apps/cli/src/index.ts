export { main, cliVersion } from './main.js';
export { CliError, ExitCode, UsageError } from './command.js';
export type { CliIo, Command } from './command.js';
export { COMMANDS } from './commands/index.js';
