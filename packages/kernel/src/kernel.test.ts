import { describe, expect, it } from 'vitest';
import { Libc, O, WEXITSTATUS, type UserProgram } from '@ebpf-sim/uapi';
import { createKernel } from './kernel.js';

describe('kernel end to end', () => {
  it('runs a program that forks, pipes, waits and writes a file', () => {
    const k = createKernel({ cpus: 2, trace: { enabled: true } });
    const prog: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const pid = yield* libc.getpid();
      yield* libc.write(1, `hello from ${pid}\n`);
      const p = yield* libc.pipe();
      if (!p.ok) return 1;
      const [r, w] = p.value;
      const child = yield* libc.fork(function* (cctx) {
        const c = new Libc(cctx);
        yield* c.close(r);
        yield* c.compute(1000);
        yield* c.write(w, 'ping');
        yield* c.nanosleep(5000);
        return 7;
      });
      yield* libc.close(w);
      const got = yield* libc.read(r, 10);
      yield* libc.write(1, `parent got ${libc.decode(got.data)} from ${child}\n`);
      const st = yield* libc.wait4(-1);
      yield* libc.write(1, `child ${st.pid} status ${WEXITSTATUS(st.status)}\n`);
      const fd = yield* libc.open('/tmp/x', O.CREAT | O.WRONLY);
      yield* libc.write(fd, 'data');
      yield* libc.close(fd);
      const s = yield* libc.stat('/tmp/x');
      yield* libc.write(1, `size ${s.ok ? s.value.size : -1}\n`);
      return 0;
    };
    k.vfs.registerProgram('/bin/p', prog);
    k.spawn('/bin/p');
    k.run();
    expect(k.crashes).toEqual([]);
    expect(k.devices.console.output).toBe('hello from 1\nparent got ping from 2\nchild 2 status 7\nsize 4\n');
    expect(k.exited.get(1)?.status).toBe(0);
    expect(k.trace.lines.some((line) => line.includes('sched_process_fork p:1 -> 2'))).toBe(true);
  });
});
