import { asm, type RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import type { HelperProto, KfuncLookup, KfuncProto, ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { KF } from './registry.js';
import { verify } from './verifier.js';

// The special kfuncs as the bpf subsystem describes them (kfuncs/cast.ts, kfuncs/dynptr.ts): argument kinds from
// Linux's name suffixes, R0 typed by the kfunc.
const KFUNCS: Readonly<Record<number, KfuncProto>> = {
  1: { name: 'bpf_cast_to_kern_ctx', flags: 0, args: [{ kind: 'ctx', name: 'obj' }], ret: { kind: 'kern_ctx' } },
  2: {
    name: 'bpf_rdonly_cast',
    flags: 0,
    args: [
      { kind: 'ignore', name: 'obj__ign' },
      { kind: 'const', name: 'btf_id__k' },
    ],
    ret: { kind: 'rdonly_cast' },
  },
  3: {
    name: 'bpf_dynptr_from_skb',
    flags: 0,
    args: [
      { kind: 'ctx', name: 's' },
      { kind: 'scalar', name: 'flags' },
      { kind: 'dynptr', name: 'ptr__uninit', uninit: true, dynptrType: 'skb' },
    ],
    ret: { kind: 'scalar' },
  },
  4: {
    name: 'bpf_dynptr_slice',
    flags: KF.RET_NULL,
    args: [
      { kind: 'dynptr', name: 'p', uninit: false },
      { kind: 'scalar', name: 'offset' },
      { kind: 'mem_size', name: 'buffer__opt', optional: true, constSize: true },
      { kind: 'const', name: 'buffer__szk' },
    ],
    ret: { kind: 'dynptr_slice', rdwr: false },
  },
  5: {
    name: 'bpf_dynptr_slice_rdwr',
    flags: KF.RET_NULL,
    args: [
      { kind: 'dynptr', name: 'p', uninit: false },
      { kind: 'scalar', name: 'offset' },
      { kind: 'mem_size', name: 'buffer__opt', optional: true, constSize: true },
      { kind: 'const', name: 'buffer__szk' },
    ],
    ret: { kind: 'dynptr_slice', rdwr: true },
  },
};
const PULL_DATA: HelperProto = { id: 39, name: 'bpf_skb_pull_data', ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true };
const COPY_FROM_USER: HelperProto = {
  id: 148,
  name: 'bpf_copy_from_user',
  ret: 'integer',
  args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'],
  mightSleep: true,
};

function type(directPacketWrite: boolean): ProgramTypeDesc {
  return { name: 'sched_cls', uapiId: 3, ctx: { structName: '__sk_buff', size: 192, fields: [] }, helpers: new Set([148, 39]), directPacketWrite };
}
const registry: VerifierRegistry = {
  helper: (id) => (id === 148 ? COPY_FROM_USER : id === 39 ? PULL_DATA : undefined),
  map: () => undefined,
  kfunc: (id): KfuncLookup | undefined => {
    const proto = KFUNCS[id];
    if (proto === undefined) return undefined;
    return {
      name: proto.name,
      proto,
      allowed: true,
      kernCtx: 'sk_buff',
      typeOf: (btfId) => (btfId === 0 ? { kind: 'void' } : btfId === 7 ? { kind: 'struct', name: 'sk_buff' } : undefined),
    };
  },
};
const { Add, Call, Exit, JEq, Ldx, Mov, program, R0, R1, R2, R3, R4, R6, R7, R10 } = asm;
const run = (prog: ReturnType<typeof program>, write = true, opts: { sleepable?: boolean; logLevel?: 1 | 2 } = {}) =>
  verify(prog, { progType: type(write), registry, ...opts });

/** The skb dynptr at fp-16 from the context (r6), then a 14-byte slice at offset 0 into a buffer at fp-32. */
function slice(id: 4 | 5, nullCheck: boolean, size = 14, use: readonly RawInsn[] = [Ldx.h(R0, R0, 12)]): ReturnType<typeof program> {
  return program(
    Mov.reg(R6, R1),
    Mov.reg(R1, R6),
    Mov.imm(R2, 0),
    Mov.reg(R3, R10),
    Add.imm(R3, -16),
    Call.kfunc(3),
    Mov.reg(R1, R10),
    Add.imm(R1, -16),
    Mov.imm(R2, 0),
    Mov.reg(R3, R10),
    Add.imm(R3, -32),
    Mov.imm(R4, size),
    Call.kfunc(id),
    ...(nullCheck ? [JEq.imm(R0, 0, 'out')] : []),
    ...use,
    asm.label('out'),
    Mov.imm(R0, 0),
    Exit(),
  );
}

describe('special kfuncs (cast, rdonly cast, packet dynptrs)', () => {
  it('types bpf_cast_to_kern_ctx as a trusted pointer to the kernel context, from the context only', () => {
    const ok = run(program(Call.kfunc(1), Mov.imm(R0, 0), Exit()), true, { logLevel: 2 });
    expect(ok.error).toBeNull();
    expect(ok.log).toContain('R0=trusted_ptr_sk_buff()');
    const fromStack = run(program(Mov.reg(R1, R10), Add.imm(R1, -8), Call.kfunc(1), Mov.imm(R0, 0), Exit()));
    expect(fromStack.error).toMatchObject({ message: 'arg#0 expected pointer to ctx, but got fp', errno: 22 });
  });

  it('types bpf_rdonly_cast by its constant BTF id: untrusted struct, read-only void memory, or refused', () => {
    const cast = (id: number) => program(Mov.imm(R2, id), Call.kfunc(2), Mov.imm(R0, 0), Exit());
    expect(run(cast(7), true, { logLevel: 2 }).log).toContain('R0=untrusted_ptr_sk_buff()');
    expect(run(cast(0), true, { logLevel: 2 }).log).toContain('R0=rdonly_untrusted_mem(sz=0)');
    // Loads through the void cast are probe loads: any offset, an unknown scalar.
    expect(run(program(Mov.imm(R2, 0), Call.kfunc(2), Ldx.w(R0, R0, 100), Mov.imm(R0, 0), Exit())).error).toBeNull();
    expect(run(cast(9)).error).toMatchObject({ message: 'kfunc bpf_rdonly_cast type ID argument must be of a struct or void', errno: 22 });
    // R0 of bpf_dynptr_from_skb is an unknown scalar.
    const unknown = run(program(Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -16), Call.kfunc(3), Mov.reg(R2, R0), Call.kfunc(2), Mov.imm(R0, 0), Exit()));
    expect(unknown.error).toMatchObject({ message: 'R2 must be a known constant', errno: 22 });
  });

  it('slices an skb dynptr: rdonly_mem_or_null of the constant size, NULL-checked before use', () => {
    expect(run(slice(4, true)).error).toBeNull();
    expect(run(slice(4, false)).error?.message).toBe("R0 invalid mem access 'rdonly_mem_or_null'");
    // The slice is 14 bytes: a 2-byte load at 12 fits, one at 12 of a 13-byte slice does not.
    expect(run(slice(4, true, 13)).error?.message).toContain('invalid access to memory, mem_size=13 off=12 size=2');
    expect(run(slice(5, true)).error).toBeNull();
    expect(run(slice(5, true), false).error).toMatchObject({ message: 'the prog does not allow writes to packet data', errno: 22 });
  });

  it('invalidates packet slices when a helper may move the packet (clear_all_pkt_pointers)', () => {
    const pulled = slice(4, true, 14, [Mov.reg(R7, R0), Mov.reg(R1, R6), Mov.imm(R2, 0), Call.helper(39), Ldx.h(R0, R7, 12)]);
    expect(run(pulled).error?.message).toBe("R7 invalid mem access 'scalar'");
  });

  it('prints kfunc calls by name in the log, as Linux does', () => {
    const r = run(program(Call.kfunc(1), Mov.imm(R0, 0), Exit()), true, { logLevel: 2 });
    expect(r.log).toContain('(85) call bpf_cast_to_kern_ctx#1');
  });
});

describe('sleepable programs', () => {
  const copy = program(Mov.reg(R1, R10), Add.imm(R1, -8), Mov.imm(R2, 8), Mov.imm(R3, 0), Call.helper(148), Mov.imm(R0, 0), Exit());
  it('refuses a helper that may sleep unless the program is sleepable', () => {
    expect(run(copy).error).toMatchObject({ message: 'helper call might sleep in a non-sleepable prog', errno: 22 });
    expect(run(copy, true, { sleepable: true }).error).toBeNull();
  });

  it('calls a KF_SLEEPABLE kfunc only from a sleepable program, outside RCU sections', () => {
    const sleepy: KfuncProto = { name: 'bpf_sleepy', flags: KF.SLEEPABLE, args: [], ret: { kind: 'void' } };
    const lock: KfuncProto = { name: 'bpf_rcu_read_lock', flags: 0, args: [], ret: { kind: 'void' }, rcu: 'lock' };
    const reg: VerifierRegistry = {
      ...registry,
      kfunc: (id) =>
        id === 50 ? { name: sleepy.name, proto: sleepy, allowed: true } : id === 40 ? { name: lock.name, proto: lock, allowed: true } : undefined,
    };
    const call = program(Call.kfunc(50), Mov.imm(R0, 0), Exit());
    expect(verify(call, { progType: type(true), registry: reg }).error).toMatchObject({
      message: 'program must be sleepable to call sleepable kfunc bpf_sleepy',
      errno: 13,
    });
    expect(verify(call, { progType: type(true), registry: reg, sleepable: true }).error).toBeNull();
    const inRcu = program(Call.kfunc(40), Call.kfunc(50), Mov.imm(R0, 0), Exit());
    expect(verify(inRcu, { progType: type(true), registry: reg, sleepable: true }).error).toMatchObject({
      message: 'kernel func bpf_sleepy is sleepable within rcu_read_lock region',
      errno: 13,
    });
  });

  it('refuses it inside an RCU read-side section of a sleepable program', () => {
    const lockId = 40;
    const reg: VerifierRegistry = {
      ...registry,
      kfunc: (id) =>
        id === lockId
          ? { name: 'bpf_rcu_read_lock', proto: { name: 'bpf_rcu_read_lock', flags: 0, args: [], ret: { kind: 'void' }, rcu: 'lock' }, allowed: true }
          : undefined,
    };
    const prog = program(Call.kfunc(lockId), Mov.reg(R1, R10), Add.imm(R1, -8), Mov.imm(R2, 8), Mov.imm(R3, 0), Call.helper(148), Mov.imm(R0, 0), Exit());
    expect(verify(prog, { progType: type(true), registry: reg, sleepable: true }).error).toMatchObject({
      message: 'sleepable helper bpf_copy_from_user#148 in rcu_read_lock region',
      errno: 22,
    });
  });
});
