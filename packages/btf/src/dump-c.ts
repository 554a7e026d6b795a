/**
 * BTF as C declarations, as `bpftool btf dump file X format c` prints them: bpftool's dump_btf_c wraps what libbpf's
 * btf_dump (src/btf_dump.c) emits for every type in the vmlinux.h guard and the preserve_access_index pragma. The
 * ordering (a topological sort in which a pointer is a weak link that a forward declaration satisfies), the names
 * given to duplicates (`name___2`), the explicit padding fields and packed structs all follow btf_dump as the recording
 * machine's bpftool carries it (Debian 7.1.0+6.1.192: Linux 6.1's tools/lib/bpf with its stable fixes), checked byte
 * for byte on the whole of that machine's vmlinux.
 */
import { BtfKind } from './constants.js';
import type { Btf, BtfType } from './reader.js';

/** A blob btf_dump cannot express in C (a loop of types that no forward declaration breaks). */
export class BtfDumpError extends Error {
  constructor(
    readonly typeId: number,
    detail: string,
  ) {
    super(`cannot dump BTF as C: ${detail}, id:[${typeId}]`);
    this.name = 'BtfDumpError';
  }
}

const enum OrderState {
  NotOrdered,
  Ordering,
  Ordered,
}
const enum EmitState {
  NotEmitted,
  Emitting,
  Emitted,
}

/**
 * Bounds libbpf does not have, so that a corrupt blob gives a BtfDumpError rather than a stack overflow or a huge
 * output: how deep the type graph is followed (vmlinux needs a few dozen), and the widest padding gap written out.
 */
const MAX_DEPTH = 512;
const MAX_PADDING_BITS = 1 << 20;

/** btf_dump's PREFIXES: indentation stops at 13 tabs. */
const MAX_INDENT = 13;
const pfx = (lvl: number): string => '\t'.repeat(Math.min(lvl, MAX_INDENT));
const roundUp = (x: number, y: number): number => Math.ceil(x / y) * y;

/** determine_ptr_size: the size of a `long` INT under any of its spellings, else the host's (8). */
const LONG_ALIASES = new Set([
  'long',
  'long int',
  'int long',
  'unsigned long',
  'long unsigned',
  'unsigned long int',
  'unsigned int long',
  'long unsigned int',
  'long int unsigned',
  'int unsigned long',
  'int long unsigned',
]);
const HOST_POINTER_SIZE = 8;

/** btf__pointer_size (falling back to sizeof(void *) as btf_dump__new and btf_ptr_sz do). */
export function btfPointerSize(btf: Btf): number {
  for (const t of btf.types) if (t.kind === BtfKind.INT && (t.sizeOrType === 4 || t.sizeOrType === 8) && LONG_ALIASES.has(t.name)) return t.sizeOrType;
  return HOST_POINTER_SIZE;
}

/** btf__align_of: 0 for a type without an alignment (void, FWD, FUNC_PROTO, ...). */
export function btfAlignOf(btf: Btf, id: number, ptrSize = btfPointerSize(btf), depth = 0): number {
  const t = btf.types[id];
  if (t === undefined || depth > MAX_DEPTH) return 0;
  switch (t.kind) {
    case BtfKind.INT:
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.FLOAT:
      return Math.min(ptrSize, t.sizeOrType);
    case BtfKind.PTR:
      return ptrSize;
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      return btfAlignOf(btf, t.sizeOrType, ptrSize, depth + 1);
    case BtfKind.ARRAY:
      return btfAlignOf(btf, t.arrayType, ptrSize, depth + 1);
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      let maxAlign = 1;
      for (const m of t.members) {
        const align = btfAlignOf(btf, m.type, ptrSize, depth + 1);
        if (align <= 0) return align;
        maxAlign = Math.max(maxAlign, align);
        // A field off its type's alignment means the struct is packed.
        if (m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return 1;
      }
      return t.sizeOrType % maxAlign !== 0 ? 1 : maxAlign;
    }
    default:
      return 0;
  }
}

const isModifier = (kind: number): boolean => kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG;
const isComposite = (kind: number): boolean => kind === BtfKind.STRUCT || kind === BtfKind.UNION;

