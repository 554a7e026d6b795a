/**
 * The one opcode table of the eBPF instruction set (RFC 9669 plus Linux's extensions).
 *
 * Every other part of the project (encoder, decoder, validity check, both disassemblers, both assemblers, the
 * interpreter, the JIT and the verifier) is driven by this table. A row is one *instruction form*: an opcode
 * byte, optionally narrowed by a discriminant field (the offset of sdiv/smod/movsx, the immediate of byte swaps
 * and atomics, the source register of calls and LD imm64 pseudo loads). Each form has a unique `id` (what the
 * interpreter keys its op table by) and a dense numeric `index`, its position in the table (for arrays indexed
 * by form); the JIT works from a form's fields (`kind`, `cls`, `op`).
 */

/** Instruction classes: the low three bits of the opcode. */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Source operand bit of ALU and JMP opcodes. */
export const Source = { K: 0x00, X: 0x08 } as const;

/** ALU operation codes (bits 4-7). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** JMP operation codes (bits 4-7). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** Linux 6.9+: conditional pseudo jump (`may_goto`), BPF_JMP | BPF_JCOND. */
  JCOND: 0xe0,
} as const;

/** Load/store modes (bits 5-7). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;

/** Load/store sizes (bits 3-4). */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Width in bytes of each size code. */
export const SIZE_BYTES: Readonly<Record<number, 1 | 2 | 4 | 8>> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

