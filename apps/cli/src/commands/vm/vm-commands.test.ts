import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../command.js';
import { main } from '../../main.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..', '..', '..');
const SHARED = join(REPO_ROOT, '..', 'shared');
const BENCH = join(SHARED, 'bench');
const TESTS = join(SHARED, 'conformance', 'tests.json');
const CLI_BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'ebpf-sim.js');
const CLI_BUILT = existsSync(join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js'));
if (!existsSync(SHARED)) console.warn(`vm command tests over ../shared skipped: ${SHARED} is absent`);
if (!CLI_BUILT) console.warn('conformance-plugin spawn test skipped: the CLI is not built (pnpm turbo run build --filter=@ebpf-sim/cli...)');

interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function cli(argv: readonly string[], stdin = ''): Promise<Captured> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    readStdin: () => Promise.resolve(stdin),
  };
  const code = await main(argv, io);
  return { code, out, err };
}

/** The runner's encoding of bytes: two lowercase hex digits and two spaces per byte (README §4). */
function runnerHex(hex: string): string {
  return (hex.match(/../g) ?? []).map((b) => `${b}  `).join('');
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ebpf-sim-vm-')), name);
  writeFileSync(path, text);
  return path;
}

interface ConformanceTest {
  readonly name: string;
  readonly program_hex: string;
  readonly mem_hex: string;
  readonly expected_result: string | null;
}

describe('ebpf-sim run', () => {
  it('prints the return value and duration the way bpftool prog run does', async () => {
    const prog = tempFile('p.hex', 'b7 00 00 00 2a 00 00 00\n# r0 = 42; exit\n95 00 00 00 00 00 00 00\n');
    const once = await cli(['run', '--prog-hex', prog]);
    expect(once.code).toBe(0);
    expect(once.out).toMatch(/^Return value: 42, duration: \d+ns\n$/);
    const repeated = await cli(['run', '--prog-hex', prog, '--repeat', '3']);
    expect(repeated.out).toMatch(/^Return value: 42, duration \(average\): \d+ns\n$/);
  });

  it.each(['interp', 'jit'])('--repeat on %s: the N runs start from the input as given and stop at the first fault, naming the run', async (engine) => {
    // *(u32 *)r1 += 1; r0 = that count; a count of 3 calls helper 99, which does not exist.
    const prog = tempFile(
      'count.hex',
      '61 10 00 00 00 00 00 00\n07 00 00 00 01 00 00 00\n63 01 00 00 00 00 00 00\n15 00 01 00 03 00 00 00\n95 00 00 00 00 00 00 00\n85 00 00 00 63 00 00 00\n95 00 00 00 00 00 00 00\n',
    );
    const two = await cli(['run', '--prog-hex', prog, '--mem-hex', '00000000', '--engine', engine, '--repeat', '2']);
    expect(two.out).toMatch(/^Return value: 2, duration \(average\): \d+ns\n$/);
    const five = await cli(['run', '--prog-hex', prog, '--mem-hex', '00000000', '--engine', engine, '--repeat', '5']);
    expect(five.code).toBe(1);
    expect(five.err).toContain('program stopped on run 3 of 5: call to unknown function (insn 5, function #99)');
  });

  it('--budget N: each run may execute N instructions, the N+1st faults with a hint naming the option', async () => {
    // r0 = 1; r0 += 1; exit: three instructions.
    const prog = tempFile('three.hex', 'b700000001000000\n0700000001000000\n9500000000000000\n');
    expect((await cli(['run', '--prog-hex', prog, '--budget', '3'])).out).toMatch(/^Return value: 2, duration: \d+ns\n$/);
    const short = await cli(['run', '--prog-hex', prog, '--budget', '2', '--repeat', '4']);
    expect(short).toMatchObject({ code: 1, out: '' });
    expect(short.err).toMatch(/program stopped on run 1 of 4: execution budget exhausted \(insn 2, after 2 instructions\); hint: .* budget/);
  });

  it('passes the memory in r1 and its length in r2', async () => {
    // r0 = *(u8 *)(r1 + 1) + r2
    const prog = tempFile('m.hex', '71 10 01 00 00 00 00 00\n0f 20 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n');
    const result = await cli(['run', '--prog-hex', prog, '--mem-hex', '01 10 02']);
    expect(result.out).toMatch(/^Return value: 19, /);
  });

  it.skipIf(!existsSync(BENCH))('runs a bench program on input.bin with the manifest result', async () => {
    const manifest = JSON.parse(readFileSync(join(BENCH, 'manifest.json'), 'utf8')) as { programs: Record<string, { ubpf: { ret: string } }> };
    const result = await cli(['run', '--prog-hex', join(BENCH, 'hex', 'parse_tcp.ubpf.hex'), '--data-in', join(BENCH, 'input.bin')]);
    expect(result.out).toContain(`Return value: ${manifest.programs.parse_tcp?.ubpf.ret ?? '?'}, duration`);
  });

  it('reports bad hex with line and column, faults with the instruction', async () => {
    const bad = tempFile('bad.hex', 'b700000000000000\n95000000000000zz\n');
    const parsed = await cli(['run', '--prog-hex', bad]);
    expect(parsed.code).toBe(1);
    expect(parsed.err).toContain('bad.hex:2:15: invalid hex digit');
    // r0 = *(u64 *)(r0 + 0) with r0 = 0: a NULL dereference.
    const nullDeref = tempFile('null.hex', 'b700000000000000\n7900000000000000\n9500000000000000\n');
    const faulted = await cli(['run', '--prog-hex', nullDeref]);
    expect(faulted.code).toBe(1);
    expect(faulted.err).toContain('invalid memory access (insn 1, read of 8 bytes at 0x0)');
    expect((await cli(['run'])).code).toBe(2);
  });
});

