import { Errno, Libc, MAP, O, PAGE_SIZE, PROT, S_IFREG, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import type { File, FileOperations } from '../fs/file.js';
import { Inode } from '../fs/inode.js';
import { createKernel, type Kernel } from '../kernel.js';

/** A device whose object is two kmalloc'd pages it hands to mmap, as a BPF map or a perf ring does. */
interface FakeObject {
  readonly address: number;
  releases: number;
  readonly calls: Array<{ pgoff: number; pages: number; prot: number; flags: number }>;
}

const OBJECT_PAGES = 2;

function installFake(kernel: Kernel): FakeObject {
  const object: FakeObject = { address: kernel.phys.kmalloc(OBJECT_PAGES * PAGE_SIZE, 'fake-object'), releases: 0, calls: [] };
  const ops: FileOperations = {
    name: 'fake',
    mmap(_file: File, pgoff: number, pages: number, prot: number, flags: number): readonly number[] | number {
      object.calls.push({ pgoff, pages, prot, flags });
      if (pgoff + pages > OBJECT_PAGES) return -Errno.EINVAL;
      return Array.from({ length: pages }, (_, index) => object.address + (pgoff + index) * PAGE_SIZE);
    },
    release(): void {
      object.releases++;
    },
  };
  kernel.vfs.bind('/dev/fake', new Inode(kernel.vfs.rootfs.allocateIno(), S_IFREG | 0o666, 0, 0, 1, ops));
  return object;
}

/** Boot a kernel with /dev/fake, run the program `make` builds over them to the end. */
function run(make: (kernel: Kernel, object: FakeObject) => UserProgram): { kernel: Kernel; object: FakeObject; status: number | undefined } {
  const kernel = createKernel();
  const object = installFake(kernel);
  kernel.vfs.registerProgram('/bin/test', make(kernel, object));
  const pid = kernel.spawn('/bin/test');
  kernel.run({ untilNs: 10e9 });
  return { kernel, object, status: kernel.exited.get(pid)?.status };
}

describe('mmap of a file whose object supplies the pages', () => {
  it("maps the object's pages shared: user writes reach the kernel and back; munmap and close keep the pages; the mapping keeps the file alive", () => {
    const r: Record<string, unknown> = {};
    const { object, status } = run(
      (k, o) =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const fd = yield* libc.open('/dev/fake', O.RDWR);
          const address = yield* libc.mmapFile(fd, 2 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
          r.mapped = address > 0;
          ctx.mem.write(address + PAGE_SIZE + 8, Uint8Array.of(0xab, 0xcd));
          r.kernelSees = [...k.phys.bytes.subarray(o.address + PAGE_SIZE + 8, o.address + PAGE_SIZE + 10)];
          k.phys.bytes[o.address + 5] = 0x77;
          r.userSees = ctx.mem.read(address + 5, 1)[0];
          // The second page alone, at page offset 1: the same frame as the first mapping's second page.
          const second = yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ, MAP.SHARED, PAGE_SIZE);
          r.alias = ctx.mem.read(second + 8, 2)[1];
          yield* libc.close(fd);
          r.releasedAfterClose = o.releases;
          yield* libc.munmap(second, PAGE_SIZE);
          r.releasedAfterFirstUnmap = o.releases;
          // Unmapping half of a mapping splits it: the other half still holds the file.
          yield* libc.munmap(address, PAGE_SIZE);
          r.releasedAfterHalf = o.releases;
          r.stillMapped = ctx.mem.read(address + PAGE_SIZE + 8, 1)[0];
          yield* libc.munmap(address + PAGE_SIZE, PAGE_SIZE);
          r.releasedAfterUnmap = o.releases;
          r.bytesKept = k.phys.bytes[o.address + PAGE_SIZE + 9];
          r.objectPages = k.phys.usageOf('fake-object').pages;
          return 0;
        },
    );
    expect(status).toBe(0);
    expect(r).toEqual({
      mapped: true,
      kernelSees: [0xab, 0xcd],
      userSees: 0x77,
      alias: 0xcd,
      releasedAfterClose: 0,
      releasedAfterFirstUnmap: 0,
      releasedAfterHalf: 0,
      stillMapped: 0xab,
      releasedAfterUnmap: 1,
      bytesKept: 0xcd,
      objectPages: OBJECT_PAGES,
    });
    expect(object.calls).toEqual([
      { pgoff: 0, pages: 2, prot: PROT.READ | PROT.WRITE, flags: MAP.SHARED },
      { pgoff: 1, pages: 1, prot: PROT.READ, flags: MAP.SHARED },
    ]);
  });

  it('gives a private mapping its own copy of a page on the first write; exit drops the mapping and the file, not the pages', () => {
    const r: Record<string, unknown> = {};
    const { kernel, object, status } = run(
      (k, o) =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const fd = yield* libc.open('/dev/fake', O.RDONLY);
          k.phys.bytes[o.address] = 0x11;
          const address = yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE);
          r.before = ctx.mem.read(address, 1)[0];
          ctx.mem.write(address, Uint8Array.of(0x22));
          r.userAfter = ctx.mem.read(address, 1)[0];
          r.objectAfter = k.phys.bytes[o.address];
          // A shared read-only mapping of a read-only file is not VM_SHARED: the file's mmap sees MAP_PRIVATE.
          r.sharedReadOnly = (yield* libc.mmapFile(fd, PAGE_SIZE, PROT.READ, MAP.SHARED)) > 0;
          yield* libc.close(fd);
          return 0;
        },
    );
    expect(status).toBe(0);
    expect(r).toEqual({ before: 0x11, userAfter: 0x22, objectAfter: 0x11, sharedReadOnly: true });
    expect(object.calls.map((call) => call.flags)).toEqual([MAP.PRIVATE, MAP.PRIVATE]);
    expect(object.releases).toBe(1);
    expect(kernel.phys.usageOf('fake-object').pages).toBe(OBJECT_PAGES);
    expect(kernel.phys.bytes[object.address]).toBe(0x11);
  });

  it("answers Linux's errnos: EACCES, ENODEV, EINVAL, EBADF", () => {
    const r: Record<string, number> = {};
    const { object, status } = run(
      () =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const readOnly = yield* libc.open('/dev/fake', O.RDONLY);
          const writeOnly = yield* libc.open('/dev/fake', O.WRONLY);
          const readWrite = yield* libc.open('/dev/fake', O.RDWR);
          // /dev/null has no mmap in Linux either (null_fops).
          const devNull = yield* libc.open('/dev/null', O.RDWR);
          r.sharedWriteOnReadOnly = yield* libc.mmapFile(readOnly, PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
          r.writeOnly = yield* libc.mmapFile(writeOnly, PAGE_SIZE, PROT.READ, MAP.SHARED);
          r.noMmap = yield* libc.mmapFile(devNull, PAGE_SIZE, PROT.READ, MAP.SHARED);
          r.pastTheObject = yield* libc.mmapFile(readWrite, PAGE_SIZE, PROT.READ, MAP.SHARED, 2 * PAGE_SIZE);
          r.tooLong = yield* libc.mmapFile(readWrite, 3 * PAGE_SIZE, PROT.READ, MAP.SHARED);
          r.unaligned = yield* libc.mmapFile(readWrite, PAGE_SIZE, PROT.READ, MAP.SHARED, 100);
          r.noType = yield* libc.mmapFile(readWrite, PAGE_SIZE, PROT.READ, 0);
          r.zeroLength = yield* libc.mmapFile(readWrite, 0, PROT.READ, MAP.SHARED);
          r.badFd = yield* libc.mmapFile(40, PAGE_SIZE, PROT.READ, MAP.SHARED);
          return 0;
        },
    );
    expect(status).toBe(0);
    expect(r).toEqual({
      sharedWriteOnReadOnly: -Errno.EACCES,
      writeOnly: -Errno.EACCES,
      noMmap: -Errno.ENODEV,
      pastTheObject: -Errno.EINVAL,
      tooLong: -Errno.EINVAL,
      unaligned: -Errno.EINVAL,
      noType: -Errno.EINVAL,
      zeroLength: -Errno.EINVAL,
      badFd: -Errno.EBADF,
    });
    // The refused mappings took no reference: exit closed the descriptors and released each file once.
    expect(object.releases).toBe(3);
  });
});
