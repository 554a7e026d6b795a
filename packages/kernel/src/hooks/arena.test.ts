import { Errno, Libc, PT_REGS, SyscallNr, TRACE_SYSCALL_ENTER } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../mm/physmem.js';
import { runProgram } from '../testing/run-program.js';
import { HOOK_MAX_NESTING, HookArena } from './arena.js';
import { readU64 } from './context-writer.js';
import { HookProgram, type HookInvocation, type HookPoint } from './hook.js';
import { HookRegistry } from './registry.js';

/** A registry and an arena for two CPUs, with no kernel around them. */
function setup(): { hooks: HookRegistry; arena: HookArena } {
  return { hooks: new HookRegistry(), arena: new HookArena(new PhysicalMemory(1 << 20), 2, { now: 0 }) };
}

/** Fire `hook` on `cpu` with a fresh pt_regs-sized context whose first word is `marker`; returns the result. */
function fire(arena: HookArena, hook: HookPoint, cpu: number, marker: number): number {
  const ctx = arena.begin(cpu, PT_REGS.size);
  arena.write.u64(ctx, marker);
  const result = arena.fire(hook, ctx, cpu, undefined);
  arena.end(cpu, PT_REGS.size);
  return result;
}

/** What a handler can see of its own record. */
const snapshot = (inv: HookInvocation): string => `${inv.hook.name}@${inv.cpu}/${inv.level} ctx=${inv.ctx} marker=${readU64(inv.memory.view, inv.ctx)}`;

describe('hooks that nest', () => {
  it('a hook fired inside a handler gets its own record: the outer handler finds its record and context intact', () => {
    const { hooks, arena } = setup();
    const outer = hooks.require('kprobe:vfs_read');
    const inner = hooks.require('kprobe:vfs_write');
    const seen: string[] = [];
    inner.attach((inv) => {
      seen.push(`inner ${snapshot(inv)}`);
      inv.redirectIfindex = 9;
      return 5;
    });
    outer.attach((inv) => {
      const before = snapshot(inv);
      const result = fire(arena, inner, inv.cpu, 222);
      seen.push(`inner returned ${result}, completed record redirect=${arena.completed(inv.cpu).redirectIfindex}`);
      expect(snapshot(inv)).toBe(before);
      expect(inv.redirectIfindex).toBe(0);
      seen.push(`outer ${before}`);
      return 0;
    });
    fire(arena, outer, 1, 111);
    expect(seen.map((line) => line.replace(/ctx=\d+ /, ''))).toEqual([
      'inner kprobe:vfs_write@1/1 marker=222',
      'inner returned 5, completed record redirect=9',
      'outer kprobe:vfs_read@1/0 marker=111',
    ]);
    expect(arena.nesting(1)).toBe(0);
    expect(arena.used(1)).toBe(0);
  });

  it('refuses to nest deeper than HOOK_MAX_NESTING, with the context stack and levels unwound', () => {
    const { hooks, arena } = setup();
    const hook = hooks.require('kprobe:vfs_read');
    // With no recursion guard, a handler that fires its own hook nests until the kernel refuses.
    hook.attach(new HookProgram((inv) => fire(arena, hook, inv.cpu, inv.level + 1), 'none'));
    expect(() => fire(arena, hook, 0, 0)).toThrow(`hooks nested ${HOOK_MAX_NESTING} deep on CPU 0: cannot fire kprobe:vfs_read`);
    expect(arena.nesting(0)).toBe(0);
  });
});

