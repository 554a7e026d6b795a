import { BPF_ATTACH_TYPE, BPF_LINK_TYPE, Errno, O } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { arrayU64s, loadAttachObject, mapFd, progFd, rawTracepointOpen, setArray, tracingLinkCreate } from './rawtp-attach.js';

describe('BPF LSM: lsm_deny.bpf.o on lsm/file_open', () => {
  it('denies opening one inode with the errno the program returns; other opens succeed', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'lsm_deny');
      for (const path of ['/tmp/secret', '/tmp/public']) {
        const fd = yield* libc.open(path, O.CREAT | O.WRONLY);
        expect(fd).toBeGreaterThanOrEqual(0);
        yield* libc.close(fd);
      }
      const secret = yield* libc.stat('/tmp/secret');
      if (!secret.ok) throw new Error(`stat: ${secret.errno}`);
      yield* setArray(libc, mapFd(loaded, 'denied'), 0, secret.value.ino, 8);
      const prog = progFd(loaded, 'deny_open');
      // An LSM program links with attach_type BPF_LSM_MAC only.
      expect(yield* tracingLinkCreate(libc, prog, BPF_ATTACH_TYPE.TRACE_FENTRY)).toBe(-Errno.EINVAL);
      const link = yield* tracingLinkCreate(libc, prog, BPF_ATTACH_TYPE.LSM_MAC);
      expect(link).toBeGreaterThan(0);
      const info = yield* libc.bpfLinkGetInfo(link);
      expect(info.ok && info.value.type).toBe(BPF_LINK_TYPE.TRACING);
      expect(yield* libc.open('/tmp/secret')).toBe(-Errno.EPERM);
      const open = yield* libc.open('/tmp/public');
      expect(open).toBeGreaterThanOrEqual(0);
      yield* libc.close(open);
      expect(yield* libc.close(link)).toBe(0);
      // The link is gone: the file opens again.
      const after = yield* libc.open('/tmp/secret');
      expect(after).toBeGreaterThanOrEqual(0);
      yield* libc.close(after);
      expect(yield* arrayU64s(libc, mapFd(loaded, 'decisions'), 2)).toEqual([2, 1]);
      // libbpf's fallback: BPF_RAW_TRACEPOINT_OPEN with no name attaches an LSM program by its BTF id.
      const raw = yield* rawTracepointOpen(libc, null, prog);
      expect(raw).toBeGreaterThan(0);
      expect(yield* libc.open('/tmp/secret', O.RDWR)).toBe(-Errno.EPERM);
      yield* libc.close(raw);
    });
  });
});
