/**
 * __htab_map_lookup_elem(map, key) in WebAssembly, over the kernel's own memory: what a JIT-compiled program
 * calls after htab_map_gen_lookup rewrote its bpf_map_lookup_elem, so a hash lookup runs no JavaScript. It reads
 * the hash table where hashtab.ts keeps it: the map's struct at the map's kernel address ({@link HTAB_STRUCT}),
 * the bucket array, and the elements (chain next at 0, hash at 4, key at HTAB_ELEM_SIZE). It hashes the key
 * with jhash (include/linux/jhash.h, as jhash.ts; jhash2 gives the same value for whole words), walks the
 * bucket's chain and compares hash and key, and returns the element's address or 0 (NULL), as Linux's
 * __htab_map_lookup_elem returns the htab_elem.
 *
 * The module is written here byte by byte (no toolchain): one imported memory, one exported function.
 */
import { HTAB_ELEM_SIZE } from './map.js';

/** Byte offsets of the fields of the map's struct (at its kernel address) that the lookup reads. */
export const HTAB_STRUCT = {
  /** Address of the bucket array (16 bytes a bucket, the first word the head of its chain). */
  buckets: 0,
  /** n_buckets - 1. */
  bucketMask: 4,
  /** The hash seed (htab->hashrnd). */
  hashrnd: 8,
  /** key_size in bytes. */
  keySize: 12,
  /** Bytes the struct occupies before the bucket array in the same allocation. */
  size: 64,
} as const;

/** The lookup's signature: (map address, key address) -> element address or 0. */
export type HtabLookupFn = (map: number, key: number) => number;

// WebAssembly opcodes used below.
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const RETURN = 0x0f;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_LOAD = 0x28;
const I32_LOAD8_U = 0x2d;
const I32_CONST = 0x41;
const I32_EQZ = 0x45;
const I32_EQ = 0x46;
const I32_NE = 0x47;
const I32_LT_U = 0x49;
const I32_GT_U = 0x4b;
const I32_LE_U = 0x4d;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_AND = 0x71;
const I32_OR = 0x72;
const I32_XOR = 0x73;
const I32_SHL = 0x74;
const I32_ROTL = 0x77;
const VOID = 0x40;
const I32 = 0x7f;

// Locals: the two parameters, then the function's own.
const MAP = 0;
const KEY = 1;
const A = 2;
const B = 3;
const C = 4;
const LEFT = 5;
const K = 6;
const E = 7;
const I = 8;
const SIZE = 9;
const LOCALS = 8;

/** JHASH_INITVAL (jhash.ts has it too; repeated as a wasm constant). */
const JHASH_INITVAL = 0xdeadbeef | 0;

class Body {
  readonly bytes: number[] = [];

  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }

  get(local: number): this {
    return this.op(LOCAL_GET, local);
  }

  set(local: number): this {
    return this.op(LOCAL_SET, local);
  }

  /** i32.const, signed LEB128. */
  i32(value: number): this {
    this.bytes.push(I32_CONST);
    let v = value | 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      this.bytes.push(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }

  /** i32.load of `local` + `offset` (any alignment: WebAssembly allows unaligned access). */
  load(local: number, offset: number, code = I32_LOAD): this {
    this.get(local).op(code, code === I32_LOAD ? 2 : 0);
    return this.uleb(offset);
  }

  uleb(value: number): this {
    let v = value >>> 0;
    do {
      const byte = v & 0x7f;
      v >>>= 7;
      this.bytes.push(v !== 0 ? byte | 0x80 : byte);
    } while (v !== 0);
    return this;
  }

  /** `dst = dst <op> (src rotl k)` for the jhash steps: `x op= rol32(y, k)`. */
  opRol(dst: number, op: number, src: number, k: number): this {
    return this.get(dst).get(src).i32(k).op(I32_ROTL, op).set(dst);
  }

  /** `dst = dst <op> src`. */
  opLocal(dst: number, op: number, src: number): this {
    return this.get(dst).get(src).op(op).set(dst);
  }
}

/** __jhash_mix(a, b, c) in place. */
function mix(f: Body): void {
  for (const [x, y, z, k] of [
    [A, C, B, 4],
    [B, A, C, 6],
    [C, B, A, 8],
    [A, C, B, 16],
    [B, A, C, 19],
    [C, B, A, 4],
  ] as const) {
    // x -= y; x ^= rol32(y, k); y += z;
    f.opLocal(x, I32_SUB, y).opRol(x, I32_XOR, y, k).opLocal(y, I32_ADD, z);
  }
}

/** __jhash_final(a, b, c): c is the hash. */
function final(f: Body): void {
  for (const [x, y, k] of [
    [C, B, 14],
    [A, C, 11],
    [B, A, 25],
    [C, B, 16],
    [A, C, 4],
    [B, A, 14],
    [C, B, 24],
  ] as const) {
    // x ^= y; x -= rol32(y, k);
    f.opLocal(x, I32_XOR, y).opRol(x, I32_SUB, y, k);
  }
}

