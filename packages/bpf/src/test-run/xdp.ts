/**
 * bpf_prog_test_run_xdp (net/bpf/test_run.c, Linux 6.18): a frame of data_in in a page with XDP_PACKET_HEADROOM
 * in front (less the metadata ctx_in.data puts there) and the skb_shared_info's room at the end, on the loopback
 * device's RX queue 0 or the queue ctx_in names; what does not fit the page (or lies past ctx_in.data_end) goes
 * to page fragments, up to MAX_SKB_FRAGS. data_out is the frame from data_meta, fragments included.
 */
import { SKB_FRAG, SKB_SHARED_INFO, XDP_BUFF, XDP_FLAGS_HAS_FRAGS, XDP_RXQ_INFO, XDP_RXQ_REG_STATE_REGISTERED } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_TEST_RUN_F, Errno, PAGE_SIZE, XDP_MD, XDP_PACKET_HEADROOM } from '@ebpf-sim/uapi';
import {
  ETH_HLEN,
  MAX_SKB_FRAGS,
  XDP_FRAME_SIZE,
  fragAt,
  nrFrags,
  readPtr,
  writePtr,
  xdpBuffLen,
  xdpCopyBuf,
  xdpHasFrags,
  xdpMetalenInvalid,
  xdpSharedInfo,
} from '../net/xdp.js';
import { TestRunAllocations, bpfTestRun, buildLoopback, ctxFinish, ctxInit, deviceByIndex, skbDataAlign, testFinish } from './common.js';
import type { TestRunAttr, TestRunEnv, TestRunNetDevice, TestRunOp, TestRunOutput } from './types.js';

/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): the tailroom of a frame. */
const TAILROOM = SKB_SHARED_INFO.size;

/** xdp_md as ctx_in gives it. */
interface XdpMd {
  data: number;
  data_end: number;
  data_meta: number;
  ingress_ifindex: number;
  rx_queue_index: number;
  egress_ifindex: number;
}

function readMd(ctx: Uint8Array): XdpMd {
  const v = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const u32 = (off: number): number => v.getUint32(off, true);
  return {
    data: u32(XDP_MD.data),
    data_end: u32(XDP_MD.data_end),
    data_meta: u32(XDP_MD.data_meta),
    ingress_ifindex: u32(XDP_MD.ingress_ifindex),
    rx_queue_index: u32(XDP_MD.rx_queue_index),
    egress_ifindex: u32(XDP_MD.egress_ifindex),
  };
}

/** A built frame: its xdp_buff, and how to free it and its fragments. */
interface Frame {
  readonly xdp: number;
  readonly free: () => void;
}

/**
 * Build the frame as bpf_prog_test_run_xdp does after its checks: bpf_test_init's buffer, xdp_init_buff /
 * xdp_prepare_buff, xdp_convert_md_to_buff, the fragments. -errno on failure (everything freed).
 */
