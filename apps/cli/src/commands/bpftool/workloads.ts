/**
 * `workload run NAME [seed N] [jobs N] [cpus N]`: run one of the kernel's workloads to completion in the
 * commands' kernel, so that programs attached by earlier lines see it, then print what bpf_trace_printk wrote to
 * trace_pipe meanwhile. The workloads are a registry (name → programs to register, and how to run it): the
 * shell pipeline (user processes), packet traffic (UDP frames arriving on the NIC's wire) and TCP clients and a
 * server over loopback.
 */
import { consumer, NET_PROGRAMS, netClient, netLoad, netServer, producer, shell, SHELL_PROGRAMS } from '@ebpf-sim/kernel/demo';
import { udpFlowSource, type NicStats } from '@ebpf-sim/kernel';
import { Errno, Libc, O, WEXITSTATUS, WIFEXITED, strerror, type Sys, type UserProgram } from '@ebpf-sim/uapi';
import { CliError, UsageError } from '../../command.js';
import type { KernelNeeds, Step, StepContext } from './session.js';
import type { Verb } from './verb.js';

/** The NIC the commands' kernel has, for `net attach ... dev eth0` and packet traffic (ifindex 2, as Linux's first NIC after lo). */
export const SIM_NIC = 'eth0';

/** How a workload is run: `jobs` is its size (pipelines, frames / 100...). */
export interface WorkloadRun {
  readonly jobs: number;
}

export interface Workload {
  readonly name: string;
  readonly summary: string;
  /** Default `jobs`. */
  readonly jobs: number;
  /** Programs the kernel must have at these paths (registered in every commands' kernel). */
  readonly programs: Readonly<Record<string, UserProgram>>;
  /** Run it to completion from the commands' process; returns one line saying how it went. */
  run(ctx: StepContext, run: WorkloadRun): Sys<string>;
}

/** fork + execve `path` with `argv`, then wait for it: the exit status (or a CliError). */
function* runProgram(libc: Libc, path: string, argv: readonly string[]): Sys<number> {
  const pid = yield* libc.fork(function* (child) {
    return yield* new Libc(child).execve(path, argv);
  });
  if (pid < 0) throw new CliError(`fork: ${strerror(-pid)}`);
  const { pid: reaped, status } = yield* libc.wait4(pid, 0);
  if (reaped < 0) throw new CliError(`wait4: ${strerror(-reaped)}`);
  return status;
}

const shellWorkload: Workload = {
  name: 'shell',
  summary: '/bin/sh runs JOBS pipelines `producer | consumer` (files, pipes, sleeps, fork/exec/wait)',
  jobs: 4,
  programs: { [SHELL_PROGRAMS.sh]: shell, [SHELL_PROGRAMS.producer]: producer, [SHELL_PROGRAMS.consumer]: consumer },
  *run(ctx, { jobs }) {
    const status = yield* runProgram(ctx.libc, SHELL_PROGRAMS.sh, ['sh', String(jobs)]);
    const exit = WIFEXITED(status) ? `exited with ${WEXITSTATUS(status)}` : `ended by signal ${status & 0x7f}`;
    return `workload shell: ${jobs} pipelines, ${jobs * 2 + 1} processes, /bin/sh ${exit}`;
  },
};

/** Frames per job of the packet workload, and their spacing on the wire. */
const FRAMES_PER_JOB = 100;
const FRAME_GAP_NS = 10_000;

const packetWorkload: Workload = {
  name: 'packets',
  summary: `JOBS x ${FRAMES_PER_JOB} UDP frames from 10.0.0.2-5 to 10.0.1.1 arrive on ${SIM_NIC}, ${FRAME_GAP_NS / 1000} us apart`,
  jobs: 1,
  programs: {},
  *run(ctx, { jobs }) {
    const nic = ctx.kernel.devices.net(SIM_NIC);
    if (nic === undefined) throw new CliError(`no device ${SIM_NIC}`);
    const count = jobs * FRAMES_PER_JOB;
    const before = { ...nic.stats };
    const startNs = ctx.kernel.clock.now + FRAME_GAP_NS;
    nic.attachSource(udpFlowSource(ctx.kernel.random, { count, intervalNs: FRAME_GAP_NS, startNs }));
    // The process sleeps while the frames arrive (the NIC's interrupts and NAPI polls run meanwhile).
    yield* ctx.libc.nanosleep(FRAME_GAP_NS * (count + 10));
    const after = nic.stats;
    const counted = (key: keyof NicStats): number => after[key] - before[key];
    const xdp = XDP_VERDICTS.map(([key, word]) => `${counted(key)} ${word}`).join(', ');
    return `workload packets: ${count} frames sent to ${SIM_NIC}, ${counted('rxPackets')} received; XDP: ${xdp}`;
  },
};

