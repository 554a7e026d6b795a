/**
 * A WebAssembly binary disassembler: a module's functions as instructions in the text format's names
 * (`local.get 3`, `i64.load offset=8 align=8`), each at its byte offset in the function body. It is what
 * `prog dump jited` prints for this kernel's JIT image, as bpftool prints x86 instructions for Linux's; the
 * JIT's own encoder is ./wasm.ts.
 *
 * It reads the MVP binary format (WebAssembly core spec 1.0, section 5) plus the sign-extension, saturating
 * truncation and bulk memory operators: every opcode the JIT emits and those a hand-written kernel function
 * (maps/htab-lookup-wasm.ts) uses. Malformed input raises {@link WasmDecodeError} with the byte offset.
 */

/** A malformed module: what was expected, and where. */
export class WasmDecodeError extends Error {
  constructor(
    readonly offset: number,
    detail: string,
  ) {
    super(`malformed WebAssembly at byte ${offset}: ${detail}`);
    this.name = 'WasmDecodeError';
  }
}

export interface WasmInstruction {
  /** Byte offset from the start of the function's body (its locals declaration). */
  readonly offset: number;
  /** The instruction's bytes: opcode and immediates. */
  readonly bytes: Uint8Array;
  /** The text-format name: `i64.load`, `br_if`. */
  readonly op: string;
  /** Immediates as the text format writes them: `3`, `offset=8`, `align=8`. */
  readonly operands: readonly string[];
  /** Block nesting before the instruction (an `end` or `else` is printed one level out). */
  readonly depth: number;
}

export interface WasmFunction {
  /** The function index (imports count first). */
  readonly index: number;
  /** The export name, or `func[index]` for a function no one exports. */
  readonly name: string;
  /** `(param i32 i64) (result i32)`. */
  readonly signature: string;
  /** `(local i64 i64 i32)`, or '' when the function declares none. */
  readonly locals: string;
  /** Byte offset of the body in the module. */
  readonly moduleOffset: number;
  readonly size: number;
  readonly instructions: readonly WasmInstruction[];
}

export interface WasmModuleText {
  /** `(import "k" "helper" (func (param ...) (result ...)))` and the memory and global imports, in order. */
  readonly imports: readonly string[];
  /** `(export "run" (func 7))`. */
  readonly exports: readonly string[];
  readonly functions: readonly WasmFunction[];
}

/** Immediate kinds. */
const enum Imm {
  NONE,
  BLOCK,
  INDEX,
  BR_TABLE,
  CALL_INDIRECT,
  MEMARG,
  I32,
  I64,
  F32,
  F64,
  ZERO_BYTE,
  SELECT_T,
  REF_TYPE,
}

const VALUE_TYPES: ReadonlyMap<number, string> = new Map([
  [0x7f, 'i32'],
  [0x7e, 'i64'],
  [0x7d, 'f32'],
  [0x7c, 'f64'],
  [0x7b, 'v128'],
  [0x70, 'funcref'],
  [0x6f, 'externref'],
]);

