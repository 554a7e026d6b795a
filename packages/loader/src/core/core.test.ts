/**
 * CO-RE relocation per kind against local/target BTF pairs built with the BTF writer: a local `struct task` as
 * the program was compiled against it, a target (kernel) `struct task` laid out otherwise, and the instruction
 * each relocation patches, checked byte for byte; then the failures libbpf has (poison, ambiguity, a bad access
 * string, an instruction that does not hold what the compiler recorded).
 */
import { BtfBuilder, BtfCoreReloKind as K, BtfIntEncoding, BtfKind, parseBtf, type Btf, type BtfMember } from '@ebpf-sim/btf';
import { describe, expect, it } from 'vitest';
import { LoaderError } from '../errors.js';
import { applyCoreRelocations, CoreTarget, explainPoisonInLog } from './apply.js';
import { CORE_POISON_HELPER } from './patch.js';
import type { CoreRelo } from './relo.js';
import { essentialName } from './spec.js';

const member = (name: string, type: number, bitOffset: number, bitfieldSize = 0): BtfMember => ({ name, type, bitOffset, bitfieldSize });

interface Ints {
  readonly int: number;
  readonly uint: number;
  readonly char: number;
  readonly long: number;
  readonly ulong: number;
  readonly comm: number;
}
function ints(b: BtfBuilder): Ints {
  const int = b.int('int', 4, BtfIntEncoding.SIGNED);
  const char = b.int('char', 1, 0);
  return {
    int,
    uint: b.int('unsigned int', 4),
    char,
    long: b.int('long', 8, BtfIntEncoding.SIGNED),
    ulong: b.int('unsigned long', 8),
    comm: b.array(char, int, 16),
  };
}

/** enum state with these enumerators, in this order. */
const stateEnum = (b: BtfBuilder, values: Readonly<Record<string, bigint>>): number =>
  b.add({ kind: BtfKind.ENUM, name: 'state', sizeOrType: 4, enumValues: Object.entries(values).map(([name, value]) => ({ name, value })) });

/** The program's view: struct task { int pid; char comm[16]; unsigned flags:1; unsigned uid; int gone; int cnt; }. */
function localBtf(taskName = 'task'): { btf: Btf; task: number; state: number; pair: number; onlyLocal: number } {
  const b = new BtfBuilder();
  const t = ints(b);
  const task = b.add({
    kind: BtfKind.STRUCT,
    name: taskName,
    sizeOrType: 36,
    kindFlag: true,
    members: [
      member('pid', t.int, 0),
      member('comm', t.comm, 32),
      member('flags', t.uint, 160, 1),
      member('uid', t.uint, 192),
      member('gone', t.int, 224),
      member('cnt', t.int, 256),
    ],
  });
  const state = stateEnum(b, { RUNNING: 0n, STOPPED: 4n, GONE: 5n });
  const pair = b.add({ kind: BtfKind.STRUCT, name: 'pair', sizeOrType: 8, members: [member('a', t.int, 0), member('b', t.char, 32)] });
  const onlyLocal = b.add({ kind: BtfKind.STRUCT, name: 'only_local', sizeOrType: 4, members: [member('a', t.int, 0)] });
  return { btf: parseBtf(b.build(), { rules: 'libbpf' }), task, state, pair, onlyLocal };
}

