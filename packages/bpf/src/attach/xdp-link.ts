/**
 * XDP on a device (net/core/dev.c: dev_xdp_attach, bpf_xdp_link_attach and the bpf_xdp_link ops): one
 * program per device and XDP mode (generic/SKB, native/DRV, offloaded/HW), attached by BPF_LINK_CREATE with
 * attach type BPF_XDP and target_ifindex; a link holds its mode until it is detached or closed.
 *
 * The device's driver fires `dev.xdp` for every received frame; the program runs there through an
 * {@link XdpAttachment}, which also does what xdp_do_redirect does after a program answers XDP_REDIRECT:
 * turn the CPU's redirect info (bpf_redirect's ifindex, or bpf_redirect_map's map and key) into the device
 * the frame goes to, running a DEVMAP entry's program on the frame first (dev_map_bpf_prog_run).
 *
 * Deliberate differences from Linux, documented where they matter:
 * - generic XDP (XDP_FLAGS_SKB_MODE) runs where native XDP runs (the driver's receive path) rather than in
 *   netif_receive_skb on an skb; the two modes still exclude each other as in Linux (EEXIST);
 * - no simulated NIC offloads programs: HW mode is refused by the driver's ndo_bpf (EINVAL), as drivers
 *   without offload do;
 * - redirects through CPUMAP, XSKMAP and BPF_F_BROADCAST are not modelled: such a frame is dropped and counted
 *   as XDP_ABORTED by the device (Linux's xdp_do_redirect failing counts the same way).
 */
import { HookProgram, type HookInvocation, type NetDevice, XDP_BUFF } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_LINK_INFO_XDP, BPF_LINK_TYPE, Errno, XDP_ACTION, XDP_FLAGS } from '@ebpf-sim/uapi';
import { DevMapBase } from '../maps/devmap.js';
import type { RunnableProgram } from '../runtime/runtime.js';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import { BpfAttachment } from './hook-program.js';
import type { LinkCreateHandler } from './link-create.js';

/** enum bpf_xdp_mode. */
export const XDP_MODE = { SKB: 0, DRV: 1, HW: 2 } as const;
const MAX_XDP_MODE = 3;

/** INT_MAX: the redirect info's map id of a plain bpf_redirect (an ifindex, no map). */
const REDIRECT_IFINDEX_MAP_ID = 0x7fffffff;

/**
 * A program at `dev.xdp`: the program runs as a {@link BpfAttachment}; on XDP_REDIRECT the target device's
 * ifindex goes to the invocation's `redirectIfindex` (0 when there is none: the device counts an abort).
 */
export class XdpAttachment extends HookProgram {
  readonly inner: BpfAttachment;

  constructor(bpf: BpfSyscall, prog: ProgObject) {
    const inner = new BpfAttachment(bpf.runtime, prog);
    const runState = bpf.runtime.run;
    const run = (invocation: HookInvocation): number => {
      // The redirect info is per CPU and per run: a program that answers XDP_REDIRECT without a redirect helper has none.
      runState.redirectMapId = 0;
      runState.redirectIfindex = 0;
      const action = inner.run(invocation);
      if (action === XDP_ACTION.REDIRECT) return xdpDoRedirect(bpf, invocation);
      return action;
    };
    super(run, inner.guard, inner.name, inner.active);
    this.inner = inner;
  }
}

/**
 * xdp_do_redirect's choice of target: an ifindex (bpf_redirect), or a DEVMAP / DEVMAP_HASH entry
 * (bpf_redirect_map), whose program, if any, runs on the frame with the egress device in ctx->txq and may
 * drop it (anything but XDP_PASS drops, as dev_map_bpf_prog_run). Returns the action the device acts on.
 */