/** Atomic operation codes, held in the immediate of BPF_STX | BPF_ATOMIC. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe1,
  CMPXCHG: 0xf1,
} as const;

/** Source-register values of LD imm64 (`BPF_PSEUDO_*` in linux/bpf.h). */
export const PseudoLd = {
  NONE: 0,
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;

/** Source-register values of BPF_CALL. */
export const PseudoCall = { HELPER: 0, LOCAL: 1, KFUNC: 2 } as const;

export type InsnClassName = 'ld' | 'ldx' | 'st' | 'stx' | 'alu' | 'jmp' | 'jmp32' | 'alu64';

/** What an instruction does; every printer, interpreter case and verifier rule is chosen by kind. */
export type InsnKind =
  | 'alu' // dst = dst OP src|imm
  | 'neg' // dst = -dst
  | 'movsx' // dst = (sN) src
  | 'end' // byte swap: be/le (ALU class) or bswap (ALU64 class)
  | 'ja' // goto off (JMP) or gotol imm (JMP32)
  | 'jcond' // may_goto off
  | 'jmp' // conditional jump
  | 'call' // call helper / local function / kfunc
  | 'callx' // call the helper whose id is in a register
  | 'exit'
  | 'ld_imm64'
  | 'ld_abs'
  | 'ld_ind'
  | 'ldx'
  | 'ldxsx'
  | 'st'
  | 'stx'
  | 'atomic';

/** How an instruction field is used; anything not used must be zero. */
export type FieldUse =
  | 'zero' // reserved: must be zero
  | 'reg' // a register number 0..10
  | 'fixed' // the form's discriminant value
  | 'imm' // an immediate operand
  | 'mem' // a memory offset
  | 'jump' // a pc-relative jump offset
  | 'any'; // free (helper id, kfunc BTF id, pc-relative call target)

export interface OpcodeForm {
  /** Dense position in {@link OPCODE_TABLE}, for arrays indexed by form (the engines key on `id` and the fields). */
  readonly index: number;
  /** Unique, readable identifier, e.g. `alu64.add.x`, `ldx.memsx.b`, `atomic.dw.fetch_add`. */
  readonly id: string;
  readonly opcode: number;
  /** Field that separates forms sharing an opcode byte, with its value. */
  readonly discriminant: { readonly field: 'off' | 'imm' | 'src'; readonly value: number } | null;
  readonly kind: InsnKind;
  readonly cls: InsnClassName;
  /** 64-bit operation (ALU64, JMP, DW sized) versus 32-bit. */
  readonly is64: boolean;
  /** Operation: ALU/JMP op code, atomic op, or 0. */
  readonly op: number;
  /** Register (X) or immediate (K) source for ALU and JMP forms. */
  readonly source: 'K' | 'X' | null;
  /** Access width in bytes for loads, stores and atomics; swap width in bits for `end`; 0 otherwise. */
  readonly width: number;
  /** LD imm64 pseudo source, call source, or movsx/sdiv offset, when the form is narrowed by one. */
  readonly fields: {
    readonly dst: FieldUse;
    readonly src: FieldUse;
    readonly off: FieldUse;
    readonly imm: FieldUse;
  };
  /** Lowest bpf_conformance "cpu version" with this form (RFC 9669 conformance groups). */
  readonly cpuVersion: 1 | 2 | 3 | 4;
  /** Two slots (LD imm64). */
  readonly wide: boolean;
}

type FormInit = Omit<OpcodeForm, 'index' | 'wide' | 'discriminant'> & {
  discriminant?: OpcodeForm['discriminant'];
};

const CLASS_NAMES: readonly InsnClassName[] = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

export const ALU_OP_NAMES: Readonly<Record<number, string>> = {
  [AluOp.ADD]: 'add',
  [AluOp.SUB]: 'sub',
  [AluOp.MUL]: 'mul',
  [AluOp.DIV]: 'div',
  [AluOp.OR]: 'or',
  [AluOp.AND]: 'and',
  [AluOp.LSH]: 'lsh',
  [AluOp.RSH]: 'rsh',
  [AluOp.MOD]: 'mod',
  [AluOp.XOR]: 'xor',
  [AluOp.MOV]: 'mov',
  [AluOp.ARSH]: 'arsh',
};

export const JMP_COND_NAMES: Readonly<Record<number, string>> = {
  [JmpOp.JEQ]: 'jeq',
  [JmpOp.JGT]: 'jgt',
  [JmpOp.JGE]: 'jge',
  [JmpOp.JSET]: 'jset',
  [JmpOp.JNE]: 'jne',
  [JmpOp.JSGT]: 'jsgt',
  [JmpOp.JSGE]: 'jsge',
  [JmpOp.JLT]: 'jlt',
  [JmpOp.JLE]: 'jle',
  [JmpOp.JSLT]: 'jslt',
  [JmpOp.JSLE]: 'jsle',
};

const SIZE_NAMES: Readonly<Record<number, string>> = { 0x00: 'w', 0x08: 'h', 0x10: 'b', 0x18: 'dw' };

export const ATOMIC_OP_NAMES: Readonly<Record<number, string>> = {
  [AtomicOp.ADD]: 'add',
  [AtomicOp.OR]: 'or',
  [AtomicOp.AND]: 'and',
  [AtomicOp.XOR]: 'xor',
  [AtomicOp.ADD | AtomicOp.FETCH]: 'fetch_add',
  [AtomicOp.OR | AtomicOp.FETCH]: 'fetch_or',
  [AtomicOp.AND | AtomicOp.FETCH]: 'fetch_and',
  [AtomicOp.XOR | AtomicOp.FETCH]: 'fetch_xor',
  [AtomicOp.XCHG]: 'xchg',
  [AtomicOp.CMPXCHG]: 'cmpxchg',
};

export const PSEUDO_LD_NAMES: Readonly<Record<number, string>> = {
  [PseudoLd.NONE]: 'imm',
  [PseudoLd.MAP_FD]: 'map_fd',
  [PseudoLd.MAP_VALUE]: 'map_value',
  [PseudoLd.BTF_ID]: 'btf_id',
  [PseudoLd.FUNC]: 'func',
  [PseudoLd.MAP_IDX]: 'map_idx',
  [PseudoLd.MAP_IDX_VALUE]: 'map_idx_value',
};

function buildTable(): OpcodeForm[] {
  const forms: FormInit[] = [];

  // ALU and ALU64.
  for (const cls of [Class.ALU, Class.ALU64]) {
    const is64 = cls === Class.ALU64;
    const c = CLASS_NAMES[cls] ?? 'alu';
    for (const [opStr, name] of Object.entries(ALU_OP_NAMES)) {
      const op = Number(opStr);
      for (const source of ['K', 'X'] as const) {
        const opcode = cls | op | Source[source];
        const signedVariant = op === AluOp.DIV || op === AluOp.MOD;
        const base: FormInit = {
          id: `${c}.${name}.${source.toLowerCase()}`,
          opcode,
          kind: 'alu',
          cls: c,
          is64,
          op,
          source,
          width: 0,
          fields: { dst: 'reg', src: source === 'X' ? 'reg' : 'zero', off: 'zero', imm: source === 'K' ? 'imm' : 'zero' },
          cpuVersion: 1,
        };
        if (signedVariant || op === AluOp.MOV) {
          // The offset separates div/sdiv, mod/smod and mov/movsx (RFC 9669 section 4.1).
          forms.push({ ...base, discriminant: { field: 'off', value: 0 }, fields: { ...base.fields, off: 'fixed' } });
        } else {
          forms.push(base);
        }
        if (signedVariant) {
          forms.push({
            ...base,
            id: `${c}.s${name}.${source.toLowerCase()}`,
            discriminant: { field: 'off', value: 1 },
            fields: { ...base.fields, off: 'fixed' },
            cpuVersion: 4,
          });
        }
        if (op === AluOp.MOV && source === 'X') {
          for (const bits of is64 ? [8, 16, 32] : [8, 16]) {
            forms.push({
              ...base,
              id: `${c}.movsx${bits}.x`,
              kind: 'movsx',
              width: bits / 8,
              discriminant: { field: 'off', value: bits },
              fields: { ...base.fields, off: 'fixed' },
              cpuVersion: 4,
            });
          }
        }
      }
    }
    forms.push({
      id: `${c}.neg`,
      opcode: cls | AluOp.NEG,
      kind: 'neg',
      cls: c,
      is64,
      op: AluOp.NEG,
      source: 'K',
      width: 0,
      fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'zero' },
      cpuVersion: 1,
    });
  }

  // Byte swaps: ALU class is le/be (source bit picks the target order), ALU64 class is bswap.
  const endForms: Array<[number, string, 'K' | 'X', 1 | 4]> = [
    [Class.ALU | AluOp.END | Source.K, 'le', 'K', 1],
    [Class.ALU | AluOp.END | Source.X, 'be', 'X', 1],
    [Class.ALU64 | AluOp.END | Source.K, 'bswap', 'K', 4],
  ];
  for (const [opcode, name, source, cpuVersion] of endForms) {
    for (const bits of [16, 32, 64]) {
      forms.push({
        id: `end.${name}${bits}`,
        opcode,
        kind: 'end',
        cls: (opcode & 7) === Class.ALU64 ? 'alu64' : 'alu',
        is64: bits === 64,
        op: AluOp.END,
        source,
        width: bits,
        discriminant: { field: 'imm', value: bits },
        fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'fixed' },
        cpuVersion,
      });
    }
  }

  // JMP and JMP32.
  forms.push({
    id: 'jmp.ja',
    opcode: Class.JMP | JmpOp.JA,
    kind: 'ja',
    cls: 'jmp',
    is64: true,
    op: JmpOp.JA,
    source: 'K',
    width: 0,
    fields: { dst: 'zero', src: 'zero', off: 'jump', imm: 'zero' },
    cpuVersion: 1,
  });
  forms.push({
    id: 'jmp32.ja',
    opcode: Class.JMP32 | JmpOp.JA,
    kind: 'ja',
    cls: 'jmp32',
    is64: false,
    op: JmpOp.JA,
    source: 'K',
    width: 0,
    fields: { dst: 'zero', src: 'zero', off: 'zero', imm: 'jump' },
    cpuVersion: 4,
  });
  for (const cls of [Class.JMP, Class.JMP32]) {
    const c = CLASS_NAMES[cls] ?? 'jmp';
    for (const [opStr, name] of Object.entries(JMP_COND_NAMES)) {
      const op = Number(opStr);
      const v2 = op === JmpOp.JLT || op === JmpOp.JLE || op === JmpOp.JSLT || op === JmpOp.JSLE;
      for (const source of ['K', 'X'] as const) {
        forms.push({
          id: `${c}.${name}.${source.toLowerCase()}`,
          opcode: cls | op | Source[source],
          kind: 'jmp',
          cls: c,
          is64: cls === Class.JMP,
          op,
          source,
          width: 0,
          fields: { dst: 'reg', src: source === 'X' ? 'reg' : 'zero', off: 'jump', imm: source === 'K' ? 'imm' : 'zero' },
          cpuVersion: cls === Class.JMP32 ? 3 : v2 ? 2 : 1,
        });
      }
    }
  }
  const callForms: Array<[number, string, 1 | 3]> = [
    [PseudoCall.HELPER, 'call.helper', 1],
    [PseudoCall.LOCAL, 'call.local', 3],
    [PseudoCall.KFUNC, 'call.kfunc', 3],
  ];
  for (const [src, id, cpuVersion] of callForms) {
    // A kfunc call's offset is the fd_array index of the module BTF holding the function (0 = vmlinux).
    const off: FieldUse = src === PseudoCall.KFUNC ? 'any' : 'zero';
    forms.push({
      id,
      opcode: Class.JMP | JmpOp.CALL,
      kind: 'call',
      cls: 'jmp',
      is64: true,
      op: JmpOp.CALL,
      source: 'K',
      width: 0,
      discriminant: { field: 'src', value: src },
      fields: { dst: 'zero', src: 'fixed', off, imm: 'any' },
      cpuVersion,
    });
  }
  forms.push({
    id: 'callx',
    opcode: Class.JMP | JmpOp.CALL | Source.X,
    kind: 'callx',
    cls: 'jmp',
    is64: true,
    op: JmpOp.CALL,
    source: 'X',
    width: 0,
    // RFC 9669 and bpf_conformance put the register in dst.
    fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'zero' },
    cpuVersion: 3,
  });
  forms.push({
    id: 'exit',
    opcode: Class.JMP | JmpOp.EXIT,
    kind: 'exit',
    cls: 'jmp',
    is64: true,
    op: JmpOp.EXIT,
    source: 'K',
    width: 0,
    fields: { dst: 'zero', src: 'zero', off: 'zero', imm: 'zero' },
    cpuVersion: 1,
  });
  forms.push({
    id: 'jmp.may_goto',
    opcode: Class.JMP | JmpOp.JCOND,
    kind: 'jcond',
    cls: 'jmp',
    is64: true,
    op: JmpOp.JCOND,
    source: 'K',
    width: 0,
    discriminant: { field: 'src', value: 0 },
    fields: { dst: 'zero', src: 'fixed', off: 'jump', imm: 'zero' },
    cpuVersion: 4,
  });

  // LD: imm64 with every pseudo source, and the legacy packet loads.
  for (const [srcStr, name] of Object.entries(PSEUDO_LD_NAMES)) {
    const src = Number(srcStr);
    forms.push({
      id: `ld.imm64.${name}`,
      opcode: Class.LD | Mode.IMM | Size.DW,
      kind: 'ld_imm64',
      cls: 'ld',
      is64: true,
      op: 0,
      source: null,
      width: 8,
      discriminant: { field: 'src', value: src },
      fields: { dst: 'reg', src: 'fixed', off: 'zero', imm: 'imm' },
      cpuVersion: 1,
    });
  }
  for (const mode of [Mode.ABS, Mode.IND]) {
    for (const size of [Size.W, Size.H, Size.B]) {
      const abs = mode === Mode.ABS;
      forms.push({
        id: `ld.${abs ? 'abs' : 'ind'}.${SIZE_NAMES[size] ?? ''}`,
        opcode: Class.LD | mode | size,
        kind: abs ? 'ld_abs' : 'ld_ind',
        cls: 'ld',
        is64: false,
        op: 0,
        source: null,
        width: SIZE_BYTES[size] ?? 0,
        fields: { dst: 'zero', src: abs ? 'zero' : 'reg', off: 'zero', imm: 'imm' },
        cpuVersion: 1,
      });
    }
  }

  // LDX, ST, STX at every size; sign-extending loads; atomics.
  for (const size of [Size.B, Size.H, Size.W, Size.DW]) {
    const s = SIZE_NAMES[size] ?? '';
    const width = SIZE_BYTES[size] ?? 0;
    const common = { op: 0, source: null, width, is64: width === 8, cpuVersion: 1 as const };
    forms.push({
      id: `ldx.mem.${s}`,
      opcode: Class.LDX | Mode.MEM | size,
      kind: 'ldx',
      cls: 'ldx',
      fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'zero' },
      ...common,
    });
    if (size !== Size.DW) {
      forms.push({
        id: `ldx.memsx.${s}`,
        opcode: Class.LDX | Mode.MEMSX | size,
        kind: 'ldxsx',
        cls: 'ldx',
        fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'zero' },
        ...common,
        cpuVersion: 4,
      });
    }
    forms.push({
      id: `st.mem.${s}`,
      opcode: Class.ST | Mode.MEM | size,
      kind: 'st',
      cls: 'st',
      fields: { dst: 'reg', src: 'zero', off: 'mem', imm: 'imm' },
      ...common,
    });
    forms.push({
      id: `stx.mem.${s}`,
      opcode: Class.STX | Mode.MEM | size,
      kind: 'stx',
      cls: 'stx',
      fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'zero' },
      ...common,
    });
    if (size === Size.W || size === Size.DW) {
      for (const [opStr, name] of Object.entries(ATOMIC_OP_NAMES)) {
        const op = Number(opStr);
        forms.push({
          id: `atomic.${s}.${name}`,
          opcode: Class.STX | Mode.ATOMIC | size,
          kind: 'atomic',
          cls: 'stx',
          discriminant: { field: 'imm', value: op },
          fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'fixed' },
          ...common,
          op,
          cpuVersion: 3,
        });
      }
    }
  }

  return forms.map((f, index) => ({
    ...f,
    index,
    wide: f.kind === 'ld_imm64',
    discriminant: f.discriminant ?? null,
  }));
}

