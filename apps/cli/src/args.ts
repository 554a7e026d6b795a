import { CliError } from '../../command.js';

/** Run a parseArgs call, turning its TypeError into a usage error (exit code 2) that shows the usage. */
export function parseWith<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n${usage}`, 2);
  }
}

/** An integer option within [min, max], or the default. */
export function intOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}, not '${value}'`, 2);
  return parsed;
}
