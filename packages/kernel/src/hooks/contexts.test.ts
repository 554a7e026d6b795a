import { Errno, Libc, MAX_BPF_FUNC_ARGS, O, PT_REGS, SIG, XDP_ACTION, XDP_PACKET_HEADROOM } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { buildUdpFrame } from '../drivers/net/packet-source.js';
import { createKernel } from '../kernel.js';
import { runProgram } from '../testing/run-program.js';
import { readU64 } from './context-writer.js';
import { HOOK_CTX_OBJECTS, type HookInvocation } from './hook.js';
import { BPF_PERF_EVENT_DATA_KERN, LSM_CTX_SIZE, NET_DEVICE, PERF_SAMPLE_DATA, XDP_BUFF, XDP_RXQ_INFO, XDP_TXQ_INFO } from './kernel-objects.js';
import { LSM_FILE_VIEW, LSM_HOOK_ARGS, LSM_TASK_VIEW, lsmSlot } from './lsm.js';

const decoder = new TextDecoder();
const u64 = (inv: HookInvocation, address: number): number => readU64(inv.memory.view, address);
const u32 = (inv: HookInvocation, address: number): number => inv.memory.view.getUint32(address, true);
const cString = (inv: HookInvocation, address: number, max: number): string => {
  const bytes = inv.memory.bytes.subarray(address, address + max);
  const end = bytes.indexOf(0);
  return decoder.decode(bytes.subarray(0, end < 0 ? max : end));
};

describe('each hook declares the kernel object its ctx points to', () => {
  it('by kind: tracepoints a trace_event_raw record, kprobes pt_regs, XDP xdp_buff, perf bpf_perf_event_data_kern, LSM u64 slots', () => {
    const k = createKernel({ devices: { nics: [{}] } });
    for (const hook of k.hooks.list()) expect(hook.ctxObject, hook.name).toBe(HOOK_CTX_OBJECTS[hook.kind]);
    const sizes = Object.fromEntries(
      ['kprobe:vfs_read', 'xdp:eth0', 'perf_event:cpu-clock', 'lsm:task_kill'].map((name) => [name, k.hooks.require(name).ctxSize]),
    );
    expect(sizes).toEqual({
      'kprobe:vfs_read': PT_REGS.size,
      'xdp:eth0': XDP_BUFF.size,
      'perf_event:cpu-clock': BPF_PERF_EVENT_DATA_KERN.size,
      'lsm:task_kill': LSM_CTX_SIZE,
    });
    expect(LSM_CTX_SIZE).toBe(MAX_BPF_FUNC_ARGS * 8);
    expect(k.hooks.require('lsm:task_kill').fields.map((f) => `${f.name}@${f.offset}`)).toEqual(['p@0', 'info@8', 'sig@16', 'cred@24', 'ret@32']);
  });
});

describe('XDP: struct xdp_buff with rxq → xdp_rxq_info → net_device', () => {
  it('builds the buffer on the queue CPU, with 8-byte physical pointers, and the device allocated once at probe', () => {
    const k = createKernel({ cpus: 2, devices: { nics: [{ name: 'eth0', mtu: 9000, rxQueues: 2 }] } });
    const nic = k.devices.nics[0]!;
    const seen: string[] = [];
    nic.xdp.attach((inv) => {
      const data = u64(inv, inv.ctx + XDP_BUFF.data);
      const hardStart = u64(inv, inv.ctx + XDP_BUFF.data_hard_start);
      const rxq = u64(inv, inv.ctx + XDP_BUFF.rxq);
      const dev = u64(inv, rxq + XDP_RXQ_INFO.dev);
      seen.push(
        [
          `cpu=${inv.cpu} len=${u64(inv, inv.ctx + XDP_BUFF.data_end) - data} meta=${u64(inv, inv.ctx + XDP_BUFF.data_meta) === data}`,
          `headroom=${data - hardStart} frame_sz=${u32(inv, inv.ctx + XDP_BUFF.frame_sz)} txq=${u64(inv, inv.ctx + XDP_BUFF.txq)}`,
          `queue=${u32(inv, rxq + XDP_RXQ_INFO.queue_index)} reg_state=${u32(inv, rxq + XDP_RXQ_INFO.reg_state)}`,
          `dev=${dev === nic.netdev} ifindex=${u32(inv, dev + NET_DEVICE.ifindex)} mtu=${u32(inv, dev + NET_DEVICE.mtu)} name=${cString(inv, dev + NET_DEVICE.name, NET_DEVICE.nameMax)}`,
        ].join(' '),
      );
      return XDP_ACTION.PASS;
    });
    nic.receive(buildUdpFrame(0x0a000002, 0x0a000101, 1000, 53, 32, 0), 1);
    nic.receive(buildUdpFrame(0x0a000002, 0x0a000101, 1000, 53, 32, 1), 0);
    k.run();
    const frameSize = Math.ceil((XDP_PACKET_HEADROOM + 9000 + 18) / 4096) * 4096;
    expect(seen).toEqual([
      `cpu=1 len=74 meta=true headroom=${XDP_PACKET_HEADROOM} frame_sz=${frameSize} txq=0 queue=1 reg_state=1 dev=true ifindex=2 mtu=9000 name=eth0`,
      `cpu=0 len=74 meta=true headroom=${XDP_PACKET_HEADROOM} frame_sz=${frameSize} txq=0 queue=0 reg_state=1 dev=true ifindex=2 mtu=9000 name=eth0`,
    ]);
    // The receive buffer and the net_device with its two xdp_rxq_info and its xdp_txq_info, charged to the device.
    expect(k.phys.usageOf('nic:eth0')).toMatchObject({ allocations: 2, bytes: frameSize + 32 + 2 * XDP_RXQ_INFO.size + XDP_TXQ_INFO.size });
    expect(nic.delivered).toHaveLength(2);
    expect(() => nic.receive(new Uint8Array(60), 2)).toThrow('eth0: no RX queue 2 (the device has 2)');
  });
});

