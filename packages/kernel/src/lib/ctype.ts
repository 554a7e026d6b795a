/**
 * The C types of the kernel's own structs, as data: a table of typedefs and struct layouts whose fields are
 * spelled in C (`'pid_t'`, `'char[16]'`, `'const struct cred *'`), the spelling tracepoint `format` files and
 * `ContextField.ctype` already use. The kernel lays its objects out from this table (offsets follow the C
 * rules of x86_64: each field at its natural alignment, the struct padded to its largest alignment) and
 * writes them through the offsets it gives; the bpf subsystem turns the same table into the vmlinux BTF
 * programs see. The kernel itself knows nothing of BTF.
 */
import type { ContextField } from '../hooks/hook.js';

/** A C type, parsed from its spelling. */
export type CType =
  | { readonly kind: 'void' }
  /** A C integer type; `name` is the spelling GCC's DWARF (and so pahole's BTF) gives it, e.g. 'long unsigned int'. */
  | { readonly kind: 'int'; readonly name: string; readonly size: number; readonly signed: boolean; readonly char: boolean; readonly bool: boolean }
  | { readonly kind: 'typedef'; readonly name: string }
  | { readonly kind: 'struct' | 'union'; readonly name: string }
  | { readonly kind: 'ptr'; readonly to: CType }
  | { readonly kind: 'const' | 'volatile'; readonly of: CType }
  | { readonly kind: 'array'; readonly of: CType; readonly length: number }
  /** A tracepoint `__data_loc T[]` field: a u32 holding the offset (low 16 bits) and length (high 16) of a dynamic array. */
  | { readonly kind: 'data_loc'; readonly of: CType };

/** A typedef: of a spelled type, or of an anonymous struct (`typedef struct { uid_t val; } kuid_t;`). */
export type KernelTypedef = { readonly name: string; readonly ctype: string } | { readonly name: string; readonly struct: KernelStruct };

/** A struct or union as the kernel lays it out: its fields with C types, offsets and sizes (`name` '' when anonymous). */
export interface KernelStruct {
  readonly name: string;
  readonly kind: 'struct' | 'union';
  readonly size: number;
  readonly align: number;
  readonly fields: readonly ContextField[];
}

/** The C integer types by the word multiset that spells them (sorted words), with GCC's DWARF name. */
const C_INTEGERS: ReadonlyMap<string, Omit<Extract<CType, { kind: 'int' }>, 'kind'>> = new Map(
  (
    [
      [['char'], 'char', 1, true, true],
      [['char', 'signed'], 'signed char', 1, true, true],
      [['char', 'unsigned'], 'unsigned char', 1, false, true],
      [['short'], 'short int', 2, true, false],
      [['int', 'short'], 'short int', 2, true, false],
      [['short', 'unsigned'], 'short unsigned int', 2, false, false],
      [['int', 'short', 'unsigned'], 'short unsigned int', 2, false, false],
      [['int'], 'int', 4, true, false],
      [['signed'], 'int', 4, true, false],
      [['int', 'signed'], 'int', 4, true, false],
      [['unsigned'], 'unsigned int', 4, false, false],
      [['int', 'unsigned'], 'unsigned int', 4, false, false],
      [['long'], 'long int', 8, true, false],
      [['int', 'long'], 'long int', 8, true, false],
      [['long', 'unsigned'], 'long unsigned int', 8, false, false],
      [['int', 'long', 'unsigned'], 'long unsigned int', 8, false, false],
      [['long', 'long'], 'long long int', 8, true, false],
      [['int', 'long', 'long'], 'long long int', 8, true, false],
      [['long', 'long', 'unsigned'], 'long long unsigned int', 8, false, false],
      [['int', 'long', 'long', 'unsigned'], 'long long unsigned int', 8, false, false],
    ] as const
  ).map(([words, name, size, signed, char]) => [words.join(' '), { name, size, signed, char, bool: false }]),
);
const INTEGER_WORDS = new Set(['char', 'short', 'int', 'long', 'signed', 'unsigned']);
const BOOL: CType = { kind: 'int', name: '_Bool', size: 1, signed: false, char: false, bool: true };
/** Pointers and `long` on x86_64. */
export const POINTER_SIZE = 8;

