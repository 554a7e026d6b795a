/**
 * `prog run / dump / show / load` against bpftool's own output on this machine (fixtures/bpftool/expected,
 * recorded by fixtures/bpftool/record.sh): the same lines, with what differs between kernels (ids, load times,
 * durations, JIT sizes) masked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED, SHARED_PRESENT, run } from '../isa/test-helpers.js';
import { CLI_O, FIXTURES, REJECT_O, TMP, expected } from './test-fixtures.js';

const BENCH = join(SHARED, 'bench');
const manifest = (): { programs: Record<string, { xdp: { ret: string } }> } => JSON.parse(readFileSync(join(BENCH, 'manifest.json'), 'utf8')) as never;

/** bpftool's run line with the duration masked. */
const maskDuration = (text: string): string => text.replace(/duration( \(average\))?: \d+ns/g, 'duration$1: Nns');

describe.runIf(SHARED_PRESENT)('prog run over the bench objects', () => {
  it('prints the return value of csum1500 on the bench input as bpftool does, and exits 0', async () => {
    const r = await run('prog', 'run', join(BENCH, 'obj', 'csum1500.xdp.o'), 'data_in', join(BENCH, 'input.bin'));
    expect([r.code, r.err]).toEqual([0, '']);
    expect(maskDuration(r.out)).toBe(maskDuration(expected('csum1500.run.txt')));
    expect(r.out).toBe(`Return value: ${manifest().programs.csum1500?.xdp.ret}, duration: ${/duration: (\d+)ns/.exec(r.out)?.[1]}ns\n`);
  });

  it('every bench object returns the manifest value', async () => {
    for (const [name, p] of Object.entries(manifest().programs)) {
      const r = await run('prog', 'run', `${join(BENCH, 'obj', `${name}.xdp.o`)}:prog`, 'data_in', join(BENCH, 'input.bin'));
      expect([name, r.code, /^Return value: (\d+),/.exec(r.out)?.[1]]).toEqual([name, 0, p.xdp.ret]);
    }
  });

  it('says "(average)" for repeat, prints -j JSON and data_out - as a hex dump, and writes data_out to a file', async () => {
    const obj = join(BENCH, 'obj', 'csum1500.xdp.o');
    const input = join(BENCH, 'input.bin');
    const repeat = await run('prog', 'run', obj, 'data_in', input, 'repeat', '10');
    expect(maskDuration(repeat.out)).toBe(maskDuration(expected('csum1500.run-repeat.txt')));
    const json = await run('prog', 'run', obj, 'data_in', input, '--json');
    expect(json.out.replace(/"duration":\d+/, '"duration":N')).toBe(expected('csum1500.run.json').replace(/"duration":\d+/, '"duration":N'));
    const dump = await run('prog', 'run', obj, 'data_in', input, 'data_out', '-');
    expect(maskDuration(dump.out)).toBe(maskDuration(expected('csum1500.run-data-out.txt')));
    const out = join(TMP, 'out.bin');
    expect((await run('prog', 'run', obj, 'data_in', input, 'data_out', out)).code).toBe(0);
    expect(readFileSync(out)).toEqual(readFileSync(input));
  });
});

