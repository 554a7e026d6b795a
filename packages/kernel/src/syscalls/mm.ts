import { Errno, MAP, PAGE_SIZE } from '@ebpf-sim/uapi';
import type { SyscallTable } from './table.js';

/** MAP_TYPE bits: SHARED, PRIVATE or SHARED_VALIDATE. */
const MAP_TYPE = 0x0f;

export function registerMmSyscalls(table: SyscallTable): void {
  table.register('mmap', (t, addr, len, prot, flags, _fd, off) => {
    const type = (flags % 16) & MAP_TYPE;
    if (type !== MAP.SHARED && type !== MAP.PRIVATE && type !== 3) return -Errno.EINVAL;
    if (off % PAGE_SIZE !== 0) return -Errno.EINVAL;
    // File-backed mappings are not modelled; Linux answers ENODEV for files without ->mmap.
    if ((flags & MAP.ANONYMOUS) === 0) return -Errno.ENODEV;
    return t.group.mm.mmap(addr, len, prot % 8, flags % 2 ** 31);
  });
  table.register('munmap', (t, addr, len) => t.group.mm.munmap(addr, len));
  table.register('brk', (t, brk) => t.group.mm.setBrk(brk));
}
