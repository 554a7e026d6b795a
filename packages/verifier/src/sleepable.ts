/**
 * Sleepable programs (BPF_F_SLEEPABLE) as check_helper_call sees them (kernel/bpf/verifier.c, Linux 6.18): a helper
 * that may sleep (bpf_func_proto.might_sleep: bpf_copy_from_user, ...) is refused in a program that may not, and
 * in a sleepable one inside a bpf_rcu_read_lock section. Which program types and attach targets may load as
 * sleepable is the bpf subsystem's check (check_attach_btf_id / bpf_check_attach_target, before the verifier).
 */
import type { Env } from './env.js';
import type { HelperProto } from './registry.js';
import { Reject } from './reject.js';

/** check_helper_call's might_sleep checks, after the license check (both EINVAL). */
export function checkMightSleep(env: Env, proto: HelperProto, id: number): void {
  if (proto.mightSleep !== true) return;
  if (!env.sleepable) throw new Reject('helper call might sleep in a non-sleepable prog', 'helper-type', { errno: 22 });
  if (env.state.activeRcu) throw new Reject(`sleepable helper ${proto.name}#${id} in rcu_read_lock region`, 'lock', { errno: 22 });
}
