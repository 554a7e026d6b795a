import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleConformance } from './asm-conformance.js';
import { parseConformanceData, rawProgramBytes } from './conformance-data.js';
import { encodeProgram, toHex } from './encode.js';
import { AsmError } from './errors.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'conformance');
if (!existsSync(SHARED)) console.warn(`skipping conformance tests: ${SHARED} is absent (the shared fixtures live beside the repo)`);

interface ConformanceCase {
  name: string;
  file: string;
  asm: string | null;
  raw: string | null;
  program_hex: string | null;
  mem_hex: string;
  expected_result: string | null;
  expected_error: string | null;
}

const cases: ConformanceCase[] = existsSync(SHARED) ? (JSON.parse(readFileSync(join(SHARED, 'tests.json'), 'utf8')) as ConformanceCase[]) : [];

describe.skipIf(!existsSync(SHARED))('bpf_conformance assembly (tests.json)', () => {
  it('has all 313 tests', () => {
    expect(cases).toHaveLength(313);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s assembles to program_hex', (_name, c) => {
    expect(c.asm).not.toBeNull();
    const bytes = encodeProgram(assembleConformance(c.asm ?? ''));
    if (c.raw === null) {
      expect(toHex(bytes)).toBe(c.program_hex);
    } else {
      // lddw.data carries both: the raw words are the program, and its asm must assemble to the same bytes.
      const raw = rawProgramBytes(parseConformanceData(`-- raw\n${c.raw}\n-- result\n0\n`));
      expect(toHex(raw ?? new Uint8Array())).toBe(c.program_hex);
      expect(toHex(bytes)).toBe(c.program_hex);
    }
  });
});

describe.skipIf(!existsSync(SHARED))('parseConformanceData over the .data files', () => {
  const dir = join(SHARED, 'bpf_conformance');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.data'))
        .sort()
    : [];

  it('finds one .data file per tests.json entry', () => {
    expect(files).toEqual(cases.map((c) => c.file));
  });

  it.each(files)('%s agrees with tests.json', (file) => {
    const data = parseConformanceData(readFileSync(join(dir, file), 'latin1'));
    const c = cases.find((x) => x.file === file)!;
    expect(data.skip).toBeNull();
    expect(data.asm).toBe(c.asm);
    expect(data.rawText).toBe(c.raw);
    expect(toHex(data.mem)).toBe(c.mem_hex);
    expect(data.result === null ? null : `0x${data.result.toString(16)}`).toBe(c.expected_result);
    expect(data.error).toBe(c.expected_error);
  });
});

describe('parseConformanceData rules (README section 1)', () => {
  it('strips CR and comments, picks headers by substring, keeps the last result line', () => {
    const d = parseConformanceData('# header\r\n-- asm\r\nmov %r0, 1 # one\r\n\r\nexit\r\n-- result\r\n0x5\r\n7\r\n');
    expect(d.asm).toBe('mov %r0, 1 \nexit\n');
    expect(d.result).toBe(7n);
  });

  it('reads memory as hex bytes truncated to 8 bits, stopping at the first non-hex token', () => {
    const d = parseConformanceData('-- asm\nexit\n-- mem\naa 0xBB 1ff\ncc zz dd\n-- result\n0x0\n');
    expect(Array.from(d.mem)).toEqual([0xaa, 0xbb, 0xff, 0xcc]);
  });

  it('lets a raw section replace asm, as little-endian slots', () => {
    const d = parseConformanceData('-- asm\nexit\n-- raw\n0x5566778800000018 149\n-- result\n0x1\n');
    expect(d.rawText).toBe('0x5566778800000018 149');
    expect(toHex(rawProgramBytes(d)!)).toBe('1800000088776655' + '9500000000000000');
  });

  it('skips files the upstream runner skips', () => {
    expect(parseConformanceData('-- asm\nexit\n').skip).toBe('No result or error in test file');
    expect(parseConformanceData('-- asm\nexit\n-- foo\n-- result\n1\n').skip).toMatch(/^Unknown directive/);
    expect(parseConformanceData('-- result\n1\n').skip).toBe('No instructions in test file');
  });

  it('reads a negative decimal result as strtoull does (modulo 2^64)', () => {
    expect(parseConformanceData('-- asm\nexit\n-- result\n-1\n').result).toBe(2n ** 64n - 1n);
  });

  it('keeps an error line verbatim, trailing spaces included, and defaults the result to 0', () => {
    const d = parseConformanceData('-- asm\nexit\n-- error\nbad thing # note\n');
    expect(d.error).toBe('bad thing ');
    expect(d.result).toBe(0n);
  });

  it('treats " c" and "no register offset" sections as ignored', () => {
    const d = parseConformanceData('-- asm\nexit\n-- c\nint x = 1;\n-- no register offset\nnote\n-- result\n1\n');
    expect(d.sections).toEqual(['asm', 'ignored', 'ignored', 'result']);
    expect(d.asm).toBe('exit\n');
  });
});

