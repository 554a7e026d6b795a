import { BPF_ATTACH_TYPE, BPF_LINK_INFO, BPF_LINK_INFO_TRACING as T, BPF_LINK_TYPE, Errno, O } from '@ebpf-sim/uapi';
import { BtfKind } from '@ebpf-sim/btf';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { arrayU64s, fdinfo, loadAttachObject, mapFd, progFd, rawTracepointOpen, setArray, tracingLinkCreate } from './rawtp-attach.js';

describe('BPF trampolines: fentry_vfs.bpf.o on vfs_read', () => {
  it('fentry sees the arguments and fexit the arguments and the return value of every read', () => {
    let targetBtfId = 0;
    const bpf = inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'fentry_vfs');
      const pid = yield* libc.getpid();
      const file = yield* libc.open('/tmp/fentry', O.CREAT | O.WRONLY);
      expect(yield* libc.write(file, 'ten bytes!')).toBe(10);
      yield* libc.close(file);
      yield* setArray(libc, mapFd(loaded, 'target'), 0, pid, 4);
      // fentry through BPF_LINK_CREATE (libbpf's bpf_program__attach_trace), fexit through RAW_TRACEPOINT_OPEN
      // with no name (libbpf's fallback for kernels without LINK_CREATE for tracing).
      const entry = yield* tracingLinkCreate(libc, progFd(loaded, 'read_entry'), BPF_ATTACH_TYPE.TRACE_FENTRY, 5);
      const exit = yield* rawTracepointOpen(libc, null, progFd(loaded, 'read_exit'));
      expect(entry).toBeGreaterThan(0);
      expect(exit).toBeGreaterThan(0);
      const fd = yield* libc.open('/tmp/fentry');
      expect((yield* libc.read(fd, 64)).ret).toBe(10);
      expect((yield* libc.read(fd, 100)).ret).toBe(0);
      yield* libc.close(fd);
      const info = yield* libc.bpfLinkGetInfo(entry);
      if (!info.ok) throw new Error(`link info: ${info.errno}`);
      expect(info.value.type).toBe(BPF_LINK_TYPE.TRACING);
      const union = new DataView(info.value.union.buffer, info.value.union.byteOffset);
      expect(union.getUint32(T.attach_type - BPF_LINK_INFO.union, true)).toBe(BPF_ATTACH_TYPE.TRACE_FENTRY);
      // target_obj_id: the vmlinux BTF (object 1); target_btf_id: vfs_read's FUNC, the program's attach_btf_id.
      expect(union.getUint32(T.target_obj_id - BPF_LINK_INFO.union, true)).toBe(1);
      targetBtfId = union.getUint32(T.target_btf_id - BPF_LINK_INFO.union, true);
      // bpf_tracing_link_show_fdinfo (6.18: with the cookie). Reading the fdinfo file is not a read to count.
      yield* setArray(libc, mapFd(loaded, 'target'), 0, 0, 4);
      expect((yield* fdinfo(libc, entry)).slice(4)).toEqual(['attach_type:\t24', 'target_obj_id:\t1', `target_btf_id:\t${targetBtfId}`, 'cookie:\t5']);
      yield* setArray(libc, mapFd(loaded, 'target'), 0, pid, 4);
      expect(union.getBigUint64(T.cookie - BPF_LINK_INFO.union, true)).toBe(5n);
      // The program is on its trampoline: a second link is EBUSY.
      expect(yield* tracingLinkCreate(libc, progFd(loaded, 'read_entry'), BPF_ATTACH_TYPE.TRACE_FENTRY)).toBe(-Errno.EBUSY);
      // target_btf_id without a target program is EINVAL.
      expect(
        (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: progFd(loaded, 'read_exit'), attach_type: BPF_ATTACH_TYPE.TRACE_FEXIT, target_btf_id: 5 })).ret,
      ).toBe(-Errno.EINVAL);
      expect(yield* libc.close(entry)).toBe(0);
      expect(yield* libc.close(exit)).toBe(0);
      // Closed: not counted.
      const again = yield* libc.open('/tmp/fentry');
      yield* libc.read(again, 64);
      expect(yield* arrayU64s(libc, mapFd(loaded, 'stats'), 4)).toEqual([2, 164, 2, 10]);
      // After its link went, the program attaches again.
      const relinked = yield* tracingLinkCreate(libc, progFd(loaded, 'read_entry'), BPF_ATTACH_TYPE.TRACE_FENTRY);
      expect(relinked).toBeGreaterThan(0);
      yield* libc.close(relinked);
    });
    const vfsRead = bpf.progs.vmlinux?.btf.types.find((t) => t.kind === BtfKind.FUNC && t.name === 'vfs_read');
    expect(targetBtfId).toBe(vfsRead?.id);
  });
});
