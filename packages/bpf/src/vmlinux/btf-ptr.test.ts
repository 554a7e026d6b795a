/**
 * Loads through BTF-typed pointers and the trust flags of what they load (trusted_, rcu_, untrusted_), each beside
 * what Linux 6.18 answered for the same program (fixtures/btf-ptr/linux-btf-ptr.txt, made by rebuild.sh from
 * btf-ptr.c): tp_btf programs on sched_process_fork walking task_struct fields, a store through an RCU pointer,
 * bpf_get_current_task_btf. Their xlated codes are Linux's too: a probe load reads back as BPF_MEM. Linux's type
 * ids and task_struct offsets are its own; the lines are compared with ours put in.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BtfKind, parseBtf, type Btf } from '@ebpf-sim/btf';
import { asm, encodeProgram, type RawInsn } from '@ebpf-sim/isa';
import { createKernel, TASK_STRUCT } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_FUNC, BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/index.js';
import { runUserProgram } from '../testing/user-program.js';
import { buildVmlinuxBtf } from './vmlinux-btf.js';

interface Recorded {
  readonly errno: number;
  readonly lines: readonly string[];
  xlated?: readonly number[];
}

/** The recording: program name → errno, log lines and (loaded programs) xlated instruction codes. */
const LINUX = new Map<string, Recorded>();
for (const line of readFileSync(fileURLToPath(new URL('../../fixtures/btf-ptr/linux-btf-ptr.txt', import.meta.url)), 'utf8').split('\n')) {
  if (line === '' || line.startsWith('#')) continue;
  const [first = '', second = '', third = ''] = line.split('\t');
  if (first === 'xlated') {
    const entry = LINUX.get(second);
    if (entry !== undefined) entry.xlated = third.split(',').map(Number);
  } else LINUX.set(first, { errno: Number(second), lines: third.split('|').filter((l) => l !== '') });
}

/** Linux's task_struct id and member offsets in the recording (btf-ptr.c found them in its vmlinux BTF). */
const LINUX_OFFSETS: Readonly<Record<string, number>> = { tgid: 1268, real_parent: 1280, parent: 1288, group_leader: 1328, mm: 1136 };
const LINUX_TASK_STRUCT_ID = 114;

const kernel = createKernel();
registerBpf(kernel);
const vmlinux: Btf = parseBtf(buildVmlinuxBtf({ hooks: kernel.hooks.list() }));
const idOf = (name: string, kind: number): number => vmlinux.types.find((t) => t.kind === kind && t.name === name)?.id ?? -1;
const forkTp = idOf('btf_trace_sched_process_fork', BtfKind.TYPEDEF);
const T = TASK_STRUCT;

/** A recorded line with Linux's ids and offsets replaced by ours. */
function ours(line: string): string {
  let out = line.replace(`btf_id ${LINUX_TASK_STRUCT_ID} `, `btf_id ${idOf('task_struct', BtfKind.STRUCT)} `);
  for (const [member, off] of Object.entries(LINUX_OFFSETS)) out = out.replaceAll(`+${off})`, `+${T[member as keyof typeof T]})`);
  return out;
}

const { R0, R1 } = asm;
const MOV0 = asm.Mov.imm(R0, 0);
const EXIT = asm.Exit();
const child = asm.Ldx.dw(R1, R1, 8);
const walk = (off: number): RawInsn => asm.Ldx.dw(R1, R1, off);
const tgid = asm.Ldx.w(R0, R1, T.tgid);

const PROGRAMS: Readonly<Record<string, readonly RawInsn[]>> = {
  rcu_parent: [child, walk(T.real_parent), tgid, MOV0, EXIT],
  rcu_grandparent: [child, walk(T.real_parent), walk(T.real_parent), tgid, MOV0, EXIT],
  group_leader: [child, walk(T.group_leader), tgid, MOV0, EXIT],
  parent: [child, walk(T.parent), tgid, MOV0, EXIT],
  mm: [child, walk(T.mm), asm.Ldx.w(R0, R1, 0), MOV0, EXIT],
  parent_real_parent: [child, walk(T.parent), walk(T.real_parent), tgid, MOV0, EXIT],
  store_rcu: [child, walk(T.real_parent), asm.St.w(R1, T.tgid, 0), MOV0, EXIT],
  current_task_btf: [asm.Call.helper(BPF_FUNC.get_current_task_btf), asm.Ldx.dw(R1, R0, T.real_parent), tgid, MOV0, EXIT],
};

interface Loaded {
  readonly ret: number;
  readonly log: string;
  readonly xlated: readonly number[];
}

const loaded: Record<string, Loaded> = {};
runUserProgram(kernel, function* (libc) {
  for (const [name, insns] of Object.entries(PROGRAMS)) {
    const result = yield* libc.bpfProgLoad({
      progType: BPF_PROG_TYPE.TRACING,
      expectedAttachType: BPF_ATTACH_TYPE.TRACE_RAW_TP,
      attachBtfId: forkTp,
      license: 'GPL',
      logLevel: 2,
      logSize: 65536,
      insns: encodeProgram(asm.program(...insns)),
    });
    let xlated: number[] = [];
    if (result.ret >= 0) {
      const info = yield* libc.bpfProgGetInfo(result.ret, 0, 64 * 8);
      if (info.ok) xlated = Array.from({ length: info.value.xlatedProgLen / 8 }, (_, i) => info.value.xlatedProgInsns[8 * i] ?? -1);
      yield* libc.close(result.ret);
    }
    loaded[name] = { ret: result.ret, log: result.log, xlated };
  }
});

/** The state column's padding depends on the instruction's printed width, which our offsets change: compared without it. */
const unpadded = (line: string): string => line.replace(/ +;/, ' ;');

describe('walks through BTF pointers, beside Linux 6.18', () => {
  it.each([...LINUX.entries()])('%s: the errno, log lines and xlated codes Linux gave', (name, linux) => {
    const got = loaded[name];
    if (linux.errno === 0) expect(got?.ret).toBeGreaterThanOrEqual(0);
    else expect(got?.ret).toBe(-linux.errno);
    // The level-2 preamble (live registers) and the closing statistics are not compared.
    const want = linux.lines
      .filter((line) => !line.startsWith('processed ') && !line.startsWith('      ') && line !== 'Live regs before insn:' && line !== 'func#0 @0')
      .map((line) => unpadded(ours(line)));
    const lines = (got?.log ?? '').split('\n').map(unpadded);
    let at = 0;
    for (const line of want) {
      const found = lines.indexOf(line, at);
      expect(found, `${got?.log ?? ''}\n-- wanted in order --\n${want.join('\n')}\n-- missing: ${line}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
    if (linux.xlated !== undefined) expect(got?.xlated).toEqual(linux.xlated);
  });
});
