/**
 * The task_struct, cred and mm_struct of each task in kernel memory, read back at the offsets of layout.ts as
 * a program's probe_read_kernel would: identity at fork, comm and mm at execve, parents, state, and memory
 * that goes back when the tasks are gone.
 */
import { CLONE, Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../kernel.js';
import { runProgram } from '../testing/run-program.js';
import { ATOMIC, CRED, EXIT_ZOMBIE, KUID, MM_STRUCT, PF_IDLE, TASK_INTERRUPTIBLE, TASK_RUNNING, TASK_STRUCT } from './layout.js';

/** What a program would read of the task_struct at `at`. */
function readTask(kernel: Kernel, at: number) {
  const view = kernel.phys.view;
  const ptr = (off: number): number => Number(view.getBigUint64(at + off, true));
  const comm = kernel.phys.bytes.subarray(at + TASK_STRUCT.comm, at + TASK_STRUCT.comm + 16);
  const cred = ptr(TASK_STRUCT.cred);
  return {
    state: view.getUint32(at + TASK_STRUCT.__state, true),
    exitState: view.getInt32(at + TASK_STRUCT.exit_state, true),
    flags: view.getUint32(at + TASK_STRUCT.flags, true),
    pid: view.getInt32(at + TASK_STRUCT.pid, true),
    tgid: view.getInt32(at + TASK_STRUCT.tgid, true),
    comm: new TextDecoder().decode(comm.subarray(0, comm.indexOf(0))),
    realParent: ptr(TASK_STRUCT.real_parent),
    groupLeader: ptr(TASK_STRUCT.group_leader),
    mm: ptr(TASK_STRUCT.mm),
    cred,
    uid: cred === 0 ? -1 : view.getUint32(cred + CRED.uid + KUID.val, true),
    euid: cred === 0 ? -1 : view.getUint32(cred + CRED.euid + KUID.val, true),
    mmUsers: ptr(TASK_STRUCT.mm) === 0 ? 0 : view.getInt32(ptr(TASK_STRUCT.mm) + MM_STRUCT.mm_users + ATOMIC.counter, true),
  };
}

/** Memory charged to the task caches, by owner. */
const slabUsage = (kernel: Kernel): Record<string, number> =>
  Object.fromEntries(kernel.phys.usage().flatMap((c) => (c.owner.startsWith('slab:') ? [[c.owner, c.bytes]] : [])));

describe('task_struct in kernel memory', () => {
  it('boots one idle task per CPU, swapper/N with pid 0, the current task of an idle CPU', () => {
    const kernel = createKernel({ cpus: 2 });
    const [idle0 = 0, idle1 = 0] = kernel.taskStructs.idle;
    expect(readTask(kernel, idle0)).toMatchObject({ pid: 0, tgid: 0, comm: 'swapper/0', flags: expect.any(Number) as number, realParent: idle0, uid: 0 });
    expect(readTask(kernel, idle1)).toMatchObject({ pid: 0, comm: 'swapper/1', realParent: idle0 });
    expect(readTask(kernel, idle0).flags & PF_IDLE).toBe(PF_IDLE);
    // Kernel threads have no mm; they borrow init_mm as active_mm.
    expect(readTask(kernel, idle1).mm).toBe(0);
    expect(Number(kernel.phys.view.getBigUint64(idle1 + TASK_STRUCT.active_mm, true))).toBe(kernel.taskStructs.initMm);
    expect(kernel.current.currentTaskStruct(0)).toBe(idle0);
    expect(kernel.current.currentTaskStruct(1)).toBe(idle1);
  });

  it('holds pid, tgid, comm, parents, cred and mm, kept current through fork, clone, execve, sleep and exit', () => {
    const seen: Record<string, ReturnType<typeof readTask>> = {};
    let kernel!: Kernel;
    const self = (name: string): void => {
      seen[name] = readTask(kernel, kernel.current.currentTaskStruct(0));
    };
    ({ kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        self('parent');
        const child = yield* libc.fork(function* (c) {
          self('child');
          yield* new Libc(c).execve('/bin/other');
          return 1;
        });
        const flags = CLONE.VM | CLONE.FS | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD;
        yield* libc.clone(flags, function* (c) {
          self('thread');
          // Returning from a thread's entry ends the process (exit_group): sleep past the parent's checks.
          yield* new Libc(c).nanosleep(50_000_000);
          return 0;
        });
        yield* libc.nanosleep(1_000_000);
        const childTask = kernel.tasks.get(child);
        if (childTask !== undefined) seen['zombie'] = readTask(kernel, childTask.kernelAddress);
        yield* libc.wait4(child);
        return 0;
      },
      {},
      (k) => {
        kernel = k;
        k.vfs.registerProgram('/bin/other', function* (ctx) {
          self('exec');
          const libc = new Libc(ctx);
          const me = kernel.current.currentTaskStruct(0);
          yield* libc.nanosleep(10);
          seen['wokenAfterSleep'] = readTask(kernel, me);
          return 3;
        });
      },
      { uid: 1000, gid: 100 },
    ));
    const { parent, child, thread, exec, zombie } = seen;
    expect(parent).toMatchObject({ pid: 1, tgid: 1, comm: 'test', realParent: kernel.taskStructs.idle[0], uid: 1000, euid: 1000, state: TASK_RUNNING });
    expect(parent?.mm).not.toBe(0);
    expect(child).toMatchObject({ pid: 2, tgid: 2, comm: 'test', uid: 1000 });
    expect(child?.mm).not.toBe(parent?.mm);
    expect(thread).toMatchObject({ pid: 3, tgid: 1, comm: 'test', mm: parent?.mm, cred: parent?.cred, mmUsers: 2 });
    expect(thread?.groupLeader).toBe(parent?.groupLeader);
    expect(exec).toMatchObject({ pid: 2, comm: 'other' });
    expect(exec?.mm).not.toBe(child?.mm);
    expect(child?.realParent).toBe(parent?.groupLeader);
    expect(exec?.realParent).toBe(parent?.groupLeader);
    expect(zombie).toMatchObject({ pid: 2, exitState: EXIT_ZOMBIE, mm: 0 });
    expect(seen['wokenAfterSleep']?.state).toBe(TASK_RUNNING);
  });

  it('shows a sleeping task as TASK_INTERRUPTIBLE', () => {
    let kernel!: Kernel;
    let sleeper = 0;
    ({ kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const pid = yield* libc.fork(function* (c) {
          yield* new Libc(c).nanosleep(5_000_000);
          return 0;
        });
        yield* libc.nanosleep(1_000_000);
        sleeper = readTask(kernel, kernel.tasks.get(pid)?.kernelAddress ?? 0).state;
        yield* libc.wait4(pid);
        return 0;
      },
      {},
      (k) => {
        kernel = k;
      },
    ));
    expect(sleeper).toBe(TASK_INTERRUPTIBLE);
  });

  it('gives the memory back when the tasks are gone', () => {
    const kernel = createKernel({ cpus: 2 });
    const before = slabUsage(kernel);
    kernel.vfs.registerProgram('/bin/test', function* (ctx) {
      const libc = new Libc(ctx);
      for (let i = 0; i < 40; i++)
        yield* libc.fork(function* (c) {
          return yield* new Libc(c).getpid();
        });
      for (let i = 0; i < 40; i++) yield* libc.wait4();
      return 0;
    });
    kernel.spawn('/bin/test', { uid: 5 });
    kernel.run({ maxEvents: 50 });
    const during = slabUsage(kernel);
    expect(during['slab:task_struct']).toBeGreaterThanOrEqual(before['slab:task_struct'] ?? 0);
    expect(during['slab:mm_struct']).toBeGreaterThan(0);
    kernel.run();
    expect(kernel.alive).toBe(0);
    expect(slabUsage(kernel)).toEqual(before);
    const used = kernel.phys.usage().reduce((n, u) => n + u.pages, 0);
    expect(used + kernel.phys.freePages).toBe(kernel.phys.totalPages);
  });
});
