/**
 * bpf_dummy_ops (net/bpf/bpf_dummy_struct_ops.c, Linux 6.18): the struct_ops the kernel has for testing. Its
 * programs run only through BPF_PROG_TEST_RUN (bpf_struct_ops_test_run); a map of it cannot be filled
 * (init_member refuses every member with EOPNOTSUPP), so it is never registered. test_1's and test_2's stubs mark
 * their state argument differently: test_1's is `__nullable` (a program must test it), test_2's is not (a test run
 * must pass one).
 */
import { Errno } from '@ebpf-sim/uapi';
import type { BtfAccess } from '@ebpf-sim/verifier';
import type { StructOpsParam, StructOpsTestRunArgs, StructOpsTestRunEnv, StructOpsType } from './types.js';

/** struct bpf_dummy_ops_state { int val; }: what test runs copy in from args[0] and back out. */
const STATE_SIZE = 4;
const STATE = 'struct bpf_dummy_ops_state *';

/** bpf_dummy_ops_btf_struct_access: a program may write the state, within its size, and nothing else. */
function dummyStructWrite(structName: string, off: number, size: number): BtfAccess {
  if (structName !== 'bpf_dummy_ops_state') return { kind: 'refused', log: ['only access to bpf_dummy_ops_state is supported'], errno: Errno.EACCES };
  if (off + size > STATE_SIZE) return { kind: 'refused', log: [`write access at off ${off} with size ${size}`], errno: Errno.EACCES };
  return { kind: 'scalar' };
}

/** A u64 argument as the trampoline sees the register the caller filled for a parameter of this size (zero-extended). */
function narrowed(value: bigint, size: number): bigint {
  return size >= 8 ? value : value & ((1n << BigInt(size * 8)) - 1n);
}

/** The size of a parameter's C type as dummy_ops prototypes use them. */
const PARAM_SIZES: Readonly<Record<string, number>> = { int: 4, 'unsigned short': 2, char: 1, 'unsigned long': 8 };

/**
 * bpf_struct_ops_test_run: ctx_in is one u64 per parameter (dummy_ops_init_args: EINVAL for another size, EFAULT
 * for a fault); args[0], when not 0, points to a state copied in and out around the run; a NULL pointer argument
 * the stub does not mark `__nullable` is EINVAL (check_test_run_args). The program's return value is retval.
 */
function dummyTestRun(args: StructOpsTestRunArgs, env: StructOpsTestRunEnv): { readonly errno: number; readonly retval: number } {
  const nr = args.params.length;
  if (args.ctxSizeIn !== 8 * nr) return { errno: -Errno.EINVAL, retval: 0 };
  const raw = new Uint8Array(8 * nr);
  if (nr > 0 && !env.copyFromUser(args.ctxIn, raw, 0, raw.length)) return { errno: -Errno.EFAULT, retval: 0 };
  const view = new DataView(raw.buffer);
  const slots = Array.from({ length: nr }, (_, i) => view.getBigUint64(8 * i, true));
  const userState = Number(slots[0] ?? 0n);
  const state = new Uint8Array(STATE_SIZE);
  if (userState !== 0 && !env.copyFromUser(userState, state, 0, STATE_SIZE)) return { errno: -Errno.EFAULT, retval: 0 };
  for (let i = 0; i < nr; i++) {
    const param: StructOpsParam | undefined = args.params[i];
    if (slots[i] === 0n && param !== undefined && param.ctype.endsWith('*') && param.nullable !== true) return { errno: -Errno.EINVAL, retval: 0 };
  }
  // The trampoline's frame: the arguments as u64 slots (the program's context), then the kernel's copy of the state.
  const frame = env.kmalloc(8 * nr + STATE_SIZE);
  if (frame < 0) return { errno: -Errno.ENOMEM, retval: 0 };
  try {
    const kstate = frame + 8 * nr;
    env.bytes.set(state, kstate);
    const out = new DataView(env.bytes.buffer, env.bytes.byteOffset);
    for (let i = 0; i < nr; i++) {
      const ctype = args.params[i]?.ctype ?? '';
      const value = i === 0 ? (userState === 0 ? 0n : BigInt(kstate)) : narrowed(slots[i] ?? 0n, PARAM_SIZES[ctype] ?? 8);
      out.setBigUint64(frame + 8 * i, value, true);
    }
    const ret = env.run(frame);
    if (typeof ret === 'string') return { errno: -Errno.EFAULT, retval: 0 };
    // dummy_ops_copy_args: the state goes back to user space.
    if (userState !== 0 && !env.copyToUser(userState, env.bytes, kstate, STATE_SIZE)) return { errno: -Errno.EFAULT, retval: 0 };
    return { errno: 0, retval: ret };
  } finally {
    env.kfree(frame);
  }
}

export const BPF_DUMMY_OPS: StructOpsType = {
  name: 'bpf_dummy_ops',
  auxStructs: [{ name: 'bpf_dummy_ops_state', size: STATE_SIZE, fields: [['val', 0, 'int']] }],
  members: [
    { name: 'test_1', kind: 'func', ret: 'int', params: [{ ctype: STATE, nullable: true }] },
    {
      name: 'test_2',
      kind: 'func',
      ret: 'int',
      params: [{ ctype: STATE }, { ctype: 'int' }, { ctype: 'unsigned short' }, { ctype: 'char' }, { ctype: 'unsigned long' }],
    },
    { name: 'test_sleepable', kind: 'func', ret: 'int', params: [{ ctype: STATE }] },
  ],
  // bpf_dummy_ops_check_member: only test_sleepable takes a sleepable program.
  checkMember: (member, prog) => (prog.sleepable && member.name !== 'test_sleepable' ? -Errno.EINVAL : 0),
  // bpf_dummy_init_member: no member can be set, so no map of it is ever registered.
  initMember: () => -Errno.EOPNOTSUPP,
  reg: () => -Errno.EOPNOTSUPP,
  unreg: () => undefined,
  btfStructWrite: dummyStructWrite,
  testRun: dummyTestRun,
};
