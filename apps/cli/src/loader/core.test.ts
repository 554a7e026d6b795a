/**
 * CO-RE end to end: the corpus object core_task.bpf.o, compiled by clang-19 against the vmlinux.h of a real
 * Linux 6.18 (its task_struct has pid at 1264 and comm at 1752), loaded unmodified by the loader into the
 * simulated kernel, whose task_struct is laid out otherwise. load() reads the kernel's BTF from
 * /sys/kernel/btf/vmlinux through the libc and relocates; the program, run with PROG_TEST_RUN, reads the
 * current task's pid, tgid, parent and comm through bpf_probe_read_kernel at our offsets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_STRUCT } from '@ebpf-sim/kernel';
import { LoaderError, load, loadKernelBtf, openObject } from '@ebpf-sim/loader';
import { BPF_MAP_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inKernel } from './in-kernel.js';

const CORPUS = join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'loader', 'fixtures', 'corpus');
const CORE_FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'loader', 'fixtures', 'core');
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

/** The program's `struct task_facts` in `.bss`, field by field (core_task.bpf.c). */
const FACTS = [
  'pid',
  'tgid',
  'parent_tgid',
  'comm_len',
  'comm0',
  'comm1',
  'comm2',
  'comm3',
  'pid_size',
  'comm_offset',
  'task_size',
  'task_type_id',
  'reset_on_fork',
  'has_loginuid',
  'has_dummy_ops',
  'ringbuf_map_type',
  'has_arena_map_type',
  'task_type_id_local',
  'list_head_matches',
  'pid_signed',
  'kernel_version',
  'bpf_lsm',
  'missing_option',
] as const;