describe('assembleConformance syntax and errors (README section 2)', () => {
  const hex = (text: string) => toHex(encodeProgram(assembleConformance(text)));
  const error = (text: string): AsmError => {
    try {
      assembleConformance(text);
    } catch (e) {
      if (e instanceof AsmError) return e;
      throw e;
    }
    throw new Error('no error');
  };

  it('removes one trailing comma per operand, so "add %r1,2" is one operand', () => {
    expect(hex('add %r1, 2\nadd %r1 2\n')).toBe('0701000002000000'.repeat(2));
    expect(error('add %r1,2').message).toBe('1:1: Invalid number of operands for mnemonic: add');
  });

  it('reads hex immediates as unsigned bit patterns and decimals as signed', () => {
    expect(hex('mov %r0, 0xffffffff')).toBe('b7000000ffffffff');
    expect(hex('mov %r0, -1')).toBe('b7000000ffffffff');
    expect(hex('mov %r0, 0XFF')).toBe('b700000000000000');
    expect(error('mov %r0, 0x100000000').reason).toBe('Immediate out of 32-bit range: 0x100000000');
    expect(error('mov %r0, -0x1').reason).toBe('Immediate out of 32-bit range: -0x1');
    expect(error('mov %r0, 2147483648').reason).toBe('Immediate out of 32-bit range: 2147483648');
  });

  it('encodes every operand kind', () => {
    expect(hex('lddw %r0, 0x1122334455667788')).toBe('1800000088776655' + '0000000044332211');
    expect(hex('lddw %r0, -1')).toBe('18000000ffffffff' + '00000000ffffffff');
    expect(hex('ldxb %r0, [%r1+0x2]')).toBe('7110020000000000');
    expect(hex('stxdw [%r10-8], %r1')).toBe('7b1af8ff00000000');
    expect(hex('sth [%r1], 7')).toBe('6a01000007000000');
    expect(hex('lock fetch xor32 [%r10-8], %r1')).toBe('c31af8ffa1000000');
    expect(hex('lock cmpxchg [%r10-8], %r1')).toBe('db1af8fff1000000');
    expect(hex('call %r2')).toBe('8d02000000000000');
    expect(hex('call runtime 7')).toBe('8520000007000000');
    expect(hex('ja32 +3')).toBe('0600000003000000');
    expect(hex('movsx1632 %r1, %r2')).toBe('bc21100000000000');
    expect(hex('swap16 %r1')).toBe(hex('bswap16 %r1'));
    expect(hex('mov %r15, 1')).toBe('b70f000001000000');
  });

  it('resolves labels, the implicit exit label, and rejects duplicates', () => {
    expect(hex('jne %r0, 1, exit\nmov %r0, 2\nexit\n')).toBe('5500010001000000' + 'b700000002000000' + '9500000000000000');
    expect(hex('ja L\nL: exit\nexit\n')).toBe('0500000000000000' + '9500000000000000');
    expect(hex('exit:\nja exit\nexit\n')).toBe('0500000000000000' + '9500000000000000');
    expect(error('exit\nexit:\n').reason).toBe('Duplicate label (exit) detected at line 2 (previous declaration at line 1)');
    expect(error('a:\nexit\na:\n').reason).toBe('Duplicate label (a) detected at line 3 (previous declaration at line 1)');
    expect(error('ja nowhere\nexit').message).toBe('1:4: Invalid label: nowhere');
  });

  it('gives upstream error messages with line and column', () => {
    expect(error('mov %r0, 1\nfoo %r0').message).toBe('2:1: Invalid mnemonic: foo');
    expect(error('mov r0, 1').message).toBe('1:5: Invalid register: r0');
    expect(error('mov %r16, 1').reason).toBe('Invalid register: %r16');
    expect(error('ldxb %r0, [%r1 + 2]').reason).toBe('Invalid number of operands for mnemonic: ldxb');
    expect(error('ldxb %r0, (%r1+2)').reason).toBe('Failed to decode register and offset: (%r1+2)');
    expect(error('ldxb %r0, [%r1+40000]').reason).toBe('Offset out of 16-bit range: [%r1+40000]');
    expect(error('lock add [%r1]').reason).toBe('Invalid number of operands for lock');
    expect(error('call foo 1').reason).toBe('Invalid call mode');
    expect(error('ja +40000').reason).toBe('Offset out of 16-bit range: +40000');
  });
});
