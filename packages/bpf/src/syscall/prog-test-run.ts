/**
 * BPF_PROG_TEST_RUN (kernel/bpf/syscall.c bpf_prog_test_run): the program behind prog_fd run by its type's
 * test_run op (../test-run/) on the runtime's VM, the attr's outputs (retval, data_size_out, duration,
 * ctx_size_out) written back to user space where the op set them.
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, Errno } from '@ebpf-sim/uapi';
import type { BpfRuntime } from '../runtime/runtime.js';
import { bpfProgTestRun, type TestRunAttr, type TestRunEnv, type TestRunOutput, type TestRunProgram } from '../test-run/index.js';
import type { BpfServices } from './bpf-syscall.js';
import type { ProgObject } from './prog.js';

const T = BPF_ATTR_LAYOUTS.PROG_TEST_RUN;

/** What the command uses of the syscall: the attr block, the program fds and the runtime. */
export interface TestRunSyscall {
  u32(offset: number): number;
  u64(offset: number): number;
  putU32(mm: UserCopy, address: number, value: number): number;
  progFromFd(task: Task, fd: number): ProgObject | number;
  readonly runtime: BpfRuntime;
}

/** A loaded program as the test run drives it: `repeat` runs on the runtime's VM with the run state set (and restored). */
function testRunProgram(runtime: BpfRuntime, prog: ProgObject): TestRunProgram {
  return {
    progType: prog.progType,
    expectedAttachType: prog.expectedAttachType,
    maxCtxOffset: prog.maxCtxOffset,
    runRepeat(ctx, repeat, cpu) {
      const run = runtime.run;
      const saved = { cpu: run.cpu, ctx: run.ctx, progType: run.progType };
      run.cpu = cpu;
      run.ctx = ctx;
      run.progType = prog.progType;
      const vm = runtime.vmOf(prog);
      const ok = vm.runRepeat(prog.program, ctx, 0, repeat);
      run.cpu = saved.cpu;
      run.ctx = saved.ctx;
      run.progType = saved.progType;
      if (!ok) return vm.fault?.message ?? 'the program faulted';
      return Number(vm.r0 & 0xffffffffn);
    },
  };
}

/** bpf_prog_test_run: 0 or -errno; the outputs the op produced are written to `uattr` either way. */
export function progTestRun(sys: TestRunSyscall, k: BpfServices, task: Task, mm: UserCopy, uattr: number): number {
  const prog = sys.progFromFd(task, sys.u32(T.prog_fd.offset));
  if (typeof prog === 'number') return prog;
  const attr: TestRunAttr = {
    data_in: sys.u64(T.data_in.offset),
    data_size_in: sys.u32(T.data_size_in.offset),
    data_out: sys.u64(T.data_out.offset),
    data_size_out: sys.u32(T.data_size_out.offset),
    repeat: sys.u32(T.repeat.offset),
    duration: sys.u32(T.duration.offset),
    ctx_in: sys.u64(T.ctx_in.offset),
    ctx_size_in: sys.u32(T.ctx_size_in.offset),
    ctx_out: sys.u64(T.ctx_out.offset),
    ctx_size_out: sys.u32(T.ctx_size_out.offset),
    flags: sys.u32(T.flags.offset),
    cpu: sys.u32(T.cpu.offset),
    batch_size: sys.u32(T.batch_size.offset),
  };
  const env: TestRunEnv = {
    phys: k.phys,
    user: mm,
    netdevByIfindex: (ifindex) => k.devices?.nics.find((nic) => nic.ifindex === ifindex),
    nrCpus: k.hookArena.nrCpus,
    currentCpu: k.current.currentCpu,
    now: () => performance.now() * 1e6,
    timing: 'steady',
  };
  const out: TestRunOutput = {};
  const ret = bpfProgTestRun(testRunProgram(sys.runtime, prog), attr, env, out);
  // Linux writes these with put_user as it goes: a fault there is EFAULT.
  const writes: ReadonlyArray<readonly [number | undefined, number]> = [
    [out.retval, T.retval.offset],
    [out.data_size_out, T.data_size_out.offset],
    [out.duration, T.duration.offset],
    [out.ctx_size_out, T.ctx_size_out.offset],
  ];
  for (const [value, offset] of writes) {
    if (value !== undefined && sys.putU32(mm, uattr + offset, value) < 0) return -Errno.EFAULT;
  }
  return ret;
}
