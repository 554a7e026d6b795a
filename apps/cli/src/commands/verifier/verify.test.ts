import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../main.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..', '..', '..');
const OBJ = join(repoRoot, '..', 'shared', 'bench', 'obj');
const XLATED_CHECK = join(repoRoot, 'packages', 'isa', 'fixtures', 'xlated_check.o');
if (!existsSync(OBJ)) console.warn(`skipping the verify command's object tests: ${OBJ} is absent`);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t), readStdin: () => Promise.resolve('') });
  return { code, out, err };
}

function tempFile(name: string, content: string | Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ebpf-sim-verify-')), name);
  writeFileSync(path, content);
  return path;
}
const hexFile = (text: string): string => tempFile('prog.hex', text);

/**
 * xlated_check.o with its program's first helper call (insn 2, bpf_ktime_get_ns#5) turned into the GPL-only
 * bpf_trace_printk#6, and its license section ("GPL\0", at file offset 0x1a0) replaced.
 */
function printkObject(license: string): string {
  const bytes = new Uint8Array(readFileSync(XLATED_CHECK));
  const xdp = 0xc0;
  expect([bytes[xdp + 16], bytes[xdp + 20]]).toEqual([0x85, 5]);
  bytes[xdp + 20] = 6;
  expect(new TextDecoder().decode(bytes.subarray(0x1a0, 0x1a4))).toBe('GPL\0');
  bytes.set(new TextEncoder().encode(license.padEnd(4, '\0')), 0x1a0);
  return tempFile(`printk-${license}.o`, bytes);
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
  it('links the .text sub-program an object calls (the loader) and verifies both frames', async () => {
    const r = await run(['verify', XLATED_CHECK, '--stats', '--log-level', '2']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('12: (85) call pc+15\ncaller:');
    expect(r.out).toMatch(/stack depth \d+\+\d+\nprocessed \d+ insns/);
  });
  it("takes GPL compatibility from the object's license section, as BPF_PROG_LOAD does", async () => {
    const mit = await run(['verify', printkObject('MIT')]);
    expect(mit.code).toBe(1);
    expect(mit.out).toContain('cannot call GPL-restricted function from non-GPL compatible program');
    // With "GPL" the same call gets past the license check, to its first argument.
    const gpl = await run(['verify', printkObject('GPL')]);
    expect(gpl.code).toBe(1);
    expect(gpl.out).not.toContain('GPL-restricted');
    expect(gpl.out).toContain('R1 type=ctx expected=fp');
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

describe('ebpf-sim verify through the loader (programs with maps and global data)', () => {
  const CLI_O = join(repoRoot, 'apps', 'cli', 'fixtures', 'bpftool', 'obj', 'cli.o');
  const GLOBALS = join(repoRoot, 'packages', 'loader', 'fixtures', 'open', 'maps.bpfel.o');
  const REJECT = join(repoRoot, 'packages', 'loader', 'fixtures', 'open', 'reject.bpfel.o');
  it("accepts a program with maps, printing the kernel's log with its stats", async () => {
    const r = await run(['verify', CLI_O, '--stats']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read \d+\n/m);
    const level2 = await run(['verify', CLI_O, '--log-level', '2']);
    expect(level2.out).toContain('call bpf_map_update_elem#2');
  });
  it("rejects as the kernel does, with the kernel's log (Linux's reason, fixtures/bpftool/expected/reject.load.txt)", async () => {
    const r = await run(['verify', REJECT]);
    expect([r.code, r.err]).toEqual([1, '']);
    expect(r.out).toContain('invalid access to packet, off=0 size=4, R3(id=0,off=0,r=0)\nR3 offset is outside of the packet\n');
  });
  it('picks a section of an object with several programs', async () => {
    const r = await run(['verify', GLOBALS, '--section', 'xdp']);
    expect(r.code, r.err).toBe(0);
  });
});
