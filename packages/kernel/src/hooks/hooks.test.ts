import {
  Errno,
  Libc,
  O,
  PT_REGS,
  SIG,
  SyscallNr,
  TCX_ACTION,
  TRACE_RAW_SYS_ENTER,
  TRACE_SCHED_PROCESS_EXEC,
  TRACE_SCHED_PROCESS_EXIT,
  TRACE_SCHED_PROCESS_FORK,
  TRACE_SCHED_SWITCH,
  TRACE_SCHED_WAKEUP,
  TRACE_SYSCALL_ENTER,
  TRACE_SYSCALL_EXIT,
  WTERMSIG,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../kernel.js';
import { runProgram } from '../testing/run-program.js';
import { readU64 } from './context-writer.js';
import type { HookInvocation } from './hook.js';
import { LSM_FILE_VIEW, LSM_TASK_VIEW } from './lsm.js';

const decoder = new TextDecoder();
const view = (inv: HookInvocation): DataView => inv.memory.view;
const cString = (inv: HookInvocation, address: number, max = 256): string => {
  const bytes = inv.memory.bytes;
  let end = address;
  while (end < address + max && bytes[end] !== 0) end++;
  return decoder.decode(bytes.subarray(address, end));
};

describe('hook registry', () => {
  it('defines tracepoints with the formats of Linux 6.18', () => {
    const { kernel } = runProgram(function* (ctx) {
      return yield* new Libc(ctx).getpid();
    });
    const openat = kernel.hooks.require('syscalls:sys_enter_openat');
    expect(openat.format()).toContain('\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;');
    expect(openat.format()).toContain('\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;');
    expect(openat.fields.map((f) => [f.name, f.offset])).toEqual([
      ['common_type', 0],
      ['common_flags', 2],
      ['common_preempt_count', 3],
      ['common_pid', 4],
      ['__syscall_nr', 8],
      ['dfd', 16],
      ['filename', 24],
      ['flags', 32],
      ['mode', 40],
    ]);
    const sw = kernel.hooks.require('sched:sched_switch');
    expect(sw.fields.map((f) => `${f.name}@${f.offset}`)).toEqual([
      'common_type@0',
      'common_flags@2',
      'common_preempt_count@3',
      'common_pid@4',
      'prev_comm@8',
      'prev_pid@24',
      'prev_prio@28',
      'prev_state@32',
      'next_comm@40',
      'next_pid@56',
      'next_prio@60',
    ]);
    expect(kernel.hooks.require('raw_syscalls:sys_enter').fields.at(-1)).toMatchObject({ name: 'args', offset: 16, size: 48 });
    expect(kernel.hooks.list('lsm').map((h) => h.name)).toEqual(['lsm:file_open', 'lsm:bprm_check_security', 'lsm:task_kill', 'lsm:bpf']);
    expect(kernel.hooks.get('kprobe:vfs_read')?.kind).toBe('kprobe');
    expect(kernel.hooks.get('kretprobe:__x64_sys_openat')?.kind).toBe('kretprobe');
    expect(() => kernel.hooks.require('kprobe:nope')).toThrow(/unknown hook point 'kprobe:nope'/);
  });

  it('costs nothing when nothing is attached: no hook fires', () => {
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      for (let i = 0; i < 10; i++) yield* libc.getpid();
      return 0;
    });
    expect(kernel.hooks.list().every((hook) => hook.fired === 0)).toBe(true);
    expect(kernel.hooks.syscallHandlers).toBe(0);
  });

  it('counts the syscall exit path apart: an entry hook alone leaves the exit check off, an exit hook turns it on', () => {
    const kernel = createKernel();
    const hooks = kernel.hooks;
    const detachEnter = hooks.require('raw_syscalls:sys_enter').attach(() => 0);
    expect([hooks.syscallHandlers, hooks.syscallExitHandlers]).toEqual([1, 0]);
    const detachExits = ['raw_syscalls:sys_exit', 'syscalls:sys_exit_getpid', 'kretprobe:__x64_sys_getpid'].map((name) => hooks.require(name).attach(() => 0));
    expect([hooks.syscallHandlers, hooks.syscallExitHandlers]).toEqual([4, 3]);
    for (const detach of [detachEnter, ...detachExits]) detach();
    expect([hooks.syscallHandlers, hooks.syscallExitHandlers]).toEqual([0, 0]);
  });
});

