/**
 * BPF_PROG_TEST_RUN against Linux: fixtures/test-run/script.txt's programs (LLVM assembly) and cases were run
 * through Linux 6.18's bpf() by fixtures/test-run/rebuild.sh (test-run-script.c, root, libbpf) into
 * linux-results.txt; here the same programs are verified, rewritten and run by the simulator's test run and
 * must print the recorded line for every case: errno, retval, data_size_out, data_out, ctx_size_out, ctx_out.
 * No clang, root or kernel needed to replay.
 */
import { readFileSync } from 'node:fs';
import { assembleLlvm } from '@ebpf-sim/isa';
import { Errno } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_SKB,
  FLOW_DISSECTOR,
  LWT_IN,
  LWT_OUT,
  LWT_SEG6LOCAL,
  LWT_XMIT,
  RAW_TRACEPOINT,
  SCHED_ACT,
  SCHED_CLS,
  SK_REUSEPORT,
  SK_SKB,
  SOCKET_FILTER,
  XDP,
} from '../prog-types/index.js';
import { scriptBuffer as buffer, scriptHex as hex } from '../testing/script-buffers.js';
import { testRunHarness, type TestRunHarness } from '../testing/test-run-harness.js';
import type { TestRunProgram } from './types.js';

const FIXTURES = new URL('../../fixtures/test-run/', import.meta.url);
const SCRIPT = readFileSync(new URL('script.txt', FIXTURES), 'utf8').split('\n');
const RESULTS = readFileSync(new URL('linux-results.txt', FIXTURES), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('run '));

const TYPES: Readonly<Record<string, ProgramTypeDesc>> = Object.fromEntries(
  [XDP, SCHED_CLS, SOCKET_FILTER, SCHED_ACT, LWT_IN, LWT_OUT, LWT_XMIT, LWT_SEG6LOCAL, CGROUP_SKB, SK_SKB, FLOW_DISSECTOR, SK_REUSEPORT]
    .map((t) => [t.name, t] as const)
    .concat([['raw_tp', RAW_TRACEPOINT]]),
);

/**
 * Cases the simulator answers differently on purpose, with its answer: what Linux does there is not modelled.
 * - BPF_F_TEST_XDP_LIVE_FRAMES sends frames through a page pool and the real transmit path: refused.
 * - BPF_F_TEST_SKB_CHECKSUM_COMPLETE needs skb->csum kept by every helper: the skbs are CHECKSUM_NONE, so refused.
 */
const NOT_MODELLED: ReadonlyMap<string, number> = new Map([
  ['run pass data=seq:64 flags=2', -Errno.EOPNOTSUPP],
  ['run tc_pass data=seq:64 flags=4', -Errno.EINVAL],
]);

const OUT_BUFFER = 1 << 17;

