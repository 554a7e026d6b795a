/**
 * PERF_MAX_STACK_DEPTH (include/uapi/linux/perf_event.h): kernel.perf_event_max_stack's default, the most
 * frames a callchain holds (sysctl_perf_event_max_stack). A leaf module, so the stack helpers can use it
 * without loading the map implementations (which load the helper tables).
 */
export const PERF_MAX_STACK_DEPTH = 127;
