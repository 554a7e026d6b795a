/**
 * Programs that attach by BTF id, loaded through bpf() with attach_btf_id: the attach-target checks, the typed
 * trampoline context (btf_ctx_access) and loads through PTR_TO_BTF_ID (btf_struct_walk), each beside what Linux
 * 6.18 answered for the same program (fixtures/btf-attach/linux-btf-attach.txt, made by rebuild.sh from
 * btf-attach.c). Linux's type ids and task_struct offsets are its own; the lines are compared with ours put in.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BtfKind, parseBtf, type Btf } from '@ebpf-sim/btf';
import { asm, encodeProgram, type RawInsn } from '@ebpf-sim/isa';
import { createKernel, TASK_STRUCT } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, Errno, type BpfProgLoadSpec } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/index.js';
import { runUserProgram } from '../testing/user-program.js';
import { KernelBtf } from './btf-attach.js';
import { buildVmlinuxBtf } from './vmlinux-btf.js';

/** The recording: program name → [errno, log lines]. */
const LINUX = new Map(
  readFileSync(fileURLToPath(new URL('../../fixtures/btf-attach/linux-btf-attach.txt', import.meta.url)), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [name = '', errno = '', log = ''] = line.split('\t');
      return [name, { errno: Number(errno), lines: log.split('|').filter((l) => l !== '') }] as const;
    }),
);
/** Linux's ids and offsets in the recording (btf-attach.c found them in its vmlinux BTF). */
const LINUX_NUMBERS = { taskStructId: 114, pid: 1264, realParent: 1280, doUnlinkat: 75670, u32: 35 };

const { R0, R1 } = asm;
const MOV0 = asm.Mov.imm(R0, 0);
const EXIT = asm.Exit();
const program = (...insns: RawInsn[]): Uint8Array => encodeProgram(asm.program(...insns));

const kernel = createKernel();
registerBpf(kernel);
const vmlinux: Btf = parseBtf(buildVmlinuxBtf({ hooks: kernel.hooks.list() }));
const idOf = (name: string, kind: number): number => vmlinux.types.find((t) => t.kind === kind && t.name === name)?.id ?? -1;
const OURS = {
  taskStructId: idOf('task_struct', BtfKind.STRUCT),
  pid: TASK_STRUCT.pid,
  realParent: TASK_STRUCT.real_parent,
  doUnlinkat: idOf('do_unlinkat', BtfKind.FUNC),
  u32: idOf('u32', BtfKind.TYPEDEF),
};
const forkTp = idOf('btf_trace_sched_process_fork', BtfKind.TYPEDEF);

/** A recorded line with Linux's ids and offsets replaced by ours. */
function ours(line: string): string {
  return line
    .replace(`btf_id ${LINUX_NUMBERS.taskStructId} `, `btf_id ${OURS.taskStructId} `)
    .replaceAll(`+${LINUX_NUMBERS.pid})`, `+${OURS.pid})`)
    .replaceAll(`+${LINUX_NUMBERS.realParent})`, `+${OURS.realParent})`)
    .replaceAll(`moff ${LINUX_NUMBERS.realParent}`, `moff ${OURS.realParent}`)
    .replaceAll(`off ${LINUX_NUMBERS.realParent} `, `off ${OURS.realParent} `)
    .replace(`attach_btf_id ${LINUX_NUMBERS.doUnlinkat} `, `attach_btf_id ${OURS.doUnlinkat} `)
    .replace(`attach_btf_id ${LINUX_NUMBERS.u32} `, `attach_btf_id ${OURS.u32} `);
}

interface Loaded {
  readonly ret: number;
  readonly log: string;
}

/** Load each program (tracing, GPL) in a process of the kernel; the fd is closed again. */
function loadAll(specs: Readonly<Record<string, Partial<BpfProgLoadSpec> & { insns: Uint8Array }>>): Record<string, Loaded> {
  const out: Record<string, Loaded> = {};
  runUserProgram(kernel, function* (libc) {
    for (const [name, spec] of Object.entries(specs)) {
      const result = yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.TRACING,
        expectedAttachType: BPF_ATTACH_TYPE.TRACE_RAW_TP,
        attachBtfId: forkTp,
        license: 'GPL',
        logLevel: 1,
        logSize: 65536,
        ...spec,
      });
      out[name] = { ret: result.ret, log: result.log };
      if (result.ret >= 0) yield* libc.close(result.ret);
    }
  });
  return out;
}

