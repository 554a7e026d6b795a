/**
 * Instructions as the kernel's verifier log prints them (kernel/bpf/disasm.c print_bpf_insn):
 * `(bf) r2 = r1`, `(61) r5 = *(u32 *)(r1 +4)`, `(2d) if r2 > r5 goto pc+75`, `(85) call bpf_map_lookup_elem#1`.
 */
import { ATOMIC_OP_NAMES, AtomicOp, type OpcodeForm, type RawInsn } from '@ebpf-sim/isa';

const ALU_OPS: Readonly<Record<string, string>> = {
  add: '+=',
  sub: '-=',
  mul: '*=',
  div: '/=',
  sdiv: 's/=',
  or: '|=',
  and: '&=',
  lsh: '<<=',
  rsh: '>>=',
  mod: '%=',
  smod: 's%=',
  xor: '^=',
  mov: '=',
  arsh: 's>>=',
};

const JMP_OPS: Readonly<Record<string, string>> = {
  jeq: '==',
  jgt: '>',
  jge: '>=',
  jset: '&',
  jne: '!=',
  jsgt: 's>',
  jsge: 's>=',
  jlt: '<',
  jle: '<=',
  jslt: 's<',
  jsle: 's<=',
};

const SIZE_NAMES: Readonly<Record<number, string>> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };
const SSIZE_NAMES: Readonly<Record<number, string>> = { 1: 's8', 2: 's16', 4: 's32' };

function signedOff(off: number): string {
  return off < 0 ? `${off}` : `+${off}`;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

export interface DisasmNames {
  /** Name of helper `id` (e.g. `bpf_map_lookup_elem`), or undefined for an unknown helper. */
  helperName(id: number): string | undefined;
  /** Text for an LD imm64 of a map (the kernel prints the map's kernel address). */
  mapText?(insn: RawInsn): string;
}

/** One instruction in the kernel's log format, starting with the opcode in parentheses. */
export function formatInsn(insn: RawInsn, form: OpcodeForm, names: DisasmNames): string {
  const code = `(${insn.code.toString(16).padStart(2, '0')})`;
  const parts = form.id.split('.');
  const r = form.is64 || form.cls === 'alu64' ? 'r' : 'w';
  switch (form.kind) {
    case 'alu': {
      const name = parts[1] ?? '';
      const op = ALU_OPS[name] ?? '?';
      const reg = form.cls === 'alu64' ? 'r' : 'w';
      const rhs = form.source === 'X' ? `${reg}${insn.src}` : `${insn.imm}`;
      return `${code} ${reg}${insn.dst} ${op} ${rhs}`;
    }
    case 'movsx': {
      const reg = form.cls === 'alu64' ? 'r' : 'w';
      return `${code} ${reg}${insn.dst} = (s${insn.off})${reg}${insn.src}`;
    }
    case 'neg': {
      const reg = form.cls === 'alu64' ? 'r' : 'w';
      return `${code} ${reg}${insn.dst} = -${reg}${insn.dst}`;
    }
    case 'end': {
      const name = parts[1] ?? '';
      return `${code} r${insn.dst} = ${name} r${insn.dst}`;
    }
    case 'ja':
      return form.cls === 'jmp32' ? `${code} gotol pc${signedOff(insn.imm)}` : `${code} goto pc${signedOff(insn.off)}`;
    case 'jcond':
      return `${code} may_goto pc${signedOff(insn.off)}`;
    case 'jmp': {
      const op = JMP_OPS[parts[1] ?? ''] ?? '?';
      const reg = form.cls === 'jmp32' ? 'w' : 'r';
      const rhs = form.source === 'X' ? `${reg}${insn.src}` : hex(insn.imm);
      return `${code} if ${reg}${insn.dst} ${op} ${rhs} goto pc${signedOff(insn.off)}`;
    }
    case 'call':
      if (insn.src === 1) return `${code} call pc${signedOff(insn.imm)}`;
      if (insn.src === 2) return `${code} call kernel-function#${insn.imm}`;
      return `${code} call ${names.helperName(insn.imm) ?? 'unknown'}#${insn.imm}`;
    case 'callx':
      return `${code} callx r${insn.dst}`;
    case 'exit':
      return `${code} exit`;
    case 'ld_imm64': {
      if (insn.src === 1 || insn.src === 2 || insn.src === 5 || insn.src === 6) {
        const text = names.mapText ? names.mapText(insn) : `map[id:${insn.imm}]`;
        return `${code} r${insn.dst} = ${text}`;
      }
      if (insn.src === 4) return `${code} r${insn.dst} = func pc${signedOff(insn.imm)}`;
      const lo = BigInt(insn.imm >>> 0);
      const hi = BigInt((insn.imm2 ?? 0) >>> 0);
      return `${code} r${insn.dst} = 0x${((hi << 32n) | lo).toString(16)}`;
    }
    case 'ld_abs':
      return `${code} r0 = *(${SIZE_NAMES[form.width] ?? '?'} *)skb[${insn.imm}]`;
    case 'ld_ind':
      return `${code} r0 = *(${SIZE_NAMES[form.width] ?? '?'} *)skb[r${insn.src} + ${insn.imm}]`;
    case 'ldx':
      return `${code} r${insn.dst} = *(${SIZE_NAMES[form.width] ?? '?'} *)(r${insn.src} ${signedOff(insn.off)})`;
    case 'ldxsx':
      return `${code} r${insn.dst} = *(${SSIZE_NAMES[form.width] ?? '?'} *)(r${insn.src} ${signedOff(insn.off)})`;
    case 'st':
      return `${code} *(${SIZE_NAMES[form.width] ?? '?'} *)(r${insn.dst} ${signedOff(insn.off)}) = ${insn.imm}`;
    case 'stx':
      return `${code} *(${SIZE_NAMES[form.width] ?? '?'} *)(r${insn.dst} ${signedOff(insn.off)}) = r${insn.src}`;
    case 'atomic':
      return formatAtomic(code, insn, form, r);
  }
}

function formatAtomic(code: string, insn: RawInsn, form: OpcodeForm, _r: string): string {
  const size = SIZE_NAMES[form.width] ?? '?';
  const w = form.width === 8 ? 'r' : 'w';
  const mem = `(${size} *)(r${insn.dst} ${signedOff(insn.off)})`;
  const name = ATOMIC_OP_NAMES[insn.imm] ?? '?';
  const plain: Readonly<Record<number, string>> = { [AtomicOp.ADD]: '+=', [AtomicOp.OR]: '|=', [AtomicOp.AND]: '&=', [AtomicOp.XOR]: '^=' };
  const p = plain[insn.imm];
  if (p) return `${code} lock *${mem} ${p} ${w}${insn.src}`;
  const fn = form.width === 8 ? `atomic64_${name}` : `atomic_${name}`;
  if (insn.imm === AtomicOp.CMPXCHG) return `${code} ${w}0 = ${fn}(${mem}, ${w}0, ${w}${insn.src})`;
  return `${code} ${w}${insn.src} = ${fn}(${mem}, ${w}${insn.src})`;
}
