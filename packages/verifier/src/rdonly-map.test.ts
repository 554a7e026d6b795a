/**
 * Frozen read-only maps (Linux bpf_map_is_rdonly + bpf_map_direct_read): a load at a constant offset of the
 * value is a known constant, so `const volatile` configuration decides branches. The expected logs are those
 * of Linux 6.18 on this machine for the same programs (a 1- and a 2-element BPF_F_RDONLY_PROG array, frozen).
 */
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import type { MapDesc, ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

const TYPE: ProgramTypeDesc = { name: 'test', uapiId: 0, ctx: { structName: 'test_ctx', size: 8, fields: [] }, helpers: new Set([1]) };
const { Call, Exit, JEq, JNe, LdImm64, Ldx, LdxSX, Mov, Add, St, label, program, R0, R1, R2, R10 } = asm;

/** An 8-byte value holding 0x1122334455667788 (little-endian), frozen and read-only to programs. */
const VALUE = new Uint8Array([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
function frozenArray(maxEntries: number, frozen = true): MapDesc {
  return {
    name: '.rodata',
    type: 'array',
    typeId: 2,
    keySize: 4,
    valueSize: 8,
    maxEntries,
    directValue: true,
    readOnly: true,
    ...(frozen
      ? {
          readOnlyValue: (off: number, size: number) => {
            let v = 0n;
            for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(VALUE[off + i] ?? 0);
            return v;
          },
        }
      : {}),
  };
}
/** r0 = bpf_map_lookup_elem(map, &(u32){0}). */
const LOOKUP_KEY_0 = [St.w(R10, -4, 0), Mov.reg(R2, R10), Add.imm(R2, -4), LdImm64.mapFd(R1, 3), Call.helper(1)];
const registry = (map: MapDesc): VerifierRegistry => ({
  helper: (id) => (id === 1 ? { id, name: 'bpf_map_lookup_elem', ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'] } : undefined),
  map: () => map,
});

describe('frozen read-only map values', () => {
  it('a direct value load is the constant (Linux prints R0=0x11223344)', () => {
    const r = verify(program(LdImm64.mapValue(R1, 3, 0), Ldx.w(R0, R1, 4), Exit()), { progType: TYPE, registry: registry(frozenArray(1)), logLevel: 2 });
    expect(r.accepted, r.log).toBe(true);
    expect(r.log).toContain('2: (61) r0 = *(u32 *)(r1 +4)          ; R0=0x11223344 R1=map_value(map=.rodata,ks=4,vs=8)');
  });

  it('through a lookup, sign-extending loads too; the branch the constant decides is dead', () => {
    const prog = program(
      LOOKUP_KEY_0,
      JEq.imm(R0, 0, 'out'),
      LdxSX.b(R1, R0, 7), // 0x11
      LdxSX.h(R2, R0, 0), // 0x7788
      Ldx.w(R0, R0, 2), // 0x33445566
      JNe.imm(R1, 0x11, 'dead'),
      label('out'),
      Mov.imm(R0, 0),
      Exit(),
      label('dead'),
      Mov.imm(R0, 1),
      Exit(),
    );
    const r = verify(prog, { progType: TYPE, registry: registry(frozenArray(1)), logLevel: 2 });
    expect(r.accepted, r.log).toBe(true);
    expect(r.log).toMatch(/; R0=0x33445566/);
    expect(r.log).toMatch(/(; |\n11: )R1=17\b/); // after the branch it decides, mark_precise lines move the state to a line of its own
    expect(r.log).toMatch(/R2=30600\n/); // 0x7788, sign-extended from 16 bits; decimal below 2^16 as Linux prints
    expect(r.facts.unreached).toEqual([13, 14]);
    // The loads are proved in bounds; the helper call's key argument (checked at the call) is no access.
    expect(r.facts.memoryInBounds).toEqual([0, 7, 8, 9]);
  });

  it('without the freeze the value is unknown and both branches are verified', () => {
    const r = verify(program(LdImm64.mapValue(R1, 3, 0), Ldx.w(R0, R1, 4), JEq.imm(R0, 7, 1), Exit(), Mov.imm(R0, 1), Exit()), {
      progType: TYPE,
      registry: registry(frozenArray(1, false)),
    });
    expect(r.accepted).toBe(true);
    expect(r.facts.unreached).toEqual([]);
  });

  it('a frozen array of two elements: no direct value (ENOTSUPP), and a read through a lookup fails with no message', () => {
    const direct = verify(program(LdImm64.mapValue(R1, 3, 0), Ldx.w(R0, R1, 4), Exit()), { progType: TYPE, registry: registry(frozenArray(2)), logLevel: 1 });
    expect(direct.error).toMatchObject({ message: 'invalid access to map value pointer, value_size=8 off=0', errno: 524 });
    const prog = program(LOOKUP_KEY_0, JEq.imm(R0, 0, 1), Ldx.w(R0, R0, 2), Exit());
    const r = verify(prog, { progType: TYPE, registry: registry(frozenArray(2)), logLevel: 2 });
    expect(r.error?.errno).toBe(524);
    expect(r.log).toMatch(/7: \(61\) r0 = \*\(u32 \*\)\(r0 \+2\)\nhint: /);
  });
});
