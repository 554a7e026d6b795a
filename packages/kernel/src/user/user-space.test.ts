import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('user space in the kernel package', () => {
  it('src/user/ imports nothing but @ebpf-sim/uapi: its programs reach the kernel only through syscalls', () => {
    const dir = import.meta.dirname;
    const files = readdirSync(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const source = readFileSync(join(dir, name), 'utf8');
      const imports = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
      expect(
        imports.filter((spec) => spec !== '@ebpf-sim/uapi'),
        `${name} imports`,
      ).toEqual([]);
    }
  });
});
