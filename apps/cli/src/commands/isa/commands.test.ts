import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ISA_FIXTURES, SHARED, SHARED_PRESENT, run } from './test-helpers.js';

const TMP = mkdtempSync(join(tmpdir(), 'ebpf-sim-isa-'));
const tmpFile = (name: string, text: string | Uint8Array): string => {
  const path = join(TMP, name);
  writeFileSync(path, text);
  return path;
};
const XDP = join(ISA_FIXTURES, 'xdp_counter.bpfel.o');

/** A failing command prints one line with no stack trace and exits 1 (2 for a wrong command line). */
function expectCleanFailure(result: { code: number; out: string; err: string }, message: RegExp, code = 1): void {
  expect(result.code).toBe(code);
  expect(result.out).toBe('');
  expect(result.err).toMatch(message);
  expect(result.err.trimEnd().split('\n')).toHaveLength(1);
}
const expectUsageError = (result: { code: number; out: string; err: string }, message: RegExp): void => expectCleanFailure(result, message, 2);

describe('ebpf-sim disasm', () => {
  it('prints the kernel syntax per code section with --syntax xlated', async () => {
    const r = await run('disasm', XDP, '--syntax', 'xlated');
    expect(r.code).toBe(0);
    expect(r.out).toContain('section .text:\n   0: (bf) r6 = r2\n');
    expect(r.out).toContain('   6: (85) call bpf_map_lookup_elem#1\n');
    expect(r.out).toContain('section xdp:\n   0: (b4) w0 = 0\n');
  });

  it('disassembles several objects one after the other, as llvm-objdump does', async () => {
    const both = await run('disasm', XDP, join(ISA_FIXTURES, 'tracing.o'));
    expect(both.out).toBe((await run('disasm', XDP)).out + (await run('disasm', join(ISA_FIXTURES, 'tracing.o'))).out);
  });

  it('limits the listing to --section', async () => {
    const r = await run('disasm', XDP, '--section', 'xdp');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\n.*xdp_counter\.bpfel\.o:\tfile format elf64-bpf\n\nDisassembly of section xdp:\n/);
    expect(r.out).not.toContain('section .text');
    expectCleanFailure(await run('disasm', XDP, '--section', 'nope'), /no code section named 'nope' \(code sections: \.text, xdp\)/);
  });

  it.skipIf(!SHARED_PRESENT)('disassembles a raw --hex program like the object it came from', async () => {
    const r = await run('disasm', '--hex', join(SHARED, 'bench', 'hex', 'parse_tcp.xdp.hex'));
    expect(r.code).toBe(0);
    const fromObject = (await run('disasm', join(SHARED, 'bench', 'obj', 'parse_tcp.xdp.o'))).out;
    // Same instruction lines; the raw program has no symbols, so its dummy symbol is named prog like the object's.
    expect(fromObject.endsWith(r.out)).toBe(true);
    const xlated = await run('disasm', '--hex', join(SHARED, 'bench', 'hex', 'parse_tcp.xdp.hex'), '--syntax', 'xlated');
    expect(xlated.out.split('\n')[0]).toBe('   0: (b7) r3 = 1');
  });

  it('reads big-endian --hex programs', async () => {
    const path = tmpFile('be.hex', 'b710000000000002\n9500000000000000\n');
    const r = await run('disasm', '--hex', path, '--endian', 'big');
    expect(r.out).toBe('0000000000000000 <prog>:\n       0:\tb7 10 00 00 00 00 00 02\tr1 = 0x2\n       1:\t95 00 00 00 00 00 00 00\texit\n');
  });

  it('fails cleanly on bad input', async () => {
    expectCleanFailure(await run('disasm', join(TMP, 'missing.o')), /missing\.o: cannot read file \(ENOENT\)/);
    expectCleanFailure(
      await run('disasm', tmpFile('text.o', 'hello world, not an ELF file')),
      /text\.o: bad ELF file at byte offset 0 \(0x0\): expected the ELF magic/,
    );
    const truncated = readFileSync(XDP).subarray(0, 200);
    expectCleanFailure(await run('disasm', tmpFile('cut.o', truncated)), /cut\.o: bad ELF file at byte offset \d+ .*section header table/);
    expectCleanFailure(await run('disasm', '--hex', tmpFile('bad.hex', 'b700000000000000\nb7000000zz000000\n')), /bad\.hex:2:9: invalid hex digit 'z'/);
    expectCleanFailure(
      await run('disasm', '--hex', tmpFile('short.hex', 'b7000000\n')),
      /short\.hex:1:1: expected one 8-byte slot \(16 hex digits\), found 8 digits/,
    );
    const badOpcode = tmpFile('badop.hex', 'ff00000000000000\n');
    expectCleanFailure(await run('disasm', '--hex', badOpcode, '--syntax', 'xlated'), /badop\.hex: invalid opcode \(insn 0, field opcode, value 0xff\)/);
    expectUsageError(await run('disasm', XDP, '--syntax', 'gnu'), /--syntax must be one of llvm, xlated, not 'gnu'/);
    expectUsageError(await run('disasm'), /missing FILE\.o/);
    expectUsageError(await run('disasm', '--hex', XDP, XDP), /--hex takes exactly one FILE/);
    expectUsageError(await run('disasm', XDP, '--bogus'), /unknown option '--bogus'/);
  });

  it('prints <unknown> for bytes no form decodes, as objdump does', async () => {
    const r = await run('disasm', '--hex', tmpFile('unknown.hex', 'ff00000000000000\n9500000000000000\n'));
    expect(r.out).toContain('       0:\tff 00 00 00 00 00 00 00\t<unknown>\n');
  });
});

