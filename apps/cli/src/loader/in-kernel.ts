/**
 * The loader's end-to-end tests run as a user program of a fresh simulated kernel with the bpf subsystem (the
 * loader may not depend on the kernel: layering.json). Test support only, imported by `*.test.ts`.
 */
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { Libc, type UserProgram } from '@ebpf-sim/uapi';
import { expect } from 'vitest';

/** Run `body` as the program at `path` (its comm is the path's last part) of a fresh kernel; fail on a kernel crash. */
export function inKernel(body: (libc: Libc) => Generator<number, void, number>, path = '/bin/test'): ReturnType<typeof registerBpf> {
  const kernel = createKernel({ cpus: 1 });
  const bpf = registerBpf(kernel);
  let failure: Error | undefined;
  let finished = false;
  const user: UserProgram = function* (ctx) {
    try {
      yield* body(new Libc(ctx));
      finished = true;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    return 0;
  };
  kernel.vfs.registerProgram(path, user);
  kernel.spawn(path, { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  expect(kernel.crashes).toEqual([]);
  if (failure !== undefined) throw failure;
  expect(finished).toBe(true);
  return bpf;
}
