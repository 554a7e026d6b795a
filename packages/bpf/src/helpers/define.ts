import { BPF_FUNC, type BpfFuncName } from '@ebpf-sim/uapi';
import type { HelperProto } from '@ebpf-sim/verifier';

/**
 * The prototype of helper `name` (its enum bpf_func_id name after `BPF_FUNC_`): the number comes from
 * @ebpf-sim/uapi, the C name is `bpf_<name>`, `spec` is the bpf_func_proto.
 */
export function helper(name: BpfFuncName, spec: Omit<HelperProto, 'id' | 'name'>): HelperProto {
  return { id: BPF_FUNC[name], name: `bpf_${name}`, ...spec };
}

/** The numbers of helpers named as in enum bpf_func_id. */
export function funcIds(names: readonly BpfFuncName[]): number[] {
  return names.map((name) => BPF_FUNC[name]);
}

/** Build a prototype table keyed by helper number, refusing duplicate numbers (a typo in the tables). */
export function protoTable(...groups: ReadonlyArray<readonly HelperProto[]>): ReadonlyMap<number, HelperProto> {
  const table = new Map<number, HelperProto>();
  for (const group of groups) {
    for (const proto of group) {
      if (table.has(proto.id)) throw new Error(`helper #${proto.id} (${proto.name}) is defined twice`);
      table.set(proto.id, proto);
    }
  }
  return table;
}