/** GCC's __PolyX_t typedefs for Arm SIMD, aliased to base types (btf_dump's missing_base_types). */
const MISSING_BASE_TYPES: ReadonlyMap<string, string> = new Map([
  ['__Poly8_t', 'unsigned char'],
  ['__Poly16_t', 'unsigned short'],
  ['__Poly64_t', 'unsigned long long'],
  ['__Poly128_t', 'unsigned __int128'],
]);

/** One btf_dump: the state that lasts across the types dumped with it (what is emitted, names given to duplicates). */
class CDumper {
  private readonly out: string[] = [];
  private readonly ptrSize: number;
  private readonly orderState: Uint8Array;
  private readonly emitState: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly nameResolved: Uint8Array;
  private readonly cachedNames = new Map<number, string>();
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  private emitQueue: number[] = [];
  private depth = 0;

  constructor(private readonly btf: Btf) {
    const n = btf.types.length;
    this.ptrSize = btfPointerSize(btf);
    this.orderState = new Uint8Array(n);
    this.emitState = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.nameResolved = new Uint8Array(n);
    this.orderState[0] = OrderState.Ordered;
    this.emitState[0] = EmitState.Emitted;
    this.markReferenced();
  }

  printf(s: string): void {
    this.out.push(s);
  }

  take(): string {
    const s = this.out.join('');
    this.out.length = 0;
    return s;
  }

