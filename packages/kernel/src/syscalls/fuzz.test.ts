import fc from 'fast-check';
import { Libc, PAGE_SIZE, SIG, SYSCALL_SPECS, SyscallNr, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../kernel.js';
import { TaskState } from '../task/task.js';
import { registerValue } from '../testing/register-values.js';

/** Syscalls the fuzzer calls (exit and exit_group only end the sequence, so they are left out). */
const FUZZED = [...SYSCALL_SPECS.values()].filter((s) => s.name !== 'exit' && s.name !== 'exit_group').map((s) => s.nr);

/** Sometimes a pointer into the caller's own stack, so handlers get past EFAULT and run their logic. */
const argument = (stackTop: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 3, arbitrary: registerValue },
    { weight: 2, arbitrary: fc.integer({ min: stackTop - 64 * 1024, max: stackTop - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 12 }) },
  );

const call = fc.record({
  nr: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...FUZZED) }, { weight: 1, arbitrary: registerValue }),
  args: fc.array(argument(0x7ffe_0000_0000), { minLength: 6, maxLength: 6 }),
  child: fc.boolean(),
});

describe('syscall fuzzing', () => {
  it('random arguments to every syscall never throw, always return a value or -errno, and leave the kernel consistent', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 40 }), fc.nat({ max: 2 ** 32 - 1 }), fc.boolean(), (calls, seed, hooked) => {
        const k = createKernel({ seed, cpus: 2, memoryBytes: 16 << 20 });
        let hookCalls = 0;
        if (hooked) {
          // Every hook point gets a handler: the context builders run on random arguments too. (Not the perf
          // timer: it would sample for the whole run; it has its own test.)
          for (const hook of k.hooks.list().filter((h) => h.kind !== 'perf_event')) {
            hook.attach((inv) => {
              hookCalls++;
              expect(inv.ctx + inv.ctxSize).toBeLessThanOrEqual(inv.memory.bytes.length);
              return 0;
            });
          }
        }
        const results: number[] = [];
        const child: UserProgram = function* (ctx) {
          yield* new Libc(ctx).nanosleep(1000);
          return 0;
        };
        k.vfs.writeFile('/tmp/data', 'some file contents');
        k.vfs.registerProgram('/bin/fuzz', function* (ctx) {
          const libc = new Libc(ctx);
          for (const { nr, args, child: withChild } of calls) {
            ctx.cloneEntry = withChild ? child : undefined;
            results.push(yield* libc.syscall(nr, ...args));
          }
          return 0;
        });
        const pid = k.spawn('/bin/fuzz');
        k.run({ untilNs: 5e9 });
        // Whatever is still alive (sleeping for a random timespec, waiting for a child) is killed.
        for (const task of [...k.tasks.values()]) if (task.state !== TaskState.ZOMBIE && task.state !== TaskState.DEAD) k.sendSignal(task, SIG.SIGKILL);
        k.run({ untilNs: 10e9 });
        for (const ret of results) {
          expect(Number.isInteger(ret)).toBe(true);
          if (ret < 0) expect(ret).toBeGreaterThanOrEqual(-4095);
        }
        expect(k.crashes).toEqual([]);
        expect(k.alive).toBe(0);
        expect(k.exited.has(pid)).toBe(true);
        // Every page is accounted for, and every process's memory went back to the allocator.
        const used = k.phys.usage().reduce((n, u) => n + u.pages, 0);
        expect(used + k.phys.freePages).toBe(k.phys.totalPages);
        expect(k.phys.usage().filter((u) => u.owner.startsWith('mm:'))).toEqual([]);
        expect(k.hookArena.invocation.ctx % 8).toBe(0);
        if (hooked) expect(hookCalls).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it('survives a fork bomb-like burst and a getpid storm within limits', () => {
    const k = createKernel({ memoryBytes: 16 << 20 });
    k.limits.maxTasks = 64;
    const results: number[] = [];
    k.vfs.registerProgram('/bin/forker', function* (ctx) {
      const libc = new Libc(ctx);
      for (let i = 0; i < 100; i++) {
        results.push(
          yield* libc.fork(function* (c) {
            yield* new Libc(c).nanosleep(1_000_000);
            return 0;
          }),
        );
      }
      for (;;) if ((yield* libc.wait4()).pid < 0) break;
      return 0;
    });
    k.spawn('/bin/forker');
    k.run();
    expect(results.filter((r) => r === -11)).toHaveLength(100 - 63);
    expect(k.alive).toBe(0);
    expect(k.phys.usage().filter((u) => u.owner.startsWith('mm:'))).toEqual([]);
    expect(PAGE_SIZE).toBe(4096);
    expect(SyscallNr.fork).toBe(57);
  });
});
