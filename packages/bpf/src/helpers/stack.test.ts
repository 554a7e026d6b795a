/**
 * The stack, probe and signal helpers called as the VM calls them (a HelperContext with the program's
 * arguments), with a HelperEnv over a real kernel's hooks and signals: what bpf_get_stack, bpf_get_stackid,
 * bpf_get_func_ip, bpf_override_return and bpf_send_signal(_thread) answer for each case Linux distinguishes.
 */
import { createKernel, hookStack, KALLSYMS, KERNEL_ADDRESS_HI, overriddenReturn, type Task } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_MAP_TYPE, BPF_STACK_BUILD_ID, BPF_STACKID_F, Errno, PT_REGS, SIG, type BpfFuncName } from '@ebpf-sim/uapi';
import type { HelperContext, HelperFn } from '@ebpf-sim/vm';
import { describe, expect, it } from 'vitest';
import { createMap } from '../maps/registry.js';
import { StackTraceMap } from '../maps/stackmap.js';
import { idleRunState, type HelperEnv } from '../runtime/env.js';
import { mapTestEnv } from '../testing/map-env.js';
import { HELPERS } from './index.js';

const MAP_ADDRESS = 0x1000_0000;

function setup(current?: () => Task | undefined) {
  const kernel = createKernel({ cpus: 1 });
  const menv = mapTestEnv();
  const map = createMap({ mapType: BPF_MAP_TYPE.STACK_TRACE, keySize: 4, valueSize: 8 * 8, maxEntries: 8, mapFlags: 0, name: 'stacks' }, menv);
  if (!(map instanceof StackTraceMap)) throw new Error('no stack map');
  const run = idleRunState();
  const sent: Array<{ to: string; sig: number }> = [];
  const env = {
    k: {
      phys: menv.phys,
      current: { currentTask: current ?? (() => undefined) },
      signals: {
        send: (task: Task, sig: number) => sent.push({ to: `thread ${task.pid}`, sig }),
        sendToGroup: (group: Task['group'], sig: number) => sent.push({ to: `group ${group.tgid}`, sig }),
      },
    },
    run,
    trace: { printk: () => undefined },
    mapAt: (address: number) => (address === MAP_ADDRESS ? map : undefined),
  } as unknown as HelperEnv;
  const fn = (name: BpfFuncName): HelperFn => {
    const impl = HELPERS.get(BPF_FUNC[name])?.impl;
    if (impl === undefined) throw new Error(`${name} has no implementation`);
    return impl(env);
  };
  // Arguments as the VM's registers hold them: u64 (a negative bigint is its two's complement).
  const call = (name: BpfFuncName, ...args: Array<number | bigint>): number | bigint => {
    const reg = (n: number): bigint => BigInt.asUintN(64, BigInt(args[n - 1] ?? 0));
    const ctx = {
      arg: reg,
      argNumber: (n: number) => Number(reg(n)),
      argU32: (n: number) => Number(BigInt.asUintN(32, reg(n))),
    } as unknown as HelperContext;
    return fn(name)(ctx) ?? 0;
  };
  const buf = menv.phys.kmalloc(256, 'test');
  return { kernel, menv, map, run, call, buf, sent };
}

const frames = (bytes: Uint8Array, at: number, n: number): string[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return Array.from({ length: n }, (_, i) =>
    view.getUint32(at + i * 8 + 4, true) === KERNEL_ADDRESS_HI ? (KALLSYMS.lookup(view.getUint32(at + i * 8, true))?.symbol.name ?? '?') : 'user',
  );
};

