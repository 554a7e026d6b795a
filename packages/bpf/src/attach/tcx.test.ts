import { createKernel, SK_BUFF, type Kernel, type SimpleNic } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_F_ATTACH, BPF_LINK_TYPE, BPF_PROG_TYPE, Errno, TCX_ACTION, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { readFdinfo, runUserProgram } from '../testing/user-program.js';
import { BPF_MPROG_MAX } from './mprog.js';

/** mov r0, imm; exit. */
function ret(imm: number): Uint8Array {
  const insns = new Uint8Array(16);
  new DataView(insns.buffer).setInt32(4, imm, true);
  insns[0] = 0xb7;
  insns[8] = 0x95;
  return insns;
}

const INGRESS = BPF_ATTACH_TYPE.TCX_INGRESS;

function* loadCls(libc: Libc, name: string, result: number = TCX_ACTION.NEXT): Generator<number, number, number> {
  const loaded = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SCHED_CLS, insns: ret(result), license: 'GPL', name });
  expect(loaded.ret, loaded.log).toBeGreaterThan(0);
  return loaded.ret;
}

function* progId(libc: Libc, fd: number): Generator<number, number, number> {
  const info = yield* libc.bpfProgGetInfo(fd);
  if (!info.ok) throw new Error(`prog info: ${info.errno}`);
  return info.value.id;
}

/** Fire a device's tc ingress hook on an empty sk_buff (the programs return constants): the tcx_run result. */
function fireIngress(kernel: Kernel, nic: SimpleNic): number {
  const ctx = kernel.hookArena.begin(0, SK_BUFF.size);
  try {
    return kernel.hookArena.fire(nic.tcIngress, ctx, 0, undefined);
  } finally {
    kernel.hookArena.end(0, SK_BUFF.size);
  }
}

