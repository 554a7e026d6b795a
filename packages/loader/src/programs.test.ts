import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SectionType, programSections, readElf, type ElfObject } from '@ebpf-sim/elf';
import { PseudoLd, decodeProgram, formatXlated } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { LoaderError, readPrograms, type ProgramSpec } from './index.js';

const PACKAGES = join(import.meta.dirname, '..', '..');
const ELF_FIXTURES = join(PACKAGES, 'elf', 'fixtures');
const ISA_FIXTURES = join(PACKAGES, 'isa', 'fixtures');
const BENCH_OBJ = join(PACKAGES, '..', '..', 'shared', 'bench', 'obj');
if (!existsSync(BENCH_OBJ)) console.warn(`loader tests over the bench objects skipped: ${BENCH_OBJ} is absent`);

const fileBytes = (dir: string, name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
const programsOf = (bytes: Uint8Array): ProgramSpec[] => readPrograms(readElf(bytes));
const only = (programs: ProgramSpec[], name: string): ProgramSpec => {
  const found = programs.find((p) => p.name === name);
  if (!found) throw new Error(`no program ${name} (have ${programs.map((p) => p.name).join(', ')})`);
  return found;
};
const decoded = (p: ProgramSpec) => decodeProgram(p.insns, { endian: p.endian });
const insnAt = (p: ProgramSpec, slot: number) => decoded(p).find((i) => i.slot === slot)!;

/** Little-endian field writes into a copy of an object, at offsets computed from its own headers. */
class ObjectEdit {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  readonly obj: ElfObject;
  constructor(original: Uint8Array) {
    this.bytes = original.slice();
    this.view = new DataView(this.bytes.buffer);
    this.obj = readElf(original);
  }
  private sectionHeader(name: string): number {
    const index = this.obj.sections.findIndex((s) => s.name === name);
    if (index < 0) throw new Error(`no section ${name}`);
    return Number(this.view.getBigUint64(40, true)) + index * 64;
  }
  private symbol(name: string): number {
    const index = this.obj.symbols.findIndex((s) => s.name === name);
    const symtab = this.obj.sections.find((s) => s.type === SectionType.SYMTAB)!;
    return symtab.offset + index * 24;
  }
  private rel(section: string, i: number): number {
    return this.obj.section(section)!.offset + i * 16;
  }
  u8(at: number, value: number): this {
    this.view.setUint8(at, value);
    return this;
  }
  elfType(value: number): this {
    this.view.setUint16(16, value, true);
    return this;
  }
  sectionType(name: string, type: number): this {
    this.view.setUint32(this.sectionHeader(name) + 4, type, true);
    return this;
  }
  symbolInfo(name: string, info: number): this {
    return this.u8(this.symbol(name) + 4, info);
  }
  relOffset(section: string, i: number, offset: number): this {
    this.view.setBigUint64(this.rel(section, i), BigInt(offset), true);
    return this;
  }
  relSymbol(section: string, i: number, symbol: string): this {
    this.view.setUint32(
      this.rel(section, i) + 12,
      this.obj.symbols.findIndex((s) => s.name === symbol),
      true,
    );
    return this;
  }
  /** The opcode byte or the immediate of a slot of a code section. */
  code(section: string, slot: number, code: number): this {
    return this.u8(this.obj.section(section)!.offset + slot * 8, code);
  }
  imm(section: string, slot: number, imm: number): this {
    this.view.setInt32(this.obj.section(section)!.offset + slot * 8 + 4, imm, true);
    return this;
  }
}

function expectLoaderError(bytes: Uint8Array, message: string, kind: LoaderError['kind']): void {
  let caught: unknown;
  try {
    programsOf(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LoaderError);
  expect((caught as LoaderError).message).toBe(message);
  expect((caught as LoaderError).kind).toBe(kind);
}

describe.skipIf(!existsSync(BENCH_OBJ))('readPrograms over the bench objects', () => {
  const files = existsSync(BENCH_OBJ) ? readdirSync(BENCH_OBJ).filter((f) => f.endsWith('.o')) : [];
  it.each(files)('%s: one program, the section itself, nothing to relocate', (file) => {
    const bytes = fileBytes(BENCH_OBJ, file);
    const obj = readElf(bytes);
    const [program, ...rest] = readPrograms(obj);
    expect(rest).toEqual([]);
    const section = programSections(obj).find((p) => p.section.name !== '.text')!.section;
    expect(program).toMatchObject({ sectionName: section.name, endian: 'little', references: [], license: file.endsWith('.xdp.o') ? 'GPL' : '' });
    expect(program!.insns).toEqual(section.data);
    expect(program!.functions).toEqual([{ name: program!.name, section: section.name, sectionSlot: 0, slot: 0, slots: section.size / 8 }]);
  });
});

describe('readPrograms links sub-programs as libbpf does', () => {
  it('xlated_check.o: the program Linux 6.18 verified, call for call (its own verifier log)', () => {
    const [program, ...rest] = programsOf(fileBytes(ISA_FIXTURES, 'xlated_check.o'));
    expect(rest).toEqual([]);
    expect(program!.functions.map((f) => [f.name, f.section, f.slot])).toEqual([
      ['xlated_check', 'xdp', 0],
      ['mix', '.text', 28],
    ]);
    const kernel = readFileSync(join(ISA_FIXTURES, 'xlated_check.verifier.txt'), 'utf8').trimEnd().split('\n');
    expect(decoded(program!).map((insn) => `${insn.slot}: ${formatXlated(insn, insn.form)}`)).toEqual(kernel);
  });

  it.each([
    ['xdp_counter.bpfel.o', 'little'],
    ['xdp_counter.bpfeb.o', 'big'],
  ] as const)('%s: account() appended, the call pointed at it, the map left for loading', (file, endian) => {
    const [program] = programsOf(fileBytes(ISA_FIXTURES, file));
    expect(program).toMatchObject({ name: 'xdp_count_protocols', sectionName: 'xdp', endian, license: 'GPL' });
    expect(program!.functions.map((f) => [f.name, f.slot, f.slots])).toEqual([
      ['xdp_count_protocols', 0, 36],
      ['account', 36, 12],
    ]);
    // The call at xdp+0x98 (slot 19) now reaches slot 36.
    expect(insnAt(program!, 19)).toMatchObject({ code: 0x85, src: 1, imm: 36 - 19 - 1 });
    // proto_stats is referenced from account() (its .text+0x20, slot 4), now at slot 40.
    expect(program!.references).toEqual([{ kind: 'map', insn: 40, symbol: 'proto_stats', section: '.maps', symbolOffset: 0 }]);
  });

  it('tracing.o: a callback address becomes BPF_PSEUDO_FUNC, kfuncs and maps stay references', () => {
    const [program] = programsOf(fileBytes(ISA_FIXTURES, 'tracing.o'));
    expect(program!.functions.map((f) => [f.name, f.slot])).toEqual([
      ['trace_write', 0],
      ['visit', 60],
      ['scaled', 68],
    ]);
    expect(insnAt(program!, 26)).toMatchObject({ code: 0x18, src: PseudoLd.FUNC, imm: 60 - 26 - 1 });
    expect(insnAt(program!, 53)).toMatchObject({ code: 0x85, src: 1, imm: 68 - 53 - 1 });
    expect(program!.references).toEqual([
      { kind: 'map', insn: 4, symbol: 'hits', section: '.maps', symbolOffset: 0 },
      { kind: 'extern-call', insn: 30, symbol: 'bpf_rcu_read_lock' },
      { kind: 'map', insn: 31, symbol: 'events', section: '.maps', symbolOffset: 0x20 },
      { kind: 'extern-call', insn: 37, symbol: 'bpf_rcu_read_unlock' },
    ]);
    // The kfunc calls are untouched until the kernel's BTF gives their ids.
    expect(insnAt(program!, 30)).toMatchObject({ code: 0x85, src: 1, imm: -1 });
  });

  it('maps.bpfel.o: one program per section; global data is a reference into .bss', () => {
    const programs = programsOf(fileBytes(ELF_FIXTURES, 'maps.bpfel.o'));
    expect(programs.map((p) => [p.name, p.sectionName])).toEqual([
      ['count_packets', 'xdp'],
      ['empty_tc', 'tc'],
    ]);
    const xdp = only(programs, 'count_packets');
    expect(xdp.functions.map((f) => [f.name, f.slot])).toEqual([
      ['count_packets', 0],
      ['bump', 17],
    ]);
    expect(insnAt(xdp, 14)).toMatchObject({ code: 0x85, imm: 17 - 14 - 1 });
    expect(xdp.references).toEqual([
      { kind: 'map', insn: 4, symbol: 'counts', section: '.maps', symbolOffset: 0 },
      { kind: 'data', insn: 7, symbol: 'seen', section: '.bss', symbolOffset: 0 },
    ]);
    expect(only(programs, 'empty_tc')).toMatchObject({ references: [], functions: [{ name: 'empty_tc', slot: 0, slots: 2 }] });
  });

  it('gives the same bytes every time and leaves the object untouched', () => {
    const bytes = fileBytes(ISA_FIXTURES, 'tracing.o');
    const before = bytes.slice();
    const first = programsOf(bytes);
    expect(programsOf(bytes)).toEqual(first);
    expect(bytes).toEqual(before);
  });
});

describe('readPrograms refuses what libbpf refuses, with its message', () => {
  const maps = () => new ObjectEdit(fileBytes(ELF_FIXTURES, 'maps.bpfel.o'));

  it('an object that is not relocatable', () => {
    expectLoaderError(maps().elfType(2).bytes, 'elf: not a valid eBPF object file (e_type 2, e_machine 247) (expected ET_REL and EM_BPF)', 'format');
  });
  it('a static entry program', () => {
    // st_info = STB_LOCAL << 4 | STT_FUNC
    expectLoaderError(maps().symbolInfo('count_packets', 0x02).bytes, "sec 'xdp': program 'count_packets' is static and not supported", 'unsupported');
  });
  it('a relocation of an instruction that is neither a call nor LD imm64', () => {
    expectLoaderError(maps().code('xdp', 4, 0xb7).bytes, "prog 'count_packets': invalid relo against 'counts' for insns[4].code 0xb7", 'reloc');
  });
  it('a relocation offset off the instruction grid', () => {
    expectLoaderError(maps().relOffset('.relxdp', 0, 0x21).bytes, "sec '.relxdp': invalid offset 0x21 for relo #0", 'format');
  });
  it('a call into a section other than .text', () => {
    expectLoaderError(
      maps().relSymbol('.relxdp', 2, 'empty_tc').bytes,
      "prog 'count_packets': bad call relo against 'empty_tc' in section 'tc' (sub-programs must be in .text)",
      'reloc',
    );
  });
  it('a map reference to a section that holds no maps', () => {
    expectLoaderError(maps().relSymbol('.relxdp', 0, 'LICENSE').bytes, "prog 'count_packets': bad map relo against 'LICENSE' in section 'license'", 'reloc');
  });
  it('a call into the middle of a function', () => {
    // The relocation names .text; the immediate (slot - 1) now points one slot into bump().
    expectLoaderError(maps().imm('xdp', 14, 0).bytes, "prog 'count_packets': insn #14 refers to .text+0x8, inside 'bump'", 'reloc');
  });
  it('RELA relocations, which libbpf would silently skip', () => {
    expectLoaderError(
      maps().sectionType('.relxdp', SectionType.RELA).bytes,
      "sec 'xdp': RELA relocations are not supported (libbpf reads only SHT_REL sections, which clang writes)",
      'unsupported',
    );
  });
  it('code that is not a whole number of instructions', () => {
    // edge_cases.o (an assembler's object) mixes data into code section 'mixed', 58 bytes long.
    expectLoaderError(fileBytes(ISA_FIXTURES, 'edge_cases.o'), "sec 'mixed': size 58 is not a multiple of the 8-byte instruction size", 'format');
  });
});
