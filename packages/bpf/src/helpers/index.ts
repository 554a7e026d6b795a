/** Every helper prototype the simulator knows, by Linux helper number. */
import { BASE_HELPERS } from './base.js';
import { protoTable } from './define.js';
import { MAP_HELPERS } from './maps.js';
import { NET_HELPERS } from './net.js';
import { PERF_HELPERS } from './perf.js';
import { TRACING_HELPERS } from './tracing.js';
import { STORAGE_HELPERS } from './storage.js';

export const HELPERS = protoTable(MAP_HELPERS, BASE_HELPERS, NET_HELPERS, TRACING_HELPERS, PERF_HELPERS, STORAGE_HELPERS);
export { PRIVILEGED_BASE, UNPRIVILEGED_BASE } from './base.js';