/** The kernel's view: struct task { long pad; char comm[16]; int pid; unsigned :5 then flags:1; unsigned long uid; long cnt; }. */
function targetBtf(extraTask?: { name: string; pidBits: number }): { btf: Btf; task: number } {
  const b = new BtfBuilder();
  const t = ints(b);
  const taskStruct = (name: string, pidBits: number): number =>
    b.add({
      kind: BtfKind.STRUCT,
      name,
      sizeOrType: 48,
      kindFlag: true,
      members: [
        member('pad', t.long, 0),
        member('comm', t.comm, 64),
        member('pid', t.int, pidBits),
        member('flags', t.uint, 229, 1),
        member('uid', t.ulong, 256),
        member('cnt', t.long, 320),
      ],
    });
  const task = taskStruct('task', 192);
  if (extraTask !== undefined) taskStruct(extraTask.name, extraTask.pidBits);
  stateEnum(b, { STOPPED: 8n, RUNNING: 1n });
  b.add({ kind: BtfKind.STRUCT, name: 'pair', sizeOrType: 16, members: [member('x', t.long, 0), member('a', t.int, 64), member('b', t.char, 96)] });
  return { btf: parseBtf(b.build()), task };
}

/** One instruction's 8 bytes: code, dst/src, off, imm (little-endian). */
function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint8(0, code);
  view.setUint8(1, (src << 4) | dst);
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return out;
}
const LDX_W = 0x61;
const LDX_DW = 0x79;
const MOV64_K = 0xb7;
const LD_IMM64 = 0x18;
const EXIT = 0x95;
const ldImm64 = (dst: number, value: number): Uint8Array[] => [insn(LD_IMM64, dst, 0, 0, value), insn(0, 0, 0, 0, 0)];
const program = (...slots: (Uint8Array | Uint8Array[])[]): Uint8Array => {
  const flat = slots.flat();
  const out = new Uint8Array(flat.length * 8);
  flat.forEach((s, i) => out.set(s, i * 8));
  return out;
};
/** The fields of slot `i`. */
const slot = (insns: Uint8Array, i: number): { code: number; off: number; imm: number } => {
  const view = new DataView(insns.buffer, insns.byteOffset + i * 8, 8);
  return { code: view.getUint8(0), off: view.getInt16(2, true), imm: view.getInt32(4, true) };
};

function relocate(insns: Uint8Array, relos: CoreRelo[], local = localBtf(), target = targetBtf()) {
  return applyCoreRelocations({ name: 'prog', insns, coreRelos: relos }, new CoreTarget(local.btf, target.btf));
}
const failure = (run: () => unknown): LoaderError => {
  try {
    run();
  } catch (error) {
    if (error instanceof LoaderError) return error;
    throw error;
  }
  throw new Error('expected a LoaderError');
};

