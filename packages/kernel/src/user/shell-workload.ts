/**
 * A shell-like test workload, written as user space: it imports only @ebpf-sim/uapi and reaches the kernel
 * only through syscalls. `/bin/sh` runs N jobs; each job is a pipeline `producer | consumer`:
 *  - producer (forked, then execve /bin/producer) writes a file, reads it back, computes, streams it into
 *    the pipe in chunks with short sleeps, and exits;
 *  - consumer (forked, then execve /bin/consumer) reads the pipe to end of file, computes per chunk, writes
 *    what it got to its own file and reports on the console.
 * The parent waits for every child and exits with the number of failed children. Sizes and compute times
 * come from getrandom, so they follow the kernel seed.
 */
import { Libc, O, WEXITSTATUS, WIFEXITED, type Sys, type UserContext, type UserProgram } from '@ebpf-sim/uapi';

/** Paths the workload's programs must be registered at. */
export const SHELL_PROGRAMS = { sh: '/bin/sh', producer: '/bin/producer', consumer: '/bin/consumer' } as const;

function* randomBelow(libc: Libc, bound: number): Sys<number> {
  const bytes = yield* libc.getrandom(4);
  if (!bytes.ok) return 0;
  const view = new DataView(bytes.value.buffer, bytes.value.byteOffset, 4);
  return view.getUint32(0, true) % bound;
}

function argInt(ctx: UserContext, index: number, fallback: number): number {
  const value = Number(ctx.argv[index]);
  return Number.isFinite(value) ? value : fallback;
}

/** /bin/producer <job> <outfd>: write a file, read it back, then stream it to <outfd>. */
export const producer: UserProgram = function* (ctx) {
  const libc = new Libc(ctx);
  const job = argInt(ctx, 1, 0);
  const out = argInt(ctx, 2, 1);
  const size = 2048 + (yield* randomBelow(libc, 8192));
  const path = `/tmp/job${job}.in`;
  const fd = yield* libc.open(path, O.CREAT | O.TRUNC | O.RDWR, 0o644);
  if (fd < 0) return 10;
  const payload = new Uint8Array(size);
  for (let index = 0; index < size; index++) payload[index] = (index * 31 + job) & 0xff;
  if ((yield* libc.write(fd, payload)) !== size) return 11;
  if ((yield* libc.lseek(fd, 0, 0)) !== 0) return 12;
  const back = yield* libc.readAll(fd, 1024);
  yield* libc.close(fd);
  if (!back.ok || back.value.length !== size) return 13;
  yield* libc.compute(2_000_000 + (yield* randomBelow(libc, 8_000_000)));
  for (let offset = 0; offset < size; offset += 1024) {
    const chunk = back.value.subarray(offset, Math.min(size, offset + 1024));
    if ((yield* libc.write(out, chunk)) !== chunk.length) return 14;
    yield* libc.compute(50_000);
    if (offset % 4096 === 0) yield* libc.nanosleep(200_000 + (yield* randomBelow(libc, 500_000)));
  }
  yield* libc.close(out);
  return 0;
};

/** /bin/consumer <job> <infd>: read the pipe to EOF, compute per chunk, save and report. */
export const consumer: UserProgram = function* (ctx) {
  const libc = new Libc(ctx);
  const job = argInt(ctx, 1, 0);
  const input = argInt(ctx, 2, 0);
  let total = 0;
  let checksum = 0;
  const fd = yield* libc.open(`/tmp/job${job}.out`, O.CREAT | O.TRUNC | O.WRONLY, 0o644);
  if (fd < 0) return 20;
  for (;;) {
    const { ret, data } = yield* libc.read(input, 1500);
    if (ret < 0) return 21;
    if (ret === 0) break;
    for (const byte of data) checksum = (checksum * 33 + byte) >>> 0;
    total += ret;
    yield* libc.compute(100_000 + ret * 200);
    if ((yield* libc.write(fd, data)) !== ret) return 22;
  }
  yield* libc.close(fd);
  const pid = yield* libc.getpid();
  yield* libc.write(1, `job ${job}: consumer ${pid} read ${total} bytes, checksum ${checksum.toString(16)}\n`);
  return 0;
};

/** /bin/sh <jobs>: start every pipeline, then reap all children. */
export const shell: UserProgram = function* (ctx) {
  const libc = new Libc(ctx);
  const jobs = argInt(ctx, 1, 4);
  let children = 0;
  for (let job = 0; job < jobs; job++) {
    const pipe = yield* libc.pipe();
    if (!pipe.ok) return 100;
    const [readEnd, writeEnd] = pipe.value;
    const producerPid = yield* libc.fork(function* (child) {
      const c = new Libc(child);
      yield* c.close(readEnd);
      return yield* c.execve(SHELL_PROGRAMS.producer, ['producer', String(job), String(writeEnd)]);
    });
    const consumerPid = yield* libc.fork(function* (child) {
      const c = new Libc(child);
      yield* c.close(writeEnd);
      return yield* c.execve(SHELL_PROGRAMS.consumer, ['consumer', String(job), String(readEnd)]);
    });
    if (producerPid < 0 || consumerPid < 0) return 101;
    children += 2;
    yield* libc.close(readEnd);
    yield* libc.close(writeEnd);
    yield* libc.compute(20_000);
  }
  let failed = 0;
  for (let reaped = 0; reaped < children; reaped++) {
    const { pid, status } = yield* libc.wait4(-1, 0);
    if (pid < 0) return 102;
    if (!WIFEXITED(status) || WEXITSTATUS(status) !== 0) failed++;
  }
  yield* libc.write(1, `sh: ${children} children done, ${failed} failed\n`);
  return failed;
};
