/**
 * Write errors of the real process: a reader that goes away (EPIPE) ends the command quietly, a full disk
 * (ENOSPC, /dev/full) is one line on stderr and exit status 1. Node reports both as an 'error' event, which
 * nobody handling it turns into a stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ISA_FIXTURES, REPO_ROOT, SHARED, SHARED_PRESENT } from './commands/isa/test-helpers.js';
import { EXIT_BROKEN_PIPE } from './process-io.js';

const BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'ebpf-sim.js');
const BUILT = existsSync(join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js'));
const DEV_FULL = '/dev/full';
if (!BUILT) console.warn('EPIPE/ENOSPC tests skipped: the CLI is not built (pnpm turbo run build --filter=@ebpf-sim/cli...)');
if (!existsSync(DEV_FULL)) console.warn(`ENOSPC tests skipped: ${DEV_FULL} is absent on this system`);

/** Far more output than a pipe buffers (64 KiB): the same objects disassembled many times over. */
const MANY_OBJECTS = Array.from({ length: 40 }, () => ['xdp_counter.bpfel.o', 'tracing.o', 'all_forms.bpfel.o'].map((f) => join(ISA_FIXTURES, f))).flat();

/**
 * Run the bin with its stdout on a pipe whose reader goes away: after the first chunk, as `| head -c 1` does
 * (`readFirst`), or before reading anything, so that even one write meets a closed pipe.
 */
function runIntoClosedPipe(args: readonly string[], readFirst: boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    if (readFirst) child.stdout.once('data', () => child.stdout.destroy());
    else child.stdout.destroy();
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe.skipIf(!BUILT)('a closed pipe (EPIPE)', () => {
  it('disasm of many objects into a reader that stops: quiet exit with the SIGPIPE status', async () => {
    const result = await runIntoClosedPipe(['disasm', ...MANY_OBJECTS], true);
    expect(result).toEqual({ code: EXIT_BROKEN_PIPE, signal: null, stderr: '' });
  });

  it.skipIf(!SHARED_PRESENT)('verify --log-level 2 into a pipe nobody reads any more', async () => {
    const result = await runIntoClosedPipe(['verify', join(SHARED, 'bench', 'obj', 'parse_tcp.xdp.o'), '--log-level', '2'], false);
    expect(result).toEqual({ code: EXIT_BROKEN_PIPE, signal: null, stderr: '' });
  });

  it.skipIf(!SHARED_PRESENT)('prog run ... data_out - (a hex dump) into a pipe nobody reads any more', async () => {
    const bench = join(SHARED, 'bench');
    const result = await runIntoClosedPipe(['prog', 'run', join(bench, 'obj', 'csum1500.xdp.o'), 'data_in', join(bench, 'input.bin'), 'data_out', '-'], false);
    expect(result).toEqual({ code: EXIT_BROKEN_PIPE, signal: null, stderr: '' });
  });
});

describe.skipIf(!BUILT || !existsSync(DEV_FULL))('a full disk (ENOSPC on /dev/full)', () => {
  it.each([['help'], ['disasm', ...MANY_OBJECTS], ['version']])('%s > /dev/full: one line on stderr, exit 1', (...args) => {
    const fd = openSync(DEV_FULL, 'w');
    try {
      const child = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      expect(child.stderr).toBe('ebpf-sim: cannot write to standard output (ENOSPC)\n');
      expect(child.status).toBe(1);
    } finally {
      closeSync(fd);
    }
  });

  it('an error message that cannot be written still exits with a failure status', () => {
    const fd = openSync(DEV_FULL, 'w');
    try {
      const child = spawnSync(process.execPath, [BIN, 'nope'], { stdio: ['ignore', 'pipe', fd], encoding: 'utf8' });
      expect(child.stdout).toBe('');
      expect(child.status).toBe(1);
    } finally {
      closeSync(fd);
    }
  });
});
