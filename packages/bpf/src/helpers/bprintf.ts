/**
 * bpf_trace_printk's formatting, as Linux 6.x does it in two steps: bpf_bprintf_prepare (kernel/bpf/helpers.c)
 * checks the format and copies what the conversions dereference into a 512-byte argument buffer, then
 * bstr_printf (lib/vsprintf.c) prints into a 1024-byte buffer. What is accepted:
 *
 * - at most 3 conversions (MAX_TRACE_PRINTK_VARARGS), `%%` not counting; only printable ASCII or whitespace;
 *   the format must hold a NUL within its size;
 * - flags `0 + - space` and a width, no precision; then `d i u x X` with an optional `l` or `ll` (int is 32
 *   bits, long and long long 64), `c`, `s` (a kernel string on x86), `pks` / `pus` (kernel / user string),
 *   `p` followed by the end, a space or punctuation (the hashed pointer), `pK` (kptr_restrict is 0, so
 *   hashed too), `px` (raw), `ps` / `pS` / `pB` (a symbol: the simulated kernel has no kallsyms, so Linux's
 *   "0x%lx" for an address without one), `pI4 pi4 pI6 pi6` (an address read from kernel memory);
 * - anything else is EINVAL; running out of the argument buffer is ENOSPC.
 *
 * A string that cannot be read prints as empty. The message is cut at 1023 bytes (and at a NUL a `%c` put
 * there), and the helper returns bstr_printf's count: the length the whole message would have had.
 */
import type { KernelMemory, UserCopy } from '@ebpf-sim/kernel';
import { Errno } from '@ebpf-sim/uapi';
import { jhash } from '../maps/jhash.js';
import { copyFromKernelNofault, strncpyFromKernelNofault, strncpyFromUserNofault } from './nofault.js';

/** MAX_TRACE_PRINTK_VARARGS. */
export const MAX_TRACE_PRINTK_VARARGS = 3;
/** MAX_BPRINTF_BIN_ARGS: the buffer bpf_bprintf_prepare copies arguments and dereferenced strings into. */
export const MAX_BPRINTF_BIN_ARGS = 512;
/** MAX_BPRINTF_BUF: the buffer bstr_printf prints the message into. */
export const MAX_BPRINTF_BUF = 1024;

/** MAX_ERRNO as an unsigned 64-bit pointer bound: IS_ERR_VALUE pointers print raw, as NULL does. */
const ERR_PTR_MIN = 2n ** 64n - 4095n;

