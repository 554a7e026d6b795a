import { BPF_ATTR_SCHEMAS, BPF_CMD, Errno, PT_REGS, PT_REGS_FUNC_ARGS, STACK_TOP, SyscallNr, decodeBpfAttr, encodeBpfAttr } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { AnonInodes } from './fs/anon-inode.js';
import type { FileOperations } from './fs/file.js';
import { Vfs } from './fs/vfs.js';
import { HookArena } from './hooks/arena.js';
import { readU64 } from './hooks/context-writer.js';
import { KprobeSites } from './hooks/kprobes.js';
import { HookRegistry } from './hooks/registry.js';
import { PhysicalMemory } from './mm/physmem.js';
import { Cpu } from './sched/cpu.js';
import type { KernelServices } from './services.js';
import { SyscallTable, type SyscallHandler } from './syscalls/table.js';
import { handMadeTask } from './testing/hand-made-task.js';
import { Clock } from './time/clock.js';
import { TraceLog } from './trace/trace.js';

/**
 * Subsystems built against hand-made service objects, with no createKernel: each gets only the few objects
 * it declares it uses, which is how the bpf subsystem's maps, helpers and bpf() handler will be tested.
 */

/**
 * A bpf(BPF_MAP_CREATE) handler as the bpf subsystem will write one: it reads bpf_attr from user memory,
 * charges the map's memory and returns an anon-inode fd whose last close frees it. It declares exactly the
 * services it uses.
 */
function mapCreateHandler(k: Pick<KernelServices, 'userMemory' | 'phys' | 'fds'>, nextId: () => number): SyscallHandler {
  return (task, cmd, uattr, size) => {
    if (cmd !== BPF_CMD.MAP_CREATE) return -Errno.EINVAL;
    const bytes = new Uint8Array(size);
    if (!k.userMemory.of(task).copyFromUser(uattr, bytes, 0, size)) return -Errno.EFAULT;
    const attr = BPF_ATTR_SCHEMAS.MAP_CREATE.safeParse(decodeBpfAttr('MAP_CREATE', bytes));
    if (!attr.success || attr.data.max_entries === 0) return -Errno.EINVAL;
    const id = nextId();
    const storage = k.phys.kmalloc(attr.data.value_size * attr.data.max_entries, `bpf-map:${id}`);
    if (storage < 0) return -Errno.ENOMEM;
    const ops: FileOperations = { name: 'bpf-map', release: () => k.phys.kfree(storage) };
    return k.fds.installFd(task, 'bpf-map', ops, { id, storage });
  };
}

describe('kernel services without a kernel', () => {
  it('a bpf() handler runs from the syscall table over hand-made services and its fd frees the map on close', () => {
    const clock = new Clock();
    const phys = new PhysicalMemory(1 << 20);
    const hooks = new HookRegistry();
    const vfs = new Vfs(clock);
    const fds = new AnonInodes(vfs, 4);
    const table = new SyscallTable({
      hooks,
      hookArena: new HookArena(phys, 1, clock),
      clock,
      trace: new TraceLog(false),
      stats: { syscalls: 0, contextSwitches: 0 },
      phys,
    });
    let ids = 0;
    table.register(
      'bpf',
      mapCreateHandler({ userMemory: { of: (t) => t.group.mm }, phys, fds }, () => ++ids),
    );

    const task = handMadeTask(phys, vfs);
    const attr = encodeBpfAttr('MAP_CREATE', { map_type: 2, key_size: 4, value_size: 8, max_entries: 512 });
    const uattr = STACK_TOP - 1024;
    expect(task.group.mm.copyToUser(uattr, attr, 0, attr.length)).toBe(true);
    task.regs.set([SyscallNr.bpf, BPF_CMD.MAP_CREATE, uattr, attr.length]);
    const fd = table.enter(new Cpu(0), task);

    expect(fd).toBe(0);
    expect(fds.fdget(task, fd)?.path).toBe('anon_inode:bpf-map');
    expect(phys.usageOf('bpf-map:1')).toMatchObject({ bytes: 8 * 512, allocations: 1 });
    task.regs.set([SyscallNr.bpf, BPF_CMD.MAP_CREATE, 16, attr.length]);
    expect(table.enter(new Cpu(0), task)).toBe(-Errno.EFAULT);
    expect(fds.closeFd(task, fd)).toBe(0);
    expect(phys.usageOf('bpf-map:1').allocations).toBe(0);
    expect(fds.closeFd(task, fd)).toBe(-Errno.EBADF);
  });

  it('a kprobe site fires over a hand-made hook registry, arena and current CPU', () => {
    const clock = new Clock();
    clock.now = 1234;
    const hooks = new HookRegistry();
    const hookArena = new HookArena(new PhysicalMemory(1 << 20), 2, clock);
    const kprobes = new KprobeSites({ hooks, hookArena, current: { currentCpu: 1, currentTask: () => undefined, currentTaskStruct: () => 0 } });
    const seen: string[] = [];
    const site = kprobes.sites.vfs_write;
    site.entry.attach((inv) => {
      const regs = PT_REGS_FUNC_ARGS.slice(0, 3).map((offset) => readU64(inv.memory.view, inv.ctx + offset));
      seen.push(`${inv.hook.name} cpu=${inv.cpu} ${inv.comm} now=${inv.now} args=${regs.join(',')}`);
      return 0;
    });
    site.ret.attach((inv) => {
      seen.push(`${inv.hook.name} ax=${readU64(inv.memory.view, inv.ctx + PT_REGS.ax, true)}`);
      return 0;
    });
    kprobes.enter(site, undefined, 7, 0x1000, 3);
    kprobes.exit(site, undefined, -Errno.EBADF);
    expect(seen).toEqual(['kprobe:vfs_write cpu=1 swapper/1 now=1234 args=7,4096,3', `kretprobe:vfs_write ax=${-Errno.EBADF}`]);
    expect(hookArena.used(1)).toBe(0);
  });
});
