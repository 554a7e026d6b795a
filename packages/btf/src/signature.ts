/**
 * A type as bpftool names it in one line (btf_dumper.c: btf_dumper_type_only): the `int fill(struct xdp_md *
 * ctx)` header `prog dump xlated` prints above each function, from its func_info's BTF_KIND_FUNC. The spelling is
 * bpftool's, spaces included (`struct xdp_md * ctx`, `char [16]`), not C's.
 */
import { BtfKind, BtfVarLinkage } from './constants.js';
import type { Btf } from './reader.js';

/** Recursion bound: BTF validated by the kernel has no loops, but a hand-made blob may; bpftool would overflow. */
const MAX_DEPTH = 64;

/** btf_dumper_type_only: the one-line text of type `typeId`, or '' where bpftool prints nothing (an unknown kind). */
export function btfTypeOnly(btf: Btf, typeId: number): string {
  return typeOnly(btf, typeId, 0) ?? '';
}

function typeOnly(btf: Btf, typeId: number, depth: number): string | undefined {
  if (typeId === 0) return 'void ';
  const t = btf.types[typeId];
  if (t === undefined || depth > MAX_DEPTH) return undefined;
  const inner = (id: number): string | undefined => typeOnly(btf, id, depth + 1);
  const then = (prefix: string, id: number, suffix = ''): string | undefined => {
    const text = inner(id);
    return text === undefined ? undefined : `${prefix}${text}${suffix}`;
  };
  switch (t.kind) {
    case BtfKind.INT:
    case BtfKind.TYPEDEF:
    case BtfKind.FLOAT:
      return `${t.name} `;
    case BtfKind.STRUCT:
      return `struct ${t.name} `;
    case BtfKind.UNION:
      return `union ${t.name} `;
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      return `enum ${t.name} `;
    case BtfKind.ARRAY:
      return then('', t.arrayType, `[${t.arrayNelems}]`);
    case BtfKind.PTR:
      return then('', t.sizeOrType, '* ');
    case BtfKind.FWD:
      return `${t.kindFlag ? 'union' : 'struct'} ${t.name} `;
    case BtfKind.VOLATILE:
      return then('volatile ', t.sizeOrType);
    case BtfKind.CONST:
      return then('const ', t.sizeOrType);
    case BtfKind.RESTRICT:
      return then('restrict ', t.sizeOrType);
    case BtfKind.FUNC_PROTO:
      return func(btf, typeId, undefined, depth);
    case BtfKind.FUNC:
      return func(btf, t.sizeOrType, t.name, depth);
    case BtfKind.VAR:
      return then(t.linkage === BtfVarLinkage.STATIC ? 'static ' : '', t.sizeOrType, ` ${t.name}`);
    case BtfKind.DATASEC:
      return `section ("${t.name}") `;
    default:
      return undefined;
  }
}

/** btf_dump_func: `ret name(type name, type name, ...)`; an unnamed parameter loses its trailing space. */
function func(btf: Btf, protoId: number, name: string | undefined, depth: number): string | undefined {
  const proto = btf.types[protoId];
  if (proto === undefined) return undefined;
  let out = typeOnly(btf, proto.sizeOrType, depth + 1);
  if (out === undefined) return undefined;
  out += `${name ?? ''}(`;
  for (const [i, param] of proto.params.entries()) {
    if (i > 0) out += ', ';
    if (param.type === 0) {
      out += '...';
      continue;
    }
    const text = typeOnly(btf, param.type, depth + 1);
    if (text === undefined) return undefined;
    out += text;
    if (param.name !== '' && param.name !== '(anon)') out += param.name;
    else if (out.endsWith(' ')) out = out.slice(0, -1);
  }
  return `${out})`;
}