describe('syscall tracepoints and kprobes', () => {
  it('hand the handler the context address; user pointers in it read back through the task memory', () => {
    const seen: string[] = [];
    const setup = (k: Kernel): void => {
      k.hooks.require('syscalls:sys_enter_openat').attach((inv) => {
        const v = view(inv);
        const nr = v.getInt32(inv.ctx + TRACE_SYSCALL_ENTER.__syscall_nr, true);
        const filename = readU64(v, inv.ctx + 24);
        const path = new Uint8Array(32);
        inv.mm?.copyFromUser(filename, path, 0, 32);
        seen.push(
          `enter nr=${nr} pid=${v.getInt32(inv.ctx + 4, true)} type=${v.getUint16(inv.ctx, true) === inv.hook.id} path=${decoder.decode(path.subarray(0, path.indexOf(0)))} flags=${readU64(v, inv.ctx + 32)}`,
        );
        return 0;
      });
      k.hooks.require('syscalls:sys_exit_openat').attach((inv) => {
        seen.push(`exit ret=${readU64(view(inv), inv.ctx + TRACE_SYSCALL_EXIT.ret, true)}`);
        return 0;
      });
      k.hooks.require('raw_syscalls:sys_enter').attach((inv) => {
        const id = readU64(view(inv), inv.ctx + TRACE_RAW_SYS_ENTER.id, true);
        if (id === 999) seen.push(`raw id=999 arg0=${readU64(view(inv), inv.ctx + TRACE_RAW_SYS_ENTER.args)}`);
        return 0;
      });
      k.hooks.require('kprobe:__x64_sys_openat').attach((inv) => {
        const userRegs = readU64(view(inv), inv.ctx + PT_REGS.di);
        seen.push(`kprobe regs.orig_ax=${readU64(view(inv), userRegs + PT_REGS.orig_ax)} regs.dx=${readU64(view(inv), userRegs + PT_REGS.dx)}`);
        return 0;
      });
      k.hooks.require('kretprobe:do_sys_openat2').attach((inv) => {
        seen.push(`kretprobe ax=${readU64(view(inv), inv.ctx + PT_REGS.ax, true)}`);
        return 0;
      });
      k.hooks.require('kprobe:vfs_write').attach((inv) => {
        seen.push(`vfs_write count=${readU64(view(inv), inv.ctx + PT_REGS.dx)} comm=${inv.comm}`);
        return 0;
      });
    };
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const fd = yield* libc.open('/tmp/traced', O.CREAT | O.WRONLY);
        yield* libc.write(fd, 'abc');
        yield* libc.open('/missing');
        yield* libc.syscall(999, 42);
        return 0;
      },
      {},
      setup,
    );
    expect(seen).toEqual([
      `enter nr=${SyscallNr.openat} pid=1 type=true path=/tmp/traced flags=${O.CREAT | O.WRONLY}`,
      `kprobe regs.orig_ax=${SyscallNr.openat} regs.dx=${O.CREAT | O.WRONLY}`,
      'kretprobe ax=3',
      'exit ret=3',
      'vfs_write count=3 comm=test',
      `enter nr=${SyscallNr.openat} pid=1 type=true path=/missing flags=0`,
      `kprobe regs.orig_ax=${SyscallNr.openat} regs.dx=0`,
      `kretprobe ax=${-Errno.ENOENT}`,
      `exit ret=${-Errno.ENOENT}`,
      'raw id=999 arg0=42',
    ]);
  });

  it('sched tracepoints: sched_switch and sched_process_fork records', () => {
    const switches: string[] = [];
    const forks: string[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.fork(function* (c) {
          return (yield* new Libc(c).getpid()) === 2 ? 0 : 1;
        });
        yield* libc.wait4();
        return 0;
      },
      { cpus: 1 },
      (k) => {
        k.tracepoints.schedSwitch.attach((inv) => {
          const v = view(inv);
          const S = TRACE_SCHED_SWITCH;
          switches.push(
            `${cString(inv, inv.ctx + S.prev_comm, 16)}:${v.getInt32(inv.ctx + S.prev_pid, true)}(${readU64(v, inv.ctx + S.prev_state)}) -> ${cString(inv, inv.ctx + S.next_comm, 16)}:${v.getInt32(inv.ctx + S.next_pid, true)} prio=${v.getInt32(inv.ctx + S.next_prio, true)}`,
          );
          return 0;
        });
        k.tracepoints.processFork.attach((inv) => {
          const v = view(inv);
          const F = TRACE_SCHED_PROCESS_FORK;
          const loc = v.getUint32(inv.ctx + F.child_comm, true);
          forks.push(
            `${v.getInt32(inv.ctx + F.parent_pid, true)} -> ${v.getInt32(inv.ctx + F.child_pid, true)} child_comm=${cString(inv, inv.ctx + (loc & 0xffff), loc >>> 16)}`,
          );
          return 0;
        });
      },
    );
    expect(forks).toEqual(['1 -> 2 child_comm=test']);
    expect(switches).toEqual([
      'swapper/0:0(0) -> test:1 prio=120',
      'test:1(1) -> test:2 prio=120',
      'test:2(128) -> test:1 prio=120',
      'test:1(128) -> swapper/0:0 prio=120',
    ]);
  });
});

