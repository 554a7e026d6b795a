import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '@ebpf-sim/elf';
import { describe, expect, it } from 'vitest';
import { LICENSE_MAX, readLicense } from './index.js';

const ISA_FIXTURES = join(import.meta.dirname, '..', '..', 'isa', 'fixtures');
const xdpCounter = (): Uint8Array => new Uint8Array(readFileSync(join(ISA_FIXTURES, 'xdp_counter.bpfel.o')));

/** xdp_counter.bpfel.o with its 4-byte license section ("GPL\0") overwritten. */
function withLicenseBytes(text: string): Uint8Array {
  const bytes = xdpCounter();
  const section = readElf(bytes).section('license')!;
  bytes.set(new TextEncoder().encode(text).subarray(0, section.size), section.offset);
  return bytes;
}

describe('readLicense', () => {
  it('reads the license section up to its NUL', () => {
    expect(readLicense(readElf(xdpCounter()))).toBe('GPL');
    expect(readLicense(readElf(withLicenseBytes('BS\0\0')))).toBe('BS');
  });
  it('takes the whole section when it has no NUL, as libbpf copies size + 1 bytes with strlcpy', () => {
    expect(readLicense(readElf(withLicenseBytes('MITx')))).toBe('MITx');
  });
  it("is '' without a license section", () => {
    expect(readLicense(readElf(new Uint8Array(readFileSync(join(ISA_FIXTURES, 'all_forms.bpfel.o')))))).toBe('');
  });
  it("keeps at most libbpf's 63 characters", () => {
    const obj = readElf(xdpCounter());
    const license = obj.section('license')!;
    const long = new TextEncoder().encode(`${'Dual BSD/GPL '.repeat(8)}\0`);
    const stretched = { ...obj, section: (name: string) => (name === 'license' ? { ...license, size: long.length, data: long } : obj.section(name)) };
    expect(readLicense(stretched)).toBe('Dual BSD/GPL '.repeat(8).slice(0, LICENSE_MAX));
    expect(LICENSE_MAX).toBe(63);
  });
});
