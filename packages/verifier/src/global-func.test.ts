import type { RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import type { ParamTypeView, SubprogBtfView } from './global-func.js';
import type { LineInfoView } from './line-info.js';
import type { ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

const TYPE: ProgramTypeDesc = {
  name: 'test',
  uapiId: 0,
  ctx: { structName: 'test_ctx', size: 8, fields: [{ name: 'len', off: 0, size: 4, kind: 'scalar' }] },
  helpers: new Set(),
};
const REGISTRY: VerifierRegistry = { helper: () => undefined, map: () => undefined };

const insn = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });
const EXIT = insn(0x95, 0, 0, 0, 0);
/** main: fp-8 = 0; r1 = fp-8; call pc+1 (subprogram 1 at 5); exit. */
const CALL_WITH_STACK = [insn(0x7a, 10, 0, -8, 0), insn(0xbf, 1, 10, 0, 0), insn(0x07, 1, 0, 0, -8), insn(0x85, 0, 1, 0, 1), EXIT];
const LOAD_R1 = insn(0x61, 0, 1, 0, 0);

const ctxParam: ParamTypeView = {
  kind: 'pointer',
  ctx: true,
  dynptr: false,
  size: 8,
  pointeeKind: 'STRUCT',
  pointeeName: 'test_ctx',
  kernelType: () => ({ line: '', errno: 2 }),
};
const memParam = (size: number): ParamTypeView => ({
  kind: 'pointer',
  ctx: false,
  dynptr: false,
  size,
  pointeeKind: size < 0 ? 'UNKNOWN' : 'STRUCT',
  pointeeName: size < 0 ? '' : 'pair',
  kernelType: () => ({ line: '', errno: 2 }),
});
const fn = (name: string, params: ParamTypeView[], tags: string[][] = []): SubprogBtfView => ({
  name,
  linkage: 'global',
  ret: 'scalar',
  params: params.map((type, i) => ({ type, tags: tags[i] ?? [] })),
});
const MAIN = fn('prog', [ctxParam]);

