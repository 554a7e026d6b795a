import fc from 'fast-check';
import { checkArgsWithSchema, Errno, Libc, SIG, SYSCALL_SPECS, SyscallNr } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../kernel.js';
import { runProgram } from '../testing/run-program.js';
import { registerValue } from '../testing/register-values.js';
import { SyscallTable } from './table.js';

describe('syscall table', () => {
  it('registers a handler for every ABI syscall except bpf (the bpf subsystem brings that one)', () => {
    const table = createKernel().syscalls;
    const names = table.list().map((e) => e.name);
    const expected = [...SYSCALL_SPECS.values()].map((s) => s.name).filter((n) => n !== 'bpf');
    expect(names.sort()).toEqual(expected.sort());
  });

  it('fast entry checks agree with the zod schemas on every syscall', () => {
    const table = createKernel().syscalls;
    table.register('bpf', () => 0);
    const regs = new Float64Array(7);
    fc.assert(
      fc.property(fc.constantFrom(...SYSCALL_SPECS.values()), fc.array(registerValue, { minLength: 6, maxLength: 6 }), (spec, values) => {
        regs.set(values, 1);
        const entry = table.get(spec.nr)!;
        expect(SyscallTable.checkArgs(entry, regs)).toBe(checkArgsWithSchema(spec, values));
      }),
      { numRuns: 3000 },
    );
  });

  it('answers unknown numbers with ENOSYS, and bpf with ENOSYS until the bpf subsystem registers it', () => {
    const results: number[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      for (const nr of [335, 511, 512, -1, 1.5, Number.NaN, SyscallNr.bpf]) results.push(yield* libc.syscall(nr));
      return 0;
    });
    expect(results).toEqual(Array(7).fill(-Errno.ENOSYS));
  });

  it('rejects bad arguments with the errno Linux gives, before the handler runs', () => {
    const results: Record<string, number> = {};
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      results.readBadFd = yield* libc.syscall(SyscallNr.read, -1, 0x1000, 1);
      results.readBadBuf = yield* libc.syscall(SyscallNr.read, 0, 0x1000, 1);
      results.writeFaultAfterFd = yield* libc.syscall(SyscallNr.write, 1, 0x10, 4);
      results.killBadSignal = yield* libc.syscall(SyscallNr.kill, 1, 65);
      results.killNoProcess = yield* libc.syscall(SyscallNr.kill, 4242, 0);
      results.pipe2Flags = yield* libc.syscall(SyscallNr.pipe2, ctx.stackTop - 1024, 1);
      results.pipeFault = yield* libc.syscall(SyscallNr.pipe2, 8, 0);
      results.dup3Flags = yield* libc.syscall(SyscallNr.dup3, 1, 5, 1);
      results.wait4Options = yield* libc.syscall(SyscallNr.wait4, -1, 0, 0x100, 0);
      results.wait4NoChild = yield* libc.syscall(SyscallNr.wait4, -1, 0, 0, 0);
      results.openFault = yield* libc.syscall(SyscallNr.openat, -100, 0x10, 0, 0);
      results.nanosleepFault = yield* libc.syscall(SyscallNr.nanosleep, 0, 0);
      results.clockBad = yield* libc.syscall(SyscallNr.clock_gettime, 99, ctx.stackTop - 1024);
      results.sigactionKill = yield* libc.syscall(SyscallNr.rt_sigaction, SIG.SIGKILL, ctx.stackTop - 1024, 0, 8);
      results.sigactionSize = yield* libc.syscall(SyscallNr.rt_sigaction, SIG.SIGTERM, 0, 0, 4);
      results.cloneNoEntry = yield* libc.syscall(SyscallNr.clone, SIG.SIGCHLD, 0, 0, 0, 0);
      results.cloneThreadNoSighand = yield* libc.syscall(SyscallNr.clone, 0x10000, 0, 0, 0, 0);
      results.getdentsNotDir = yield* libc.syscall(SyscallNr.getdents64, 1, ctx.stackTop - 1024, 100);
      results.lseekPipe = yield* libc.syscall(SyscallNr.lseek, 1, 0, 0);
      results.getrandomFlags = yield* libc.syscall(SyscallNr.getrandom, ctx.stackTop - 1024, 4, 8);
      return 0;
    });
    expect(results).toEqual({
      readBadFd: -Errno.EBADF,
      readBadBuf: -Errno.EFAULT,
      writeFaultAfterFd: -Errno.EFAULT,
      killBadSignal: -Errno.EINVAL,
      killNoProcess: -Errno.ESRCH,
      pipe2Flags: -Errno.EINVAL,
      pipeFault: -Errno.EFAULT,
      dup3Flags: -Errno.EINVAL,
      wait4Options: -Errno.EINVAL,
      wait4NoChild: -Errno.ECHILD,
      openFault: -Errno.EFAULT,
      nanosleepFault: -Errno.EFAULT,
      clockBad: -Errno.EINVAL,
      sigactionKill: -Errno.EINVAL,
      sigactionSize: -Errno.EINVAL,
      cloneNoEntry: -Errno.EINVAL,
      cloneThreadNoSighand: -Errno.EINVAL,
      getdentsNotDir: -Errno.ENOTDIR,
      lseekPipe: -Errno.ESPIPE,
      getrandomFlags: -Errno.EINVAL,
    });
  });
});