describe('CO-RE: a program compiled against the real kernel vmlinux.h', () => {
  it('core_task loads unmodified and reads task->pid, tgid, real_parent->tgid and comm of the current task', () => {
    const spec = openObject(new Uint8Array(readFileSync(join(CORPUS, 'obj', 'core_task.bpf.o'))), { name: 'core_task' });
    const ctx = new Uint8Array(readFileSync(join(CORPUS, 'inputs', 'sys_enter_getpid.ctx.bin')));
    inKernel(function* (libc) {
      // tp_btf needs attach_btf_id, which this kernel does not take yet: only the raw_tp program is loaded.
      const loaded = yield* load(spec, libc, { programs: ['core_task_facts'], kconfig: { LINUX_KERNEL_VERSION: 0x60c00 } });
      const prog = loaded.programs.get('core_task_facts')?.fd ?? -1;
      const run = yield* libc.bpfProgTestRun(prog, { ctx });
      expect([run.ret, run.retval]).toEqual([0, 1]);
      const bss = yield* libc.bpfMapLookup(loaded.maps.get('.bss')?.fd ?? -1, u32(0), FACTS.length * 4 + 4);
      if (!bss.ok) throw new Error(`lookup of .bss: errno ${bss.errno}`);
      const view = new DataView(bss.value.buffer, bss.value.byteOffset);
      const facts = Object.fromEntries(FACTS.map((name, i) => [name, view.getUint32(i * 4, true)]));
      const comm = new TextDecoder().decode(bss.value.subarray(16, 32)).replace(/\0.*$/s, '');
      const pid = yield* libc.getpid();
      const ppid = yield* libc.getppid();
      expect({ pid: facts['pid'], tgid: facts['tgid'], parent: facts['parent_tgid'], comm, commLen: facts['comm_len'] }).toEqual({
        pid,
        tgid: pid,
        parent: ppid,
        comm: 'core-reader',
        commLen: 'core-reader'.length + 1,
      });
      // Field and type facts answered from our BTF, not the compiler's Linux layout.
      expect({ pidSize: facts['pid_size'], commOffset: facts['comm_offset'], taskSize: facts['task_size'], pidSigned: facts['pid_signed'] }).toEqual({
        pidSize: 4,
        commOffset: TASK_STRUCT.comm,
        taskSize: TASK_STRUCT.size,
        pidSigned: 1,
      });
      // Type ids: the kernel's task_struct in /sys/kernel/btf/vmlinux, and the object's own.
      const kernelBtf = yield* loadKernelBtf(libc);
      if (kernelBtf instanceof Error) throw kernelBtf;
      const structId = (types: readonly { id: number; name: string; vlen: number }[]): number | undefined =>
        types.find((t) => t.name === 'task_struct' && t.vlen > 0)?.id;
      const kernelTask = structId(kernelBtf.types);
      const localTask = structId(spec.btf?.btf.types ?? []);
      // What this kernel has and lacks: struct bpf_dummy_ops (its struct_ops test type, as Linux), no loginuid
      // (CONFIG_AUDIT), no struct list_head, no ARENA map type; sched_reset_on_fork is a bitfield, 0. Linux 6.18
      // answered 1 to the three "has" questions.
      expect({ ...facts, pid: 0, tgid: 0, parent_tgid: 0, comm_len: 0, comm0: 0, comm1: 0, comm2: 0, comm3: 0 }).toEqual({
        ...facts,
        pid: 0,
        tgid: 0,
        parent_tgid: 0,
        comm_len: 0,
        comm0: 0,
        comm1: 0,
        comm2: 0,
        comm3: 0,
        task_type_id: kernelTask,
        task_type_id_local: localTask,
        reset_on_fork: 0,
        has_loginuid: 0,
        has_dummy_ops: 1,
        ringbuf_map_type: BPF_MAP_TYPE.RINGBUF,
        has_arena_map_type: 0,
        list_head_matches: 0,
        kernel_version: 0x60c00,
        bpf_lsm: 0,
        missing_option: 0,
      });
    }, '/bin/core-reader');
  });

  it('a poisoned relocation in dead code loads (the field-exists guard is 0 here); reached, the load fails naming the relocation', () => {
    const spec = openObject(new Uint8Array(readFileSync(join(CORE_FIXTURES, 'guarded.bpfel.o'))), { name: 'guarded' });
    const local = spec.btf?.btf.types.find((t) => t.name === 'task_struct' && t.vlen > 0)?.id;
    inKernel(function* (libc) {
      const loaded = yield* load(spec, libc, { programs: ['guarded'] });
      const run = yield* libc.bpfProgTestRun(loaded.programs.get('guarded')?.fd ?? -1, { ctx: new Uint8Array(16) });
      expect([run.ret, run.retval]).toEqual([0, yield* libc.getpid()]);
      let error: unknown;
      try {
        yield* load(spec, libc, { programs: ['unguarded'] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LoaderError);
      const message = error instanceof Error ? error.message : '';
      expect(message).toContain(`prog 'unguarded': BPF_PROG_LOAD failed: -EINVAL`);
      // libbpf's rewrite of the verifier's `invalid func unknown#195896080` at the poisoned instruction.
      expect(message).toContain(
        `1: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation <byte_off> [${local ?? 0}] struct task_struct.no_such_field (0:1 @ offset 4)\n`,
      );
    });
  });

  it('without the kernel BTF a CO-RE object fails to load, saying so; an unknown program name is refused', () => {
    const spec = openObject(new Uint8Array(readFileSync(join(CORE_FIXTURES, 'guarded.bpfel.o'))), { name: 'guarded' });
    inKernel(function* (libc) {
      const messages: string[] = [];
      for (const options of [{ kernelBtfPath: '/sys/kernel/btf/nope' }, { programs: ['nope'] }]) {
        try {
          yield* load(spec, libc, options);
        } catch (e) {
          messages.push(e instanceof LoaderError ? e.message : String(e));
        }
      }
      expect(messages).toEqual([
        'failed to find valid kernel BTF: open /sys/kernel/btf/nope: -ENOENT (CO-RE needs the kernel BTF)',
        "prog 'nope': no such program in the object",
      ]);
    });
  });
});
