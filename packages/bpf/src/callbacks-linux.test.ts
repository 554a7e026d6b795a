/**
 * Callbacks and 32-bit pointer arithmetic against Linux 6.18: the programs of fixtures/callbacks/programs.py
 * (bpf_loop and bpf_for_each_map_elem with good and bad callbacks, `w3 -= w2` on packet pointers, ...), loaded
 * by a privileged loader into the real kernel with BTF func_info (record.py). Here each is verified with the
 * same maps and func_info linkage: the same decision and errno, and the same level-1 log (the path to the
 * error, the callback's frame as Linux prints it, the number of instructions processed). Our `hint:` line and
 * the state counters of the last line (Linux counts states differently) are left out; map addresses, which
 * the kernel prints and we do not have, are masked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProgram, fromHex } from '@ebpf-sim/isa';
import { convertCtxAccesses, fixupDivisions, inlineLoops, removeDeadCode, verify, type ProgramTypeDesc, type SubprogLinkage } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry, type MapSpec } from './maps.js';
import { PROGRAM_TYPES } from './prog-types/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'callbacks');

interface FixtureProgram {
  readonly name: string;
  readonly progType: number;
  readonly maps: ReadonlyArray<{ readonly type: number; readonly key: number; readonly value: number; readonly max: number }>;
  readonly slots: readonly string[];
  /** 'static': main global, every other subprogram static; 'global': all global; 'none': no BTF. */
  readonly btf: 'static' | 'global' | 'none';
}

interface LinuxResult {
  readonly name: string;
  readonly errno: number;
  readonly log1: string;
  readonly log2: string;
  readonly xlated?: readonly string[];
}

const programs = JSON.parse(readFileSync(join(DIR, 'programs.json'), 'utf8')) as FixtureProgram[];
const recorded = JSON.parse(readFileSync(join(DIR, 'linux-results.json'), 'utf8')) as { kernel: string; programs: LinuxResult[] };

/** The map types the fixtures create, by uapi number. */
const MAP_TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'hash', 2: 'array', 27: 'ringbuf', 31: 'user_ringbuf' };

function progTypeOf(p: FixtureProgram): ProgramTypeDesc {
  const progType = [...PROGRAM_TYPES.values()].find((t) => t.uapiId === p.progType);
  if (progType === undefined) throw new Error(`no program type ${p.progType}`);
  return progType;
}

/** The verifier's view of a fixture program: its maps (unnamed, as record.py makes them) and func_info linkage. */
function verifyFixture(p: FixtureProgram, logLevel: 1 | 2): ReturnType<typeof verify> {
  const specs: MapSpec[] = p.maps.map((m) => ({ name: '', type: MAP_TYPE_NAMES[m.type] ?? '?', keySize: m.key, valueSize: m.value, maxEntries: m.max }));
  const bytes = fromHex(p.slots.join(''));
  const progType = progTypeOf(p);
  // Two subprograms at most in the fixtures: main and one callback.
  const linkage: readonly SubprogLinkage[] | undefined = p.btf === 'none' ? undefined : p.btf === 'global' ? ['global', 'global'] : ['global', 'static'];
  return verify(bytes, { progType, registry: createRegistry(specs), logLevel, ...(linkage === undefined ? {} : { subprogLinkage: linkage }) });
}

/** A level-1 log without what cannot or need not match: map addresses, our hint, the state counters. */
function normal(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('hint: '))
    .map((line) => line.replace(/= (0xffff[0-9a-f]{12}|map\[[^\]]*\]) +;/, '= MAP ;').replace(/^(processed \d+ insns).*$/, '$1'));
}

/**
 * Our xlated program (the context rewrite, dead code, optimize_bpf_loop, the division guards) beside Linux's
 * dump, slot by slot as `code dst src off imm`. What only names a kernel object is masked: a helper call's
 * immediate (Linux: the function's offset from __bpf_call_base), a map's (Linux: its id), the subprogram number
 * Linux's dump keeps in a function address's second half; Linux's dump moves a bpf-to-bpf call's offset into
 * `off` (its `imm` the subprogram number), which is compared with our `imm`.
 */
