import { BPF_ATTACH_TYPE, BPF_CMD, BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { arrayU64s, loadAttachObject, mapFd, progFd, setArray, tracingLinkCreate } from './rawtp-attach.js';

describe('BPF LSM: lsm2_bpf.bpf.o on lsm/bpf (security_bpf at the bpf() entry)', () => {
  it('refuses one bpf() command for one process with the errno the program returns; other commands go on', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'lsm2_bpf');
      const cfg = mapFd(loaded, 'guard_cfg');
      const pid = yield* libc.getpid();
      yield* setArray(libc, cfg, 0, BPF_CMD.MAP_CREATE + 1, 8);
      yield* setArray(libc, cfg, 1, pid, 8);
      const create = (): Generator<number, number, number> => libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 });
      // Not attached yet: the hook has no program.
      const before = yield* create();
      expect(before).toBeGreaterThan(0);
      yield* libc.close(before);
      const link = yield* tracingLinkCreate(libc, progFd(loaded, 'guard_bpf'), BPF_ATTACH_TYPE.LSM_MAC);
      expect(link).toBeGreaterThan(0);
      // Denied: the program's -EPERM is bpf()'s answer, before MAP_CREATE runs.
      expect(yield* create()).toBe(-Errno.EPERM);
      // Another command of the same process passes the hook (and reads the map the program counts in).
      const seen = yield* arrayU64s(libc, mapFd(loaded, 'seen'), 5);
      // Read slot by slot: when slot 0 was read the program had seen the denied MAP_CREATE and that very lookup;
      // MAP_CREATE was denied once; slots 2-4 hold the lookup reading them (MAP_LOOKUP_ELEM, its attr size, from
      // user memory: kernel false).
      expect(seen[0]).toBe(2);
      expect(seen[1]).toBe(1);
      expect(seen[2]).toBe(BPF_CMD.MAP_LOOKUP_ELEM);
      expect(seen[3]).toBeGreaterThan(0);
      expect(seen[4]).toBe(0);
      // An unknown command is still shown to the hook first (Linux asks security_bpf before its switch).
      yield* setArray(libc, cfg, 0, 999 + 1, 8);
      expect((yield* libc.bpf(999, new Uint8Array(8))).ret).toBe(-Errno.EPERM);
      yield* setArray(libc, cfg, 0, 0, 8);
      expect((yield* libc.bpf(999, new Uint8Array(8))).ret).toBe(-Errno.EINVAL);
      // Detached: MAP_CREATE works again.
      expect(yield* libc.close(link)).toBe(0);
      yield* setArray(libc, cfg, 0, BPF_CMD.MAP_CREATE + 1, 8);
      const after = yield* create();
      expect(after).toBeGreaterThan(0);
      yield* libc.close(after);
    });
  });
});
