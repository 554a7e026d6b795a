import { readFileSync } from 'node:fs';
import { BPF_ATTACH_TYPE, Errno, SyscallNr, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, lookupU64, mapFd, progFd, rawTracepointOpen, setArray, tracingLinkCreate } from './rawtp-attach.js';

/**
 * BPF_LINK_DETACH on the links libbpf makes for raw_tp, raw_tracepoint and tp_btf programs, against Linux 6.18's
 * answers (fixtures/attach/record-link-detach.txt, recorded by record-link-detach.c with bpf_program__attach and
 * bpf_link_detach): bpf_raw_tp_link_lops has no .detach, so LINK_DETACH is EOPNOTSUPP and the link stays attached.
 * (fentry/fexit links, bpf_tracing_link_lops, have no .detach either in kernel/bpf/syscall.c; this machine's
 * kernel refuses to load fentry programs, so that line records the load's EPERM instead.)
 */
const recorded = new Map<string, string>();
for (const line of readFileSync(new URL('../../fixtures/attach/record-link-detach.txt', import.meta.url), 'utf8').split('\n')) {
  const at = line.indexOf(' => ');
  if (at > 0 && !line.startsWith('#')) recorded.set(line.slice(0, at), line.slice(at + 4));
}

const errnoName = (ret: number): string => (ret === 0 ? '0' : (Object.entries(Errno).find(([, n]) => n === -ret)?.[0] ?? String(ret)));

describe('BPF_LINK_DETACH on raw tracepoint links, as Linux 6.18 answers it', () => {
  it('answers every recorded raw_tp, raw_tracepoint and tp_btf link as Linux did, and the links keep running', () => {
    const seen = new Map<string, string>();
    let getpids: bigint | undefined;
    inCorpusKernel(function* (libc: Libc) {
      const loaded = yield* loadAttachObject(libc, 'rawtp_sys');
      yield* setArray(libc, mapFd(loaded, 'target'), 0, yield* libc.getpid(), 4);
      // libbpf's attach for each SEC: raw_tp and raw_tracepoint through BPF_RAW_TRACEPOINT_OPEN with the
      // tracepoint's name, tp_btf through BPF_LINK_CREATE with BPF_TRACE_RAW_TP.
      const links: Array<[string, number]> = [
        ['raw_tp/sys_enter', yield* rawTracepointOpen(libc, 'sys_enter', progFd(loaded, 'count_sys_enter'))],
        ['raw_tracepoint/sched_switch', yield* rawTracepointOpen(libc, 'sched_switch', progFd(loaded, 'count_switch'))],
        ['tp_btf/sched_switch', yield* tracingLinkCreate(libc, progFd(loaded, 'btf_switch'), BPF_ATTACH_TYPE.TRACE_RAW_TP)],
      ];
      for (const [section, link] of links) {
        expect(link).toBeGreaterThan(0);
        seen.set(`${section} link_detach`, errnoName(yield* libc.bpfLinkDetach(link)));
      }
      // The refused detach left raw_tp/sys_enter attached: the program still counts this process's getpid calls.
      for (let i = 0; i < 3; i++) yield* libc.getpid();
      getpids = yield* lookupU64(libc, mapFd(loaded, 'syscalls'), SyscallNr.getpid);
      for (const [, link] of links) yield* libc.close(link);
      yield* loaded.close();
    });
    const expected = new Map([...recorded].filter(([key]) => key.endsWith(' link_detach')));
    expect(expected.size).toBe(3);
    expect(seen).toEqual(expected);
    expect(getpids).toBe(3n);
  });
});
