/** The bench suite from its directory (`../shared/bench`): manifest.json, the hex programs, input.bin, the README. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAnchors, type BenchSuite } from '../bench.js';
import { loadRaw, programFromHex } from '../raw.js';

interface Manifest {
  readonly programs: Record<string, { readonly ubpf: { readonly hex: string; readonly executed: number; readonly ret: string } }>;
  readonly input: string;
}

/** Read manifest.json, the hex programs, input.bin and the README anchors from a bench directory. */
export function loadBenchSuite(dir: string): BenchSuite {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const programs = Object.entries(manifest.programs).map(([name, entry]) => ({
    name,
    program: loadRaw(programFromHex(readFileSync(join(dir, entry.ubpf.hex), 'utf8')), name),
    executed: entry.ubpf.executed,
    expected: BigInt(entry.ubpf.ret),
  }));
  return {
    dir,
    input: new Uint8Array(readFileSync(join(dir, manifest.input))),
    programs,
    anchors: parseAnchors(readFileSync(join(dir, 'README.md'), 'utf8')),
  };
}
