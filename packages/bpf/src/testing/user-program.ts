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

/** /proc/self/fdinfo/<fd> without the file's own first four lines (pos, flags, mnt_id, ino). */
export function* readFdinfo(libc: Libc, fd: number): Generator<number, string[], number> {
  const file = yield* libc.open(`/proc/self/fdinfo/${fd}`, 0);
  expect(file).toBeGreaterThanOrEqual(0);
  const text = yield* libc.readAll(file);
  yield* libc.close(file);
  if (!text.ok) throw new Error(`read fdinfo: ${text.errno}`);
  const lines = libc.decode(text.value).split('\n');
  expect(lines.slice(0, 4).map((line) => line.split(':')[0])).toEqual(['pos', 'flags', 'mnt_id', 'ino']);
  return lines.slice(4, -1);
}