describe('CO-RE field relocations', () => {
  const l = localBtf();
  it('byte offset: a load moves to the field in the target, a constant takes the target offset', () => {
    const out = relocate(program(insn(LDX_W, 0, 1, 0, 0), insn(MOV64_K, 2, 0, 0, 4), insn(MOV64_K, 3, 0, 0, 7), insn(EXIT, 0, 0, 0, 0)), [
      { insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET },
      { insn: 1, typeId: l.task, accessString: '0:1', kind: K.FIELD_BYTE_OFFSET },
      { insn: 2, typeId: l.task, accessString: '0:1:3', kind: K.FIELD_BYTE_OFFSET },
    ]);
    expect([slot(out.insns, 0), slot(out.insns, 1).imm, slot(out.insns, 2).imm]).toEqual([{ code: LDX_W, off: 24, imm: 0 }, 8, 11]);
    expect(out.poisoned).toEqual([]);
  });

  it('byte offset of an unsigned field that grew: the load widens (u32 -> u64)', () => {
    const out = relocate(program(insn(LDX_W, 0, 1, 24, 0)), [{ insn: 0, typeId: l.task, accessString: '0:3', kind: K.FIELD_BYTE_OFFSET }]);
    expect(slot(out.insns, 0)).toEqual({ code: LDX_DW, off: 32, imm: 0 });
  });

  it('byte size, existence and signedness', () => {
    const out = relocate(
      program(insn(MOV64_K, 1, 0, 0, 4), insn(MOV64_K, 2, 0, 0, 1), insn(MOV64_K, 3, 0, 0, 1), insn(MOV64_K, 4, 0, 0, 1), insn(MOV64_K, 5, 0, 0, 0)),
      [
        { insn: 0, typeId: l.task, accessString: '0:3', kind: K.FIELD_BYTE_SIZE },
        { insn: 1, typeId: l.task, accessString: '0:0', kind: K.FIELD_EXISTS },
        { insn: 2, typeId: l.task, accessString: '0:4', kind: K.FIELD_EXISTS },
        { insn: 3, typeId: l.task, accessString: '0:0', kind: K.FIELD_SIGNED },
        { insn: 4, typeId: l.task, accessString: '0:3', kind: K.FIELD_SIGNED },
      ],
    );
    // uid is 8 bytes in the target; pid exists, gone does not; pid is signed, uid is not.
    expect([0, 1, 2, 3, 4].map((i) => slot(out.insns, i).imm)).toEqual([8, 1, 0, 1, 0]);
  });

  it('bitfield: byte offset, size and the shifts that extract it from a u64 load', () => {
    // Local flags:1 at bit 160 (byte 20, lshift 63); the target's at bit 229 (unit of 4 bytes at 28: lshift 64 - 6).
    const out = relocate(program(insn(MOV64_K, 1, 0, 0, 20), insn(MOV64_K, 2, 0, 0, 4), insn(MOV64_K, 3, 0, 0, 63), insn(MOV64_K, 4, 0, 0, 63)), [
      { insn: 0, typeId: l.task, accessString: '0:2', kind: K.FIELD_BYTE_OFFSET },
      { insn: 1, typeId: l.task, accessString: '0:2', kind: K.FIELD_BYTE_SIZE },
      { insn: 2, typeId: l.task, accessString: '0:2', kind: K.FIELD_LSHIFT_U64 },
      { insn: 3, typeId: l.task, accessString: '0:2', kind: K.FIELD_RSHIFT_U64 },
    ]);
    expect([0, 1, 2, 3].map((i) => slot(out.insns, i).imm)).toEqual([28, 4, 58, 63]);
  });

  it('finds the target by essential name: local task___old relocates against the kernel task', () => {
    const old = localBtf('task___old');
    expect(essentialName('task___old')).toBe('task');
    expect(essentialName('a____b')).toBe('a____b');
    const out = relocate(program(insn(LDX_W, 0, 1, 0, 0)), [{ insn: 0, typeId: old.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET }], old);
    expect(slot(out.insns, 0).off).toBe(24);
  });
});

describe('CO-RE type and enum relocations', () => {
  const l = localBtf();
  const t = targetBtf();
  it('type id local/target, existence, size and match', () => {
    const out = relocate(
      program(
        ldImm64(1, l.task),
        ldImm64(2, l.task),
        insn(MOV64_K, 3, 0, 0, 1),
        insn(MOV64_K, 4, 0, 0, 1),
        insn(MOV64_K, 5, 0, 0, 36),
        insn(MOV64_K, 6, 0, 0, 1),
        insn(MOV64_K, 7, 0, 0, 1),
      ),
      [
        { insn: 0, typeId: l.task, accessString: '0', kind: K.TYPE_ID_LOCAL },
        { insn: 2, typeId: l.task, accessString: '0', kind: K.TYPE_ID_TARGET },
        { insn: 4, typeId: l.task, accessString: '0', kind: K.TYPE_EXISTS },
        { insn: 5, typeId: l.onlyLocal, accessString: '0', kind: K.TYPE_EXISTS },
        { insn: 6, typeId: l.task, accessString: '0', kind: K.TYPE_SIZE },
        { insn: 7, typeId: l.pair, accessString: '0', kind: K.TYPE_MATCHES },
        { insn: 8, typeId: l.task, accessString: '0', kind: K.TYPE_MATCHES },
      ],
    );
    // task does not "match": the target has no member `gone`; pair does (members found by name, more allowed).
    expect([0, 2, 4, 5, 6, 7, 8].map((i) => slot(out.insns, i).imm)).toEqual([l.task, t.task, 1, 0, 48, 1, 0]);
  });

  it('enum value and existence, by enumerator name', () => {
    const out = relocate(program(ldImm64(1, 4), insn(MOV64_K, 2, 0, 0, 1), insn(MOV64_K, 3, 0, 0, 1)), [
      { insn: 0, typeId: l.state, accessString: '1', kind: K.ENUMVAL_VALUE },
      { insn: 2, typeId: l.state, accessString: '0', kind: K.ENUMVAL_EXISTS },
      { insn: 3, typeId: l.state, accessString: '2', kind: K.ENUMVAL_EXISTS },
    ]);
    expect([0, 2, 3].map((i) => slot(out.insns, i).imm)).toEqual([8, 1, 0]);
  });
});

