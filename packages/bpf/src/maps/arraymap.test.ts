import { describe, expect, it } from 'vitest';
import { formatXlated, lookupForm } from '@ebpf-sim/isa';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, CAP, Errno, MAP, PAGE_SIZE, PROT } from '@ebpf-sim/uapi';
import { mapTestEnv, readU32le, u32le, u64le } from '../testing/map-env.js';
import { ArrayMap, BPF_ARRAY_VALUE_OFF } from './arraymap.js';
import { createMap } from './registry.js';
import { bpfMapMmap, ENOTSUPP, type MapAttr, type MapEnv } from './map.js';

function array(env: MapEnv, attr: Partial<MapAttr> = {}): ArrayMap {
  const map = createMap({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0, name: 'arr', ...attr }, env);
  if (!(map instanceof ArrayMap)) throw new Error(`array map creation failed: ${typeof map === 'number' ? map : 'not an array'}`);
  return map;
}

describe('array_map_alloc_check', () => {
  const env = mapTestEnv();
  const base: MapAttr = { mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 };
  it.each([
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['key_size 8', { keySize: 8 }, -Errno.EINVAL],
    ['value_size 0', { valueSize: 0 }, -Errno.EINVAL],
    ['unknown flag NO_PREALLOC', { mapFlags: BPF_MAP_F.NO_PREALLOC }, -Errno.EINVAL],
    ['RDONLY_PROG with WRONLY_PROG', { mapFlags: BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY_PROG }, -Errno.EINVAL],
    ['RDONLY with WRONLY', { mapFlags: BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY }, -Errno.EINVAL],
    ['MMAPABLE on a per-CPU array', { mapType: BPF_MAP_TYPE.PERCPU_ARRAY, mapFlags: BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['NUMA node on a per-CPU array', { mapType: BPF_MAP_TYPE.PERCPU_ARRAY, mapFlags: BPF_MAP_F.NUMA_NODE }, -Errno.EINVAL],
    ['PRESERVE_ELEMS outside perf event arrays', { mapFlags: BPF_MAP_F.PRESERVE_ELEMS }, -Errno.EINVAL],
    ['value_size above INT_MAX', { valueSize: 0x80000000 }, -Errno.E2BIG],
    ['per-CPU value above 32 KiB', { mapType: BPF_MAP_TYPE.PERCPU_ARRAY, valueSize: (32 << 10) + 1 }, -Errno.E2BIG],
    ['more than memory holds', { valueSize: 1 << 20, maxEntries: 1 << 12 }, -Errno.ENOMEM],
    ['bad name', { name: 'no-dash' }, -Errno.EINVAL],
    ['name of 16 characters', { name: 'a'.repeat(16) }, -Errno.EINVAL],
    ['map_extra', { mapExtra: 1 }, -Errno.EINVAL],
    ['spin lock in a per-CPU array', { mapType: BPF_MAP_TYPE.PERCPU_ARRAY, spinLockOff: 0 }, -Errno.EOPNOTSUPP],
    ['spin lock past the value', { valueSize: 8, spinLockOff: 6 }, -Errno.EINVAL],
    ['unknown map type', { mapType: 200 }, -Errno.EINVAL],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...base, ...change }, env)).toBe(errno);
  });

  it('accepts MMAPABLE, RDONLY_PROG and a NUMA node 0 on an array', () => {
    for (const mapFlags of [BPF_MAP_F.MMAPABLE, BPF_MAP_F.RDONLY_PROG, BPF_MAP_F.NUMA_NODE]) {
      const map = createMap({ ...base, mapFlags }, env);
      expect(map).toBeInstanceOf(ArrayMap);
      if (map instanceof ArrayMap) map.free();
    }
    expect(createMap({ ...base, mapFlags: BPF_MAP_F.NUMA_NODE, numaNode: 1 }, env)).toBe(-Errno.EINVAL);
  });
});

