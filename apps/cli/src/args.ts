import { CliError } from './command.js';

/**
 * Run an argument parser (usually `node:util` parseArgs), turning its errors (unknown option, missing value)
 * into one usage error that shows the command's usage. Exit code 2 unless the command documents another.
 */
export function parseWith<T>(usage: string, parse: () => T, exitCode = 2): T {
  try {
    return parse();
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n${usage}`, exitCode);
  }
}

/** An integer option within [min, max], or the default. */
export function intOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}, not '${value}'`, 2);
  return parsed;
}
