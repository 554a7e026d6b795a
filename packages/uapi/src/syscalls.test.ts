import { describe, expect, it } from 'vitest';
import { Errno } from './errno.js';
import { SyscallNr } from './syscall-nr.js';
import { SYSCALL_SPECS, checkArgsWithSchema, syscallSpec } from './syscalls.js';

describe('syscall argument schemas', () => {
  it('describe every syscall number of the ABI, with at most six arguments', () => {
    expect(SYSCALL_SPECS.size).toBe(Object.keys(SyscallNr).length);
    for (const spec of SYSCALL_SPECS.values()) expect(spec.args.length).toBeLessThanOrEqual(6);
  });

  it('name arguments as the tracepoint formats do', () => {
    expect(syscallSpec('openat').args.map((a) => a.name)).toEqual(['dfd', 'filename', 'flags', 'mode']);
    expect(syscallSpec('read').args.map((a) => `${a.ctype} ${a.name}`)).toEqual(['unsigned int fd', 'char * buf', 'size_t count']);
  });

  it('derive range, mask and errno from the zod schema', () => {
    const pipe2 = syscallSpec('pipe2');
    expect(pipe2.args[1]).toMatchObject({ name: 'flags', min: 0, max: 2 ** 32 - 1, mask: 0o2000000 | 0o4000 | 0o40000, errno: Errno.EINVAL });
    expect(syscallSpec('close').args[0]).toMatchObject({ min: 0, max: 2 ** 31 - 1, errno: Errno.EBADF });
    expect(syscallSpec('read').args[1]?.userPointer).toBe(true);
  });

  it("reject bad registers with the first bad argument's errno", () => {
    expect(checkArgsWithSchema(syscallSpec('read'), [-1, 0x1000, 10])).toBe(-Errno.EBADF);
    expect(checkArgsWithSchema(syscallSpec('read'), [3, -5, 10])).toBe(-Errno.EFAULT);
    expect(checkArgsWithSchema(syscallSpec('pipe2'), [0x1000, 1])).toBe(-Errno.EINVAL);
    expect(checkArgsWithSchema(syscallSpec('pipe2'), [0x1000, 0o2000000])).toBe(0);
    expect(checkArgsWithSchema(syscallSpec('kill'), [1, 65])).toBe(-Errno.EINVAL);
    expect(checkArgsWithSchema(syscallSpec('close'), [1.5])).toBe(-Errno.EBADF);
  });
});