/** One case, as test-run-script.c runs it through libbpf's bpf_prog_test_run_opts. */
function runCase(h: TestRunHarness, progs: ReadonlyMap<string, TestRunProgram>, line: string): string {
  const [, name = '', ...keys] = line.split(' ');
  const prog = progs.get(name);
  if (prog === undefined) throw new Error(`no program ${name}`);
  const opts: Record<string, string> = Object.fromEntries(keys.map((k) => [k.slice(0, k.indexOf('=')), k.slice(k.indexOf('=') + 1)]));
  const data = opts.data === undefined ? undefined : buffer(opts.data);
  const ctx = opts.ctx === undefined ? undefined : buffer(opts.ctx);
  const dataHint = Number(opts.data_size_out ?? 0);
  const ctxHint = Number(opts.ctx_size_out ?? 0);
  const hasDataOut = data !== undefined && data.length > 0 && opts.no_data_out === undefined;
  const hasCtxOut = opts.ctx_size_out !== undefined;
  const dataOut = h.user.place(new Uint8Array(OUT_BUFFER).fill(0xee));
  const ctxOut = h.user.place(new Uint8Array(OUT_BUFFER).fill(0xee));
  const attr = {
    repeat: Number(opts.repeat ?? 0),
    flags: Number(opts.flags ?? 0),
    cpu: Number(opts.cpu ?? 0),
    ...(data !== undefined && data.length > 0 ? { data_in: h.user.place(data), data_size_in: data.length } : {}),
    ...(hasDataOut ? { data_out: dataOut, data_size_out: dataHint } : {}),
    ...(ctx !== undefined ? { ctx_in: h.user.place(ctx), ctx_size_in: ctx.length } : {}),
    ...(hasCtxOut ? { ctx_out: ctxOut, ctx_size_out: ctxHint } : {}),
  };
  const { ret, out } = h.testRun(prog, attr);
  // libbpf reads the attr back: fields the kernel did not write keep what was passed in.
  const dataSizeOut = out.data_size_out ?? attr.data_size_out ?? 0;
  const ctxSizeOut = out.ctx_size_out ?? attr.ctx_size_out ?? 0;
  const copied = ret === 0 || ret === -Errno.ENOSPC;
  const dataShown = copied && hasDataOut ? (dataHint !== 0 && dataHint < dataSizeOut ? dataHint : dataSizeOut) : 0;
  const ctxShown = copied && hasCtxOut ? Math.min(ctxHint, ctxSizeOut) : 0;
  const retval = (out.retval ?? 0).toString(16);
  return `${line} -> ret=${ret} retval=0x${retval} data_size_out=${dataSizeOut} data_out=${hex(h.user.read(dataOut, dataShown))} ctx_size_out=${ctxSizeOut} ctx_out=${hex(h.user.read(ctxOut, ctxShown))}`;
}

function loadPrograms(h: TestRunHarness): Map<string, TestRunProgram> {
  const progs = new Map<string, TestRunProgram>();
  for (let i = 0; i < SCRIPT.length; i++) {
    const line = SCRIPT[i] ?? '';
    if (!line.startsWith('prog ')) continue;
    const [, name = '', type = ''] = line.split(' ');
    const body: string[] = [];
    while ((SCRIPT[++i] ?? 'end') !== 'end') body.push(SCRIPT[i] ?? '');
    const desc = TYPES[type];
    if (desc === undefined) throw new Error(`unknown program type ${type}`);
    progs.set(name, h.load(desc, assembleLlvm(body.join('\n'))));
  }
  return progs;
}

describe('BPF_PROG_TEST_RUN replays Linux 6.18', () => {
  // The recording machine's CPU count (linux-results.txt's first line): raw_tp's BPF_F_TEST_RUN_ON_CPU cases name CPU 1.
  const h = testRunHarness({ cpus: 2 });
  const progs = loadPrograms(h);
  const cases = SCRIPT.filter((line) => line.startsWith('run '));

  it('recorded every case of the script', () => {
    expect(RESULTS.map((line) => line.slice(0, line.indexOf(' -> ')))).toEqual(cases);
  });

  it('prints the recorded line for every modelled case', () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const recorded of RESULTS) {
      const line = recorded.slice(0, recorded.indexOf(' -> '));
      if (NOT_MODELLED.has(line)) continue;
      h.user.reset();
      got.push(runCase(h, progs, line));
      want.push(recorded);
    }
    expect(got).toEqual(want);
  });

  it('answers the cases it does not model with its documented errno', () => {
    for (const [line, errno] of NOT_MODELLED) {
      h.user.reset();
      expect(runCase(h, progs, line)).toMatch(new RegExp(` -> ret=${errno} `));
    }
  });

  it('leaves kernel memory as it found it', () => {
    const before = h.kernel.phys.usageOf('bpf-test-run').bytes;
    for (const recorded of RESULTS) {
      h.user.reset();
      runCase(h, progs, recorded.slice(0, recorded.indexOf(' -> ')));
    }
    expect(h.kernel.phys.usageOf('bpf-test-run').bytes).toBe(before);
    expect(before).toBe(0);
  });
});
