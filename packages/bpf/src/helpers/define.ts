import type { HelperProto } from '@ebpf-sim/verifier';

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