describe('ebpf-sim asm', () => {
  it('assembles LLVM syntax with labels to one slot per line', async () => {
    const path = tmpFile('prog.s', 'prog:\n\tr0 = 0x2\n\tif r1 == 0x0 goto out\n\tr0 = 0x1122334455667788 ll\nout:\n\texit\n');
    const r = await run('asm', path);
    expect(r.code).toBe(0);
    expect(r.out).toBe('b700000002000000\n1501020000000000\n1800000088776655\n0000000044332211\n9500000000000000\n');
  });

  it('re-assembles an objdump listing section and writes --out', async () => {
    const listing = tmpFile('listing.txt', (await run('disasm', XDP)).out);
    const out = join(TMP, 'text.hex');
    const r = await run('asm', listing, '--section', '.text', '--out', out);
    expect(r).toEqual({ code: 0, out: '', err: '' });
    // account() in .text has no local call (whose source LLVM's text drops), so the bytes come back exactly.
    const back = (await run('disasm', '--hex', out)).out.replace(/<prog/g, '<account');
    expect((await run('disasm', XDP, '--section', '.text')).out.endsWith(back)).toBe(true);
    expectCleanFailure(await run('asm', listing), /listing holds 2 sections \(\.text, xdp\); pick one with --section NAME/);
  });

  it.skipIf(!SHARED_PRESENT)('assembles a bpf_conformance .data file to its program_hex', async () => {
    const tests = JSON.parse(readFileSync(join(SHARED, 'conformance', 'tests.json'), 'utf8')) as Array<{ file: string; program_hex: string }>;
    for (const name of ['ldxb.data', 'call_local.data', 'lddw.data', 'lock_cmpxchg.data']) {
      const r = await run('asm', join(SHARED, 'conformance', 'bpf_conformance', name));
      expect(r.code, name).toBe(0);
      expect(r.out.replace(/\n/g, ''), name).toBe(tests.find((t) => t.file === name)?.program_hex);
    }
  });

  it('assembles plain conformance syntax and big-endian output', async () => {
    const path = tmpFile('conf.s', 'mov %r0, 1\njeq %r1, 0, +1\nexit\n');
    expect((await run('asm', path, '--syntax', 'conformance')).out).toBe('b700000001000000\n1501010000000000\n9500000000000000\n');
    expect((await run('asm', path, '--syntax', 'conformance', '--endian', 'big')).out).toBe('b700000000000001\n1510000100000000\n9500000000000000\n');
  });

  it('reports errors as file:line:column without a stack trace', async () => {
    expectCleanFailure(await run('asm', tmpFile('bad.s', 'r0 = 1\n  r1 = *(u128 *)(r2 + 0)\n')), /bad\.s:2:10: expected a size/);
    expectCleanFailure(await run('asm', tmpFile('bad2.s', 'mov %r0, 1\nmov r0, 1\n'), '--syntax', 'conformance'), /bad2\.s:2:5: Invalid register: r0/);
    // In a .data file the line is the file's own line, comments and headers included.
    const data = tmpFile('bad.data', '# comment\n-- asm\nmov %r0, 1\n\n# note\nfrob %r1\nexit\n-- result\n0x1\n');
    expectCleanFailure(await run('asm', data), /bad\.data:6:1: Invalid mnemonic: frob/);
    expectCleanFailure(await run('asm', join(TMP, 'none.s')), /none\.s: cannot read file \(ENOENT\)/);
    expectUsageError(await run('asm', tmpFile('x.s', 'exit\n'), '--syntax', 'ebpf'), /--syntax must be one of llvm, conformance, not 'ebpf'/);
    expectCleanFailure(await run('asm', tmpFile('y.s', 'exit\n'), '--out', join(TMP, 'no', 'such', 'dir', 'o.hex')), /o\.hex: cannot write file \(ENOENT\)/);
  });
});

describe('ebpf-sim demo', () => {
  it('disassembles the shipped XDP program in both syntaxes with an explanation', async () => {
    const r = await run('demo');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('ebpf-sim demo: what the bytes of an eBPF program mean');
    expect(r.out).toContain('= opcode 0x85 (call.helper), dst r0, src 0, off 0, imm 1\n    = call 0x1');
    expect(r.out).toMatch(/Disassembly of section xdp:\n\n0000000000000000 <xdp_count_protocols>:\n/);
    expect(r.out).toContain('   6: (85) call bpf_map_lookup_elem#1');
    expectUsageError(await run('demo', 'extra'), /unexpected argument 'extra'/);
  });

  it('is listed by help', async () => {
    const r = await run('help');
    expect(r.out).toMatch(/demo\s+Show what the bytes/);
    expect(r.out).toMatch(/disasm\s+Disassemble/);
    expect(r.out).toMatch(/asm\s+Assemble/);
  });
});

describe('ebpf-sim isa-bench', () => {
  it('prints one table row per codec', async () => {
    const r = await run('isa-bench', '--insns', '400', '--rounds', '1');
    expect(r.code).toBe(0);
    const rows = r.out.trimEnd().split('\n');
    expect(rows[0]).toBe('| operation | instructions | median ms | instructions/s |');
    expect(rows.slice(2).map((row) => row.split(' | ')[0])).toEqual(
      ['encodeProgram', 'decodeProgram', 'formatLlvm', 'formatXlatedProgram', 'formatObjdumpSection', 'assembleLlvm', 'assembleConformance'].map(
        (n) => `| ${n}`,
      ),
    );
    expectUsageError(await run('isa-bench', '--insns', 'many'), /--insns must be an integer from 1 to 1000000, not 'many'/);
  });
});
