/**
 * Socket pointers (sock.ts): `__sk_buff.sk`-style context fields give sock_common_or_null, the NULL check makes it
 * usable, loads go through check_sock_access with the layouts the registry hands over, and every refusal uses
 * Linux 6.18's words (check_mem_access, check_sock_access, adjust_ptr_min_max_vals, check_reg_type). The
 * conversions are rewritten like context loads (convertCtxAccesses). The refusals of a store, of `type` through
 * sock_common, of a u32 load of bpf_tcp_sock.bytes_acked and of bpf_sk_fullsock on sock_common_or_null are the
 * lines Linux 6.18 printed on this machine for the same accesses from clang-compiled cgroup_skb programs.
 */
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { convertCtxAccesses } from './ctx-rewrite.js';
import type { CtxField, HelperProto, ProgramTypeDesc, SocketLayouts, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

const { Add, Call, Exit, JNe, Ldx, Mov, Stx, label, program, R0, R1 } = asm;

/** The struct sock offsets the conversions read (the test's own kernel layout). */
const SK = { family: 16, type: 90, snd_cwnd: 108, bytes_acked: 200 } as const;
const field = (name: string, off: number, size: number, from: number, loadSize: 2 | 4 | 8, narrow = false): CtxField => ({
  name,
  off,
  size,
  kind: 'scalar',
  ...(narrow ? { narrowLoads: true } : {}),
  convert: { read: [{ op: 'load', base: 'ctx', off: from, size: loadSize }] },
});
const COMMON = [field('family', 4, 4, SK.family, 2, true)];
const SOCKETS: SocketLayouts = {
  sockCommon: { structName: 'bpf_sock', size: 80, fields: COMMON },
  sock: { structName: 'bpf_sock', size: 80, fields: [...COMMON, field('type', 8, 4, SK.type, 2, true)] },
  tcpSock: { structName: 'bpf_tcp_sock', size: 112, fields: [field('snd_cwnd', 0, 4, SK.snd_cwnd, 4), field('bytes_acked', 88, 8, SK.bytes_acked, 8)] },
};

/** A context whose only field is the socket pointer at 0 (as __sk_buff.sk is at 168). */
const TYPE: ProgramTypeDesc = {
  name: 'test',
  uapiId: 0,
  ctx: {
    structName: 'test_ctx',
    size: 8,
    fields: [{ name: 'sk', off: 0, size: 8, kind: 'sock_common_or_null', convert: { read: [{ op: 'load', base: 'ctx', off: 24, size: 8 }] } }],
  },
  helpers: new Set([46, 95, 96]),
};
const HELPERS: ReadonlyMap<number, HelperProto> = new Map<number, HelperProto>([
  [95, { id: 95, name: 'bpf_sk_fullsock', ret: 'ptr_to_socket_or_null', args: ['ptr_to_sock_common'] }],
  [96, { id: 96, name: 'bpf_tcp_sock', ret: 'ptr_to_tcp_sock_or_null', args: ['ptr_to_sock_common'] }],
]);
const registry: VerifierRegistry = { helper: (id) => HELPERS.get(id), map: () => undefined, sockets: SOCKETS };

const run = (...insns: asm.ProgramItem[]): ReturnType<typeof verify> => verify(program(...insns), { progType: TYPE, registry, logLevel: 2 });

/** r1 = ctx->sk; if (!r1) return 0; */
const SK_CHECKED = [Ldx.dw(R1, R1, 0), JNe.imm(R1, 0, 'ok'), Mov.imm(R0, 0), Exit(), label('ok')];

describe('socket pointers', () => {
  it('reads a NULL-checked sock_common field; the load is rewritten through the pointer', () => {
    const r = run(...SK_CHECKED, Ldx.w(R0, R1, 4), Exit());
    expect(r.accepted, r.log).toBe(true);
    expect(r.log).toContain('R1=sock_common_or_null(id=1)');
    const xlated = convertCtxAccesses(program(...SK_CHECKED, Ldx.w(R0, R1, 4), Exit()), r.facts, TYPE).insns;
    // ctx->sk became skb->sk's load, family the 2-byte load at the struct sock's offset.
    expect(xlated[0]).toMatchObject({ dst: 1, src: 1, off: 24 });
    expect(xlated[4]).toMatchObject({ dst: 0, src: 1, off: SK.family, code: 0x69 });
  });

  it("refuses a load before the NULL check: R1 invalid mem access 'sock_common_or_null'", () => {
    const r = run(Ldx.dw(R1, R1, 0), Ldx.w(R0, R1, 4), Exit());
    expect(r.accepted).toBe(false);
    expect(r.error?.message).toBe("R1 invalid mem access 'sock_common_or_null'");
    expect(r.error?.errno).toBe(13);
  });

  it('refuses what check_sock_access refuses: a full-socket field of sock_common, stores, pointer arithmetic, misalignment', () => {
    expect(run(...SK_CHECKED, Ldx.w(R0, R1, 8), Exit()).error?.message).toBe('R1 invalid sock_common access off=8 size=4');
    expect(run(...SK_CHECKED, Mov.imm(R0, 1), Stx.w(R1, 4, R0), Exit()).error?.message).toBe('R1 cannot write into sock_common');
    expect(run(...SK_CHECKED, Add.imm(R1, 4), Mov.imm(R0, 0), Exit()).error?.message).toBe('R1 pointer arithmetic on sock_common prohibited');
    expect(run(...SK_CHECKED, Ldx.w(R0, R1, 6), Exit()).error?.message).toBe('misaligned sock_common access off (0x0; 0x0)+0+6 size 4');
  });

  it('bpf_sk_fullsock and bpf_tcp_sock cast a checked pointer; their results need their own NULL check', () => {
    const full = run(...SK_CHECKED, Call.helper(95), JNe.imm(R0, 0, 'full'), Exit(), label('full'), Ldx.w(R0, R0, 8), Exit());
    expect(full.accepted, full.log).toBe(true);
    expect(full.log).toContain('R0=sock_or_null(id=2)');
    const tcp = run(...SK_CHECKED, Call.helper(96), JNe.imm(R0, 0, 'tcp'), Exit(), label('tcp'), Ldx.dw(R0, R0, 88), Exit());
    expect(tcp.accepted, tcp.log).toBe(true);
    // bytes_acked is a u64: a u32 load of it is refused (bpf_tcp_sock_is_valid_access).
    const narrow = run(...SK_CHECKED, Call.helper(96), JNe.imm(R0, 0, 'tcp'), Exit(), label('tcp'), Ldx.w(R0, R0, 88), Exit());
    expect(narrow.error?.message).toBe('R0 invalid tcp_sock access off=88 size=4');
    // The helpers take only a checked socket pointer.
    const unchecked = run(Ldx.dw(R1, R1, 0), Call.helper(95), Mov.imm(R0, 0), Exit());
    expect(unchecked.error?.message).toBe('R1 type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock');
    const ctx = run(Call.helper(95), Mov.imm(R0, 0), Exit());
    expect(ctx.error?.message).toBe('R1 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock');
  });
});
