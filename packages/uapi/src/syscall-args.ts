import { z } from 'zod';
import { Errno } from './errno.js';

/**
 * Argument schemas for syscall registers. Every argument is one 64-bit register, carried as a JS number
 * (user addresses are below 2^47, so they are exact). Each schema says which values the kernel accepts and,
 * through the `argMeta` registry, which errno a rejected value earns and what C type the argument has (the
 * tracepoint format's field type). The kernel derives its fast entry checks from these schemas (minValue,
 * maxValue, isInt and the flag mask), so the schema stays the single source of truth.
 */
export interface ArgMeta {
  /** The C type as the tracepoint format spells it. */
  readonly ctype: string;
  /** Errno returned (negated) when the value is rejected. */
  readonly errno: number;
  /** For flag words: the bits the kernel accepts; any other bit set earns `errno`. */
  readonly mask?: number;
  /** The value is a user-space address (read with copy_from_user / bpf_probe_read_user). */
  readonly userPointer?: boolean;
}

export const argMeta = z.registry<ArgMeta>();

const U64_MAX = 2 ** 64 - 1;
const S64_MIN = -(2 ** 63);
const S32_MIN = -(2 ** 31);
const S32_MAX = 2 ** 31 - 1;
const U32_MAX = 2 ** 32 - 1;

function ranged(min: number, max: number, meta: ArgMeta): z.ZodNumber {
  // zod's .int() means a *safe* integer (|n| < 2^53); 64-bit registers go beyond that, so integrality is a
  // refinement here (the kernel's fast check tests it the same way).
  const schema = z
    .number()
    .min(min)
    .max(max)
    .refine((value) => Number.isInteger(value), { message: 'a register holds an integer' });
  schema.register(argMeta, meta);
  return schema;
}

/** A file descriptor: 0..INT_MAX, anything else is EBADF. */
export const fdArg = (ctype = 'unsigned int'): z.ZodNumber => ranged(0, S32_MAX, { ctype, errno: Errno.EBADF });
/** A directory fd for *at calls: any int (AT_FDCWD is -100; the handler rejects other negatives). */
export const dirfdArg = (): z.ZodNumber => ranged(S32_MIN, S32_MAX, { ctype: 'int', errno: Errno.EBADF });
/** A user pointer: any address (NULL included); its validity is checked when it is dereferenced (EFAULT). */
export const userPtrArg = (ctype: string): z.ZodNumber => ranged(0, U64_MAX, { ctype, errno: Errno.EFAULT, userPointer: true });
/** A size_t: a non-negative 64-bit count. */
export const sizeArg = (errno: number = Errno.EFAULT, ctype = 'size_t'): z.ZodNumber => ranged(0, U64_MAX, { ctype, errno });
/** A C int. */
export const intArg = (ctype = 'int', errno: number = Errno.EINVAL): z.ZodNumber => ranged(S32_MIN, S32_MAX, { ctype, errno });
/** A C unsigned int. */
export const uintArg = (ctype = 'unsigned int', errno: number = Errno.EINVAL): z.ZodNumber => ranged(0, U32_MAX, { ctype, errno });
/** A 64-bit unsigned long. */
export const ulongArg = (ctype = 'unsigned long', errno: number = Errno.EINVAL): z.ZodNumber => ranged(0, U64_MAX, { ctype, errno });
/** A 64-bit signed long / loff_t. */
export const longArg = (ctype = 'long', errno: number = Errno.EINVAL): z.ZodNumber => ranged(S64_MIN, 2 ** 63 - 1, { ctype, errno });
/** A signal number 0.._NSIG-1 (0 probes for existence). */
export const signalArg = (): z.ZodNumber => ranged(0, 64, { ctype: 'int', errno: Errno.EINVAL });

/** A flag word: only the bits of `mask` may be set, else `errno` (EINVAL unless Linux says otherwise). */
export function flagsArg(mask: number, ctype = 'int', errno: number = Errno.EINVAL): z.ZodNumber {
  const schema = z
    .number()
    .int()
    .min(0)
    .max(U32_MAX)
    .refine((value) => (value & ~mask) === 0, { message: `only bits 0x${mask.toString(16)} are defined` });
  schema.register(argMeta, { ctype, errno, mask });
  return schema;
}

/** The fast-check parameters of an argument schema: what the kernel's entry tests before calling a handler. */
export interface ArgCheck {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly mask: number | undefined;
  readonly errno: number;
  readonly ctype: string;
  readonly userPointer: boolean;
}

/** Read the checks back out of an argument schema built by the helpers above. */
export function argCheckOf(name: string, schema: z.ZodNumber): ArgCheck {
  const meta = argMeta.get(schema);
  if (meta === undefined) throw new Error(`syscall argument '${name}' was not built with an arg helper (no errno registered)`);
  return {
    name,
    min: schema.minValue ?? -Infinity,
    max: schema.maxValue ?? Infinity,
    mask: meta.mask,
    errno: meta.errno,
    ctype: meta.ctype,
    userPointer: meta.userPointer === true,
  };
}
