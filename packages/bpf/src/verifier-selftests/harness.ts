/**
 * The verifier selftests' harness, in the style of Linux's tools/testing/selftests/bpf/verifier: each case
 * is a program written with the isa builder, a program type, maps, privileges, the expected decision and
 * the key log line (the kernel's error line for rejections, or a state print for acceptances).
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { verify, type VerifyResult } from '@ebpf-sim/verifier';
import { expect, it } from 'vitest';
import { type MapSpec, createRegistry } from '../maps.js';
import { PROGRAM_TYPES } from '../prog-types/index.js';

export interface SelftestCase {
  readonly name: string;
  /** Builder instructions, or raw bytecode for malformed programs the builder cannot express. */
  readonly insns: readonly RawInsn[] | Uint8Array;
  /** Program type (default xdp). */
  readonly type?: string;
  readonly maps?: readonly MapSpec[];
  readonly unprivileged?: boolean;
  readonly gpl?: boolean;
  readonly result: 'accept' | 'reject';
  /** A line (or part of one) the log must contain; for rejections, the kernel's error line. */
  readonly log?: string;
  /** Expected errno of a rejection (default: not checked). */
  readonly errno?: number;
}

/** Maps the cases use most: fd 0 an array (u32 key, u64 value), fd 1 a hash (u64 key, 16-byte value), fd 2 a ringbuf. */
export const COMMON_MAPS: readonly MapSpec[] = [
  { name: 'counts', type: 'array', keySize: 4, valueSize: 8, maxEntries: 16 },
  { name: 'flows', type: 'hash', keySize: 8, valueSize: 16, maxEntries: 128 },
  { name: 'events', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 },
  { name: 'jumps', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'perf', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 2 },
  { name: 'q', type: 'queue', keySize: 0, valueSize: 8, maxEntries: 16 },
];

export function runCase(c: SelftestCase, level: 1 | 2 = 2): VerifyResult {
  const progType = PROGRAM_TYPES.get(c.type ?? 'xdp');
  if (!progType) throw new Error(`unknown program type ${c.type ?? ''}`);
  return verify(c.insns, {
    progType,
    registry: createRegistry(c.maps ?? COMMON_MAPS),
    logLevel: level,
    privileged: c.unprivileged !== true,
    gpl: c.gpl ?? true,
  });
}

/** One vitest case per selftest: the decision, the errno and the key log line. */
export function defineCases(cases: readonly SelftestCase[]): void {
  for (const c of cases) {
    it(`${c.name} (${c.result})`, () => {
      const r = runCase(c);
      const why = `\n--- log ---\n${r.log}`;
      expect(r.accepted, `${c.name}: expected ${c.result}${why}`).toBe(c.result === 'accept');
      if (c.log !== undefined) expect(r.log, why).toContain(c.log);
      if (c.errno !== undefined) expect(r.error?.errno).toBe(c.errno);
      if (c.result === 'reject') expect(r.log).toMatch(/\nhint: .+\n/);
      expect(r.log).toMatch(/processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read 0\n$/);
    });
  }
}
