/**
 * The socket and cgroup program types against Linux: fixtures/sock-progs/script.txt's programs (LLVM assembly)
 * were loaded into Linux 6.18 with their expected attach types and flags, and its test runs made, by
 * fixtures/sock-progs/rebuild.sh (sock-progs-script.c, root, libbpf) into linux-results.txt. Here the same
 * programs go through the simulated kernel's bpf(): each load must give Linux's errno and, for a verifier
 * refusal, Linux's reason as a line of the log (the simulator's log adds a hint line, so the whole log is not
 * compared); each test run must print Linux's line (errno, retval, ctx_size_out, ctx_out, and ctx_in after the
 * call, which a SYSCALL program writes back). No clang, root or kernel needed to replay.
 */
import { readFileSync } from 'node:fs';
import { assembleLlvm, encodeProgram } from '@ebpf-sim/isa';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_OBJ_NAME_LEN, BPF_PROG_TYPE, Libc, type BpfProgTypeName, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { scriptBuffer as buffer, scriptHex as hex } from '../testing/script-buffers.js';

const FIXTURES = new URL('../../fixtures/sock-progs/', import.meta.url);
const SCRIPT = readFileSync(new URL('script.txt', FIXTURES), 'utf8').split('\n');
const RESULTS = readFileSync(new URL('linux-results.txt', FIXTURES), 'utf8').split('\n');

interface ScriptProg {
  readonly name: string;
  readonly progType: number;
  readonly attach: number;
  readonly flags: number;
  readonly insns: Uint8Array;
}

function parseScript(): { progs: ScriptProg[]; runs: string[] } {
  const progs: ScriptProg[] = [];
  const runs: string[] = [];
  for (let i = 0; i < SCRIPT.length; i++) {
    const line = SCRIPT[i] ?? '';
    if (line.startsWith('run ')) runs.push(line);
    if (!line.startsWith('prog ')) continue;
    const [, name = '', type = '', attach = '0', flags = '0'] = line.split(' ');
    const body: string[] = [];
    while ((SCRIPT[++i] ?? 'end') !== 'end') body.push(SCRIPT[i] ?? '');
    const progType = BPF_PROG_TYPE[type.toUpperCase() as BpfProgTypeName];
    progs.push({ name, progType, attach: Number(attach), flags: Number(flags), insns: encodeProgram(assembleLlvm(body.join('\n'))) });
  }
  return { progs, runs };
}

interface Outcome {
  readonly loads: Map<string, { ret: number; log: string }>;
  readonly runs: string[];
}

/** Every load and run of the script through the simulated kernel's bpf(), as root. */
function replay(): Outcome {
  const { progs, runs } = parseScript();
  const outcome: Outcome = { loads: new Map(), runs: [] };
  const kernel = createKernel({ cpus: 2 });
  registerBpf(kernel);
  const user: UserProgram = function* (ctx) {
    const libc = new Libc(ctx);
    const fds = new Map<string, number>();
    for (const p of progs) {
      const loaded = yield* libc.bpfProgLoad({
        progType: p.progType,
        insns: p.insns,
        license: 'GPL',
        // libbpf cuts the name to what fits in prog_name (BPF_OBJ_NAME_LEN with its NUL).
        name: p.name.slice(0, BPF_OBJ_NAME_LEN - 1),
        expectedAttachType: p.attach,
        progFlags: p.flags,
        logLevel: 1,
        logSize: 65536,
      });
      outcome.loads.set(p.name, { ret: loaded.ret < 0 ? loaded.ret : 0, log: loaded.log });
      if (loaded.ret >= 0) fds.set(p.name, loaded.ret);
    }
    for (const line of runs) {
      const [, name = '', ...options] = line.split(' ');
      const spec: { ctx?: Uint8Array; data?: Uint8Array; ctxOutSize?: number; repeat?: number; flags?: number } = {};
      for (const option of options) {
        const [key, value = ''] = option.split('=', 2) as [string, string?];
        const rest = option.slice(key.length + 1);
        if (key === 'ctx') spec.ctx = buffer(rest);
        else if (key === 'data') spec.data = buffer(rest);
        else if (key === 'ctx_size_out') spec.ctxOutSize = Number(value);
        else if (key === 'repeat') spec.repeat = Number(value);
        else if (key === 'flags') spec.flags = Number(value);
        else throw new Error(`bad key ${key}`);
      }
      const r = yield* libc.bpfProgTestRun(fds.get(name) ?? -1, spec);
      outcome.runs.push(
        `${line} -> ret=${r.ret} retval=0x${(r.retval >>> 0).toString(16)} ctx_size_out=${r.ctxSizeOut} ctx_out=${hex(r.ctxOut)} ctx_in=${hex(r.ret === 0 ? r.ctxIn : new Uint8Array(0))}`,
      );
    }
    for (const fd of fds.values()) yield* libc.close(fd);
    return 0;
  };
  kernel.vfs.registerProgram('/bin/sock-progs', user);
  kernel.spawn('/bin/sock-progs', { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  return outcome;
}

const LINUX_LOADS = RESULTS.filter((line) => line.startsWith('load ')).map((line) => {
  const m = /^load (\S+) -> ret=(-?\d+)(?: log=(.*))?$/.exec(line);
  if (m === null) throw new Error(`bad result line ${line}`);
  const logLines = (m[3] ?? '').split(' | ');
  // The verifier's reason: the line before its closing statistics (none when the load failed before the verifier ran).
  const stats = logLines.findIndex((l) => l.startsWith('processed '));
  return { name: m[1] ?? '', ret: Number(m[2]), reason: stats > 0 ? logLines[stats - 1] : stats === 0 ? null : undefined };
});
const LINUX_RUNS = RESULTS.filter((line) => line.startsWith('run '));

describe('socket and cgroup program types beside Linux 6.18', () => {
  const ours = replay();

  it.each(LINUX_LOADS.map((l) => [l.name, l] as const))('load %s', (name, linux) => {
    const load = ours.loads.get(name);
    expect(load?.ret, load?.log).toBe(linux.ret);
    if (linux.ret === 0) return;
    if (linux.reason === undefined) {
      // Refused before the verifier ran (bpf_prog_load_check_attach): no log.
      expect(load?.log).toBe('');
    } else if (linux.reason !== null) {
      expect(load?.log.split('\n')).toContain(linux.reason);
    }
  });

  it('runs every test-run case as Linux did', () => {
    expect(ours.runs).toEqual(LINUX_RUNS);
  });
});
