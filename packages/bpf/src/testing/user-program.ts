/** Run a test's user-space program as a process of a simulated kernel (tests only). */
import type { Kernel } from '@ebpf-sim/kernel';
import { Libc, type UserProgram } from '@ebpf-sim/uapi';
import { expect } from 'vitest';

/** Spawn `program` as `/bin/test` with `uid`, run the kernel until it is done, and check no process crashed. */
export function runUserProgram(kernel: Kernel, program: (libc: Libc) => Generator<number, void, number>, uid = 0): void {
  const user: UserProgram = function* (ctx) {
    yield* program(new Libc(ctx));
    return 0;
  };
  kernel.vfs.registerProgram('/bin/test', user);
  kernel.spawn('/bin/test', { uid });
  kernel.run({ untilNs: 10e9 });
  expect(kernel.crashes).toEqual([]);
}
