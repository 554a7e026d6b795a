import { BTF_MAX_SIZE } from '@ebpf-sim/btf';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { BPF_LOG, Errno, Libc, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { recordedBlob } from '../../../btf/fixtures/blobs.js';
import { registerBpf, type BpfSyscall } from './bpf-syscall.js';

const blob = recordedBlob;

/** Run `program` as `uid` in a kernel with bpf(); the kernel and the subsystem afterwards. */
function run(program: (libc: Libc) => Generator<number, void, number>, uid = 0): { kernel: Kernel; bpf: BpfSyscall } {
  const kernel = createKernel({ cpus: 1 });
  const bpf = registerBpf(kernel);
  const user: UserProgram = function* (ctx) {
    yield* program(new Libc(ctx));
    return 0;
  };
  kernel.vfs.registerProgram('/bin/test', user);
  kernel.spawn('/bin/test', { uid });
  kernel.run({ untilNs: 10e9 });
  expect(kernel.crashes).toEqual([]);
  return { kernel, bpf };
}

describe('BPF_BTF_LOAD', () => {
  it('loads a valid blob as an anon_inode:btf fd with an id, reads it back, and frees it with the last fd', () => {
    const bytes = blob('valid_all_kinds');
    const { kernel, bpf } = run(function* (libc) {
      const loaded = yield* libc.bpfBtfLoad(bytes, 1, 4096);
      expect(loaded.fd).toBeGreaterThan(0);
      expect(loaded.log.startsWith('magic: 0xeb9f\nversion: 1\n')).toBe(true);
      expect(loaded.logTrueSize).toBe(loaded.log.length + 1);
      const info = yield* libc.bpfBtfGetInfo(loaded.fd, bytes.length + 16);
      if (!info.ok) throw new Error(`info: ${info.errno}`);
      expect(info.value.btfSize).toBe(bytes.length);
      expect(info.value.btf).toEqual(bytes);
      expect(info.value.kernelBtf).toBe(false);
      // A smaller buffer gets the first bytes, and btf_size still says the whole size.
      const partial = yield* libc.bpfBtfGetInfo(loaded.fd, 8);
      expect(partial.ok && partial.value.btf).toEqual(bytes.subarray(0, 8));
      expect(partial.ok && partial.value.btfSize).toBe(bytes.length);
      const next = yield* libc.bpfAttr('BTF_GET_NEXT_ID', { start_id: 0 });
      expect(next.ret).toBe(0);
      expect(next.attr.next_id).toBe(info.value.id);
      const again = yield* libc.bpfBtfGetFdById(info.value.id);
      expect(again).toBeGreaterThan(loaded.fd);
      expect(yield* libc.close(loaded.fd)).toBe(0);
      const still = yield* libc.bpfBtfGetInfo(again, 0);
      expect(still.ok && still.value.id).toBe(info.value.id);
      expect(yield* libc.close(again)).toBe(0);
      expect(yield* libc.bpfBtfGetFdById(info.value.id)).toBe(-Errno.ENOENT);
      expect((yield* libc.bpfAttr('BTF_GET_NEXT_ID', { start_id: 0 })).ret).toBe(-Errno.ENOENT);
    });
    expect(bpf.btfs.ids.size).toBe(0);
    expect(kernel.phys.usageOf('bpf-btf').allocations).toBe(0);
  });

  it('refuses a bad blob with EINVAL and the log line Linux writes', () => {
    run(function* (libc) {
      const loaded = yield* libc.bpfBtfLoad(blob('struct_member_missing'), 1, 4096);
      expect(loaded.fd).toBe(-Errno.EINVAL);
      expect(loaded.log.endsWith('[2] STRUCT foo size=4 vlen=1\n\tx type_id=9 bits_offset=0 Invalid member\n')).toBe(true);
      expect((yield* libc.bpfBtfLoad(blob('bad_magic'))).fd).toBe(-Errno.EINVAL);
      expect((yield* libc.bpfBtfLoad(blob('const_loop'))).fd).toBe(-Errno.EEXIST);
    });
  });

  it('answers the attribute rules: E2BIG, EFAULT, log attributes, ENOSPC for a short log, flags', () => {
    const { kernel } = run(function* (libc) {
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x1000, btf_size: BTF_MAX_SIZE + 1 })).ret).toBe(-Errno.E2BIG);
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x10, btf_size: 64 })).ret).toBe(-Errno.EFAULT);
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x10, btf_size: 64, btf_log_size: 64 })).ret).toBe(-Errno.EINVAL);
      expect((yield* libc.bpfAttr('BTF_LOAD', { btf: 0x10, btf_size: 64, btf_flags: 1 })).ret).toBe(-Errno.EINVAL);
      // A valid blob with a log too short for it: ENOSPC, and log_true_size says what it needs.
      const short = yield* libc.bpfBtfLoad(blob('valid_int_struct'), 1, 32);
      expect(short.fd).toBe(-Errno.ENOSPC);
      expect(short.logTrueSize).toBeGreaterThan(32);
      // BPF_LOG_FIXED keeps the beginning.
      const fixed = yield* libc.bpfBtfLoad(blob('valid_int_struct'), 1 | BPF_LOG.FIXED, 16);
      expect(fixed.log).toBe('magic: 0xeb9f\nv');
    });
    expect(kernel.phys.usageOf('bpf-btf').allocations).toBe(0);
  });

  it('needs CAP_BPF (EPERM), and CAP_SYS_ADMIN for the ids', () => {
    run(function* (libc) {
      expect((yield* libc.bpfBtfLoad(blob('valid_int_struct'))).fd).toBe(-Errno.EPERM);
      expect(yield* libc.bpfBtfGetFdById(1)).toBe(-Errno.EPERM);
      expect((yield* libc.bpfAttr('BTF_GET_NEXT_ID', { start_id: 0 })).ret).toBe(-Errno.EPERM);
    }, 1000);
  });
});