const TOKEN = /\s*(\*|\[\d*\]|[A-Za-z_][A-Za-z0-9_]*)/y;

/** Parse a C type spelling (a declaration without the declarator name): qualifiers, a base, pointer stars, an array suffix. */
export function parseCType(spelling: string): CType {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < spelling.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(spelling);
    if (m === null) {
      if (spelling.slice(at).trim() === '') break;
      throw new SyntaxError(`C type '${spelling}': unexpected '${spelling.slice(at).trim()}'`);
    }
    tokens.push(m[1] as string);
  }
  let dataLoc = false;
  let isConst = false;
  let isVolatile = false;
  const intWords: string[] = [];
  let base: CType | undefined;
  let i = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === '__data_loc') dataLoc = true;
    else if (t === 'const') isConst = true;
    else if (t === 'volatile') isVolatile = true;
    else if (INTEGER_WORDS.has(t) && base === undefined) intWords.push(t);
    else if ((t === 'struct' || t === 'union') && base === undefined && intWords.length === 0) {
      const name = tokens[++i];
      if (name === undefined || !/^[A-Za-z_]/.test(name)) throw new SyntaxError(`C type '${spelling}': ${t} without a name`);
      base = { kind: t, name };
    } else if (/^[A-Za-z_]/.test(t) && base === undefined && intWords.length === 0)
      base = t === 'void' ? { kind: 'void' } : t === '_Bool' ? BOOL : { kind: 'typedef', name: t };
    else break;
  }
  if (intWords.length > 0) {
    const int = C_INTEGERS.get([...intWords].sort().join(' '));
    if (int === undefined) throw new SyntaxError(`C type '${spelling}': '${intWords.join(' ')}' is not a C integer type`);
    base = { kind: 'int', ...int };
  }
  if (base === undefined) throw new SyntaxError(`C type '${spelling}': no type`);
  let type: CType = base;
  if (isVolatile) type = { kind: 'volatile', of: type };
  if (isConst) type = { kind: 'const', of: type };
  for (; i < tokens.length && tokens[i] === '*'; i++) {
    type = { kind: 'ptr', to: type };
    if (tokens[i + 1] === 'const') {
      type = { kind: 'const', of: type };
      i++;
    }
  }
  const dims: number[] = [];
  for (; i < tokens.length && tokens[i]?.startsWith('[') === true; i++) dims.push(Number((tokens[i] as string).slice(1, -1) || '0'));
  if (i < tokens.length) throw new SyntaxError(`C type '${spelling}': unexpected '${tokens[i] ?? ''}'`);
  for (const length of dims.reverse()) type = { kind: 'array', of: type, length };
  return dataLoc ? { kind: 'data_loc', of: type } : type;
}

/** A struct's fields for `KernelTypeTable.struct`: name and C type, laid out in order. */
export type FieldSpec<N extends string> = readonly (readonly [N, string])[];

/** Byte offsets of a laid-out struct's fields by name, and its size. */
export type StructOffsets<N extends string> = { readonly [K in N]: number } & { readonly size: number };

/**
 * The kernel's C types: typedefs and struct layouts, in the order they were defined (a struct's fields use
 * only types defined before it, or pointers to structs defined anywhere).
 */
export class KernelTypeTable {
  readonly typedefs = new Map<string, KernelTypedef>();
  readonly structs = new Map<string, KernelStruct>();

  /** A table with this one's types, to which more can be added without changing this one. */
  clone(): KernelTypeTable {
    const copy = new KernelTypeTable();
    for (const [name, def] of this.typedefs) copy.typedefs.set(name, def);
    for (const [name, struct] of this.structs) copy.structs.set(name, struct);
    return copy;
  }

  typedef(name: string, ctype: string): void {
    this.sizeOf(ctype);
    this.typedefs.set(name, { name, ctype });
  }

  /** `typedef struct { fields } name;` */
  typedefStruct<const N extends string>(name: string, fields: FieldSpec<N>): StructOffsets<N> {
    const laid = this.layout('', 'struct', fields);
    this.typedefs.set(name, { name, struct: laid.struct });
    return laid.offsets;
  }