describe('prog run, load and show on an object with maps', () => {
  it('runs the program, whose return value is what bpftool printed', async () => {
    const zero = join(TMP, 'zero64');
    writeFileSync(zero, new Uint8Array(64));
    const r = await run('prog', 'run', `${CLI_O}:fill`, 'data_in', zero);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(maskDuration(r.out)).toBe(maskDuration(expected('cli.run.txt')));
  });

  it('prints the verifier log on stderr and exits 1 when the verifier refuses the program', async () => {
    const r = await run('prog', 'run', REJECT_O, 'data_in', CLI_O);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`ebpf-sim prog run: ${REJECT_O}: prog 'unchecked_read': BPF_PROG_LOAD failed: -EACCES`);
    // The kernel's reason, as Linux wrote it (fixtures: reject.load.txt).
    const linux = expected('reject.load.txt');
    for (const line of ['invalid access to packet, off=0 size=4, R3(id=0,off=0,r=0)', 'R3 offset is outside of the packet']) {
      expect(linux).toContain(line);
      expect(lines).toContain(line);
    }
  });

  it('prog show prints the program as bpftool does (ids, times and JIT size masked)', async () => {
    const r = await run('prog', 'show', `${CLI_O}:fill`);
    expect([r.code, r.err]).toEqual([0, '']);
    const mask = (t: string): string =>
      t
        .replace(/^\d+:/gm, 'ID:')
        .replace(/loaded_at \S+/, 'loaded_at T')
        .replace(/jited \d+B/, 'jited NB')
        .replace(/map_ids \d+,\d+/, 'map_ids A,B')
        .replace(/btf_id \d+/, 'btf_id N');
    expect(mask(r.out)).toBe(mask(expected('cli.prog-show.txt')));
    const json = await run('prog', 'show', `${CLI_O}:fill`, '--json');
    const mine = JSON.parse(json.out) as Record<string, unknown>;
    const linux = JSON.parse(expected('cli.prog-show.json')) as Record<string, unknown>;
    expect(Object.keys(mine)).toEqual(Object.keys(linux));
    for (const key of ['type', 'name', 'tag', 'gpl_compatible', 'uid', 'bytes_xlated', 'jited', 'bytes_memlock'])
      expect([key, mine[key]]).toEqual([key, linux[key]]);
  });

  it('prog dump xlated lists the instructions as the kernel rewrote them, with opcodes on request', async () => {
    const r = await run('prog', 'dump', 'xlated', `${CLI_O}:fill`);
    expect([r.code, r.err]).toEqual([0, '']);
    // Linux's listing, its prototype and `; source` lines included (func_info and line_info moved along the kernel's
    // rewrites), map ids and helper addresses masked.
    const mask = (t: string): string => t.replace(/map\[id:\d+\]/g, 'map[id:N]').replace(/call \S+#\d+/g, 'call HELPER');
    expect(mask(r.out)).toBe(mask(expected('cli.xlated.txt')));
    const opcodes = await run('prog', 'dump', 'xlated', `${CLI_O}:fill`, 'opcodes');
    const maskOpcodes = (t: string): string =>
      mask(t)
        .replace(/^( {7}18 \S\S \S\S \S\S) \S\S \S\S \S\S \S\S/gm, '$1 ID')
        .replace(/^ {7}85 .*$/gm, 'CALL');
    expect(maskOpcodes(opcodes.out)).toBe(maskOpcodes(expected('cli.xlated-opcodes.txt')));
  });
});

