/**
 * Map-in-map (ARRAY_OF_MAPS, HASH_OF_MAPS): a lookup in the outer map gives the inner map, described by
 * `MapDesc.innerMap` (Linux inner_map_meta), NULL until checked, then usable as the map argument of helpers.
 * The expected log lines are Linux 6.18's for the same program on this machine (outer ARRAY_OF_MAPS `outer`
 * of 2, inner ARRAY of 4 elements of 8 bytes; inner_map_meta has no name, so none is printed).
 */
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import type { MapDesc, ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

const TYPE: ProgramTypeDesc = { name: 'test', uapiId: 0, ctx: { structName: 'test_ctx', size: 8, fields: [] }, helpers: new Set([1, 2]) };
const { Add, Call, Exit, JEq, LdImm64, Ldx, Mov, St, program, R0, R1, R2, R3, R4, R10 } = asm;

const INNER: MapDesc = { name: '', type: 'array', typeId: 2, keySize: 4, valueSize: 8, maxEntries: 4, directValue: true };
const OUTER: MapDesc = { name: 'outer', type: 'array_of_maps', typeId: 12, keySize: 4, valueSize: 4, maxEntries: 2, allowedHelpers: [1], innerMap: INNER };
const REGISTRY: VerifierRegistry = {
  helper: (id) =>
    id === 1
      ? { id, name: 'bpf_map_lookup_elem', ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'], constKeyNeverNull: true }
      : id === 2
        ? { id, name: 'bpf_map_update_elem', ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'] }
        : undefined,
  map: () => OUTER,
};
const KEY_0 = [St.w(R10, -4, 0), Mov.reg(R2, R10), Add.imm(R2, -4)];
const outerLookup = [...KEY_0, LdImm64.mapFd(R1, 0), Call.helper(1)];

/** Look up key 0 of the outer map, then key 0 of the inner map it gives, and load 8 bytes at `off` of the value. */
const nestedLoad = (off: number) =>
  program(
    ...outerLookup,
    JEq.imm(R0, 0, 6),
    Mov.reg(R1, R0),
    Mov.reg(R2, R10),
    Add.imm(R2, -4),
    Call.helper(1),
    JEq.imm(R0, 0, 1),
    Ldx.dw(R0, R0, off),
    Mov.imm(R0, 0),
    Exit(),
  );

describe('map-in-map', () => {
  it('the outer lookup gives map_ptr_or_null, then map_ptr; the inner lookup a value of the inner size', () => {
    const prog = nestedLoad(0);
    const r = verify(prog, { progType: TYPE, registry: REGISTRY, logLevel: 2 });
    expect(r.accepted, r.log).toBe(true);
    for (const line of [
      '3: (18) r1 = map[outer]               ; R1=map_ptr(map=outer,ks=4,vs=4)',
      '5: (85) call bpf_map_lookup_elem#1    ; R0=map_ptr_or_null(id=1,ks=4,vs=8)',
      '6: (15) if r0 == 0x0 goto pc+6        ; R0=map_ptr(ks=4,vs=8)',
      '7: (bf) r1 = r0                       ; R0=map_ptr(ks=4,vs=8) R1=map_ptr(ks=4,vs=8)',
      // A constant key below the inner array's max_entries: never NULL (can_elide_value_nullness).
      '10: (85) call bpf_map_lookup_elem#1   ; R0=map_value(ks=4,vs=8)',
    ]) {
      expect(r.log).toContain(line);
    }
  });

  it('the inner value has the inner map size (Linux: invalid access to map value, value_size=8 off=8 size=8)', () => {
    const prog = nestedLoad(8);
    const r = verify(prog, { progType: TYPE, registry: REGISTRY, logLevel: 1 });
    expect(r.error?.message).toBe('invalid access to map value, value_size=8 off=8 size=8');
  });

  it('the inner map before its NULL check is no map argument', () => {
    const prog = program(...outerLookup, Mov.reg(R1, R0), Mov.reg(R2, R10), Add.imm(R2, -4), Call.helper(1), Mov.imm(R0, 0), Exit());
    expect(verify(prog, { progType: TYPE, registry: REGISTRY }).error?.message).toBe('R1 type=map_ptr_or_null expected=map_ptr');
  });

  it('a program may only look an outer map up (check_map_func_compatibility)', () => {
    const prog = program(
      ...KEY_0,
      St.w(R10, -8, 0),
      Mov.reg(R3, R10),
      Add.imm(R3, -8),
      LdImm64.mapFd(R1, 0),
      Mov.imm(R4, 0),
      Call.helper(2),
      Mov.imm(R0, 0),
      Exit(),
    );
    expect(verify(prog, { progType: TYPE, registry: REGISTRY }).error?.message).toBe('cannot pass map_type 12 into func bpf_map_update_elem#2');
  });
});