describe('ARRAY', () => {
  it('is zeroed at creation and read and written in place by programs', () => {
    const env = mapTestEnv();
    // Dirty memory first, so zeroing is the map's doing.
    const dirty = env.phys.kmalloc(4096, 'dirt');
    env.phys.bytes.fill(0xaa, dirty, dirty + 4096);
    env.phys.kfree(dirty);
    const map = array(env);
    const value = map.lookup(env.put(u32le(2)), 0);
    expect(value).toBeGreaterThan(0);
    expect([...env.read(value, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // A program writes through the pointer; user space sees it.
    env.phys.view.setUint32(value, 77, true);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(2), out, 0)).toBe(0);
    expect(readU32le(out)).toBe(77);
    // An update from a program writes where lookup points.
    expect(map.update(env.put(u32le(1)), env.put(u64le(5), 16), BPF_UPDATE.ANY, 0)).toBe(0);
    expect(env.phys.view.getUint32(map.lookup(env.put(u32le(1)), 0), true)).toBe(5);
    map.free();
  });

  it('gives Linux errnos for update, lookup and delete', () => {
    const env = mapTestEnv();
    const map = array(env);
    const value = u64le(9);
    expect(map.updateSys(u32le(4), value, BPF_UPDATE.ANY)).toBe(-Errno.E2BIG);
    expect(map.updateSys(u32le(0), value, BPF_UPDATE.NOEXIST)).toBe(-Errno.EEXIST);
    expect(map.updateSys(u32le(0), value, BPF_UPDATE.EXIST)).toBe(0);
    expect(map.updateSys(u32le(0), value, 3)).toBe(-Errno.EINVAL);
    expect(map.updateSys(u32le(0), value, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupSys(u32le(4), new Uint8Array(8), 0)).toBe(-Errno.ENOENT);
    expect(map.lookupSys(u32le(0), new Uint8Array(8), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupSys(u32le(0), new Uint8Array(8), 8)).toBe(-Errno.EINVAL);
    expect(map.lookup(env.put(u32le(4)), 0)).toBe(0);
    expect(map.lookup(env.put(u32le(0xffffffff)), 0)).toBe(0);
    expect(map.deleteSys(u32le(0))).toBe(-Errno.EINVAL);
    expect(map.lookupAndDeleteSys(u32le(0), new Uint8Array(8), 0)).toBe(-524);
    map.free();
  });

  it('iterates 0..max_entries-1 and restarts from a missing key', () => {
    const env = mapTestEnv();
    const map = array(env, { maxEntries: 3 });
    const next = new Uint8Array(4);
    const keys: number[] = [];
    let key: Uint8Array | null = null;
    while (map.getNextKey(key, next) === 0) {
      keys.push(readU32le(next));
      key = next.slice();
    }
    expect(keys).toEqual([0, 1, 2]);
    expect(map.getNextKey(u32le(2), next)).toBe(-Errno.ENOENT);
    expect(map.getNextKey(u32le(7), next)).toBe(0);
    expect(readU32le(next)).toBe(0);
    map.free();
  });

  it('leaves the spin lock alone and reads it as zero with BPF_F_LOCK', () => {
    const env = mapTestEnv();
    const map = array(env, { valueSize: 16, spinLockOff: 8 });
    const slot = map.lookup(env.put(u32le(0)), 0);
    env.phys.view.setUint32(slot + 8, 1, true); // held by a program
    const value = new Uint8Array(16).fill(0x11);
    expect(map.updateSys(u32le(0), value, BPF_UPDATE.F_LOCK)).toBe(0);
    expect(env.phys.view.getUint32(slot + 8, true)).toBe(1);
    expect(env.phys.view.getUint32(slot + 12, true)).toBe(0x11111111);
    const out = new Uint8Array(16);
    expect(map.lookupSys(u32le(0), out, BPF_UPDATE.F_LOCK)).toBe(0);
    expect([...out.subarray(8, 12)]).toEqual([0, 0, 0, 0]);
    expect(out[0]).toBe(0x11);
    map.free();
  });

  it('describes itself to the verifier through mapDesc', () => {
    const env = mapTestEnv();
    const map = array(env, { mapFlags: BPF_MAP_F.RDONLY_PROG });
    expect(map.desc()).toMatchObject({
      name: 'arr',
      type: 'array',
      typeId: BPF_MAP_TYPE.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      directValue: true,
      readOnly: true,
    });
    map.free();
  });
});

describe('PERCPU_ARRAY', () => {
  it('keeps one 8-byte-rounded slot per CPU; user space sees them all', () => {
    const env = mapTestEnv({ nrCpus: 3 });
    const map = createMap({ mapType: BPF_MAP_TYPE.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 }, env);
    if (!(map instanceof ArrayMap)) throw new Error('create failed');
    expect(map.userValueSize).toBe(24);
    const key = env.put(u32le(1));
    const slots = [0, 1, 2].map((cpu) => map.lookup(key, cpu));
    expect(slots[1]! - slots[0]!).toBe(8);
    expect(slots[2]! - slots[1]!).toBe(8);
    // A program on CPU 1 writes its own slot only.
    expect(map.update(key, env.put(u32le(0xabcd), 16), BPF_UPDATE.ANY, 1)).toBe(0);
    const out = new Uint8Array(24);
    expect(map.lookupSys(u32le(1), out, 0)).toBe(0);
    expect([0, 8, 16].map((o) => readU32le(out, o))).toEqual([0, 0xabcd, 0]);
    // User space writes every CPU's slot.
    const all = new Uint8Array(24);
    [5, 6, 7].forEach((v, cpu) => new DataView(all.buffer).setUint32(cpu * 8, v, true));
    expect(map.updateSys(u32le(1), all, BPF_UPDATE.ANY)).toBe(0);
    expect(slots.map((s) => env.phys.view.getUint32(s, true))).toEqual([5, 6, 7]);
    expect(map.updateSys(u32le(0), all, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.deleteSys(u32le(0))).toBe(-Errno.EINVAL);
    expect(map.desc().type).toBe('percpu_array');
    map.free();
  });
});

describe('array memory', () => {
  it('charges the owner and gives everything back on free', () => {
    const env = mapTestEnv();
    const before = env.phys.freePages;
    const map = array(env, { valueSize: 100, maxEntries: 100, name: 'big' });
    // Linux's array_size: sizeof(struct bpf_array), then the values.
    expect(env.phys.usageOf('bpf-map:big').bytes).toBe(BPF_ARRAY_VALUE_OFF + 100 * 104);
    expect(map.kernelStruct()).toBe(map.base - BPF_ARRAY_VALUE_OFF);
    map.free();
    expect(env.phys.usageOf('bpf-map:big')).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
    expect(env.phys.freePages).toBe(before);
  });

  it('rounds to a power of two for creators without CAP_PERFMON, as Linux against Spectre v1', () => {
    const env = mapTestEnv({ capabilities: [CAP.BPF] });
    const map = array(env, { valueSize: 8, maxEntries: 5, name: 'unpriv' });
    expect(env.phys.usageOf('bpf-map:unpriv').bytes).toBe(BPF_ARRAY_VALUE_OFF + 8 * 8);
    expect(map.maxEntries).toBe(5);
    expect(map.lookup(env.put(u32le(5)), 0)).toBe(0);
    map.free();
  });
});

describe('array_map_mmap through bpf_map_mmap', () => {
  const shared = MAP.SHARED;
  const rw = PROT.READ | PROT.WRITE;

  it('maps the page-aligned values of an MMAPABLE array, shared, within PAGE_ALIGN(max_entries × elem_size)', () => {
    const env = mapTestEnv();
    const map = array(env, { mapFlags: BPF_MAP_F.MMAPABLE, valueSize: 8, maxEntries: 1000 });
    expect(map.base % PAGE_SIZE).toBe(0);
    // 8000 bytes of values: whole pages, two of them, after the page the struct ends on (Linux: PAGE_ALIGN(sizeof(struct bpf_array))).
    expect(env.phys.usageOf(map.owner).bytes).toBe(3 * PAGE_SIZE);
    expect(map.kernelStruct()).toBe(map.base - BPF_ARRAY_VALUE_OFF);
    expect(bpfMapMmap(map, 0, 2, rw, shared)).toEqual([map.base, map.base + PAGE_SIZE]);
    expect(bpfMapMmap(map, 1, 1, PROT.READ, shared)).toEqual([map.base + PAGE_SIZE]);
    expect(bpfMapMmap(map, 1, 2, PROT.READ, shared)).toBe(-Errno.EINVAL);
    expect(bpfMapMmap(map, 0, 1, PROT.READ, MAP.PRIVATE)).toBe(-Errno.EINVAL);
    // A value user space writes through the mapping is the value a lookup sees.
    env.phys.view.setUint32(map.base + 8 * 600, 0xfeed, true);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(600), out, 0)).toBe(0);
    expect(readU32le(out)).toBe(0xfeed);
    map.free();
  });

  it('refuses writable mappings of a frozen array (EPERM) and of an RDONLY_PROG array (EACCES), read-only ones not', () => {
    const env = mapTestEnv();
    const frozen = array(env, { mapFlags: BPF_MAP_F.MMAPABLE });
    frozen.frozen = true;
    expect(bpfMapMmap(frozen, 0, 1, rw, shared)).toBe(-Errno.EPERM);
    expect(bpfMapMmap(frozen, 0, 1, PROT.READ, shared)).toEqual([frozen.base]);
    const rdonlyProg = array(env, { mapFlags: BPF_MAP_F.MMAPABLE | BPF_MAP_F.RDONLY_PROG });
    expect(bpfMapMmap(rdonlyProg, 0, 1, rw, shared)).toBe(-Errno.EACCES);
    expect(bpfMapMmap(rdonlyProg, 0, 1, PROT.READ, shared)).toEqual([rdonlyProg.base]);
  });

  it('answers EINVAL for an array without MMAPABLE and ENOTSUPP for types without map_mmap', () => {
    const env = mapTestEnv();
    expect(bpfMapMmap(array(env), 0, 1, PROT.READ, shared)).toBe(-Errno.EINVAL);
    const percpu = createMap({ mapType: BPF_MAP_TYPE.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 }, env);
    if (typeof percpu === 'number') throw new Error(`percpu array: ${percpu}`);
    expect(bpfMapMmap(percpu, 0, 1, PROT.READ, shared)).toBe(-ENOTSUPP);
    expect(bpfMapMmap(percpu, 0, 1, PROT.READ, MAP.PRIVATE)).toBe(-ENOTSUPP);
  });
});

describe('array_map_gen_lookup', () => {
  /** The generated lookup as bpftool prints it (opcode, then the instruction). */
  const printed = (map: ArrayMap): string[] | null =>
    map.genLookup()?.insns.map((insn) => {
      const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
      if (form === null) throw new Error(`no form for ${insn.code}`);
      return formatXlated(insn, form);
    }) ?? null;

  it('emits Linux 6.18 sequence for a CAP_PERFMON creator: no index mask, a shift for a power-of-two element', () => {
    const map = array(mapTestEnv(), { valueSize: 8, maxEntries: 10 });
    expect(printed(map)).toEqual([
      '(07) r1 += 312',
      '(61) r0 = *(u32 *)(r2 +0)',
      '(35) if r0 >= 0xa goto pc+3',
      '(67) r0 <<= 3',
      '(0f) r0 += r1',
      '(05) goto pc+1',
      '(b7) r0 = 0',
    ]);
    // The key load needs no run-time check: the verifier proved the key pointer readable for key_size bytes.
    expect(map.genLookup()?.inBounds).toEqual([1]);
  });

  it('masks the index for a creator without CAP_PERFMON (Spectre v1) and multiplies by an element size that is no power of two', () => {
    const map = array(mapTestEnv({ capabilities: [CAP.BPF] }), { valueSize: 20, maxEntries: 3 });
    expect(printed(map)).toEqual([
      '(07) r1 += 312',
      '(61) r0 = *(u32 *)(r2 +0)',
      '(35) if r0 >= 0x3 goto pc+4',
      '(54) w0 &= 3',
      '(27) r0 *= 24',
      '(0f) r0 += r1',
      '(05) goto pc+1',
      '(b7) r0 = 0',
    ]);
  });

  it('leaves per-CPU arrays and inner-map templates (BPF_F_INNER_MAP) to the call', () => {
    expect(array(mapTestEnv(), { mapType: BPF_MAP_TYPE.PERCPU_ARRAY }).genLookup()).toBeNull();
    expect(array(mapTestEnv(), { mapFlags: BPF_MAP_F.INNER_MAP }).genLookup()).toBeNull();
  });
});
