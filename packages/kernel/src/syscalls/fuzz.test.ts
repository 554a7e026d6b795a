import fc from 'fast-check';
import { Errno, Libc, SIG, SYSCALL_SPECS, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import type { File } from '../fs/file.js';
import { createKernel, type Kernel } from '../kernel.js';
import { TaskState } from '../task/task.js';
import { registerValue } from '../testing/register-values.js';

/** Every errno Linux defines: a negative result must be one of them. */
const ERRNOS = new Set<number>(Object.values(Errno));

/** A syscall's result as user space sees it: a non-negative value, or the negative of an errno. */
function expectSyscallResult(ret: unknown): void {
  expect(typeof ret).toBe('number');
  expect(Number.isInteger(ret)).toBe(true);
  if ((ret as number) < 0) expect(ERRNOS.has(-(ret as number)), `${String(ret)} is not -errno`).toBe(true);
}

/** What must hold between events, whatever the syscalls did. */
function expectConsistent(k: Kernel): void {
  // Memory accounting: every page frame is free or charged to exactly one owner.
  const used = k.phys.usage().reduce((n, u) => n + u.pages, 0);
  expect(used + k.phys.freePages).toBe(k.phys.totalPages);
  // Descriptor tables: each open file is referenced exactly as often as descriptors point at it (a table
  // shared with CLONE_FILES counted once), and no table holds more than its limit.
  const tables = new Set([...k.groups.values()].map((group) => group.files));
  const refs = new Map<File, number>();
  for (const table of tables) {
    expect(table.openCount).toBeLessThanOrEqual(table.limit);
    for (const [, file] of table.entries()) refs.set(file, (refs.get(file) ?? 0) + 1);
  }
  for (const [file, count] of refs) expect(file.refs, `${file.path} refs`).toBe(count);
  // Hook contexts: nothing is left on any CPU's context stack, and no hook is still running.
  for (let cpu = 0; cpu < k.config.cpus; cpu++) {
    expect(k.hookArena.used(cpu)).toBe(0);
    expect(k.hookArena.nesting(cpu)).toBe(0);
  }
}

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
        expectConsistent(k);
        // Whatever is still alive (sleeping for a random timespec, waiting for a child) is killed.
        for (const task of [...k.tasks.values()]) if (task.state !== TaskState.ZOMBIE && task.state !== TaskState.DEAD) k.signals.send(task, SIG.SIGKILL);
        k.run({ untilNs: 10e9 });
        // Every call came back with a number (a value or -errno), unless the process was killed first.
        expect(results.length).toBeLessThanOrEqual(calls.length);
        for (const ret of results) expectSyscallResult(ret);
        expect(k.stats.syscalls).toBeGreaterThanOrEqual(results.length);
        expect(k.crashes).toEqual([]);
        expect(k.alive).toBe(0);
        expect(k.exited.has(pid)).toBe(true);
        expectConsistent(k);
        // Every process's memory and descriptors went back: no address space is charged, no table holds a file.
        expect(k.phys.usage().filter((u) => u.owner.startsWith('mm:'))).toEqual([]);
        for (const group of k.groups.values()) expect(group.files.openCount).toBe(0);
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
    // The task limit (64) counts the forker: 63 children start, the other forks fail with EAGAIN.
    expect(results.filter((r) => r > 1)).toHaveLength(63);
    expect(results.filter((r) => r === -Errno.EAGAIN)).toHaveLength(100 - 63);
    expect(k.alive).toBe(0);
    expect(k.phys.usage().filter((u) => u.owner.startsWith('mm:'))).toEqual([]);
    expectConsistent(k);
  });
});
