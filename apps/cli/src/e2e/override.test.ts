/**
 * bpf_override_return end to end: fixtures/attach/src/override_getppid.bpf.c loaded with the loader and attached
 * with its attach() (the kprobe PMU, perf_event_open, BPF_LINK_CREATE), as libbpf attaches SEC("kprobe/...").
 * While the link lives, getppid(2) is not run and fails with the program's -EPERM (__x64_sys_getppid is on the
 * error-injection list, as every syscall wrapper is in Linux); after the link is destroyed it runs again.
 */
import { attachProgram } from '@ebpf-sim/loader';
import { Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject } from './perf-attach.js';

describe('bpf_override_return at a kprobe on a syscall', () => {
  it('makes getppid fail with -EPERM while attached, and counts each refusal', () => {
    const seen: Array<number | bigint> = [];
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'override_getppid');
      const prog = loaded.programs.get('deny_getppid');
      if (prog === undefined) throw new Error('no program deny_getppid');
      const parentBefore = yield* libc.getppid();
      const link = yield* attachProgram(libc, prog);
      seen.push(yield* libc.getppid(), yield* libc.getppid());
      yield* link.destroy();
      seen.push((yield* libc.getppid()) === parentBefore ? 1 : 0);
      const bss = [...loaded.maps.values()].find((map) => map.spec.name.endsWith('.bss'));
      if (bss === undefined) throw new Error('no .bss map');
      const value = yield* bss.lookup(new Uint8Array(4));
      // The value decoded through the object's BTF: the DATASEC's variables by name.
      const overridden = (value as Record<string, unknown> | undefined)?.['overridden'];
      seen.push(typeof overridden === 'bigint' || typeof overridden === 'number' ? BigInt(overridden) : -1n);
      yield* loaded.close();
    });
    expect(seen).toEqual([-Errno.EPERM, -Errno.EPERM, 1, 2n]);
  });
});
