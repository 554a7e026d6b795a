/**
 * The real kernel as the bench's yardstick: on a Linux machine where we are root and bpftool is installed,
 * load a bench object, run it with `bpftool prog run ... repeat N` (BPF_PROG_TEST_RUN) and read the average
 * duration it prints. The machine's speed drifts over a day, so `bpf-bench` measures Linux in the same run as
 * the simulator, and falls back to the bench README's anchors only when Linux cannot be asked.
 *
 * Programs are pinned under a name of ours in /sys/fs/bpf (`ebpf_sim_bench_<pid>_<program>`) and unpinned
 * right after. Node-only (child processes); tests exercise the parser, never the real kernel.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

/** What `bpftool prog run` prints after a run: `Return value: 2, duration (average): 31ns`. */
const RUN_LINE = /^Return value: (\d+), duration \(average\): (\d+)ns$/m;

/** One `bpftool prog run` result. */
export interface LinuxRun {
  readonly retval: number;
  readonly ns: number;
}

/** Parse `bpftool prog run`'s output; null when the line is not there. */
export function parseProgRun(text: string): LinuxRun | null {
  const match = RUN_LINE.exec(text);
  if (match === null) return null;
  return { retval: Number(match[1]), ns: Number(match[2]) };
}

/** Why the real kernel cannot be measured here, or null when it can. */
export function linuxUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (BPF_PROG_LOAD of XDP needs CAP_BPF and CAP_NET_ADMIN)';
  if (!existsSync('/sys/fs/bpf')) return '/sys/fs/bpf is not mounted';
  const probe = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return 'bpftool is not installed (apt-get install bpftool)';
  return null;
}

/**
 * Load `object` (an XDP object of ../shared/bench) into this machine's kernel and run it `rounds` times with
 * `repeat` runs each on `input`; the fastest round's average ns (the machine's noise only ever adds time).
 * Throws with bpftool's own message when a step fails.
 */
export function measureOnLinux(name: string, object: string, input: string, repeat: number, rounds: number): LinuxRun {
  const pin = `/sys/fs/bpf/ebpf_sim_bench_${process.pid}_${name}`;
  const load = spawnSync('bpftool', ['prog', 'load', object, pin], { encoding: 'utf8' });
  if (load.status !== 0) throw new Error(`bpftool prog load ${object}: ${(load.stderr || load.stdout).trim().split('\n').pop() ?? 'failed'}`);
  try {
    let best: LinuxRun | null = null;
    for (let round = 0; round < rounds; round++) {
      const run = spawnSync('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', input, 'repeat', String(repeat)], { encoding: 'utf8' });
      const result = parseProgRun(run.stdout);
      if (run.status !== 0 || result === null) throw new Error(`bpftool prog run ${name}: ${(run.stderr || run.stdout).trim().split('\n').pop() ?? 'failed'}`);
      if (best === null || result.ns < best.ns) best = result;
    }
    if (best === null) throw new Error(`bpftool prog run ${name}: no rounds`);
    return best;
  } finally {
    rmSync(pin, { force: true });
  }
}
