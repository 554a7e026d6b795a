import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../main.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..', '..', '..');
const OBJ = join(repoRoot, '..', 'shared', 'bench', 'obj');
if (!existsSync(OBJ)) console.warn(`skipping the verify command's object tests: ${OBJ} is absent`);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t), readStdin: () => Promise.resolve('') });
  return { code, out, err };
}

function hexFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sim-verify-'));
  const path = join(dir, 'prog.hex');
  writeFileSync(path, text);
  return path;
}

describe('ebpf-sim verify', () => {
  it.skipIf(!existsSync(OBJ))('accepts an XDP object, type from the section name', async () => {
    const r = await run(['verify', join(OBJ, 'parse_tcp.xdp.o'), '--stats']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/verification time \d+ usec\nstack depth 0\nprocessed 128 insns/);
  });
  it.skipIf(!existsSync(OBJ))('needs --type for the ubpf section and then rejects it like Linux', async () => {
    expect((await run(['verify', join(OBJ, 'empty.ubpf.o')])).code).toBe(2);
    const r = await run(['verify', join(OBJ, 'csum1500.ubpf.o'), '--type', 'xdp']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('R2 !read_ok\nhint: ');
  });
  it('verifies raw bytecode at log level 2', async () => {
    const r = await run(['verify', '--prog-hex', hexFile('b700000001000000\n9500000000000000\n'), '--type', 'socket_filter', '--log-level', '2']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('0: (b7) r0 = 1                        ; R0=1');
  });
  it('exits 1 with the log for a rejected program', async () => {
    const r = await run(['verify', '--prog-hex', hexFile('bf50000000000000 9500000000000000'), '--type', 'xdp']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('R5 !read_ok');
  });
  it('exits 2 on bad input', async () => {
    expect((await run(['verify', '--prog-hex', hexFile('zz'), '--type', 'xdp'])).code).toBe(2);
    expect((await run(['verify', '--prog-hex', hexFile('b700000001000000'), '--type', 'nope'])).code).toBe(2);
    expect((await run(['verify', '--prog-hex', hexFile('b700000001000000')])).code).toBe(2);
    expect((await run(['verify', '/nonexistent.o'])).code).toBe(2);
  });
});
