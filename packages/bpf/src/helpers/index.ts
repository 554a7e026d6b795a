/** Every helper prototype the simulator knows, by Linux helper number. */
import { BASE_HELPERS } from './base.js';
import { CALLBACK_HELPERS } from './callbacks.js';
import { DYNPTR_HELPERS } from './dynptr.js';
import { protoTable } from './define.js';
import { MAP_HELPERS } from './maps.js';
import { NET_HELPERS } from './net.js';
import { PERF_HELPERS } from './perf.js';
import { SOCK_MAP_HELPERS } from './sock_map.js';
import { TRACING_HELPERS } from './tracing.js';
import { SIGNAL_HELPERS } from './signal.js';
import { STORAGE_HELPERS } from './storage.js';
import { SYS_BPF_HELPERS } from './sys-bpf.js';
import { CGROUP_HELPERS } from './cgroup.js';
import { TIMER_HELPERS } from './timer.js';
import { COPY_FROM_USER_HELPERS } from './copy-from-user.js';
import { SOCK_HELPERS } from './sock.js';

export const HELPERS = protoTable(
  MAP_HELPERS,
  BASE_HELPERS,
  NET_HELPERS,
  TRACING_HELPERS,
  PERF_HELPERS,
  STORAGE_HELPERS,
  CALLBACK_HELPERS,
  DYNPTR_HELPERS,
  SOCK_MAP_HELPERS,
  SIGNAL_HELPERS,
  SYS_BPF_HELPERS,
  CGROUP_HELPERS,
  TIMER_HELPERS,
  COPY_FROM_USER_HELPERS,
  SOCK_HELPERS,
);
export { PRIVILEGED_BASE, UNPRIVILEGED_BASE } from './base.js';
