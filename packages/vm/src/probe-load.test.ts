/**
 * Probe loads (LoadOptions.probeLoads, Linux BPF_PROBE_MEM): a load through a BTF pointer that would fault leaves
 * 0 in its destination and the program goes on, on the interpreter and the JIT alike; a load that does not fault
 * reads memory as any load does, and other loads still fault.
 */
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { VmLoadError } from './fault.js';
import { loadProgram } from './load.js';
import { Arena, LinearMemory, Perm } from './memory.js';
import { Vm } from './vm.js';

const { R0, R1, R2, R3, Add, Mov, Ldx, Exit, program } = asm;

/** A VM with one 64-byte region holding 0x1122334455667788 at its start. */
function setup(engine: 'jit' | 'interp') {
  const mem = new LinearMemory();
  const arena = new Arena(mem);
  const region = arena.alloc(64, Perm.RW, 'task');
  mem.write(region.start, new Uint8Array([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]));
  return { vm: new Vm({ arena, engine, prime: false }), addr: region.start };
}

// r2 = *(u64 *)(r1 + 0) (a pointer field); r0 = *(u32 *)(r2 + 16) (through it); r0 += 7
const chain = program(Ldx.dw(R2, R1, 0), Ldx.w(R0, R2, 16), Add.imm(R0, 7), Exit());

describe.each(['interp', 'jit'] as const)('probe loads on the %s', (engine) => {
  it('a faulting probe load reads 0 and the run goes on (a NULL or wild pointer chain)', () => {
    const prog = loadProgram(chain, { probeLoads: [0, 1] });
    const { vm } = setup(engine);
    // r1 = NULL: both loads fault, both read 0.
    expect(vm.run(prog, 0)).toBe(true);
    expect(vm.r0).toBe(7n);
    // r1 = a wild 64-bit address.
    expect(vm.run(prog, 0xdead_0000_0000n)).toBe(true);
    expect(vm.r0).toBe(7n);
    expect(vm.executed).toBe(4);
  });

  it('a probe load that does not fault reads memory', () => {
    const prog = loadProgram(program(Ldx.dw(R0, R1, 0), Exit()), { probeLoads: [0] });
    const { vm, addr } = setup(engine);
    expect(vm.run(prog, addr)).toBe(true);
    expect(vm.r0).toBe(0x1122334455667788n);
  });

  it('a load not listed still faults', () => {
    const prog = loadProgram(chain, { probeLoads: [0] });
    const { vm } = setup(engine);
    expect(vm.run(prog, 0)).toBe(false);
    expect(vm.fault).toMatchObject({ kind: 'memory', pc: 1, address: 16n, size: 4, access: 'read' });
  });

  it('a fault of a probe load leaves the region caches to later loads', () => {
    // r0 = probe *(u64 *)(0 + 0) = 0; r2 = *(u64 *)(r3 + 0) from the region (r3 = addr): a real value after it.
    const prog = loadProgram(program(Mov.reg(R3, R1), Mov.imm(R1, 0), Ldx.dw(R0, R1, 0), Ldx.dw(R2, R3, 0), Add.reg(R0, R2), Exit()), {
      probeLoads: [2],
    });
    const { vm, addr } = setup(engine);
    expect(vm.run(prog, addr)).toBe(true);
    expect(vm.r0).toBe(0x1122334455667788n);
  });
});

describe('probeLoads', () => {
  it('refuses a slot that is no load (facts of another program)', () => {
    expect(() => loadProgram(chain, { probeLoads: [2] })).toThrow(VmLoadError);
  });
});
