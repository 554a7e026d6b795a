/**
 * The shared benchmark programs (../shared/bench/hex) as XDP programs. The *.xdp variants must pass; the
 * *.ubpf variants read r2 (the uBPF length argument), which XDP does not set: Linux 6.18 on this machine
 * refuses all but `empty` with `R2 !read_ok` after 2 processed instructions, and so must we.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../maps.js';
import { XDP } from '../prog-types/index.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');
const HEX = join(repoRoot, '..', 'shared', 'bench', 'hex');
if (!existsSync(HEX)) console.warn(`skipping the benchmark verifier tests: ${HEX} is absent`);

/** Linux 6.18's processed-instruction counts (bpftool -d prog load on this machine), for the report. */
const KERNEL_PROCESSED: Readonly<Record<string, number>> = {
  empty: 2,
  parse_tcp: 128,
  csum1500: 5273,
  fnv1a_256: 1807,
  alu64_xorshift: 15015,
  divmod: 11018,
  alu32_jmp32: 141673,
  sort16_stack: 491482,
};

describe.skipIf(!existsSync(HEX))('benchmark objects as XDP programs', () => {
  const files = existsSync(HEX) ? readdirSync(HEX).sort() : [];
  for (const f of files.filter((n) => n.endsWith('.xdp.hex'))) {
    const name = f.replace('.xdp.hex', '');
    it(`${name}.xdp is accepted`, { timeout: 30_000 }, () => {
      const r = verify(fromHex(readFileSync(join(HEX, f), 'utf8')), { progType: XDP, registry: createRegistry(), logLevel: 1 });
      expect(r.accepted, r.log.slice(-2000)).toBe(true);
      expect(r.log).toMatch(/^processed \d+ insns \(limit 1000000\)/);
      const kernel = KERNEL_PROCESSED[name];
      // The straight-line and single-loop programs are explored exactly as Linux explores them.
      if (kernel !== undefined && kernel < 20_000) expect(r.stats.processed).toBe(kernel);
    });
  }
  for (const f of files.filter((n) => n.endsWith('.ubpf.hex'))) {
    const name = f.replace('.ubpf.hex', '');
    it(`${name}.ubpf as XDP: ${name === 'empty' ? 'accepted' : 'R2 !read_ok'} (checked against Linux 6.18)`, () => {
      const bytes = fromHex(readFileSync(join(HEX, f), 'utf8'));
      const r = verify(bytes, { progType: XDP, registry: createRegistry(), logLevel: 1 });
      if (name === 'empty') {
        // `r0 = 2; exit`: Linux walks both instructions and accepts.
        expect(r.accepted).toBe(true);
        expect(r.stats.processed).toBe(bytes.length / 8);
      } else {
        // Every other body first reads r2 in its second instruction, where Linux stops: 2 processed.
        expect(r.accepted).toBe(false);
        expect(r.log).toContain('R2 !read_ok\n');
        expect(r.error?.insn).toBe(1);
        expect(r.stats.processed).toBe(2);
      }
    });
  }
});