function xdpDoRedirect(bpf: BpfSyscall, invocation: HookInvocation): number {
  const run = bpf.runtime.run;
  const mapId = run.redirectMapId;
  if (mapId === REDIRECT_IFINDEX_MAP_ID) {
    invocation.redirectIfindex = run.redirectIfindex;
    return XDP_ACTION.REDIRECT;
  }
  const map = mapId === 0 ? undefined : bpf.maps.find(mapId)?.map;
  if (!(map instanceof DevMapBase) || run.redirectFlags !== 0) {
    invocation.redirectIfindex = 0;
    return XDP_ACTION.REDIRECT;
  }
  const key = run.redirectIfindex;
  const ifindex = map.redirectTarget(key);
  invocation.redirectIfindex = ifindex;
  const entryProg = map.entryProgram(key);
  if (entryProg === null) return XDP_ACTION.REDIRECT;
  const egress = bpf.netDevice(ifindex);
  if (egress?.txqInfo === undefined) return XDP_ACTION.REDIRECT;
  const memory = invocation.memory;
  const ctx = invocation.ctx;
  // dev_map_bpf_prog_run: xdp->txq = &txq (txq.dev = the egress device), then the entry's program.
  memory.view.setUint32(ctx + XDP_BUFF.txq, egress.txqInfo, true);
  memory.view.setUint32(ctx + XDP_BUFF.txq + 4, 0, true);
  const verdict = bpf.runtime.runAtHook(entryProg.target as RunnableProgram, ctx, invocation.cpu, 0n);
  memory.view.setUint32(ctx + XDP_BUFF.txq, 0, true);
  if (verdict === XDP_ACTION.PASS) return XDP_ACTION.REDIRECT;
  // The entry's program dropped the frame: here the receiving device counts it as dropped.
  invocation.redirectIfindex = 0;
  return XDP_ACTION.DROP;
}

/** One mode's slot of a device (dev->xdp_state[mode]): a program held by a link, with its attachment at the hook. */
interface XdpModeState {
  link: BpfLink | null;
  attachment: XdpAttachment | null;
  detach: (() => void) | null;
}

const xdpStates = new WeakMap<NetDevice, XdpModeState[]>();

function statesOf(dev: NetDevice): XdpModeState[] {
  let states = xdpStates.get(dev);
  if (states === undefined) {
    states = [];
    for (let mode = 0; mode < MAX_XDP_MODE; mode++) states.push({ link: null, attachment: null, detach: null });
    xdpStates.set(dev, states);
  }
  return states;
}

/** dev_xdp_prog: the program in a mode (its link's), or null. */
function modeProg(dev: NetDevice, mode: number): ProgObject | null {
  return statesOf(dev)[mode]?.link?.prog ?? null;
}

/** dev_xdp_prog_id, for `ip link` / `bpftool net show`: the id of the program in `mode`, or 0. */
export function xdpProgId(dev: NetDevice, mode: number): number {
  return modeProg(dev, mode)?.id ?? 0;
}

/** The XDP link of `mode` on `dev`, or null (bpftool net show lists its id). */
export function xdpLinkOf(dev: NetDevice, mode: number): BpfLink | null {
  return statesOf(dev)[mode]?.link ?? null;
}

/** dev_xdp_prog_count. */
function progCount(dev: NetDevice): number {
  let count = 0;
  for (let mode = 0; mode < MAX_XDP_MODE; mode++) if (modeProg(dev, mode) !== null) count++;
  return count;
}

/** dev_xdp_mode: the mode the flags name, else native when the driver has ndo_bpf, else generic. */
function xdpMode(dev: NetDevice, flags: number): number {
  if ((flags & XDP_FLAGS.HW_MODE) !== 0) return XDP_MODE.HW;
  if ((flags & XDP_FLAGS.DRV_MODE) !== 0) return XDP_MODE.DRV;
  if ((flags & XDP_FLAGS.SKB_MODE) !== 0) return XDP_MODE.SKB;
  return dev.ndoBpf === true ? XDP_MODE.DRV : XDP_MODE.SKB;
}

/**
 * dev_xdp_install through the mode's bpf_op: generic XDP always works; native needs the driver's ndo_bpf
 * (EOPNOTSUPP without); offload asks ndo_bpf for XDP_SETUP_PROG_HW, which no simulated driver supports (EINVAL,
 * as drivers answer commands they do not handle). Installs `prog` (null: removes) in the slot's attachment.
 */
function install(bpf: BpfSyscall, dev: NetDevice, mode: number, prog: ProgObject | null): number {
  if (mode !== XDP_MODE.SKB && dev.ndoBpf !== true) return -Errno.EOPNOTSUPP;
  if (mode === XDP_MODE.HW && prog !== null) return -Errno.EINVAL;
  const state = statesOf(dev)[mode] as XdpModeState;
  const previous = state.detach;
  if (prog === null) {
    state.attachment = null;
    state.detach = null;
  } else {
    const attachment = new XdpAttachment(bpf, prog);
    state.attachment = attachment;
    state.detach = dev.xdp.attach(attachment);
  }
  if (previous !== null) previous();
  return 0;
}

