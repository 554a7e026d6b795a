/**
 * The simulated kernel a bpftool-shaped command runs against: made fresh for the command (or for a whole batch
 * file) and gone when it ends. The command's steps run in order as one user process of that kernel, so what one
 * step creates (programs, maps, pins) is there for the next, as bpftool's batch mode keeps it.
 */
import { registerBpf, type BpfSyscall } from '@ebpf-sim/bpf';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { Libc, type Sys, type UserProgram } from '@ebpf-sim/uapi';
import { CliError, type CliIo } from '../../command.js';
import { SIM_NIC, WORKLOAD_PROGRAMS } from './workloads.js';

/** bpftool's output modes: plain text, `-j` (JSON on one line) and `-p` (JSON, pretty). */
export type OutputMode = 'plain' | 'json' | 'pretty';

/** What a step sees: the process's libc, the bpf subsystem (for what bpf() does not show: the JIT's image), the output. */
export interface StepContext {
  readonly libc: Libc;
  readonly bpf: BpfSyscall;
  readonly io: CliIo;
  readonly mode: OutputMode;
  /**
   * The kernel itself, for what is outside any process: traffic arriving on a NIC's wire (`workload run
   * packets`). Steps that stand for bpftool use only the libc.
   */
  readonly kernel: Kernel;
}

/** What a command asks of the kernel it runs in (`workload run ... seed N cpus N`): one kernel serves a whole batch. */
export interface KernelNeeds {
  readonly seed?: number;
  readonly cpus?: number;
}

/** One command's work inside the kernel. It throws CliError for a failure the user should see. */
export type Step = ((ctx: StepContext) => Sys<void>) & { readonly needs?: KernelNeeds };

/** A step with where it came from, for a batch file's error messages (`FILE:LINE: ...`). */
export interface PlacedStep {
  readonly step: Step;
  readonly where?: string;
}

/**
 * The simulated CPUs, which are also the possible CPUs (what libbpf reads from /sys/devices/system/cpu/possible to
 * size per-CPU values).
 */
export const SIM_POSSIBLE_CPUS = 1;

/** The program the steps run as. */
const PROGRAM_PATH = '/bin/bpftool';
/** The simulated kernel's memory: room for the largest maps the corpus creates. */
const KERNEL_MEMORY_BYTES = 256 * 1024 * 1024;

/** The kernel's configuration for a set of steps: the first seed asked for, the most CPUs asked for (at most NR_CPUS). */
function kernelConfig(steps: readonly PlacedStep[]): { seed?: number; cpus: number } {
  let seed: number | undefined;
  let cpus = SIM_POSSIBLE_CPUS;
  for (const { step } of steps) {
    seed ??= step.needs?.seed;
    cpus = Math.max(cpus, step.needs?.cpus ?? 0);
  }
  return seed === undefined ? { cpus } : { seed, cpus };
}

/**
 * Run `steps` in a fresh kernel, as root, and stop at the first failure: a CliError is rethrown (prefixed with
 * its step's place), anything else as well (main reports it as a bug). Returns the number of steps done.
 */
export function runSteps(steps: readonly PlacedStep[], io: CliIo, mode: OutputMode): number {
  const kernel = createKernel({ ...kernelConfig(steps), memoryBytes: KERNEL_MEMORY_BYTES, devices: { nics: [{ model: 'simple', name: SIM_NIC }] } });
  const bpf = registerBpf(kernel);
  // Every workload's programs, so that `workload run` can exec them.
  for (const [path, program] of WORKLOAD_PROGRAMS) kernel.vfs.registerProgram(path, program);
  let failure: Error | undefined;
  let done = 0;
  const user: UserProgram = function* (uctx) {
    const ctx: StepContext = { libc: new Libc(uctx), bpf, io, mode, kernel };
    for (const { step, where } of steps) {
      try {
        yield* step(ctx);
      } catch (error) {
        if (where !== undefined && error instanceof CliError) error.message = `${where}: ${error.message}`;
        failure = error instanceof Error ? error : new Error(String(error));
        return 1;
      }
      done++;
    }
    return 0;
  };
  kernel.vfs.registerProgram(PROGRAM_PATH, user);
  kernel.spawn(PROGRAM_PATH, { uid: 0 });
  kernel.run();
  if (failure !== undefined) throw failure;
  const crash = kernel.crashes[0];
  if (crash !== undefined) throw new Error(`the simulated kernel crashed: ${crash.message}`);
  if (done !== steps.length) throw new Error(`the simulated process stopped after ${done} of ${steps.length} steps`);
  return done;
}
