import { Libc, O, PT_REGS, SyscallNr } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';
import { TASK_STRUCT } from '../task/layout.js';
import { readU64 } from './context-writer.js';
import type { HookInvocation } from './hook.js';
import { fentryHookName, fexitHookName, RAW_TRACEPOINT_PROTOS, rawTracepointHookName } from './registry.js';

const slot = (inv: HookInvocation, index: number): number => readU64(inv.memory.view, inv.ctx + 8 * index);

describe('raw tracepoints: the TP_PROTO arguments as u64 slots', () => {
  it('every raw tracepoint is a hook of kind raw_tracepoint with one 8-byte slot per argument', () => {
    const { kernel } = runProgram(function* (ctx) {
      yield* new Libc(ctx).getpid();
      return 0;
    });
    for (const [name, proto] of Object.entries(RAW_TRACEPOINT_PROTOS)) {
      const hook = kernel.hooks.require(rawTracepointHookName(name));
      expect(hook.kind).toBe('raw_tracepoint');
      expect(hook.ctxSize).toBe(8 * proto.args.length);
      expect(hook.fields.map((f) => f.name)).toEqual(proto.args.map((a) => a.name));
    }
  });

  it('sys_enter(regs, id) and sys_exit(regs, ret): the saved user registers and the number or result', () => {
    const seen: string[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.getpid();
        yield* libc.close(77);
        return 0;
      },
      {},
      (kernel) => {
        kernel.hooks.require(rawTracepointHookName('sys_enter')).attach((inv) => {
          const regs = slot(inv, 0);
          seen.push(`enter id=${slot(inv, 1)} orig_ax=${readU64(inv.memory.view, regs + PT_REGS.orig_ax)} di=${readU64(inv.memory.view, regs + PT_REGS.di)}`);
          return 0;
        });
        kernel.hooks.require(rawTracepointHookName('sys_exit')).attach((inv) => {
          const regs = slot(inv, 0);
          seen.push(`exit ret=${inv.memory.view.getBigInt64(inv.ctx + 8, true)} ax=${inv.memory.view.getBigInt64(regs + PT_REGS.ax, true)}`);
          return 0;
        });
      },
    );
    // The program's getpid and close(77), then its exit_group (which does not return).
    expect(seen.slice(0, 4)).toEqual([
      `enter id=${SyscallNr.getpid} orig_ax=${SyscallNr.getpid} di=0`,
      expect.stringMatching(/^exit ret=\d+ ax=\d+$/),
      `enter id=${SyscallNr.close} orig_ax=${SyscallNr.close} di=77`,
      'exit ret=-9 ax=-9',
    ]);
  });

  it('sched_switch(preempt, prev, next, prev_state) and sched_process_fork(parent, child): task_struct addresses', () => {
    const switches: string[] = [];
    const forks: string[] = [];
    const { kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const child = yield* libc.fork(function* (childCtx) {
          yield* new Libc(childCtx).getpid();
          return 0;
        });
        yield* libc.wait4(child);
        return 0;
      },
      {},
      (k) => {
        k.hooks.require(rawTracepointHookName('sched_switch')).attach((inv) => {
          const pid = (address: number): number => inv.memory.view.getInt32(address + TASK_STRUCT.pid, true);
          switches.push(`${pid(slot(inv, 1))}->${pid(slot(inv, 2))}`);
          return 0;
        });
        k.hooks.require(rawTracepointHookName('sched_process_fork')).attach((inv) => {
          forks.push(`${inv.memory.view.getInt32(slot(inv, 0) + TASK_STRUCT.pid, true)}->${inv.memory.view.getInt32(slot(inv, 1) + TASK_STRUCT.pid, true)}`);
          return 0;
        });
      },
    );
    expect(forks).toEqual(['1->2']);
    // The idle task (pid 0) runs the parent, which waits for its child, which exits back to the parent. (The
    // switch after the parent's exit is left out: its task_struct is already released by then.)
    expect(switches.slice(0, 3)).toEqual(['0->1', '1->2', '2->1']);
    expect(kernel.hooks.require(rawTracepointHookName('sched_switch')).fired).toBe(switches.length);
  });
});

describe('BPF trampolines: fentry and fexit at the kprobe functions', () => {
  it('vfs_read: fentry gets (file, buf, count, pos); fexit the same and the return value after them', () => {
    const seen: string[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const fd = yield* libc.open('/tmp/t', O.CREAT | O.RDWR);
        yield* libc.write(fd, 'hello');
        yield* libc.close(fd);
        const again = yield* libc.open('/tmp/t');
        yield* libc.read(again, 32);
        return 0;
      },
      {},
      (kernel) => {
        kernel.hooks.require(fentryHookName('vfs_read')).attach((inv) => {
          seen.push(`fentry size=${inv.ctxSize} count=${slot(inv, 2)} buf=${slot(inv, 1) !== 0}`);
          return 0;
        });
        kernel.hooks.require(fexitHookName('vfs_read')).attach((inv) => {
          seen.push(`fexit size=${inv.ctxSize} count=${slot(inv, 2)} ret=${slot(inv, 4)}`);
          return 0;
        });
        kernel.hooks.require(fexitHookName('__x64_sys_getpid'));
      },
    );
    expect(seen).toEqual(['fentry size=32 count=32 buf=true', 'fexit size=40 count=32 ret=5']);
  });

  it('__x64_sys_<name>: one argument, the saved user registers; fexit adds the result', () => {
    const seen: string[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.close(55);
        return 0;
      },
      {},
      (kernel) => {
        kernel.hooks.require(fentryHookName('__x64_sys_close')).attach((inv) => {
          seen.push(`fentry di=${readU64(inv.memory.view, slot(inv, 0) + PT_REGS.di)}`);
          return 0;
        });
        kernel.hooks.require(fexitHookName('__x64_sys_close')).attach((inv) => {
          seen.push(`fexit ret=${inv.memory.view.getBigInt64(inv.ctx + 8, true)}`);
          return 0;
        });
      },
    );
    expect(seen).toEqual(['fentry di=55', 'fexit ret=-9']);
  });
});
