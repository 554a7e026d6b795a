/**
 * The vmlinux BTF of the simulated kernel: parseBtf accepts it, it is the same for the same kernel, it says
 * where the kernel lays its structs, it is published read-only at /sys/kernel/btf/vmlinux, and a program that
 * takes task_struct's offsets from it reads the current task's pid, comm and parent through probe_read_kernel.
 */
import { BtfKind, parseBtf, type Btf, type BtfType } from '@ebpf-sim/btf';
import { asm, type RawInsn } from '@ebpf-sim/isa';
import { createKernel, KERNEL_TYPES, RAW_TRACEPOINT_PROTOS, TASK_STRUCT } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_MAP_TYPE, Errno, Libc, O, XDP_MD, __SK_BUFF } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/index.js';
import { TRACEPOINT } from '../prog-types/index.js';
import { helperRig } from '../testing/helper-rig.js';
import { u32le } from '../testing/map-env.js';
import { buildVmlinuxBtf, ITER_TARGETS, VMLINUX_BTF_PATH } from './vmlinux-btf.js';
import { KFUNCS } from '../kfuncs/index.js';

const vmlinuxOf = (kernel = createKernel()): Uint8Array => buildVmlinuxBtf({ hooks: kernel.hooks.list() });

const named = (btf: Btf, kind: BtfKind, name: string): BtfType => {
  const t = btf.types.find((candidate) => candidate.kind === kind && candidate.name === name);
  if (t === undefined) throw new Error(`no ${name} in the vmlinux BTF`);
  return t;
};
/** A struct's members by name: byte offset and the type under typedefs and modifiers. */
const members = (btf: Btf, struct: string): Record<string, { offset: number; type: BtfType | undefined }> =>
  Object.fromEntries(named(btf, BtfKind.STRUCT, struct).members.map((m) => [m.name, { offset: m.bitOffset / 8, type: btf.skipModifiers(m.type) }]));

