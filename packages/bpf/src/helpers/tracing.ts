/**
 * Tracing helpers (kernel/trace/bpf_trace.c, kernel/bpf/helpers.c): current task facts, stacks, perf
 * counters, kprobe overrides; with the implementations of the current-task ones (the current cgroup's are in
 * cgroup.ts).
 */
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';
import { sendSignalProcess } from './signal.js';
import { getFuncIp, getStack, getStackid, overrideReturn } from './stack.js';

/** TASK_COMM_LEN: task->comm holds 15 characters and a NUL. */
export const TASK_COMM_LEN = 16;

/**
 * bpf_get_current_uid_gid: (gid << 32) | uid, the real ids of the current task's credentials (current_uid_gid).
 * With no task on the CPU, the idle task's root credentials: 0.
 */
const getCurrentUidGid: HelperImpl = (env) => () => {
  const task = env.k.current.currentTask();
  if (task === undefined) return 0;
  const cred = task.group.cred;
  return (cred.gid >>> 0) * 2 ** 32 + (cred.uid >>> 0);
};

/**
 * bpf_get_current_comm(buf, size): strscpy_pad of task->comm (at most TASK_COMM_LEN - 1 characters, cut to
 * size - 1, NUL-terminated, the rest of the buffer zeroed); 0. The verifier keeps size above 0 (ARG_CONST_SIZE;
 * strscpy_pad would write nothing for 0). With no task on the CPU, current is the idle task, "swapper/<cpu>".
 * Linux's -EINVAL with a zeroed buffer is for a NULL current, which cannot happen there or here.
 */
const getCurrentComm: HelperImpl = (env) => (ctx) => {
  const dst = ctx.argNumber(1);
  const size = ctx.argU32(2);
  const bytes = env.k.phys.bytes;
  const comm = env.k.current.currentTask()?.comm ?? `swapper/${env.run.cpu}`;
  const n = Math.min(comm.length, TASK_COMM_LEN - 1, size - 1);
  for (let i = 0; i < n; i++) bytes[dst + i] = comm.charCodeAt(i) & 0xff;
  bytes.fill(0, dst + n, dst + size);
  return 0;
};

export const TRACING_HELPERS: readonly BpfHelper[] = [
  helper('get_current_uid_gid', { ret: 'integer', args: [] }, getCurrentUidGid),
  helper('get_current_comm', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size'] }, getCurrentComm),
  helper('get_ns_current_pid_tgid', { ret: 'integer', args: ['anything', 'anything', 'ptr_to_uninit_mem', 'const_size'] }),
  helper('perf_event_read', { ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['perf_event_array'] }),
  helper('perf_event_read_value', {
    ret: 'integer',
    args: ['const_map_ptr', 'anything', 'ptr_to_uninit_mem', 'const_size'],
    gplOnly: true,
    mapTypes: ['perf_event_array'],
  }),
  helper('perf_prog_read_value', { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size'] }),
  helper('get_stackid', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], gplOnly: true, mapTypes: ['stack_trace'] }, getStackid),
  helper('get_stack', { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }, getStack),
  helper('override_return', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], gplOnly: true }, overrideReturn),
  helper('send_signal', { ret: 'integer', args: ['anything'] }, sendSignalProcess),
  helper('get_func_ip', { ret: 'integer', args: ['ptr_to_ctx'] }, getFuncIp),
  // The attachment's bpf_cookie (the run context's, as kprobe/tracepoint/perf_event programs read it in Linux).
  helper('get_attach_cookie', { ret: 'integer', args: ['ptr_to_ctx'] }, (env) => () => env.run.cookie),
];
