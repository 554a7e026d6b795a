/**
 * A fresh kernel with network devices and the bpf subsystem, running one root user program to its end: what
 * the XDP and tcx end-to-end tests drive (tests only: it reads the committed objects with node:fs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel, type Kernel, type KernelConfigInput } from '@ebpf-sim/kernel';
import { load, openObject, type LoadedObject } from '@ebpf-sim/loader';
import { Libc, type UserProgram } from '@ebpf-sim/uapi';
import { repoRoot } from '../repo.js';

/** The committed object `obj/NAME.bpf.o` of apps/cli/fixtures/attach. */
export function attachObject(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(repoRoot(), 'apps/cli/fixtures/attach/obj', `${name}.bpf.o`)));
}

/** Open and load an object with the loader, as libbpf's bpf_object__open + bpf_object__load (per-CPU values for `cpus`). */
export function* loadObject(libc: Libc, name: string, cpus: number): Generator<number, LoadedObject, number> {
  return yield* load(openObject(attachObject(name), { name }), libc, { possibleCpus: cpus });
}

/**
 * Make a kernel of `config`, let `setup` look at it (attach packet sources, ...), then run `body` as a root
 * process until it returns; rethrow what it throws and fail on a kernel crash.
 */
export function runInKernel(config: KernelConfigInput, body: (libc: Libc, kernel: Kernel) => Generator<number, void, number>): Kernel {
  const kernel = createKernel(config);
  registerBpf(kernel);
  let failure: unknown;
  let finished = false;
  const user: UserProgram = function* (ctx) {
    try {
      yield* body(new Libc(ctx), kernel);
      finished = true;
    } catch (error) {
      failure = error;
    }
    return 0;
  };
  kernel.vfs.registerProgram('/bin/attach-test', user);
  kernel.spawn('/bin/attach-test', { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  if (kernel.crashes.length > 0) throw new Error(`the simulated kernel crashed: ${JSON.stringify(kernel.crashes[0])}`);
  if (failure instanceof Error) throw failure;
  if (failure !== undefined) throw new Error(`the test program threw ${JSON.stringify(failure)}`);
  if (!finished) throw new Error('the test program did not finish');
  return kernel;
}
