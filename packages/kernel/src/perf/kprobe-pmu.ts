/**
 * The kprobe PMU (kernel/events/core.c perf_kprobe, kernel/trace/trace_event_perf.c perf_kprobe_init,
 * kernel/trace/trace_kprobe.c create_local_trace_kprobe): perf_event_open with `type` = the PMU's dynamic
 * type (read from /sys/bus/event_source/devices/kprobe/type), config1 = a user pointer to the function's
 * name, config2 = the offset into it, config bit 0 = a return probe. The event's programs run at the
 * function's kprobe or kretprobe hook. Also the PMUs' sysfs files tools read.
 */
import { Errno, KSYM_NAME_LEN, PERF_EVENT_ATTR, PERF_PROBE_CONFIG_IS_RETPROBE, PERF_TYPE } from '@ebpf-sim/uapi';
import type { SysfsFiles } from '../fs/sysfs.js';
import type { HookRegistry } from '../hooks/registry.js';
import type { Task } from '../task/task.js';
import type { PerfEventSource } from './perf-event.js';

/**
 * The kprobe PMU's type. perf_pmu_register gives PMUs registered with type -1 the next free id from
 * PERF_TYPE_MAX (6) on; the kprobe PMU is the first of them on a kernel whose architecture PMU keeps its
 * fixed type (perf_tp_register registers tracepoint, then kprobe, then uprobe).
 */
export const KPROBE_PMU_TYPE = 6;

const encoder = new TextEncoder();

/** /sys/bus/event_source/devices/<pmu>/type (and the kprobe PMU's format/retprobe), as perf_event_sysfs_init publishes them. */
export function publishPmus(sysfs: SysfsFiles): void {
  const devices = '/sys/bus/event_source/devices';
  sysfs.addReadOnly(`${devices}/software/type`, encoder.encode(`${PERF_TYPE.SOFTWARE}\n`));
  sysfs.addReadOnly(`${devices}/tracepoint/type`, encoder.encode(`${PERF_TYPE.TRACEPOINT}\n`));
  sysfs.addReadOnly(`${devices}/kprobe/type`, encoder.encode(`${KPROBE_PMU_TYPE}\n`));
  // PMU_FORMAT_ATTR(retprobe, "config:0"): the bit of attr.config that makes a return probe.
  sysfs.addReadOnly(`${devices}/kprobe/format/retprobe`, encoder.encode('config:0\n'));
}

/**
 * perf_kprobe_event_init and perf_kprobe_init, for the attr in `attr`: EACCES without CAP_PERFMON; the name
 * behind config1 copied with strndup_user (EFAULT; a name of KSYM_NAME_LEN bytes or more is E2BIG, as
 * perf_kprobe_init turns strndup_user's EINVAL); an empty name counts as none. Then register_kprobe's
 * answers: without a name the probe is at the address in config2, and no kernel text is laid out to probe
 * (0 is EINVAL as _kprobe_addr's "no symbol and no address"; another address is EINVAL as an address outside
 * kernel text); a function without a kprobe site is ENOENT (kprobe_lookup_name finds no such symbol); an
 * offset into a function is EINVAL (only entries are modelled: Linux would check the instruction boundary,
 * and refuses any offset for a return probe).
 */
export function kprobeEventSource(hooks: Pick<HookRegistry, 'get'>, task: Task, config: bigint, attr: DataView, perfmon: boolean): PerfEventSource | number {
  if (!perfmon) return -Errno.EACCES;
  const retprobe = (config & BigInt(PERF_PROBE_CONFIG_IS_RETPROBE)) !== 0n;
  const funcAddress = attr.getBigUint64(PERF_EVENT_ATTR.config1, true);
  const offset = attr.getBigUint64(PERF_EVENT_ATTR.config2, true);
  let name = '';
  if (funcAddress !== 0n) {
    const copied = funcAddress < 2n ** 53n ? task.group.mm.readCString(Number(funcAddress), KSYM_NAME_LEN) : -Errno.EFAULT;
    if (typeof copied === 'number') return copied === -Errno.ENAMETOOLONG ? -Errno.E2BIG : copied;
    name = copied;
  }
  if (name === '') return -Errno.EINVAL;
  const hook = hooks.get(`${retprobe ? 'kretprobe' : 'kprobe'}:${name}`);
  if (hook === undefined) return -Errno.ENOENT;
  if (offset !== 0n) return -Errno.EINVAL;
  return { kind: retprobe ? 'kretprobe' : 'kprobe', attrType: KPROBE_PMU_TYPE, config: Number(config & 0xffff_ffffn), hook, name, probeOffset: 0 };
}
