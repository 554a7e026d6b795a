/**
 * STRUCT_OPS programs on bpf_dummy_ops, beside what Linux 6.18 answered for the same programs
 * (fixtures/struct-ops/linux-struct-ops.txt, made by rebuild.sh from record-struct-ops.c): check_struct_ops_btf_id's
 * refusals, the member's arguments as the context (test_1's state maybe NULL), writes to the state through
 * bpf_dummy_ops's btf_struct_access, and BPF_PROG_TEST_RUN (bpf_struct_ops_test_run).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BtfBuilder, BtfIntEncoding, BtfKind, parseBtf } from '@ebpf-sim/btf';
import { asm, encodeProgram, type RawInsn } from '@ebpf-sim/isa';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, BPF_PROG_F, BPF_PROG_TYPE, type BpfAttr, type BpfProgLoadSpec } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/index.js';
import { runUserProgram } from '../testing/user-program.js';
import { buildVmlinuxBtf } from '../vmlinux/vmlinux-btf.js';

const TEXT = readFileSync(fileURLToPath(new URL('../../fixtures/struct-ops/linux-struct-ops.txt', import.meta.url)), 'utf8').split('\n');
/** The loads: program name → errno and log lines. */
const LINUX_LOADS = new Map(
  TEXT.filter((line) => line.includes('\t')).map((line) => {
    const [name = '', errno = '', log = ''] = line.split('\t');
    return [name, { errno: Number(errno), lines: log.split('|').filter((l) => l !== '' && !l.startsWith('processed ')) }] as const;
  }),
);
/** The other calls: `name => answer`. */
const LINUX = new Map(TEXT.filter((line) => line.includes(' => ')).map((line) => line.split(' => ') as [string, string]));
const linux = (name: string): string => {
  const answer = LINUX.get(name);
  if (answer === undefined) throw new Error(`linux-struct-ops.txt has no '${name}'`);
  return answer;
};
/** struct task_struct's id in the recording machine's BTF. */
const LINUX_TASK_STRUCT = 114;

const { R0, R1, R2, R3 } = asm;
const EXIT = asm.Exit();
const program = (...insns: RawInsn[]): Uint8Array => encodeProgram(asm.program(...insns));

const kernel = createKernel();
registerBpf(kernel);
const vmlinux = parseBtf(buildVmlinuxBtf({ hooks: kernel.hooks.list() }));
const idOf = (name: string): number => vmlinux.types.find((t) => t.kind === BtfKind.STRUCT && t.name === name)?.id ?? -1;
const OPS = idOf('bpf_dummy_ops');
const VALUE = idOf('bpf_struct_ops_bpf_dummy_ops');
/** sizeof(struct bpf_struct_ops_bpf_dummy_ops), as Linux's. */
const VALUE_SIZE = 128;
const TASK = idOf('task_struct');

/** The programs of record-struct-ops.c: [member index, sleepable, licence, attach_btf_id, instructions]. */
const PROGRAMS: Readonly<Record<string, readonly [number, boolean, string, number, Uint8Array]>> = {
  t1_no_null_check: [0, false, 'GPL', OPS, program(asm.Ldx.dw(R1, R1, 0), asm.Ldx.w(R0, R1, 0), EXIT)],
  t1_read: [0, false, 'GPL', OPS, program(asm.Ldx.dw(R1, R1, 0), asm.Mov.imm(R0, -1), asm.JEq.imm(R1, 0, 2), asm.Ldx.w(R0, R1, 0), asm.Mul.imm(R0, 2), EXIT)],
  t1_write: [
    0,
    false,
    'GPL',
    OPS,
    program(asm.Ldx.dw(R1, R1, 0), asm.Mov.imm(R0, 0), asm.JEq.imm(R1, 0, 2), asm.St.w(R1, 0, 0xbeef), asm.Mov.imm(R0, 3), EXIT),
  ],
  t1_write_past: [0, false, 'GPL', OPS, program(asm.Ldx.dw(R1, R1, 0), asm.Mov.imm(R0, 0), asm.JEq.imm(R1, 0, 1), asm.St.w(R1, 4, 1), EXIT)],
  t1_arg2: [0, false, 'GPL', OPS, program(asm.Ldx.dw(R0, R1, 8), EXIT)],
  t2_sum: [
    1,
    false,
    'GPL',
    OPS,
    program(
      asm.Ldx.dw(R2, R1, 8),
      asm.Ldx.dw(R3, R1, 16),
      asm.Add.reg(R2, R3),
      asm.Ldx.dw(R3, R1, 24),
      asm.Add.reg(R2, R3),
      asm.Ldx.dw(R3, R1, 32),
      asm.Add.reg(R2, R3),
      asm.Mov.reg(R0, R2),
      EXIT,
    ),
  ],
  t2_state_read: [1, false, 'GPL', OPS, program(asm.Ldx.dw(R1, R1, 0), asm.Ldx.w(R0, R1, 0), EXIT)],
  t2_narrow: [1, false, 'GPL', OPS, program(asm.Ldx.w(R0, R1, 8), EXIT)],
  t2_ctx_write: [1, false, 'GPL', OPS, program(asm.St.w(R1, 8, 1), asm.Mov.imm(R0, 0), EXIT)],
  sleepable_ok: [2, true, 'GPL', OPS, program(asm.Mov.imm(R0, 5), EXIT)],
  test_1_sleepable: [0, true, 'GPL', OPS, program(asm.Mov.imm(R0, 0), EXIT)],
  member_3: [3, false, 'GPL', OPS, program(asm.Mov.imm(R0, 0), EXIT)],
  not_gpl: [0, false, 'MIT', OPS, program(asm.Mov.imm(R0, 0), EXIT)],
  no_btf_id: [0, false, 'GPL', 0, program(asm.Mov.imm(R0, 0), EXIT)],
  task_struct: [0, false, 'GPL', TASK, program(asm.Mov.imm(R0, 0), EXIT)],
};

