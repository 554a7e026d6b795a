import { SK_BUFF, type Kernel, type SimpleNic } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, TCX_ACTION, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { loadObject, runInKernel } from './attach-kernel.js';

/**
 * Run a device's tc hook on an sk_buff of `len` bytes built by hand (the stack that builds them from frames
 * comes with the network stack; until then this is what __netif_receive_skb_core / __dev_queue_xmit hand tcx).
 */
function fireTc(kernel: Kernel, hook: SimpleNic['tcIngress'], len: number): number {
  const arena = kernel.hookArena;
  const skb = arena.begin(0, SK_BUFF.size);
  try {
    arena.write.u32(skb + SK_BUFF.len, len);
    return arena.fire(hook, skb, 0, undefined);
  } finally {
    arena.end(0, SK_BUFF.size);
  }
}

/** counts[slot]: { packets, bytes }. */
function* counter(libc: Libc, fd: number, slot: number): Generator<number, [number, number], number> {
  const value = yield* libc.bpfMapLookup(fd, new Uint8Array([slot, 0, 0, 0]), 16);
  if (!value.ok) throw new Error(`lookup counts[${slot}]: errno ${value.errno}`);
  const view = new DataView(value.value.buffer, value.value.byteOffset);
  return [Number(view.getBigUint64(0, true)), Number(view.getBigUint64(8, true))];
}

describe('tcx end to end: tc_count.bpf.o at a device ingress (link) and egress (BPF_PROG_ATTACH)', () => {
  it('counts packets and bytes in each direction, with tcx_run verdicts, and lists both in BPF_PROG_QUERY', () => {
    runInKernel({ cpus: 1, devices: { nics: [{ name: 'eth0' }] } }, function* (libc, kernel) {
      const eth0 = kernel.devices.nics[0] as SimpleNic;
      const object = yield* loadObject(libc, 'tc_count', 1);
      const ingress = object.programs.get('tc_ingress');
      const egress = object.programs.get('tc_egress');
      const counts = object.maps.get('counts');
      if (ingress === undefined || egress === undefined || counts === undefined) throw new Error('tc_count.bpf.o: a program or map is missing');
      const link = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: ingress.fd, target_ifindex: eth0.ifindex, attach_type: BPF_ATTACH_TYPE.TCX_INGRESS })).ret;
      expect(link).toBeGreaterThan(0);
      expect(yield* libc.bpfProgAttach(eth0.ifindex, egress.fd, BPF_ATTACH_TYPE.TCX_EGRESS)).toBe(0);

      for (const len of [60, 100, 1400]) expect(fireTc(kernel, eth0.tcIngress, len)).toBe(TCX_ACTION.NEXT);
      expect(fireTc(kernel, eth0.tcEgress, 200)).toBe(TCX_ACTION.PASS);
      // Longer than the object's max_len (1500, a .rodata constant): dropped at egress.
      expect(fireTc(kernel, eth0.tcEgress, 9000)).toBe(TCX_ACTION.DROP);
      expect(yield* counter(libc, counts.fd, 0)).toEqual([3, 1560]);
      expect(yield* counter(libc, counts.fd, 1)).toEqual([2, 9200]);

      const info = yield* libc.bpfLinkGetInfo(link);
      if (!info.ok) throw new Error(`link info: ${info.errno}`);
      const inQuery = yield* libc.bpfProgQuery(eth0.ifindex, BPF_ATTACH_TYPE.TCX_INGRESS, 4);
      expect(inQuery).toMatchObject({ ret: 0, count: 1, progIds: [info.value.progId], linkIds: [info.value.id] });
      const outQuery = yield* libc.bpfProgQuery(eth0.ifindex, BPF_ATTACH_TYPE.TCX_EGRESS, 4);
      expect(outQuery).toMatchObject({ ret: 0, count: 1, linkIds: [0] });

      expect(yield* libc.close(link)).toBe(0);
      expect(yield* libc.bpfProgDetach(eth0.ifindex, egress.fd, BPF_ATTACH_TYPE.TCX_EGRESS)).toBe(0);
      expect(eth0.tcIngress.programs).toHaveLength(0);
      expect(eth0.tcEgress.programs).toHaveLength(0);
      yield* object.close();
    });
  });
});
