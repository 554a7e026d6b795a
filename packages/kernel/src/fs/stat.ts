import { PAGE_SIZE, STAT } from '@ebpf-sim/uapi';
import type { Inode } from './inode.js';

/** Fill a struct stat (x86_64 layout) for `inode` into `out` (STAT.size bytes). */
export function fillStat(inode: Inode, out: Uint8Array): void {
  out.fill(0);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const u64 = (offset: number, value: number): void => {
    view.setUint32(offset, value >>> 0, true);
    view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000) >>> 0, true);
  };
  u64(STAT.st_dev, inode.dev);
  u64(STAT.st_ino, inode.ino);
  u64(STAT.st_nlink, inode.nlink);
  view.setUint32(STAT.st_mode, inode.mode, true);
  view.setUint32(STAT.st_uid, inode.uid, true);
  view.setUint32(STAT.st_gid, inode.gid, true);
  u64(STAT.st_rdev, inode.rdev);
  u64(STAT.st_size, inode.size);
  u64(STAT.st_blksize, PAGE_SIZE);
  u64(STAT.st_blocks, Math.ceil(inode.size / 512));
  for (const [sec, nsec] of [
    [STAT.st_atime, STAT.st_atime_nsec],
    [STAT.st_mtime, STAT.st_mtime_nsec],
    [STAT.st_ctime, STAT.st_ctime_nsec],
  ] as const) {
    u64(sec, Math.floor(inode.mtime / 1e9));
    u64(nsec, inode.mtime % 1e9);
  }
}
