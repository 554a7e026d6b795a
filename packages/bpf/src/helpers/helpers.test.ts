/**
 * The helper numbers have one definition, @ebpf-sim/uapi's BPF_FUNC (enum bpf_func_id). The instruction-set
 * package, which may depend on nothing, keeps the names its disassemblers print (BPF_HELPER_NAMES); this test
 * holds the two equal, and holds every prototype to its uapi number.
 */
import { BPF_FUNC_MAX_ID as ISA_MAX_ID, BPF_HELPER_NAMES } from '@ebpf-sim/isa';
import { BPF_FUNC, BPF_FUNC_MAX_ID, BPF_PROG_TYPE, type BpfProgTypeName } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { PROGRAM_TYPES } from '../prog-types/index.js';
import { HELPERS } from './index.js';

describe('one definition of the ABI numbers', () => {
  it("isa's disassembler names are uapi's enum bpf_func_id, in order", () => {
    expect(Object.entries(BPF_FUNC).map(([name, id]) => [id, name])).toEqual(BPF_HELPER_NAMES.map((name, id) => [id, name]));
    expect(ISA_MAX_ID).toBe(BPF_FUNC_MAX_ID);
  });

  it('every prototype carries its uapi number and the bpf_ name of it', () => {
    for (const [id, proto] of HELPERS) {
      expect(proto.id).toBe(id);
      expect(BPF_FUNC[proto.name.replace(/^bpf_/, '') as keyof typeof BPF_FUNC]).toBe(id);
    }
  });

  it('every program type carries its enum bpf_prog_type number', () => {
    for (const type of PROGRAM_TYPES.values()) expect(type.uapiId).toBe(BPF_PROG_TYPE[type.name.toUpperCase() as BpfProgTypeName]);
  });

  it("a program type's helpers are all known prototypes", () => {
    for (const type of PROGRAM_TYPES.values()) for (const id of type.helpers) expect(HELPERS.has(id), `${type.name}: helper #${id}`).toBe(true);
  });
});