describe('vmlinux BTF', () => {
  it('is accepted by parseBtf, and the same bytes for the same kernel', () => {
    const blob = vmlinuxOf();
    expect(() => parseBtf(blob)).not.toThrow();
    // Built afresh (naming the types skips the cache of built blobs), from another kernel of other CPUs and seed.
    const fresh = (kernel = createKernel()): Uint8Array => buildVmlinuxBtf({ hooks: kernel.hooks.list(), types: KERNEL_TYPES });
    expect(fresh()).toEqual(blob);
    expect(fresh(createKernel({ cpus: 4, seed: 9 }))).toEqual(blob);
    expect(vmlinuxOf(createKernel({ cpus: 4, seed: 9 }))).toEqual(blob);
  });

  it("describes the kernel's structs at the offsets the kernel lays them out", () => {
    const btf = parseBtf(vmlinuxOf());
    const task = members(btf, 'task_struct');
    expect(task['pid']).toMatchObject({ offset: TASK_STRUCT.pid, type: { kind: BtfKind.INT, name: 'int', sizeOrType: 4 } });
    expect(task['comm']?.offset).toBe(TASK_STRUCT.comm);
    expect(task['comm']?.type).toMatchObject({ kind: BtfKind.ARRAY, arrayNelems: 16 });
    expect(btf.types[task['comm']?.type?.arrayType ?? 0]).toMatchObject({ kind: BtfKind.INT, name: 'char', sizeOrType: 1 });
    expect(task['real_parent']?.type).toMatchObject({ kind: BtfKind.PTR, sizeOrType: named(btf, BtfKind.STRUCT, 'task_struct').id });
    expect(btf.sizeOf(named(btf, BtfKind.STRUCT, 'task_struct').id)).toBe(TASK_STRUCT.size);
    // cred->uid.val, through the kuid_t typedef of an anonymous struct, as in Linux.
    const uid = named(btf, BtfKind.STRUCT, 'cred').members.find((m) => m.name === 'uid');
    expect(btf.types[uid?.type ?? 0]).toMatchObject({ kind: BtfKind.TYPEDEF, name: 'kuid_t' });
    expect(btf.skipModifiers(uid?.type ?? 0)?.members.map((m) => m.name)).toEqual(['val']);
    expect(members(btf, 'mm_struct')['mm_users']).toBeDefined();
    expect(members(btf, 'pt_regs')['di']?.offset).toBe(112);
    expect(members(btf, 'xdp_buff')['data_end']?.offset).toBe(8);
    expect(members(btf, 'sk_buff')['len']?.offset).toBe(112);
    expect(btf.sizeOf(named(btf, BtfKind.STRUCT, 'xdp_md').id)).toBe(XDP_MD.size);
    expect(btf.sizeOf(named(btf, BtfKind.STRUCT, '__sk_buff').id)).toBe(__SK_BUFF.size);
    expect(members(btf, '__sk_buff')['cb']?.type).toMatchObject({ kind: BtfKind.ARRAY, arrayNelems: 5 });
  });

  it("has the trace event records as Linux names them, and a FUNC for each kprobe'd function and LSM hook", () => {
    const btf = parseBtf(vmlinuxOf());
    const sw = named(btf, BtfKind.STRUCT, 'trace_event_raw_sched_switch');
    expect(sw.sizeOrType).toBe(64);
    expect(sw.members.map((m) => [m.name, m.bitOffset / 8])).toEqual([
      ['ent', 0],
      ['prev_comm', 8],
      ['prev_pid', 24],
      ['prev_prio', 28],
      ['prev_state', 32],
      ['next_comm', 40],
      ['next_pid', 56],
      ['next_prio', 60],
    ]);
    expect(named(btf, BtfKind.STRUCT, 'trace_event_raw_sched_process_fork').members.map((m) => m.name)).toEqual([
      'ent',
      '__data_loc_parent_comm',
      'parent_pid',
      '__data_loc_child_comm',
      'child_pid',
    ]);
    expect(named(btf, BtfKind.STRUCT, 'syscall_trace_enter').members.map((m) => [m.name, m.bitOffset / 8])).toEqual([
      ['ent', 0],
      ['nr', 8],
      ['args', 16],
    ]);
    expect(members(btf, 'trace_entry')['pid']?.offset).toBe(4);
    const proto = (fn: string): BtfType | undefined => btf.types[named(btf, BtfKind.FUNC, fn).sizeOrType];
    expect(proto('vfs_read')?.params.map((p) => p.name)).toEqual(['file', 'buf', 'count', 'pos']);
    expect(btf.types[proto('vfs_read')?.sizeOrType ?? 0]).toMatchObject({ kind: BtfKind.TYPEDEF, name: 'ssize_t' });
    expect(proto('wake_up_new_task')?.sizeOrType).toBe(0);
    expect(proto('__x64_sys_getpid')?.params.map((p) => p.name)).toEqual(['regs']);
    expect(proto('bpf_lsm_file_open')?.params.map((p) => p.name)).toEqual(['file']);
    expect(proto('bpf_lsm_bpf')?.params.map((p) => p.name)).toEqual(['cmd', 'attr', 'size', 'kernel']);
    // One FUNC per kprobe'd function, per LSM hook (4), per event class of the raw tracepoints (__bpf_trace_<template>)
    // and per iterator target (bpf_iter_<target>).
    const templates = new Set(Object.values(RAW_TRACEPOINT_PROTOS).map((tp) => tp.template));
    expect(btf.types.filter((t) => t.kind === BtfKind.FUNC).length).toBe(
      createKernel().hooks.list('kprobe').length + 4 + templates.size + KFUNCS.length + Object.keys(ITER_TARGETS).length,
    );
    // iter/task: `int bpf_iter_task(struct bpf_iter_meta *meta, struct task_struct *task)`, its context struct
    // bpf_iter__task, and sched_process_exec's struct linux_binprm with the fields programs read.
    expect(proto('bpf_iter_task')?.params.map((p) => p.name)).toEqual(['meta', 'task']);
    expect(Object.keys(members(btf, 'bpf_iter__task'))).toEqual(['meta', 'task']);
    expect(members(btf, 'linux_binprm')['filename']?.offset).toBeGreaterThan(0);
    expect(members(btf, 'linux_binprm')['file']).toBeDefined();
    // tp_btf's targets: `typedef void (*btf_trace_<tp>)(void *, TP_PROTO...)`, parameters unnamed, as Linux encodes them.
    const trace = named(btf, BtfKind.TYPEDEF, 'btf_trace_sched_process_fork');
    const traceProto = btf.types[btf.types[trace.sizeOrType]?.sizeOrType ?? 0];
    expect(traceProto?.kind).toBe(BtfKind.FUNC_PROTO);
    expect(traceProto?.params.map((p) => p.name)).toEqual(['', '', '']);
    expect(proto('__bpf_trace_sched_process_fork')?.params.map((p) => p.name)).toEqual(['__data', 'parent', 'child']);
    expect(proto('__bpf_trace_sched_wakeup_template')?.params.map((p) => p.name)).toEqual(['__data', 'p']);
    expect(proto('do_unlinkat')?.params.map((p) => p.name)).toEqual(['dfd', 'name']);
  });

  it('is published read-only at /sys/kernel/btf/vmlinux by registerBpf', () => {
    const kernel = createKernel();
    registerBpf(kernel);
    const got: { bytes: number[]; write?: number } = { bytes: [] };
    kernel.vfs.registerProgram('/bin/cat', function* (ctx) {
      const libc = new Libc(ctx);
      const fd = yield* libc.open(VMLINUX_BTF_PATH);
      for (;;) {
        const { ret, data } = yield* libc.read(fd, 4096);
        if (ret <= 0) break;
        got.bytes.push(...data.subarray(0, ret));
      }
      got.write = yield* libc.open(VMLINUX_BTF_PATH, O.WRONLY);
      return 0;
    });
    kernel.spawn('/bin/cat');
    kernel.run({ untilNs: 10e9 });
    expect(Uint8Array.from(got.bytes)).toEqual(vmlinuxOf(kernel));
    expect(got.write).toBe(-Errno.EACCES);
  });
});

