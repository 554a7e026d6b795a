/**
 * bpf_trace_printk's formatting (bprintf.ts) through the helper's implementation, and once from a verified
 * program: the message Linux's bpf_bprintf_prepare + bstr_printf would write, with the expected text worked
 * out by hand from lib/vsprintf.c's rules (widths, flags, sign, 32-bit int vs 64-bit long), and the errnos of
 * the formats Linux refuses.
 */
import { asm } from '@ebpf-sim/isa';
import { BPF_FUNC, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { helperRig, type HelperRig } from '../testing/helper-rig.js';

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const signed = (r0: bigint): number => Number(BigInt.asIntN(64, r0));

/** Kernel memory holding `bytes`: its address. */
function place(rig: HelperRig, bytes: Uint8Array): bigint {
  const address = rig.alloc(bytes.length + 1);
  rig.kernel.phys.bytes.set(bytes, address);
  return BigInt(address);
}

/** bpf_trace_printk(fmt, strlen(fmt) + 1, ...args): the return value and the message written (or none). */
function printk(rig: HelperRig, fmt: string, ...args: bigint[]): { ret: number; message: string | undefined } {
  const before = rig.printed.length;
  const ret = signed(rig.call('trace_printk', place(rig, latin1(`${fmt}\0`)), BigInt(fmt.length + 1), ...args));
  return { ret, message: rig.printed.length > before ? rig.printed[rig.printed.length - 1] : undefined };
}

/** A successful printk: the message, and the length returned equal to its length. */
function printed(rig: HelperRig, fmt: string, ...args: bigint[]): string | undefined {
  const { ret, message } = printk(rig, fmt, ...args);
  expect(ret).toBe(message?.length);
  return message;
}

const minus1 = 2n ** 64n - 1n;

describe('bpf_trace_printk formats as bstr_printf', () => {
  it('integers: int is 32 bits, long and long long 64; signed, unsigned, hex', () => {
    const rig = helperRig();
    expect(printed(rig, 'hello %d\n', 42n)).toBe('hello 42\n');
    expect(printed(rig, '%d %i %u', minus1, 0x1_0000_0005n, minus1)).toBe('-1 5 4294967295');
    expect(printed(rig, '%ld %lu %llx', minus1, minus1, minus1)).toBe('-1 18446744073709551615 ffffffffffffffff');
    expect(printed(rig, '%x %X %lx', 0xdeadbeefn, 0xabcn, 0x123456789n)).toBe('deadbeef ABC 123456789');
    expect(printed(rig, '%lli %llu', 2n ** 63n, 2n ** 63n)).toBe('-9223372036854775808 9223372036854775808');
  });

  it('flags and widths: - left, 0 pad after the sign, + and space for signed conversions only', () => {
    const rig = helperRig();
    expect(printed(rig, '[%5d|%-5d|%05d]', 42n, 42n, BigInt.asUintN(64, -42n))).toBe('[   42|42   |-0042]');
    expect(printed(rig, '[%+d|% d|%+u]', 5n, 5n, 5n)).toBe('[+5| 5|5]');
    expect(printed(rig, '[%-05x|%08X]', 0xabn, 0xabn)).toBe('[ab   |000000AB]');
  });

  it('characters, %% and strings from kernel memory (unreadable ones print empty)', () => {
    const rig = helperRig();
    expect(printed(rig, '%c%c%%', 0x6fn, 0x6bn)).toBe('ok%');
    const bpf = place(rig, latin1('bpf\0'));
    expect(printed(rig, '%s!', bpf)).toBe('bpf!');
    expect(printed(rig, '[%6s|%-4s|%pks]', bpf, bpf, bpf)).toBe('[   bpf|bpf |bpf]');
    expect(printed(rig, '<%s>', 0n)).toBe('<>');
    expect(printed(rig, '<%s>', 1n << 40n)).toBe('<>');
    // No task is current: a user string cannot be read.
    expect(printed(rig, '<%pus>', 0x1000n)).toBe('<>');
    // %c of 0 ends the C string the trace event copies; the count includes what followed.
    expect(printk(rig, 'a%cb', 0n)).toEqual({ ret: 3, message: 'a' });
  });

  it('pointers: %px raw, %p and %pK hashed (NULL and error pointers raw), %pS a symbol-less address, IP addresses read from memory', () => {
    const rig = helperRig();
    expect(printed(rig, '%px %p %p', 0x1234n, 0n, minus1 - 1n)).toBe('0000000000001234 0000000000000000 fffffffffffffffe');
    const hashed = printed(rig, '%p', 0x1234n) ?? '';
    expect(hashed).toMatch(/^00000000[0-9a-f]{8}$/);
    expect(printed(rig, '%pK', 0x1234n)).toBe(hashed);
    expect(printed(rig, '%p', 0x1238n)).not.toBe(hashed);
    // The letters after a %p conversion are skipped (bstr_printf: while (isalnum(*fmt)) fmt++).
    expect(printed(rig, '[%pSxyz] %ps', 0x10n, 0xffffffff81000000n)).toBe('[0x10] 0xffffffff81000000');
    const v4 = place(rig, Uint8Array.of(192, 168, 0, 1));
    expect(printed(rig, '%pI4 %pi4', v4, v4)).toBe('192.168.0.1 192.168.000.001');
    const v6 = place(rig, Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    expect(printed(rig, '%pI6 %pi6', v6, v6)).toBe('2001:0db8:0000:0000:0000:0000:0000:0001 20010db8000000000000000000000001');
    expect(printed(rig, '%pI4', 0n)).toBe('0.0.0.0');
  });

  it('refuses what Linux refuses: more than 3 conversions, precision, unknown conversions, non-printable bytes, no NUL', () => {
    const rig = helperRig();
    for (const fmt of ['%d %d %d %d', '%.2d', '%q', '%hd', '%#x', '%pa', '%s5', '%pks5', 'bad\x01', 'caf\xe9', '%', '%l', '%5']) {
      expect(printk(rig, fmt, 1n, 2n, 3n), JSON.stringify(fmt)).toEqual({ ret: -Errno.EINVAL, message: undefined });
    }
    const noNul = place(rig, latin1('abc'));
    expect(signed(rig.call('trace_printk', noNul, 3n))).toBe(-Errno.EINVAL);
    // Only the format before the first NUL counts: a fourth conversion after it is not looked at.
    const early = place(rig, latin1('%d\0%d %d %d %d\0'));
    expect(signed(rig.call('trace_printk', early, 16n, 9n))).toBe(1);
    expect(rig.printed.at(-1)).toBe('9');
  });

  it('cuts the message at 1023 bytes and returns the whole length; a long string fills the 512-byte argument buffer (ENOSPC after)', () => {
    const rig = helperRig();
    const { ret, message } = printk(rig, '%1000d%100d', 1n, 2n);
    expect(ret).toBe(1100);
    expect(message).toBe(`${' '.repeat(999)}1${' '.repeat(23)}`);
    const long = place(rig, latin1(`${'x'.repeat(600)}\0`));
    expect(printed(rig, '%s', long)).toBe('x'.repeat(511));
    expect(printk(rig, '%s%d', long, 1n)).toEqual({ ret: -Errno.ENOSPC, message: undefined });
  });

  it('from a verified program: the format on the stack, the message written, its length returned', () => {
    const rig = helperRig();
    // "n=%d\n\0" as little-endian words at fp-8.
    const fmt = latin1('n=%d\n\0\0\0');
    const view = new DataView(fmt.buffer);
    const prog = asm.program(
      asm.St.w(asm.FP, -8, view.getInt32(0, true)),
      asm.St.w(asm.FP, -4, view.getInt32(4, true)),
      asm.Mov.reg(asm.R1, asm.FP),
      asm.Add.imm(asm.R1, -8),
      asm.Mov.imm(asm.R2, 6),
      asm.Mov.imm(asm.R3, 7),
      asm.Call.helper(BPF_FUNC.trace_printk),
      asm.Exit(),
    );
    expect(rig.exec(prog)).toBe(4n);
    expect(rig.printed).toEqual(['n=7\n']);
  });
});