/** dev_xdp_attach for a link (the only way this kernel attaches XDP: there is no netlink). */
function devXdpAttachLink(bpf: BpfSyscall, dev: NetDevice, link: BpfLink, flags: number): number {
  if ((flags & ~XDP_FLAGS.MODES) !== 0) return -Errno.EINVAL;
  let modes = 0;
  for (let bits = flags & XDP_FLAGS.MODES; bits !== 0; bits &= bits - 1) modes++;
  if (modes > 1) return -Errno.EINVAL;
  if (modes === 0 && progCount(dev) > 1) return -Errno.EINVAL;
  const mode = xdpMode(dev, flags);
  const state = statesOf(dev)[mode] as XdpModeState;
  // Can't replace an active link; can't put a link over a program attached another way.
  if (state.link !== null) return -Errno.EBUSY;
  if (modeProg(dev, mode) !== null) return -Errno.EBUSY;
  const prog = link.prog;
  if (mode !== XDP_MODE.HW && modeProg(dev, mode === XDP_MODE.SKB ? XDP_MODE.DRV : XDP_MODE.SKB) !== null) return -Errno.EEXIST;
  if (prog.expectedAttachType === BPF_ATTACH_TYPE.XDP_DEVMAP || prog.expectedAttachType === BPF_ATTACH_TYPE.XDP_CPUMAP) return -Errno.EINVAL;
  const err = install(bpf, dev, mode, prog);
  if (err !== 0) return err;
  state.link = link;
  return 0;
}

/** struct bpf_xdp_link: the device (null once detached) and the flags it was created with. */
interface XdpLinkData {
  dev: NetDevice | null;
  readonly flags: number;
  readonly bpf: BpfSyscall;
}

const dataOf = (link: BpfLink): XdpLinkData => link.data as XdpLinkData;

/** bpf_xdp_link_release (and ops->detach): dev_xdp_detach_link, once. */
function xdpLinkRelease(link: BpfLink): void {
  const xdp = dataOf(link);
  const dev = xdp.dev;
  if (dev === null) return;
  xdp.dev = null;
  const mode = xdpMode(dev, xdp.flags);
  const state = statesOf(dev)[mode] as XdpModeState;
  if (state.link !== link) return;
  install(xdp.bpf, dev, mode, null);
  state.link = null;
}

/** sizeof(struct bpf_xdp_link): struct bpf_link, the device pointer and the flags, padded. */
const XDP_LINK_SIZE = 80;

export const XDP_LINK_OPS: BpfLinkOps = {
  type: BPF_LINK_TYPE.XDP,
  objectSize: XDP_LINK_SIZE,
  release: xdpLinkRelease,
  detach(link) {
    xdpLinkRelease(link);
    return 0;
  },
  /**
   * bpf_xdp_link_update: ENOLINK once detached, EPERM when `oldProg` is not the link's program, EINVAL for a
   * program of another type or expected attach type; the same program is a no-op.
   */
  updateProg(link, newProg, oldProg) {
    const xdp = dataOf(link);
    const dev = xdp.dev;
    if (dev === null) return -Errno.ENOLINK;
    if (oldProg !== null && link.prog !== oldProg) return -Errno.EPERM;
    const current = link.prog;
    if (current.progType !== newProg.progType || current.expectedAttachType !== newProg.expectedAttachType) return -Errno.EINVAL;
    if (current === newProg) return 0;
    return install(xdp.bpf, dev, xdpMode(dev, xdp.flags), newProg);
  },
  fillInfo(link, info) {
    const dev = dataOf(link).dev;
    info.setUint32(BPF_LINK_INFO_XDP.ifindex, dev === null ? 0 : dev.ifindex, true);
    return 0;
  },
  showFdinfo(link) {
    const dev = dataOf(link).dev;
    return `ifindex:\t${dev === null ? 0 : dev.ifindex}\n`;
  },
};

/**
 * bpf_xdp_link_attach for BPF_LINK_CREATE of an XDP program: bpf_prog_attach_check_attach_type (the attach
 * type must be BPF_XDP), EINVAL for no device at target_ifindex (dev_get_by_index failing), then dev_xdp_attach.
 */
export const xdpLinkCreate: LinkCreateHandler = ({ bpf, task, prog, attachType, flags }) => {
  if (attachType !== BPF_ATTACH_TYPE.XDP) return -Errno.EINVAL;
  const dev = bpf.netDevice(bpf.u32(BPF_ATTR_LAYOUTS.LINK_CREATE.target_ifindex.offset));
  if (dev === undefined) return -Errno.EINVAL;
  const data: XdpLinkData = { dev, flags, bpf };
  const primer = bpf.links.prime(XDP_LINK_OPS, prog, data);
  if (typeof primer === 'number') return primer;
  const err = devXdpAttachLink(bpf, dev, primer.link, flags);
  if (err !== 0) {
    data.dev = null;
    bpf.links.cleanup(primer);
    return err;
  }
  return bpf.links.settle(task, primer);
};
