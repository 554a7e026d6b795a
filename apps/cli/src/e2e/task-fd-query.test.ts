/**
 * BPF_TASK_FD_QUERY (what `bpftool perf show` asks of every fd): a tracepoint program attached by the loader
 * (a perf event and a perf link) and a raw tracepoint program (a raw_tp link), queried by pid and fd, with the
 * errnos of bpf_task_fd_query and the name copy of bpf_task_fd_query_copy.
 */
import { attachProgram } from '@ebpf-sim/loader';
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_FD_TYPE, BPF_PROG_TYPE, Errno, Libc, O, type Sys, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject } from './perf-attach.js';

const ENOTSUPP = 524;

interface Answer {
  readonly ret: number;
  readonly progId: number;
  readonly fdType: number;
  readonly name: string;
  readonly bufLen: number;
  readonly probeOffset: number;
  readonly probeAddr: bigint;
}

function* query(libc: Libc, pid: number, fd: number, bufLen = 64, flags = 0): Sys<Answer> {
  const mark = libc.stack.mark();
  try {
    const buf = libc.stack.alloca(Math.max(bufLen, 1));
    const { ret, attr } = yield* libc.bpfAttr('TASK_FD_QUERY', { pid, fd, flags, buf_len: bufLen, buf: bufLen === 0 ? 0 : buf });
    const bytes = libc.stack.readBytes(buf, Math.max(bufLen, 1));
    const nul = bytes.indexOf(0);
    const name = bufLen === 0 ? '' : new TextDecoder().decode(bytes.subarray(0, nul < 0 ? bytes.length : nul));
    return {
      ret,
      progId: attr.prog_id,
      fdType: attr.fd_type,
      name,
      bufLen: attr.buf_len,
      probeOffset: Number(attr.probe_offset),
      probeAddr: BigInt(attr.probe_addr),
    };
  } finally {
    libc.stack.release(mark);
  }
}