const P = OURS;
const loaded = loadAll({
  child_pid: { insns: program(asm.Ldx.dw(R1, R1, 8), asm.Ldx.w(R0, R1, P.pid), MOV0, EXIT), logLevel: 2 },
  parent_tgid: { insns: program(asm.Ldx.dw(R1, R1, 8), asm.Ldx.dw(R1, R1, P.realParent), asm.Ldx.w(R0, R1, TASK_STRUCT.tgid), MOV0, EXIT) },
  third_arg: { insns: program(asm.Ldx.dw(R1, R1, 16), MOV0, EXIT) },
  narrow_arg: { insns: program(asm.Ldx.w(R1, R1, 8), MOV0, EXIT) },
  beyond_struct: { insns: program(asm.Ldx.dw(R1, R1, 8), asm.Ldx.w(R0, R1, 30000), MOV0, EXIT) },
  half_pointer: { insns: program(asm.Ldx.dw(R1, R1, 8), asm.Ldx.w(R0, R1, P.realParent), MOV0, EXIT) },
  store_pid: { insns: program(asm.Ldx.dw(R1, R1, 8), asm.St.w(R1, P.pid, 0), MOV0, EXIT) },
  tp_btf_on_func: { insns: program(MOV0, EXIT), attachBtfId: P.doUnlinkat },
  tp_btf_on_u32: { insns: program(MOV0, EXIT), attachBtfId: P.u32 },
  fentry_on_typedef: { insns: program(MOV0, EXIT), expectedAttachType: BPF_ATTACH_TYPE.TRACE_FENTRY },
  fmod_ret_unlinkat: { insns: program(MOV0, EXIT), expectedAttachType: BPF_ATTACH_TYPE.MODIFY_RETURN, attachBtfId: P.doUnlinkat },
  lsm_on_unlinkat: { insns: program(MOV0, EXIT), progType: BPF_PROG_TYPE.LSM, expectedAttachType: BPF_ATTACH_TYPE.LSM_MAC, attachBtfId: P.doUnlinkat },
  tracing_no_btf_id: { insns: program(MOV0, EXIT), expectedAttachType: BPF_ATTACH_TYPE.TRACE_FENTRY, attachBtfId: 0 },
  fentry_unlinkat: {
    // fentry/do_unlinkat(int dfd, struct filename *name): name->name, and fexit's return slot is not fentry's.
    insns: program(asm.Ldx.dw(R1, R1, 8), asm.Ldx.dw(R0, R1, 0), MOV0, EXIT),
    expectedAttachType: BPF_ATTACH_TYPE.TRACE_FENTRY,
    attachBtfId: P.doUnlinkat,
  },
  fmod_ret_getppid: {
    // fmod_ret/__x64_sys_getppid (a syscall wrapper, on the error-injection list): its return slot after regs.
    insns: program(asm.Ldx.dw(R0, R1, 8), MOV0, EXIT),
    expectedAttachType: BPF_ATTACH_TYPE.MODIFY_RETURN,
    attachBtfId: idOf('__x64_sys_getppid', BtfKind.FUNC),
  },
  fentry_ret_slot: { insns: program(asm.Ldx.dw(R0, R1, 16), MOV0, EXIT), expectedAttachType: BPF_ATTACH_TYPE.TRACE_FENTRY, attachBtfId: P.doUnlinkat },
  fexit_ret_slot: { insns: program(asm.Ldx.dw(R0, R1, 16), MOV0, EXIT), expectedAttachType: BPF_ATTACH_TYPE.TRACE_FEXIT, attachBtfId: P.doUnlinkat },
  lsm_file_open: {
    // lsm/file_open(struct file *file): file->f_path.dentry, a pointer member of a nested struct.
    insns: program(asm.Ldx.dw(R1, R1, 0), asm.Ldx.dw(R0, R1, 8), MOV0, EXIT),
    progType: BPF_PROG_TYPE.LSM,
    expectedAttachType: BPF_ATTACH_TYPE.LSM_MAC,
    attachBtfId: idOf('bpf_lsm_file_open', BtfKind.FUNC),
  },
});

/** The state column's padding depends on the instruction's printed width, which our offsets change: compared without it. */
const unpadded = (line: string): string => line.replace(/ +;/, ' ;');

