/**
 * Unprivileged pointer arithmetic against Linux 6.18: the programs of fixtures/unpriv/programs.py, loaded as
 * SOCKET_FILTER by a user without capabilities (record.sh: uid 65534, kernel.unprivileged_bpf_disabled 0 for the
 * run). Each is verified here unprivileged with the same maps: the same decision and errno, the same level-1 log
 * (Linux's sanitize_err and check_stack_access_for_ptr_arithmetic lines, the instructions processed, speculative
 * paths included) and, for accepted programs, the same xlated instructions: the BPF_REG_AX masking of
 * do_misc_fixups, `nospec` barriers before what a speculative path could not pass and after stack stores, dead
 * code trapped. Map addresses, our hint line and the state counters are left out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProgram, fromHex } from '@ebpf-sim/isa';
import { convertCtxAccesses, insertNospec, removeDeadCode, sanitizeAluInsns, verify, type ProgramTypeDesc } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { HELPERS } from './helpers/index.js';
import type { BpfMap } from './maps/map.js';
import { createMap } from './maps/registry.js';
import { PROGRAM_TYPES } from './prog-types/index.js';
import { inlineMapLookups } from './syscall/prog-fixups.js';
import { mapTestEnv } from './testing/map-env.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'unpriv');

interface FixtureProgram {
  readonly name: string;
  readonly progType: number;
  readonly maps: ReadonlyArray<{ readonly type: number; readonly key: number; readonly value: number; readonly max: number }>;
  readonly slots: readonly string[];
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

function progTypeOf(p: FixtureProgram): ProgramTypeDesc {
  const progType = [...PROGRAM_TYPES.values()].find((t) => t.uapiId === p.progType);
  if (progType === undefined) throw new Error(`no program type ${p.progType}`);
  return progType;
}

/** The fixture's maps as the kernel's objects, created as record.py creates them (unnamed). */
function fixtureMaps(p: FixtureProgram): BpfMap[] {
  // Created by the unprivileged user: an array's lookups mask the index (map->bypass_spec_v1 false).
  const env = mapTestEnv({ nrCpus: 1, capabilities: [] });
  return p.maps.map((m) => {
    const map = createMap({ mapType: m.type, keySize: m.key, valueSize: m.value, maxEntries: m.max, mapFlags: 0, name: '' }, env);
    if (typeof map === 'number') throw new Error(`map ${JSON.stringify(m)}: ${map}`);
    return map;
  });
}

/** The verifier as record.py's loader meets it: no CAP_BPF, no CAP_PERFMON. */
function verifyFixture(p: FixtureProgram, logLevel: 1 | 2, maps = fixtureMaps(p), descs = maps.map((map) => map.desc())): ReturnType<typeof verify> {
  const registry = { helper: (id: number) => HELPERS.get(id), map: (ref: number) => descs[ref] };
  return verify(fromHex(p.slots.join('')), { progType: progTypeOf(p), registry, logLevel, privileged: false, bypassSpec: false });
}

/** A level-1 log without what cannot or need not match: map addresses, our hint, the state counters. */
function normal(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('hint: '))
    .map((line) => line.replace(/= (0x[0-9a-f]+|map\[[^\]]*\]) +;/, '= MAP ;').replace(/^(processed \d+ insns).*$/, '$1'));
}

/** Slots as `code dst src off imm`, a map's LD imm64 (Linux: its address) and a helper's immediate masked. */
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
      out.push('imm2');
    } else out.push(`${code.toString(16)} ${dst} ${src} ${off} ${imm}`);
  }
  return out;
}

describe('unprivileged pointer arithmetic as Linux 6.18 sanitises it', () => {
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

  // Every instruction with its state, the speculative paths' `(speculative execution)` headers included; Linux's
  // live-register table and its stack-liveness lines (not modelled) are left out.
  it.each(programs.map((p) => [p.name, p] as const))('%s: same level-2 log', (name, p) => {
    const linux = recorded.programs.find((r) => r.name === name);
    if (linux === undefined) throw new Error(`${name} was not recorded`);
    const ours = verifyFixture(p, 2);
    const strip = (log: string): string[] =>
      normal(log).filter((l) => !/^\s+\d+: /.test(l) && !l.startsWith('(0)') && l !== 'Live regs before insn:' && l !== 'func#0 @0');
    expect(strip(ours.log)).toEqual(strip(linux.log2));
  });

  it.each(programs.filter((p) => recorded.programs.find((r) => r.name === p.name)?.xlated !== undefined).map((p) => [p.name, p] as const))(
    "%s: the xlated program is Linux's (masking, nospec, dead code trapped)",
    (name, p) => {
      const linux = recorded.programs.find((r) => r.name === name)?.xlated ?? [];
      const maps = fixtureMaps(p);
      const descs = maps.map((map) => map.desc());
      const result = verifyFixture(p, 1, maps, descs);
      const bytes = fromHex(p.slots.join(''));
      const deadTrapped = removeDeadCode(convertCtxAccesses(bytes, result.facts, progTypeOf(p)), result.facts, { privileged: false });
      // The kernel's JIT is on (bpf_jit_enable 1): array lookups are inlined (map_gen_lookup), as prog.ts does.
      const inlined = inlineMapLookups(deadTrapped, result.facts.callMaps, (desc) => maps[descs.indexOf(desc)]);
      const live = sanitizeAluInsns(inlined, result.facts);
      const shown = insertNospec(live, result.facts);
      const slots = encodeProgram(shown.insns);
      const hex = Array.from({ length: slots.length / 8 }, (_, i) =>
        Array.from(slots.subarray(i * 8, i * 8 + 8), (x) => x.toString(16).padStart(2, '0')).join(''),
      );
      expect(xlatedSlots(hex)).toEqual(xlatedSlots(linux));
    },
  );
});
