import { buildUdpFrame, createKernel, type Kernel, type SimpleNic } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_LINK_TYPE, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, XDP_ACTION, XDP_FLAGS, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { readFdinfo, runUserProgram } from '../testing/user-program.js';

/** mov r0, imm; exit. */
function ret(imm: number): Uint8Array {
  const insns = new Uint8Array(16);
  const view = new DataView(insns.buffer);
  insns[0] = 0xb7;
  view.setInt32(4, imm, true);
  insns[8] = 0x95;
  return insns;
}

/** r1 = map (BPF_PSEUDO_MAP_FD); r2 = key; r3 = flags; call bpf_redirect_map; exit. */
function redirectMap(mapFd: number, key: number): Uint8Array {
  const insns = new Uint8Array(6 * 8);
  const view = new DataView(insns.buffer);
  insns[0] = 0x18;
  insns[1] = 0x11;
  view.setInt32(4, mapFd, true);
  insns[16] = 0xb7;
  insns[17] = 0x02;
  view.setInt32(20, key, true);
  insns[24] = 0xb7;
  insns[25] = 0x03;
  insns[32] = 0x85;
  view.setInt32(36, 51, true);
  insns[40] = 0x95;
  return insns;
}

/** r1 = ifindex; r2 = 0; call bpf_redirect; exit. */
function redirectIfindex(ifindex: number): Uint8Array {
  const insns = new Uint8Array(4 * 8);
  const view = new DataView(insns.buffer);
  insns[0] = 0xb7;
  insns[1] = 0x01;
  view.setInt32(4, ifindex, true);
  insns[8] = 0xb7;
  insns[9] = 0x02;
  insns[16] = 0x85;
  view.setInt32(20, 23, true);
  insns[24] = 0x95;
  return insns;
}

/** r2 = ctx->egress_ifindex; r0 = XDP_PASS; if r2 != ifindex goto +1; r0 = XDP_DROP; exit. */
function dropOnEgress(ifindex: number): Uint8Array {
  const insns = new Uint8Array(5 * 8);
  const view = new DataView(insns.buffer);
  insns[0] = 0x61;
  insns[1] = 0x12;
  view.setInt16(2, 20, true);
  insns[8] = 0xb7;
  view.setInt32(12, XDP_ACTION.PASS, true);
  insns[16] = 0x55;
  insns[17] = 0x02;
  view.setInt16(18, 1, true);
  view.setInt32(20, ifindex, true);
  insns[24] = 0xb7;
  view.setInt32(28, XDP_ACTION.DROP, true);
  insns[32] = 0x95;
  return insns;
}

const frame = (n: number): Uint8Array => buildUdpFrame(0x0a000002, 0x0a000101, 1000 + n, 53, 32, n);

function twoNics(): { kernel: Kernel; eth0: SimpleNic; eth1: SimpleNic } {
  const kernel = createKernel({ cpus: 1, devices: { nics: [{ name: 'eth0' }, { name: 'eth1' }] } });
  const [eth0, eth1] = kernel.devices.nics as [SimpleNic, SimpleNic];
  return { kernel, eth0, eth1 };
}

function* loadXdp(libc: Libc, insns: Uint8Array, name: string, expectedAttachType = 0): Generator<number, number, number> {
  const loaded = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns, license: 'GPL', name, expectedAttachType });
  expect(loaded.ret, loaded.log).toBeGreaterThan(0);
  return loaded.ret;
}

function* xdpLink(libc: Libc, progFd: number, ifindex: number, flags = 0, attachType: number = BPF_ATTACH_TYPE.XDP): Generator<number, number, number> {
  return (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: progFd, target_ifindex: ifindex, attach_type: attachType, flags })).ret;
}

