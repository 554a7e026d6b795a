/**
 * The buffers of the recorded fixture scripts (fixtures/test-run, fixtures/sock-progs), as their C replayers
 * (script-buffers.h) build and print them, so a replay test prints the same lines.
 */

/** A buffer spec of a script: seq:N or zero:N, then ,OFF=VALUE little-endian u32 stores. */
export function scriptBuffer(spec: string): Uint8Array {
  const [base = '', ...stores] = spec.split(',');
  const [kind, n] = base.split(':');
  const bytes = new Uint8Array(Number(n));
  if (kind === 'seq') bytes.forEach((_, i) => (bytes[i] = i & 0xff));
  const view = new DataView(bytes.buffer);
  for (const store of stores) {
    const [off = '0', value = '0'] = store.split('=');
    view.setUint32(Number(off), Number(BigInt.asUintN(32, BigInt(value))), true);
  }
  return bytes;
}

/** As the replayers print a buffer: hex up to 256 bytes, else the first 64, the length and the FNV-1a hash. */
export function scriptHex(bytes: Uint8Array): string {
  if (bytes.length === 0) return '-';
  const shown = bytes.length <= 256 ? bytes : bytes.subarray(0, 64);
  let text = Array.from(shown, (b) => b.toString(16).padStart(2, '0')).join('');
  if (bytes.length > 256) {
    let h = 2166136261;
    for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
    text += `..${bytes.length}:fnv${h.toString(16).padStart(8, '0')}`;
  }
  return text;
}
