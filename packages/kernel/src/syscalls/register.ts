import { registerIoSyscalls, type IoSyscallServices } from './fs-io.js';
import { registerPathSyscalls, type PathSyscallServices } from './fs-path.js';
import { registerMmSyscalls } from './mm.js';
import { registerProcessSyscalls, type ProcessSyscallServices } from './process.js';
import { registerSocketSyscalls, type SocketSyscallServices } from './socket.js';
import type { SyscallTable } from './table.js';
import { registerTimeSyscalls, type TimeSyscallServices } from './time.js';

/** What the kernel model's syscalls use, together. */
export type SyscallServices = IoSyscallServices & PathSyscallServices & ProcessSyscallServices & TimeSyscallServices & SocketSyscallServices;

/** Fill the kernel's table with every syscall the kernel model implements (bpf is registered by the bpf subsystem). */
export function registerAllSyscalls(table: SyscallTable, k: SyscallServices): void {
  registerIoSyscalls(table, k);
  registerPathSyscalls(table, k);
  registerProcessSyscalls(table, k);
  registerTimeSyscalls(table, k);
  registerMmSyscalls(table);
  registerSocketSyscalls(table, k);
}
