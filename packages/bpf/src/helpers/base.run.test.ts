/**
 * The base and tracing helpers run by verified programs on a VM over the kernel's memory
 * (testing/helper-rig.ts): time and jiffies against the kernel's virtual clock, the PRNG against a PRNG of the
 * same seed, the current task's facts against what the process itself knows (getpid, the credentials it was
 * spawned with, its program's name) inside a syscall it makes, and the probe reads against bytes the test put
 * in kernel and user memory.
 */
import { asm, type RawInsn } from '@ebpf-sim/isa';
import { Prng } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_MAP_TYPE, Errno, Libc, TRACE_SYSCALL_ENTER } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { TRACEPOINT } from '../prog-types/index.js';
import { helperRig, type HelperRig } from '../testing/helper-rig.js';
import { u32le } from '../testing/map-env.js';

const { R0, R1, R2, R3, R6, FP } = asm;
const call = (name: keyof typeof BPF_FUNC): RawInsn => asm.Call.helper(BPF_FUNC[name]);
const signed = (r0: bigint): number => Number(BigInt.asIntN(64, r0));
/** A program calling helper `name` with no arguments and returning its result. */
const just = (name: keyof typeof BPF_FUNC): RawInsn[] => asm.program(call(name), asm.Exit());

const OUT_SIZE = 64;
/** The output buffer: value 0 of map 0 (an ARRAY of OUT_SIZE bytes), whose address the program keeps in r6. */
function withOut(rig: HelperRig, fill = 0): { read(): Uint8Array; prologue: asm.ProgramItem[] } {
  const map = rig.map({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: OUT_SIZE, maxEntries: 1, mapFlags: 0 });
  map.updateSys(u32le(0), new Uint8Array(OUT_SIZE).fill(fill), 0);
  return {
    read() {
      const out = new Uint8Array(OUT_SIZE);
      map.lookupSys(u32le(0), out, 0);
      return out;
    },
    prologue: [
      asm.St.w(FP, -4, 0),
      asm.Mov.reg(R2, FP),
      asm.Add.imm(R2, -4),
      asm.LdImm64.mapFd(R1, 0),
      call('map_lookup_elem'),
      asm.JNe.imm(R0, 0, 'found'),
      asm.Exit(),
      asm.label('found'),
      asm.Mov.reg(R6, R0),
    ],
  };
}

/** helper(out, size, src) with the output buffer as destination; returns r0. */
function readInto(prologue: asm.ProgramItem[], name: keyof typeof BPF_FUNC, size: number, src: RawInsn): RawInsn[] {
  return asm.program(prologue, asm.Mov.reg(R1, R6), asm.Mov.imm(R2, size), src, call(name), asm.Exit());
}

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe('time', () => {
  it('ktime_get_ns, boot_ns and tai_ns read the virtual clock; coarse_ns and jiffies64 move in 1 ms ticks (HZ 1000) from INITIAL_JIFFIES', () => {
    const rig = helperRig();
    rig.kernel.clock.after(1_234_567_890, () => undefined);
    rig.kernel.run({ untilNs: 2e9 });
    const now = rig.kernel.clock.now;
    expect(now).toBeGreaterThan(1_000_000_000);
    expect(signed(rig.exec(just('ktime_get_ns')))).toBe(now);
    expect(signed(rig.exec(just('ktime_get_boot_ns')))).toBe(now);
    expect(signed(rig.exec(just('ktime_get_tai_ns')))).toBe(now);
    // No program type here offers the coarse clock yet (prog-types' tables): its implementation, called directly.
    expect(signed(rig.call('ktime_get_coarse_ns'))).toBe(now - (now % 1_000_000));
    // INITIAL_JIFFIES = (unsigned int)(-300 * HZ), five minutes before the 32-bit wrap.
    expect(signed(rig.exec(just('jiffies64')))).toBe(0x1_0000_0000 - 300_000 + Math.floor(now / 1_000_000));
  });
});

describe('get_prandom_u32, get_smp_processor_id, get_numa_node_id', () => {
  it("the kernel's seeded PRNG, the CPU the program runs on, NUMA node 0", () => {
    const rig = helperRig({ random: new Prng(2024), config: { cpus: 4 } });
    const same = new Prng(2024);
    for (let i = 0; i < 5; i++) expect(rig.exec(just('get_prandom_u32'))).toBe(BigInt(same.nextU32() >>> 0));
    for (const cpu of [0, 3, 1]) {
      rig.run.cpu = cpu;
      expect(rig.exec(just('get_smp_processor_id'))).toBe(BigInt(cpu));
      expect(rig.exec(just('get_numa_node_id'))).toBe(0n);
    }
  });
});

