/**
 * The real kernel's own verification time, for `verify-bench`: the program is loaded with BPF_PROG_LOAD at
 * log level 4 (BPF_LOG_STATS, so the kernel measures itself and prints `verification time N usec` without
 * writing a per-instruction log) by a small libbpf loader (packages/bpf/fixtures/precise/rawload.c, built
 * with `cc -lbpf` on first use), best of N rounds, in the same run as the simulator's figures. Node-only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../repo.js';

/** uapi BPF_PROG_TYPE_XDP: the bench objects' program type. */
const XDP_PROG_TYPE = 6;
/** BPF_LOG_STATS. */
const LOG_STATS = 4;

/** What rawload prints with more than one round: the best `verification time` in usec, -1 when refused. */
export function parseBestTime(stdout: string): number | null {
  const line = stdout.trim().split('\n').pop() ?? '';
  if (!/^-?\d+$/.test(line)) return null;
  const us = Number(line);
  return us < 0 ? null : us;
}

function loaderSource(): string {
  return join(repoRoot(), 'packages', 'bpf', 'fixtures', 'precise', 'rawload.c');
}

/** Why the kernel cannot be asked here, or null when it can. */
export function kernelUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (BPF_PROG_LOAD of XDP needs CAP_BPF)';
  if (!existsSync(loaderSource())) return `${loaderSource()} is missing`;
  if (!existsSync('/usr/include/bpf/bpf.h')) return 'libbpf headers are not installed (apt-get install libbpf-dev)';
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) return 'no C compiler (cc)';
  return null;
}

let loader: string | null = null;

/** Build the loader once per process; throws with the compiler's message. */
function loaderPath(): string {
  if (loader !== null) return loader;
  const out = join(mkdtempSync(join(tmpdir(), 'ebpf-sim-rawload-')), 'rawload');
  const cc = spawnSync('cc', ['-O2', '-o', out, loaderSource(), '-lbpf'], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc rawload.c: ${(cc.stderr || cc.stdout).trim().split('\n').pop() ?? 'failed'}`);
  loader = out;
  return out;
}

/** The kernel's best verification time of `rounds` loads of the XDP program `bytes`, null when it refuses it. */
export function kernelVerifyTimeUs(bytes: Uint8Array, rounds: number): number | null {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const run = spawnSync(loaderPath(), [String(XDP_PROG_TYPE), String(LOG_STATS), String(Math.max(2, rounds))], { input: hex, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`rawload: ${(run.stderr || run.stdout).trim().split('\n').pop() ?? 'failed'}`);
  return parseBestTime(run.stdout);
}
