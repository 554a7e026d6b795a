/**
 * Running a cgroup's effective programs (kernel/bpf/cgroup.c): bpf_prog_run_array_cg and its callers
 * __cgroup_bpf_run_filter_skb and __cgroup_bpf_run_filter_sk. Every program of the array runs; one that
 * returns 0 (its low bit clear) makes the answer -EPERM. Egress programs may also ask for congestion
 * notification with bit 1 (2: drop and notify, 3: pass and notify), which turns the answer into a NET_XMIT_*
 * code. The kernel's hook sites (packages/kernel/src/net) call this through the {@link CgroupBpfRunner} the
 * bpf subsystem registers at boot.
 *
 * A program's bpf_get_local_storage answers the storages of the item being run (run_ctx->prog_item), set in
 * the runtime's RunState around each program and restored after.
 */
import type { Cgroup, CgroupBpfRunner, CurrentTask, Task } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import { cgroupBpfInherit, cgroupEffective, type EffectiveItem } from './cgroup.js';

/** NET_XMIT_* (include/linux/netdevice.h): what an egress filter's verdict becomes. */
export const NET_XMIT = { SUCCESS: 0, DROP: 1, CN: 2 } as const;

/** The runner the kernel's cgroup hooks call (registered by registerCgroupBpf). */
export function cgroupRunner(bpf: BpfSyscall, current: CurrentTask, onRelease: (cgroup: Cgroup) => void): CgroupBpfRunner {
  const runtime = bpf.runtime;
  const run = runtime.run;
  /** bpf_prog_run_array_cg's ret_flags: bit 0 once any egress program asked for congestion notification. */
  let retFlags = 0;

  /** bpf_prog_run_array_cg: 0, or -EPERM when a program returned 0. */
  const runArray = (items: readonly EffectiveItem[], ctx: number, withFlags: boolean): number => {
    const cpu = current.currentCpu;
    const storages = run.cgroupStorages;
    const saved0 = storages[0];
    const saved1 = storages[1];
    let retval = 0;
    retFlags = 0;
    try {
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as EffectiveItem;
        storages[0] = item.storages[0];
        storages[1] = item.storages[1];
        let ret = runtime.runAtHook(item.prog, ctx, cpu, 0n) >>> 0;
        if (withFlags) {
          retFlags |= ret >>> 1;
          ret &= 1;
        }
        if (ret === 0 && retval === 0) retval = -Errno.EPERM;
      }
    } finally {
      storages[0] = saved0;
      storages[1] = saved1;
    }
    return retval;
  };

  return {
    runSkb(cgroup: Cgroup, attachType: number, _sk: number, skb: number, _task: Task | undefined): number {
      const items = cgroupEffective(cgroup, attachType);
      if (items.length === 0) return 0;
      if (attachType !== BPF_ATTACH_TYPE.CGROUP_INET_EGRESS) return runArray(items, skb, false);
      const ret = runArray(items, skb, true);
      const cn = (retFlags & 1) !== 0;
      if (ret === 0) return cn ? NET_XMIT.CN : NET_XMIT.SUCCESS;
      return cn ? NET_XMIT.DROP : ret;
    },
    runSock(cgroup: Cgroup, attachType: number, sk: number, _task: Task | undefined): number {
      const items = cgroupEffective(cgroup, attachType);
      return items.length === 0 ? 0 : runArray(items, sk, false);
    },
    inherit: cgroupBpfInherit,
    released: onRelease,
  };
}
