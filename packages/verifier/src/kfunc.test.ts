import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { KF, type KfuncLookup, type KfuncProto, type ProgramTypeDesc, type VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

// Kfuncs as the bpf subsystem hands them over (ids as a kernel BTF would give them); `task` is only allowed where
// `allowTask` says, as a kfunc set registered for some program types.
const KFUNCS: Readonly<Record<number, KfuncProto>> = {
  10: { name: 'bpf_task_from_pid', flags: KF.ACQUIRE | KF.RET_NULL, args: [{ kind: 'scalar', name: 'pid' }], ret: { kind: 'btf_id', btfName: 'task_struct' } },
  11: { name: 'bpf_task_release', flags: KF.RELEASE, args: [{ kind: 'btf_id', name: 'p', btfName: 'task_struct' }], ret: { kind: 'void' } },
  20: {
    name: 'bpf_iter_num_new',
    flags: KF.ITER_NEW,
    args: [
      { kind: 'iter', name: 'it', iter: 'num' },
      { kind: 'scalar', name: 'start' },
      { kind: 'scalar', name: 'end' },
    ],
    ret: { kind: 'scalar' },
  },
  21: { name: 'bpf_iter_num_next', flags: KF.ITER_NEXT | KF.RET_NULL, args: [{ kind: 'iter', name: 'it', iter: 'num' }], ret: { kind: 'mem', size: 4 } },
  40: { name: 'bpf_rcu_read_lock', flags: 0, args: [], ret: { kind: 'void' }, rcu: 'lock' },
  41: { name: 'bpf_rcu_read_unlock', flags: 0, args: [], ret: { kind: 'void' }, rcu: 'unlock' },
  22: { name: 'bpf_iter_num_destroy', flags: KF.ITER_DESTROY, args: [{ kind: 'iter', name: 'it', iter: 'num' }], ret: { kind: 'void' } },
};
const TYPE: ProgramTypeDesc = { name: 'test', uapiId: 0, ctx: { structName: 'test_ctx', size: 8, fields: [] }, helpers: new Set() };
function registry(allowTask: boolean): VerifierRegistry {
  return {
    helper: () => undefined,
    map: () => undefined,
    kfunc: (id): KfuncLookup | undefined => {
      if (id === 30) return { name: 'vfs_read', allowed: false };
      const proto = KFUNCS[id];
      return proto === undefined ? undefined : { name: proto.name, proto, allowed: allowTask || !proto.name.startsWith('bpf_task_') };
    },
  };
}
const { Add, Call, Exit, JEq, JGt, Ldx, MayGoto, Mov, program, R0, R1, R2, R3, R6, R7, R10 } = asm;

/** `it` at fp-8: new(it, 0, n), sum the numbers next() gives into r7, destroy(it). */
function iterSum(n: number, destroy = true): ReturnType<typeof program> {
  return program(
    Mov.imm(R7, 0),
    Mov.reg(R1, R10),
    Add.imm(R1, -8),
    Mov.imm(R2, 0),
    Mov.imm(R3, n),
    Call.kfunc(20),
    asm.label('loop'),
    Mov.reg(R1, R10),
    Add.imm(R1, -8),
    Call.kfunc(21),
    JEq.imm(R0, 0, 'done'),
    Ldx.w(R1, R0, 0),
    Add.reg(R7, R1),
    asm.Ja('loop'),
    asm.label('done'),
    ...(destroy ? [Mov.reg(R1, R10), Add.imm(R1, -8), Call.kfunc(22)] : []),
    Mov.imm(R0, 0),
    Exit(),
  );
}

describe('kfunc calls', () => {
  it('tracks the reference an acquire kfunc returns until its release, NULL-checked first', () => {
    const ok = program(Mov.imm(R1, 1), Call.kfunc(10), JEq.imm(R0, 0, 'out'), Mov.reg(R1, R0), Call.kfunc(11), asm.label('out'), Mov.imm(R0, 0), Exit());
    expect(verify(ok, { progType: TYPE, registry: registry(true) }).error).toBeNull();
    const leak = program(Mov.imm(R1, 1), Call.kfunc(10), Mov.imm(R0, 0), Exit());
    const r = verify(leak, { progType: TYPE, registry: registry(true) });
    expect(r.error?.message).toBe('Unreleased reference id=2 alloc_insn=1');
    expect(r.error?.detail).toEqual(['BPF_EXIT instruction in main prog would lead to reference leak']);
    const unchecked = program(Mov.imm(R1, 1), Call.kfunc(10), Mov.reg(R1, R0), Call.kfunc(11), Mov.imm(R0, 0), Exit());
    expect(verify(unchecked, { progType: TYPE, registry: registry(true) }).error).toMatchObject({
      message: 'Possibly NULL pointer passed to trusted arg0',
      errno: 13,
    });
  });

  it("refuses what the program's type, the license or the BTF id do not allow, as Linux does", () => {
    const call = (id: number) => program(Mov.imm(R1, 1), Call.kfunc(id), Mov.imm(R0, 0), Exit());
    expect(verify(call(10), { progType: TYPE, registry: registry(false) }).error).toMatchObject({
      message: 'calling kernel function bpf_task_from_pid is not allowed',
      errno: 13,
    });
    expect(verify(call(30), { progType: TYPE, registry: registry(true) }).error?.message).toBe('calling kernel function vfs_read is not allowed');
    expect(verify(call(99), { progType: TYPE, registry: registry(true) }).error).toMatchObject({ message: 'kernel btf_id 99 is not a function', errno: 22 });
    expect(verify(call(10), { progType: TYPE, registry: registry(true), gpl: false }).error).toMatchObject({
      message: 'cannot call kernel function from non-GPL compatible program',
      errno: 22,
    });
    expect(verify(call(10), { progType: TYPE, registry: { helper: () => undefined, map: () => undefined } }).error?.errno).toBe(22);
  });
});

describe('RCU read-side sections', () => {
  it('refuses a nested lock, an unmatched unlock and an exit inside the section, with Linux 6.18 lines', () => {
    const calls = (...ids: number[]) => program(...ids.map((id) => Call.kfunc(id)), Mov.imm(R0, 0), Exit());
    const run = (...ids: number[]) => verify(calls(...ids), { progType: TYPE, registry: registry(false) }).error;
    expect(run(40, 41)).toBeNull();
    expect(run(40, 40)).toMatchObject({ message: 'nested rcu read lock (kernel function bpf_rcu_read_lock)', errno: 22 });
    expect(run(41)).toMatchObject({ message: 'unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)', errno: 22 });
    expect(run(40)).toMatchObject({ message: 'BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region', errno: 22 });
  });
});

describe('open-coded iterators', () => {
  it('converges on a bpf_iter_num loop and refuses an iterator left undestroyed', () => {
    const r = verify(iterSum(1000), { progType: TYPE, registry: registry(false), logLevel: 2 });
    expect(r.error).toBeNull();
    // The iterator's slot and the reference it holds as print_verifier_state prints them (recorded on Linux 6.18:
    // `fp-8=iter_num(ref_id=1,state=active,depth=0) refs=1`).
    expect(r.log).toContain('; R0=scalar() fp-8=iter_num(ref_id=1,state=active,depth=0) refs=1\n');
    expect(r.log).toContain('; R0=0 fp-8=iter_num(ref_id=1,state=drained,depth=0) refs=1\n');
    // next()'s element on the active path: Linux's `R0=rdonly_mem(id=2,ref_obj_id=1,sz=4)`, one level deeper.
    expect(r.log).toContain('from 8 to 9: R0=rdonly_mem(id=2,ref_obj_id=1,sz=4) R7=0 R10=fp0 fp-8=iter_num(ref_id=1,state=active,depth=1) refs=1\n');
    // The loop is verified a few times, not once per number.
    expect(r.stats.processed).toBeLessThan(200);
    const leak = verify(iterSum(10, false), { progType: TYPE, registry: registry(false) });
    expect(leak.error?.message).toBe('Unreleased reference id=1 alloc_insn=5');
  });

  it('refuses next() on an iterator never made, and a second new() on a live one', () => {
    const uninit = program(Mov.reg(R1, R10), Add.imm(R1, -8), Call.kfunc(21), Mov.imm(R0, 0), Exit());
    expect(verify(uninit, { progType: TYPE, registry: registry(false) }).error).toMatchObject({
      message: 'expected an initialized iter_num as arg #0',
      errno: 22,
    });
    const twice = program(
      Mov.reg(R6, R10),
      Add.imm(R6, -8),
      Mov.reg(R1, R6),
      Mov.imm(R2, 0),
      Mov.imm(R3, 1),
      Call.kfunc(20),
      Mov.reg(R1, R6),
      Mov.imm(R2, 0),
      Mov.imm(R3, 1),
      Call.kfunc(20),
      Mov.imm(R0, 0),
      Exit(),
    );
    expect(verify(twice, { progType: TYPE, registry: registry(false) }).error?.message).toBe('expected uninitialized iter_num as arg #0');
    const notStack = program(Mov.imm(R1, 0), Add.imm(R1, 8), Call.kfunc(22), Mov.imm(R0, 0), Exit());
    expect(verify(notStack, { progType: TYPE, registry: registry(false) }).error?.message).toBe('arg#0 expected pointer to an iterator on stack');
  });
});

describe('may_goto', () => {
  it('verifies a loop bounded only by may_goto: the fall-through is explored one level deeper until it converges', () => {
    const loop = program(Mov.imm(R6, 0), asm.label('top'), MayGoto('out'), Add.imm(R6, 1), asm.Ja('top'), asm.label('out'), Mov.imm(R0, 0), Exit());
    const r = verify(loop, { progType: TYPE, registry: registry(false) });
    expect(r.error).toBeNull();
    expect(r.stats.processed).toBeLessThan(50);
    // Without may_goto the same loop never ends: Linux's "infinite loop detected".
    const endless = program(Mov.imm(R6, 0), asm.label('top'), JGt.imm(R6, -1, 'out'), asm.Ja('top'), asm.label('out'), Mov.imm(R0, 0), Exit());
    expect(verify(endless, { progType: TYPE, registry: registry(false) }).error?.message).toMatch(/^infinite loop detected at insn \d+$/);
  });
});
