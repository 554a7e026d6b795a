/**
 * A minimal WebAssembly binary encoder: just what the JIT emits (one type per signature, imported memory,
 * functions, globals, one export section), written straight into a growable byte buffer. No toolchain runs
 * at run time; the module bytes are built here and handed to `new WebAssembly.Module`.
 *
 * Opcodes are a `const enum` so every emit compiles to a literal byte.
 */

/** Value types. */
export const enum T {
  I32 = 0x7f,
  I64 = 0x7e,
  F64 = 0x7c,
}

/** Block type "no result". */
export const VOID = 0x40;

export const enum Op {
  UNREACHABLE = 0x00,
  NOP = 0x01,
  BLOCK = 0x02,
  LOOP = 0x03,
  IF = 0x04,
  ELSE = 0x05,
  END = 0x0b,
  BR = 0x0c,
  BR_IF = 0x0d,
  BR_TABLE = 0x0e,
  RETURN = 0x0f,
  CALL = 0x10,
  DROP = 0x1a,
  SELECT = 0x1b,
  LOCAL_GET = 0x20,
  LOCAL_SET = 0x21,
  LOCAL_TEE = 0x22,
  GLOBAL_GET = 0x23,
  GLOBAL_SET = 0x24,
  I32_LOAD = 0x28,
  I64_LOAD = 0x29,
  I32_LOAD8_S = 0x2c,
  I32_LOAD8_U = 0x2d,
  I32_LOAD16_S = 0x2e,
  I32_LOAD16_U = 0x2f,
  I64_LOAD8_S = 0x30,
  I64_LOAD8_U = 0x31,
  I64_LOAD16_S = 0x32,
  I64_LOAD16_U = 0x33,
  I64_LOAD32_S = 0x34,
  I64_LOAD32_U = 0x35,
  I32_STORE = 0x36,
  I64_STORE = 0x37,
  I32_STORE8 = 0x3a,
  I32_STORE16 = 0x3b,
  I64_STORE8 = 0x3c,
  I64_STORE16 = 0x3d,
  I64_STORE32 = 0x3e,
  I32_CONST = 0x41,
  I64_CONST = 0x42,
  I32_EQZ = 0x45,
  I32_EQ = 0x46,
  I32_NE = 0x47,
  I32_LT_S = 0x48,
  I32_LT_U = 0x49,
  I32_GT_S = 0x4a,
  I32_GT_U = 0x4b,
  I32_LE_S = 0x4c,
  I32_LE_U = 0x4d,
  I32_GE_S = 0x4e,
  I32_GE_U = 0x4f,
  I64_EQZ = 0x50,
  I64_EQ = 0x51,
  I64_NE = 0x52,
  I64_LT_S = 0x53,
  I64_LT_U = 0x54,
  I64_GT_S = 0x55,
  I64_GT_U = 0x56,
  I64_LE_S = 0x57,
  I64_LE_U = 0x58,
  I64_GE_S = 0x59,
  I64_GE_U = 0x5a,
  I32_ADD = 0x6a,
  I32_SUB = 0x6b,
  I32_MUL = 0x6c,
  I32_DIV_S = 0x6d,
  I32_DIV_U = 0x6e,
  I32_REM_S = 0x6f,
  I32_REM_U = 0x70,
  I32_AND = 0x71,
  I32_OR = 0x72,
  I32_XOR = 0x73,
  I32_SHL = 0x74,
  I32_SHR_S = 0x75,
  I32_SHR_U = 0x76,
  I32_ROTL = 0x77,
  I32_ROTR = 0x78,
  I64_ADD = 0x7c,
  I64_SUB = 0x7d,
  I64_MUL = 0x7e,
  I64_DIV_S = 0x7f,
  I64_DIV_U = 0x80,
  I64_REM_S = 0x81,
  I64_REM_U = 0x82,
  I64_AND = 0x83,
  I64_OR = 0x84,
  I64_XOR = 0x85,
  I64_SHL = 0x86,
  I64_SHR_S = 0x87,
  I64_SHR_U = 0x88,
  I64_ROTL = 0x89,
  I64_ROTR = 0x8a,
  I32_WRAP_I64 = 0xa7,
  I64_EXTEND_I32_S = 0xac,
  I64_EXTEND_I32_U = 0xad,
  I32_EXTEND8_S = 0xc0,
  I32_EXTEND16_S = 0xc1,
  I64_EXTEND8_S = 0xc2,
  I64_EXTEND16_S = 0xc3,
  I64_EXTEND32_S = 0xc4,
}

