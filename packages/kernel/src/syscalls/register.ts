import { registerIoSyscalls } from './fs-io.js';
import { registerPathSyscalls } from './fs-path.js';
import { registerMmSyscalls } from './mm.js';
import { registerProcessSyscalls } from './process.js';
import type { SyscallTable } from './table.js';
import { registerTimeSyscalls } from './time.js';

/** Fill the table with every syscall the kernel model implements (bpf is registered by the bpf subsystem). */
export function registerAllSyscalls(table: SyscallTable): void {
  registerIoSyscalls(table);
  registerPathSyscalls(table);
  registerProcessSyscalls(table);
  registerTimeSyscalls(table);
  registerMmSyscalls(table);
}
