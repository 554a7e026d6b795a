/**
 * V8 optimizes no function with more than 60 KiB of bytecode (`--max-optimized-bytecode-size`), and an
 * unoptimized interpreter runs about 20x slower: a new case in `runSegment` can silently cost that much. This
 * test reads the bytecode length of `runSegment` from the built bundle (what users run; `pnpm run check`
 * builds before it tests) and fails before the limit is crossed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = join(import.meta.dirname, '..', 'dist', 'index.js');
/** V8's `--max-optimized-bytecode-size` default (60 KiB). */
const V8_LIMIT = 60 * 1024;

const built = existsSync(DIST);
if (!built) console.warn(`runSegment bytecode size check skipped: ${DIST} is absent (run the build first)`);

describe.skipIf(!built)('interpreter bytecode size', () => {
  it("runSegment stays under V8's optimization limit", () => {
    // Run `r0 = 2; exit` once (without the primer) so V8 compiles runSegment and prints its bytecode.
    const script = [
      `const m = await import(${JSON.stringify(pathToFileURL(DIST).href)});`,
      'const prog = m.loadProgram(new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]));',
      'new m.Vm({ prime: false }).run(prog);',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--print-bytecode', '--print-bytecode-filter=runSegment', '--input-type=module', '-e', script], {
      encoding: 'latin1',
      maxBuffer: 64 * 1024 * 1024,
    });
    const match = /Bytecode length: (\d+)/.exec(out);
    expect(match, 'V8 printed no bytecode for runSegment (renamed by the bundler?)').not.toBeNull();
    const length = Number(match?.[1]);
    expect(length, `runSegment has ${length} bytes of bytecode; move rare forms to runCold`).toBeLessThan(V8_LIMIT);
  });
});
