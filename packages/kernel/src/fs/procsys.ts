/**
 * /proc/sys: the sysctl table as files (fs/proc/proc_sysctl.c). `kernel.bpf_stats_enabled` is the file
 * /proc/sys/kernel/bpf_stats_enabled; the directories are the dotted prefixes of the registered names, computed
 * at lookup, so a sysctl registered after boot appears at once. Reading and writing follow proc_dointvec.
 */
import { Errno, S_IFDIR, S_IFREG } from '@ebpf-sim/uapi';
import type { Task } from '../task/task.js';
import type { File, FileOperations, IoContext } from './file.js';
import { Inode, type DirectoryOperations } from './inode.js';
import { directoryFileOps, genericLlseek } from './ramfs.js';
import type { SysctlSlot, SysctlTable } from './sysctl.js';

/** What /proc/sys needs: the table, and the task doing the write (the owner's check asks for its capabilities). */
export interface ProcSysSource {
  readonly sysctl: Pick<SysctlTable, 'get' | 'list' | 'set'>;
  currentTask(): Task | undefined;
}

/** proc_dointvec caps a write at one page less its NUL. */
const WRITE_MAX = 4095;
/** proc_get_long copies at most TMPBUFLEN - 1 bytes of a number (TMPBUFLEN is 22). */
const TMPBUFLEN = 22;
const INT_MAX = 0x7fff_ffff;

/** isspace() as the kernel's ctype has it: what proc_skip_spaces skips. */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
/** proc_wspace_sep: what may follow a number. */
const isSeparator = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a;
const digitValue = (c: number): number => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : 99);

/**
 * Parse one integer as proc_dointvec's write does: leading whitespace skipped, an optional '-', the base
 * from the prefix (0x hex, 0 octal, else decimal: strtoul with base 0), then only whitespace. Returns the
 * value and the bytes consumed (trailing whitespace included; anything after it is left unconsumed, as the
 * kernel's `*lenp -= left` does), or -EINVAL for junk, an empty write or a value outside int.
 */
export function parseDointvec(data: Uint8Array, count: number): { value: number; consumed: number } | number {
  const end = Math.min(count, WRITE_MAX);
  let at = 0;
  while (at < end && isSpace(data[at] as number)) at++;
  if (at === end) return -Errno.EINVAL;
  // proc_get_long works on a copy of at most TMPBUFLEN - 1 bytes.
  const limit = Math.min(end, at + TMPBUFLEN - 1);
  let cursor = at;
  const negative = data[cursor] === 0x2d;
  if (negative) cursor++;
  if (cursor >= limit || digitValue(data[cursor] as number) > 9) return -Errno.EINVAL;
  let base = 10;
  if (data[cursor] === 0x30) {
    const next = cursor + 1 < limit ? (data[cursor + 1] as number) | 0x20 : 0;
    if (next === 0x78 && cursor + 2 < limit && digitValue(data[cursor + 2] as number) < 16) {
      base = 16;
      cursor += 2;
    } else base = 8;
  }
  let magnitude = 0;
  while (cursor < limit) {
    const digit = digitValue(data[cursor] as number);
    if (digit >= base) break;
    magnitude = magnitude * base + digit;
    // strtoul_lenient's overflow (-ERANGE) is EINVAL here; beyond int it is EINVAL anyway.
    if (magnitude > 2 ** 64) return -Errno.EINVAL;
    cursor++;
  }
  if (cursor - at === TMPBUFLEN - 1) return -Errno.EINVAL;
  if (cursor < end && !isSeparator(data[cursor] as number)) return -Errno.EINVAL;
  if (negative ? magnitude > INT_MAX + 1 : magnitude > INT_MAX) return -Errno.EINVAL;
  while (cursor < end && isSpace(data[cursor] as number)) cursor++;
  return { value: negative ? -magnitude : magnitude, consumed: cursor };
}

interface SysctlFileData {
  readonly source: ProcSysSource;
  readonly name: string;
}

const sysctlOf = (file: File): SysctlFileData => file.inode.privateData as SysctlFileData;

