import type { ElfObject } from '@ebpf-sim/elf';

/** The section libbpf reads the license from: `char LICENSE[] SEC("license") = "GPL";`. */
export const LICENSE_SECTION = 'license';

/** libbpf keeps the license in `char license[64]`: at most 63 characters reach BPF_PROG_LOAD. */
export const LICENSE_MAX = 63;

/**
 * The object's license string, as libbpf's bpf_object__init_license() reads it: the `license` section up to its
 * first NUL, at most {@link LICENSE_MAX} bytes; '' when the object has no such section (libbpf then passes an
 * empty license, which no kernel treats as GPL-compatible). Whether the string is GPL-compatible is the
 * kernel's decision at BPF_PROG_LOAD, not the loader's.
 */
export function readLicense(obj: ElfObject): string {
  const section = obj.section(LICENSE_SECTION);
  if (section === undefined) return '';
  const bytes = section.data.subarray(0, LICENSE_MAX);
  const nul = bytes.indexOf(0);
  let text = '';
  for (const byte of nul < 0 ? bytes : bytes.subarray(0, nul)) text += String.fromCharCode(byte);
  return text;
}