describe('CO-RE failures', () => {
  const l = localBtf();
  const poisoned = { code: 0x85, off: 0, imm: CORE_POISON_HELPER };

  it('a missing field poisons its instruction (call 0xbad2310), both slots of an ld_imm64', () => {
    const out = relocate(program(insn(LDX_W, 0, 1, 28, 0), ldImm64(2, 28), insn(EXIT, 0, 0, 0, 0)), [
      { insn: 0, typeId: l.task, accessString: '0:4', kind: K.FIELD_BYTE_OFFSET },
      { insn: 1, typeId: l.task, accessString: '0:4', kind: K.FIELD_BYTE_OFFSET },
    ]);
    expect([0, 1, 2].map((i) => slot(out.insns, i))).toEqual([poisoned, poisoned, poisoned]);
    expect(slot(out.insns, 3).code).toBe(EXIT);
    expect(out.poisoned).toEqual([
      { insn: 0, relo: 0, spec: `<byte_off> [${l.task}] struct task.gone (0:4 @ offset 28)` },
      { insn: 1, relo: 1, spec: `<byte_off> [${l.task}] struct task.gone (0:4 @ offset 28)` },
      { insn: 2, relo: 1, spec: `<byte_off> [${l.task}] struct task.gone (0:4 @ offset 28)` },
    ]);
    // What the verifier says when it reaches one, rewritten as libbpf rewrites it.
    const log = '0: (85) call unknown#195896080\ninvalid func unknown#195896080\nprocessed 1 insns\n';
    expect(explainPoisonInLog(log, out.poisoned)).toBe(
      `0: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation <byte_off> [${l.task}] struct task.gone (0:4 @ offset 28)\nprocessed 1 insns\n`,
    );
  });

  it('an enumerator or type the target lacks poisons a value relocation; a signed field that changed size poisons the load', () => {
    const out = relocate(program(ldImm64(1, 5), insn(MOV64_K, 2, 0, 0, 4), insn(LDX_W, 3, 1, 32, 0)), [
      { insn: 0, typeId: l.state, accessString: '2', kind: K.ENUMVAL_VALUE },
      { insn: 2, typeId: l.onlyLocal, accessString: '0', kind: K.FIELD_BYTE_SIZE },
      { insn: 3, typeId: l.task, accessString: '0:5', kind: K.FIELD_BYTE_OFFSET },
    ]);
    expect([0, 1, 2, 3].map((i) => slot(out.insns, i))).toEqual([poisoned, poisoned, poisoned, poisoned]);
  });

  it('a field whose kind differs in the target (int here, struct there) does not match: poisoned', () => {
    const b = new BtfBuilder();
    const t = ints(b);
    const inner = b.add({ kind: BtfKind.STRUCT, name: 'pid_ns', sizeOrType: 4, members: [member('nr', t.int, 0)] });
    b.add({ kind: BtfKind.STRUCT, name: 'task', sizeOrType: 8, members: [member('pid', inner, 0)] });
    const target = { btf: parseBtf(b.build()), task: 0 };
    const out = relocate(
      program(insn(LDX_W, 0, 1, 0, 0), insn(MOV64_K, 1, 0, 0, 1)),
      [
        { insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET },
        { insn: 1, typeId: l.task, accessString: '0:0', kind: K.FIELD_EXISTS },
      ],
      l,
      target,
    );
    expect([slot(out.insns, 0), slot(out.insns, 1).imm]).toEqual([poisoned, 0]);
  });

  it('ambiguous candidates (task and task___v2 place pid differently) fail the load, naming program, insn and access string', () => {
    const error = failure(() =>
      relocate(
        program(insn(LDX_W, 0, 1, 0, 0)),
        [{ insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET }],
        l,
        targetBtf({ name: 'task___v2', pidBits: 320 }),
      ),
    );
    expect(error.kind).toBe('reloc');
    expect(error.message).toBe(
      `prog 'prog': relo #0: insn #0: [${l.task}] struct task + 0:0: field offset ambiguity: 192 != 320 ` +
        `(<byte_off> [7] struct task.pid (0:2 @ offset 24) vs <byte_off> [8] struct task___v2.pid (0:2 @ offset 40)) (failed to relocate: -EINVAL)`,
    );
  });

  it('candidates at one offset that disagree on the answer (an int here, a long there) are a decision ambiguity', () => {
    const b = new BtfBuilder();
    const t = ints(b);
    b.add({ kind: BtfKind.STRUCT, name: 'task', sizeOrType: 8, members: [member('pid', t.int, 0)] });
    b.add({ kind: BtfKind.STRUCT, name: 'task___wide', sizeOrType: 8, members: [member('pid', t.long, 0)] });
    const target = { btf: parseBtf(b.build()), task: 0 };
    const error = failure(() =>
      relocate(program(insn(MOV64_K, 1, 0, 0, 4)), [{ insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_SIZE }], l, target),
    );
    expect(error.message).toContain(`prog 'prog': relo #0: insn #0: [${l.task}] struct task + 0:0: relocation decision ambiguity: success 8 != success 4`);
  });

  it('flavours that agree are not ambiguous', () => {
    const out = relocate(
      program(insn(LDX_W, 0, 1, 0, 0)),
      [{ insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET }],
      l,
      targetBtf({ name: 'task___v2', pidBits: 192 }),
    );
    expect(slot(out.insns, 0).off).toBe(24);
  });

  it('refuses a relocation of the wrong instruction class, a value the compiler did not write, and a bad access string', () => {
    const exitRelo = failure(() => relocate(program(insn(EXIT, 0, 0, 0, 0)), [{ insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET }]));
    expect(exitRelo.message).toBe(
      `prog 'prog': relo #0: insn #0: [${l.task}] struct task + 0:0: trying to relocate unrecognized insn #0, code:0x95, src:0x0, dst:0x0, off:0x0, imm:0x0 (failed to relocate: -EINVAL)`,
    );
    const stale = failure(() => relocate(program(insn(LDX_W, 0, 1, 12, 0)), [{ insn: 0, typeId: l.task, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET }]));
    expect(stale.message).toContain(`insn #0: [${l.task}] struct task + 0:0: unexpected insn #0 (LDX/ST/STX) value: got 12, exp 0 -> 24`);
    const bad = failure(() => relocate(program(insn(LDX_W, 0, 1, 0, 0)), [{ insn: 0, typeId: l.task, accessString: '0:9', kind: K.FIELD_BYTE_OFFSET }]));
    expect(bad.message).toContain(`relo #0: insn #0: [${l.task}] struct task + 0:9: parsing [${l.task}] struct task + 0:9 failed: -EINVAL`);
    const typeString = failure(() => relocate(program(insn(MOV64_K, 0, 0, 0, 1)), [{ insn: 0, typeId: l.task, accessString: '0:1', kind: K.TYPE_EXISTS }]));
    expect(typeString.message).toContain('failed: -EINVAL');
  });
});