/** Single-byte opcodes: name, immediate kind, and for loads and stores the natural alignment (log2). */
const OPCODES = new Map<number, readonly [string, Imm, number?]>();
function def(code: number, name: string, imm: Imm = Imm.NONE, align?: number): void {
  OPCODES.set(code, align === undefined ? [name, imm] : [name, imm, align]);
}
def(0x00, 'unreachable');
def(0x01, 'nop');
def(0x02, 'block', Imm.BLOCK);
def(0x03, 'loop', Imm.BLOCK);
def(0x04, 'if', Imm.BLOCK);
def(0x05, 'else');
def(0x0b, 'end');
def(0x0c, 'br', Imm.INDEX);
def(0x0d, 'br_if', Imm.INDEX);
def(0x0e, 'br_table', Imm.BR_TABLE);
def(0x0f, 'return');
def(0x10, 'call', Imm.INDEX);
def(0x11, 'call_indirect', Imm.CALL_INDIRECT);
def(0x1a, 'drop');
def(0x1b, 'select');
def(0x1c, 'select', Imm.SELECT_T);
def(0x20, 'local.get', Imm.INDEX);
def(0x21, 'local.set', Imm.INDEX);
def(0x22, 'local.tee', Imm.INDEX);
def(0x23, 'global.get', Imm.INDEX);
def(0x24, 'global.set', Imm.INDEX);
def(0x25, 'table.get', Imm.INDEX);
def(0x26, 'table.set', Imm.INDEX);
const MEMORY_OPS: ReadonlyArray<readonly [string, number]> = [
  ['i32.load', 2],
  ['i64.load', 3],
  ['f32.load', 2],
  ['f64.load', 3],
  ['i32.load8_s', 0],
  ['i32.load8_u', 0],
  ['i32.load16_s', 1],
  ['i32.load16_u', 1],
  ['i64.load8_s', 0],
  ['i64.load8_u', 0],
  ['i64.load16_s', 1],
  ['i64.load16_u', 1],
  ['i64.load32_s', 2],
  ['i64.load32_u', 2],
  ['i32.store', 2],
  ['i64.store', 3],
  ['f32.store', 2],
  ['f64.store', 3],
  ['i32.store8', 0],
  ['i32.store16', 1],
  ['i64.store8', 0],
  ['i64.store16', 1],
  ['i64.store32', 2],
];
MEMORY_OPS.forEach(([name, align], i) => def(0x28 + i, name, Imm.MEMARG, align));
def(0x3f, 'memory.size', Imm.ZERO_BYTE);
def(0x40, 'memory.grow', Imm.ZERO_BYTE);
def(0x41, 'i32.const', Imm.I32);
def(0x42, 'i64.const', Imm.I64);
def(0x43, 'f32.const', Imm.F32);
def(0x44, 'f64.const', Imm.F64);
// 0x45..0xc4: the numeric operators, without immediates, in opcode order.
const NUMERIC =
  'i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u ' +
  'i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u ' +
  'f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge ' +
  'i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor ' +
  'i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr ' +
  'i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor ' +
  'i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr ' +
  'f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign ' +
  'f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign ' +
  'i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u i64.extend_i32_s i64.extend_i32_u ' +
  'i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s ' +
  'f32.convert_i64_u f32.demote_f64 f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32 ' +
  'i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64 ' +
  'i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s';
NUMERIC.split(' ').forEach((name, i) => def(0x45 + i, name));
def(0xd0, 'ref.null', Imm.REF_TYPE);
def(0xd1, 'ref.is_null');
def(0xd2, 'ref.func', Imm.INDEX);

/** The 0xfc prefix: saturating truncation (0-7) and bulk memory (8-17); immediates by sub-opcode. */
const PREFIXED: ReadonlyArray<readonly [string, readonly ('index' | 'zero')[]]> = [
  ['i32.trunc_sat_f32_s', []],
  ['i32.trunc_sat_f32_u', []],
  ['i32.trunc_sat_f64_s', []],
  ['i32.trunc_sat_f64_u', []],
  ['i64.trunc_sat_f32_s', []],
  ['i64.trunc_sat_f32_u', []],
  ['i64.trunc_sat_f64_s', []],
  ['i64.trunc_sat_f64_u', []],
  ['memory.init', ['index', 'zero']],
  ['data.drop', ['index']],
  ['memory.copy', ['zero', 'zero']],
  ['memory.fill', ['zero']],
  ['table.init', ['index', 'index']],
  ['elem.drop', ['index']],
  ['table.copy', ['index', 'index']],
  ['table.grow', ['index']],
  ['table.size', ['index']],
  ['table.fill', ['index']],
];

/** A cursor over the module's bytes; every read checks the bounds it was given. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new WasmDecodeError(this.pos, 'unexpected end');
    return this.bytes[this.pos++] ?? 0;
  }

  u32(): number {
    const at = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new WasmDecodeError(at, 'u32 out of range');
        return result;
      }
    }
    throw new WasmDecodeError(at, 'LEB128 u32 longer than 5 bytes');
  }

  /** A signed LEB128 of up to `bits` bits, as a decimal string. */
  signed(bits: 32 | 64): string {
    const at = this.pos;
    let result = 0n;
    let shift = 0n;
    const limit = BigInt(bits + 7);
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) result -= 1n << shift;
        return BigInt.asIntN(bits, result).toString();
      }
      if (shift >= limit) throw new WasmDecodeError(at, `LEB128 s${bits} too long`);
    }
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new WasmDecodeError(this.pos, `${n} bytes run past the end`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(): string {
    const length = this.u32();
    return new TextDecoder().decode(this.take(length));
  }

  valueType(): string {
    const at = this.pos;
    const t = VALUE_TYPES.get(this.byte());
    if (t === undefined) throw new WasmDecodeError(at, 'unknown value type');
    return t;
  }
}