/** The function body (locals and code). */
function lookupBody(): number[] {
  const f = new Body();
  // size = map->key_size; a = b = c = JHASH_INITVAL + size + map->hashrnd
  f.load(MAP, HTAB_STRUCT.keySize).set(SIZE);
  f.i32(JHASH_INITVAL).get(SIZE).op(I32_ADD).load(MAP, HTAB_STRUCT.hashrnd).op(I32_ADD).set(A);
  f.get(A).set(B).get(A).set(C);
  f.get(KEY).set(K).get(SIZE).set(LEFT);
  // while (left > 12) { a += k[0..3]; b += k[4..7]; c += k[8..11]; mix; left -= 12; k += 12; }
  f.op(BLOCK, VOID, LOOP, VOID);
  f.get(LEFT).i32(12).op(I32_LE_U, BR_IF, 1);
  f.get(A).load(K, 0).op(I32_ADD).set(A);
  f.get(B).load(K, 4).op(I32_ADD).set(B);
  f.get(C).load(K, 8).op(I32_ADD).set(C);
  mix(f);
  f.get(LEFT).i32(12).op(I32_SUB).set(LEFT);
  f.get(K).i32(12).op(I32_ADD).set(K);
  f.op(BR, 0, END, END);
  // The last 1..12 bytes, little-endian into a, b, c (jhash's fall-through switch), then the final mix; no
  // bytes left (a zero-size key) keeps c as it is. Whole words first, then the 1..3 bytes of a partial word.
  f.get(LEFT).op(IF, VOID);
  for (const [word, into] of [
    [0, A],
    [1, B],
    [2, C],
  ] as const) {
    f.get(LEFT)
      .i32(4 * word + 3)
      .op(I32_GT_U, IF, VOID);
    f.get(into)
      .load(K, 4 * word)
      .op(I32_ADD)
      .set(into);
    f.op(END);
  }
  f.get(LEFT).i32(3).op(I32_AND, IF, VOID);
  // e = the partial word: bytes i = (left & ~3) .. left - 1, each at bit (i & 3) * 8.
  f.i32(0).set(E);
  f.get(LEFT).i32(-4).op(I32_AND).set(I);
  f.op(BLOCK, VOID, LOOP, VOID);
  f.get(I).get(LEFT).op(I32_LT_U, I32_EQZ, BR_IF, 1);
  f.get(E).get(K).get(I).op(I32_ADD, I32_LOAD8_U, 0, 0);
  f.get(I).i32(3).op(I32_AND).i32(3).op(I32_SHL, I32_SHL, I32_OR).set(E);
  f.get(I).i32(1).op(I32_ADD).set(I);
  f.op(BR, 0, END, END);
  // Added to the word it is: a (left < 4), b (left < 8) or c.
  f.get(LEFT).i32(4).op(I32_LT_U, IF, VOID);
  f.opLocal(A, I32_ADD, E);
  f.op(ELSE).get(LEFT).i32(8).op(I32_LT_U, IF, VOID);
  f.opLocal(B, I32_ADD, E);
  f.op(ELSE);
  f.opLocal(C, I32_ADD, E);
  f.op(END, END);
  f.op(END);
  final(f);
  f.op(END);
  // e = head of bucket (hash & mask); hash is c from here on.
  f.load(MAP, HTAB_STRUCT.buckets).get(C).load(MAP, HTAB_STRUCT.bucketMask).op(I32_AND).i32(4).op(I32_SHL, I32_ADD);
  f.op(I32_LOAD, 2, 0).set(E);
  // for (; e; e = e->next) if (e->hash == hash && !memcmp(e->key, key, size)) return e;
  f.op(LOOP, VOID);
  f.get(E).op(I32_EQZ, IF, VOID).i32(0).op(RETURN, END);
  f.load(E, 4).get(C).op(I32_EQ, IF, VOID);
  // Compare whole words while four bytes remain, then bytes; a difference leaves the block.
  f.i32(0).set(I);
  f.op(BLOCK, VOID);
  f.op(BLOCK, VOID, LOOP, VOID);
  f.get(I).i32(4).op(I32_ADD).get(SIZE).op(I32_LE_U, I32_EQZ, BR_IF, 1);
  f.get(E).get(I).op(I32_ADD, I32_LOAD, 2).uleb(HTAB_ELEM_SIZE);
  f.get(KEY).get(I).op(I32_ADD, I32_LOAD, 0, 0, I32_NE, BR_IF, 2);
  f.get(I).i32(4).op(I32_ADD).set(I);
  f.op(BR, 0, END, END);
  f.op(BLOCK, VOID, LOOP, VOID);
  f.get(I).get(SIZE).op(I32_LT_U, I32_EQZ, BR_IF, 1);
  f.get(E).get(I).op(I32_ADD, I32_LOAD8_U, 0).uleb(HTAB_ELEM_SIZE);
  f.get(KEY).get(I).op(I32_ADD, I32_LOAD8_U, 0, 0, I32_NE, BR_IF, 2);
  f.get(I).i32(1).op(I32_ADD).set(I);
  f.op(BR, 0, END, END);
  f.get(E).op(RETURN);
  f.op(END); // the key differs
  f.op(END); // hash matched
  f.load(E, 0).set(E);
  f.op(BR, 0, END);
  f.i32(0);
  f.op(END);
  return [1, LOCALS, I32, ...f.bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v !== 0 ? byte | 0x80 : byte);
  } while (v !== 0);
  return out;
}

const name = (text: string): number[] => [text.length, ...Array.from(text, (ch) => ch.charCodeAt(0))];

/** The module's bytes: imports `e.mem`, exports `lookup`. */
export function htabLookupModuleBytes(): Uint8Array {
  const body = lookupBody();
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 2, I32, I32, 1, I32]),
    ...section(2, [1, ...name('e'), ...name('mem'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('lookup'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

let module: WebAssembly.Module | null = null;
const instances = new WeakMap<WebAssembly.Memory, HtabLookupFn>();

/** The lookup over `memory` (one instance per kernel memory). */
export function htabLookupFor(memory: WebAssembly.Memory): HtabLookupFn {
  let fn = instances.get(memory);
  if (fn === undefined) {
    module ??= new WebAssembly.Module(htabLookupModuleBytes());
    const instance = new WebAssembly.Instance(module, { e: { mem: memory } });
    fn = instance.exports.lookup as HtabLookupFn;
    instances.set(memory, fn);
  }
  return fn;
}
