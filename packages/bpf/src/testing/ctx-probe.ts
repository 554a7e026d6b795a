/**
 * Test support for context rewrites: programs that read a context's fields, verified with a program type,
 * rewritten as the kernel rewrites them and run by @ebpf-sim/vm, reporting what each load produced. A probe
 * program puts up to nine values in r2..r9 and finally r1 (so one conversion's destination is the context
 * register itself), returns 0, and the caller reads the registers back.
 */
import { asm, type RawInsn } from '@ebpf-sim/isa';
import { convertCtxAccesses, verify, type CtxLayout, type ProgramTypeDesc } from '@ebpf-sim/verifier';
import { formatFault, loadProgram, type Program, type Vm } from '@ebpf-sim/vm';
import { createRegistry } from '../maps.js';

/** One load from the context: `size` bytes at `off`, named for the reports. */
export interface CtxRead {
  readonly name: string;
  readonly off: number;
  readonly size: 1 | 2 | 4 | 8;
}

/** The registers a probe program loads into, in order; r1 (the context) is overwritten last. */
const DESTINATIONS = [asm.R2, asm.R3, asm.R4, asm.R5, asm.R6, asm.R7, asm.R8, asm.R9, asm.R1] as const;

const LOADS = { 1: asm.Ldx.b, 2: asm.Ldx.h, 4: asm.Ldx.w, 8: asm.Ldx.dw } as const;

/**
 * Every field of `ctx` read whole; a field with narrow loads also by its first byte, and an 8-byte one by its
 * upper half (the loads Linux widens, then shifts and masks).
 */
export function fieldReads(ctx: CtxLayout): CtxRead[] {
  const reads: CtxRead[] = [];
  for (const field of ctx.fields) {
    // A field any aligned access may cover (cb[]) is read word by word.
    if (field.anyAlignedAccess === true) {
      reads.push(...arrayReads(field.name, field.off, field.size / 4, 4));
      continue;
    }
    reads.push({ name: field.name, off: field.off, size: field.size as CtxRead['size'] });
    if (field.narrowLoads !== true) continue;
    reads.push({ name: `${field.name}[byte 0]`, off: field.off, size: 1 });
    if (field.size === 8) reads.push({ name: `${field.name}[upper half]`, off: field.off + 4, size: 4 });
  }
  return reads;
}

/** `count` consecutive reads of `size` bytes from `from`, named `name[i]`. */
export function arrayReads(name: string, from: number, count: number, size: CtxRead['size']): CtxRead[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${name}[${i}]`, off: from + i * size, size }));
}

/** A program that loads `reads` (at most nine) into the destination registers and returns 0. */
function probeInsns(reads: readonly CtxRead[]): RawInsn[] {
  return asm.program(
    reads.map((read, i) => LOADS[read.size](DESTINATIONS[i] ?? asm.R1, asm.R1, read.off)),
    asm.Mov.imm(asm.R0, 0),
    asm.Exit(),
  );
}

export interface CtxProbe {
  /** The rewritten programs, as the kernel would run them. */
  readonly programs: readonly Program[];
  /** Run every program on the context at `ctx`; what each read loaded, in the order of the reads. */
  run(ctx: number): bigint[];
}

/**
 * Verify the programs making `reads` as `progType` (privileged, GPL), rewrite their context accesses and
 * load them for `vm`. Throws with the verifier log when the verifier refuses one.
 */
export function ctxProbe(progType: ProgramTypeDesc, reads: readonly CtxRead[], vm: Vm): CtxProbe {
  const chunks: CtxRead[][] = [];
  for (let i = 0; i < reads.length; i += DESTINATIONS.length) chunks.push(reads.slice(i, i + DESTINATIONS.length));
  const programs = chunks.map((chunk) => {
    const insns = probeInsns(chunk);
    const result = verify(insns, { progType, registry: createRegistry() });
    if (!result.accepted) throw new Error(`${progType.name} refused the probe of ${chunk.map((r) => r.name).join(', ')}: ${result.error?.message ?? ''}`);
    return loadProgram(convertCtxAccesses(insns, result.facts, progType).insns, { name: `probe ${progType.name}` });
  });
  return {
    programs,
    run(ctx) {
      const values: bigint[] = [];
      programs.forEach((program, p) => {
        if (!vm.run(program, ctx)) throw new Error(`probe ${p} of ${progType.name} faulted: ${vm.fault ? formatFault(vm.fault) : 'no fault record'}`);
        const chunk = chunks[p] ?? [];
        chunk.forEach((_, i) => values.push(vm.reg(DESTINATIONS[i] ?? asm.R1)));
      });
      return values;
    },
  };
}

/**
 * What each read must load when the fields hold `values` (by field name): the value, its first byte, or its
 * upper half, as the read's name says (see {@link fieldReads}).
 */
export function expectedReads(reads: readonly CtxRead[], values: Readonly<Record<string, bigint>>): Record<string, bigint> {
  return Object.fromEntries(
    reads.map((read) => {
      const [, field = read.name, part] = /^(.+?)(?:\[(byte 0|upper half)\])?$/.exec(read.name) ?? [];
      const value = values[field];
      if (value === undefined) throw new Error(`no value for field ${field}`);
      return [read.name, part === 'byte 0' ? value & 0xffn : part === 'upper half' ? value >> 32n : value];
    }),
  );
}

/** What each read finds in memory at `ctx` (a context read in place, without conversion). */
export function memoryReads(view: DataView, ctx: number, reads: readonly CtxRead[]): Record<string, bigint> {
  const load = (at: number, size: CtxRead['size']): bigint => {
    switch (size) {
      case 1:
        return BigInt(view.getUint8(at));
      case 2:
        return BigInt(view.getUint16(at, true));
      case 4:
        return BigInt(view.getUint32(at, true));
      case 8:
        return view.getBigUint64(at, true);
    }
  };
  return Object.fromEntries(reads.map((read) => [read.name, load(ctx + read.off, read.size)]));
}

/** {@link CtxProbe.run}'s values by read name. */
export function byName(reads: readonly CtxRead[], values: readonly bigint[]): Record<string, bigint> {
  return Object.fromEntries(reads.map((read, i) => [read.name, values[i] ?? -1n]));
}