const enum Flag {
  LEFT = 1,
  PLUS = 2,
  SPACE = 4,
  ZEROPAD = 8,
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** The kernel's isspace for ASCII: \t \n \v \f \r and space. */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
/** The kernel's ispunct for ASCII: printable, not a letter, digit or space. */
const isPunct = (c: number): boolean => c > 0x20 && c < 0x7f && !isAlnum(c);
const isPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;

/** What a formatter reads: kernel memory, the current task's user memory, and the pointer-hashing key. */
export interface BprintfSources {
  readonly mem: KernelMemory;
  /** The user memory of the task current on the CPU, or undefined (no task: user strings print empty). */
  user(): UserCopy | undefined;
}

/** One conversion bpf_bprintf_prepare accepted, kept for the printing pass. */
interface Conversion {
  /** Index of the '%' in the format and of the character after the conversion. */
  start: number;
  end: number;
  flags: number;
  width: number;
  /** 'd' 'u' 'x' 'X' 'c' 's' (also pks/pus), 'p' (hashed), 'P' (raw: px), 'S' (symbol), 'T' (preformatted text: IPs, pB). */
  kind: string;
  /** 4 or 8 bytes for numbers. */
  size: number;
  signed: boolean;
  value: bigint;
  /** The text of a string, symbol or address conversion. */
  text: string;
  /** bstr_printf skips the letters after a %p conversion; a %s pads to the width, a dereferenced %p does not. */
  pointer: boolean;
}

/** A vsnprintf-style sink: counts every byte, keeps the first MAX_BPRINTF_BUF - 1. */
class Sink {
  readonly buf = new Uint8Array(MAX_BPRINTF_BUF);
  total = 0;

  put(c: number): void {
    if (this.total < MAX_BPRINTF_BUF - 1) this.buf[this.total] = c;
    this.total++;
  }

  pad(c: number, n: number): void {
    if (n <= 0) return;
    const room = Math.max(0, Math.min(n, MAX_BPRINTF_BUF - 1 - this.total));
    this.buf.fill(c, this.total, this.total + room);
    this.total += n;
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.put(s.charCodeAt(i));
  }

  /** The message as the trace event stores it (a C string: up to the first NUL). */
  message(): string {
    const end = Math.min(this.total, MAX_BPRINTF_BUF - 1);
    const nul = this.buf.subarray(0, end).indexOf(0);
    return new TextDecoder('latin1').decode(this.buf.subarray(0, nul < 0 ? end : nul));
  }
}

/**
 * A bpf_trace_printk formatter over kernel and user memory. `hashKey` gives the %p hash's key (Linux's
 * ptr_key), drawn on the first hashed pointer so that formats without one take nothing from the PRNG.
 */
export class Bprintf {
  private readonly scratch = new Uint8Array(MAX_BPRINTF_BIN_ARGS);
  private readonly ptr = new Uint8Array(8);
  private readonly ptrView = new DataView(this.ptr.buffer);

  constructor(
    private readonly src: BprintfSources,
    private readonly hashKey: () => number,
  ) {}

  private key: number | undefined;

  /**
   * Format `fmtSize` bytes at kernel address `fmtAddr` with `args`: the message and bstr_printf's count, or
   * -errno (EINVAL for a format Linux refuses, ENOSPC when the argument buffer is full).
   */
  format(fmtAddr: number, fmtSize: number, args: readonly bigint[]): { message: string; length: number } | number {
    const bytes = this.src.mem.bytes;
    const fmtEnd = bytes.subarray(fmtAddr, fmtAddr + fmtSize).indexOf(0);
    if (fmtEnd < 0) return -Errno.EINVAL;
    // The format including its NUL, so fmt[i + 1] past the last character reads 0 as in C.
    const fmt = bytes.slice(fmtAddr, fmtAddr + fmtEnd + 1);
    const convs = this.prepare(fmt, fmtEnd, args);
    if (typeof convs === 'number') return convs;
    const sink = new Sink();
    // Literal text, "%%" printing one '%' (prepare never starts a conversion on the second of a pair).
    const literal = (from: number, to: number): void => {
      for (let j = from; j < to; j++) {
        if (fmt[j] === 0x25 && fmt[j + 1] === 0x25) j++;
        sink.put(fmt[j]!);
      }
    };
    let i = 0;
    for (const conv of convs) {
      literal(i, conv.start);
      this.print(conv, sink);
      i = conv.end;
      // bstr_printf's FORMAT_TYPE_PTR: `while (isalnum(*fmt)) fmt++` after every pointer conversion.
      if (conv.pointer) while (isAlnum(fmt[i]!)) i++;
    }
    literal(i, fmtEnd);
    return { message: sink.message(), length: sink.total };
  }

  /** bpf_bprintf_prepare: the conversions, or -errno. */
  private prepare(fmt: Uint8Array, fmtSize: number, args: readonly bigint[]): Conversion[] | number {
    const convs: Conversion[] = [];
    /** Bytes of the 512-byte argument buffer used (tmp_buf - bin_args). */
    let used = 0;
    const room = (): number => MAX_BPRINTF_BIN_ARGS - used;
    for (let i = 0; i < fmtSize; i++) {
      const c = fmt[i]!;
      if ((!isPrint(c) && !isSpace(c)) || c >= 0x80) return -Errno.EINVAL;
      if (c !== 0x25) continue;
      if (fmt[i + 1] === 0x25) {
        i++;
        continue;
      }
      if (convs.length >= MAX_TRACE_PRINTK_VARARGS) return -Errno.EINVAL;
      const value = args[convs.length] ?? 0n;
      const conv: Conversion = { start: i, end: 0, flags: 0, width: -1, kind: '', size: 0, signed: false, value, text: '', pointer: false };
      i++;
      // The optional "[0 +-][num]" width field (format_decode reads the same characters as flags and width).
      for (;;) {
        const f = fmt[i];
        if (f === 0x30) conv.flags |= Flag.ZEROPAD;
        else if (f === 0x2b) conv.flags |= Flag.PLUS;
        else if (f === 0x2d) conv.flags |= Flag.LEFT;
        else if (f === 0x20) conv.flags |= Flag.SPACE;
        else break;
        i++;
      }
      if (fmt[i]! >= 0x31 && fmt[i]! <= 0x39) {
        let width = 0;
        while (isDigit(fmt[i]!)) width = Math.min(width * 10 + fmt[i++]! - 0x30, (1 << 23) - 1);
        conv.width = width;
      }
      if ((conv.flags & Flag.LEFT) !== 0) conv.flags &= ~Flag.ZEROPAD;
      const spec = fmt[i]!;
      const next = fmt[i + 1]!;
      /** The 4- or 8-byte slot a number or pointer takes in the argument buffer (PTR_ALIGN to 4, then the size). */
      const slot = (size: number): boolean => {
        used = (used + 3) & ~3;
        if (room() < size) return false;
        used += size;
        return true;
      };
      if (spec === 0x70 /* p */) {
        conv.pointer = true;
        if (next === 0 || isSpace(next) || isPunct(next)) {
          conv.kind = 'p';
        } else if ((next === 0x6b /* k */ || next === 0x75) /* u */ && fmt[i + 2] === 0x73 /* s */) {
          i += 2;
          const str = this.string(fmt, i, next === 0x75, value, room());
          if (typeof str === 'number') return str;
          used += str.consumed;
          conv.kind = 'T';
          conv.text = str.text;
        } else if (next === 0x4b /* K */ || next === 0x78 /* x */ || next === 0x73 /* s */ || next === 0x53 /* S */) {
          conv.kind = next === 0x78 ? 'P' : next === 0x4b ? 'p' : 'S';
          i++;
        } else if (next === 0x42 /* B */) {
          conv.kind = 'T';
          conv.text = symbolText(value);
          // snprintf's length plus its NUL.
          used = Math.min(MAX_BPRINTF_BIN_ARGS, used + conv.text.length + 1);
          i++;
        } else {
          const v = fmt[i + 2];
          if ((next !== 0x69 && next !== 0x49) || (v !== 0x34 && v !== 0x36)) return -Errno.EINVAL;
          i += 2;
          const size = v === 0x34 ? 4 : 16;
          if (room() < size) return -Errno.ENOSPC;
          const ip = this.scratch.subarray(0, size);
          if (copyFromKernelNofault(this.src.mem, ip, 0, kernelAddress(value), size) < 0) ip.fill(0);
          conv.kind = 'T';
          conv.text = ipText(ip, next === 0x49);
          used = Math.min(MAX_BPRINTF_BIN_ARGS, used + conv.text.length + 1);
        }
        if (conv.kind === 'p' || conv.kind === 'P' || conv.kind === 'S') {
          conv.size = 8;
          if (!slot(8)) return -Errno.ENOSPC;
        }
      } else if (spec === 0x73 /* s */) {
        const str = this.string(fmt, i, false, value, room());
        if (typeof str === 'number') return str;
        used += str.consumed;
        conv.kind = 's';
        conv.text = str.text;
      } else if (spec === 0x63 /* c */) {
        if (room() === 0) return -Errno.ENOSPC;
        used++;
        conv.kind = 'c';
      } else {
        conv.size = 4;
        if (fmt[i] === 0x6c /* l */) {
          conv.size = 8;
          i++;
        }
        if (fmt[i] === 0x6c) i++;
        const t = fmt[i]!;
        if (t !== 0x69 && t !== 0x64 && t !== 0x75 && t !== 0x78 && t !== 0x58) return -Errno.EINVAL;
        conv.kind = t === 0x69 ? 'd' : String.fromCharCode(t);
        conv.signed = conv.kind === 'd';
        if (!slot(conv.size)) return -Errno.ENOSPC;
      }
      conv.end = i + 1;
      convs.push(conv);
    }
    return convs;
  }

  /**
   * The fmt_str case: the character after the conversion must end it (NUL, space or punctuation), then the
   * string is copied with the room left (bpf_trace_copy_string: %s and %pks from the kernel, %pus from the
   * user); a string that cannot be read is empty and takes one byte.
   */
  private string(fmt: Uint8Array, i: number, user: boolean, value: bigint, room: number): { text: string; consumed: number } | number {
    const after = fmt[i + 1]!;
    if (after !== 0 && !isSpace(after) && !isPunct(after)) return -Errno.EINVAL;
    if (room === 0) return -Errno.ENOSPC;
    const out = this.scratch;
    out[0] = 0;
    const n = user
      ? strncpyFromUserNofault(this.src.user(), out, 0, userAddress(value), room)
      : strncpyFromKernelNofault(this.src.mem, out, 0, kernelAddress(value), room);
    if (n < 0) return { text: '', consumed: 1 };
    const nul = out.subarray(0, n).indexOf(0);
    return { text: new TextDecoder('latin1').decode(out.subarray(0, nul < 0 ? n : nul)), consumed: n };
  }

  /** bstr_printf's output of one conversion. */
  private print(conv: Conversion, sink: Sink): void {
    switch (conv.kind) {
      case 'd':
      case 'u':
      case 'x':
      case 'X':
        number(sink, conv);
        return;
      case 'c': {
        if ((conv.flags & Flag.LEFT) === 0) sink.pad(0x20, conv.width - 1);
        sink.put(Number(conv.value & 0xffn));
        if ((conv.flags & Flag.LEFT) !== 0) sink.pad(0x20, conv.width - 1);
        return;
      }
      case 's':
        widen(sink, conv.text, conv);
        return;
      case 'T':
        // A pointer conversion prepared as text is copied as it is, without the width.
        sink.text(conv.text);
        return;
      case 'S':
        widen(sink, symbolText(conv.value), conv);
        return;
      default:
        pointerString(sink, conv.kind === 'p' ? this.hashed(conv.value) : conv.value, conv);
    }
  }

  /**
   * ptr_to_id: NULL and error pointers print as they are; others as the low 32 bits of a keyed hash (Linux:
   * siphash with a key drawn at boot; here jhash of the pointer's bytes with a key drawn from the kernel's PRNG).
   */
  private hashed(value: bigint): bigint {
    if (value === 0n || value >= ERR_PTR_MIN) return value;
    this.ptrView.setBigUint64(0, value, true);
    this.key ??= this.hashKey() >>> 0;
    return BigInt(jhash(this.ptr, 0, 8, this.key) >>> 0);
  }
}

/** An argument used as a kernel address (beyond 2^53 it is past memory anyway, and faults). */
function kernelAddress(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
const userAddress = kernelAddress;

/** A symbol for an address: the simulated kernel has no kallsyms, so __sprint_symbol's "0x%lx". */
function symbolText(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** ip4_string / ip6_string: %pI4 dotted, %pi4 with three digits each, %pI6 eight colon-separated groups, %pi6 without colons. */
function ipText(ip: Uint8Array, upper: boolean): string {
  if (ip.length === 4) return [...ip].map((b) => (upper ? String(b) : String(b).padStart(3, '0'))).join('.');
  const hex = [...ip].map((b) => b.toString(16).padStart(2, '0'));
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push(hex[2 * g]! + hex[2 * g + 1]!);
  return groups.join(upper ? ':' : '');
}

/** widen_string: pad a string with spaces to the width, left or right. */
function widen(sink: Sink, text: string, conv: Conversion): void {
  if ((conv.flags & Flag.LEFT) === 0) sink.pad(0x20, conv.width - text.length);
  sink.text(text);
  if ((conv.flags & Flag.LEFT) !== 0) sink.pad(0x20, conv.width - text.length);
}

/** pointer_string: hex digits, 16 of them zero-padded when no width was given. */
function pointerString(sink: Sink, value: bigint, conv: Conversion): void {
  const digits = value.toString(16);
  const zero = conv.width === -1 || (conv.flags & Flag.ZEROPAD) !== 0;
  const width = conv.width === -1 ? 16 : conv.width;
  if ((conv.flags & Flag.LEFT) === 0) sink.pad(zero ? 0x30 : 0x20, width - digits.length);
  sink.text(digits);
  if ((conv.flags & Flag.LEFT) !== 0) sink.pad(0x20, width - digits.length);
}

/** number(): sign, padding and digits of an integer conversion, as lib/vsprintf.c prints them. */
function number(sink: Sink, conv: Conversion): void {
  const bits = BigInt(conv.size * 8);
  let value = BigInt.asUintN(Number(bits), conv.value);
  let sign = '';
  if (conv.signed) {
    const signedValue = BigInt.asIntN(Number(bits), value);
    if (signedValue < 0n) {
      sign = '-';
      value = -signedValue;
    } else if ((conv.flags & Flag.PLUS) !== 0) sign = '+';
    else if ((conv.flags & Flag.SPACE) !== 0) sign = ' ';
  }
  let digits = conv.kind === 'x' || conv.kind === 'X' ? value.toString(16) : value.toString(10);
  if (conv.kind === 'X') digits = digits.toUpperCase();
  let width = conv.width - sign.length - digits.length;
  if ((conv.flags & (Flag.ZEROPAD | Flag.LEFT)) === 0) {
    sink.pad(0x20, width);
    width = 0;
  }
  sink.text(sign);
  if ((conv.flags & Flag.LEFT) === 0) {
    sink.pad((conv.flags & Flag.ZEROPAD) !== 0 ? 0x30 : 0x20, width);
    width = 0;
  }
  sink.text(digits);
  sink.pad(0x20, width);
}
