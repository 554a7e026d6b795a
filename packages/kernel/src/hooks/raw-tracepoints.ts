import type { Task } from '../task/task.js';
import type { HookArena } from './arena.js';
import type { HookPoint } from './hook.js';

/**
 * Run a raw tracepoint's programs (`raw_tp:<name>`, include/trace/bpf_probe.h: `__bpf_trace_<template>` casts
 * each TP_PROTO argument to u64 and calls __bpf_trace_run with the array). The context is the hook's u64 slots,
 * `a0`..`a3` in order (a tracepoint has at most four arguments here); pointers are kernel addresses. The caller
 * checks `hook.programs.length` first, so a site with nothing attached costs that one check.
 */
export function fireRawTracepoint(arena: HookArena, hook: HookPoint, cpu: number, task: Task | undefined, a0: number, a1 = 0, a2 = 0, a3 = 0): void {
  const size = hook.ctxSize;
  const w = arena.write;
  const ctx = arena.begin(cpu, size);
  w.u64(ctx, a0);
  if (size > 8) w.u64(ctx + 8, a1);
  if (size > 16) w.u64(ctx + 16, a2);
  if (size > 24) w.u64(ctx + 24, a3);
  arena.fire(hook, ctx, cpu, task);
  arena.end(cpu, size);
}

/**
 * Run a BPF trampoline's programs (`fentry:<fn>` / `fexit:<fn>`): the function's arguments as u64 slots (the
 * hook's context size says how many), and for fexit `ret` in the slot after them, as the x86 trampoline lays
 * out its stack frame (arch/x86/net/bpf_jit_comp.c: save_args, then the return value at the next slot).
 */
export function fireTrampoline(
  arena: HookArena,
  hook: HookPoint,
  cpu: number,
  task: Task | undefined,
  nargs: number,
  ret: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
): void {
  const size = hook.ctxSize;
  const w = arena.write;
  const ctx = arena.begin(cpu, size);
  if (nargs > 0) w.u64(ctx, a0);
  if (nargs > 1) w.u64(ctx + 8, a1);
  if (nargs > 2) w.u64(ctx + 16, a2);
  if (nargs > 3) w.u64(ctx + 24, a3);
  if (nargs > 4) w.u64(ctx + 32, a4);
  if (nargs > 5) w.u64(ctx + 40, a5);
  if (size > 8 * nargs) w.u64(ctx + 8 * nargs, ret);
  arena.fire(hook, ctx, cpu, task);
  arena.end(cpu, size);
}
