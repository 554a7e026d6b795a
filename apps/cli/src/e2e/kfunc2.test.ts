/**
 * Packet dynptrs and the casting kfuncs end to end (fixtures/attach/src/kf3_pkt.bpf.c, loaded through the loader,
 * which resolves the `__ksym` kfuncs in the kernel's BTF): a tc program reads a packet through bpf_dynptr_from_skb
 * (bpf_dynptr_read, bpf_dynptr_slice into a stack buffer, NULL past the end), writes the IPv4 TTL through
 * bpf_dynptr_slice_rdwr and reads skb->len through bpf_cast_to_kern_ctx's struct sk_buff; an XDP program reads the
 * IP protocol through bpf_dynptr_from_xdp. Both run with BPF_PROG_TEST_RUN, in the interpreter and the JIT.
 */
import type { LoadedObject } from '@ebpf-sim/loader';
import { O } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, progFd } from './rawtp-attach.js';

/** Ethernet + IPv4 (TTL 64) + UDP or TCP header + 6 payload bytes. */
function packet(ipproto: number): Uint8Array {
  const l4 = ipproto === 6 ? 20 : 8;
  const bytes = new Uint8Array(14 + 20 + l4 + 6);
  const view = new DataView(bytes.buffer);
  bytes.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  view.setUint16(12, 0x0800);
  bytes[14] = 0x45;
  view.setUint16(16, 20 + l4 + 6);
  bytes[22] = 64;
  bytes[23] = ipproto;
  bytes.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  return bytes;
}

const XDP_DROP = 1;
const XDP_PASS = 2;

function* globals(loaded: LoadedObject): Generator<number, Record<string, unknown>, number> {
  const bss = [...loaded.maps.values()].find((map) => map.spec.name.endsWith('.bss'));
  if (bss === undefined) throw new Error('no .bss map');
  const value = yield* bss.lookup(new Uint8Array(4));
  return (value ?? {}) as Record<string, unknown>;
}

describe('kfuncs: kf3_pkt.bpf.o (skb and xdp dynptrs, bpf_cast_to_kern_ctx)', () => {
  for (const jit of [false, true]) {
    it(`reads, slices and writes packets through dynptrs (${jit ? 'JIT' : 'interpreter'})`, () => {
      const udp = packet(17);
      const tcp = packet(6);
      let tc: { ret: number; retval: number; ttl: number | undefined } | undefined;
      let xdp: number[] = [];
      let seen: Record<string, unknown> = {};
      inCorpusKernel(function* (libc) {
        const sysctl = yield* libc.open('/proc/sys/net/core/bpf_jit_enable', O.WRONLY);
        yield* libc.write(sysctl, jit ? '1\n' : '0\n');
        yield* libc.close(sysctl);
        const loaded = yield* loadAttachObject(libc, 'kf3_pkt');
        const run = yield* libc.bpfProgTestRun(progFd(loaded, 'kf3_tc'), { data: udp, dataOutSize: 128 });
        tc = { ret: run.ret, retval: run.retval, ttl: run.dataOut[22] };
        const x1 = yield* libc.bpfProgTestRun(progFd(loaded, 'kf3_xdp'), { data: udp });
        const x2 = yield* libc.bpfProgTestRun(progFd(loaded, 'kf3_xdp'), { data: tcp });
        xdp = [x1.ret, x1.retval, x2.ret, x2.retval];
        seen = yield* globals(loaded);
        yield* loaded.close();
      });
      expect(tc).toEqual({ ret: 0, retval: 0, ttl: 7 });
      expect(xdp).toEqual([0, XDP_DROP, 0, XDP_PASS]);
      const n = (name: string): number => Number(seen[name]);
      expect({
        proto: n('tc_proto'),
        ipproto: n('tc_ipproto'),
        kernLen: n('tc_kern_len'),
        uapiLen: n('tc_uapi_len'),
        pastEnd: n('tc_past_end'),
        xdpProto: n('xdp_ipproto'),
        xdpLen: n('xdp_len'),
      }).toEqual({ proto: 0x0800, ipproto: 17, kernLen: udp.length, uapiLen: udp.length, pastEnd: 1, xdpProto: 6, xdpLen: tcp.length });
    });
  }
});