describe('process lifecycle tracepoints', () => {
  it('sched_process_exec carries the filename as __data_loc; sched_process_exit and sched_wakeup their task', () => {
    const events: string[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const child = yield* libc.fork(function* (c) {
          return yield* new Libc(c).execve('/bin/other');
        });
        yield* libc.wait4(child);
        return 0;
      },
      { cpus: 1 },
      (k) => {
        k.vfs.registerProgram('/bin/other', function* (ctx) {
          yield* new Libc(ctx).nanosleep(1000);
          return 3;
        });
        k.tracepoints.processExec.attach((inv) => {
          const v = view(inv);
          const E = TRACE_SCHED_PROCESS_EXEC;
          const loc = v.getUint32(inv.ctx + E.filename, true);
          events.push(`exec ${cString(inv, inv.ctx + (loc & 0xffff), loc >>> 16)} pid=${v.getInt32(inv.ctx + E.pid, true)} len=${loc >>> 16}`);
          return 0;
        });
        k.tracepoints.processExit.attach((inv) => {
          const v = view(inv);
          const X = TRACE_SCHED_PROCESS_EXIT;
          events.push(`exit ${cString(inv, inv.ctx + X.comm, 16)}:${v.getInt32(inv.ctx + X.pid, true)} group_dead=${v.getUint8(inv.ctx + X.group_dead)}`);
          return 0;
        });
        k.tracepoints.schedWakeup.attach((inv) => {
          const v = view(inv);
          const W = TRACE_SCHED_WAKEUP;
          events.push(`wakeup ${cString(inv, inv.ctx + W.comm, 16)}:${v.getInt32(inv.ctx + W.pid, true)} cpu=${v.getInt32(inv.ctx + W.target_cpu, true)}`);
          return 0;
        });
      },
    );
    expect(events).toEqual([
      'wakeup test:1 cpu=0',
      'wakeup test:2 cpu=0',
      'exec /bin/other pid=2 len=11',
      'wakeup other:2 cpu=0',
      'exit other:2 group_dead=1',
      'wakeup test:1 cpu=0',
      'exit test:1 group_dead=1',
    ]);
  });
});

