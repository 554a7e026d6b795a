/**
 * attach() at the ABI: a scripted libc records every syscall the loader makes and answers it, and the tests
 * check the sequence against libbpf's (tools/lib/bpf/libbpf.c attach_kprobe, attach_tp, attach_raw_tp,
 * attach_trace, attach_lsm, bpf_program__attach_perf_event_opts, _xdp, _tcx; bpf.c bpf_link_create).
 */
import {
  BPF_ATTACH_TYPE,
  BPF_F_REPLACE,
  Errno,
  O,
  PERF_EVENT_IOC,
  PERF_FLAG,
  PERF_TYPE,
  type BpfAttr,
  type BpfAttrInput,
  type BpfAttrCmd,
  type BpfLinkInfo,
  type PerfEventAttrInput,
  type Result,
  type Sys,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { attachAll, attachProgram, autoAttach, type AttachLibc, type AttachProgram } from './attach.js';
import { LoaderError } from './errors.js';
import { openLink } from './links.js';
import { programSection } from './sec-defs.js';

const SET_BPF = 0x40042408;

type Call = readonly [string, ...unknown[]];

/** A libc whose syscalls are recorded and answered from a script: files by path, and per-command results. */
class ScriptedLibc implements AttachLibc {
  readonly calls: Call[] = [];
  private nextFd = 10;
  private readonly strings = new Map<number, string>();
  private sp = 0x7000_0000;
  private readonly open_ = new Map<number, string>();
  /** Results to give, in order, per syscall (`perf_event_open`, `ioctl`, a bpf command name); otherwise a new fd / 0. */
  readonly answers = new Map<string, number[]>();

  constructor(readonly files: Record<string, string> = {}) {}

  answer(what: string, ...results: number[]): this {
    this.answers.set(what, [...(this.answers.get(what) ?? []), ...results]);
    return this;
  }

  private result(what: string, fd: boolean): number {
    const queued = this.answers.get(what);
    const next = queued?.shift();
    if (next !== undefined) return next;
    return fd ? this.nextFd++ : 0;
  }

  readonly stack = {
    mark: (): number => this.sp,
    release: (mark: number): void => {
      this.sp = mark;
    },
    pushString: (text: string): number => {
      this.sp -= 64;
      this.strings.set(this.sp, text);
      return this.sp;
    },
  };

  private str(address: number): string {
    return this.strings.get(address) ?? `<${address}>`;
  }

  *open(path: string, flags?: number): Sys<number> {
    this.calls.push(['open', path, flags]);
    yield 0;
    if (!(path in this.files)) return -Errno.ENOENT;
    const fd = this.nextFd++;
    this.open_.set(fd, path);
    return fd;
  }
  *readAll(fd: number): Sys<Result<Uint8Array>> {
    yield 0;
    const path = this.open_.get(fd);
    return path === undefined ? { ok: false, errno: Errno.EBADF } : { ok: true, value: new TextEncoder().encode(this.files[path]) };
  }
  *close(fd: number): Sys<number> {
    this.calls.push(['close', fd]);
    yield 0;
    return 0;
  }
  *perfEventOpen(attr: PerfEventAttrInput, pid: number, cpu: number, groupFd = -1, flags = 0): Sys<number> {
    const config1 = attr.config1 === undefined ? undefined : this.str(Number(attr.config1));
    this.calls.push(['perf_event_open', { type: attr.type, config: attr.config, config1, config2: attr.config2 }, pid, cpu, groupFd, flags]);
    yield 0;
    return this.result('perf_event_open', true);
  }
  *ioctl(fd: number, request: number, arg = 0): Sys<number> {
    this.calls.push(['ioctl', fd, request, arg]);
    yield 0;
    return this.result('ioctl', false);
  }
  *bpfAttr<C extends BpfAttrCmd>(cmd: C, values: Partial<BpfAttrInput<C>>): Sys<{ ret: number; attr: BpfAttr<C> }> {
    const shown: Record<string, unknown> = { ...values };
    if (cmd === 'RAW_TRACEPOINT_OPEN' && typeof shown.name === 'number' && shown.name !== 0) shown.name = this.str(shown.name);
    this.calls.push([cmd, shown]);
    yield 0;
    return { ret: this.result(cmd, true), attr: values as unknown as BpfAttr<C> };
  }
  *bpfObjPin(fd: number, path: string): Sys<number> {
    this.calls.push(['pin', fd, path]);
    yield 0;
    return this.result('pin', false);
  }
  *bpfObjGet(path: string): Sys<number> {
    this.calls.push(['obj_get', path]);
    yield 0;
    return this.result('obj_get', true);
  }
  *unlink(path: string): Sys<number> {
    this.calls.push(['unlink', path]);
    yield 0;
    return 0;
  }
  *mkdir(path: string, mode?: number): Sys<number> {
    this.calls.push(['mkdir', path, mode]);
    yield 0;
    return this.result('mkdir', false);
  }
  *bpfLinkDetach(fd: number): Sys<number> {
    this.calls.push(['LINK_DETACH', fd]);
    yield 0;
    return this.result('LINK_DETACH', false);
  }
  *bpfLinkUpdate(fd: number, newProgFd: number, flags = 0, oldProgFd = 0): Sys<number> {
    this.calls.push(['LINK_UPDATE', fd, newProgFd, flags, oldProgFd]);
    yield 0;
    return this.result('LINK_UPDATE', false);
  }
  *bpfLinkGetInfo(fd: number): Sys<Result<BpfLinkInfo>> {
    this.calls.push(['LINK_INFO', fd]);
    yield 0;
    return { ok: true, value: { type: 7, id: 4, progId: 9, union: new Uint8Array(48), infoLen: 64 } };
  }
}

/** Run a user-space generator to its end, as the kernel would (the scripted calls need nothing back). */
function run<T>(gen: Sys<T>): T {
  let step = gen.next();
  while (step.done !== true) step = gen.next(0);
  return step.value;
}

const prog = (sectionName: string, name = 'handler', fd = 3): AttachProgram => ({ spec: { name, sectionName, section: programSection(sectionName) }, fd });

const KPROBE_FILES = {
  '/sys/bus/event_source/devices/kprobe/type': '6\n',
  '/sys/bus/event_source/devices/kprobe/format/retprobe': 'config:0\n',
};
const RDONLY = O.RDONLY | O.CLOEXEC;

describe('kprobes', () => {
  it('opens the kprobe PMU with the name in config1, then links it with BPF_PERF_EVENT and enables it', () => {
    const libc = new ScriptedLibc(KPROBE_FILES);
    const link = run(attachProgram(libc, prog('kprobe/vfs_read'), { cookie: 7 }));
    expect(libc.calls).toEqual([
      ['open', '/sys/bus/event_source/devices/kprobe/type', RDONLY],
      ['close', 10],
      ['open', '/sys/bus/event_source/devices/kprobe/type', RDONLY],
      ['close', 11],
      ['perf_event_open', { type: 6, config: 0, config1: 'vfs_read', config2: 0 }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC],
      ['LINK_CREATE', { prog_fd: 3, target_fd: 12, attach_type: BPF_ATTACH_TYPE.PERF_EVENT, bpf_cookie: 7n }],
      ['ioctl', 12, PERF_EVENT_IOC.ENABLE, 0],
    ]);
    expect([link.kind, link.fd, link.perfEventFd]).toEqual(['bpf_link', 13, 12]);
    libc.calls.length = 0;
    run(link.destroy());
    run(link.destroy());
    expect(libc.calls).toEqual([
      ['ioctl', 12, PERF_EVENT_IOC.DISABLE, 0],
      ['close', 12],
      ['close', 13],
    ]);
  });

  it('sets the retprobe bit read from format/retprobe for a kretprobe', () => {
    const libc = new ScriptedLibc({ ...KPROBE_FILES, '/sys/bus/event_source/devices/kprobe/format/retprobe': 'config:3\n' });
    run(attachProgram(libc, prog('kretprobe/do_sys_openat2')));
    expect(libc.calls.slice(4, 7)).toEqual([
      ['open', '/sys/bus/event_source/devices/kprobe/format/retprobe', RDONLY],
      ['close', 12],
      ['perf_event_open', { type: 6, config: 8, config1: 'do_sys_openat2', config2: 0 }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC],
    ]);
  });

  it('takes an offset after + (strtol base 0) and refuses one on a kretprobe', () => {
    const libc = new ScriptedLibc(KPROBE_FILES);
    run(attachProgram(libc, prog('kprobe/vfs_read+0x10')));
    expect(libc.calls[4]).toEqual(['perf_event_open', { type: 6, config: 0, config1: 'vfs_read', config2: 16 }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC]);
    expect(() => run(attachProgram(new ScriptedLibc(KPROBE_FILES), prog('kretprobe/vfs_read+4')))).toThrow(/kretprobes do not support offset/);
  });

  it('probes the syscall wrapper for ksyscall', () => {
    const libc = new ScriptedLibc(KPROBE_FILES);
    run(attachProgram(libc, prog('ksyscall/openat')));
    expect(libc.calls[4]).toEqual(['perf_event_open', { type: 6, config: 0, config1: '__x64_sys_openat', config2: 0 }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC]);
  });

  it('falls back to PERF_EVENT_IOC_SET_BPF when the kernel has no perf links, and the perf fd is the link', () => {
    const libc = new ScriptedLibc(KPROBE_FILES).answer('LINK_CREATE', -Errno.EINVAL);
    const link = run(attachProgram(libc, prog('kprobe/vfs_read')));
    expect(libc.calls.slice(5)).toEqual([
      ['LINK_CREATE', { prog_fd: 3, target_fd: 12, attach_type: BPF_ATTACH_TYPE.PERF_EVENT, bpf_cookie: 0n }],
      ['ioctl', 12, SET_BPF, 3],
      ['ioctl', 12, PERF_EVENT_IOC.ENABLE, 0],
    ]);
    expect([link.kind, link.fd, link.perfEventFd]).toEqual(['perf_ioctl', 12, 12]);
    libc.calls.length = 0;
    run(link.destroy());
    expect(libc.calls).toEqual([
      ['ioctl', 12, PERF_EVENT_IOC.DISABLE, 0],
      ['close', 12],
    ]);
  });

  it('refuses a cookie without perf links, closing the perf event', () => {
    const libc = new ScriptedLibc(KPROBE_FILES).answer('LINK_CREATE', -Errno.EINVAL);
    expect(() => run(attachProgram(libc, prog('kprobe/vfs_read'), { cookie: 1 }))).toThrow(/failed to create BPF link for perf_event FD 12: -EINVAL/);
    expect(libc.calls.at(-1)).toEqual(['close', 12]);
  });

  it("reports perf_event_open's errno for an unknown function, and a missing PMU", () => {
    const libc = new ScriptedLibc(KPROBE_FILES).answer('perf_event_open', -Errno.ENOENT);
    expect(() => run(attachProgram(libc, prog('kprobe/no_such_fn')))).toThrow("prog 'handler': failed to create kprobe 'no_such_fn+0x0' perf event: -ENOENT");
    const error = (() => {
      try {
        run(attachProgram(new ScriptedLibc(), prog('kprobe/vfs_read')));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(LoaderError);
    expect((error as LoaderError).kind).toBe('unsupported');
    expect((error as LoaderError).errno).toBe(Errno.ENOENT);
  });
});

describe('tracepoints', () => {
  const files = { '/sys/kernel/tracing/events/syscalls/sys_enter_openat/id': '614\n' };

  it('reads the id from tracefs and opens PERF_TYPE_TRACEPOINT on pid -1, cpu 0', () => {
    const libc = new ScriptedLibc(files);
    const link = run(attachProgram(libc, prog('tracepoint/syscalls/sys_enter_openat'), { cookie: 5 }));
    expect(libc.calls).toEqual([
      ['open', '/sys/kernel/tracing/events/syscalls/sys_enter_openat/id', RDONLY],
      ['close', 10],
      ['perf_event_open', { type: PERF_TYPE.TRACEPOINT, config: 614, config1: undefined, config2: undefined }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC],
      ['LINK_CREATE', { prog_fd: 3, target_fd: 11, attach_type: BPF_ATTACH_TYPE.PERF_EVENT, bpf_cookie: 5n }],
      ['ioctl', 11, PERF_EVENT_IOC.ENABLE, 0],
    ]);
    expect(link.description).toBe("prog 'handler' at tracepoint 'syscalls/sys_enter_openat'");
  });

  it('takes tp/ as tracepoint/, and an unknown tracepoint is ENOENT from tracefs', () => {
    const libc = new ScriptedLibc(files);
    run(attachProgram(libc, prog('tp/syscalls/sys_enter_openat')));
    expect(libc.calls[2]?.[0]).toBe('perf_event_open');
    expect(() => run(attachProgram(new ScriptedLibc(files), prog('tp/syscalls/nope')))).toThrow(
      "prog 'handler': failed to determine tracepoint 'syscalls/nope' perf event ID: -ENOENT",
    );
    expect(() => run(attachProgram(new ScriptedLibc(files), prog('tp/nocategory')))).toThrow(/expected CATEGORY\/NAME/);
  });

  it('closes the perf event when enabling fails', () => {
    const libc = new ScriptedLibc(files).answer('ioctl', -Errno.EIO);
    expect(() => run(attachProgram(libc, prog('tp/syscalls/sys_enter_openat')))).toThrow(/failed to enable perf_event FD 11: -EIO/);
    expect(libc.calls.slice(-2)).toEqual([
      ['close', 12],
      ['close', 11],
    ]);
  });
});

describe('BPF links without perf events', () => {
  it('opens a raw tracepoint by name, with the cookie', () => {
    const libc = new ScriptedLibc();
    const link = run(attachProgram(libc, prog('raw_tp/sched_switch'), { cookie: 9n }));
    expect(libc.calls).toEqual([['RAW_TRACEPOINT_OPEN', { name: 'sched_switch', prog_fd: 3, cookie: 9n }]]);
    expect(link.fd).toBe(10);
    libc.calls.length = 0;
    run(link.destroy());
    expect(libc.calls).toEqual([['close', 10]]);
  });

  it('links fentry/fexit/tp_btf/lsm with their expected attach type, falling back to RAW_TRACEPOINT_OPEN on EINVAL', () => {
    const cases: [string, number][] = [
      ['fentry/vfs_read', BPF_ATTACH_TYPE.TRACE_FENTRY],
      ['fexit/vfs_read', BPF_ATTACH_TYPE.TRACE_FEXIT],
      ['fmod_ret/security_file_open', BPF_ATTACH_TYPE.MODIFY_RETURN],
      ['tp_btf/sched_switch', BPF_ATTACH_TYPE.TRACE_RAW_TP],
      ['lsm/file_open', BPF_ATTACH_TYPE.LSM_MAC],
    ];
    for (const [sec, type] of cases) {
      const libc = new ScriptedLibc();
      run(attachProgram(libc, prog(sec), { cookie: 2 }));
      expect(libc.calls).toEqual([['LINK_CREATE', { prog_fd: 3, target_fd: 0, attach_type: type, tracing_cookie: 2n }]]);
      const old = new ScriptedLibc().answer('LINK_CREATE', -Errno.EINVAL);
      run(attachProgram(old, prog(sec)));
      expect(old.calls).toEqual([
        ['LINK_CREATE', { prog_fd: 3, target_fd: 0, attach_type: type, tracing_cookie: 0n }],
        ['RAW_TRACEPOINT_OPEN', { name: 0, prog_fd: 3 }],
      ]);
    }
    // With a cookie there is no fallback (bpf_link_create: the options are not zeroed).
    expect(() => run(attachProgram(new ScriptedLibc().answer('LINK_CREATE', -Errno.EINVAL), prog('lsm/file_open'), { cookie: 1 }))).toThrow(
      "prog 'handler': failed to attach: -EINVAL",
    );
  });

  it('attaches xdp and tcx to opts.ifindex, and refuses without one', () => {
    const libc = new ScriptedLibc();
    run(attachProgram(libc, prog('xdp'), { ifindex: 2 }));
    run(attachProgram(libc, prog('tcx/ingress'), { ifindex: 2, flags: 8, relativeId: 4, expectedRevision: 3 }));
    run(attachProgram(libc, prog('tc/egress'), { ifindex: 3 }));
    expect(libc.calls).toEqual([
      ['LINK_CREATE', { prog_fd: 3, target_ifindex: 2, attach_type: BPF_ATTACH_TYPE.XDP }],
      ['LINK_CREATE', { prog_fd: 3, target_ifindex: 2, attach_type: BPF_ATTACH_TYPE.TCX_INGRESS, flags: 8, relative_id: 4, expected_revision: 3 }],
      ['LINK_CREATE', { prog_fd: 3, target_ifindex: 3, attach_type: BPF_ATTACH_TYPE.TCX_EGRESS, flags: 0, relative_fd: 0, expected_revision: 0 }],
    ]);
    expect(() => run(attachProgram(new ScriptedLibc(), prog('xdp')))).toThrow(/opts.ifindex/);
    expect(() => run(attachProgram(new ScriptedLibc(), prog('tcx/ingress'), { ifindex: 2, relativeFd: 5, relativeId: 6 }))).toThrow(
      /cannot be set at the same time/,
    );
    expect(() => run(attachProgram(new ScriptedLibc().answer('LINK_CREATE', -Errno.EBUSY), prog('xdp'), { ifindex: 2 }))).toThrow(
      "prog 'handler': failed to attach to xdp: -EBUSY",
    );
  });

  it('attaches the cgroup sections to opts.cgroupFd with their expected attach type (bpf_program__attach_cgroup)', () => {
    const libc = new ScriptedLibc();
    run(attachProgram(libc, prog('cgroup_skb/egress'), { cgroupFd: 5 }));
    run(attachProgram(libc, prog('cgroup/sock_create'), { cgroupFd: 6 }));
    expect(libc.calls).toEqual([
      ['LINK_CREATE', { prog_fd: 3, target_fd: 5, attach_type: BPF_ATTACH_TYPE.CGROUP_INET_EGRESS }],
      ['LINK_CREATE', { prog_fd: 3, target_fd: 6, attach_type: BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE }],
    ]);
    expect(() => run(attachProgram(new ScriptedLibc().answer('LINK_CREATE', -Errno.EBADF), prog('cgroup_skb/ingress'), { cgroupFd: 9 }))).toThrow(
      "prog 'handler': failed to attach to cgroup: -EBADF",
    );
  });

  it('attaches SEC("perf_event") to a given perf event fd, which the link then owns', () => {
    const libc = new ScriptedLibc();
    const link = run(attachProgram(libc, prog('perf_event'), { perfEventFd: 7, cookie: 1 }));
    expect(libc.calls).toEqual([
      ['LINK_CREATE', { prog_fd: 3, target_fd: 7, attach_type: BPF_ATTACH_TYPE.PERF_EVENT, bpf_cookie: 1n }],
      ['ioctl', 7, PERF_EVENT_IOC.ENABLE, 0],
    ]);
    expect(link.perfEventFd).toBe(7);
    expect(() => run(attachProgram(new ScriptedLibc(), prog('perf_event')))).toThrow(/opts.perfEventFd/);
  });
});

describe('sections that do not attach', () => {
  it('names the section and why', () => {
    expect(() => run(attachProgram(new ScriptedLibc(), prog('socket')))).toThrow(`prog 'handler': can't attach SEC("socket"): socket filters are attached`);
    expect(() => run(attachProgram(new ScriptedLibc(), prog('sk_skb')))).toThrow(`can't attach SEC("sk_skb"): libbpf has no attach function`);
    // bpf_program__attach_cgroup needs the cgroup.
    expect(() => run(attachProgram(new ScriptedLibc(), prog('cgroup/skb')))).toThrow('attaching to a cgroup needs the cgroup: opts.cgroupFd');
    expect(() => run(attachProgram(new ScriptedLibc(), prog('kprobe')))).toThrow(`SEC("kprobe") names no target`);
    expect(() => run(attachProgram(new ScriptedLibc(), prog('kprobe', 'h', -1)))).toThrow(/without FD/);
  });

  it('takes the target of a bare section from the options', () => {
    const libc = new ScriptedLibc({ '/sys/kernel/tracing/events/sched/sched_switch/id': '300\n' });
    run(attachProgram(libc, prog('tracepoint'), { target: 'sched/sched_switch' }));
    expect(libc.calls[2]?.[1]).toEqual({ type: PERF_TYPE.TRACEPOINT, config: 300, config1: undefined, config2: undefined });
  });

  it('auto-attaches what the skeleton would and skips the rest', () => {
    const libc = new ScriptedLibc({ '/sys/kernel/tracing/events/syscalls/sys_enter_execve/id': '700\n' });
    const programs = [
      prog('tp/syscalls/sys_enter_execve', 'on_exec'),
      prog('xdp', 'fw'),
      prog('socket', 'filter'),
      prog('kprobe', 'bare'),
      prog('raw_tp/sys_enter', 'raw'),
    ];
    const links = run(attachAll(libc, programs));
    expect([...links.keys()]).toEqual(['on_exec', 'raw']);
    expect(run(autoAttach(new ScriptedLibc(), prog('xdp')))).toBeUndefined();
  });

  it('destroys the links made so far when one fails', () => {
    const libc = new ScriptedLibc().answer('RAW_TRACEPOINT_OPEN', 10, -Errno.ENOENT);
    expect(() => run(attachAll(libc, [prog('raw_tp/a', 'a'), prog('raw_tp/b', 'b')]))).toThrow(
      "prog 'b': failed to auto-attach: prog 'b': failed to attach to raw tracepoint 'b': -ENOENT",
    );
    expect(libc.calls.at(-1)).toEqual(['close', 10]);
  });
});

describe('link handles', () => {
  it('pins (making the parent directory), unpins, updates, detaches and reads info', () => {
    const libc = new ScriptedLibc();
    const link = run(attachProgram(libc, prog('raw_tp/sched_switch')));
    libc.calls.length = 0;
    run(link.pin('/sys/fs/bpf/demo/raw'));
    expect(link.pinPath).toBe('/sys/fs/bpf/demo/raw');
    expect(() => run(link.pin('/sys/fs/bpf/other'))).toThrow(/already pinned/);
    run(link.update(4, BPF_F_REPLACE, 3));
    run(link.detach());
    const info = run(link.info());
    run(link.unpin());
    expect(libc.calls).toEqual([
      ['mkdir', '/sys/fs/bpf/demo', 0o700],
      ['pin', 10, '/sys/fs/bpf/demo/raw'],
      ['LINK_UPDATE', 10, 4, BPF_F_REPLACE, 3],
      ['LINK_DETACH', 10],
      ['LINK_INFO', 10],
      ['unlink', '/sys/fs/bpf/demo/raw'],
    ]);
    expect([info.typeName, info.id, info.progId]).toEqual(['perf_event', 4, 9]);
    expect(() => run(link.unpin())).toThrow(/not pinned/);
  });

  it('reports a refused detach with its errno, and opens a pinned link', () => {
    const libc = new ScriptedLibc().answer('LINK_DETACH', -Errno.EOPNOTSUPP);
    const link = run(openLink(libc, '/sys/fs/bpf/l'));
    expect([link.fd, link.pinPath]).toEqual([10, '/sys/fs/bpf/l']);
    expect(() => run(link.detach())).toThrow('link at /sys/fs/bpf/l: BPF_LINK_DETACH: -EOPNOTSUPP');
    expect(() => run(openLink(new ScriptedLibc().answer('obj_get', -Errno.ENOENT), '/x'))).toThrow('failed to open link at /x: -ENOENT');
  });

  it('leaves the attachment of a disconnected link alone', () => {
    const libc = new ScriptedLibc();
    const link = run(attachProgram(libc, prog('raw_tp/x')));
    link.disconnect();
    libc.calls.length = 0;
    run(link.destroy());
    expect(libc.calls).toEqual([]);
  });
});
