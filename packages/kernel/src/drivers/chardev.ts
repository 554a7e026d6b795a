import { S_IFCHR } from '@ebpf-sim/uapi';
import type { File, FileOperations, IoContext } from '../fs/file.js';
import { Inode } from '../fs/inode.js';
import type { Vfs } from '../fs/vfs.js';
import type { RandomSource } from '../services.js';

/** makedev(major, minor) as Linux encodes small numbers. */
export const makedev = (major: number, minor: number): number => (major << 8) | minor;

/** Create a character-device node at `path` whose files use `ops`. */
export function createCharDevice(vfs: Vfs, path: string, rdev: number, ops: FileOperations, mode = 0o666): Inode {
  const inode = new Inode(vfs.rootfs.allocateIno(), S_IFCHR | mode, 0, 0, vfs.rootfs.dev, ops);
  inode.rdev = rdev;
  vfs.bind(path, inode);
  return inode;
}

/** /dev/null: reads end at once, writes vanish. */
export const nullOps: FileOperations = {
  name: 'null',
  read: () => 0,
  write: (_io: IoContext, _file: File, _data: Uint8Array, count: number) => count,
  llseek: () => 0,
};

/** /dev/zero: reads give zeros. */
export const zeroOps: FileOperations = {
  name: 'zero',
  read(_io: IoContext, _file: File, buffer: Uint8Array, count: number): number {
    buffer.fill(0, 0, count);
    return count;
  },
  write: (_io: IoContext, _file: File, _data: Uint8Array, count: number) => count,
  llseek: () => 0,
};

/** /dev/urandom: bytes from the kernel's seeded PRNG (deterministic per seed). */
export function urandomOps(random: RandomSource): FileOperations {
  return {
    name: 'urandom',
    read(_io: IoContext, _file: File, buffer: Uint8Array, count: number): number {
      random.fill(buffer.subarray(0, count));
      return count;
    },
    write: (_io: IoContext, _file: File, _data: Uint8Array, count: number) => count,
    llseek: () => 0,
  };
}
