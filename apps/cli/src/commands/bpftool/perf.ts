/**
 * bpftool's `perf show` (tools/bpf/bpftool/perf.c): every process's fds that run a BPF program at a tracepoint,
 * kprobe or raw tracepoint, found with BPF_TASK_FD_QUERY over each pid and fd. bpftool first checks the kernel
 * answers the query (has_perf_query_support: ENOTSUPP for an fd with nothing attached). The fds are listed from
 * /proc/PID/fdinfo (bpftool lists /proc/PID/fd; the model's procfs has the fdinfo directory).
 */
import { BPF_FD_TYPE, ENOTSUPP, O, strerror, type Libc, type Sys } from '@ebpf-sim/uapi';
import { CliError } from '../../command.js';
import { jsonWriter } from './print.js';
import type { Verb } from './verb.js';

/** The name buffer bpftool passes (char buf[4096]). */
const BUF_LEN = 4096;

interface FdQuery {
  readonly progId: number;
  readonly fdType: number;
  readonly name: string;
  readonly probeOffset: bigint;
  readonly probeAddr: bigint;
}

/** bpf_task_fd_query: what `fd` of `pid` runs, or -errno. */
function* taskFdQuery(libc: Libc, pid: number, fd: number): Sys<FdQuery | number> {
  const mark = libc.stack.mark();
  try {
    const buf = libc.stack.alloca(BUF_LEN);
    const { ret, attr } = yield* libc.bpfAttr('TASK_FD_QUERY', { pid, fd, flags: 0, buf_len: BUF_LEN, buf });
    if (ret < 0) return ret;
    const bytes = libc.stack.readBytes(buf, Math.min(BUF_LEN, attr.buf_len + 1));
    const nul = bytes.indexOf(0);
    return {
      progId: attr.prog_id,
      fdType: attr.fd_type,
      name: new TextDecoder().decode(bytes.subarray(0, nul < 0 ? bytes.length : nul)),
      probeOffset: BigInt(attr.probe_offset),
      probeAddr: BigInt(attr.probe_addr),
    };
  } finally {
    libc.stack.release(mark);
  }
}

/** The names in a directory that are all digits, as numbers (pids in /proc, fds in /proc/PID/fdinfo). */
function* numericEntries(libc: Libc, path: string): Sys<number[]> {
  const dir = yield* libc.open(path, O.RDONLY | O.DIRECTORY);
  if (dir < 0) return [];
  const listing = yield* libc.readdir(dir);
  yield* libc.close(dir);
  if (!listing.ok) return [];
  return listing.value.filter((e) => /^\d+$/.test(e.name)).map((e) => Number(e.name));
}

/** print_perf_plain's line and print_perf_json's fields for one fd. */
function describe(pid: number, fd: number, q: FdQuery): { plain: string; fields: [string, string | number | bigint][] } {
  const head: [string, string | number | bigint][] = [
    ['pid', pid],
    ['fd', fd],
    ['prog_id', q.progId],
  ];
  const plain = `pid ${pid}  fd ${fd}: prog_id ${q.progId}  `;
  switch (q.fdType) {
    case BPF_FD_TYPE.RAW_TRACEPOINT:
    case BPF_FD_TYPE.TRACEPOINT: {
      const kind = q.fdType === BPF_FD_TYPE.TRACEPOINT ? 'tracepoint' : 'raw_tracepoint';
      return { plain: `${plain}${kind}  ${q.name}\n`, fields: [...head, ['fd_type', kind], ['tracepoint', q.name]] };
    }
    case BPF_FD_TYPE.KPROBE:
    case BPF_FD_TYPE.KRETPROBE: {
      const kind = q.fdType === BPF_FD_TYPE.KPROBE ? 'kprobe' : 'kretprobe';
      if (q.name !== '')
        return {
          plain: `${plain}${kind}  func ${q.name}  offset ${q.probeOffset}\n`,
          fields: [...head, ['fd_type', kind], ['func', q.name], ['offset', q.probeOffset]],
        };
      return { plain: `${plain}${kind}  addr ${q.probeAddr}\n`, fields: [...head, ['fd_type', kind], ['addr', q.probeAddr]] };
    }
    case BPF_FD_TYPE.UPROBE:
    case BPF_FD_TYPE.URETPROBE: {
      const kind = q.fdType === BPF_FD_TYPE.UPROBE ? 'uprobe' : 'uretprobe';
      return {
        plain: `${plain}${kind}  filename ${q.name}  offset ${q.probeOffset}\n`,
        fields: [...head, ['fd_type', kind], ['filename', q.name], ['offset', q.probeOffset]],
      };
    }
    default:
      // bpftool prints the head alone (no newline) for a type it does not know.
      return { plain, fields: head };
  }
}

const showVerb: Verb = {
  name: 'perf show',
  summary: 'List the processes whose perf event or raw tracepoint fds run BPF programs, as bpftool perf show',
  synopsis: '',
  description: `For every process and fd, ask BPF_TASK_FD_QUERY what it runs and print "pid P  fd F: prog_id N  tracepoint
NAME" (kprobe func NAME offset O, raw_tracepoint NAME...), as bpftool perf show (or JSON).`,
  parse(words) {
    words.end();
    return function* (ctx) {
      const { libc } = ctx;
      // has_perf_query_support: an fd with nothing attached must give ENOTSUPP.
      const root = yield* libc.open('/', O.RDONLY);
      if (root < 0) throw new CliError(`perf_query_support: cannot open directory "/" (${strerror(-root)})`);
      const probe = yield* taskFdQuery(libc, yield* libc.getpid(), root);
      yield* libc.close(root);
      if (probe !== -ENOTSUPP) {
        ctx.io.err("HINT: non root or kernel doesn't support TASK_FD_QUERY\n");
        throw new CliError(`perf_query_support: ${typeof probe === 'number' ? strerror(-probe) : 'Success'}`);
      }
      const shown: ReturnType<typeof describe>[] = [];
      for (const pid of yield* numericEntries(libc, '/proc')) {
        for (const fd of yield* numericEntries(libc, `/proc/${pid}/fdinfo`)) {
          const q = yield* taskFdQuery(libc, pid, fd);
          if (typeof q !== 'number') shown.push(describe(pid, fd, q));
        }
      }
      if (ctx.mode === 'plain') {
        ctx.io.out(shown.map((s) => s.plain).join(''));
        return;
      }
      const w = jsonWriter(ctx.mode);
      w.startArray();
      for (const s of shown) {
        w.startObject();
        for (const [name, value] of s.fields) {
          w.name(name);
          if (typeof value === 'string') w.string(value);
          else w.raw(String(value));
        }
        w.endObject();
      }
      w.endArray();
      ctx.io.out(w.finish());
    };
  },
};

export const PERF_VERBS: readonly Verb[] = [showVerb];
