import { Libc, O } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';

describe('block device', () => {
  it('makes reads and writes wait for the request latency and keeps the data', () => {
    const r: number[] = [];
    const { kernel, status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const fd = yield* libc.open('/dev/vda', O.RDWR);
        const t0 = yield* libc.clockGettime();
        r.push(yield* libc.write(fd, new Uint8Array(1000).fill(7)));
        const t1 = yield* libc.clockGettime();
        r.push(t1 - t0);
        yield* libc.lseek(fd, 0, 0);
        const back = yield* libc.read(fd, 1000);
        r.push(back.ret, back.data[999] ?? -1);
        return 0;
      },
      { devices: { block: [{ name: 'vda', latencyNs: 100_000, bytesPerSecond: 1e9 }] } },
    );
    expect(status).toBe(0);
    // 100 us latency + 1 us transfer, plus two syscall costs (100 ns each) and the 1 us switch back in.
    expect(r[0]).toBe(1000);
    expect(r[1]).toBe(101_000 + 200 + 1_000);
    expect(r.slice(2)).toEqual([1000, 7]);
    expect(kernel.devices.block[0]!.stats).toMatchObject({ reads: 1, writes: 1, bytesRead: 1000, bytesWritten: 1000 });
  });

  it('console output keeps the order and time of writes; /dev/null and /dev/zero behave', () => {
    const r: number[] = [];
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      yield* libc.write(1, 'one ');
      yield* libc.write(2, 'two\n');
      const zero = yield* libc.open('/dev/zero');
      const z = yield* libc.read(zero, 8);
      r.push(
        z.ret,
        z.data.reduce((a, b) => a + b, 0),
      );
      const devnull = yield* libc.open('/dev/null', O.RDWR);
      r.push(yield* libc.write(devnull, 'x'), (yield* libc.read(devnull, 8)).ret);
      return 0;
    });
    expect(kernel.devices.console.output).toBe('one two\n');
    expect(kernel.devices.console.lines.map((l) => l.text)).toEqual(['one ', 'two\n']);
    expect(r).toEqual([8, 0, 1, 0]);
  });
});
