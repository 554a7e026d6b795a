/**
 * bpf_perf_event_output (kernel/trace/bpf_trace.c): a raw sample into the BPF-output perf event a
 * PERF_EVENT_ARRAY holds for a CPU, which user space reads from the event's mmap'ed ring.
 *
 * One implementation serves every program type here, with the tracing variant's flags: the CPU index (or
 * BPF_F_CURRENT_CPU) in the low 32 bits and nothing else. Linux's skb and XDP variants (bpf_skb_event_output,
 * bpf_xdp_event_output) also take BPF_F_CTXLEN_MASK to append packet bytes; a length there is EINVAL here.
 */
import { BPF_F_PERF, BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import type { PerfEventArrayMap } from '../maps/arraymap.js';
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/**
 * __bpf_perf_event_output: E2BIG for an index past the array, ENOENT for an empty slot, EOPNOTSUPP for an event
 * bound to another CPU than the one running, else perf_event_output's answer (0, or -ENOSPC when the ring is full).
 */
const perfEventOutput: HelperImpl = (env) => (ctx) => {
  const map = env.mapAt(ctx.argNumber(2));
  // The verifier lets only a PERF_EVENT_ARRAY reach this helper; the registry makes that type a PerfEventArrayMap.
  if (map === undefined || map.type !== BPF_MAP_TYPE.PERF_EVENT_ARRAY) return -Errno.EINVAL;
  // Flags past BPF_F_INDEX_MASK (exact as a number below 2^53; anything above 32 bits is refused either way).
  if (ctx.argNumber(3) > BPF_F_PERF.INDEX_MASK) return -Errno.EINVAL;
  const cpu = env.run.cpu;
  const flagIndex = ctx.argU32(3);
  const index = flagIndex === BPF_F_PERF.CURRENT_CPU ? cpu : flagIndex;
  if (index >= map.maxEntries) return -Errno.E2BIG;
  const event = (map as PerfEventArrayMap).eventAt(index);
  if (event === undefined) return -Errno.ENOENT;
  // event->oncpu: an event opened for one CPU takes samples only there (-1: it follows the task, on this CPU).
  if (event.cpu !== -1 && event.cpu !== cpu) return -Errno.EOPNOTSUPP;
  return event.outputSample(env.k.phys.bytes, ctx.argNumber(4), ctx.argNumber(5));
};

export const PERF_HELPERS: readonly BpfHelper[] = [
  helper(
    'perf_event_output',
    {
      ret: 'integer',
      args: ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero'],
      mapTypes: ['perf_event_array'],
    },
    perfEventOutput,
  ),
];