describe('BPF_TASK_FD_QUERY', () => {
  it('names the tracepoint behind a perf event and the raw tracepoint behind a raw_tp link', () => {
    const answers: Answer[] = [];
    const errnos: number[] = [];
    let progTypeSeen = 0;
    inCorpusKernel(function* (libc) {
      const pid = yield* libc.getpid();
      const tp = yield* loadAttachObject(libc, 'tp_count');
      const raw = yield* loadAttachObject(libc, 'rawtp_sys');
      const tpProg = tp.programs.get('count_openat');
      const rawProg = raw.programs.get('count_sys_enter');
      if (tpProg === undefined || rawProg === undefined) throw new Error('missing programs');
      // OBJ_GET_INFO_BY_FD on a program fd through the map-info wrapper: the kernel reads the caller's struct as
      // bpf_prog_info (lengths and pointers in), so the wrapper must hand it zeroed; the first field is the type.
      const asMapInfo = yield* libc.bpfMapGetInfo(tpProg.fd);
      progTypeSeen = asMapInfo.ok ? asMapInfo.value.type : -asMapInfo.errno;
      const tpLink = yield* attachProgram(libc, tpProg);
      const rawLink = yield* attachProgram(libc, rawProg);
      // Every fd of this process: the ones that run something answer, the others are ENOTSUPP.
      for (let fd = 0; fd < 32; fd++) {
        const answer = yield* query(libc, pid, fd);
        if (answer.ret === 0) answers.push(answer);
      }
      const root = yield* libc.open('/', O.RDONLY);
      errnos.push((yield* query(libc, pid, root)).ret);
      errnos.push((yield* query(libc, pid, 999)).ret);
      errnos.push((yield* query(libc, 99999, 0)).ret);
      errnos.push((yield* query(libc, pid, rawLink.fd, 64, 1)).ret);
      // A buffer too short: the name cut with a NUL, ENOSPC, and buf_len telling the whole length.
      const short = yield* query(libc, pid, rawLink.fd, 4);
      answers.push(short);
      yield* tpLink.destroy();
      yield* rawLink.destroy();
      yield* tp.close();
      yield* raw.close();
    });
    expect(answers.map(({ fdType, name }) => [fdType, name])).toEqual([
      [BPF_FD_TYPE.TRACEPOINT, 'sys_enter_openat'],
      [BPF_FD_TYPE.RAW_TRACEPOINT, 'sys_enter'],
      [BPF_FD_TYPE.RAW_TRACEPOINT, 'sys'],
    ]);
    expect(answers.every((a) => a.progId > 0)).toBe(true);
    expect(answers.at(-1)).toMatchObject({ ret: -Errno.ENOSPC, bufLen: 'sys_enter'.length });
    expect(errnos).toEqual([-ENOTSUPP, -Errno.EBADF, -Errno.ENOENT, -Errno.EINVAL]);
    expect(progTypeSeen).toBe(BPF_PROG_TYPE.TRACEPOINT);
  });

  it("gives a kprobe's function, offset and address (kp.addr, as /proc/kallsyms has it; 0 under kptr_restrict 2)", () => {
    const seen: { fdType: number; name: string; probeOffset: number; addr: string }[] = [];
    let kallsymsAddr = '';
    inCorpusKernel(function* (libc) {
      const pid = yield* libc.getpid();
      const loaded = yield* loadAttachObject(libc, 'kprobe_vfs');
      const prog = loaded.programs.get('vfs_read_entry');
      if (prog === undefined) throw new Error('missing program');
      const link = yield* attachProgram(libc, prog);
      const kallsyms = yield* libc.open('/proc/kallsyms', O.RDONLY);
      let text = '';
      for (;;) {
        const { ret, data } = yield* libc.read(kallsyms, 65536);
        if (ret <= 0) break;
        text += new TextDecoder().decode(data);
      }
      yield* libc.close(kallsyms);
      kallsymsAddr = /^([0-9a-f]{16}) T vfs_read$/m.exec(text)?.[1] ?? 'missing';
      // The perf event fd answers (the link fd is a perf link, whose event the query does not reach).
      for (let n = 0; n < 32; n++) {
        const a = yield* query(libc, pid, n);
        if (a.ret === 0) seen.push({ fdType: a.fdType, name: a.name, probeOffset: a.probeOffset, addr: a.probeAddr.toString(16) });
      }
      const restrict = yield* libc.open('/proc/sys/kernel/kptr_restrict', O.WRONLY);
      yield* libc.write(restrict, '2\n');
      yield* libc.close(restrict);
      for (let n = 0; n < 32; n++) {
        const a = yield* query(libc, pid, n);
        if (a.ret === 0) seen.push({ fdType: a.fdType, name: a.name, probeOffset: a.probeOffset, addr: a.probeAddr.toString(16) });
      }
      yield* link.destroy();
      yield* loaded.close();
    });
    expect(kallsymsAddr).toMatch(/^ffffffff8/);
    // libc's bpf_attr decoder gives u64 fields as JS numbers: an address above 2^53 comes back rounded as a double.
    expect(seen).toEqual([
      { fdType: BPF_FD_TYPE.KPROBE, name: 'vfs_read', probeOffset: 0, addr: BigInt(Number(BigInt(`0x${kallsymsAddr}`))).toString(16) },
      { fdType: BPF_FD_TYPE.KPROBE, name: 'vfs_read', probeOffset: 0, addr: '0' },
    ]);
  });

  it('is refused without CAP_SYS_ADMIN', () => {
    const kernel = createKernel({ cpus: 1 });
    registerBpf(kernel);
    let ret = 0;
    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      ret = (yield* query(libc, yield* libc.getpid(), 0)).ret;
      return 0;
    };
    kernel.vfs.registerProgram('/bin/query', user);
    kernel.spawn('/bin/query', { uid: 1000 });
    kernel.run({ untilNs: 1e9 });
    expect(kernel.crashes).toEqual([]);
    expect(ret).toBe(-Errno.EPERM);
  });
});