  /** A struct (or union) laid out by the C rules from its fields in order; its offsets by field name. */
  struct<const N extends string>(name: string, fields: FieldSpec<N>, kind: 'struct' | 'union' = 'struct'): StructOffsets<N> {
    const laid = this.layout(name, kind, fields);
    this.add(laid.struct);
    return laid.offsets;
  }

  /**
   * A struct whose offsets are given (objects laid out elsewhere, e.g. sk_buff with Linux's own offsets, or a
   * tracepoint record): each field's size comes from its C type and must fit.
   */
  fixedStruct(name: string, size: number, fields: readonly (readonly [name: string, offset: number, ctype: string])[]): KernelStruct {
    const struct: KernelStruct = {
      name,
      kind: 'struct',
      size,
      align: Math.max(1, ...fields.map(([, , ctype]) => this.alignOf(parseCType(ctype)))),
      fields: fields.map(([field, offset, ctype]) => this.field(field, ctype, offset)),
    };
    for (const f of struct.fields) {
      if (f.offset + f.size > size) throw new RangeError(`struct ${name}: field ${f.name} (${f.offset}+${f.size}) passes the struct's ${size} bytes`);
    }
    this.add(struct);
    return struct;
  }

  private add(struct: KernelStruct): void {
    if (this.structs.has(struct.name)) throw new Error(`struct ${struct.name} is defined twice`);
    this.structs.set(struct.name, struct);
  }

  private field(name: string, ctype: string, offset: number): ContextField {
    const type = parseCType(ctype);
    return { name, ctype, offset, size: this.sizeOf(type), signed: this.isSigned(type) };
  }

  private layout<N extends string>(name: string, kind: 'struct' | 'union', specs: FieldSpec<N>): { struct: KernelStruct; offsets: StructOffsets<N> } {
    const fields: ContextField[] = [];
    const offsets: Record<string, number> = {};
    let end = 0;
    let align = 1;
    for (const [field, ctype] of specs) {
      const type = parseCType(ctype);
      const fieldAlign = this.alignOf(type);
      const offset = kind === 'union' ? 0 : Math.ceil(end / fieldAlign) * fieldAlign;
      const f: ContextField = { name: field, ctype, offset, size: this.sizeOf(type), signed: this.isSigned(type) };
      fields.push(f);
      offsets[field] = offset;
      end = Math.max(end, offset + f.size);
      align = Math.max(align, fieldAlign);
    }
    const size = Math.ceil(end / align) * align;
    offsets['size'] = size;
    return { struct: { name, kind, size, align, fields }, offsets: offsets as StructOffsets<N> };
  }

  /** The type under typedefs and qualifiers. */
  resolve(type: CType): CType | KernelStruct {
    let t: CType = type;
    for (let hops = 0; ; hops++) {
      if (hops > 64) throw new Error(`C type: a loop of typedefs at ${JSON.stringify(type)}`);
      if (t.kind === 'const' || t.kind === 'volatile') t = t.of;
      else if (t.kind === 'typedef') {
        const def = this.typedefs.get(t.name);
        if (def === undefined) throw new Error(`C type: unknown typedef '${t.name}'`);
        if ('struct' in def) return def.struct;
        t = parseCType(def.ctype);
      } else if (t.kind === 'struct' || t.kind === 'union') {
        const struct = this.structs.get(t.name);
        if (struct === undefined) throw new Error(`C type: ${t.kind} ${t.name} is used by value before it is defined`);
        return struct;
      } else return t;
    }
  }

  sizeOf(type: CType | string): number {
    const t = this.resolve(typeof type === 'string' ? parseCType(type) : type);
    if ('fields' in t) return t.size;
    switch (t.kind) {
      case 'int':
        return t.size;
      case 'ptr':
        return POINTER_SIZE;
      case 'array':
        return t.length * this.sizeOf(t.of);
      case 'data_loc':
        return 4;
      default:
        throw new Error(`C type: ${t.kind} has no size`);
    }
  }

  alignOf(type: CType): number {
    const t = this.resolve(type);
    if ('fields' in t) return t.align;
    return t.kind === 'array' ? this.alignOf(t.of) : this.sizeOf(t);
  }

  private isSigned(type: CType): boolean {
    const t = this.resolve(type);
    return !('fields' in t) && t.kind === 'int' && t.signed;
  }
}
