import { BPF_FUNC, type BpfFuncName } from '@ebpf-sim/uapi';
import type { HelperProto } from '@ebpf-sim/verifier';
import { HelperTable } from '@ebpf-sim/vm';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';

/** A helper as the bpf subsystem defines it: the prototype the verifier checks calls against, and the implementation the runtime binds. */
export interface BpfHelper extends HelperProto {
  /** The implementation (absent: the verifier knows the helper, but a program calling it is refused at load). */
  readonly impl?: HelperImpl;
}

/**
 * The prototype of helper `name` (its enum bpf_func_id name after `BPF_FUNC_`): the number comes from
 * @ebpf-sim/uapi, the C name is `bpf_<name>`, `spec` is the bpf_func_proto and `impl` the implementation.
 */
export function helper(name: BpfFuncName, spec: Omit<HelperProto, 'id' | 'name'>, impl?: HelperImpl): BpfHelper {
  return { id: BPF_FUNC[name], name: `bpf_${name}`, ...spec, ...(impl === undefined ? {} : { impl }) };
}

/** The numbers of helpers named as in enum bpf_func_id. */
export function funcIds(names: readonly BpfFuncName[]): number[] {
  return names.map((name) => BPF_FUNC[name]);
}

/** Build a prototype table keyed by helper number, refusing duplicate numbers (a typo in the tables). */
export function protoTable(...groups: ReadonlyArray<readonly BpfHelper[]>): ReadonlyMap<number, BpfHelper> {
  const table = new Map<number, BpfHelper>();
  for (const group of groups) {
    for (const proto of group) {
      if (table.has(proto.id)) throw new Error(`helper #${proto.id} (${proto.name}) is defined twice`);
      table.set(proto.id, proto);
    }
  }
  return table;
}

/** The VM's helper table: every helper of `helpers` that has an implementation, bound to `env` once. */
export function bindHelpers(env: HelperEnv, helpers: ReadonlyMap<number, BpfHelper>): HelperTable {
  const table = new HelperTable();
  for (const proto of helpers.values()) if (proto.impl !== undefined) table.add({ id: proto.id, name: proto.name, fn: proto.impl(env) });
  return table;
}
