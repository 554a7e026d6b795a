/**
 * btfTypeOnly spells types as bpftool's btf_dumper_type_only does (the prototypes above `prog dump xlated`'s
 * functions); the `int fill(struct xdp_md * ctx)` of apps/cli's recorded dump is the real bpftool's.
 */
import { describe, expect, it } from 'vitest';
import { BtfFuncLinkage, BtfKind } from './constants.js';
import { parseBtf } from './reader.js';
import { btfTypeOnly } from './signature.js';
import { BtfBuilder } from './writer.js';

describe('btfTypeOnly', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, 1);
  const char = b.int('char', 1, 1);
  const xdpMd = b.add({ kind: BtfKind.STRUCT, name: 'xdp_md', sizeOrType: 0, members: [] });
  const ctxPtr = b.ref(BtfKind.PTR, xdpMd);
  const fillProto = b.funcProto(int, [{ name: 'ctx', type: ctxPtr }]);
  const fill = b.add({ kind: BtfKind.FUNC, name: 'fill', sizeOrType: fillProto, linkage: BtfFuncLinkage.GLOBAL });
  const constChar = b.ref(BtfKind.CONST, char);
  const name = b.array(constChar, int, 16);
  const fwd = b.add({ kind: BtfKind.FWD, name: 'sock', kindFlag: true });
  const anonProto = b.funcProto(0, [
    { name: '', type: b.ref(BtfKind.PTR, fwd) },
    { name: '', type: 0 },
  ]);
  const btf = parseBtf(b.build());

  it("prints a function as `ret name(type name, ...)`, bpftool's spacing included", () => {
    expect(btfTypeOnly(btf, fill)).toBe('int fill(struct xdp_md * ctx)');
  });

  it('prints arrays, modifiers, forward declarations, unnamed parameters and varargs', () => {
    expect(btfTypeOnly(btf, name)).toBe('const char [16]');
    expect(btfTypeOnly(btf, anonProto)).toBe('void (union sock *, ...)');
    expect(btfTypeOnly(btf, 0)).toBe('void ');
  });

  it('prints nothing for an id that is not a type', () => {
    expect(btfTypeOnly(btf, 9999)).toBe('');
  });
});