function xlatedSlots(slots: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < slots.length; i++) {
    const b = fromHex(slots[i] ?? '');
    const v = new DataView(b.buffer, b.byteOffset, 8);
    const [code, dst, src, off, imm] = [b[0] ?? 0, (b[1] ?? 0) & 0xf, (b[1] ?? 0) >> 4, v.getInt16(2, true), v.getInt32(4, true)];
    if (code === 0x85 && src === 0) out.push(`85 ${dst} 0 ${off} helper`);
    else if (code === 0x18) {
      out.push(`18 ${dst} ${src} ${off} ${src === 1 ? 'map' : String(imm)}`);
      i++;
      out.push(src === 0 ? String(new DataView(fromHex(slots[i] ?? '').buffer).getInt32(4, true)) : 'imm2');
    } else out.push(`${code.toString(16)} ${dst} ${src} ${off} ${imm}`);
  }
  return out;
}

/** Linux's dump in the same shape: a bpf-to-bpf call's offset is in its `off`. */
function linuxSlots(slots: readonly string[]): string[] {
  return xlatedSlots(slots).map((text) => text.replace(/^85 (\d+) 1 (-?\d+) -?\d+$/, '85 $1 1 0 $2'));
}

describe('callbacks and pointer subtraction as Linux 6.18 verifies them', () => {
  it('records the kernel the answers came from', () => {
    expect(recorded.kernel).toMatch(/^6\.18\./);
    expect(recorded.programs.map((r) => r.name)).toEqual(programs.map((p) => p.name));
  });

  it.each(programs.map((p) => [p.name, p] as const))('%s: same decision, errno and level-1 log', (name, p) => {
    const linux = recorded.programs.find((r) => r.name === name);
    if (linux === undefined) throw new Error(`${name} was not recorded`);
    const ours = verifyFixture(p, 1);
    expect(ours.accepted ? 0 : ours.error?.errno).toBe(linux.errno);
    expect(normal(ours.log)).toEqual(normal(linux.log1));
  });

  it.each(programs.filter((p) => recorded.programs.find((r) => r.name === p.name)?.xlated !== undefined).map((p) => [p.name, p] as const))(
    "%s: the xlated program is Linux's (bpf_loop inlined when its flags are a known 0)",
    (name, p) => {
      const linux = recorded.programs.find((r) => r.name === name)?.xlated ?? [];
      const result = verifyFixture(p, 1);
      const bytes = fromHex(p.slots.join(''));
      const live = removeDeadCode(convertCtxAccesses(bytes, result.facts, progTypeOf(p)), result.facts, { privileged: true });
      const ours = fixupDivisions(inlineLoops(live, result.facts, result.stackDepth).program);
      const slots = encodeProgram(ours.insns);
      const hex = Array.from({ length: slots.length / 8 }, (_, i) =>
        Array.from(slots.subarray(i * 8, i * 8 + 8), (x) => x.toString(16).padStart(2, '0')).join(''),
      );
      expect(xlatedSlots(hex)).toEqual(linuxSlots(linux));
    },
  );

  it('visits a bpf_loop callback until its state converges, as Linux does (widening the imprecise counter)', () => {
    const p = programs.find((x) => x.name === 'loop_ok');
    const linux = recorded.programs.find((r) => r.name === 'loop_ok');
    if (p === undefined || linux === undefined) throw new Error('loop_ok missing');
    const ours = verifyFixture(p, 2).log.split('\n');
    const visits = (lines: readonly string[]): number =>
      lines.filter((line) => line.startsWith('from 8 to 11: frame1: R1=scalar() R2=fp[0]-8 R10=fp0 cb')).length;
    expect(visits(linux.log2.split('\n'))).toBe(2);
    expect(visits(ours)).toBe(2);
    // Back at the call after the first visit, the counter in fp-8 (0 before) is unknown: widened.
    expect(ours).toContain(' R1=5 R2=func() R3=fp-8 R4=0 R10=fp0 fp-8=scalar()');
    expect(linux.log2).toContain(' R1=5 R2=func() R3=fp-8 R4=0 R10=fp0 fp-8=scalar(id=1)');
  });
});
