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

const { R0, R1, R2, Add, Mov, Ldx, Exit, program } = asm;

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
});