/** Whether every line of `expected` appears in `log`, in order. */
function inOrder(log: string, expected: readonly string[]): boolean {
  const lines = log.split('\n').map(unpadded);
  let at = 0;
  for (const line of expected.map(unpadded)) {
    const found = lines.indexOf(line, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

describe('BPF_PROG_LOAD with attach_btf_id, beside Linux 6.18', () => {
  const recorded = [...LINUX.entries()].filter(([, linux]) => linux.errno !== Errno.EPERM);
  it.each(recorded)('%s: the errno and log lines Linux gave', (name, linux) => {
    const got = loaded[name];
    if (linux.errno === 0) expect(got?.ret).toBeGreaterThanOrEqual(0);
    else expect(got?.ret).toBe(-linux.errno);
    // The level-2 preamble (live registers) and the closing statistics are not compared.
    const lines = linux.lines.filter(
      (line) => !line.startsWith('processed ') && !line.startsWith('      ') && line !== 'Live regs before insn:' && line !== 'func#0 @0',
    );
    const want = lines.map(ours);
    expect(inOrder(got?.log ?? '', want), `${got?.log ?? ''}\n-- wanted in order --\n${want.join('\n')}`).toBe(true);
  });
});

describe('attach targets and contexts Linux refused on the recording machine (EPERM for trampolines) and checks before verification', () => {
  it('gives bpf_check_attach_target and bpf_lsm_verify_prog refusals with their messages', () => {
    // The recording machine refused these with EPERM before any check: the lines are Linux's source's.
    for (const name of ['fentry_on_typedef', 'fmod_ret_unlinkat', 'lsm_on_unlinkat', 'tracing_no_btf_id']) expect(LINUX.get(name)?.errno).toBe(Errno.EPERM);
    expect(loaded['fentry_on_typedef']).toMatchObject({ ret: -Errno.EINVAL, log: `attach_btf_id ${forkTp} is not a function\n` });
    expect(loaded['fmod_ret_unlinkat']).toMatchObject({ ret: -Errno.EINVAL, log: 'do_unlinkat() is not modifiable\n' });
    expect(loaded['lsm_on_unlinkat']).toMatchObject({ ret: -Errno.EINVAL, log: `attach_btf_id ${OURS.doUnlinkat} points to wrong type name do_unlinkat\n` });
    expect(loaded['tracing_no_btf_id']).toMatchObject({ ret: -Errno.EINVAL, log: 'Tracing programs must provide btf_id\n' });
  });

  it('types fentry, fexit and lsm contexts by the target FUNC_PROTO and walks nested structs', () => {
    expect(loaded['fentry_unlinkat']?.ret).toBeGreaterThanOrEqual(0);
    expect(loaded['fentry_ret_slot']?.log).toContain("func 'do_unlinkat' doesn't have 3-th argument\ninvalid bpf_context access off=16 size=8");
    // fexit reads the return value in the slot after the arguments.
    expect(loaded['fexit_ret_slot']?.ret).toBeGreaterThanOrEqual(0);
    expect(loaded['lsm_file_open']?.ret).toBeGreaterThanOrEqual(0);
    // check_attach_modify_return: a function on the error-injection list takes fmod_ret programs.
    expect(loaded['fmod_ret_getppid']?.ret).toBeGreaterThanOrEqual(0);
  });
});

describe('KernelBtf.structAccess (btf_struct_walk) on the kernel BTF', () => {
  const btf = new KernelBtf(vmlinux);
  const file = (name: string): number =>
    vmlinux.types.find((t) => t.kind === BtfKind.STRUCT && t.name === 'file')?.members.find((m) => m.name === name)?.bitOffset ?? -1;
  it('reads a scalar member, a pointer member (trusted or RCU where the BTF_TYPE_SAFE_* lists say), and through a nested struct', () => {
    expect(btf.structAccess('task_struct', TASK_STRUCT.pid, 4)).toEqual({ kind: 'scalar' });
    expect(btf.structAccess('task_struct', TASK_STRUCT.real_parent, 8)).toEqual({ kind: 'ptr', btfName: 'task_struct', trusted: false, safe: 'rcu' });
    expect(btf.structAccess('file', file('f_inode') / 8, 8)).toEqual({ kind: 'ptr', btfName: 'inode', trusted: true, safe: 'trusted' });
    // f_path.dentry: the walk enters struct path at its offset.
    expect(btf.structAccess('file', file('f_path') / 8 + 8, 8)).toEqual({ kind: 'ptr', btfName: 'dentry', trusted: false });
    // comm[16]: any width inside the array.
    expect(btf.structAccess('task_struct', TASK_STRUCT.comm + 3, 1)).toEqual({ kind: 'scalar' });
  });
  it('refuses a read past the end of a member and an unknown struct', () => {
    expect(btf.structAccess('task_struct', TASK_STRUCT.comm + 12, 8)).toEqual({
      kind: 'refused',
      log: [`access beyond the end of member comm (mend:${TASK_STRUCT.comm + 16}) in struct task_struct with off ${TASK_STRUCT.comm + 12} size 8`],
      errno: Errno.EACCES,
    });
    expect(btf.structAccess('no_such_struct', 0, 4)).toMatchObject({ kind: 'refused', errno: Errno.EINVAL });
  });
});

describe('the vmlinux BTF as a BTF object', () => {
  it('is BTF object 1, kernel_btf, with the bytes /sys/kernel/btf/vmlinux holds', () => {
    const blob = buildVmlinuxBtf({ hooks: kernel.hooks.list() });
    let info: { id: number; kernelBtf: boolean; btf: Uint8Array } | undefined;
    runUserProgram(kernel, function* (libc) {
      const fd = yield* libc.bpfBtfGetFdById(1);
      expect(fd).toBeGreaterThanOrEqual(0);
      const got = yield* libc.bpfBtfGetInfo(fd, blob.length);
      if (got.ok) info = got.value;
      yield* libc.close(fd);
    });
    expect(info?.id).toBe(1);
    expect(info?.kernelBtf).toBe(true);
    expect(info?.btf).toEqual(blob);
  });
});
