/**
 * The WebAssembly disassembler behind `prog dump jited`: exact text for a module built with the JIT's own
 * encoder, every byte of real JIT output accounted for, and malformed modules refused with a byte offset.
 */
import { asm } from '@ebpf-sim/isa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProgram } from '../load.js';
import { compiled } from './engine.js';
import { Code, ModuleBuilder, Op, T } from './wasm.js';
import { WasmDecodeError, disassembleWasm, type WasmModuleText } from './wasm-text.js';

const { R0, R1, R2, Add, Mov, JLt, Ldx, Exit, Call, label, program } = asm;

/** A small module: one import, one exported function with a loop, a load and 64-bit constants. */
function handMade(): Uint8Array {
  const mb = new ModuleBuilder();
  mb.importFunction('k', 'helper', [T.I32], [T.I64]);
  mb.importMemory('k', 'memory');
  const body = new Code();
  body.block();
  body.loop();
  body.getLocal(0);
  body.mem(Op.I64_LOAD, 3, 16);
  body.i64(-1, -1);
  body.op(Op.I64_ADD);
  body.setLocal(1);
  body.getLocal(0);
  body.mem(Op.I32_LOAD, 1, 0);
  body.brIf(0);
  body.end();
  body.end();
  body.i64(0, 1);
  body.getLocal(1);
  body.op(Op.I64_OR);
  const f = mb.declareFunction([T.I32], [T.I64]);
  mb.defineFunction(f, [T.I64], body);
  mb.exportFunction('main', f);
  return mb.build();
}

/** Every byte of each body is one instruction's, after the locals declaration. */
function accountsForEveryByte(text: WasmModuleText, bytes: Uint8Array): void {
  for (const fn of text.functions) {
    const first = fn.instructions[0];
    const last = fn.instructions[fn.instructions.length - 1];
    if (first === undefined || last === undefined) throw new Error(`${fn.name}: no instructions`);
    let at = first.offset;
    for (const insn of fn.instructions) {
      expect(insn.offset).toBe(at);
      expect(Array.from(insn.bytes)).toEqual(Array.from(bytes.subarray(fn.moduleOffset + at, fn.moduleOffset + at + insn.bytes.length)));
      at += insn.bytes.length;
    }
    expect(at).toBe(fn.size);
    expect(last.op).toBe('end');
    expect(last.depth).toBe(0);
  }
}

describe('disassembleWasm', () => {
  it('names every instruction and immediate as the text format writes them', () => {
    const bytes = handMade();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const text = disassembleWasm(bytes);
    expect(text.imports).toEqual(['(import "k" "helper" (func (param i32) (result i64)))', '(import "k" "memory" (memory 0))']);
    expect(text.exports).toEqual(['(export "main" (func 1))']);
    expect(text.functions).toHaveLength(1);
    const [main] = text.functions;
    expect(main).toMatchObject({ index: 1, name: 'main', signature: '(param i32) (result i64)', locals: '(local i64)' });
    expect(main?.instructions.map((i) => [i.offset, i.depth, i.op, ...i.operands].join(' '))).toEqual([
      '3 1 block',
      '5 2 loop',
      '7 3 local.get 0',
      '9 3 i64.load offset=16',
      '12 3 i64.const -1',
      '14 3 i64.add',
      '15 3 local.set 1',
      '17 3 local.get 0',
      '19 3 i32.load align=2',
      '22 3 br_if 0',
      '24 2 end',
      '25 1 end',
      '26 1 i64.const 4294967296',
      '32 1 local.get 1',
      '34 1 i64.or',
      '35 0 end',
    ]);
    accountsForEveryByte(text, bytes);
  });

  it("decodes the JIT's real output to the last byte (loops, calls, memory accesses, the run/repeat/resume wrappers)", () => {
    const prog = loadProgram(
      program(
        Mov.imm(R0, 0),
        Mov.imm(R2, 0),
        label('loop'),
        Ldx.b(R1, R1, 0),
        Add.reg(R0, R1),
        Add.imm(R2, 1),
        JLt.imm(R2, 10, 'loop'),
        Call.helper(1),
        Exit(),
      ),
    );
    const code = compiled(prog, 'checked');
    expect(code.wasm).toHaveLength(code.wasmBytes);
    const text = disassembleWasm(code.wasm);
    expect(text.exports).toEqual(expect.arrayContaining(['(export "run" (func ' + text.functions.find((f) => f.name === 'run')?.index + '))']));
    expect(text.functions.map((f) => f.name)).toEqual(expect.arrayContaining(['run', 'repeat', 'resume']));
    const ops = new Set(text.functions.flatMap((f) => f.instructions.map((i) => i.op)));
    for (const op of ['loop', 'call', 'i64.add', 'br_if']) expect(ops).toContain(op);
    // The byte load, whichever width the JIT loads it at.
    expect([...ops].some((op) => op.endsWith('.load8_u'))).toBe(true);
    accountsForEveryByte(text, code.wasm);
  });

  it('refuses a truncated module or a damaged byte with the offset, and never throws anything else', () => {
    const bytes = handMade();
    expect(() => disassembleWasm(bytes.subarray(0, 4))).toThrow(new WasmDecodeError(0, '8 bytes run past the end'));
    const badOpcode = bytes.slice();
    const at = badOpcode.lastIndexOf(Op.I64_OR);
    badOpcode[at] = 0xff;
    expect(() => disassembleWasm(badOpcode)).toThrow(`malformed WebAssembly at byte ${at}: unknown opcode 0xff`);
    fc.assert(
      fc.property(fc.nat(bytes.length), fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (cut, flip, xor) => {
        for (const input of [bytes.subarray(0, cut), Uint8Array.from(bytes, (b, i) => (i === flip ? b ^ xor : b))]) {
          try {
            disassembleWasm(input);
          } catch (e) {
            if (!(e instanceof WasmDecodeError)) throw e;
            expect(e.offset).toBeGreaterThanOrEqual(0);
            expect(e.offset).toBeLessThanOrEqual(input.length);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
