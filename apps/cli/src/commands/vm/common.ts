import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENGINES, HexParseError, VmLoadError, bytesFromHex, loadRaw, programFromHex, type MemoryChecks, type Program } from '@ebpf-sim/vm';
import { IsaError } from '@ebpf-sim/isa';
import { opt } from '../../args.js';
import { CliError } from '../../command.js';
import { repoRoot } from '../../repo.js';

/** `--engine`, as run, bench, conformance and conformance-plugin take it. */
export const engineOption = opt.choice(ENGINES, {
  value: 'E',
  default: 'interp',
  help: 'execution engine',
});

const CHECK_MODES: readonly MemoryChecks[] = ['checked', 'unchecked'];

/** `--checks`: the JIT's memory-check mode (checked unless asked; unchecked is for verified programs). */
export const checksOption = opt.choice(CHECK_MODES, {
  value: 'C',
  default: 'checked',
  help: "JIT memory checks: checked (every access tested, the interpreter's exact faults) or unchecked\n(for verified programs: no range tests; WebAssembly's bounds still protect the host)",
});

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
  const candidates = [join(repoRoot(), '..', 'shared', 'bench'), resolve('..', 'shared', 'bench'), resolve('shared', 'bench')];
  return candidates.find((dir) => existsSync(join(dir, 'manifest.json'))) ?? null;
}
