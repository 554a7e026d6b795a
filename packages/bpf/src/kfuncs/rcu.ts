/**
 * bpf_rcu_read_lock / bpf_rcu_read_unlock (kernel/bpf/helpers.c, common set): the verifier tracks the read-side
 * section (nesting, unmatched unlocks, exits inside it, and RCU pointers becoming untrusted after it). At run
 * time a program runs to completion and the simulated kernel frees nothing under it, so there is no grace period
 * to hold off: the calls do nothing.
 */
import { kfunc, type BpfKfunc } from './define.js';

export const RCU_KFUNCS: readonly BpfKfunc[] = [
  kfunc('bpf_rcu_read_lock', { ret: 'void', args: [] }, 0, 'common', () => () => 0, 'lock'),
  kfunc('bpf_rcu_read_unlock', { ret: 'void', args: [] }, 0, 'common', () => () => 0, 'unlock'),
];
