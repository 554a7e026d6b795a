import { Errno, SYSCALL_NAME_BY_NR, TRACE_RAW_SYS_ENTER, XDP_ACTION } from '@ebpf-sim/uapi';
import type { NicStats } from '../drivers/net/model.js';
import { udpFlowSource } from '../drivers/net/packet-source.js';
import { readU64 } from '../hooks/context-writer.js';
import { XDP_BUFF } from '../hooks/kernel-objects.js';
import { LSM_FILE_VIEW } from '../hooks/lsm.js';
import { createKernel } from '../kernel.js';
import { consumer, producer, shell, SHELL_PROGRAMS } from '../user/shell-workload.js';

/** What the hook tour observed. */
export interface HookTour {
  /** Syscalls seen by a handler on raw_syscalls:sys_enter, by syscall name, most frequent first. */
  syscallsByName: Array<[string, number]>;
  /** ...and by command name. */
  syscallsByComm: Array<[string, number]>;
  /** perf_event:cpu-clock samples by command name (idle is "swapper/N"). */
  samplesByComm: Array<[string, number]>;
  /** Opens refused by the lsm:file_open handler, and how the shell ended. */
  deniedOpens: string[];
  shellStatusWithDenial: number | undefined;
  /** XDP: frames seen, and the NIC's counters after dropping odd UDP source ports. */
  xdpFrames: number;
  nic: NicStats;
  /** How often each hook fired. */
  fired: Array<[string, number]>;
}

const sorted = (counts: Map<string, number>): Array<[string, number]> => [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
const bump = (counts: Map<string, number>, key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);

/**
 * A tour of the hook points with plain TypeScript handlers standing in for eBPF programs: each reads its
 * context from physical memory at the address the kernel hands it, exactly where a program's ctx would be.
 *  1. raw_syscalls:sys_enter counts syscalls; perf_event:cpu-clock samples the running task (the shell workload).
 *  2. lsm:file_open refuses opens of /tmp/job0.in: that pipeline's producer fails.
 *  3. xdp:eth0 drops UDP frames with an odd source port from a generated flow.
 */
export function runHookTour(seed = 1, jobs = 4): HookTour {
  const register = (k: ReturnType<typeof createKernel>): void => {
    k.vfs.registerProgram(SHELL_PROGRAMS.sh, shell);
    k.vfs.registerProgram(SHELL_PROGRAMS.producer, producer);
    k.vfs.registerProgram(SHELL_PROGRAMS.consumer, consumer);
  };

  // 1. Counting syscalls and sampling.
  const tracing = createKernel({ cpus: 2, seed, perfSamplePeriodNs: 500_000 });
  register(tracing);
  const byName = new Map<string, number>();
  const byComm = new Map<string, number>();
  const samples = new Map<string, number>();
  tracing.hooks.require('raw_syscalls:sys_enter').attach((inv) => {
    const id = readU64(inv.memory.view, inv.ctx + TRACE_RAW_SYS_ENTER.id, true);
    bump(byName, SYSCALL_NAME_BY_NR.get(id) ?? `nr${id}`);
    bump(byComm, inv.comm);
    return 0;
  });
  // The perf timer samples for as long as a handler is attached (idle CPUs too): detach once all tasks are gone.
  const detachSampler = tracing.hooks.require('perf_event:cpu-clock').attach((inv) => {
    if (tracing.alive === 0) detachSampler();
    else bump(samples, inv.comm);
    return 0;
  });
  tracing.spawn(SHELL_PROGRAMS.sh, { argv: ['sh', String(jobs)] });
  tracing.run({ untilNs: 60e9 });

  // 2. An LSM policy.
  const guarded = createKernel({ cpus: 2, seed });
  register(guarded);
  const denied: string[] = [];
  guarded.hooks.require('lsm:file_open').attach((inv) => {
    const file = readU64(inv.memory.view, inv.ctx);
    const bytes = inv.memory.bytes.subarray(file + LSM_FILE_VIEW.path, file + LSM_FILE_VIEW.path + LSM_FILE_VIEW.pathMax);
    const path = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
    if (path !== '/tmp/job0.in') return 0;
    denied.push(`${inv.comm}:${inv.pid} ${path}`);
    return -Errno.EPERM;
  });
  const sh = guarded.spawn(SHELL_PROGRAMS.sh, { argv: ['sh', String(jobs)] });
  guarded.run({ untilNs: 60e9 });

  // 3. XDP.
  const net = createKernel({ seed, devices: { nics: [{ name: 'eth0' }] } });
  const nic = net.devices.nics[0];
  if (nic === undefined) throw new Error('hook tour: no NIC');
  let frames = 0;
  nic.xdp.attach((inv) => {
    frames++;
    const view = inv.memory.view;
    // The context is the struct xdp_buff a program's xdp_md->data / ->data_end reads are rewritten to.
    const data = readU64(view, inv.ctx + XDP_BUFF.data);
    const end = readU64(view, inv.ctx + XDP_BUFF.data_end);
    // Ethernet (14) + IPv4 without options (20): the UDP source port, bounds-checked like a verified program.
    if (data + 14 + 20 + 2 > end) return XDP_ACTION.PASS;
    return view.getUint16(data + 34, false) % 2 === 1 ? XDP_ACTION.DROP : XDP_ACTION.PASS;
  });
  nic.attachSource(udpFlowSource(net.random, { count: 1000, intervalNs: 1000, poisson: true, flows: 8 }));
  net.run();

  const fired = new Map<string, number>();
  for (const k of [tracing, guarded, net])
    for (const hook of k.hooks.list()) if (hook.fired > 0) fired.set(hook.name, (fired.get(hook.name) ?? 0) + hook.fired);
  return {
    syscallsByName: sorted(byName),
    syscallsByComm: sorted(byComm),
    samplesByComm: sorted(samples),
    deniedOpens: denied,
    shellStatusWithDenial: guarded.exited.get(sh)?.status,
    xdpFrames: frames,
    nic: { ...nic.stats },
    fired: sorted(fired),
  };
}
