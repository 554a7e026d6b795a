/**
 * Linux's fixups after the context rewrite against the real kernel: C programs (fixtures/fixups/*.c) with
 * branches the verifier decides (dead code) and with every form of division and modulo by a register, and a
 * hand-written program with a malformed instruction on a dead path (fixtures/fixups/*.hex), loaded into
 * Linux 6.18 by a privileged loader and dumped with `bpftool prog dump xlated` (fixtures/fixups/rebuild.sh).
 * The same bytecode, verified, rewritten (convertCtxAccesses), cleared of dead code (removeDeadCode) and
 * guarded (fixupDivisions) here, must print the same instructions, but for the differences listed with their
 * reasons.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatXlated, fromHex, lookupForm, type RawInsn } from '@ebpf-sim/isa';
import { convertCtxAccesses, fixupDivisions, removeDeadCode, verify, type VerifierRegistry } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { BPF_MAP_TYPE } from '@ebpf-sim/uapi';
import { HELPERS } from './helpers/index.js';
import { createRegistry, mapDesc } from './maps.js';
import { HTAB_LOOKUP_ELEM_CALL } from './maps/hashtab.js';
import { createMap } from './maps/registry.js';
import type { BpfMap } from './maps/map.js';
import { XDP } from './prog-types/index.js';
import { inlineMapLookups } from './syscall/prog-fixups.js';
import { mapTestEnv } from './testing/map-env.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'fixups');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/**
 * The instructions of a dump, without slot numbers, source lines or function headers. Two printing
 * differences of this machine's bpftool (v7.1, older than the kernel) are undone: it prints a signed division
 * or modulo (off 1) like the unsigned one, where Linux 6.18's print_bpf_insn writes `s/=` and `s%=`; and it
 * names a bpf-to-bpf call's callee by its tag (`call pc+5#bpf_prog_<tag>_twice`), which is only a name.
 */