describe('the current task', () => {
  it('pid_tgid, uid_gid, comm and probe_read_user(_str) inside a syscall the process makes', () => {
    const rig = helperRig();
    const out = withOut(rig, 0xff);
    const text = 'hello, world!\0xyz';
    let seen: { pid?: number; uid?: number; euid?: number } = {};
    rig.kernel.vfs.registerProgram('/bin/probed', function* (ctx) {
      const libc = new Libc(ctx);
      seen = { pid: yield* libc.getpid(), uid: yield* libc.getuid() };
      yield* libc.write(1, text);
      return 0;
    });
    const results: Record<string, bigint | Uint8Array> = {};
    /** r3 = ctx->args[1] of sys_enter_write: the user buffer. */
    const userBuf = asm.Ldx.dw(R3, asm.R7, TRACE_SYSCALL_ENTER.args + 8);
    const inHook = (insns: RawInsn[]): bigint => rig.exec(insns, { progType: TRACEPOINT, ctx: ctxAddress });
    let ctxAddress = 0;
    rig.kernel.hooks.require('syscalls:sys_enter_write').attach((inv) => {
      ctxAddress = inv.ctx;
      const keepCtx = asm.Mov.reg(asm.R7, R1);
      results.pidTgid = inHook(just('get_current_pid_tgid'));
      results.uidGid = inHook(just('get_current_uid_gid'));
      results.comm = inHook(asm.program(out.prologue, asm.Mov.reg(R1, R6), asm.Mov.imm(R2, 16), call('get_current_comm'), asm.Exit()));
      results.commBytes = out.read();
      results.commShort = inHook(asm.program(out.prologue, asm.Mov.reg(R1, R6), asm.Mov.imm(R2, 4), call('get_current_comm'), asm.Exit()));
      results.commShortBytes = out.read();
      results.user = inHook(asm.program(keepCtx, readInto(out.prologue, 'probe_read_user', 16, userBuf)));
      results.userBytes = out.read();
      results.userStr = inHook(asm.program(keepCtx, readInto(out.prologue, 'probe_read_user_str', 32, userBuf)));
      results.userStrBytes = out.read();
      results.userStrCut = inHook(asm.program(keepCtx, readInto(out.prologue, 'probe_read_user_str', 5, userBuf)));
      results.userStrCutBytes = out.read();
      results.userBad = inHook(asm.program(readInto(out.prologue, 'probe_read_user', 16, asm.Mov.imm(R3, 0x10))));
      results.userBadBytes = out.read();
      results.userStrBad = inHook(asm.program(readInto(out.prologue, 'probe_read_user_str', 16, asm.Mov.imm(R3, 0x10))));
      return 0;
    });
    const pid = rig.kernel.spawn('/bin/probed', { uid: 1000, gid: 100 });
    rig.kernel.run({ untilNs: 1e9 });
    expect(seen.pid).toBe(pid);
    expect(seen.uid).toBe(1000);
    expect(results.pidTgid).toBe((BigInt(pid) << 32n) | BigInt(pid));
    expect(results.uidGid).toBe((100n << 32n) | 1000n);
    expect(results.comm).toBe(0n);
    expect(results.commBytes).toEqual(Uint8Array.from([...latin1('probed'), ...new Array<number>(10).fill(0), ...new Array<number>(48).fill(0xff)]));
    // strscpy_pad into 4 bytes: three characters and the NUL; the rest of the value as the last call left it.
    expect(results.commShort).toBe(0n);
    expect((results.commShortBytes as Uint8Array).subarray(0, 16)).toEqual(Uint8Array.from([...latin1('pro\0ed'), ...new Array<number>(10).fill(0)]));
    expect(results.user).toBe(0n);
    expect((results.userBytes as Uint8Array).subarray(0, 16)).toEqual(latin1(text.slice(0, 16)));
    // The length with its NUL; bytes after the NUL are not written (they still hold the previous read's).
    expect(results.userStr).toBe(14n);
    expect((results.userStrBytes as Uint8Array).subarray(0, 17)).toEqual(latin1('hello, world!\0xy\xff'));
    expect(results.userStrCut).toBe(5n);
    expect((results.userStrCutBytes as Uint8Array).subarray(0, 6)).toEqual(latin1('hell\0 '.replace(' ', ',')));
    expect(signed(results.userBad as bigint)).toBe(-Errno.EFAULT);
    expect((results.userBadBytes as Uint8Array).subarray(0, 16)).toEqual(new Uint8Array(16));
    expect(signed(results.userStrBad as bigint)).toBe(-Errno.EFAULT);
  });

  it('on a CPU with no task: the idle task swapper/<cpu> (pid 0, root, its task_struct), no user memory', () => {
    const rig = helperRig({ config: { cpus: 2 } });
    const out = withOut(rig, 0xff);
    rig.run.cpu = 1;
    expect(rig.exec(just('get_current_pid_tgid'))).toBe(0n);
    expect(rig.exec(just('get_current_uid_gid'))).toBe(0n);
    expect(rig.exec(just('get_current_task'))).toBe(BigInt(rig.kernel.taskStructs.idle[1] ?? -1));
    expect(rig.exec(asm.program(out.prologue, asm.Mov.reg(R1, R6), asm.Mov.imm(R2, 16), call('get_current_comm'), asm.Exit()))).toBe(0n);
    expect(out.read().subarray(0, 16)).toEqual(Uint8Array.from([...latin1('swapper/1'), ...new Array<number>(7).fill(0)]));
    expect(signed(rig.exec(readInto(out.prologue, 'probe_read_user', 8, asm.Mov.imm(R3, 0x1000))))).toBe(-Errno.EFAULT);
    expect(out.read().subarray(0, 8)).toEqual(new Uint8Array(8));
  });
});