  /** One level deeper into the type graph; a loop libbpf would recurse into forever is refused. */
  private enter(id: number): void {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      throw new BtfDumpError(id, `types nest more than ${MAX_DEPTH} deep (a loop through a function prototype?)`);
    }
  }

  private type(id: number): BtfType {
    const t = this.btf.types[id];
    if (t === undefined) throw new BtfDumpError(id, 'type id out of range');
    return t;
  }

  /** btf_dump_mark_referenced: an anonymous enum nothing refers to is a top-level declaration of constants. */
  private markReferenced(): void {
    const mark = (id: number): void => {
      if (id < this.referenced.length) this.referenced[id] = 1;
    };
    for (const t of this.btf.types.slice(1)) {
      switch (t.kind) {
        case BtfKind.ARRAY:
          mark(t.arrayIndexType);
          mark(t.arrayType);
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          for (const m of t.members) mark(m.type);
          break;
        case BtfKind.FUNC_PROTO:
          for (const p of t.params) mark(p.type);
          break;
        case BtfKind.DATASEC:
          for (const v of t.secinfo) mark(v.type);
          break;
        case BtfKind.INT:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.FWD:
        case BtfKind.FLOAT:
          break;
        default:
          mark(t.sizeOrType);
      }
    }
  }

  /** btf_dump__dump_type. */
  dumpType(id: number): void {
    this.type(id);
    this.emitQueue = [];
    this.orderType(id, false);
    for (const queued of this.emitQueue) this.emitType(queued, 0);
  }

  /**
   * btf_dump_order_type: a depth-first topological sort. Returns true when the type is part of a strong link (it must
   * be fully defined first), false for a weak one (a forward declaration will do: there is a pointer on the way and a
   * named type after it).
   */
  private orderType(id: number, throughPtr: boolean): boolean {
    this.enter(id);
    try {
      return this.orderTypeAt(id, throughPtr);
    } finally {
      this.depth--;
    }
  }

  private orderTypeAt(id: number, throughPtr: boolean): boolean {
    if (this.orderState[id] === OrderState.Ordered) return true;
    const t = this.type(id);
    if (this.orderState[id] === OrderState.Ordering) {
      if (isComposite(t.kind) && throughPtr && t.nameOff !== 0) return false;
      throw new BtfDumpError(id, 'unsatisfiable type cycle');
    }
    switch (t.kind) {
      case BtfKind.INT:
      case BtfKind.FLOAT:
        this.orderState[id] = OrderState.Ordered;
        return false;
      case BtfKind.PTR: {
        const strong = this.orderType(t.sizeOrType, true);
        this.orderState[id] = OrderState.Ordered;
        return strong;
      }
      case BtfKind.ARRAY:
        return this.orderType(t.arrayType, false);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        // Part of a strong link only when embedded (no pointer on the way) or anonymous (defined inline).
        if (throughPtr && t.nameOff !== 0) return false;
        this.orderState[id] = OrderState.Ordering;
        for (const m of t.members) this.orderType(m.type, false);
        if (t.nameOff !== 0) this.emitQueue.push(id);
        this.orderState[id] = OrderState.Ordered;
        return true;
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FWD:
        if (t.nameOff !== 0 || this.referenced[id] === 0) this.emitQueue.push(id);
        this.orderState[id] = OrderState.Ordered;
        return true;
      case BtfKind.TYPEDEF: {
        const strong = this.orderType(t.sizeOrType, throughPtr);
        if (throughPtr && !strong) return false;
        this.emitQueue.push(id);
        this.orderState[id] = OrderState.Ordered;
        return true;
      }
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.orderType(t.sizeOrType, throughPtr);
      case BtfKind.FUNC_PROTO: {
        let strong = this.orderType(t.sizeOrType, throughPtr);
        for (const p of t.params) if (this.orderType(p.type, throughPtr)) strong = true;
        return strong;
      }
      default:
        // FUNC, VAR, DATASEC, DECL_TAG: not C type definitions.
        this.orderState[id] = OrderState.Ordered;
        return false;
    }
  }

  /** btf_dump_is_blacklisted: __builtin_va_list is the compiler's own. */
  private isBuiltin(id: number): boolean {
    return this.type(id).name === '__builtin_va_list';
  }

  /** btf_dump_emit_type: emit a type's definition with the forward declarations it needs; contId is the struct being defined. */
  private emitType(id: number, contId: number): void {
    this.enter(id);
    try {
      this.emitTypeAt(id, contId);
    } finally {
      this.depth--;
    }
  }

  private emitTypeAt(id: number, contId: number): void {
    if (this.emitState[id] === EmitState.Emitted) return;
    const t = this.type(id);
    const topLevel = contId === 0;
    if (this.emitState[id] === EmitState.Emitting) {
      if (this.fwdEmitted[id] === 1) return;
      if (isComposite(t.kind)) {
        // A struct referring to itself needs no forward declaration.
        if (id === contId) return;
        if (t.nameOff === 0) return; // an anonymous struct/union loop: libbpf warns and goes on
        this.emitStructFwd(id, t);
        this.printf(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (t.kind === BtfKind.TYPEDEF) {
        if (!this.isBuiltin(id)) {
          this.emitTypedefDef(id, t, 0);
          this.printf(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case BtfKind.INT: {
        const alias = MISSING_BASE_TYPES.get(this.typeName(id));
        if (alias !== undefined) this.printf(`typedef ${alias} ${this.typeName(id)};\n\n`);
        this.emitState[id] = EmitState.Emitted;
        break;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        if (topLevel) {
          this.emitEnumDef(id, t, 0);
          this.printf(';\n\n');
        }
        this.emitState[id] = EmitState.Emitted;
        break;
      case BtfKind.PTR:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        this.emitType(t.sizeOrType, contId);
        break;
      case BtfKind.ARRAY:
        this.emitType(t.arrayType, contId);
        break;
      case BtfKind.FWD:
        this.emitFwdDef(id, t);
        this.printf(';\n\n');
        this.emitState[id] = EmitState.Emitted;
        break;
      case BtfKind.TYPEDEF:
        this.emitState[id] = EmitState.Emitting;
        this.emitType(t.sizeOrType, id);
        // Someone may already have needed the typedef as a forward declaration (through a pointer).
        if (this.fwdEmitted[id] === 0 && !this.isBuiltin(id)) {
          this.emitTypedefDef(id, t, 0);
          this.printf(';\n\n');
        }
        this.emitState[id] = EmitState.Emitted;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        this.emitState[id] = EmitState.Emitting;
        // A definition (top-level, or an anonymous one inlined) spells out its members, whose types need declaring first.
        if (topLevel || t.nameOff === 0) {
          const newContId = t.nameOff === 0 ? contId : id;
          for (const m of t.members) this.emitType(m.type, newContId);
        } else if (this.fwdEmitted[id] === 0 && id !== contId) {
          this.emitStructFwd(id, t);
          this.printf(';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.emitStructDef(id, t, 0);
          this.printf(';\n\n');
          this.emitState[id] = EmitState.Emitted;
        } else {
          this.emitState[id] = EmitState.NotEmitted;
        }
        break;
      case BtfKind.FUNC_PROTO:
        this.emitType(t.sizeOrType, contId);
        for (const p of t.params) this.emitType(p.type, contId);
        break;
      default:
        break;
    }
  }

  /** btf_is_struct_packed: a non-bitfield member off its natural alignment, or a size that is not a multiple of it. */
  private isStructPacked(t: BtfType): boolean {
    let maxAlign = 1;
    for (const m of t.members) {
      const align = btfAlignOf(this.btf, m.type, this.ptrSize);
      if (align !== 0 && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
      maxAlign = Math.max(align, maxAlign);
    }
    return t.sizeOrType % maxAlign !== 0;
  }

  /** btf_dump_emit_bit_padding: explicit `type: N;` fields that reproduce a gap the compiler would not leave by itself. */
  private emitBitPadding(structId: number, curOff: number, nextOff: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
    if (curOff >= nextOff) return;
    if (nextOff - curOff > MAX_PADDING_BITS) throw new BtfDumpError(structId, `a padding gap of ${nextOff - curOff} bits`);
    const pads: readonly (readonly [string, number])[] = [
      ['long', this.ptrSize * 8],
      ['int', 32],
      ['short', 16],
      ['char', 8],
    ];
    let padType = '';
    let padBits = 0;
    let newOff = 0;
    for (const [name, bits] of pads) {
      padType = name;
      padBits = bits;
      newOff = roundUp(curOff, padBits);
      if (newOff <= nextOff) break;
    }
    if (newOff > curOff && newOff <= nextOff) {
      // An explicit `<type>: 0` when the compiler would not align to newOff by itself (or would swallow `<type>: X`).
      if (inBitfield || (newOff === nextOff && roundUp(curOff, nextAlign * 8) !== newOff) || (newOff !== nextOff && nextOff - newOff <= newOff - curOff))
        this.printf(`\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - curOff : 0};`);
      curOff = newOff;
    }
    while (curOff !== nextOff) {
      const bits = Math.min(nextOff - curOff, padBits);
      if (bits === padBits) {
        this.printf(`\n${pfx(lvl)}${padType}: ${padBits};`);
        curOff += bits;
        continue;
      }
      // The remainder, with the smallest type that holds it.
      for (let i = pads.length - 1; i >= 0; i--) {
        const [name, size] = pads[i] as readonly [string, number];
        padType = name;
        padBits = size;
        if (padBits < bits) continue;
        this.printf(`\n${pfx(lvl)}${padType}: ${bits};`);
        curOff += bits;
        break;
      }
    }
  }

  private emitStructFwd(id: number, t: BtfType): void {
    this.printf(`${t.kind === BtfKind.STRUCT ? 'struct' : 'union'}${t.nameOff !== 0 ? ' ' : ''}${this.typeName(id)}`);
  }

  private emitStructDef(id: number, t: BtfType, lvl: number): void {
    const isStruct = t.kind === BtfKind.STRUCT;
    const align = btfAlignOf(this.btf, id, this.ptrSize);
    const packed = isStruct && this.isStructPacked(t);
    this.printf(`${isStruct ? 'struct' : 'union'}${t.nameOff !== 0 ? ' ' : ''}${this.typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const mAlign = packed ? 1 : btfAlignOf(this.btf, m.type, this.ptrSize);
      const inBitfield = prevBitfield && m.bitfieldSize !== 0;
      this.emitBitPadding(id, off, m.bitOffset, mAlign, inBitfield, lvl + 1);
      this.printf(`\n${pfx(lvl + 1)}`);
      this.emitTypeDecl(m.type, m.name, lvl + 1);
      if (m.bitfieldSize !== 0) {
        this.printf(`: ${m.bitfieldSize}`);
        off = m.bitOffset + m.bitfieldSize;
        prevBitfield = true;
      } else {
        off = m.bitOffset + (this.btf.sizeOf(m.type) ?? 0) * 8;
        prevBitfield = false;
      }
      this.printf(';');
    }
    if (isStruct) this.emitBitPadding(id, off, t.sizeOrType * 8, align, false, lvl + 1);
    // `struct empty {}` stays on one line.
    if (t.vlen !== 0 || t.sizeOrType !== 0) this.printf(`\n${pfx(lvl)}}`);
    else this.printf('}');
    if (packed) this.printf(' __attribute__((packed))');
  }

  private emitEnumDef(id: number, t: BtfType, lvl: number): void {
    this.printf(`enum${t.nameOff !== 0 ? ' ' : ''}${this.typeName(id)}`);
    if (t.vlen === 0) return;
    this.printf(' {');
    const is64 = t.kind === BtfKind.ENUM64;
    for (const v of t.enumValues) {
      // Enumerators share their namespace with typedef names.
      const dups = this.nameDups(this.identNames, v.name);
      const value = is64
        ? t.kindFlag
          ? `${BigInt.asIntN(64, v.value)}LL`
          : `${BigInt.asUintN(64, v.value)}ULL`
        : t.kindFlag
          ? `${BigInt.asIntN(32, v.value)}`
          : `${BigInt.asUintN(32, v.value)}`;
      this.printf(`\n${pfx(lvl + 1)}${v.name}${dups > 1 ? `___${dups}` : ''} = ${value},`);
    }
    // No `__attribute__((mode(byte)))` / `mode(word)` for 1- and 8-byte enums: libbpf added those in v1.1, after the
    // Linux 6.1 libbpf that the recording machine's bpftool (Debian 7.1.0+6.1.192) is built with.
    this.printf(`\n${pfx(lvl)}}`);
  }

  private emitFwdDef(id: number, t: BtfType): void {
    this.printf(`${t.kindFlag ? 'union' : 'struct'} ${this.typeName(id)}`);
  }

  private emitTypedefDef(id: number, t: BtfType, lvl: number): void {
    const name = this.identName(id);
    // Old GCC's typedef of __gnuc_va_list to void.
    if (t.sizeOrType === 0 && name === '__gnuc_va_list') {
      this.printf('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.printf('typedef ');
    this.emitTypeDecl(t.sizeOrType, name, lvl);
  }

  /** btf_dump_emit_type_decl: push the chain of types down to a terminal one, then write it in C's inside-out syntax. */
  private emitTypeDecl(id: number, fname: string, lvl: number): void {
    this.enter(id);
    try {
      this.emitTypeDeclAt(id, fname, lvl);
    } finally {
      this.depth--;
    }
  }

  private emitTypeDeclAt(id: number, fname: string, lvl: number): void {
    const stack: number[] = [];
    for (let hops = 0; hops <= this.btf.types.length; hops++) {
      stack.push(id);
      if (id === 0) break;
      const t = this.type(id);
      if (t.kind === BtfKind.PTR || isModifier(t.kind) || t.kind === BtfKind.FUNC_PROTO) id = t.sizeOrType;
      else if (t.kind === BtfKind.ARRAY) id = t.arrayType;
      else break;
    }
    this.emitTypeChain(stack, fname, lvl);
  }

  /** btf_dump_emit_mods: const/volatile/restrict written before a terminal type. */
  private emitMods(stack: number[]): void {
    while (stack.length > 0) {
      const kind = this.type(stack[stack.length - 1] as number).kind;
      if (kind === BtfKind.VOLATILE) this.printf('volatile ');
      else if (kind === BtfKind.CONST) this.printf('const ');
      else if (kind === BtfKind.RESTRICT) this.printf('restrict ');
      else return;
      stack.pop();
    }
  }

  /** btf_dump_drop_mods: qualifiers on arrays and function protos (GCC quirks) mean nothing in C. */
  private dropMods(stack: number[]): void {
    while (stack.length > 0 && isModifier(this.type(stack[stack.length - 1] as number).kind)) stack.pop();
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.printf(`${name !== '' && !lastWasPtr ? ' ' : ''}${name}`);
  }

  private emitTypeChain(stack: number[], fname: string, lvl: number): void {
    // True at first, so that a lone pointer under a function proto prints as (*name).
    let lastWasPtr = true;
    while (stack.length > 0) {
      const id = stack.pop() as number;
      if (id === 0) {
        this.emitMods(stack);
        this.printf('void');
        lastWasPtr = false;
        continue;
      }
      const t = this.type(id);
      switch (t.kind) {
        case BtfKind.INT:
        case BtfKind.FLOAT:
          this.emitMods(stack);
          this.printf(t.name);
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          this.emitMods(stack);
          if (t.nameOff === 0) this.emitStructDef(id, t, lvl);
          else this.emitStructFwd(id, t);
          break;
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
          this.emitMods(stack);
          if (t.nameOff === 0) this.emitEnumDef(id, t, lvl);
          else this.printf(`enum ${this.typeName(id)}`);
          break;
        case BtfKind.FWD:
          this.emitMods(stack);
          this.emitFwdDef(id, t);
          break;
        case BtfKind.TYPEDEF:
          this.emitMods(stack);
          this.printf(this.identName(id));
          break;
        case BtfKind.PTR:
          this.printf(lastWasPtr ? '*' : ' *');
          break;
        case BtfKind.VOLATILE:
          this.printf(' volatile');
          break;
        case BtfKind.CONST:
          this.printf(' const');
          break;
        case BtfKind.RESTRICT:
          this.printf(' restrict');
          break;
        case BtfKind.TYPE_TAG:
          this.emitMods(stack);
          this.printf(` __attribute__((btf_type_tag("${t.name}")))`);
          break;
        case BtfKind.ARRAY: {
          this.dropMods(stack);
          if (stack.length === 0) {
            this.emitName(fname, lastWasPtr);
            this.printf(`[${t.arrayNelems}]`);
            return;
          }
          const multidim = this.type(stack[stack.length - 1] as number).kind === BtfKind.ARRAY;
          if (fname !== '' && !lastWasPtr) this.printf(' ');
          if (!multidim) this.printf('(');
          this.emitTypeChain(stack, fname, lvl);
          if (!multidim) this.printf(')');
          this.printf(`[${t.arrayNelems}]`);
          return;
        }
        case BtfKind.FUNC_PROTO: {
          this.dropMods(stack);
          if (stack.length > 0) {
            this.printf(' (');
            this.emitTypeChain(stack, fname, lvl);
            this.printf(')');
          } else {
            this.emitName(fname, lastWasPtr);
          }
          this.printf('(');
          // No parameters, or clang's one void parameter for `f(void)`, print as (void): libbpf's fix "no-args func
          // prototype BTF dumping syntax", which the recording machine's bpftool (Debian 7.1.0+6.1.192) carries.
          if (t.params.length === 0 || (t.params.length === 1 && t.params[0]?.type === 0)) {
            this.printf('void)');
            return;
          }
          for (let i = 0; i < t.params.length; i++) {
            const p = t.params[i] as BtfType['params'][number];
            if (i > 0) this.printf(', ');
            if (i === t.params.length - 1 && p.type === 0) {
              this.printf('...');
              break;
            }
            this.emitTypeDecl(p.type, p.name, lvl);
          }
          this.printf(')');
          return;
        }
        default:
          // libbpf warns of an unexpected type in a declaration chain and stops the chain here.
          return;
      }
      lastWasPtr = t.kind === BtfKind.PTR;
    }
    this.emitName(fname, lastWasPtr);
  }

  /** btf_dump_name_dups: how many times a name has been given, this one included. */
  private nameDups(names: Map<string, number>, name: string): number {
    const count = (names.get(name) ?? 0) + 1;
    names.set(name, count);
    return count;
  }

  /** btf_dump_resolve_name: the name a type is emitted under, `name___N` for the Nth type of the same name. */
  private resolveName(id: number, names: Map<string, number>): string {
    const t = this.type(id);
    if (t.nameOff === 0) return '';
    if (this.nameResolved[id] === 1) return this.cachedNames.get(id) ?? t.name;
    this.nameResolved[id] = 1;
    if (t.kind === BtfKind.FWD || (t.kind === BtfKind.ENUM && t.vlen === 0)) return t.name;
    const dups = this.nameDups(names, t.name);
    if (dups > 1) this.cachedNames.set(id, `${t.name}___${dups}`);
    return this.cachedNames.get(id) ?? t.name;
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }
}

/** What bpftool's dump_btf_c prints before and after the types. */
const VMLINUX_H_HEAD =
  '#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n' +
  '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n';
const VMLINUX_H_TAIL = '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n';

/**
 * `bpftool btf dump file X format c`: every type from id 1 (or only `rootIds` and what they need, in that order) as
 * C, in the vmlinux.h guard with the preserve_access_index pragma. Throws BtfDumpError for a blob C cannot express.
 */
export function dumpBtfC(btf: Btf, rootIds?: readonly number[]): string {
  const dumper = new CDumper(btf);
  const ids = rootIds ?? Array.from({ length: btf.types.length - 1 }, (_, i) => i + 1);
  for (const id of ids) dumper.dumpType(id);
  return VMLINUX_H_HEAD + dumper.take() + VMLINUX_H_TAIL;
}
