/**
 * bpf_prog_test_run_flow_dissector (net/bpf/test_run.c, Linux 6.18): data_in (an Ethernet frame, at most a
 * page) is dissected as bpf_flow_dissect does on the receive path: the program gets struct bpf_flow_dissector
 * over the frame, with flow keys zeroed and set to the frame's EtherType (n_proto), nhoff = thoff = ETH_HLEN and
 * ctx_in's flags; after each run nhoff and thoff are clamped into the frame. data_out receives the flow keys
 * (struct bpf_flow_keys, 56 bytes), not the packet; ctx_in may set only `flags`.
 */
import { BPF_FLOW_DISSECTOR } from '@ebpf-sim/kernel';
import { BPF_FLOW_KEYS, Errno, PAGE_SIZE } from '@ebpf-sim/uapi';
import { ETH_HLEN, writePtr } from '../net/xdp.js';
import { TestRunAllocations, ctxFinish, ctxInit, skbDataAlign, testFinish } from './common.js';
import type { TestRunOp } from './types.js';

/** The largest u32 (a duration above it is reported as U32_MAX). */
const U32_MAX = 0xffffffff;

/** verify_user_bpf_flow_keys: every byte of ctx_in but `flags` is zero. */
function onlyFlags(ctx: Uint8Array): boolean {
  return ctx.every((byte, i) => byte === 0 || (i >= BPF_FLOW_KEYS.flags && i < BPF_FLOW_KEYS.flags + 4));
}

const clampU16 = (value: number, lo: number, hi: number): number => Math.min(Math.max(value, lo), hi);

export const testRunFlowDissector: TestRunOp = (prog, attr, env, out) => {
  if (attr.flags !== 0 || attr.cpu !== 0 || attr.batch_size !== 0) return -Errno.EINVAL;
  const size = attr.data_size_in;
  // bpf_test_init with no headroom or tailroom.
  if (size < ETH_HLEN || size > PAGE_SIZE) return -Errno.EINVAL;
  const allocs = new TestRunAllocations(env);
  try {
    const data = allocs.kzalloc(skbDataAlign(size));
    const keys = allocs.kzalloc(BPF_FLOW_KEYS.size);
    const dissector = allocs.kzalloc(BPF_FLOW_DISSECTOR.size);
    if (data < 0 || keys < 0 || dissector < 0) return -Errno.ENOMEM;
    if (!env.user.copyFromUser(attr.data_in, env.phys.bytes, data, size)) return -Errno.EFAULT;
    const ctx = ctxInit(attr, env, BPF_FLOW_KEYS.size);
    if (typeof ctx === 'number') return ctx;
    if (ctx !== null && !onlyFlags(ctx)) return -Errno.EINVAL;
    const flags = ctx === null ? 0 : new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength).getUint32(BPF_FLOW_KEYS.flags, true);
    const { view, bytes } = env.phys;
    writePtr(view, dissector + BPF_FLOW_DISSECTOR.flow_keys, keys);
    writePtr(view, dissector + BPF_FLOW_DISSECTOR.data, data);
    writePtr(view, dissector + BPF_FLOW_DISSECTOR.data_end, data + size);
    // eth->h_proto, kept in network byte order as n_proto is.
    const proto = view.getUint16(data + 12, true);
    const repeat = attr.repeat === 0 ? 1 : attr.repeat;
    let retval = 0;
    const t0 = env.now();
    for (let i = 0; i < repeat; i++) {
      // bpf_flow_dissect.
      bytes.fill(0, keys, keys + BPF_FLOW_KEYS.size);
      view.setUint16(keys + BPF_FLOW_KEYS.n_proto, proto, true);
      view.setUint16(keys + BPF_FLOW_KEYS.nhoff, ETH_HLEN, true);
      view.setUint16(keys + BPF_FLOW_KEYS.thoff, ETH_HLEN, true);
      view.setUint32(keys + BPF_FLOW_KEYS.flags, flags, true);
      const result = prog.runRepeat(dissector, 1, env.currentCpu);
      if (typeof result === 'string') return -Errno.EFAULT;
      retval = result >>> 0;
      const nhoff = clampU16(view.getUint16(keys + BPF_FLOW_KEYS.nhoff, true), ETH_HLEN, size);
      view.setUint16(keys + BPF_FLOW_KEYS.nhoff, nhoff, true);
      view.setUint16(keys + BPF_FLOW_KEYS.thoff, clampU16(view.getUint16(keys + BPF_FLOW_KEYS.thoff, true), nhoff, size), true);
    }
    const duration = Math.min(U32_MAX, Math.floor((env.now() - t0) / repeat));
    const err = testFinish(attr, env, out, bytes.slice(keys, keys + BPF_FLOW_KEYS.size), 0, retval, duration);
    return err === 0 ? ctxFinish(attr, env, out, ctx) : err;
  } finally {
    allocs.freeAll();
  }
};