describe('tcx: BPF_PROG_ATTACH / DETACH / QUERY and tcx links (bpf_mprog)', () => {
  it('places programs before / after others, replaces, counts revisions and answers the query as Linux', () => {
    const kernel = createKernel({ cpus: 1, devices: { nics: [{ name: 'eth0' }] } });
    const nic = kernel.devices.nics[0] as SimpleNic;
    registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const a = yield* loadCls(libc, 'a');
      const b = yield* loadCls(libc, 'b');
      const c = yield* loadCls(libc, 'c', TCX_ACTION.DROP);
      const d = yield* loadCls(libc, 'd');
      const [idA, idB, idC, idD] = [yield* progId(libc, a), yield* progId(libc, b), yield* progId(libc, c), yield* progId(libc, d)];
      // Nothing attached yet: count 0 at revision 1 (as Linux 6.18 answers); no device is ENODEV.
      expect(yield* libc.bpfProgQuery(2, INGRESS, 8)).toMatchObject({ ret: 0, count: 0, revision: 1, progIds: [] });
      expect((yield* libc.bpfProgQuery(9, INGRESS, 8)).ret).toBe(-Errno.ENODEV);
      expect(yield* libc.bpfProgAttach(9, a, INGRESS)).toBe(-Errno.ENODEV);
      // Flags outside the mprog mask, and a SCHED_CLS program for an attach type of another program type.
      expect(yield* libc.bpfProgAttach(2, a, INGRESS, { attachFlags: BPF_F_ATTACH.ALLOW_MULTI })).toBe(-Errno.EINVAL);
      expect(yield* libc.bpfProgAttach(2, a, BPF_ATTACH_TYPE.XDP)).toBe(-Errno.EINVAL);

      expect(yield* libc.bpfProgAttach(2, a, INGRESS)).toBe(0);
      expect(yield* libc.bpfProgAttach(2, a, INGRESS)).toBe(-Errno.EEXIST);
      // B before A (by fd), then a link for C after everything, then D after A by id.
      expect(yield* libc.bpfProgAttach(2, b, INGRESS, { attachFlags: BPF_F_ATTACH.BEFORE, relative: a })).toBe(0);
      const link = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: c, target_ifindex: 2, attach_type: INGRESS, flags: BPF_F_ATTACH.AFTER })).ret;
      expect(link).toBeGreaterThan(0);
      const stale = yield* libc.bpfProgQuery(2, INGRESS, 8);
      expect(stale).toMatchObject({ ret: 0, count: 3, revision: 4, progIds: [idB, idA, idC] });
      expect(stale.linkIds[2]).toBeGreaterThan(0);
      expect(stale.linkIds.slice(0, 2)).toEqual([0, 0]);
      expect(yield* libc.bpfProgAttach(2, d, INGRESS, { attachFlags: BPF_F_ATTACH.AFTER | BPF_F_ATTACH.ID, relative: idA, expectedRevision: 3 })).toBe(
        -Errno.ESTALE,
      );
      expect(yield* libc.bpfProgAttach(2, d, INGRESS, { attachFlags: BPF_F_ATTACH.AFTER | BPF_F_ATTACH.ID, relative: idA, expectedRevision: 4 })).toBe(0);
      expect(nic.tcIngress.programs.map((p) => p.name)).toEqual(['b', 'a', 'd', 'c']);
      expect((yield* libc.bpfProgQuery(2, INGRESS, 8)).progIds).toEqual([idB, idA, idD, idC]);
      // BEFORE and AFTER the same anchor cannot both hold: ERANGE. An anchor that is not attached: ENOENT.
      const e = yield* loadCls(libc, 'e');
      expect(yield* libc.bpfProgAttach(2, e, INGRESS, { attachFlags: BPF_F_ATTACH.BEFORE | BPF_F_ATTACH.AFTER, relative: a })).toBe(-Errno.ERANGE);
      const stranger = yield* loadCls(libc, 'stranger');
      expect(yield* libc.bpfProgAttach(2, e, INGRESS, { attachFlags: BPF_F_ATTACH.BEFORE, relative: stranger })).toBe(-Errno.ENOENT);

      // tcx_run: TCX_NEXT goes on, C's DROP ends the run.
      expect(fireIngress(kernel, nic)).toBe(TCX_ACTION.DROP);
      expect(nic.tcIngress.programs.map((p) => p.runs)).toEqual([1, 1, 1, 1]);

      // A program a link holds is not detached without its link (EBUSY); REPLACE swaps A for E in place.
      expect(yield* libc.bpfProgDetach(2, c, INGRESS)).toBe(-Errno.EBUSY);
      expect(yield* libc.bpfProgAttach(2, e, INGRESS, { attachFlags: BPF_F_ATTACH.REPLACE, replaceFd: a })).toBe(0);
      expect(nic.tcIngress.programs.map((p) => p.name)).toEqual(['b', 'e', 'd', 'c']);
      // Detach the first one by position (BPF_F_BEFORE without a relative: the first).
      expect(yield* libc.bpfProgDetach(2, 0, INGRESS, { attachFlags: BPF_F_ATTACH.BEFORE })).toBe(0);
      const small = yield* libc.bpfProgQuery(2, INGRESS, 1);
      expect(small).toMatchObject({ ret: -Errno.ENOSPC, count: 3, progIds: [yield* progId(libc, e)] });

      const info = yield* libc.bpfLinkGetInfo(link);
      expect(info.ok).toBe(true);
      if (!info.ok) return;
      expect(info.value.type).toBe(BPF_LINK_TYPE.TCX);
      const union = new DataView(info.value.union.buffer, info.value.union.byteOffset);
      expect([union.getUint32(0, true), union.getUint32(4, true)]).toEqual([2, INGRESS]);
      expect((yield* readFdinfo(libc, link)).slice(-2)).toEqual(['ifindex:\t2', `attach_type:\t${INGRESS} (ingress)`]);
      // LINK_UPDATE: D is attached already (EEXIST); B is free again, so it takes C's slot.
      expect(yield* libc.bpfLinkUpdate(link, d)).toBe(-Errno.EEXIST);
      expect(yield* libc.bpfLinkUpdate(link, b)).toBe(0);
      expect(nic.tcIngress.programs.map((p) => p.name)).toEqual(['e', 'd', 'b']);
      expect(yield* libc.close(link)).toBe(0);
      expect(nic.tcIngress.programs.map((p) => p.name)).toEqual(['e', 'd']);
      expect(yield* libc.bpfProgDetach(2, e, INGRESS)).toBe(0);
      expect(yield* libc.bpfProgDetach(2, d, INGRESS)).toBe(0);
      // The empty entry is freed: the query answers as for a fresh one, and a new attach starts at revision 1 (+1).
      expect(yield* libc.bpfProgQuery(2, INGRESS, 8)).toMatchObject({ ret: 0, count: 0, revision: 1 });
      expect(yield* libc.bpfProgAttach(2, a, INGRESS)).toBe(0);
      expect((yield* libc.bpfProgQuery(2, INGRESS, 8)).revision).toBe(2);
    });
    // The programs attached without a link were held by the device: A still is.
    expect(nic.tcIngress.programs.map((p) => p.name)).toEqual(['a']);
  });

  it('takes at most bpf_mprog_max() programs (ERANGE after) and wants CAP_NET_ADMIN to query', () => {
    const kernel = createKernel({ cpus: 1, devices: { nics: [{ name: 'eth0' }] } });
    registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      for (let i = 0; i < BPF_MPROG_MAX - 1; i++) {
        const fd = yield* loadCls(libc, `p${i}`);
        expect(yield* libc.bpfProgAttach(2, fd, BPF_ATTACH_TYPE.TCX_EGRESS)).toBe(0);
      }
      const last = yield* loadCls(libc, 'last');
      expect(yield* libc.bpfProgAttach(2, last, BPF_ATTACH_TYPE.TCX_EGRESS)).toBe(-Errno.ERANGE);
      expect((yield* libc.bpfProgQuery(2, BPF_ATTACH_TYPE.TCX_EGRESS, 0)).count).toBe(BPF_MPROG_MAX - 1);
    });
    runUserProgram(
      kernel,
      function* (libc) {
        expect((yield* libc.bpfProgQuery(2, BPF_ATTACH_TYPE.TCX_EGRESS, 0)).ret).toBe(-Errno.EPERM);
      },
      1000,
    );
  });
});