describe('perf_event: bpf_perf_event_data_kern', () => {
  it('points regs at the sampled pt_regs and data at a perf_sample_data holding the period', () => {
    const samples: string[] = [];
    runProgram(
      function* (ctx) {
        // The sampled registers are the task's as of its last trap: this compute request (r0 = 3 ms).
        yield* new Libc(ctx).compute(3_000_000);
        return 0;
      },
      { perfSamplePeriodNs: 1_000_000 },
      (k) => {
        const detach = k.hooks.require('perf_event:cpu-clock').attach((inv) => {
          const regs = u64(inv, inv.ctx + BPF_PERF_EVENT_DATA_KERN.regs);
          const data = u64(inv, inv.ctx + BPF_PERF_EVENT_DATA_KERN.data);
          const outside = regs >= inv.ctx + inv.ctxSize && data >= regs + PT_REGS.size;
          samples.push(
            `pid=${inv.pid} orig_ax=${u64(inv, regs + PT_REGS.orig_ax)} period=${u64(inv, data + PERF_SAMPLE_DATA.period)} addr=${u64(inv, data + PERF_SAMPLE_DATA.addr)} outside=${outside}`,
          );
          if (samples.length === 2) detach();
          return 0;
        });
      },
    );
    expect(samples).toEqual(['pid=1 orig_ax=3000000 period=1000000 addr=0 outside=true', 'pid=1 orig_ax=3000000 period=1000000 addr=0 outside=true']);
  });
});

describe('LSM: u64 argument slots, the return slot after the last argument, objects outside the context', () => {
  it('file_open and task_kill contexts', () => {
    const seen: string[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.open('/tmp/f', O.CREAT | O.WRONLY);
        const child = yield* libc.fork(function* (c) {
          yield* new Libc(c).nanosleep(1_000_000);
          return 0;
        });
        yield* libc.kill(child, SIG.SIGKILL);
        yield* libc.wait4(child);
        return 0;
      },
      {},
      (k) => {
        k.hooks.require('lsm:file_open').attach((inv) => {
          const file = u64(inv, inv.ctx + lsmSlot(0));
          const ret = u64(inv, inv.ctx + lsmSlot(LSM_HOOK_ARGS.file_open.length));
          const outside = file >= inv.ctx + LSM_CTX_SIZE;
          seen.push(`file_open size=${inv.ctxSize} path=${cString(inv, file + LSM_FILE_VIEW.path, LSM_FILE_VIEW.pathMax)} ret=${ret} outside=${outside}`);
          return 0;
        });
        k.hooks.require('lsm:task_kill').attach((inv) => {
          const p = u64(inv, inv.ctx + lsmSlot(0));
          const slots = [1, 2, 3, 4].map((index) => u64(inv, inv.ctx + lsmSlot(index)));
          seen.push(`task_kill pid=${inv.memory.view.getInt32(p + LSM_TASK_VIEW.pid, true)} info,sig,cred,ret=${slots.join(',')}`);
          return 0;
        });
      },
    );
    expect(seen).toEqual([`file_open size=${LSM_CTX_SIZE} path=/tmp/f ret=0 outside=true`, `task_kill pid=2 info,sig,cred,ret=0,${SIG.SIGKILL},0,0`]);
  });

  it('a second program does not run once the first denies (fmod_ret), and a non-errno result is EPERM', () => {
    const ran: string[] = [];
    let result = 0;
    runProgram(
      function* (ctx) {
        result = yield* new Libc(ctx).open('/tmp/f', O.CREAT | O.WRONLY);
        return 0;
      },
      {},
      (k) => {
        const hook = k.hooks.require('lsm:file_open');
        hook.attach(() => {
          ran.push('first');
          return 1;
        });
        hook.attach(() => {
          ran.push('second');
          return -Errno.EACCES;
        });
      },
    );
    expect(ran).toEqual(['first']);
    expect(result).toBe(-Errno.EPERM);
  });
});
