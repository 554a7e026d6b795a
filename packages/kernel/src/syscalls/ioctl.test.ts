import { Errno, Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';

describe('ioctl(2)', () => {
  it('answers EBADF for a closed fd and ENOTTY for a file without ioctl, as vfs_ioctl does', () => {
    const results: number[] = [];
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      results.push(yield* libc.ioctl(99, 0x2400));
      const fds = yield* libc.pipe();
      if (fds.ok) results.push(yield* libc.ioctl(fds.value[0], 0x2400, 0));
      return 0;
    });
    expect(kernel.crashes).toEqual([]);
    expect(results).toEqual([-Errno.EBADF, -Errno.ENOTTY]);
  });
});