describe('global functions', () => {
  it('are assumed valid at the call and verified on their own after main: a pointer to memory may be NULL', () => {
    const r = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], { progType: TYPE, registry: REGISTRY, logLevel: 2, subprogBtf: [MAIN, fn('f', [memParam(8)])] });
    expect(r.accepted).toBe(false);
    expect(r.error?.message).toBe("R1 invalid mem access 'mem_or_null'");
    expect(r.log).toContain("3: (85) call pc+1\nFunc#1 ('f') is global and assumed valid.\n4: R0=scalar()\n4: (95) exit\n");
    expect(r.log).toContain('Validating f() func#1...\n5: R1=mem_or_null(id=1,sz=8) R10=fp0\n5: (61) r0 = *(u32 *)(r1 +0)\n');
  });

  it('accepts the callee once it checks for NULL; level 1 keeps only the last verdict', () => {
    const checked = [...CALL_WITH_STACK, insn(0xb7, 0, 0, 0, 0), insn(0x15, 1, 0, 1, 0), LOAD_R1, EXIT];
    const r = verify(checked, { progType: TYPE, registry: REGISTRY, logLevel: 1, subprogBtf: [MAIN, fn('f', [memParam(8)])] });
    expect(r.accepted).toBe(true);
    expect(r.log.split('\n')[0]).toBe("Func#1 ('f') is safe for any args that match its prototype");
    // __arg_nonnull: no NULL check needed, but the caller must not pass a maybe-NULL pointer.
    const nonnull = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], {
      progType: TYPE,
      registry: REGISTRY,
      subprogBtf: [MAIN, fn('f', [memParam(8)], [['nonnull']])],
    });
    expect(nonnull.accepted).toBe(true);
  });

  it('checks the arguments at the call against the BTF signature, with the errno of the check', () => {
    const tooSmall = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], {
      progType: TYPE,
      registry: REGISTRY,
      subprogBtf: [MAIN, fn('f', [memParam(16)], [['nonnull']])],
    });
    expect(tooSmall.error?.message).toBe("Caller passes invalid args into func#1 ('f')");
    expect(tooSmall.error?.errno).toBe(22);
    const asCtx = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], { progType: TYPE, registry: REGISTRY, subprogBtf: [MAIN, fn('f', [ctxParam])] });
    expect(asCtx.log).toContain("arg#0 expects pointer to ctx\nCaller passes invalid args into func#1 ('f')");
    const badTag = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], {
      progType: TYPE,
      registry: REGISTRY,
      subprogBtf: [MAIN, fn('f', [memParam(8)], [['nullable']])],
    });
    expect(badTag.log).toContain("arg#0 has invalid combination of tags\nCaller passes invalid args into func#1 ('f')");
    const voidRet = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], {
      progType: TYPE,
      registry: REGISTRY,
      subprogBtf: [MAIN, { ...fn('f', [memParam(8)]), ret: 'void' }],
    });
    expect(voidRet.log).toContain("Global function f() doesn't return scalar. Only those are supported.\nCaller passes invalid args");
  });

  it("reads the main program's BTF too: an unsized `void *ctx` is logged, not refused", () => {
    const r = verify([insn(0xb7, 0, 0, 0, 0), EXIT], { progType: TYPE, registry: REGISTRY, logLevel: 2, subprogBtf: [fn('prog', [memParam(-22)])] });
    expect(r.accepted).toBe(true);
    expect(r.log).toContain("arg#0 reference type('UNKNOWN ') size cannot be determined: -22\n0: R1=ctx() R10=fp0\n");
  });

  it("invalidates the caller's packet pointers after a call of one that changes packet data (through its callees too)", () => {
    const PKT: ProgramTypeDesc = {
      ...TYPE,
      ctx: {
        structName: 'test_ctx',
        size: 8,
        fields: [
          { name: 'data', off: 0, size: 4, kind: 'pkt' },
          { name: 'end', off: 4, size: 4, kind: 'pkt_end' },
        ],
      },
      helpers: new Set([9]),
    };
    const registry: VerifierRegistry = {
      helper: (id) => (id === 9 ? { id, name: 'bpf_skb_pull_data', ret: 'integer', args: ['ptr_to_ctx'], changesPktData: true } : undefined),
      map: () => undefined,
    };
    // main: r6 = data; call g(ctx) at 4; r0 = *(u8 *)(r6 + 0); exit. g (4): call h (6); exit. h (6): call pull(ctx); r0 = 0; exit.
    const prog = [
      insn(0x61, 6, 1, 0, 0),
      insn(0x85, 0, 1, 0, 2),
      insn(0x71, 0, 6, 0, 0),
      EXIT,
      insn(0x85, 0, 1, 0, 1),
      EXIT,
      insn(0x85, 0, 0, 0, 9),
      insn(0xb7, 0, 0, 0, 0),
      EXIT,
    ];
    const g = fn('g', [ctxParam]);
    const h: SubprogBtfView = { ...fn('h', [ctxParam]), linkage: 'static' };
    const r = verify(prog, { progType: PKT, registry, subprogBtf: [MAIN, g, h] });
    expect(r.error?.message).toBe("R6 invalid mem access 'scalar'");
  });

  it('stays static without func_info: the callee is verified in its caller', () => {
    const r = verify([...CALL_WITH_STACK, LOAD_R1, EXIT], { progType: TYPE, registry: REGISTRY });
    expect(r.accepted).toBe(true);
  });
});

describe('line_info in the log', () => {
  const rec = (insn: number, line: string, lineNumber: number, column = 1): LineInfoView => ({
    insn,
    line,
    file: '/src/x/p.bpf.c',
    fileOff: 1,
    lineNumber,
    column,
  });
  it('prints `; line @ file:n` before the first instruction of each new record, once per file and line', () => {
    const lineInfo = [rec(0, '\tint x = 0;', 3), rec(1, 'int x = 0;', 3, 9), rec(2, 'return x;', 4)];
    const r = verify([insn(0xb7, 0, 0, 0, 0), insn(0x07, 0, 0, 0, 1), EXIT], { progType: TYPE, registry: REGISTRY, logLevel: 2, lineInfo });
    expect(r.log).toContain('; int x = 0; @ p.bpf.c:3\n0: (b7) r0 = 0');
    expect(r.log).toContain('1: (07) r0 += 1                       ; R0=1\n; return x; @ p.bpf.c:4\n2: (95) exit');
    expect(r.log.match(/p\.bpf\.c:3/g)?.length).toBe(1);
  });
});