describe('prog dump xlated with the BTF the program was loaded with', () => {
  const mask = (t: string): string => t.replace(/map\[id:\d+\]/g, 'map[id:N]').replace(/call \S+#\d+/g, 'call HELPER');
  it('linum adds the file, line and column of each source line, as bpftool prints them', async () => {
    const r = await run('prog', 'dump', 'xlated', `${CLI_O}:fill`, 'linum');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(mask(r.out)).toBe(mask(expected('cli.xlated-linum.txt')));
  });
  it('-j gives each instruction its proto, src, file, line_num and line_col fields', async () => {
    const r = await run('prog', 'dump', 'xlated', `${CLI_O}:fill`, 'linum', '--json');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(mask(r.out.trimEnd())).toBe(mask(expected('cli.xlated-linum.json').trimEnd()));
  });
});

describe('prog dump jited', () => {
  it('lists the JIT image as WebAssembly: imports, exports, each function at its byte offsets, opcodes on request', async () => {
    const r = await run('prog', 'dump', 'jited', `${CLI_O}:fill`);
    expect([r.code, r.err]).toEqual([0, '']);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^bpf_prog_[0-9a-f]{16}_fill:$/);
    expect(lines).toContain('; (import "e" "helper" (func (param i32 i32 i32 i32 i32 i32) (result i32)))');
    expect(lines.filter((l) => l.startsWith('; (export "')).map((l) => l.replace(/ \(func \d+\)\)$/, ''))).toEqual(
      expect.arrayContaining(['; (export "run"', '; (export "repeat"', '; (export "resume"']),
    );
    const insns = lines.filter((l) => /^ {0,3}[0-9a-f]+:\t/.test(l));
    expect(insns.length).toBeGreaterThan(50);
    // One paragraph per function: its name and signature, then instructions ending with the body's final `end`.
    const functions = r.out.split('\n\n').slice(1);
    expect(functions.map((f) => f.split('\n')[0]?.replace(/:.*/, ''))).toEqual(expect.arrayContaining(['run', 'repeat', 'resume']));
    for (const f of functions) expect(f.trimEnd().split('\n').at(-1)).toMatch(/^ {0,3}[0-9a-f]+:\tend$/);
    const withOpcodes = await run('prog', 'dump', 'jited', `${CLI_O}:fill`, 'opcodes');
    const opcodeLines = withOpcodes.out.split('\n').filter((l) => /^\t[0-9a-f]{2}( [0-9a-f]{2})*$/.test(l));
    expect(opcodeLines).toHaveLength(insns.length);
  });

  it('writes the module with file FILE (a valid WebAssembly module) and prints JSON with -j', async () => {
    const file = join(TMP, 'fill.wasm');
    const r = await run('prog', 'dump', 'jited', `${CLI_O}:fill`, 'file', file);
    expect([r.code, r.out, r.err]).toEqual([0, '', '']);
    const image = readFileSync(file);
    expect(WebAssembly.validate(image)).toBe(true);
    const json = await run('prog', 'dump', 'jited', `${CLI_O}:fill`, 'opcodes', '--json');
    const functions = JSON.parse(json.out) as {
      name: string;
      proto: string;
      insns: { pc: string; operation: string; operands: string[]; opcodes: string[] }[];
    }[];
    expect(functions.map((f) => f.name)).toEqual(expect.arrayContaining(['run', 'repeat', 'resume']));
    const first = functions[0]?.insns[0];
    expect(first?.pc).toMatch(/^0x[0-9a-f]+$/);
    expect(functions.every((f) => f.insns.at(-1)?.operation === 'end')).toBe(true);
    // The opcodes of all instructions are the image's code bytes: their count is at most the image's length.
    expect(functions.flatMap((f) => f.insns.flatMap((i) => i.opcodes)).length).toBeLessThan(image.length);
    const visual = await run('prog', 'dump', 'jited', `${CLI_O}:fill`, 'visual');
    expect([visual.code, visual.err]).toEqual([2, 'ebpf-sim prog dump: visual is for xlated dumps\n']);
  });
});

describe('prog run of a context-only program', () => {
  it('runs a raw_tp program on its u64 arguments from ctx_in, with no packet (5 + 7 * 2)', async () => {
    const r = await run('prog', 'run', `${CLI_O}:args`, 'ctx_in', join(FIXTURES, 'obj', 'args.ctx.bin'));
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^Return value: 19, duration: \d+ns\n$/);
    // bpftool itself cannot: it passes repeat 1, which Linux refuses for raw_tp (recorded).
    expect(expected('cli.args.run.txt')).toContain('failed to run program: Invalid argument');
    const repeated = await run('prog', 'run', `${CLI_O}:args`, 'ctx_in', join(FIXTURES, 'obj', 'args.ctx.bin'), 'repeat', '2');
    expect([repeated.code, repeated.err]).toEqual([1, 'ebpf-sim prog run: failed to run program: Invalid argument\n']);
  });
});

describe('prog dump xlated visual', () => {
  const maskMaps = (t: string): string => t.replace(/map\[id:\d+\]/g, 'map[id:N]').replace(/call \S+#\d+/g, 'call HELPER');
  it.runIf(SHARED_PRESENT)("draws csum1500's control flow graph exactly as bpftool does", async () => {
    const r = await run('prog', 'dump', 'xlated', join(SHARED, 'bench', 'obj', 'csum1500.xdp.o'), 'visual');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toBe(expected('csum1500.xlated-visual.txt'));
  });
  it("draws cli.o's graph as bpftool does (map ids and helper addresses masked)", async () => {
    const r = await run('prog', 'dump', 'xlated', `${CLI_O}:fill`, 'visual');
    expect(maskMaps(r.out)).toBe(maskMaps(expected('cli.xlated-visual.txt')));
  });
});