describe('recursion: a program is not re-entered on the same CPU', () => {
  it('a handler that fires its own hook is not run again on that CPU, the miss is counted, and another CPU runs it', () => {
    const { hooks, arena } = setup();
    const hook = hooks.require('kprobe:vfs_read');
    const runs: string[] = [];
    const program = new HookProgram((inv) => {
      runs.push(`cpu${inv.cpu} level${inv.level}`);
      if (inv.cpu === 0) {
        fire(arena, hook, 0, 0);
        fire(arena, hook, 1, 0);
      }
      return 0;
    });
    hook.attach(program);
    fire(arena, hook, 0, 0);
    // The nested firing on CPU 0 ran nothing; CPU 1 ran it, at level 0 there.
    expect(runs).toEqual(['cpu0 level0', 'cpu1 level0']);
    expect(program.recursionMisses).toBe(1);
    expect(program.runs).toBe(2);
    expect(hook.fired).toBe(3);
    // The guard is down again: the next firing on CPU 0 runs it.
    fire(arena, hook, 0, 0);
    expect(program.runs).toBe(4);
    expect(program.recursionMisses).toBe(2);
  });

  it('prog->active is per program: the same program on two hooks does not run inside itself; another program does', () => {
    const { hooks, arena } = setup();
    const enter = hooks.require('kprobe:vfs_read');
    const exit = hooks.require('kretprobe:vfs_read');
    const order: string[] = [];
    const both = new HookProgram((inv) => {
      order.push(`both ${inv.hook.name}`);
      if (inv.hook === enter) fire(arena, exit, inv.cpu, 0);
      return 0;
    }, 'program');
    const other = new HookProgram((inv) => {
      order.push(`other ${inv.hook.name}`);
      return 0;
    });
    enter.attach(both);
    exit.attach(both);
    exit.attach(other);
    fire(arena, enter, 0, 0);
    expect(order).toEqual(['both kprobe:vfs_read', 'other kretprobe:vfs_read']);
    expect([both.recursionMisses, other.recursionMisses]).toEqual([1, 0]);
  });

  it("the 'cpu' guard is bpf_prog_active: while one guarded program runs, no guarded program starts on that CPU", () => {
    const { hooks, arena } = setup();
    const outer = hooks.require('kprobe:vfs_read');
    const inner = hooks.require('kprobe:vfs_write');
    const ran: string[] = [];
    const tracer = new HookProgram(() => {
      ran.push('tracer');
      return 0;
    }, 'cpu');
    const rawTracepoint = new HookProgram(() => {
      ran.push('raw tracepoint');
      return 0;
    }, 'program');
    inner.attach(tracer);
    inner.attach(rawTracepoint);
    outer.attach(
      new HookProgram((inv) => {
        fire(arena, inner, inv.cpu, 0);
        return 0;
      }, 'cpu'),
    );
    fire(arena, outer, 0, 0);
    expect(ran).toEqual(['raw tracepoint']);
    expect(tracer.recursionMisses).toBe(1);
    // Outside any guarded program both run; raising bpf_prog_active (a map update from a syscall) blocks the guarded one.
    fire(arena, inner, 0, 0);
    arena.bpfProgActive[0] = 1;
    fire(arena, inner, 0, 0);
    arena.bpfProgActive[0] = 0;
    expect(ran).toEqual(['raw tracepoint', 'tracer', 'raw tracepoint', 'raw tracepoint']);
    expect(tracer.recursionMisses).toBe(2);
  });

  it('in a running kernel: a sys_enter handler whose helper fires the same tracepoint again is not re-entered', () => {
    const seen: number[] = [];
    let program: HookProgram | undefined;
    const { kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.getpid();
        return yield* libc.close(99);
      },
      {},
      (k) => {
        const hook = k.hooks.require('syscalls:sys_enter_close');
        program = new HookProgram((inv) => {
          seen.push(readU64(inv.memory.view, inv.ctx + TRACE_SYSCALL_ENTER.args));
          // As a helper would: build the same tracepoint's record and fire it on this CPU.
          const ctx = k.hookArena.begin(inv.cpu, hook.ctxSize);
          k.hookArena.write.traceEntry(ctx, hook.id, inv.pid);
          k.hookArena.write.u64(ctx + TRACE_SYSCALL_ENTER.args, 42);
          k.hookArena.fire(hook, ctx, inv.cpu, k.current.currentTask());
          k.hookArena.end(inv.cpu, hook.ctxSize);
          return 0;
        });
        hook.attach(program);
      },
    );
    expect(seen).toEqual([99]);
    expect(program?.recursionMisses).toBe(1);
    expect(kernel.syscalls.get(SyscallNr.close)?.calls).toBe(1);
    expect(kernel.exited.get(1)?.status).toBe((-Errno.EBADF & 0xff) << 8);
  });
});
