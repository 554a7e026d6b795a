/**
 * Linux's sched_prio_to_weight (kernel/sched/core.c): the load weight of nice -20..19. Nice 0 is 1024 and each
 * step is about 1.25x, so one nice level is roughly a 10% CPU share difference.
 */
export const SCHED_PRIO_TO_WEIGHT: readonly number[] = [
  /* -20 */ 88761, 71755, 56483, 46273, 36291, /* -15 */ 29154, 23254, 18705, 14949, 11916, /* -10 */ 9548, 7620, 6100, 4904, 3906, /*  -5 */ 3121, 2501, 1991,
  1586, 1277, /*   0 */ 1024, 820, 655, 526, 423, /*   5 */ 335, 272, 215, 172, 137, /*  10 */ 110, 87, 70, 56, 45, /*  15 */ 36, 29, 23, 18, 15,
];

export const NICE_0_LOAD = 1024;

/** Load weight of a nice value (clamped to -20..19). */
export function niceToWeight(nice: number): number {
  const index = Math.min(39, Math.max(0, Math.trunc(nice) + 20));
  return SCHED_PRIO_TO_WEIGHT[index] ?? NICE_0_LOAD;
}
