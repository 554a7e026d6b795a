/**
 * The map helpers run by a verified program on a VM over the kernel's memory (testing/helper-rig.ts), their
 * effects checked from the syscall side of the same maps (lookupSys, updateSys), which user space sees.
 */
import { asm, type RawInsn } from '@ebpf-sim/isa';
import { BPF_FUNC, BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { helperRig } from '../testing/helper-rig.js';
import { readU32le, u32le, u64le } from '../testing/map-env.js';

const { R0, R1, R2, R3, R4, R6, R7, FP } = asm;
const call = (name: keyof typeof BPF_FUNC): RawInsn => asm.Call.helper(BPF_FUNC[name]);
/** r0 as the signed 64-bit value a helper returned (-errno). */
const signed = (r0: bigint): number => Number(BigInt.asIntN(64, r0));
/** r2 = fp - 8 with the u32 `key` stored there (a map key on the stack). */
const keyOnStack = (key: number, reg: typeof R2 = R2): RawInsn[] => [asm.St.w(FP, -8, key), asm.Mov.reg(reg, FP), asm.Add.imm(reg, -8)];
/** r3 = fp - 16 holding the u64 `value`. */
const valueOnStack = (value: number, reg: typeof R3 = R3): RawInsn[] => [asm.St.dw(FP, -16, value), asm.Mov.reg(reg, FP), asm.Add.imm(reg, -16)];

/** map_update_elem(map 0, key, value, flags): r0. */
function updateProgram(key: number, value: number, flags: number): RawInsn[] {
  return asm.program(keyOnStack(key), valueOnStack(value), asm.LdImm64.mapFd(R1, 0), asm.Mov.imm(R4, flags), call('map_update_elem'), asm.Exit());
}

/** map_lookup_elem(map 0, key): the u64 value, or `missing` for NULL. */
function lookupProgram(key: number, missing = -1): RawInsn[] {
  return asm.program(
    keyOnStack(key),
    asm.LdImm64.mapFd(R1, 0),
    call('map_lookup_elem'),
    asm.JEq.imm(R0, 0, 'none'),
    asm.Ldx.dw(R0, R0, 0),
    asm.Exit(),
    asm.label('none'),
    asm.Mov.imm(R0, missing),
    asm.Exit(),
  );
}

describe('map_lookup_elem, map_update_elem, map_delete_elem', () => {
  it('a hash map: NOEXIST, EXIST, lookup in place, delete, ENOENT; user space sees what the program wrote', () => {
    const rig = helperRig();
    const map = rig.map({ mapType: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 2, mapFlags: 0 });
    expect(signed(rig.exec(updateProgram(7, 42, BPF_UPDATE.EXIST)))).toBe(-Errno.ENOENT);
    expect(signed(rig.exec(updateProgram(7, 42, BPF_UPDATE.NOEXIST)))).toBe(0);
    expect(signed(rig.exec(updateProgram(7, 43, BPF_UPDATE.NOEXIST)))).toBe(-Errno.EEXIST);
    expect(signed(rig.exec(lookupProgram(7)))).toBe(42);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(7), out, 0)).toBe(0);
    expect(out).toEqual(u64le(42));
    // Full: a third key is E2BIG.
    expect(signed(rig.exec(updateProgram(8, 1, BPF_UPDATE.ANY)))).toBe(0);
    expect(signed(rig.exec(updateProgram(9, 1, BPF_UPDATE.ANY)))).toBe(-Errno.E2BIG);
    const del = (key: number): RawInsn[] => asm.program(keyOnStack(key), asm.LdImm64.mapFd(R1, 0), call('map_delete_elem'), asm.Exit());
    expect(signed(rig.exec(del(7)))).toBe(0);
    expect(signed(rig.exec(del(7)))).toBe(-Errno.ENOENT);
    expect(signed(rig.exec(lookupProgram(7)))).toBe(-1);
    expect(map.lookupSys(u32le(7), out, 0)).toBe(-Errno.ENOENT);
  });

  it('flags above BPF_EXIST, also in the upper 32 bits of the u64, are EINVAL', () => {
    const rig = helperRig();
    rig.map({ mapType: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
    expect(signed(rig.exec(updateProgram(1, 1, 3)))).toBe(-Errno.EINVAL);
    const high = asm.program(keyOnStack(1), valueOnStack(1), asm.LdImm64.mapFd(R1, 0), asm.LdImm64.value(R4, 2n ** 32n), call('map_update_elem'), asm.Exit());
    expect(signed(rig.exec(high))).toBe(-Errno.EINVAL);
    expect(signed(rig.exec(lookupProgram(1)))).toBe(-1);
  });

  it("an array's lookup points at the value in kernel memory: a store through it is what user space reads", () => {
    const rig = helperRig();
    const map = rig.map({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
    const store = asm.program(
      keyOnStack(2),
      asm.LdImm64.mapFd(R1, 0),
      call('map_lookup_elem'),
      asm.JEq.imm(R0, 0, 'out'),
      asm.St.dw(R0, 0, 0x1234),
      asm.label('out'),
      asm.Exit(),
    );
    const address = rig.exec(store);
    expect(address).not.toBe(0n);
    expect(readU32le(rig.kernel.phys.bytes, Number(address))).toBe(0x1234);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(2), out, 0)).toBe(0);
    expect(out).toEqual(u64le(0x1234));
    // Past the end: NULL; delete from an array: EINVAL.
    expect(signed(rig.exec(lookupProgram(4)))).toBe(-1);
    expect(signed(rig.exec(asm.program(keyOnStack(1), asm.LdImm64.mapFd(R1, 0), call('map_delete_elem'), asm.Exit())))).toBe(-Errno.EINVAL);
  });

  it('a per-CPU array: map_lookup_elem gives the running CPU slot', () => {
    const rig = helperRig({ config: { cpus: 4 } });
    const map = rig.map({ mapType: BPF_MAP_TYPE.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, mapFlags: 0 });
    const values = new Uint8Array(32);
    for (let cpu = 0; cpu < 4; cpu++) values.set(u64le(100 + cpu), cpu * 8);
    expect(map.updateSys(u32le(1), values, 0)).toBe(0);
    for (let cpu = 0; cpu < 4; cpu++) {
      rig.run.cpu = cpu;
      expect(signed(rig.exec(lookupProgram(1)))).toBe(100 + cpu);
    }
  });
});

describe('map_lookup_percpu_elem', () => {
  /** lookup_percpu_elem(map 0, key 1, cpu): the value or -1 for NULL. */
  const percpu = (cpu: number): RawInsn[] =>
    asm.program(
      keyOnStack(1),
      asm.LdImm64.mapFd(R1, 0),
      asm.Mov.imm(R3, cpu),
      call('map_lookup_percpu_elem'),
      asm.JEq.imm(R0, 0, 'none'),
      asm.Ldx.dw(R0, R0, 0),
      asm.Exit(),
      asm.label('none'),
      asm.Mov.imm(R0, -1),
      asm.Exit(),
    );

  it.each([BPF_MAP_TYPE.PERCPU_ARRAY, BPF_MAP_TYPE.PERCPU_HASH, BPF_MAP_TYPE.LRU_PERCPU_HASH])(
    'map type %i: any CPU slot; cpu >= nr_cpus is NULL',
    (mapType) => {
      const rig = helperRig({ config: { cpus: 3 } });
      const map = rig.map({ mapType, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
      const values = new Uint8Array(24);
      for (let cpu = 0; cpu < 3; cpu++) values.set(u64le(7 * (cpu + 1)), cpu * 8);
      expect(map.updateSys(u32le(1), values, 0)).toBe(0);
      rig.run.cpu = 0;
      for (let cpu = 0; cpu < 3; cpu++) expect(signed(rig.exec(percpu(cpu)))).toBe(7 * (cpu + 1));
      expect(signed(rig.exec(percpu(3)))).toBe(-1);
      expect(signed(rig.exec(percpu(-1)))).toBe(-1);
    },
  );

  it('the verifier refuses it for a map that is not per-CPU', () => {
    const rig = helperRig();
    rig.map({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
    expect(() => rig.exec(percpu(0))).toThrow(/verifier/);
  });
});

describe('map_push_elem, map_pop_elem, map_peek_elem', () => {
  const push = (value: number, flags = 0): RawInsn[] =>
    asm.program(valueOnStack(value, R2), asm.LdImm64.mapFd(R1, 0), asm.Mov.imm(R3, flags), call('map_push_elem'), asm.Exit());
  /** pop or peek into fp-16 (filled with 0xff first): r0 = helper result, the value read back in r7 → returned as (value << 8) | (result & 0xff). */
  const take = (name: 'map_pop_elem' | 'map_peek_elem'): RawInsn[] =>
    asm.program(
      asm.St.dw(FP, -16, -1),
      asm.Mov.reg(R2, FP),
      asm.Add.imm(R2, -16),
      asm.LdImm64.mapFd(R1, 0),
      call(name),
      asm.Mov.reg(R6, R0),
      asm.Ldx.dw(R7, FP, -16),
      asm.Lsh.imm(R7, 8),
      asm.And.imm(R6, 0xff),
      asm.Or.reg(R7, R6),
      asm.Mov.reg(R0, R7),
      asm.Exit(),
    );
  const result = (r0: bigint): { rc: number; value: bigint } => {
    const low = Number(r0 & 0xffn);
    return { rc: low >= 0x80 ? low - 0x100 : low, value: r0 >> 8n };
  };

  it('a queue gives the oldest value, a stack the newest; empty is ENOENT with the buffer zeroed; full is E2BIG unless BPF_EXIST', () => {
    for (const [mapType, order] of [
      [BPF_MAP_TYPE.QUEUE, [1, 2, 3]],
      [BPF_MAP_TYPE.STACK, [3, 2, 1]],
    ] as const) {
      const rig = helperRig();
      const map = rig.map({ mapType, keySize: 0, valueSize: 8, maxEntries: 3, mapFlags: 0 });
      for (const v of [1, 2, 3]) expect(signed(rig.exec(push(v)))).toBe(0);
      expect(signed(rig.exec(push(4)))).toBe(-Errno.E2BIG);
      expect(signed(rig.exec(push(4, BPF_UPDATE.NOEXIST)))).toBe(-Errno.EINVAL);
      expect(result(rig.exec(take('map_peek_elem')))).toEqual({ rc: 0, value: BigInt(order[0]) });
      for (const v of order) expect(result(rig.exec(take('map_pop_elem')))).toEqual({ rc: 0, value: BigInt(v) });
      expect(result(rig.exec(take('map_pop_elem')))).toEqual({ rc: -Errno.ENOENT, value: 0n });
      expect(result(rig.exec(take('map_peek_elem')))).toEqual({ rc: -Errno.ENOENT, value: 0n });
      // What a program pushes, user space pops (MAP_LOOKUP_AND_DELETE_ELEM).
      expect(signed(rig.exec(push(9)))).toBe(0);
      const out = new Uint8Array(8);
      expect(map.lookupAndDeleteSys(new Uint8Array(0), out, 0)).toBe(0);
      expect(out).toEqual(u64le(9));
    }
  });

  it('a full queue with BPF_EXIST drops the oldest value', () => {
    const rig = helperRig();
    rig.map({ mapType: BPF_MAP_TYPE.QUEUE, keySize: 0, valueSize: 8, maxEntries: 2, mapFlags: 0 });
    for (const v of [1, 2]) rig.exec(push(v));
    expect(signed(rig.exec(push(3, BPF_UPDATE.EXIST)))).toBe(0);
    expect(result(rig.exec(take('map_pop_elem'))).value).toBe(2n);
    expect(result(rig.exec(take('map_pop_elem'))).value).toBe(3n);
  });

  it('a bloom filter reaches push and peek (not pop): what a program adds, user space finds, and the reverse', () => {
    const rig = helperRig();
    const map = rig.map({ mapType: BPF_MAP_TYPE.BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 100, mapFlags: BPF_MAP_F.ZERO_SEED, mapExtra: 3 });
    expect(signed(rig.exec(push(0xabcd)))).toBe(0);
    expect(signed(rig.exec(push(0xabcd, BPF_UPDATE.EXIST)))).toBe(-Errno.EINVAL);
    const contains = (value: number): number => map.lookupSys(new Uint8Array(0), u64le(value), 0);
    expect(contains(0xabcd)).toBe(0);
    expect(map.updateSys(new Uint8Array(0), u64le(77), 0)).toBe(0);
    const peek = (value: number): RawInsn[] => asm.program(valueOnStack(value, R2), asm.LdImm64.mapFd(R1, 0), call('map_peek_elem'), asm.Exit());
    expect(signed(rig.exec(peek(77)))).toBe(0);
    expect(signed(rig.exec(peek(0xabcd)))).toBe(0);
    // A value never added: the program's answer is the filter's (the syscall side tests the same bits).
    for (const v of [1, 2, 3, 5, 8]) expect(signed(rig.exec(peek(v)))).toBe(contains(v));
    expect([1, 2, 3, 5, 8].some((v) => contains(v) === -Errno.ENOENT)).toBe(true);
    expect(() => rig.exec(take('map_pop_elem'))).toThrow(/verifier/);
  });
});

describe('spin_lock, spin_unlock', () => {
  it("a program's critical section updates the value; the lock word is Linux's (1 held, 0 free) and user space reads it as 0", () => {
    const rig = helperRig();
    // struct { struct bpf_spin_lock lock; u32 counter; }: the lock at offset 0.
    const map = rig.map({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, mapFlags: 0, spinLockOff: 0 });
    const increment = asm.program(
      keyOnStack(0),
      asm.LdImm64.mapFd(R1, 0),
      call('map_lookup_elem'),
      asm.JEq.imm(R0, 0, 'out'),
      asm.Mov.reg(R6, R0),
      asm.Mov.reg(R1, R6),
      call('spin_lock'),
      asm.Ldx.w(R7, R6, 4),
      asm.Add.imm(R7, 1),
      asm.Stx.w(R6, 4, R7),
      asm.Mov.reg(R1, R6),
      call('spin_unlock'),
      asm.Mov.reg(R0, R6),
      asm.label('out'),
      asm.Exit(),
    );
    const value = Number(rig.exec(increment));
    rig.exec(increment);
    const bytes = rig.kernel.phys.bytes;
    expect(readU32le(bytes, value + 4)).toBe(2);
    expect(readU32le(bytes, value)).toBe(0);
    // The word while held: the helpers alone, as a program inside its critical section would leave it.
    rig.call('spin_lock', BigInt(value));
    expect(readU32le(bytes, value)).toBe(1);
    rig.call('spin_unlock', BigInt(value));
    expect(readU32le(bytes, value)).toBe(0);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(0), out, BPF_UPDATE.F_LOCK)).toBe(0);
    expect(readU32le(out, 0)).toBe(0);
    expect(readU32le(out, 4)).toBe(2);
  });
});
