import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HookRegistry } from '../hooks/registry.js';
import { tracepointFormat } from './trace-format.js';

/** This machine's Linux 6.18 format files (fixtures/tracefs/record-formats.sh), ID lines removed. */
const recorded = new Map(
  readFileSync(new URL('../../fixtures/tracefs/formats.txt', import.meta.url), 'utf8')
    .split(/^== /m)
    .filter((chunk) => chunk !== '')
    .map((chunk) => [chunk.slice(0, chunk.indexOf('\n')), chunk.slice(chunk.indexOf('\n') + 1)] as const),
);

describe("tracefs format files against Linux 6.18's", () => {
  const hooks = new HookRegistry();
  it('has the recording', () => {
    expect(recorded.size).toBe(11);
  });
  it.each([...recorded.keys()])('%s matches byte for byte, but for its ID', (event) => {
    const hook = hooks.require(event.replace('/', ':'));
    const ours = tracepointFormat(hook.name, hook.id, hook.fields);
    expect(ours).toContain(`\nID: ${hook.id}\n`);
    expect(ours.replace(/^ID: .*\n/m, '')).toBe(recorded.get(event));
  });
});
