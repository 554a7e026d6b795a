/** Number spellings shared by the printers and assemblers. */

/** LLVM's signed hex: `0x7`, `-0x1`, `0x0`. */
export function signedHex(value: number | bigint): string {
  const big = BigInt(value);
  return big < 0n ? `-0x${(-big).toString(16)}` : `0x${big.toString(16)}`;
}

/** Signed hex with an explicit `+` for non-negative values (LLVM jump offsets): `+0x1`, `-0x2`. */
export function offsetHex(value: number): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `+0x${value.toString(16)}`;
}

/** Unsigned 32-bit hex of a 32-bit field: `0xffffffff`. */
export function u32Hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/** C's `%+d`: `+0`, `+4`, `-8`. */
export function signedDecimal(value: number): string {
  return value < 0 ? String(value) : `+${value}`;
}
