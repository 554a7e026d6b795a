/**
 * A test run's duration in the engine's steady state (the ground issue's rule, as @ebpf-sim/vm's timedTestRun
 * measures): Linux's figure is the time of warm, native code; the simulator's first runs include V8 optimizing
 * the interpreter or tiering up the JIT's WebAssembly. So before the reported run, the program runs untimed on
 * scratch copies of the input until its time per run stops improving, then timed rounds give the time per run
 * of the fastest round. A test run that takes long on its own is its own measure (no rounds).
 *
 * Why the fastest: Linux's timer does not count the time its task spends rescheduled (bpf_test_timer_continue:
 * on need_resched() it leaves the timer, cond_resched()s, and re-enters it: "Handle reschedule without counting
 * the time spent"). A wall clock here counts every moment the host ran someone else; on a loaded machine most
 * rounds include such moments (with a load of 20 on two cores, a median of 10 ms rounds came out 2-4x the
 * undisturbed time, run to run), while short rounds leave some that no other process interrupted. The fastest
 * of many short rounds is the closest a wall clock gets to Linux's measure.
 */
import type { TestRunEnv, TestRunProgram } from './types.js';

/** A context built from the test run's input for warm-up runs, and how to free it. */
export interface ScratchContext {
  readonly ctx: number;
  readonly free: () => void;
}

/** Length of one timed round (short: see above), and the warm-up's bounds, in ns. */
const ROUND_NS = 1e6;
const WARMUP_MIN_NS = 50e6;
const WARMUP_MAX_NS = 300e6;
/** A test run of this many ns or more is timed alone. */
const SELF_TIMED_NS = 100e6;
const TIMED_ROUNDS = 25;

/** Steady-state ns per run, or NaN when the test run is its own measure (long, or a scratch context could not be built). */
export function measureSteadyState(prog: TestRunProgram, repeat: number, cpu: number, env: TestRunEnv, scratch: () => ScratchContext | undefined): number {
  const ctx = scratch();
  if (ctx === undefined) return NaN;
  try {
    const started = env.now();
    let batch = 1;
    let best = Infinity;
    let stale = 0;
    for (;;) {
      const t0 = env.now();
      for (let i = 0; i < batch; i++) if (typeof prog.runRepeat(ctx.ctx, repeat, cpu) === 'string') return NaN;
      const ns = env.now() - t0;
      if (batch === 1 && ns >= SELF_TIMED_NS) return NaN;
      const perRun = ns / (batch * repeat);
      stale = perRun < best * 0.97 ? 0 : stale + 1;
      best = Math.min(best, perRun);
      const elapsed = env.now() - started;
      if ((stale >= 3 && elapsed >= WARMUP_MIN_NS) || elapsed >= WARMUP_MAX_NS) break;
      batch = ns < ROUND_NS / 4 ? batch * 2 : Math.max(1, Math.round((batch * ROUND_NS) / Math.max(ns, 1)));
    }
    let fastest = Infinity;
    for (let r = 0; r < TIMED_ROUNDS; r++) {
      const t0 = env.now();
      for (let i = 0; i < batch; i++) prog.runRepeat(ctx.ctx, repeat, cpu);
      fastest = Math.min(fastest, (env.now() - t0) / (batch * repeat));
    }
    return fastest;
  } finally {
    ctx.free();
  }
}
