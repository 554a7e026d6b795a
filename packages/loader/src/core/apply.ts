/**
 * CO-RE for one program, as libbpf's bpf_object__relocate_core() does it: each relocation record resolved against
 * the target (kernel) BTF through a per-object candidate cache, then patched into the instruction. A relocation
 * that cannot be resolved poisons its instruction and the load goes on (the verifier decides whether it is
 * reached); one libbpf fails on is a LoaderError naming the program, the relocation, the instruction and the
 * access string.
 */
import type { Btf } from '@ebpf-sim/btf';
import { LoaderError } from '../errors.js';
import { patchInsn } from './patch.js';
import { calcReloInsn, CoreReloError, findCandidates, type CoreRelo } from './relo.js';
import { CoreSpecError, formatSpec, rootLabel } from './spec.js';

/** The target BTF (the running kernel's) and the candidates found in it so far, by local type id. */
export class CoreTarget {
  private readonly cache = new Map<number, readonly number[]>();

  constructor(
    readonly local: Btf,
    readonly target: Btf,
  ) {}

  /** bpf_core_find_cands(), cached as libbpf's cand_cache. */
  candidates(localId: number): readonly number[] {
    let cands = this.cache.get(localId);
    if (cands === undefined) {
      cands = findCandidates(this.local, localId, this.target);
      this.cache.set(localId, cands);
    }
    return cands;
  }
}

/** A relocation that poisoned its instruction: where, and the local spec (for the message if the verifier reaches it). */
export interface PoisonedRelo {
  readonly insn: number;
  readonly relo: number;
  /** bpf_core_format_spec() of the local spec: `<byte_off> [6] struct task_struct.no_such_field (0:9 @ offset 40)`. */
  readonly spec: string;
}

export interface CoreOutcome {
  readonly insns: Uint8Array;
  readonly poisoned: readonly PoisonedRelo[];
}

interface CoreProgram {
  readonly name: string;
  readonly insns: Uint8Array;
  readonly coreRelos: readonly CoreRelo[];
}

/** Apply a program's CO-RE relocations to a copy of its instructions. */
export function applyCoreRelocations(prog: CoreProgram, target: CoreTarget): CoreOutcome {
  const insns = prog.insns.slice();
  const poisoned: PoisonedRelo[] = [];
  for (const [index, relo] of prog.coreRelos.entries()) {
    const where = `prog '${prog.name}': relo #${index}: insn #${relo.insn}: ${rootLabel(target.local, relo.typeId)} + ${relo.accessString}`;
    try {
      const decision = calcReloInsn(relo, target.local, (id) => target.candidates(id), target.target);
      const outcome = patchInsn(insns, relo.insn, decision.result);
      if (outcome.poisoned) for (const insn of outcome.slots) poisoned.push({ insn, relo: index, spec: formatSpec(decision.local) });
    } catch (error) {
      if (error instanceof CoreReloError || error instanceof CoreSpecError)
        throw new LoaderError(`${where}: ${error.message}`, 'reloc', `failed to relocate: -${error.errno}`);
      throw error;
    }
  }
  return { insns, poisoned };
}

/** libbpf's poison helper as the verifier names it: `invalid func unknown#195896080`. */
const POISON_CALL_LINE = /^(\d+): \(85\) call unknown#195896080\n(invalid func unknown#195896080)\n/m;

/**
 * libbpf's fixup_log_failed_core_relo(): where the verifier reached a poisoned instruction, its two log lines are
 * replaced by the CO-RE relocation that failed there, so the message says which field or type was missing.
 */
export function explainPoisonInLog(log: string, poisoned: readonly PoisonedRelo[]): string {
  const m = POISON_CALL_LINE.exec(log);
  if (m === null) return log;
  const insn = Number(m[1]);
  const relo = poisoned.find((p) => p.insn === insn);
  if (relo === undefined) return log;
  return log.replace(m[0], `${insn}: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation ${relo.spec}\n`);
}
