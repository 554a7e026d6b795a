/**
 * Golden tests: `ebpf-sim disasm` against committed `llvm-objdump-19 -d` output (packages/isa/fixtures, made by
 * its build.sh), byte for byte; the fixtures together hold every form of the opcode table; and assembling each
 * disassembly gives back the section's bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { programSections, readElf } from '@ebpf-sim/elf';
import { OPCODE_TABLE, assembleLlvmSections, encodeProgram, listingLines, llvmTextReading, toHex } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { ISA_FIXTURES, SHARED, SHARED_PRESENT, run } from './test-helpers.js';

const BENCH_OBJ = join(SHARED, 'bench', 'obj');
const BENCH_GOLDEN = join(ISA_FIXTURES, 'bench');

const ownObjects = readdirSync(ISA_FIXTURES)
  .filter((f) => f.endsWith('.o'))
  .map((f) => ({ path: join(ISA_FIXTURES, f), golden: join(ISA_FIXTURES, f.replace(/\.o$/, '')) }));
/** Objects whose code sections are all instructions (edge_cases.o holds data and padding on purpose). */
const codeOnlyObjects = ownObjects.filter((o) => basename(o.path) !== 'edge_cases.o');
const benchObjects = SHARED_PRESENT
  ? readdirSync(BENCH_OBJ)
      .filter((f) => f.endsWith('.o'))
      .map((f) => ({ path: join(BENCH_OBJ, f), golden: join(BENCH_GOLDEN, f.replace(/\.o$/, '')) }))
  : [];

/** The golden files were written with the bare file name; objdump prints the path as given. */
function goldenFor(golden: string, variant: 'objdump' | 'objdump-v4', path: string): string {
  return readFileSync(`${golden}.${variant}.txt`, 'utf8').replace(/^\n[^\n]*:\tfile format /, `\n${path}:\tfile format `);
}

async function expectGolden(o: { path: string; golden: string }): Promise<void> {
  const plain = await run('disasm', o.path);
  expect(plain.err).toBe('');
  expect(plain.code).toBe(0);
  expect(plain.out).toBe(goldenFor(o.golden, 'objdump', o.path));
  const v4 = await run('disasm', o.path, '--mcpu', 'v4');
  expect(v4.out).toBe(goldenFor(o.golden, 'objdump-v4', o.path));
}

describe('disasm matches llvm-objdump-19 byte for byte: own fixtures', () => {
  it.each(ownObjects.map((o) => [basename(o.path), o] as const))('%s', (_name, o) => expectGolden(o));
});

describe.skipIf(!SHARED_PRESENT)('disasm matches llvm-objdump-19 byte for byte: ../shared/bench/obj', () => {
  it('has the 16 benchmark objects', () => {
    expect(benchObjects).toHaveLength(16);
  });
  it.each(benchObjects.map((o) => [basename(o.path), o] as const))('%s', (_name, o) => expectGolden(o));
});

describe('the fixtures cover the whole opcode table', () => {
  it('the union of the forms in packages/isa/fixtures/*.o is every form', () => {
    const seen = new Set<string>();
    for (const o of codeOnlyObjects) {
      const obj = readElf(new Uint8Array(readFileSync(o.path)));
      for (const { section } of programSections(obj)) {
        for (const line of listingLines(section.data, obj.endian)) {
          expect(line.insn, `${basename(o.path)} ${section.name} slot ${line.slot}`).not.toBeNull();
          if (line.insn) seen.add(line.insn.form.id);
        }
      }
    }
    expect([...seen].sort()).toEqual(OPCODE_TABLE.map((f) => f.id).sort());
  });

  it('there are big-endian fixtures', () => {
    const endians = new Set(ownObjects.map((o) => readElf(new Uint8Array(readFileSync(o.path))).endian));
    expect([...endians].sort()).toEqual(['big', 'little']);
  });
});

describe('assembling the disassembly gives the original bytes', () => {
  const all = [...codeOnlyObjects, ...benchObjects];
  it.each(all.map((o) => [basename(o.path), o] as const))('%s', (_name, o) => {
    const obj = readElf(new Uint8Array(readFileSync(o.path)));
    // The --mcpu=v4 listing is the one with text for every instruction.
    const sections = assembleLlvmSections(readFileSync(`${o.golden}.objdump-v4.txt`, 'utf8'));
    const code = programSections(obj);
    expect(sections.map((s) => s.name)).toEqual(code.map((p) => p.section.name));
    for (const [i, { section }] of code.entries()) {
      const assembled = sections[i]?.insns ?? [];
      // LLVM's text omits a few fields (llvmTextReading documents which); compare with what the text can say.
      const readable = listingLines(section.data, obj.endian).map((l) => llvmTextReading(l.insn!, l.insn!.form, 'alu32')!);
      expect(toHex(encodeProgram(assembled, obj.endian))).toBe(toHex(encodeProgram(readable, obj.endian)));
      const lossless = readable.every((r, j) => JSON.stringify(r) === JSON.stringify(stripForm(listingLines(section.data, obj.endian)[j]?.insn)));
      if (lossless) expect(toHex(encodeProgram(assembled, obj.endian))).toBe(toHex(section.data));
    }
  });
});

function stripForm(insn: { form: unknown } | null | undefined): unknown {
  if (!insn) return null;
  const { form: _form, ...fields } = insn;
  return fields;
}