/** Every instruction form, in a fixed order; `OPCODE_TABLE[i].index === i`. */
export const OPCODE_TABLE: readonly OpcodeForm[] = Object.freeze(buildTable());

/** Forms by opcode byte (most opcodes have exactly one). */
const FORMS_BY_OPCODE: ReadonlyArray<readonly OpcodeForm[]> = (() => {
  const byOpcode: OpcodeForm[][] = Array.from({ length: 256 }, () => []);
  for (const form of OPCODE_TABLE) byOpcode[form.opcode]?.push(form);
  return byOpcode;
})();

const FORMS_BY_ID: ReadonlyMap<string, OpcodeForm> = new Map(OPCODE_TABLE.map((f) => [f.id, f]));

/** All forms sharing an opcode byte (empty when the opcode is invalid). */
export function formsForOpcode(opcode: number): readonly OpcodeForm[] {
  return FORMS_BY_OPCODE[opcode & 0xff] ?? [];
}

/** True when some form uses this opcode byte. */
export function isKnownOpcode(opcode: number): boolean {
  return formsForOpcode(opcode).length > 0;
}

/** The form with this id; throws on an unknown id (a programming error, not bad input). */
export function formById(id: string): OpcodeForm {
  const form = FORMS_BY_ID.get(id);
  if (!form) throw new Error(`unknown instruction form id '${id}'`);
  return form;
}

