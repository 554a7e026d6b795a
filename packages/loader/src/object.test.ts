import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BtfCoreReloKind, BtfError } from '@ebpf-sim/btf';
import { ElfError, SectionType, readElf } from '@ebpf-sim/elf';
import { BPF_ATTACH_TYPE, BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_F, BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIBBPF_PIN, LoaderError, openObject, type MapSpec, type ObjectSpec } from './index.js';

// clang-19 objects of fixtures/open (build.sh rebuilds them from the .c files beside them).
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'open');
const bytesOf = (file: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, file)));
const open = (file: string): ObjectSpec => openObject(bytesOf(file), { name: file.split('.')[0] ?? '' });
const mapOf = (spec: ObjectSpec, name: string): MapSpec => {
  const found = spec.maps.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no map ${name} (have ${spec.maps.map((m) => m.name).join(', ')})`);
  return found;
};
const typeName = (spec: ObjectSpec, id: number): string => spec.btf?.btf.types[id]?.name ?? '';

describe('openObject: maps in SEC(".maps")', () => {
  const spec = open('maps.bpfel.o');

  it('reads type, key and value types, max_entries, map_flags and pinning from BTF', () => {
    const counts = mapOf(spec, 'counts');
    expect(counts).toMatchObject({
      origin: 'btf',
      type: BPF_MAP_TYPE.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1024,
      flags: BPF_MAP_F.NO_PREALLOC,
      pinning: LIBBPF_PIN.BY_NAME,
    });
    expect([typeName(spec, counts.keyTypeId), typeName(spec, counts.valueTypeId)]).toEqual(['__u32', '__u64']);
    expect(mapOf(spec, 'events')).toMatchObject({ type: BPF_MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, pinning: LIBBPF_PIN.NONE });
    expect(mapOf(spec, 'sized')).toMatchObject({ type: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, keyTypeId: 0, valueTypeId: 0 });
  });

  it('reads a map-in-map: the inner template and the statically initialised slots', () => {
    const outer = mapOf(spec, 'outer');
    expect(outer).toMatchObject({ type: BPF_MAP_TYPE.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(outer.inner).toMatchObject({ name: 'outer.inner', type: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(outer.slots).toEqual([
      { index: 0, map: 'inner_a' },
      { index: 2, map: 'inner_b' },
    ]);
  });

  it('reads a PROG_ARRAY with programs in its slots', () => {
    expect(mapOf(spec, 'jumps')).toMatchObject({
      type: BPF_MAP_TYPE.PROG_ARRAY,
      valueSize: 4,
      maxEntries: 3,
      slots: [
        { index: 1, program: 'tail_b' },
        { index: 2, program: 'tail_a' },
      ],
    });
  });

  it("resolves each program's map references to the map they name", () => {
    const entry = spec.programs.find((p) => p.name === 'entry');
    expect(entry?.references.map((r) => r.map)).toEqual(['counts', 'outer', 'sized', 'events', 'jumps']);
  });

  it('gives the same spec for the big-endian object, with its BTF in the host byte order', () => {
    const be = open('maps.bpfeb.o');
    expect(be.endian).toBe('big');
    expect(be.maps).toEqual(spec.maps);
    expect(be.btf?.bytes).toEqual(spec.btf?.bytes);
    expect(be.programs.map((p) => [p.name, p.references, p.funcInfo, p.lineInfo])).toEqual(
      spec.programs.map((p) => [p.name, p.references, p.funcInfo, p.lineInfo]),
    );
  });
});

describe('openObject: global data, .kconfig, license and version', () => {
  const spec = open('globals.bpfel.o');

  it('makes each data section a one-element array map with its bytes', () => {
    expect(spec.maps.map((m) => [m.name, m.kernelName, m.valueSize, m.freeze])).toEqual([
      ['.rodata', 'globals.rodata', 7, true],
      ['.data', 'globals.data', 8, false],
      ['.data.custom', '.data.custom', 4, false],
      ['.rodata.cfg', '.rodata.cfg', 1, true],
      ['.bss', 'globals.bss', 8, false],
      ['.bss.extra', '.bss.extra', 8, false],
      ['.kconfig', 'globals.kconfig', 9, true],
    ]);
    // threshold = 7, then greeting "hi"; hits = 3; in_custom = 0xabcd; mode = 2; .bss zeros.
    expect(Array.from(mapOf(spec, '.rodata').contents ?? [])).toEqual([7, 0, 0, 0, 0x68, 0x69, 0]);
    expect(Array.from(mapOf(spec, '.data').contents ?? [])).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(mapOf(spec, '.data.custom').contents ?? [])).toEqual([0xcd, 0xab, 0, 0]);
    expect(mapOf(spec, '.bss').contents).toBeUndefined();
    expect(Array.from(mapOf(spec, '.kconfig').contents ?? [])).toEqual(new Array<number>(9).fill(0));
    for (const m of spec.maps) expect(m).toMatchObject({ type: BPF_MAP_TYPE.ARRAY, keySize: 4, maxEntries: 1, keyTypeId: 0 });
    expect(typeName(spec, mapOf(spec, '.rodata').valueTypeId)).toBe('.rodata');
    expect(mapOf(spec, '.rodata').flags).toBe(BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.MMAPABLE);
    expect(mapOf(spec, '.data').flags).toBe(BPF_MAP_F.MMAPABLE);
  });

  it('lays out .kconfig externs as libbpf does: by alignment, then size, then name', () => {
    expect(spec.kconfig.map((e) => [e.name, e.type, e.offset, e.size, e.weak])).toEqual([
      ['CONFIG_HZ', 'int', 0, 4, true],
      ['LINUX_KERNEL_VERSION', 'int', 4, 4, false],
      ['CONFIG_BPF_SYSCALL', 'bool', 8, 1, false],
    ]);
    const refs = spec.programs[0]?.references.filter((r) => r.kind === 'extern-ld64');
    expect(refs?.map((r) => [r.symbol, r.map, r.valueOffset])).toEqual([
      ['LINUX_KERNEL_VERSION', '.kconfig', 4],
      ['CONFIG_HZ', '.kconfig', 0],
      ['CONFIG_BPF_SYSCALL', '.kconfig', 8],
    ]);
  });

  it('points data references at their section map', () => {
    const refs = spec.programs[0]?.references.filter((r) => r.kind === 'data');
    expect(refs?.map((r) => [r.symbol, r.map, r.valueOffset])).toEqual([
      ['big_zero', '.bss.extra', 0],
      ['in_custom', '.data.custom', 0],
      ['zeroed', '.bss', 0],
      ['mode', '.rodata.cfg', 0],
      ['hits', '.data', 0],
      ['threshold', '.rodata', 0],
    ]);
  });

  it('reads license and version, and func_info of the appended static subprogram', () => {
    expect(spec.license).toBe('Dual BSD/GPL');
    expect(spec.kernelVersion).toBe(0x60c00);
    const prog = spec.programs[0];
    const bump = prog?.functions.find((f) => f.name === 'bump');
    expect(prog?.funcInfo.map((f) => [f.insn, typeName(spec, f.typeId)])).toEqual([
      [0, 'globals_prog'],
      [bump?.slot, 'bump'],
    ]);
    expect(prog?.lineInfo.some((l) => l.insn === bump?.slot && l.line.includes('hits += x'))).toBe(true);
  });
});

describe('openObject: the legacy maps section', () => {
  it('reads struct bpf_map_def per symbol', () => {
    const spec = open('legacy.bpfel.o');
    expect(spec.maps.map((m) => [m.name, m.origin, m.type, m.keySize, m.valueSize, m.maxEntries])).toEqual([
      ['old_hash', 'legacy', BPF_MAP_TYPE.HASH, 4, 8, 16],
      ['old_array', 'legacy', BPF_MAP_TYPE.ARRAY, 4, 4, 1],
    ]);
    expect(spec.programs[0]?.references.map((r) => r.map)).toEqual(['old_hash', 'old_array']);
  });
});

describe("openObject: libbpf's SEC() table", () => {
  const spec = open('sections.bpfel.o');
  const T = BPF_PROG_TYPE;
  const A = BPF_ATTACH_TYPE;
  // [program, prog type, expected attach type, prog flags, attach target]: libbpf's section_defs[].
  const expected: [string, number, number, number, string | undefined][] = [
    ['p_xdp', T.XDP, A.XDP, 0, undefined],
    ['p_xdp_frags', T.XDP, A.XDP, BPF_PROG_F.XDP_HAS_FRAGS, undefined],
    ['p_tc', T.SCHED_CLS, 0, 0, undefined],
    ['p_classifier', T.SCHED_CLS, 0, 0, undefined],
    ['p_tc_ingress', T.SCHED_CLS, A.TCX_INGRESS, 0, undefined],
    ['p_tcx_egress', T.SCHED_CLS, A.TCX_EGRESS, 0, undefined],
    ['p_socket', T.SOCKET_FILTER, 0, 0, undefined],
    ['p_kprobe', T.KPROBE, 0, 0, 'do_unlinkat'],
    ['p_kretprobe', T.KPROBE, 0, 0, 'do_unlinkat'],
    ['p_uprobe', T.KPROBE, 0, 0, undefined],
    ['p_tracepoint', T.TRACEPOINT, 0, 0, 'syscalls/sys_enter_openat'],
    ['p_tp', T.TRACEPOINT, 0, 0, 'sched/sched_switch'],
    ['p_raw_tracepoint', T.RAW_TRACEPOINT, 0, 0, 'sys_enter'],
    ['p_raw_tp', T.RAW_TRACEPOINT, 0, 0, 'sys_exit'],
    ['p_tp_btf', T.TRACING, A.TRACE_RAW_TP, 0, 'sched_switch'],
    ['p_fentry', T.TRACING, A.TRACE_FENTRY, 0, 'do_unlinkat'],
    ['p_fexit', T.TRACING, A.TRACE_FEXIT, 0, 'do_unlinkat'],
    ['p_fentry_s', T.TRACING, A.TRACE_FENTRY, BPF_PROG_F.SLEEPABLE, 'do_unlinkat'],
    ['p_fmod_ret', T.TRACING, A.MODIFY_RETURN, 0, 'do_unlinkat'],
    ['p_perf_event', T.PERF_EVENT, 0, 0, undefined],
    ['p_lsm', T.LSM, A.LSM_MAC, 0, 'file_open'],
    ['p_lsm_s', T.LSM, A.LSM_MAC, BPF_PROG_F.SLEEPABLE, 'file_open'],
    ['p_cgroup_skb_ingress', T.CGROUP_SKB, A.CGROUP_INET_INGRESS, 0, undefined],
    ['p_cgroup_skb_egress', T.CGROUP_SKB, A.CGROUP_INET_EGRESS, 0, undefined],
    ['p_cgroup_skb', T.CGROUP_SKB, 0, 0, undefined],
    ['p_cgroup_sock_create', T.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, 0, undefined],
    ['p_cgroup_connect4', T.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, 0, undefined],
    ['p_sk_skb_parser', T.SK_SKB, A.SK_SKB_STREAM_PARSER, 0, undefined],
    ['p_sk_msg', T.SK_MSG, A.SK_MSG_VERDICT, 0, undefined],
    ['p_iter_task', T.TRACING, A.TRACE_ITER, 0, 'task'],
    ['p_syscall', T.SYSCALL, 0, BPF_PROG_F.SLEEPABLE, undefined],
    ['p_struct_ops', T.STRUCT_OPS, 0, 0, 'test_1'],
  ];

  it.each(expected)('%s', (name, progType, expectedAttachType, progFlags, attachTo) => {
    const prog = spec.programs.find((p) => p.name === name);
    expect(prog?.section).toMatchObject({ progType, expectedAttachType, progFlags, attachTo });
  });

  it('leaves a section libbpf does not know without a type, and matches `type+` only at a `/`', async () => {
    const { programSection } = await import('./sec-defs.js');
    expect(programSection('xdpfoo')).toBeUndefined();
    expect(programSection('kprobefoo')).toBeUndefined();
    expect(programSection('kprobe.multi/do_*')?.def.sec).toBe('kprobe.multi+');
    expect(programSection('tracepoint')?.attachTo).toBeUndefined();
  });
});

describe('openObject: CO-RE relocation records', () => {
  it('gives each program the records of its instructions, by slot', () => {
    const spec = open('core.bpfel.o');
    const relos = spec.programs[0]?.coreRelos ?? [];
    expect(relos[0]).toMatchObject({ insn: 2, kind: BtfCoreReloKind.FIELD_BYTE_OFFSET, accessString: '0:0' });
    expect(typeName(spec, relos[0]?.typeId ?? 0)).toBe('task');
    expect(relos.map((r) => r.kind)).toContain(BtfCoreReloKind.ENUMVAL_VALUE);
  });
});

describe('openObject: errors', () => {
  /** A copy of `file` with the first `from` inside its `.BTF` strings replaced by `to` (same length). */
  const withBtfString = (file: string, from: string, to: string): Uint8Array => {
    const bytes = bytesOf(file);
    const btf = readElf(bytes).section('.BTF');
    const hay = Buffer.from(bytes.subarray(btf?.offset ?? 0, (btf?.offset ?? 0) + (btf?.size ?? 0)));
    const at = hay.indexOf(`\0${from}\0`);
    bytes.set(Buffer.from(to), (btf?.offset ?? 0) + at + 1);
    return bytes;
  };

  it('names the map and the field libbpf does not know', () => {
    expect(() => openObject(withBtfString('maps.bpfel.o', 'map_flags', 'map_flagz'))).toThrow(
      new LoaderError("map 'counts': unknown field 'map_flagz'.", 'unsupported'),
    );
  });

  it('gives the file offset of a corrupt .BTF', () => {
    const bytes = bytesOf('maps.bpfel.o');
    const btf = readElf(bytes).section('.BTF');
    bytes[(btf?.offset ?? 0) + 2] = 9; // version
    expect(() => openObject(bytes)).toThrow(BtfError);
    expect(() => openObject(bytes)).toThrow(`bad BTF at byte offset ${(btf?.offset ?? 0) + 2}: section .BTF: Unsupported version`);
  });

  it('takes no SHT_NOBITS section for code, even flagged SHF_EXECINSTR (a fuzz case that once read past its empty data)', () => {
    // Two bytes of globals.bpfeb.o's section headers changed: .bss.extra gets SHF_EXECINSTR (found by the property below).
    const bytes = bytesOf('globals.bpfeb.o');
    bytes[10967] = 36;
    bytes[9815] = 0;
    const bss = readElf(bytes).section('.bss.extra');
    expect(bss?.type).toBe(SectionType.NOBITS);
    expect((bss?.flags ?? 0) & 4).toBe(4);
    // Not a code section: the data relocation against it is what fails, with the loader's own words.
    expect(() => openObject(bytes)).toThrow(LoaderError);
    expect(() => openObject(bytes)).toThrow("data relo against 'big_zero' in section '.bss.extra', which has no map");
  });

  it('gives only LoaderError, ElfError or BtfError for corrupted and truncated objects', () => {
    const check = (bytes: Uint8Array): void => {
      try {
        openObject(bytes);
      } catch (error) {
        if (!(error instanceof LoaderError || error instanceof ElfError || error instanceof BtfError)) throw error;
      }
    };
    for (const file of ['maps.bpfel.o', 'globals.bpfeb.o', 'legacy.bpfel.o']) {
      const good = bytesOf(file);
      // Most of an object is DWARF, which openObject never reads: aim the edits at what it does read.
      const read = readElf(good)
        .sections.filter((s) => /^(?:\.BTF|\.BTF\.ext|\.maps|maps|\.rel.*|\.symtab|\.strtab|license|version|\.data.*|\.rodata.*)$/.test(s.name) && s.size > 0)
        .map((s) => ({ start: s.offset, size: s.size }));
      const offset = fc.oneof(
        fc.nat({ max: good.length - 1 }),
        fc.constantFrom(...read).chain((r) => fc.nat({ max: r.size - 1 }).map((n) => r.start + n)),
      );
      fc.assert(
        fc.property(fc.array(fc.tuple(offset, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
          const copy = good.slice();
          for (const [at, value] of edits) copy[at] = value;
          check(copy);
        }),
        { numRuns: 500 },
      );
      for (let n = 0; n < good.length; n += 61) check(good.subarray(0, n));
    }
  });
});

describe('openObject: the caller keeps its bytes', () => {
  it("reads a Node Buffer as it reads a Uint8Array, and writes nothing into the caller's memory", () => {
    const file = join(FIXTURES, 'globals.bpfel.o');
    const pooled = readFileSync(file);
    const before = Buffer.from(pooled);
    const fromBuffer = openObject(pooled);
    const fromArray = openObject(new Uint8Array(readFileSync(file)));
    expect(Buffer.compare(pooled, before)).toBe(0);
    expect(fromBuffer.btf?.bytes).toEqual(fromArray.btf?.bytes);
    expect(fromBuffer.btf?.bytes.length).toBeGreaterThan(0);
    expect(fromBuffer.maps.map((m) => m.name)).toEqual(fromArray.maps.map((m) => m.name));
  });
});