interface FuncType {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

const signatureText = (t: FuncType): string =>
  [t.params.length > 0 ? `(param ${t.params.join(' ')})` : '', t.results.length > 0 ? `(result ${t.results.join(' ')})` : ''].filter(Boolean).join(' ');

/** Disassembles a whole module. */
export function disassembleWasm(bytes: Uint8Array): WasmModuleText {
  const r = new Reader(bytes, 0, bytes.length);
  const magic = r.take(8);
  if (magic[0] !== 0x00 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d) throw new WasmDecodeError(0, 'no \\0asm magic');
  if (magic[4] !== 1 || magic[5] !== 0 || magic[6] !== 0 || magic[7] !== 0) throw new WasmDecodeError(4, 'not version 1');
  const types: FuncType[] = [];
  const funcTypes: number[] = [];
  const imports: string[] = [];
  const exports: string[] = [];
  const names = new Map<number, string>();
  const bodies: Array<{ at: number; size: number }> = [];
  let importedFuncs = 0;
  while (r.pos < bytes.length) {
    const idAt = r.pos;
    const id = r.byte();
    const size = r.u32();
    const s = new Reader(bytes, r.pos, r.pos + size);
    if (s.end > bytes.length) throw new WasmDecodeError(idAt, `section ${id} runs past the end`);
    r.pos = s.end;
    switch (id) {
      case 1: {
        for (let n = s.u32(); n > 0; n--) {
          if (s.byte() !== 0x60) throw new WasmDecodeError(s.pos - 1, 'expected a function type (0x60)');
          const params = Array.from({ length: s.u32() }, () => s.valueType());
          const results = Array.from({ length: s.u32() }, () => s.valueType());
          types.push({ params, results });
        }
        break;
      }
      case 2: {
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name();
          const field = s.name();
          const kindAt = s.pos;
          const kind = s.byte();
          let desc: string;
          if (kind === 0x00) {
            const type = types[s.u32()];
            if (type === undefined) throw new WasmDecodeError(kindAt + 1, 'unknown type index');
            desc = `(func ${signatureText(type)})`.replace(' )', ')');
            names.set(importedFuncs, `${module}.${field}`);
            importedFuncs++;
          } else if (kind === 0x02) {
            const flags = s.byte();
            const min = s.u32();
            desc = flags & 1 ? `(memory ${min} ${s.u32()})` : `(memory ${min})`;
          } else if (kind === 0x03) {
            const type = s.valueType();
            desc = s.byte() === 1 ? `(global (mut ${type}))` : `(global ${type})`;
          } else if (kind === 0x01) {
            const type = s.valueType();
            const flags = s.byte();
            const min = s.u32();
            desc = flags & 1 ? `(table ${min} ${s.u32()} ${type})` : `(table ${min} ${type})`;
          } else throw new WasmDecodeError(kindAt, `unknown import kind ${kind}`);
          imports.push(`(import "${module}" "${field}" ${desc})`);
        }
        break;
      }
      case 3:
        for (let n = s.u32(); n > 0; n--) funcTypes.push(s.u32());
        break;
      case 7: {
        const kinds = ['func', 'table', 'memory', 'global'];
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name();
          const kindAt = s.pos;
          const kind = kinds[s.byte()];
          if (kind === undefined) throw new WasmDecodeError(kindAt, 'unknown export kind');
          const index = s.u32();
          if (kind === 'func') names.set(index, name);
          exports.push(`(export "${name}" (${kind} ${index}))`);
        }
        break;
      }
      case 10:
        for (let n = s.u32(); n > 0; n--) {
          const bodySize = s.u32();
          bodies.push({ at: s.pos, size: bodySize });
          s.take(bodySize);
        }
        break;
      default:
        // Custom (0), table, memory, global, start, element and data sections: nothing the listing shows.
        break;
    }
  }
  if (bodies.length !== funcTypes.length) throw new WasmDecodeError(bytes.length, `${funcTypes.length} functions declared, ${bodies.length} bodies`);
  const functions = bodies.map((body, i) => {
    const index = importedFuncs + i;
    const type = types[funcTypes[i] ?? -1];
    if (type === undefined) throw new WasmDecodeError(body.at, `function ${index} has an unknown type index`);
    return disassembleBody(bytes, body.at, body.size, index, names.get(index) ?? `func[${index}]`, type);
  });
  return { imports, exports, functions };
}