describe.skipIf(!existsSync(TESTS))('ebpf-sim conformance-plugin', () => {
  const tests = existsSync(TESTS) ? (JSON.parse(readFileSync(TESTS, 'utf8')) as ConformanceTest[]) : [];

  it('answers every bpf_conformance test like the upstream runner expects (in-process, runner encoding)', async () => {
    const failures: string[] = [];
    for (const test of tests) {
      const argv = ['conformance-plugin', ...(test.mem_hex ? [runnerHex(test.mem_hex)] : [])];
      const result = await cli(argv, `${runnerHex(test.program_hex)}\n`);
      const expected = BigInt(test.expected_result ?? '0');
      const actual = result.code === 0 ? BigInt(`0x${result.out.trim()}`) : null;
      if (actual !== expected)
        failures.push(`${test.name}: expected 0x${expected.toString(16)}, got ${result.code === 0 ? result.out.trim() : `exit ${result.code}: ${result.err}`}`);
    }
    expect(failures).toEqual([]);
    expect(tests).toHaveLength(313);
  });

  it('fails with a message on stderr, a non-zero status and empty stdout', async () => {
    const result = await cli(['conformance-plugin'], runnerHex('7900000000000000'.concat('9500000000000000')));
    expect(result.code).not.toBe(0);
    expect(result.out).toBe('');
    expect(result.err).toContain('invalid memory access');
    const elf = await cli(['conformance-plugin', '--elf'], '');
    expect(elf.code).not.toBe(0);
    expect(elf.out).toBe('');
  });

  it.skipIf(!CLI_BUILT)('works as a spawned process, as the runner drives it', () => {
    for (const name of ['add', 'ldxb', 'lddw', 'call_local', 'callx', 'mem-len']) {
      const test = tests.find((t) => t.name === name);
      if (!test) throw new Error(`no conformance test ${name}`);
      const args = [CLI_BIN, 'conformance-plugin', ...(test.mem_hex ? [runnerHex(test.mem_hex)] : [])];
      const child = spawnSync(process.execPath, args, { input: `${runnerHex(test.program_hex)}\n`, encoding: 'utf8' });
      expect(child.status, `${name}: ${child.stderr}`).toBe(0);
      expect(BigInt(`0x${child.stdout.trim()}`), name).toBe(BigInt(test.expected_result ?? '0'));
    }
  });
});

describe.skipIf(!existsSync(TESTS))('ebpf-sim conformance', () => {
  it('runs the whole suite in-process and prints the runner report', async () => {
    const result = await cli(['conformance']);
    expect(
      result.code,
      result.out
        .split('\n')
        .filter((l) => !l.startsWith('PASS'))
        .join('\n'),
    ).toBe(0);
    expect(result.out).toMatch(/^Test results:\nPASS: "add.data"\n/);
    expect(result.out).toContain('Passed 313 out of 313 tests.');
  });
});

describe.skipIf(!existsSync(BENCH))('ebpf-sim bench', () => {
  it('runs one program, checks it against the manifest and prints JSON rows', async () => {
    const result = await cli(['bench', '--program', 'parse_tcp', '--rounds', '2', '--json']);
    expect(result.code, result.err).toBe(0);
    const rows = JSON.parse(result.out) as Array<{ name: string; ok: boolean; executed: number; nsPerRun: number }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'parse_tcp', ok: true, executed: 82 });
    expect(rows[0]?.nsPerRun).toBeGreaterThan(0);
  });

  it('times with the in-engine repeat loop by default and says so; --method call times one run() per run', async () => {
    const table = await cli(['bench', '--engine', 'jit', '--program', 'empty', '--rounds', '1']);
    expect(table.code, table.err).toBe(0);
    expect(table.out.split('\n')[0]).toContain('in-engine repeat loop (Vm.runRepeat), like BPF_PROG_TEST_RUN');
    const call = await cli(['bench', '--engine', 'jit', '--method', 'call', '--program', 'empty', '--rounds', '1', '--json']);
    expect(JSON.parse(call.out)).toMatchObject([{ name: 'empty', method: 'call', ok: true }]);
    expect((await cli(['bench', '--method', 'loop'])).err).toContain("--method must be one of repeat, call, not 'loop'");
  });

  it('rejects an unknown program and engine', async () => {
    expect((await cli(['bench', '--program', 'nope'])).err).toContain("no bench program 'nope'");
    expect((await cli(['bench', '--engine', 'warp'])).err).toContain('--engine must be one of');
  });
});