/**
 * Resolve the form of an instruction from its fields, or null when no form matches. Opcodes with a
 * discriminant pick the form whose discriminant field holds the expected value.
 */
export function lookupForm(opcode: number, src: number, off: number, imm: number): OpcodeForm | null {
  const forms = formsForOpcode(opcode);
  if (forms.length === 1) {
    const only = forms[0];
    if (only && only.discriminant === null) return only;
  }
  for (const form of forms) {
    const d = form.discriminant;
    if (d === null) return form;
    const value = d.field === 'off' ? off : d.field === 'imm' ? imm : src;
    if (value === d.value) return form;
  }
  return null;
}

/** Class bits of an opcode. */
export function opClass(opcode: number): number {
  return opcode & 0x07;
}

/** Name of a class, as used in form ids. */
export function className(cls: number): InsnClassName {
  return CLASS_NAMES[cls & 7] ?? 'ld';
}

/** The size code (BPF_W/H/B/DW) for an access width in bytes. */
export function sizeCodeForWidth(width: number): number {
  switch (width) {
    case 1:
      return Size.B;
    case 2:
      return Size.H;
    case 4:
      return Size.W;
    case 8:
      return Size.DW;
    default:
      throw new RangeError(`no BPF size code for a ${width}-byte access`);
  }
}

/** Highest register number (r10, the read-only frame pointer). */
export const MAX_REG = 10;
/** Size in bytes of one eBPF stack frame. */
export const STACK_FRAME_SIZE = 512;
