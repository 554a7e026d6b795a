import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENGINES, HexParseError, VmLoadError, bytesFromHex, loadRaw, programFromHex, type EngineName, type MemoryChecks, type Program } from '@ebpf-sim/vm';
import { IsaError } from '@ebpf-sim/isa';
import { CliError } from '../../command.js';

export function pickEngine(value: string | undefined): EngineName {
  if (value === undefined) return 'interp';
  if (!(ENGINES as readonly string[]).includes(value)) throw new CliError(`--engine must be one of ${ENGINES.join(', ')}, not '${value}'`, 2);
  return value as EngineName;
}

const CHECK_MODES: readonly MemoryChecks[] = ['checked', 'unchecked'];

/** `--checks`: the JIT's memory-check mode (checked unless asked; unchecked is for verified programs). */
export function pickChecks(value: string | undefined): MemoryChecks {
  if (value === undefined) return 'checked';
  if (!(CHECK_MODES as readonly string[]).includes(value)) throw new CliError(`--checks must be one of ${CHECK_MODES.join(', ')}, not '${value}'`, 2);
  return value as MemoryChecks;
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Hex text to bytes; `where` names the source (a file or an option) in the error. */
export function hexBytes(text: string, where: string, program: boolean): Uint8Array {
  try {
    return program ? programFromHex(text) : bytesFromHex(text);
  } catch (error) {
    if (error instanceof HexParseError) throw new CliError(`${where}:${error.line}:${error.column}: ${error.reason}`);
    throw error;
  }
}

/** Load a raw program, reporting bad bytecode with the source name. */
export function loadProgramBytes(bytes: Uint8Array, where: string): Program {
  try {
    return loadRaw(bytes, where);
  } catch (error) {
    if (error instanceof IsaError || error instanceof VmLoadError) throw new CliError(`${where}: ${error.message.replace(/\n\s*/g, '; ')}`);
    throw error;
  }
}

/** `../shared/bench` next to the repository (found from this module and from the working directory), or null. */
export function defaultBenchDir(): string | null {
  const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
  const candidates = [join(repoRoot, '..', 'shared', 'bench'), resolve('..', 'shared', 'bench'), resolve('shared', 'bench')];
  return candidates.find((dir) => existsSync(join(dir, 'manifest.json'))) ?? null;
}