const u64s = (...values: bigint[]): Uint8Array => new Uint8Array(new BigUint64Array(values).buffer);

interface Outcome {
  readonly loads: Record<string, { readonly ret: number; readonly log: string }>;
  readonly runs: Record<string, string>;
}

const outcome: Outcome = { loads: {}, runs: {} };
runUserProgram(kernel, function* (libc) {
  const fds: Record<string, number> = {};
  for (const [name, [member, sleepable, license, attachBtfId, insns]] of Object.entries(PROGRAMS)) {
    const spec: BpfProgLoadSpec = {
      progType: BPF_PROG_TYPE.STRUCT_OPS,
      expectedAttachType: member,
      attachBtfId,
      insns,
      license,
      logLevel: 1,
      logSize: 65536,
      progFlags: sleepable ? BPF_PROG_F.SLEEPABLE : 0,
      name: name.slice(0, 15),
    };
    const result = yield* libc.bpfProgLoad(spec);
    outcome.loads[name] = { ret: result.ret, log: result.log };
    if (result.ret >= 0) fds[name] = result.ret;
  }
  const state = libc.stack.pushBytes(new Uint8Array(new Uint32Array([21]).buffer));
  const stateNow = (): number => new DataView(libc.stack.readBytes(state, 4).buffer).getUint32(0, true);
  const run = function* (name: string, prog: string, ctx: Uint8Array): Generator<number, void, number> {
    const result = yield* libc.bpfProgTestRun(fds[prog] ?? -1, { ctx });
    outcome.runs[name] = `${result.ret} retval ${result.ret === 0 ? result.retval | 0 : 0}`;
  };
  yield* run('run t1_read', 't1_read', u64s(BigInt(state)));
  outcome.runs['state after t1_read'] = String(stateNow());
  yield* run('run t1_write', 't1_write', u64s(BigInt(state)));
  outcome.runs['state after t1_write'] = `0x${stateNow().toString(16)}`;
  yield* run('run t1_read null', 't1_read', u64s(0n));
  yield* run('run t1_read ctx 2 args', 't1_read', u64s(BigInt(state), 0n));
  yield* run('run t1_read bad state', 't1_read', u64s(16n));
  yield* run('run t2_sum', 't2_sum', u64s(BigInt(state), 1n, 2n, 3n, 4n));
  yield* run('run t2_sum null state', 't2_sum', u64s(0n, 1n, 2n, 3n, 4n));
  yield* run('run sleepable_ok', 'sleepable_ok', u64s(BigInt(state)));

  // The map of record-struct-ops.c: key u32 0, value struct bpf_struct_ops_bpf_dummy_ops, a BTF object in btf_fd.
  const own = new BtfBuilder();
  own.int('int', 4, BtfIntEncoding.SIGNED);
  const btfFd = (yield* libc.bpfBtfLoad(own.build())).fd;
  const errno = (ret: number): number => (ret < 0 ? ret : 0);
  const create = (extra: Partial<BpfAttr<'MAP_CREATE'>>): Generator<number, number, number> =>
    libc.bpfMapCreate({
      map_type: BPF_MAP_TYPE.STRUCT_OPS,
      key_size: 4,
      value_size: VALUE_SIZE,
      max_entries: 1,
      btf_vmlinux_value_type_id: VALUE,
      btf_fd: btfFd,
      ...extra,
    });
  const map = yield* create({});
  outcome.runs['map create'] = `${errno(map)} value_size ${VALUE_SIZE}`;
  outcome.runs['map create value_size+8'] = String(errno(yield* create({ value_size: VALUE_SIZE + 8 })));
  outcome.runs['map create on the ops struct'] = String(errno(yield* create({ value_size: 24, btf_vmlinux_value_type_id: OPS })));
  outcome.runs['map create max_entries 2'] = String(errno(yield* create({ max_entries: 2 })));
  outcome.runs['map create without value type'] = String(errno(yield* create({ btf_vmlinux_value_type_id: 0 })));
  const key = (k: number): Uint8Array => new Uint8Array(new Uint32Array([k]).buffer);
  const fresh = yield* libc.bpfMapLookup(map, key(0), VALUE_SIZE);
  outcome.runs['lookup fresh'] = fresh.ok ? `0 state ${fresh.value[4] ?? -1}` : String(fresh.errno);
  const missing = yield* libc.bpfMapLookup(map, key(1), VALUE_SIZE);
  outcome.runs['lookup key 1'] = missing.ok ? '0' : String(-missing.errno);
  const value = new Uint8Array(VALUE_SIZE);
  const member = (index: number, fd: number): void => new DataView(value.buffer).setBigUint64(64 + 8 * index, BigInt(fd), true);
  member(0, fds['t1_read'] ?? 0);
  outcome.runs['update (reg)'] = String(yield* libc.bpfMapUpdate(map, key(0), value));
  member(0, fds['t2_sum'] ?? 0);
  outcome.runs['update wrong member'] = String(yield* libc.bpfMapUpdate(map, key(0), value));
  outcome.runs['update key 1'] = String(yield* libc.bpfMapUpdate(map, key(1), value));
  outcome.runs['update flags'] = String(yield* libc.bpfMapUpdate(map, key(0), value, 1));
  outcome.runs['delete'] = String(yield* libc.bpfMapDelete(map, key(0)));
  const first = yield* libc.bpfMapGetNextKey(map, null, 4);
  outcome.runs['next key of none'] = first.ok ? `0 ${new DataView(first.value.buffer, first.value.byteOffset).getUint32(0, true)}` : String(-first.errno);
  const after = yield* libc.bpfMapGetNextKey(map, key(0), 4);
  outcome.runs['next key of 0'] = after.ok ? '0' : String(-after.errno);
  for (const fd of Object.values(fds)) yield* libc.close(fd);
});