describe('a program reading the current task_struct at the vmlinux BTF offsets', () => {
  it('gets pid, comm and real_parent->tgid through bpf_get_current_task and bpf_probe_read_kernel', () => {
    const rig = helperRig();
    const btf = parseBtf(vmlinuxOf(rig.kernel));
    const task = members(btf, 'task_struct');
    const offset = (name: string): number => task[name]?.offset ?? -1;
    const out = rig.map({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 64, maxEntries: 1, mapFlags: 0 });
    out.updateSys(u32le(0), new Uint8Array(64), 0);
    const { R0, R1, R2, R3, R6, R7, FP } = asm;
    const probe = (dst: number, size: number, src: RawInsn[]): RawInsn[] => [
      asm.Mov.reg(R1, R6),
      asm.Add.imm(R1, dst),
      asm.Mov.imm(R2, size),
      ...src,
      asm.Call.helper(BPF_FUNC.probe_read_kernel),
    ];
    const fromTask = (field: string): RawInsn[] => [asm.Mov.reg(R3, R7), asm.Add.imm(R3, offset(field))];
    const program = asm.program(
      asm.St.w(FP, -4, 0),
      asm.Mov.reg(R2, FP),
      asm.Add.imm(R2, -4),
      asm.LdImm64.mapFd(R1, 0),
      asm.Call.helper(BPF_FUNC.map_lookup_elem),
      asm.JNe.imm(R0, 0, 'found'),
      asm.Exit(),
      asm.label('found'),
      asm.Mov.reg(R6, R0),
      asm.Call.helper(BPF_FUNC.get_current_task),
      asm.Mov.reg(R7, R0),
      probe(0, 4, fromTask('pid')),
      probe(4, 4, fromTask('tgid')),
      probe(8, 16, fromTask('comm')),
      probe(24, 8, fromTask('real_parent')),
      // task->real_parent->tgid
      probe(32, 4, [asm.Ldx.dw(R3, R6, 24), asm.Add.imm(R3, offset('tgid'))]),
      asm.Mov.imm(R0, 0),
      asm.Exit(),
    );
    let ran = 0n;
    rig.kernel.hooks.require('syscalls:sys_enter_getpid').attach((inv) => {
      ran = rig.exec(program, { progType: TRACEPOINT, ctx: inv.ctx });
      return 0;
    });
    let childPid = 0;
    rig.kernel.vfs.registerProgram('/bin/reader', function* (ctx) {
      const libc = new Libc(ctx);
      childPid = yield* libc.fork(function* (c) {
        return yield* new Libc(c).getpid();
      });
      yield* libc.wait4(childPid);
      return 0;
    });
    const parent = rig.kernel.spawn('/bin/reader');
    rig.kernel.run({ untilNs: 1e9 });
    expect(ran).toBe(0n);
    const value = new Uint8Array(64);
    out.lookupSys(u32le(0), value, 0);
    const view = new DataView(value.buffer);
    expect(childPid).toBeGreaterThan(parent);
    expect(view.getInt32(0, true)).toBe(childPid);
    expect(view.getInt32(4, true)).toBe(childPid);
    expect(new TextDecoder().decode(value.subarray(8, 8 + 'reader'.length + 1))).toBe('reader\0');
    expect(view.getInt32(32, true)).toBe(parent);
  });
});
