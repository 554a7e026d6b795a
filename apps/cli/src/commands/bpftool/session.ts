/**
 * The simulated kernel a bpftool-shaped command runs against: made fresh for the command (or for a whole batch
 * file) and gone when it ends. The command's steps run in order as one user process of that kernel, so what one
 * step creates (programs, maps, pins) is there for the next, as bpftool's batch mode keeps it.
 */
import { registerBpf, type BpfSyscall } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { Libc, type Sys, type UserProgram } from '@ebpf-sim/uapi';
import { CliError, type CliIo } from '../../command.js';

/** bpftool's output modes: plain text, `-j` (JSON on one line) and `-p` (JSON, pretty). */
export type OutputMode = 'plain' | 'json' | 'pretty';

/** What a step sees: the process's libc, the bpf subsystem (for what bpf() does not show: the JIT's image), the output. */
export interface StepContext {
  readonly libc: Libc;
  readonly bpf: BpfSyscall;
  readonly io: CliIo;
  readonly mode: OutputMode;
}

/** One command's work inside the kernel. It throws CliError for a failure the user should see. */
export type Step = (ctx: StepContext) => Sys<void>;

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

/**
 * Run `steps` in a fresh kernel, as root, and stop at the first failure: a CliError is rethrown (prefixed with
 * its step's place), anything else as well (main reports it as a bug). Returns the number of steps done.
 */
export function runSteps(steps: readonly PlacedStep[], io: CliIo, mode: OutputMode): number {
  const kernel = createKernel({ cpus: SIM_POSSIBLE_CPUS, memoryBytes: KERNEL_MEMORY_BYTES });
  const bpf = registerBpf(kernel);
  let failure: Error | undefined;
  let done = 0;
  const user: UserProgram = function* (uctx) {
    const ctx: StepContext = { libc: new Libc(uctx), bpf, io, mode };
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