function instructions(dump: string): string[] {
  return dump
    .split('\n')
    .map((line) => /^\s*\d+: (.*)$/.exec(line)?.[1]?.replace(/^(\(85\) call pc[+-]\d+)#.*$/, '$1'))
    .filter((text): text is string => text !== undefined);
}

/**
 * Our xlated program for a fixture, after every fixup, as the same bpftool would print it. With `maps` (by the
 * fd the program names them with) the program is loaded as for the JIT: map lookups inlined (map_gen_lookup).
 */
function ours(hex: string, privileged = true, registry: VerifierRegistry = createRegistry(), maps: readonly BpfMap[] = []): string[] {
  const bytes = fromHex(hex);
  const result = verify(bytes, { progType: XDP, registry, logLevel: 1, privileged });
  expect(result.accepted, result.log).toBe(true);
  const live = removeDeadCode(convertCtxAccesses(bytes, result.facts, XDP), result.facts, { privileged });
  const inlined =
    maps.length === 0 ? live : inlineMapLookups(live, result.facts.callMaps, (desc) => maps.find((map) => registry.map(maps.indexOf(map), 'fd') === desc));
  const xlated = fixupDivisions(inlined);
  return xlated.insns.map((insn) => printed(insn).replace(/ s([/%])= /, ' $1= '));
}

/** One instruction as print_bpf_insn prints it; not through the isa decoder, which refuses r11 (BPF_REG_AX). */
function printed(insn: RawInsn): string {
  const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
  if (form === null) throw new Error(`no form for opcode ${insn.code.toString(16)}`);
  return formatXlated(insn, form);
}

describe('the fixups print as Linux 6.18 xlated dumps', () => {
  it('records the kernel the fixtures came from', () => {
    expect(fixture('kernel-version.txt')).toMatch(/^6\.18\./);
  });

  it('division and modulo: the zero-divisor guards, 64- and 32-bit, the signed forms with r11, by -1', () => {
    const linux = instructions(fixture('divmod.xlated.txt'));
    expect(linux).toContain('(bf) r11 = r3');
    expect(ours(fixture('divmod.hex'))).toEqual(linux);
  });

  it('dead code: decided branches hard-wired, dead instructions and the resulting nops removed, the call re-aimed', () => {
    const linux = instructions(fixture('deadcode.xlated.txt'));
    expect(linux.length).toBeLessThan(fromHex(fixture('deadcode.hex')).length / 8);
    expect(ours(fixture('deadcode.hex'))).toEqual(linux);
  });

  it('const volatile .rodata: the frozen read-only map is read as constants, the branches it decides removed', () => {
    // libbpf's .rodata map: one element, BPF_F_RDONLY_PROG, frozen before the load; its value the section's bytes.
    const rodata = fromHex(fixture('rodata.rodata.hex'));
    const desc = {
      ...mapDesc({ name: '.rodata', type: 'array', keySize: 4, valueSize: rodata.length, maxEntries: 1, readOnly: true }),
      readOnlyValue: (off: number, size: number): bigint => {
        let value = 0n;
        for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(rodata[off + i] ?? 0);
        return value;
      },
    };
    const registry: VerifierRegistry = { helper: (id) => HELPERS.get(id), map: (ref) => (ref === 0 ? desc : undefined) };
    // bpftool names the map by its id (ours: the fd, 0), and v7.1 prints no sign-extending load (BUG_ldx_89).
    const normal = (text: string): string => text.replace(/map\[id:\d+\]/, 'map[id:N]').replace(/^\(89\) .*$/, 'BUG_ldx_89');
    const linux = instructions(fixture('rodata.xlated.txt'));
    expect(linux).toHaveLength(8);
    expect(ours(fixture('rodata.hex'), true, registry).map(normal)).toEqual(linux.map(normal));
  });

  it('a malformed instruction on a dead path: the program loads, and the instruction is gone', () => {
    expect(ours(fixture('dead_malformed.hex'))).toEqual(instructions(fixture('dead_malformed.xlated.txt')));
  });

  it('array lookups inlined (array_map_gen_lookup) for a JIT-compiled program: shift or multiply, no call', () => {
    // The fixture's maps, by the index the hex names them with (their order in .maps), created by a CAP_PERFMON
    // holder (bpftool as root): no index mask.
    const env = mapTestEnv({ nrCpus: 1 });
    const make = (mapType: number, valueSize: number, maxEntries: number): BpfMap => {
      const map = createMap({ mapType, keySize: 4, valueSize, maxEntries, mapFlags: 0, name: 'm' }, env);
      if (typeof map === 'number') throw new Error(`map: errno ${map}`);
      return map;
    };
    // clang placed them in .maps as seen, counts, wides.
    const maps = [make(BPF_MAP_TYPE.HASH, 8, 16), make(BPF_MAP_TYPE.ARRAY, 8, 10), make(BPF_MAP_TYPE.ARRAY, 20, 3)];
    const descs = maps.map((map) => map.desc());
    const registry: VerifierRegistry = { helper: (id) => HELPERS.get(id), map: (ref) => descs[ref] };
    const normal = (text: string): string => text.replace(/map\[id:\d+\]/, 'map[id:N]');
    const linux = instructions(fixture('arraylookup.xlated.txt')).map(normal);
    expect(linux).toContain('(07) r1 += 312');
    // A plain hash's lookup becomes a direct call of __htab_map_lookup_elem and the step to the value
    // (htab_map_gen_lookup). The call's immediate is the function's address (Linux: its offset from
    // __bpf_call_base, here a fixed number), and this bpftool names it from kallsyms: only the name is compared.
    const htab = linux.indexOf('(85) call __htab_map_lookup_elem#347216');
    expect(linux.slice(htab + 1, htab + 3)).toEqual(['(15) if r0 == 0x0 goto pc+1', '(07) r0 += 56']);
    const kernelCall = (text: string): string =>
      text.replace(/^\(85\) call __htab_map_lookup_elem#\d+$/, 'htab call').replace(`(85) call unknown#${HTAB_LOOKUP_ELEM_CALL}`, 'htab call');
    expect(ours(fixture('arraylookup.hex'), true, registry, maps).map(normal).map(kernelCall)).toEqual(linux.map(kernelCall));
    // Without the maps (the interpreter: no prog->jit_requested) every lookup stays a call.
    expect(ours(fixture('arraylookup.hex'), true, registry).filter((text) => text.startsWith('(85) call bpf_map_lookup_elem'))).toHaveLength(3);
  });
});
