import { describe, expect, it } from 'vitest';
import { KERNEL_TYPES, TASK_STRUCT } from '../task/layout.js';
import { KernelTypeTable, parseCType } from './ctype.js';

describe('C types of the kernel layouts', () => {
  it('parses the spellings the layouts and tracepoint formats use', () => {
    expect(parseCType('unsigned long')).toEqual({ kind: 'int', name: 'long unsigned int', size: 8, signed: false, char: false, bool: false });
    expect(parseCType('const struct cred *')).toEqual({ kind: 'ptr', to: { kind: 'const', of: { kind: 'struct', name: 'cred' } } });
    expect(parseCType('const char *const *')).toEqual({
      kind: 'ptr',
      to: { kind: 'const', of: { kind: 'ptr', to: { kind: 'const', of: parseCType('char') } } },
    });
    expect(parseCType('char[16]')).toEqual({ kind: 'array', of: parseCType('char'), length: 16 });
    expect(parseCType('unsigned long[6]')).toMatchObject({ kind: 'array', length: 6, of: { name: 'long unsigned int' } });
    expect(parseCType('__data_loc char[]')).toEqual({ kind: 'data_loc', of: { kind: 'array', of: parseCType('char'), length: 0 } });
    expect(parseCType('pid_t')).toEqual({ kind: 'typedef', name: 'pid_t' });
    expect(() => parseCType('unsigned struct x')).toThrow(SyntaxError);
    expect(() => parseCType('int %')).toThrow(/unexpected '%'/);
    expect(() => parseCType('long short')).toThrow(/not a C integer type/);
  });

  it('lays a struct out by the C rules: natural alignment, padded to its largest member', () => {
    const t = new KernelTypeTable();
    const s = t.struct('s', [
      ['a', 'char'],
      ['b', 'long'],
      ['c', 'short'],
      ['d', 'char[3]'],
    ]);
    expect(s).toEqual({ a: 0, b: 8, c: 16, d: 18, size: 24 });
    expect(
      t.struct(
        'u',
        [
          ['x', 'int'],
          ['y', 'struct s *'],
        ],
        'union',
      ),
    ).toEqual({ x: 0, y: 0, size: 8 });
    expect(() => t.struct('v', [['inner', 'struct nowhere']])).toThrow(/used by value before it is defined/);
    expect(() => t.fixedStruct('w', 4, [['x', 2, 'int']])).toThrow(/passes the struct's 4 bytes/);
  });

  it('gives every field of the kernel structs a size from its C type, inside its struct, without overlaps', () => {
    for (const struct of KERNEL_TYPES.structs.values()) {
      const sorted = [...struct.fields].sort((a, b) => a.offset - b.offset);
      sorted.forEach((f, i) => {
        expect(f.size, `${struct.name}.${f.name}`).toBe(KERNEL_TYPES.sizeOf(f.ctype));
        expect(f.offset + f.size, `${struct.name}.${f.name}`).toBeLessThanOrEqual(struct.size);
        const next = sorted[i + 1];
        if (struct.kind === 'struct' && next !== undefined) expect(f.offset + f.size, `${struct.name}.${f.name}`).toBeLessThanOrEqual(next.offset);
      });
    }
    expect(KERNEL_TYPES.structs.get('task_struct')?.fields.find((f) => f.name === 'pid')).toMatchObject({ offset: TASK_STRUCT.pid, size: 4, signed: true });
  });
});