describe('probe_read_kernel(_str)', () => {
  it('copies kernel memory; the NULL page is ERANGE and past the end of memory EFAULT, both leaving the buffer zeroed', () => {
    const rig = helperRig();
    const out = withOut(rig, 0xff);
    const src = rig.alloc(32);
    rig.kernel.phys.bytes.set(latin1('kernel bytes\0and more'), src);
    const at = (address: number): RawInsn => asm.LdImm64.value(R3, address);
    expect(rig.exec(readInto(out.prologue, 'probe_read_kernel', 12, at(src)))).toBe(0n);
    expect(out.read().subarray(0, 13)).toEqual(latin1('kernel bytes\xff'));
    expect(signed(rig.exec(readInto(out.prologue, 'probe_read_kernel', 12, at(0))))).toBe(-Errno.ERANGE);
    expect(out.read().subarray(0, 13)).toEqual(latin1('\0'.repeat(12) + '\xff'));
    const end = rig.kernel.phys.bytes.length;
    expect(signed(rig.exec(readInto(out.prologue, 'probe_read_kernel', 8, at(end - 4))))).toBe(-Errno.EFAULT);
    expect(signed(rig.exec(readInto(out.prologue, 'probe_read_kernel', 8, asm.LdImm64.value(R3, 0xffff888000000000n))))).toBe(-Errno.EFAULT);
    // Strings: the length with the NUL, cut to the size with a NUL in the last byte.
    expect(rig.exec(readInto(out.prologue, 'probe_read_kernel_str', 32, at(src)))).toBe(13n);
    expect(out.read().subarray(0, 13)).toEqual(latin1('kernel bytes\0'));
    expect(rig.exec(readInto(out.prologue, 'probe_read_kernel_str', 4, at(src)))).toBe(4n);
    expect(out.read().subarray(0, 5)).toEqual(latin1('ker\0e'));
    expect(signed(rig.exec(readInto(out.prologue, 'probe_read_kernel_str', 4, at(8))))).toBe(-Errno.ERANGE);
    expect(out.read().subarray(0, 4)).toEqual(new Uint8Array(4));
    // A string running off the end of memory.
    rig.kernel.phys.bytes.fill(0x41, end - 4, end);
    expect(signed(rig.exec(readInto(out.prologue, 'probe_read_kernel_str', 16, at(end - 4))))).toBe(-Errno.EFAULT);
    expect(out.read().subarray(0, 16)).toEqual(new Uint8Array(16));
  });
});
