/**
 * parseBtf on fixtures/blobs.txt, and the same blobs checked against what this machine's Linux answered to
 * BPF_BTF_LOAD (fixtures/linux-results.txt, recorded by fixtures/record.sh): the errno and the last line Linux
 * wrote to btf_log_buf.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordedBlob, recordedBlobs } from '../fixtures/blobs.js';
import { btfInfo, buildBtf } from '../fixtures/dump/fixtures.js';
import { BTF_MAX_TYPE, BtfError, BtfKind, parseBtf } from './index.js';

const fixtures = new URL('../fixtures/', import.meta.url);
const blob = recordedBlob;

describe('parseBtf', () => {
  it('reads every kind with its fields', () => {
    const btf = parseBtf(blob('valid_all_kinds'));
    expect(btf.types.map((t) => t.kind)).toEqual([
      BtfKind.UNKN,
      BtfKind.INT,
      BtfKind.PTR,
      BtfKind.ARRAY,
      BtfKind.STRUCT,
      BtfKind.UNION,
      BtfKind.ENUM,
      BtfKind.FWD,
      BtfKind.TYPEDEF,
      BtfKind.VOLATILE,
      BtfKind.CONST,
      BtfKind.RESTRICT,
      BtfKind.FUNC_PROTO,
      BtfKind.FUNC,
      BtfKind.VAR,
      BtfKind.DATASEC,
      BtfKind.FLOAT,
      BtfKind.DECL_TAG,
      BtfKind.TYPE_TAG,
      BtfKind.ENUM64,
    ]);
    expect(btf.types[1]).toMatchObject({ name: 'int', sizeOrType: 4, intEncoding: 1, intBits: 32 });
    expect(btf.types[4]?.members).toEqual([
      { name: 'x', type: 1, bitOffset: 0, bitfieldSize: 0 },
      { name: 'y', type: 1, bitOffset: 32, bitfieldSize: 0 },
    ]);
    expect(btf.types[19]?.enumValues).toEqual([{ name: 'y', value: 0x2_0000_0001n }]);
    expect(btf.types[15]).toMatchObject({ name: '.data', secinfo: [{ type: 14, offset: 0, size: 4 }] });
    expect(btf.types[13]).toMatchObject({ name: 'foo', linkage: 1, sizeOrType: 12 });
  });

  it('resolves sizes through typedefs, modifiers and arrays', () => {
    const btf = parseBtf(blob('valid_all_kinds'));
    expect(btf.sizeOf(1)).toBe(4);
    expect(btf.sizeOf(2)).toBe(8); // PTR
    expect(btf.sizeOf(3)).toBe(16); // int[4]
    expect(btf.sizeOf(4)).toBe(8); // struct foo
    expect(btf.sizeOf(10)).toBe(4); // const volatile int
    expect(btf.sizeOf(7)).toBeUndefined(); // FWD
    expect(btf.sizeOf(0)).toBeUndefined(); // void
    expect(btf.sizeOf(999)).toBeUndefined();
    expect(btf.skipModifiers(10)?.id).toBe(1);
  });

  it('gives the byte offset and type id of a bad member type', () => {
    const bytes = blob('struct_member_missing');
    const err = (() => {
      try {
        parseBtf(bytes);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BtfError);
    // Header 24, type [1] 16 bytes, struct [2] header 12: the member record at 52.
    expect(err).toMatchObject({ errno: 'EINVAL', typeId: 2, offset: 52 });
    expect((err as BtfError).log).toContain('[2] STRUCT foo size=4 vlen=1\n\tx type_id=9 bits_offset=0 Invalid member\n');
  });

  it('writes the header to the log as Linux does', () => {
    expect(parseBtf(blob('valid_int_struct')).log.split('\n').slice(0, 9)).toEqual([
      'magic: 0xeb9f',
      'version: 1',
      'flags: 0x0',
      'hdr_len: 24',
      'type_off: 0',
      'type_len: 52',
      'str_off: 52',
      'str_len: 53',
      'btf_total_size: 129',
    ]);
  });

  it('answers any corruption of a valid blob with a BtfError or a parse, never another throw', () => {
    const base = blob('valid_all_kinds');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length * 8 - 1)), { minLength: 1, maxLength: 8 }), fc.nat(base.length), (flips, cut) => {
        const bytes = base.slice(0, cut === 0 ? base.length : cut);
        for (const [bit] of flips) if (bit >> 3 < bytes.length) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        try {
          const btf = parseBtf(bytes);
          expect(btf.types.length).toBeGreaterThan(1);
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(bytes.length);
          if (e.typeId !== undefined) expect(e.typeId).toBeLessThanOrEqual(BTF_MAX_TYPE);
          expect(e.log.endsWith(`${e.detail}\n`)).toBe(true);
        }
      }),
      { numRuns: 2000, seed: 12 },
    );
  });
});

const ERRNO: Record<string, number> = { EINVAL: 22, E2BIG: 7, EEXIST: 17, ENOTSUPP: 524 };
const answers = readFileSync(new URL('linux-results.txt', fixtures), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const m = /^(\S+) => (-?\d+) \| (.*)$/.exec(l);
    if (m === null) throw new Error(`bad line in linux-results.txt: ${l}`);
    return { name: m[1] ?? '', errno: Number(m[2]), lastLine: m[3] ?? '' };
  });

const lastLine = (log: string): string => log.trimEnd().split('\n').pop() ?? '';

describe('parseBtf against Linux BPF_BTF_LOAD', () => {
  it('has a recorded answer for every blob', () => {
    expect(answers.map((a) => a.name).sort()).toEqual([...recordedBlobs.keys()].sort());
  });

  it.each(answers)('$name => $errno', ({ name, errno, lastLine: expected }) => {
    const bytes = recordedBlob(name);
    if (errno === 0) {
      const btf = parseBtf(bytes);
      expect(lastLine(btf.log)).toBe(expected);
      return;
    }
    let caught: unknown;
    try {
      parseBtf(bytes);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BtfError);
    const err = caught as BtfError;
    expect(-(ERRNO[err.errno] ?? 0)).toBe(errno);
    expect(lastLine(err.log)).toBe(expected);
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(bytes.length);
  });
});

describe("parseBtf with libbpf's rules", () => {
  const build = buildBtf;
  const info = btfInfo;

  it('takes what only the kernel refuses: an extern VAR, a DATASEC of size 0', () => {
    // [1] int, [2] VAR 'v' extern, [3] DATASEC '.data' size 0 { [2] at 0 size 4 }
    const words = [1, info(BtfKind.INT), 4, 0x01000020, 5, info(BtfKind.VAR), 1, 2, 7, info(BtfKind.DATASEC, 1), 0, 2, 0, 4];
    const bytes = build('\0int\0v\0.data\0', words);
    expect(() => parseBtf(bytes)).toThrow(/Linkage not supported/);
    const btf = parseBtf(bytes, { rules: 'libbpf' });
    expect(btf.types[2]).toMatchObject({ kind: BtfKind.VAR, linkage: 2 });
    expect(btf.types[3]).toMatchObject({ kind: BtfKind.DATASEC, sizeOrType: 0, secinfo: [{ type: 2, offset: 0, size: 4 }] });
  });

  it('still refuses a type id that does not exist and a loop of types, with the offset of the type', () => {
    const dangling = build('\0', [0, info(BtfKind.PTR), 7]);
    expect(() => parseBtf(dangling, { rules: 'libbpf' })).toThrow(/^bad BTF at byte offset 24 \(type \[1\]\): \[1\] PTR \(anon\) type_id=7 Invalid type_id 7$/);
    const loop = build('\0', [0, info(BtfKind.CONST), 2, 0, info(BtfKind.VOLATILE), 1]);
    expect(() => parseBtf(loop, { rules: 'libbpf' })).toThrow(/Loop detected/);
  });
});