/** The NIC's XDP verdict counters, as the packet workload reports them. */
const XDP_VERDICTS: readonly (readonly [keyof NicStats, string])[] = [
  ['xdpPass', 'passed'],
  ['xdpDrop', 'dropped'],
  ['xdpTx', 'sent back'],
  ['xdpRedirect', 'redirected'],
  ['xdpAborted', 'aborted'],
];

/** The workloads by name. */
/** Requests each client of the client/server workload makes. */
const REQUESTS_PER_CLIENT = 4;

const clientServerWorkload: Workload = {
  name: 'clientserver',
  summary: `/bin/netload starts a TCP server on 127.0.0.1:8080 and JOBS clients that connect, make ${REQUESTS_PER_CLIENT} requests each and close`,
  jobs: 4,
  programs: { [NET_PROGRAMS.load]: netLoad, [NET_PROGRAMS.server]: netServer, [NET_PROGRAMS.client]: netClient },
  *run(ctx, { jobs }) {
    const status = yield* runProgram(ctx.libc, NET_PROGRAMS.load, ['netload', String(jobs), String(REQUESTS_PER_CLIENT), '8080', 'tcp']);
    const exit = WIFEXITED(status) ? `exited with ${WEXITSTATUS(status)}` : `ended by signal ${status & 0x7f}`;
    return `workload clientserver: ${jobs} TCP clients x ${REQUESTS_PER_CLIENT} requests to 127.0.0.1:8080, /bin/netload ${exit}`;
  },
};

export const WORKLOADS: ReadonlyMap<string, Workload> = new Map([shellWorkload, packetWorkload, clientServerWorkload].map((w) => [w.name, w]));

/** Every workload's programs, by path (registered in each commands' kernel). */
export const WORKLOAD_PROGRAMS: ReadonlyMap<string, UserProgram> = new Map([...WORKLOADS.values()].flatMap((w) => Object.entries(w.programs)));

/** What trace_pipe holds now, without waiting (O_NONBLOCK: EAGAIN once it is empty). */
export function* drainTracePipe(libc: Libc): Sys<string> {
  const fd = yield* libc.open('/sys/kernel/tracing/trace_pipe', O.RDONLY | O.NONBLOCK);
  if (fd < 0) return '';
  let text = '';
  for (;;) {
    const { ret, data } = yield* libc.read(fd, 4096);
    if (ret <= 0) {
      if (ret < 0 && ret !== -Errno.EAGAIN) text += `(trace_pipe: ${strerror(-ret)})\n`;
      break;
    }
    text += new TextDecoder().decode(data);
  }
  yield* libc.close(fd);
  return text;
}

const MAX_JOBS = 10_000;

const runVerb: Verb = {
  name: 'workload run',
  summary: "Run one of the kernel's workloads to completion in the same kernel, then show trace_pipe",
  synopsis: 'NAME [seed N] [jobs N] [cpus N]',
  description: `Run a workload (${[...WORKLOADS.values()].map((w) => `${w.name}: ${w.summary}`).join('; ')}) to completion in the
kernel of the command (of the whole batch file), so that the programs attached before see it; then print what they wrote
with bpf_trace_printk (trace_pipe lines). seed and cpus configure the kernel the batch runs in (the first seed given, the
most CPUs asked for); jobs sizes the workload.`,
  parse(words) {
    const name = words.next(`a workload (${[...WORKLOADS.keys()].join(', ')})`);
    const workload = WORKLOADS.get(name);
    if (workload === undefined) throw new UsageError(`unknown workload '${name}': expected ${[...WORKLOADS.keys()].join(', ')}`);
    let jobs = workload.jobs;
    let needs: KernelNeeds = {};
    while (!words.done) {
      const keyword = words.next('a keyword');
      if (keyword === 'jobs') jobs = Math.max(1, words.uint('jobs', MAX_JOBS));
      else if (keyword === 'seed') needs = { ...needs, seed: words.uint('seed', 0xffff_ffff) };
      else if (keyword === 'cpus') {
        const cpus = words.uint('cpus', 64);
        if (cpus < 1) throw new UsageError("can't parse cpus '0' (a number from 1 to 64)");
        needs = { ...needs, cpus };
      } else throw new UsageError(`unknown keyword '${keyword}': expected seed, jobs or cpus`);
    }
    const step = function* (ctx: StepContext): Sys<void> {
      const line = yield* workload.run(ctx, { jobs });
      const printed = yield* drainTracePipe(ctx.libc);
      if (ctx.mode === 'plain') ctx.io.out(`${line}\n${printed}`);
      else
        ctx.io.out(
          `${JSON.stringify({ workload: workload.name, jobs, summary: line, trace_pipe: printed.split('\n').filter((l) => l !== '') }, null, ctx.mode === 'pretty' ? 4 : undefined)}\n`,
        );
    };
    return Object.assign(step, { needs }) satisfies Step;
  },
};

export const WORKLOAD_VERBS: readonly Verb[] = [runVerb];
