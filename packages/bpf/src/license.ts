/**
 * The license strings Linux treats as GPL-compatible: include/linux/license.h, license_is_gpl_compatible().
 * BPF_PROG_LOAD sets prog->gpl_compatible from the license user space passes (libbpf: the object's `license`
 * section), and only such programs may call GPL-only helpers.
 */
export const GPL_COMPATIBLE_LICENSES: readonly string[] = ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'];

/** Linux license_is_gpl_compatible(): an exact, case-sensitive match of the whole string. */
export function licenseIsGplCompatible(license: string): boolean {
  return GPL_COMPATIBLE_LICENSES.includes(license);
}