function buildFrame(attr: TestRunAttr, env: TestRunEnv, md: XdpMd | null, headroom: number, size: number, maxDataSize: number): Frame | number {
  const allocs = new TestRunAllocations(env);
  const pages: number[] = [];
  const view = env.phys.view;
  let xdp = 0;
  const free = (): void => {
    // Fragment pages still attached (a helper may have released some of them).
    if (xdp !== 0 && xdpHasFrags(view, xdp)) {
      const sinfo = xdpSharedInfo(view, xdp);
      for (let i = 0; i < nrFrags(view, sinfo); i++) env.phys.kfree(readPtr(view, fragAt(sinfo, i) + SKB_FRAG.netmem));
    } else if (xdp === 0) {
      for (const page of pages) env.phys.kfree(page);
    }
    allocs.freeAll();
  };
  const fail = (errno: number): number => {
    free();
    return errno;
  };
  const lo = buildLoopback(env, allocs);
  const hard = allocs.kzalloc(skbDataAlign(maxDataSize) + headroom + TAILROOM);
  const buff = allocs.kzalloc(XDP_BUFF.size);
  if (lo === undefined || hard < 0 || buff < 0) return fail(-Errno.ENOMEM);
  if (!env.user.copyFromUser(attr.data_in, env.phys.bytes, hard + headroom, size)) return fail(-Errno.EFAULT);
  // The test run's queue has frag_size PAGE_SIZE; the simulated xdp_rxq_info has no such field (fragments are one page).
  writePtr(view, buff + XDP_BUFF.rxq, lo.rxqInfoOf(0));
  view.setUint32(buff + XDP_BUFF.frame_sz, PAGE_SIZE, true);
  writePtr(view, buff + XDP_BUFF.data_hard_start, hard);
  writePtr(view, buff + XDP_BUFF.data, hard + headroom);
  writePtr(view, buff + XDP_BUFF.data_meta, hard + headroom);
  writePtr(view, buff + XDP_BUFF.data_end, hard + headroom + size);
  if (md !== null) {
    const err = convertMdToBuff(env, lo, md, buff);
    if (err < 0) return fail(err);
  }
  // Multi-buffer: the rest of data_in in page fragments.
  const sinfo = xdpSharedInfo(view, buff);
  let filled = size;
  if (attr.data_size_in > filled) {
    while (filled < attr.data_size_in) {
      if (nrFrags(view, sinfo) === MAX_SKB_FRAGS) return fail(-Errno.ENOMEM);
      const page = env.phys.kmalloc(PAGE_SIZE, 'bpf-test-run');
      if (page < 0) return fail(-Errno.ENOMEM);
      pages.push(page);
      const frag = fragAt(sinfo, nrFrags(view, sinfo));
      const len = Math.min(attr.data_size_in - filled, PAGE_SIZE);
      writePtr(view, frag + SKB_FRAG.netmem, page);
      view.setUint32(frag + SKB_FRAG.len, len, true);
      view.setUint32(frag + SKB_FRAG.offset, 0, true);
      view.setUint8(sinfo + SKB_SHARED_INFO.nr_frags, nrFrags(view, sinfo) + 1);
      if (!env.user.copyFromUser(attr.data_in + filled, env.phys.bytes, page, len)) return fail(-Errno.EFAULT);
      view.setUint32(sinfo + SKB_SHARED_INFO.xdp_frags_size, view.getUint32(sinfo + SKB_SHARED_INFO.xdp_frags_size, true) + len, true);
      filled += len;
    }
    view.setUint32(buff + XDP_BUFF.flags, XDP_FLAGS_HAS_FRAGS, true);
  }
  xdp = buff;
  return { xdp, free };
}

/** xdp_convert_md_to_buff: the RX queue ctx_in names (on a real device) and where data starts after the metadata. */
function convertMdToBuff(env: TestRunEnv, lo: TestRunNetDevice, md: XdpMd, xdp: number): number {
  const view = env.phys.view;
  if (md.egress_ifindex !== 0) return -Errno.EINVAL;
  if (md.ingress_ifindex === 0 && md.rx_queue_index !== 0) return -Errno.EINVAL;
  if (md.ingress_ifindex !== 0) {
    const device = deviceByIndex(env, lo, md.ingress_ifindex);
    if (device === undefined) return -Errno.ENODEV;
    if (md.rx_queue_index >= device.rxQueues) return -Errno.EINVAL;
    const rxq = device.rxqInfoOf(md.rx_queue_index);
    if (view.getUint32(rxq + XDP_RXQ_INFO.reg_state, true) !== XDP_RXQ_REG_STATE_REGISTERED) return -Errno.EINVAL;
    writePtr(view, xdp + XDP_BUFF.rxq, rxq);
  }
  writePtr(view, xdp + XDP_BUFF.data, readPtr(view, xdp + XDP_BUFF.data_meta) + md.data);
  return 0;
}

/** xdp_convert_buff_to_md: data and data_end back relative to data_meta. */
function convertBuffToMd(view: DataView, xdp: number, ctx: Uint8Array): void {
  const meta = readPtr(view, xdp + XDP_BUFF.data_meta);
  const v = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  v.setUint32(XDP_MD.data, readPtr(view, xdp + XDP_BUFF.data) - meta, true);
  v.setUint32(XDP_MD.data_end, readPtr(view, xdp + XDP_BUFF.data_end) - meta, true);
}

