import { BtfBuilder, BtfFuncLinkage, BtfKind, parseBtf } from '@ebpf-sim/btf';
import { BPF_ATTACH_TYPE, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { findAttachBtfId } from './attach-btf.js';

/** A small kernel BTF: a function `do_unlinkat`, the LSM hook function `bpf_lsm_file_open`, a tracepoint typedef. */
function kernelBtf(): ReturnType<typeof parseBtf> {
  const b = new BtfBuilder();
  const int = b.int('int', 4, 1);
  const proto = b.funcProto(int, [{ name: 'dfd', type: int }]);
  b.add({ kind: BtfKind.FUNC, name: 'do_unlinkat', sizeOrType: proto, linkage: BtfFuncLinkage.STATIC });
  b.add({ kind: BtfKind.FUNC, name: 'bpf_lsm_file_open', sizeOrType: proto, linkage: BtfFuncLinkage.STATIC });
  const tpProto = b.funcProto(0, [{ name: '', type: int }]);
  b.add({ kind: BtfKind.TYPEDEF, name: 'btf_trace_sys_enter', sizeOrType: b.ref(BtfKind.PTR, tpProto) });
  // A FUNC named like the tracepoint: tp_btf must not take it (it looks for the typedef).
  b.add({ kind: BtfKind.FUNC, name: 'sys_enter', sizeOrType: proto, linkage: BtfFuncLinkage.STATIC });
  return parseBtf(b.build());
}

describe("findAttachBtfId (libbpf's find_attach_btf_id)", () => {
  const btf = kernelBtf();
  const id = (name: string, kind: number): number => btf.types.find((t) => t.name === name && t.kind === kind)?.id ?? -1;
  it('finds the target by the prefix and kind of the attach type', () => {
    expect(findAttachBtfId(btf, 'do_unlinkat', BPF_ATTACH_TYPE.TRACE_FENTRY)).toBe(id('do_unlinkat', BtfKind.FUNC));
    expect(findAttachBtfId(btf, 'do_unlinkat', BPF_ATTACH_TYPE.TRACE_FEXIT)).toBe(id('do_unlinkat', BtfKind.FUNC));
    expect(findAttachBtfId(btf, 'file_open', BPF_ATTACH_TYPE.LSM_MAC)).toBe(id('bpf_lsm_file_open', BtfKind.FUNC));
    expect(findAttachBtfId(btf, 'sys_enter', BPF_ATTACH_TYPE.TRACE_RAW_TP)).toBe(id('btf_trace_sys_enter', BtfKind.TYPEDEF));
  });
  it('gives -ESRCH for a target the kernel does not have', () => {
    expect(findAttachBtfId(btf, 'bpf', BPF_ATTACH_TYPE.LSM_MAC)).toBe(-Errno.ESRCH);
    expect(findAttachBtfId(btf, 'cgroup_mkdir', BPF_ATTACH_TYPE.TRACE_RAW_TP)).toBe(-Errno.ESRCH);
    expect(findAttachBtfId(btf, 'btf_trace_sys_enter', BPF_ATTACH_TYPE.TRACE_FENTRY)).toBe(-Errno.ESRCH);
  });
});
