import { describe, expect, it } from 'vitest';
import { licenseIsGplCompatible } from './index.js';

describe('licenseIsGplCompatible', () => {
  it.each(['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'])('%s is GPL-compatible', (license) => {
    expect(licenseIsGplCompatible(license)).toBe(true);
  });
  it.each(['', 'MIT', 'BSD', 'Proprietary', 'gpl', 'GPL ', 'GPLv2', 'GPL-2.0', 'Dual BSD/GPL\0'])("'%s' is not, as in Linux (exact match only)", (license) => {
    expect(licenseIsGplCompatible(license)).toBe(false);
  });
});
