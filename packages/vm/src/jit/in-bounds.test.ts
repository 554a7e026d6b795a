/**
 * Per-instruction memory checks: the slots a verifier proved in bounds (LoadOptions.memoryInBounds) are
 * compiled without a region check, every other access keeps its check, in the default `checked` mode.
 */
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { VmLoadError } from '../fault.js';
import { loadProgram } from '../load.js';
import { Arena, LinearMemory, Perm } from '../memory.js';
import { Vm } from '../vm.js';

const { R0, R1, R2, R3, R4, R5, R6, R7, R10, Add, Mov, Ldx, Stx, Exit, program } = asm;

/** A VM with one 64-byte region holding 0x1122334455667788 at its start, and the bytes after it unmapped. */
function setup(engine: 'jit' | 'interp') {
  const mem = new LinearMemory();
  const arena = new Arena(mem);
  const region = arena.alloc(64, Perm.RW, 'value');
  mem.write(region.start, new Uint8Array([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]));
  // Bytes just past the region stay inside the WebAssembly memory but outside every region.
  mem.write(region.start + 64, new Uint8Array([0x2a, 0, 0, 0, 0, 0, 0, 0]));
  return { vm: new Vm({ arena, engine, prime: false }), addr: region.start };
}

// r0 = *(u64 *)(r1 + 0); r2 = *(u64 *)(r1 + off); r0 += r2
const twoLoads = (off: number) => program(Ldx.dw(R0, R1, 0), Ldx.dw(R2, R1, off), Add.reg(R0, R2), Exit());

describe('memoryInBounds', () => {
  it('an access not proved in bounds stays checked and faults cleanly; the proved one beside it runs', () => {
    const prog = loadProgram(twoLoads(64), { memoryInBounds: [0] });
    const { vm, addr } = setup('jit');
    expect(vm.run(prog, addr)).toBe(false);
    expect(vm.fault).toMatchObject({ kind: 'memory', pc: 1, address: BigInt(addr + 64), size: 8 });
    expect(vm.executed).toBe(2);
  });

  it('an access proved in bounds runs without a region check on the JIT (a wrong proof reads unmapped bytes)', () => {
    // The proof is false on purpose: only an unchecked access can read past the region without a fault.
    const prog = loadProgram(twoLoads(64), { memoryInBounds: [0, 1] });
    const { vm, addr } = setup('jit');
    expect(vm.run(prog, addr)).toBe(true);
    expect(vm.r0).toBe(0x1122334455667788n + 42n);
    // The interpreter checks every access.
    const interp = setup('interp');
    expect(interp.vm.run(prog, interp.addr)).toBe(false);
    expect(interp.vm.fault?.kind).toBe('memory');
  });

  it('gives the same results as the checked program when the proofs hold', () => {
    const checked = loadProgram(twoLoads(8));
    const proven = loadProgram(twoLoads(8), { memoryInBounds: [0, 1] });
    const { vm, addr } = setup('jit');
    expect(vm.run(checked, addr)).toBe(true);
    const want = vm.r0;
    expect(vm.run(proven, addr)).toBe(true);
    expect(vm.r0).toBe(want);
    expect(vm.executed).toBe(4);
  });

  it('refuses a slot that is no memory access (facts of another program)', () => {
    expect(() => loadProgram(program(Mov.imm(R0, 0), Exit()), { memoryInBounds: [0] })).toThrow(VmLoadError);
  });

  it('addresses summed in the block (mov, add, add imm) give the same bytes when a term or the base changes between', () => {
    // Each proved load's address was summed from registers that change afterwards, or from the register it is
    // stored in: the JIT must use the values the sum was made of (or the base itself), never stale terms.
    const items = [
      Mov.reg(R2, R1), // r2 = p
      Mov.imm(R3, 8),
      Add.reg(R2, R3), // r2 = p + 8
      Add.imm(R2, 4), // r2 = p + 12
      Mov.imm(R3, 40), // a term changes: r2 still p + 12
      Ldx.w(R0, R2, 0), // 0: *(p + 12)
      Mov.reg(R4, R1),
      Add.imm(R4, -8), // r4 = p - 8
      Mov.imm(R1, 0), // the base's source changes: r4 still p - 8
      Ldx.w(R5, R4, 16), // 1: *(p + 8)
      Add.reg(R0, R5),
      Mov.reg(R6, R4), // r6 = p - 8
      Add.imm(R6, 12), // r6 = p + 4
      Mov.reg(R4, R6), // r4 = r6: a sum naming r4 itself would be stale
      Ldx.w(R7, R4, 0), // 2: *(p + 4)
      Add.reg(R0, R7),
      Mov.imm(R3, -8),
      Mov.reg(R6, R10),
      Add.reg(R6, R3), // r6 = fp - 8
      Stx.w(R6, 0, R0), // 3: *(fp - 8) = r0
      Ldx.w(R2, R10, -8), // 4: r10-relative: the frame's bottom plus 504
      Ldx.w(R0, R6, 0), // 5
      Add.reg(R0, R2),
      Exit(),
    ];
    const slots = [5, 9, 14, 19, 20, 21];
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 1) & 0xff);
    const jit = setup('jit');
    jit.vm.mem.write(jit.addr, bytes);
    const interp = setup('interp');
    interp.vm.mem.write(interp.addr, bytes);
    const proven = loadProgram(program(...items), { memoryInBounds: slots });
    expect(jit.vm.run(proven, jit.addr)).toBe(true);
    expect(interp.vm.run(proven, interp.addr)).toBe(true);
    const word = (at: number) => BigInt(new DataView(bytes.buffer).getUint32(at, true));
    // The sum went through a 32-bit store and was read back twice.
    const stored = (word(12) + word(8) + word(4)) & 0xffffffffn;
    expect(interp.vm.r0).toBe(2n * stored);
    expect(jit.vm.r0).toBe(2n * stored);
  });
});
