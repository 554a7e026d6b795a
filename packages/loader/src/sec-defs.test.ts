import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { programSection } from './sec-defs.js';

// What libbpf_prog_type_by_name() answered on the recording machine (fixtures/open/record-sec-types.sh).
const RECORDED = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'open', 'sec-types.libbpf.txt'), 'utf8')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => line.split(' '));
/** Rows libbpf gained after the recorded 1.1 (tcx, libbpf 1.3): the recording does not know these names. */
const NEWER_THAN_RECORDING = new Set(['tc/ingress', 'tcx/egress']);

describe("SEC_DEFS against the recorded libbpf's answers", () => {
  it.each(RECORDED.filter(([name]) => !NEWER_THAN_RECORDING.has(name ?? '')))('%s', (name, type, attach) => {
    const found = programSection(name ?? '');
    if (type === '-') expect(found).toBeUndefined();
    else expect([found?.progType, found?.expectedAttachType]).toEqual([Number(type), Number(attach)]);
  });

  it('knows the rows libbpf added after the recording', () => {
    for (const name of NEWER_THAN_RECORDING) expect(RECORDED.find(([n]) => n === name)?.[1]).toBe('-');
    expect(programSection('tc/ingress')?.def.sec).toBe('tc/ingress');
    expect(programSection('tcx/egress')?.def.sec).toBe('tcx/egress');
  });
});
