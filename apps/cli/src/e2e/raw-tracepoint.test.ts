import { readFileSync } from 'node:fs';
import { BPF_ATTACH_TYPE, BPF_LINK_INFO, BPF_LINK_INFO_RAW_TRACEPOINT, BPF_LINK_TYPE, BPF_PROG_TYPE, Errno, SyscallNr, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { arrayU64s, fdinfo, loadAttachObject, lookupU64, mapFd, progFd, rawTracepointOpen, setArray, tracingLinkCreate } from './rawtp-attach.js';

describe('raw tracepoints: rawtp_sys.bpf.o attached with BPF_RAW_TRACEPOINT_OPEN and BPF_LINK_CREATE', () => {
  it('raw_tp/sys_enter counts exactly the syscalls the process made while the link was open, by id', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'rawtp_sys');
      const pid = yield* libc.getpid();
      yield* setArray(libc, mapFd(loaded, 'target'), 0, pid, 4);
      const link = yield* rawTracepointOpen(libc, 'sys_enter', progFd(loaded, 'count_sys_enter'));
      expect(link).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) yield* libc.getpid();
      expect(yield* libc.close(link)).toBe(0);
      // Detached: these are not counted.
      yield* libc.getpid();
      const syscalls = mapFd(loaded, 'syscalls');
      expect(yield* lookupU64(libc, syscalls, SyscallNr.getpid)).toBe(5n);
      expect(yield* lookupU64(libc, syscalls, SyscallNr.close)).toBe(1n);
      expect((yield* libc.bpfMapGetNextKey(syscalls, new Uint8Array(new Uint32Array([SyscallNr.getpid]).buffer), 4)).ok).toBe(true);
      // args[0] is the pt_regs of the syscall (a kernel address) on every run.
      expect((yield* arrayU64s(libc, mapFd(loaded, 'stats'), 4))[3]).toBe(6);
    });
  });

  it('raw_tracepoint/sched_switch and tp_btf/sched_switch run on every context switch, tp_btf reading next->pid', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'rawtp_sys');
      const pid = yield* libc.getpid();
      const raw = yield* rawTracepointOpen(libc, 'sched_switch', progFd(loaded, 'count_switch'), 7);
      expect(raw).toBeGreaterThan(0);
      // tp_btf through BPF_LINK_CREATE (attach_type BPF_TRACE_RAW_TP, link_create.tracing.cookie), as libbpf attaches it.
      const btf = yield* tracingLinkCreate(libc, progFd(loaded, 'btf_switch'), BPF_ATTACH_TYPE.TRACE_RAW_TP, 42);
      expect(btf).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) yield* libc.nanosleep(1_000_000);
      expect(yield* fdinfo(libc, raw)).toEqual([
        'link_type:\traw_tracepoint',
        expect.stringMatching(/^link_id:\t\d+$/),
        expect.stringMatching(/^prog_tag:\t[0-9a-f]{16}$/),
        expect.stringMatching(/^prog_id:\t\d+$/),
        'tp_name:\tsched_switch',
        'cookie:\t7',
      ]);
      expect((yield* fdinfo(libc, btf)).slice(4)).toEqual(['tp_name:\tsched_switch', 'cookie:\t42']);
      const info = yield* libc.bpfLinkGetInfo(btf);
      if (!info.ok) throw new Error(`link info: ${info.errno}`);
      expect(info.value.type).toBe(BPF_LINK_TYPE.RAW_TRACEPOINT);
      const union = new DataView(info.value.union.buffer, info.value.union.byteOffset);
      // No tp_name buffer given: tp_name_len is strlen + 1, and the cookie.
      expect(union.getUint32(BPF_LINK_INFO_RAW_TRACEPOINT.tp_name_len - BPF_LINK_INFO.union, true)).toBe('sched_switch'.length + 1);
      expect(union.getBigUint64(BPF_LINK_INFO_RAW_TRACEPOINT.cookie - BPF_LINK_INFO.union, true)).toBe(42n);
      expect(BPF_LINK_INFO.union).toBe(16);
      expect(yield* libc.close(raw)).toBe(0);
      expect(yield* libc.close(btf)).toBe(0);
      const [rawRuns, btfRuns, nextPid] = yield* arrayU64s(libc, mapFd(loaded, 'stats'), 3);
      // Each sleep switches away from the process and back: two switches at least per sleep.
      expect(rawRuns).toBeGreaterThanOrEqual(6);
      expect(btfRuns).toBe(rawRuns);
      // The last switch before the links closed brought this process back.
      expect(nextPid).toBe(pid);
    });
  });

  it("answers bad attaches with Linux's errnos", () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'rawtp_sys');
      const rawProg = progFd(loaded, 'count_switch');
      // bpf_get_raw_tracepoint finds no such tracepoint.
      expect(yield* rawTracepointOpen(libc, 'no_such_tracepoint', rawProg)).toBe(-Errno.ENOENT);
      // strncpy_from_user of a NULL name.
      expect(yield* rawTracepointOpen(libc, null, rawProg)).toBe(-Errno.EFAULT);
      // tp_btf names its tracepoint by BTF id: a name is EINVAL.
      expect(yield* rawTracepointOpen(libc, 'sched_switch', progFd(loaded, 'btf_switch'))).toBe(-Errno.EINVAL);
      // LINK_CREATE: the attach type must be the program's expected_attach_type.
      expect(yield* tracingLinkCreate(libc, progFd(loaded, 'btf_switch'), BPF_ATTACH_TYPE.TRACE_FENTRY)).toBe(-Errno.EINVAL);
      // A program type with no raw tracepoint attach.
      const filter = yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.SOCKET_FILTER,
        insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
        license: 'GPL',
      });
      expect(filter.ret).toBeGreaterThan(0);
      expect(yield* rawTracepointOpen(libc, 'sched_switch', filter.ret)).toBe(-Errno.EINVAL);
      expect(yield* rawTracepointOpen(libc, 'sched_switch', 999)).toBe(-Errno.EBADF);
    });
  });

  it('answers as Linux 6.18 did (fixtures/attach/record-raw-tp.txt, recorded by record-raw-tp.c)', () => {
    const recorded = new Map<string, string>();
    for (const line of readFileSync(new URL('../../fixtures/attach/record-raw-tp.txt', import.meta.url), 'utf8').split('\n')) {
      const at = line.indexOf(' => ');
      if (at > 0 && !line.startsWith('#')) recorded.set(line.slice(0, at), line.slice(at + 4));
    }
    const seen = new Map<string, string>();
    const answer = (ret: number): string => (ret >= 0 ? 'fd' : (Object.entries(Errno).find(([, n]) => n === -ret)?.[0] ?? String(ret)));
    const RET_0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    inCorpusKernel(function* (libc: Libc) {
      const raw = (yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.RAW_TRACEPOINT, insns: RET_0, license: 'GPL' })).ret;
      const filter = (yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SOCKET_FILTER, insns: RET_0, license: 'GPL' })).ret;
      seen.set('rawtp unknown name', answer(yield* rawTracepointOpen(libc, 'no_such_tracepoint', raw)));
      seen.set('rawtp NULL name', answer(yield* rawTracepointOpen(libc, null, raw)));
      seen.set('rawtp socket filter', answer(yield* rawTracepointOpen(libc, 'sched_switch', filter)));
      seen.set('rawtp bad fd', answer(yield* rawTracepointOpen(libc, 'sched_switch', 999)));
      seen.set('link_create raw_tp prog BPF_TRACE_RAW_TP', answer(yield* tracingLinkCreate(libc, raw, BPF_ATTACH_TYPE.TRACE_RAW_TP)));
      seen.set('link_create raw_tp prog 0', answer(yield* tracingLinkCreate(libc, raw, 0)));
      const link = yield* rawTracepointOpen(libc, 'sched_switch', raw, 7);
      const info = yield* libc.bpfLinkGetInfo(link);
      if (!info.ok) throw new Error(`link info: ${info.errno}`);
      const words = Array.from({ length: 6 }, (_, i) => new DataView(info.value.union.buffer, info.value.union.byteOffset).getUint32(4 * i, true));
      seen.set('rawtp info', `${answer(link)} type ${info.value.type} words ${words.join(' ')}`);
    });
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries([...recorded].filter(([key]) => seen.has(key))));
    expect(seen.size).toBe(7);
  });
});