describe('XDP links (BPF_LINK_CREATE with BPF_XDP)', () => {
  it('attaches one program per device and mode, with dev_xdp_attach errnos, link info, fdinfo, update and detach', () => {
    const { kernel, eth0 } = twoNics();
    registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const drop = yield* loadXdp(libc, ret(XDP_ACTION.DROP), 'xdp_drop');
      const pass = yield* loadXdp(libc, ret(XDP_ACTION.PASS), 'xdp_pass');
      const devmapProg = yield* loadXdp(libc, ret(XDP_ACTION.PASS), 'xdp_devmap', BPF_ATTACH_TYPE.XDP_DEVMAP);
      // No device 99: dev_get_by_index fails with EINVAL (not ENODEV) on this path.
      expect(yield* xdpLink(libc, drop, 99)).toBe(-Errno.EINVAL);
      // bpf_prog_attach_check_attach_type: an XDP program attaches as BPF_XDP only.
      expect(yield* xdpLink(libc, drop, 2, 0, BPF_ATTACH_TYPE.TCX_INGRESS)).toBe(-Errno.EINVAL);
      // Links take mode flags only, one at a time; the device refuses devmap programs and offload.
      expect(yield* xdpLink(libc, drop, 2, XDP_FLAGS.UPDATE_IF_NOEXIST)).toBe(-Errno.EINVAL);
      expect(yield* xdpLink(libc, drop, 2, XDP_FLAGS.SKB_MODE | XDP_FLAGS.DRV_MODE)).toBe(-Errno.EINVAL);
      expect(yield* xdpLink(libc, devmapProg, 2)).toBe(-Errno.EINVAL);
      expect(yield* xdpLink(libc, drop, 2, XDP_FLAGS.HW_MODE)).toBe(-Errno.EINVAL);

      const link = yield* xdpLink(libc, drop, 2);
      expect(link).toBeGreaterThan(0);
      expect(eth0.xdp.programs.map((p) => p.name)).toEqual(['xdp_drop']);
      // One program per interface: the native slot is held by a link (EBUSY), and generic can't join it (EEXIST).
      expect(yield* xdpLink(libc, pass, 2)).toBe(-Errno.EBUSY);
      expect(yield* xdpLink(libc, pass, 2, XDP_FLAGS.DRV_MODE)).toBe(-Errno.EBUSY);
      expect(yield* xdpLink(libc, pass, 2, XDP_FLAGS.SKB_MODE)).toBe(-Errno.EEXIST);

      const info = yield* libc.bpfLinkGetInfo(link);
      expect(info.ok).toBe(true);
      if (!info.ok) return;
      expect(info.value.type).toBe(BPF_LINK_TYPE.XDP);
      expect(new DataView(info.value.union.buffer, info.value.union.byteOffset).getUint32(0, true)).toBe(2);
      const fdinfo = yield* readFdinfo(libc, link);
      expect(fdinfo[0]).toBe('link_type:\txdp');
      expect(fdinfo.at(-1)).toBe('ifindex:\t2');

      eth0.attachSource([0, 1, 2].map((i) => ({ timeNs: kernel.clock.now + 1000 + i * 100, data: frame(i) })));
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats).toMatchObject({ rxPackets: 3, xdpDrop: 3 });

      // LINK_UPDATE: EPERM when BPF_F_REPLACE names another program, EINVAL for another expected attach type.
      expect(yield* libc.bpfLinkUpdate(link, pass, 1 << 2, pass)).toBe(-Errno.EPERM);
      expect(yield* libc.bpfLinkUpdate(link, devmapProg)).toBe(-Errno.EINVAL);
      expect(yield* libc.bpfLinkUpdate(link, pass, 1 << 2, drop)).toBe(0);
      expect(eth0.xdp.programs.map((p) => p.name)).toEqual(['xdp_pass']);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(9) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats.xdpPass).toBe(1);
      expect(eth0.delivered.at(-1)).toEqual(frame(9));

      // LINK_DETACH: the device is free again; the link lives on with ifindex 0, and updating it is ENOLINK.
      expect(yield* libc.bpfLinkDetach(link)).toBe(0);
      expect(eth0.xdp.programs).toHaveLength(0);
      const after = yield* libc.bpfLinkGetInfo(link);
      expect(after.ok && new DataView(after.value.union.buffer, after.value.union.byteOffset).getUint32(0, true)).toBe(0);
      expect(yield* libc.bpfLinkUpdate(link, drop)).toBe(-Errno.ENOLINK);
      const generic = yield* xdpLink(libc, pass, 2, XDP_FLAGS.SKB_MODE);
      expect(generic).toBeGreaterThan(0);
      expect(yield* libc.close(generic)).toBe(0);
      expect(eth0.xdp.programs).toHaveLength(0);
      expect(yield* libc.close(link)).toBe(0);
    });
  });

  it('redirects to another device by ifindex and through a DEVMAP, running the entry program on the way out', () => {
    const { kernel, eth0, eth1 } = twoNics();
    registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const devmap = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.DEVMAP, key_size: 4, value_size: 8, max_entries: 4 });
      expect(devmap).toBeGreaterThan(0);
      const toDevmap = yield* loadXdp(libc, redirectMap(devmap, 1), 'xdp_redir_map');
      const toEth1 = yield* loadXdp(libc, redirectIfindex(3), 'xdp_redir');
      const egressDrop = yield* loadXdp(libc, ret(XDP_ACTION.DROP), 'xdp_egress', BPF_ATTACH_TYPE.XDP_DEVMAP);
      const value = new Uint8Array(8);
      new DataView(value.buffer).setUint32(0, 3, true);
      const key = (k: number): Uint8Array => new Uint8Array([k, 0, 0, 0]);
      expect(yield* libc.bpfMapUpdate(devmap, key(1), value)).toBe(0);

      const link = yield* xdpLink(libc, toEth1, 2);
      expect(link).toBeGreaterThan(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(1) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats.xdpRedirect).toBe(1);
      expect(eth1.wire.map((w) => w.data)).toEqual([frame(1)]);

      expect(yield* libc.bpfLinkUpdate(link, toDevmap)).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(2) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats.xdpRedirect).toBe(2);
      expect(eth1.wire.map((w) => w.data)).toEqual([frame(1), frame(2)]);

      // The entry's program (expected attach type BPF_XDP_DEVMAP) drops what it sees.
      new DataView(value.buffer).setUint32(4, egressDrop, true);
      expect(yield* libc.bpfMapUpdate(devmap, key(1), value)).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(3) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth1.wire).toHaveLength(2);
      expect(eth0.stats.xdpDrop).toBe(1);

      // A key with no device: bpf_redirect_map returns the flags' action (XDP_ABORTED = 0) and nothing is sent.
      expect(yield* libc.bpfMapDelete(devmap, key(1))).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(4) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats.xdpAborted).toBe(1);
      expect(yield* libc.close(link)).toBe(0);
    });
  });

  it('gives a BPF_XDP_DEVMAP program the ifindex it sends on (xdp_md.egress_ifindex), which no other XDP program may read', () => {
    const { kernel, eth0, eth1 } = twoNics();
    registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      // xdp_is_valid_access: egress_ifindex is refused unless the expected attach type is BPF_XDP_DEVMAP.
      const plain = yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.XDP,
        insns: dropOnEgress(3),
        license: 'GPL',
        name: 'xdp_plain',
        logLevel: 1,
        logSize: 4096,
      });
      expect(plain.ret).toBe(-Errno.EACCES);
      expect(plain.log).toContain('invalid bpf_context access off=20 size=4');
      // Any other expected attach type loads as plain XDP (Linux does not check it at load).
      const other = yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.XDP,
        insns: ret(XDP_ACTION.PASS),
        license: 'GPL',
        expectedAttachType: BPF_ATTACH_TYPE.XDP_CPUMAP,
      });
      expect(other.ret).toBeGreaterThan(0);

      const devmap = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.DEVMAP, key_size: 4, value_size: 8, max_entries: 4 });
      const toDevmap = yield* loadXdp(libc, redirectMap(devmap, 1), 'xdp_redir_map');
      const value = new Uint8Array(8);
      const view = new DataView(value.buffer);
      const key = new Uint8Array([1, 0, 0, 0]);
      const link = yield* xdpLink(libc, toDevmap, 2);
      expect(link).toBeGreaterThan(0);
      // The entry program drops what goes out on eth1 (ifindex 3) and passes the rest: the frame is sent.
      view.setUint32(0, 3, true);
      view.setUint32(4, yield* loadXdp(libc, dropOnEgress(2), 'xdp_egress_2', BPF_ATTACH_TYPE.XDP_DEVMAP), true);
      expect(yield* libc.bpfMapUpdate(devmap, key, value)).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(1) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth1.wire.map((w) => w.data)).toEqual([frame(1)]);
      // Now it drops what goes out on ifindex 3: the frame is not sent.
      view.setUint32(4, yield* loadXdp(libc, dropOnEgress(3), 'xdp_egress_3', BPF_ATTACH_TYPE.XDP_DEVMAP), true);
      expect(yield* libc.bpfMapUpdate(devmap, key, value)).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 1000, data: frame(2) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth1.wire).toHaveLength(1);
      expect(eth0.stats.xdpDrop).toBe(1);
      expect(yield* libc.close(link)).toBe(0);
    });
  });
});