function disassembleBody(bytes: Uint8Array, at: number, size: number, index: number, name: string, type: FuncType): WasmFunction {
  const r = new Reader(bytes, at, at + size);
  const locals: string[] = [];
  for (let groups = r.u32(); groups > 0; groups--) {
    const count = r.u32();
    const t = r.valueType();
    if (count > 50000) throw new WasmDecodeError(r.pos - 1, `${count} locals`);
    for (let i = 0; i < count; i++) locals.push(t);
  }
  const instructions: WasmInstruction[] = [];
  let depth = 1;
  while (r.pos < r.end) {
    if (depth === 0) throw new WasmDecodeError(r.pos, `function ${index}: bytes after the body's final 'end'`);
    const start = r.pos;
    const code = r.byte();
    let op: string;
    const operands: string[] = [];
    let printDepth = depth;
    if (code === 0xfc) {
      const subAt = r.pos;
      const sub = r.u32();
      const entry = PREFIXED[sub];
      if (entry === undefined) throw new WasmDecodeError(subAt, `unknown 0xfc operator ${sub}`);
      op = entry[0];
      for (const kind of entry[1]) {
        if (kind === 'index') operands.push(String(r.u32()));
        else if (r.byte() !== 0) throw new WasmDecodeError(r.pos - 1, `${op}: expected a zero byte`);
      }
    } else {
      const entry = OPCODES.get(code);
      if (entry === undefined) throw new WasmDecodeError(start, `unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
      const [text, imm, natural] = entry;
      op = text;
      readImmediate(r, imm, natural ?? 0, operands);
      if (imm === Imm.BLOCK) depth++;
      if (code === 0x05) printDepth = depth - 1;
      if (code === 0x0b) {
        depth--;
        printDepth = depth;
      }
    }
    instructions.push({ offset: start - at, bytes: bytes.subarray(start, r.pos), op, operands, depth: printDepth });
  }
  if (depth !== 0) throw new WasmDecodeError(at + size, `function ${index}: body does not end with its final 'end'`);
  return {
    index,
    name,
    signature: signatureText(type),
    locals: locals.length > 0 ? `(local ${locals.join(' ')})` : '',
    moduleOffset: at,
    size,
    instructions,
  };
}

function readImmediate(r: Reader, imm: Imm, natural: number, operands: string[]): void {
  switch (imm) {
    case Imm.NONE:
      return;
    case Imm.BLOCK: {
      const at = r.pos;
      const b = r.byte();
      if (b === 0x40) return;
      const t = VALUE_TYPES.get(b);
      if (t !== undefined) operands.push(`(result ${t})`);
      else {
        // A type index (s33): the block's full signature.
        r.pos = at;
        operands.push(`(type ${r.signed(64)})`);
      }
      return;
    }
    case Imm.INDEX:
      operands.push(String(r.u32()));
      return;
    case Imm.BR_TABLE: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) operands.push(String(r.u32()));
      return;
    }
    case Imm.CALL_INDIRECT: {
      const type = r.u32();
      const table = r.u32();
      operands.push(`(type ${type})`);
      if (table !== 0) operands.unshift(String(table));
      return;
    }
    case Imm.MEMARG: {
      const align = r.u32();
      const offset = r.u32();
      if (offset !== 0) operands.push(`offset=${offset}`);
      if (align !== natural) operands.push(`align=${2 ** align}`);
      return;
    }
    case Imm.I32:
      operands.push(r.signed(32));
      return;
    case Imm.I64:
      operands.push(r.signed(64));
      return;
    case Imm.F32: {
      const b = r.take(4);
      operands.push(String(new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true)));
      return;
    }
    case Imm.F64: {
      const b = r.take(8);
      operands.push(String(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true)));
      return;
    }
    case Imm.ZERO_BYTE:
      if (r.byte() !== 0) throw new WasmDecodeError(r.pos - 1, 'expected memory index 0');
      return;
    case Imm.SELECT_T:
      for (let n = r.u32(); n > 0; n--) operands.push(`(result ${r.valueType()})`);
      return;
    case Imm.REF_TYPE:
      operands.push(r.valueType() === 'funcref' ? 'func' : 'extern');
      return;
  }
}