describe('bpf_get_stack', () => {
  it('copies the running hook’s chain past `skip`, zero-fills, and answers the bytes copied', () => {
    const { kernel, menv, run, call, buf } = setup();
    run.hook = kernel.hooks.require('kprobe:vfs_read');
    menv.phys.bytes.fill(0xee, buf, buf + 64);
    expect(call('get_stack', 0, buf, 64, 2)).toBe(4 * 8);
    expect(frames(menv.phys.bytes, buf, 4)).toEqual(['__x64_sys_read', 'x64_sys_call', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    expect([...menv.phys.bytes.subarray(buf + 32, buf + 64)].every((b) => b === 0)).toBe(true);
    // A buffer smaller than the chain takes its innermost frames.
    expect(call('get_stack', 0, buf, 16, 0)).toBe(16);
    expect(frames(menv.phys.bytes, buf, 2)).toEqual(['vfs_read', 'ksys_read']);
  });

  it('refuses bad flags and sizes with EINVAL and too many skipped frames with EFAULT, the buffer zeroed', () => {
    const { kernel, menv, run, call, buf } = setup();
    run.hook = kernel.hooks.require('kprobe:vfs_read');
    for (const [size, flags, errno] of [
      [64, 1 << 12, Errno.EINVAL],
      [64, BPF_STACKID_F.USER_BUILD_ID, Errno.EINVAL],
      [60, 0, Errno.EINVAL],
      [64, 7, Errno.EFAULT],
    ] as const) {
      menv.phys.bytes.fill(0xee, buf, buf + 64);
      expect(call('get_stack', 0, buf, size, flags)).toBe(-errno);
      expect([...menv.phys.bytes.subarray(buf, buf + size)].every((b) => b === 0)).toBe(true);
    }
    // u64 flags with high bits: unknown flags.
    expect(call('get_stack', 0, buf, 64, 2 ** 40)).toBe(-Errno.EINVAL);
    // All 6 frames skipped is still a (zero-length) stack; get_stackid would say EFAULT.
    expect(call('get_stack', 0, buf, 64, 6)).toBe(0);
  });

  it('gives the user stack with BPF_F_USER_STACK, as build-id frames with BPF_F_USER_BUILD_ID; none without a task', () => {
    const { kernel, menv, run, call, buf } = setup();
    run.hook = kernel.hooks.require('kprobe:vfs_read');
    expect(call('get_stack', 0, buf, 64, BPF_STACKID_F.USER_STACK)).toBe(0);
    const task = { comm: 'cat', pid: 5, group: { tgid: 5, exiting: false } } as unknown as Task;
    const withTask = setup(() => task);
    withTask.run.hook = withTask.kernel.hooks.require('kprobe:vfs_read');
    expect(withTask.call('get_stack', 0, withTask.buf, 64, BPF_STACKID_F.USER_STACK)).toBe(32);
    expect(frames(withTask.menv.phys.bytes, withTask.buf, 4)).toEqual(['user', 'user', 'user', 'user']);
    const view = withTask.menv.phys.view;
    const innermost = view.getUint32(withTask.buf, true);
    const size = 2 * BPF_STACK_BUILD_ID.SIZE;
    expect(withTask.call('get_stack', 0, withTask.buf, size, BPF_STACKID_F.USER_STACK | BPF_STACKID_F.USER_BUILD_ID)).toBe(size);
    // struct bpf_stack_build_id: status BPF_STACK_BUILD_ID_IP (no build id note to read), the ip at offset 24.
    expect(view.getInt32(withTask.buf, true)).toBe(BPF_STACK_BUILD_ID.IP);
    expect(view.getUint32(withTask.buf + 24, true)).toBe(innermost);
    expect(menv.phys.bytes.length).toBeGreaterThan(0);
  });

  it('has no frames outside a hook (a test run)', () => {
    const { call, buf } = setup();
    expect(call('get_stack', 0, buf, 64, 0)).toBe(0);
    expect(call('get_stackid', 0, MAP_ADDRESS, 0)).toBe(-Errno.EFAULT);
  });
});

describe('bpf_get_stackid', () => {
  it('stores the running hook’s chain once and answers the same id for the same stack', () => {
    const { kernel, map, run, call } = setup();
    run.hook = kernel.hooks.require('kprobe:vfs_read');
    const id = call('get_stackid', 0, MAP_ADDRESS, 0);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(call('get_stackid', 0, MAP_ADDRESS, 0)).toBe(id);
    const out = new Uint8Array(64);
    expect(map.lookupSys(new Uint8Array(new Uint32Array([Number(id)]).buffer), out, 0)).toBe(0);
    expect(frames(out, 0, 6)).toEqual(['vfs_read', 'ksys_read', '__x64_sys_read', 'x64_sys_call', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    expect(call('get_stackid', 0, MAP_ADDRESS, 1 << 11)).toBe(-Errno.EINVAL);
    expect(call('get_stackid', 0, MAP_ADDRESS, 6)).toBe(-Errno.EFAULT);
  });
});

describe('bpf_get_func_ip', () => {
  it('is the probed function’s address at kprobes and kretprobes, 0 at tracepoints and outside hooks', () => {
    const { kernel, run, call } = setup();
    expect(call('get_func_ip', 0)).toBe(0);
    run.hook = kernel.hooks.require('kretprobe:vfs_write');
    expect(call('get_func_ip', 0)).toBe((BigInt(KERNEL_ADDRESS_HI) << 32n) | BigInt(KALLSYMS.get('vfs_write')?.lo ?? 0));
    expect(call('get_func_ip', 0)).toBe(hookStack(run.hook).funcIp);
    run.hook = kernel.hooks.require('syscalls:sys_enter_read');
    expect(call('get_func_ip', 0)).toBe(0n);
  });
});

describe('bpf_override_return', () => {
  it('leaves the value in regs->ax and sends regs->ip to just_return_func', () => {
    const { menv, call, buf } = setup();
    menv.phys.bytes.fill(0, buf, buf + PT_REGS.size);
    expect(overriddenReturn(menv.phys.view, buf)).toBeUndefined();
    expect(call('override_return', buf, BigInt(-Errno.ENOMEM))).toBe(0);
    expect(overriddenReturn(menv.phys.view, buf)).toBe(-Errno.ENOMEM);
    expect(call('override_return', buf, 7)).toBe(0);
    expect(overriddenReturn(menv.phys.view, buf)).toBe(7);
  });
});

describe('bpf_send_signal and bpf_send_signal_thread', () => {
  it('signal the current process or thread; EPERM for the idle task, init and an exiting task; EINVAL past _NSIG', () => {
    const task = { comm: 'victim', pid: 7, group: { tgid: 6, exiting: false } } as unknown as Task;
    const { call, sent } = setup(() => task);
    expect(call('send_signal', SIG.SIGKILL)).toBe(0);
    expect(call('send_signal_thread', SIG.SIGUSR1)).toBe(0);
    expect(call('send_signal', 65)).toBe(-Errno.EINVAL);
    expect(call('send_signal', 0)).toBe(0);
    expect(sent).toEqual([
      { to: 'group 6', sig: SIG.SIGKILL },
      { to: 'thread 7', sig: SIG.SIGUSR1 },
      { to: 'group 6', sig: 0 },
    ]);
    expect(setup().call('send_signal', SIG.SIGKILL)).toBe(-Errno.EPERM);
    const init = { comm: 'init', pid: 1, group: { tgid: 1, exiting: false } } as unknown as Task;
    expect(setup(() => init).call('send_signal', SIG.SIGKILL)).toBe(-Errno.EPERM);
    const exiting = { comm: 'x', pid: 9, group: { tgid: 9, exiting: true } } as unknown as Task;
    expect(setup(() => exiting).call('send_signal_thread', SIG.SIGKILL)).toBe(-Errno.EPERM);
  });
});