/** A growable byte buffer with LEB128 writers. */
export class Bytes {
  buf = new Uint8Array(256);
  length = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  private grow(extra: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Unsigned LEB128 of a u32. */
  u32(value: number): void {
    let v = value >>> 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
  }

  /** Signed LEB128 of an i32. */
  s32(value: number): void {
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of the i64 (lo, hi) without BigInt. */
  s64(lo: number, hi: number): void {
    let l = lo >>> 0;
    let h = hi | 0;
    for (;;) {
      const b = l & 0x7f;
      // Arithmetic shift of the 64-bit pair right by 7.
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>= 7;
      const done = (h === 0 && l === 0 && (b & 0x40) === 0) || (h === -1 && l === 0xffffffff && (b & 0x40) !== 0);
      if (done) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  append(other: Bytes): void {
    this.raw(other.buf.subarray(0, other.length));
  }

  raw(data: Uint8Array): void {
    if (this.length + data.length > this.buf.length) this.grow(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  name(text: string): void {
    const data = new TextEncoder().encode(text);
    this.u32(data.length);
    this.raw(data);
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A function body under construction: instructions plus typed helpers for the common immediates. */
export class Code extends Bytes {
  /**
   * Added to every local index of getLocal/setLocal/teeLocal: lets one body be emitted for functions whose
   * own parameters come first (reach those with {@link getParam}).
   */
  constructor(readonly localBase = 0) {
    super();
  }
  op(o: Op): void {
    this.byte(o);
  }
  getLocal(i: number): void {
    this.byte(Op.LOCAL_GET);
    this.u32(i + this.localBase);
  }
  setLocal(i: number): void {
    this.byte(Op.LOCAL_SET);
    this.u32(i + this.localBase);
  }
  teeLocal(i: number): void {
    this.byte(Op.LOCAL_TEE);
    this.u32(i + this.localBase);
  }
  /** Local `i` as numbered by the function (its parameters first), not offset by localBase. */
  getParam(i: number): void {
    this.byte(Op.LOCAL_GET);
    this.u32(i);
  }
  getGlobal(i: number): void {
    this.byte(Op.GLOBAL_GET);
    this.u32(i);
  }
  setGlobal(i: number): void {
    this.byte(Op.GLOBAL_SET);
    this.u32(i);
  }
  i32(v: number): void {
    this.byte(Op.I32_CONST);
    this.s32(v);
  }
  i64(lo: number, hi: number): void {
    this.byte(Op.I64_CONST);
    this.s64(lo, hi);
  }
  /** i64.const of a sign-extended 32-bit immediate. */
  i64s(v: number): void {
    this.i64(v, v >> 31);
  }
  call(f: number): void {
    this.byte(Op.CALL);
    this.u32(f);
  }
  br(depth: number): void {
    this.byte(Op.BR);
    this.u32(depth);
  }
  brIf(depth: number): void {
    this.byte(Op.BR_IF);
    this.u32(depth);
  }
  block(): void {
    this.byte(Op.BLOCK);
    this.byte(VOID);
  }
  loop(): void {
    this.byte(Op.LOOP);
    this.byte(VOID);
  }
  if_(): void {
    this.byte(Op.IF);
    this.byte(VOID);
  }
  end(): void {
    this.byte(Op.END);
  }
  /** A load or store with alignment hint `align` (log2) and a constant offset. */
  mem(o: Op, align: number, offset: number): void {
    this.byte(o);
    this.u32(align);
    this.u32(offset);
  }
}

export interface FuncType {
  readonly params: readonly T[];
  readonly results: readonly T[];
}

interface ImportFunc {
  readonly module: string;
  readonly name: string;
  readonly type: number;
}

interface GlobalImport {
  readonly module: string;
  readonly name: string;
  readonly type: T;
  readonly mutable: boolean;
}

interface FuncDef {
  readonly type: number;
  readonly locals: readonly T[];
  readonly body: Code;
}

/** Assembles a module: imports first (functions, the memory, globals), then defined functions, then exports. */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly importFuncs: ImportFunc[] = [];
  private readonly globalImports: GlobalImport[] = [];
  private readonly funcs: FuncDef[] = [];
  private readonly exports: Array<{ name: string; func: number }> = [];
  private memoryImport: { module: string; name: string } | null = null;

  type(params: readonly T[], results: readonly T[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let index = this.typeKeys.get(key);
    if (index === undefined) {
      index = this.types.length;
      this.types.push({ params, results });
      this.typeKeys.set(key, index);
    }
    return index;
  }

  /** Import a function; all imports must come before the first {@link addFunction}. Returns its index. */
  importFunction(module: string, name: string, params: readonly T[], results: readonly T[]): number {
    if (this.funcs.length > 0) throw new Error('wasm: function imports must precede definitions');
    this.importFuncs.push({ module, name, type: this.type(params, results) });
    return this.importFuncs.length - 1;
  }

  importMemory(module: string, name: string): void {
    this.memoryImport = { module, name };
  }

  /** Import a global; returns its index. */
  importGlobal(module: string, name: string, type: T, mutable: boolean): number {
    this.globalImports.push({ module, name, type, mutable });
    return this.globalImports.length - 1;
  }

  /** Index the next defined function will get. */
  get nextFunction(): number {
    return this.importFuncs.length + this.funcs.length;
  }

  /** Reserve a function slot, to be given its body by {@link defineFunction} (bodies may call each other). */
  declareFunction(params: readonly T[], results: readonly T[]): number {
    this.funcs.push({ type: this.type(params, results), locals: [], body: new Code() });
    return this.importFuncs.length + this.funcs.length - 1;
  }

  defineFunction(index: number, locals: readonly T[], body: Code): void {
    const at = index - this.importFuncs.length;
    const def = this.funcs[at];
    if (def === undefined) throw new Error(`wasm: function ${index} was not declared`);
    this.funcs[at] = { type: def.type, locals, body };
  }

  exportFunction(name: string, func: number): void {
    this.exports.push({ name, func });
  }

  build(): Uint8Array {
    const out = new Bytes();
    out.raw(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    this.section(out, 1, (s) => {
      s.u32(this.types.length);
      for (const t of this.types) {
        s.byte(0x60);
        s.u32(t.params.length);
        for (const p of t.params) s.byte(p);
        s.u32(t.results.length);
        for (const r of t.results) s.byte(r);
      }
    });
    this.section(out, 2, (s) => {
      s.u32(this.importFuncs.length + this.globalImports.length + (this.memoryImport ? 1 : 0));
      for (const f of this.importFuncs) {
        s.name(f.module);
        s.name(f.name);
        s.byte(0x00);
        s.u32(f.type);
      }
      if (this.memoryImport) {
        s.name(this.memoryImport.module);
        s.name(this.memoryImport.name);
        s.byte(0x02);
        // limits: min 0, no max (the memory may be given with any limits)
        s.byte(0x00);
        s.u32(0);
      }
      for (const g of this.globalImports) {
        s.name(g.module);
        s.name(g.name);
        s.byte(0x03);
        s.byte(g.type);
        s.byte(g.mutable ? 1 : 0);
      }
    });
    this.section(out, 3, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) s.u32(f.type);
    });
    this.section(out, 7, (s) => {
      s.u32(this.exports.length);
      for (const e of this.exports) {
        s.name(e.name);
        s.byte(0x00);
        s.u32(e.func);
      }
    });
    this.section(out, 10, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) {
        const body = new Bytes();
        // Locals, run-length encoded by type.
        const runs: Array<[number, T]> = [];
        for (const t of f.locals) {
          const last = runs[runs.length - 1];
          if (last !== undefined && last[1] === t) last[0]++;
          else runs.push([1, t]);
        }
        body.u32(runs.length);
        for (const [n, t] of runs) {
          body.u32(n);
          body.byte(t);
        }
        body.append(f.body);
        body.byte(Op.END);
        s.u32(body.length);
        s.append(body);
      }
    });
    return out.bytes();
  }

  private section(out: Bytes, id: number, fill: (s: Bytes) => void): void {
    const s = new Bytes();
    fill(s);
    out.byte(id);
    out.u32(s.length);
    out.append(s);
  }
}
