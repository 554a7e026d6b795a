import { Errno, Libc, O } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';

describe('/proc/<pid>/fdinfo', () => {
  it('lists the open descriptors and shows pos, flags (with O_CLOEXEC), mnt_id and ino of each, as fs/proc/fd.c does', () => {
    const r: Record<string, unknown> = {};
    const { status, kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      yield* libc.write(yield* libc.open('/tmp/f', O.WRONLY | O.CREAT), 'hello');
      const file = yield* libc.open('/tmp/f', O.RDWR | O.CLOEXEC);
      yield* libc.read(file, 3);
      const dir = yield* libc.open('/proc/self/fdinfo', O.RDONLY | O.DIRECTORY);
      const listing = yield* libc.readdir(dir);
      r.fds = listing.ok ? listing.value.map((entry) => entry.name).filter((name) => name !== '.' && name !== '..') : listing.errno;
      const info = yield* libc.open(`/proc/self/fdinfo/${file}`);
      const text = yield* libc.readAll(info);
      r.text = text.ok ? libc.decode(text.value) : text.errno;
      r.missing = yield* libc.open('/proc/self/fdinfo/99');
      r.notNumber = yield* libc.open('/proc/self/fdinfo/x');
      return 0;
    });
    expect(status).toBe(0);
    const tmp = kernel.vfs.lookup(kernel.vfs.root, '/tmp/f', { uid: 0, gid: 0 });
    if (typeof tmp === 'number') throw new Error(`lookup: ${tmp}`);
    // Descriptors 0-2 are the console; 3 the written file; 4 the file read from; 5 the directory; 6 fdinfo itself.
    expect(r.fds).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(r.text).toBe(`pos:\t3\nflags:\t0${(O.RDWR | O.CLOEXEC).toString(8)}\nmnt_id:\t${tmp.dev}\nino:\t${tmp.ino}\n`);
    expect(r.missing).toBe(-Errno.ENOENT);
    expect(r.notNumber).toBe(-Errno.ENOENT);
  });
});