/** The state column's padding depends on the instruction's printed width: compared without it. */
const unpadded = (line: string): string => line.replace(/ +;/, ' ;');

describe('STRUCT_OPS programs on bpf_dummy_ops, beside Linux 6.18', () => {
  it.each([...LINUX_LOADS.entries()])('%s: the errno and key log line Linux gave', (name, want) => {
    const got = outcome.loads[name];
    if (want.errno === 0) expect(got?.ret).toBeGreaterThanOrEqual(0);
    else expect(got?.ret).toBe(-want.errno);
    // The key line: the last one before the statistics (the refusal, or nothing for an accepted program).
    const key = (want.lines[want.lines.length - 1] ?? '').replace(`attach_btf_id ${LINUX_TASK_STRUCT} `, `attach_btf_id ${TASK} `);
    if (want.errno !== 0) expect(got?.log.split('\n').map(unpadded), got?.log).toContain(unpadded(key));
  });

  it.each(
    [
      'run t1_read',
      'state after t1_read',
      'run t1_write',
      'state after t1_write',
      'run t1_read null',
      'run t1_read ctx 2 args',
      'run t1_read bad state',
      'run t2_sum',
      'run t2_sum null state',
      'run sleepable_ok',
      'map create',
      'map create value_size+8',
      'map create on the ops struct',
      'map create max_entries 2',
      'map create without value type',
      'lookup fresh',
      'lookup key 1',
      'update (reg)',
      'update wrong member',
      'update key 1',
      'update flags',
      'delete',
      'next key of none',
      'next key of 0',
    ].map((name) => [name]),
  )('%s: as Linux answered', (name) => {
    expect(outcome.runs[name]).toBe(linux(name));
  });
});