describe('LSM hooks deny operations', () => {
  it('file_open returning -EPERM makes openat fail before O_TRUNC, and sees the path', () => {
    const paths: string[] = [];
    let result = 0;
    let size = -1;
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        result = yield* libc.open('/tmp/secret', O.CREAT | O.RDWR | O.TRUNC);
        const st = yield* libc.stat('/tmp/secret');
        size = st.ok ? st.value.size : -1;
        return 0;
      },
      {},
      (k) => {
        k.vfs.writeFile('/tmp/secret', 'keep me');
        k.hooks.require('lsm:file_open').attach((inv) => {
          const file = readU64(view(inv), inv.ctx);
          const path = cString(inv, file + LSM_FILE_VIEW.path);
          paths.push(path);
          return path.includes('secret') ? -Errno.EPERM : 0;
        });
      },
    );
    expect(result).toBe(-Errno.EPERM);
    expect(size).toBe(7);
    expect(paths).toEqual(['/tmp/secret']);
  });

  it('bprm_check_security denies execve; task_kill denies kill', () => {
    const r: number[] = [];
    const { status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        r.push(yield* libc.execve('/bin/blocked'));
        const child = yield* libc.fork(function* (c) {
          yield* new Libc(c).nanosleep(1_000_000);
          return 3;
        });
        r.push(yield* libc.kill(child, SIG.SIGTERM));
        r.push(yield* libc.kill(child, SIG.SIGKILL));
        const { status: childStatus } = yield* libc.wait4(child);
        r.push(WTERMSIG(childStatus));
        return 0;
      },
      {},
      (k) => {
        k.vfs.registerProgram('/bin/blocked', function* (ctx) {
          return yield* new Libc(ctx).getpid();
        });
        k.hooks.require('lsm:bprm_check_security').attach(() => -Errno.EACCES);
        k.hooks.require('lsm:task_kill').attach((inv) => {
          const sig = readU64(view(inv), inv.ctx + 16);
          const target = readU64(view(inv), inv.ctx);
          return sig === SIG.SIGTERM && view(inv).getInt32(target + LSM_TASK_VIEW.pid, true) === 2 ? -Errno.EPERM : 0;
        });
      },
    );
    expect(status).toBe(0);
    expect(r).toEqual([-Errno.EACCES, -Errno.EPERM, 0, SIG.SIGKILL]);
  });
});

describe('perf-event timer', () => {
  it('samples the running task every period only while a handler is attached', () => {
    const pids: number[] = [];
    const { kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.compute(10_000_000);
        return 0;
      },
      { perfSamplePeriodNs: 1_000_000 },
      (k) => {
        const detach = k.hooks.require('perf_event:cpu-clock').attach((inv) => {
          pids.push(inv.pid);
          if (pids.length === 5) detach();
          return 0;
        });
      },
    );
    expect(pids).toEqual([1, 1, 1, 1, 1]);
    expect(kernel.devices.timer.samples).toBe(5);
  });
});

describe('result rules', () => {
  it('runs tcx programs until one returns a verdict other than TCX_NEXT, as tcx_run does', () => {
    const { kernel } = runProgram(function* (ctx) {
      return yield* new Libc(ctx).getpid();
    });
    const ingress = kernel.hooks.define('tc:ingress:test0', 'tc', 8, []);
    const ran: string[] = [];
    const next = (name: string) => () => (ran.push(name), TCX_ACTION.NEXT);
    const detachFirst = ingress.attach(next('a'));
    const detachSecond = ingress.attach(next('b'));
    const fire = (): number => {
      const cpu = 0;
      const ctx = kernel.hookArena.begin(cpu, ingress.ctxSize);
      const result = kernel.hookArena.fire(ingress, ctx, cpu, undefined);
      kernel.hookArena.end(cpu, ingress.ctxSize);
      return result;
    };
    expect(fire()).toBe(TCX_ACTION.NEXT);
    expect(ran).toEqual(['a', 'b']);
    detachSecond();
    ingress.attach(() => (ran.push('drop'), TCX_ACTION.DROP));
    ingress.attach(next('never'));
    ran.length = 0;
    expect(fire()).toBe(TCX_ACTION.DROP);
    expect(ran).toEqual(['a', 'drop']);
    detachFirst();
  });
});
