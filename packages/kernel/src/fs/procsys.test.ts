import { CAP, Errno, Libc, O, SEEK_SET } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';
import { hasCapability } from '../task/task.js';
import { parseDointvec } from './procsys.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const parse = (text: string): ReturnType<typeof parseDointvec> => parseDointvec(bytes(text), bytes(text).length);

describe('parseDointvec (proc_dointvec write)', () => {
  it('takes one int with surrounding whitespace, in the base its prefix names', () => {
    expect(parse('1\n')).toEqual({ value: 1, consumed: 2 });
    expect(parse('  \t-42  \n')).toEqual({ value: -42, consumed: 9 });
    expect(parse('0x10')).toEqual({ value: 16, consumed: 4 });
    expect(parse('010')).toEqual({ value: 8, consumed: 3 });
    expect(parse('2147483647')).toEqual({ value: 2147483647, consumed: 10 });
    expect(parse('-2147483648')).toEqual({ value: -2147483648, consumed: 11 });
    // A second word is left unconsumed (the kernel's `*lenp -= left`): write returns the first part only.
    expect(parse('1 2')).toEqual({ value: 1, consumed: 2 });
  });

  it('answers EINVAL for junk, nothing, an out-of-int value or a too-long number', () => {
    for (const junk of ['', '  \n', 'x', '1x', '08', '-', '--1', '2147483648', '-2147483649', '1'.repeat(21), '0x']) expect(parse(junk)).toBe(-Errno.EINVAL);
  });
});

describe('/proc/sys over the sysctl table', () => {
  it('shows registered names as files under their dotted directories, including ones registered after boot', () => {
    const r: Record<string, unknown> = {};
    const { status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const fd = yield* libc.open('/proc/sys/kernel/test_knob');
        r.read = libc.decode((yield* libc.read(fd, 64)).data);
        r.again = (yield* libc.read(fd, 64)).ret;
        yield* libc.lseek(fd, 0, SEEK_SET);
        r.short = libc.decode((yield* libc.read(fd, 1)).data);
        const dir = yield* libc.open('/proc/sys/net', O.RDONLY | O.DIRECTORY);
        const listing = yield* libc.readdir(dir);
        r.net = listing.ok ? listing.value.map((entry) => entry.name) : listing.errno;
        const sys = yield* libc.readdir(yield* libc.open('/proc/sys', O.RDONLY | O.DIRECTORY));
        r.top = sys.ok ? sys.value.map((entry) => entry.name).sort() : sys.errno;
        r.late = libc.decode((yield* libc.read(yield* libc.open('/proc/sys/net/core/late_knob'), 64)).data);
        r.missing = yield* libc.open('/proc/sys/kernel/nope');
        r.dirAsFile = yield* libc.open('/proc/sys/net/core', O.WRONLY);
        return 0;
      },
      {},
      (kernel) => {
        kernel.sysctl.register('kernel.test_knob', 123);
        kernel.sysctl.register('net.core.early_knob', 0);
        // Registered after boot, before the program looks: it appears.
        kernel.clock.after(1, () => kernel.sysctl.register('net.core.late_knob', -5));
      },
    );
    expect(status).toBe(0);
    expect(r).toEqual({
      read: '123\n',
      again: 0,
      short: '1',
      net: ['.', '..', 'core'],
      top: ['.', '..', 'kernel', 'net'],
      late: '-5\n',
      missing: -Errno.ENOENT,
      dirAsFile: -Errno.EISDIR,
    });
  });

  it("writes go through the owner's check, whose errno comes back from write; junk is EINVAL; non-root cannot open for writing", () => {
    const r: Record<string, unknown> = {};
    const program = function* (ctx: Parameters<Parameters<typeof runProgram>[0]>[0]) {
      const libc = new Libc(ctx);
      const fd = yield* libc.open('/proc/sys/kernel/guarded', O.WRONLY);
      r.fd = fd >= 0 ? 'ok' : fd;
      if (fd < 0) return 0;
      r.junk = yield* libc.write(fd, '1x\n');
      r.ok = yield* libc.write(fd, ' 1\n');
      // Past offset 0 a write is ignored (sysctl_writes_strict) but reported as written.
      r.ignored = yield* libc.write(fd, '0\n');
      yield* libc.lseek(fd, 0, SEEK_SET);
      r.refused = yield* libc.write(fd, '0');
      return 0;
    };
    let value = -1;
    const setup = (kernel: Parameters<NonNullable<Parameters<typeof runProgram>[2]>>[0]): void => {
      const entry = kernel.sysctl.register('kernel.guarded', 0, (task, next, old) =>
        !hasCapability(task.group.cred, CAP.SYS_ADMIN) ? -Errno.EPERM : old === 1 && next !== 1 ? -Errno.EBUSY : 0,
      );
      kernel.clock.after(1e9, () => (value = entry.value));
    };
    expect(runProgram(program, {}, setup).status).toBe(0);
    expect(r).toEqual({ fd: 'ok', junk: -Errno.EINVAL, ok: 3, ignored: 2, refused: -Errno.EBUSY });
    expect(value).toBe(1);
    expect(runProgram(program, {}, setup, { uid: 1000 }).status).toBe(0);
    expect(r.fd).toBe(-Errno.EACCES);
  });
});