/** A sysctl file: `<value>\n` read from offset 0, one integer written at offset 0 through the table's check. */
const sysctlFileOps: FileOperations = {
  name: 'proc-sys',
  read(_io: IoContext, file: File, buffer: Uint8Array, count: number): number {
    const { source, name } = sysctlOf(file);
    const slot = source.sysctl.get(name);
    // __do_proc_dointvec: a read from a non-zero offset is the end of the file.
    if (slot === undefined || file.pos !== 0) return 0;
    const text = new TextEncoder().encode(`${slot.value}\n`);
    const n = Math.min(count, text.length);
    buffer.set(text.subarray(0, n));
    file.pos += n;
    return n;
  },
  write(_io: IoContext, file: File, data: Uint8Array, count: number): number {
    const { source, name } = sysctlOf(file);
    // sysctl_writes_strict (default 1): a write past offset 0 is ignored and reported as written.
    if (file.pos !== 0) {
      file.pos += count;
      return count;
    }
    const parsed = parseDointvec(data, count);
    if (typeof parsed === 'number') return parsed;
    const task = source.currentTask();
    if (task === undefined) return -Errno.EPERM;
    const ret = source.sysctl.set(task, name, parsed.value);
    if (ret < 0) return ret;
    file.pos += parsed.consumed;
    return parsed.consumed;
  },
  // default_llseek over an inode of size 0, as proc_sys_inode's are.
  llseek(file: File, offset: number, whence: number): number {
    return genericLlseek(file, offset, whence, 0);
  },
};

/** The /proc/sys tree. Inodes are made once per path and kept, so a path keeps its inode number. */
export class ProcSys implements DirectoryOperations {
  readonly root: Inode;
  private readonly inodes = new Map<string, Inode>();
  private nextIno = 2;

  constructor(
    readonly dev: number,
    private readonly source: ProcSysSource,
  ) {
    this.root = new Inode(1, S_IFDIR | 0o555, 0, 0, dev, directoryFileOps);
    this.root.dirOps = this;
    this.root.privateData = '';
  }

  lookup(dir: Inode, name: string): Inode | undefined {
    const path = `${dir.privateData as string}${name}`;
    if (this.source.sysctl.get(path) !== undefined) return this.inode(dir, path, false);
    const prefix = `${path}.`;
    return this.source.sysctl.list().some((slot: SysctlSlot) => slot.name.startsWith(prefix)) ? this.inode(dir, path, true) : undefined;
  }

  list(dir: Inode): Array<[string, Inode]> {
    const prefix = dir.privateData as string;
    const names = new Set<string>();
    for (const slot of this.source.sysctl.list()) {
      if (!slot.name.startsWith(prefix)) continue;
      const rest = slot.name.slice(prefix.length);
      names.add(rest.slice(0, rest.includes('.') ? rest.indexOf('.') : undefined));
    }
    const entries: Array<[string, Inode]> = [];
    for (const name of names) {
      const inode = this.lookup(dir, name);
      if (inode !== undefined) entries.push([name, inode]);
    }
    return entries;
  }

  /** The inode of `path` (dotted), made on first use: a directory (its privateData the prefix `path.`) or a file. */
  private inode(parent: Inode, path: string, directory: boolean): Inode {
    const key = `${directory ? 'd' : 'f'}:${path}`;
    let inode = this.inodes.get(key);
    if (inode === undefined) {
      if (directory) {
        inode = new Inode(this.nextIno++, S_IFDIR | 0o555, 0, 0, this.dev, directoryFileOps);
        inode.dirOps = this;
        inode.privateData = `${path}.`;
      } else {
        // proc_dointvec files are 0644 root's; the owner's check decides who may write.
        inode = new Inode(this.nextIno++, S_IFREG | 0o644, 0, 0, this.dev, sysctlFileOps);
        inode.privateData = { source: this.source, name: path } satisfies SysctlFileData;
      }
      inode.parent = parent;
      this.inodes.set(key, inode);
    }
    return inode;
  }
}