export const testRunXdp: TestRunOp = (prog, attr, env, out: TestRunOutput) => {
  if (prog.expectedAttachType === BPF_ATTACH_TYPE.XDP_DEVMAP || prog.expectedAttachType === BPF_ATTACH_TYPE.XDP_CPUMAP) return -Errno.EINVAL;
  if ((attr.flags & ~BPF_TEST_RUN_F.XDP_LIVE_FRAMES) !== 0) return -Errno.EINVAL;
  // Live frames (BPF_F_TEST_XDP_LIVE_FRAMES) go through a page pool and really are transmitted or redirected;
  // Linux 6.18 answers 0 (retval 0). Not modelled: refused rather than answered differently.
  if ((attr.flags & BPF_TEST_RUN_F.XDP_LIVE_FRAMES) !== 0) return -Errno.EOPNOTSUPP;
  if (attr.batch_size !== 0) return -Errno.EINVAL;
  const ctx = ctxInit(attr, env, XDP_MD.size);
  if (typeof ctx === 'number') return ctx;
  const md = ctx === null ? null : readMd(ctx);
  let headroom = XDP_PACKET_HEADROOM;
  let size = attr.data_size_in;
  if (md !== null) {
    // No user data before the metadata; the linear part may end before data_in does (the rest are fragments).
    if (md.data_meta !== 0 || md.data_end > attr.data_size_in || md.data > md.data_end || xdpMetalenInvalid(md.data)) return -Errno.EINVAL;
    // Metadata may not reach into the xdp_frame's room at the head (Linux 6.18: 216 bytes pass, 220 are EINVAL).
    if (md.data > XDP_PACKET_HEADROOM - XDP_FRAME_SIZE) return -Errno.EINVAL;
    headroom -= md.data;
    size = md.data_end;
  }
  const maxDataSize = PAGE_SIZE - headroom - TAILROOM;
  if (size > maxDataSize) size = maxDataSize;
  // bpf_test_init: a frame holds at least an Ethernet header.
  if (attr.data_size_in < ETH_HLEN) return -Errno.EINVAL;
  const frame = buildFrame(attr, env, md, headroom, size, maxDataSize);
  if (typeof frame === 'number') return frame;
  const view = env.phys.view;
  try {
    const run = bpfTestRun(prog, frame.xdp, attr.repeat, env.currentCpu, env, () => {
      const copy = buildFrame(attr, env, md, headroom, size, maxDataSize);
      return typeof copy === 'number' ? undefined : { ctx: copy.xdp, free: copy.free };
    });
    if (ctx !== null) convertBuffToMd(view, frame.xdp, ctx);
    if (run.err < 0) return run.err;
    const meta = readPtr(view, frame.xdp + XDP_BUFF.data_meta);
    const metaLen = readPtr(view, frame.xdp + XDP_BUFF.data) - meta;
    const total = metaLen + xdpBuffLen(view, frame.xdp);
    const data = new Uint8Array(total);
    data.set(env.phys.bytes.subarray(meta, meta + metaLen));
    const staging = env.phys.kmalloc(Math.max(total - metaLen, 1), 'bpf-test-run');
    if (staging < 0) return -Errno.ENOMEM;
    xdpCopyBuf(env.phys.bytes, view, frame.xdp, 0, staging, total - metaLen, false);
    data.set(env.phys.bytes.subarray(staging, staging + total - metaLen), metaLen);
    env.phys.kfree(staging);
    const fragsSize = xdpHasFrags(view, frame.xdp) ? view.getUint32(xdpSharedInfo(view, frame.xdp) + SKB_SHARED_INFO.xdp_frags_size, true) : 0;
    const err = testFinish(attr, env, out, data, fragsSize, run.retval, run.duration);
    return err === 0 ? ctxFinish(attr, env, out, ctx) : err;
  } finally {
    frame.free();
  }
};
