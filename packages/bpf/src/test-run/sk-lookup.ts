/**
 * bpf_prog_test_run_sk_lookup (net/bpf/test_run.c, Linux 6.18): ctx_in is a struct bpf_sk_lookup describing the
 * packet (family, protocol, addresses, ports); `sk`, `ingress_ifindex` and anything past `local_port` must be 0,
 * the family AF_INET or AF_INET6, the local port at most U16_MAX. No data, flags or cpu. The program runs
 * `repeat` times on a struct bpf_sk_lookup_kern built from it (as the lookup itself builds one); the context goes
 * back to ctx_out with `cookie` 0 (no socket can be selected: bpf_sk_assign is not in this kernel).
 */
import { BPF_SK_LOOKUP_KERN } from '@ebpf-sim/kernel';
import { AF, BPF_SK_LOOKUP, Errno, IN6_ADDR_SIZE } from '@ebpf-sim/uapi';
import { writePtr } from '../net/xdp.js';
import { TestRunAllocations, bpfTestRun, ctxFinish, ctxInit, testFinish } from './common.js';
import type { TestRunOp } from './types.js';

const U16_MAX = 0xffff;

export const testRunSkLookup: TestRunOp = (prog, attr, env, out) => {
  if (attr.flags !== 0 || attr.cpu !== 0 || attr.batch_size !== 0) return -Errno.EINVAL;
  if (attr.data_in !== 0 || attr.data_size_in !== 0 || attr.data_out !== 0 || attr.data_size_out !== 0) return -Errno.EINVAL;
  const user = ctxInit(attr, env, BPF_SK_LOOKUP.size);
  if (typeof user === 'number') return user;
  if (user === null) return -Errno.EINVAL;
  const u = new DataView(user.buffer);
  if (u.getBigUint64(BPF_SK_LOOKUP.sk, true) !== 0n) return -Errno.EINVAL;
  // range_is_zero from the end of local_port: ingress_ifindex and the padding.
  if (user.subarray(BPF_SK_LOOKUP.local_port + 4).some((byte) => byte !== 0)) return -Errno.EINVAL;
  const localPort = u.getUint32(BPF_SK_LOOKUP.local_port, true);
  if (localPort > U16_MAX) return -Errno.ERANGE;
  const family = u.getUint32(BPF_SK_LOOKUP.family, true) & 0xffff;
  if (family !== AF.INET && family !== AF.INET6) return -Errno.EAFNOSUPPORT;

  const allocs = new TestRunAllocations(env);
  try {
    const K = BPF_SK_LOOKUP_KERN;
    const kern = allocs.kzalloc(K.size);
    if (kern < 0) return -Errno.ENOMEM;
    const view = env.phys.view;
    view.setUint16(kern + K.family, family, true);
    view.setUint16(kern + K.protocol, u.getUint32(BPF_SK_LOOKUP.protocol, true) & 0xffff, true);
    view.setUint16(kern + K.dport, localPort, true);
    // remote_port holds the port in network order in its low two bytes: copied as it is.
    view.setUint16(kern + K.sport, u.getUint16(BPF_SK_LOOKUP.remote_port, true), true);
    if (family === AF.INET) {
      view.setUint32(kern + K.v4_daddr, u.getUint32(BPF_SK_LOOKUP.local_ip4, true), true);
      view.setUint32(kern + K.v4_saddr, u.getUint32(BPF_SK_LOOKUP.remote_ip4, true), true);
    } else {
      // Linux points v6.saddr / v6.daddr into the user context's copy; here the two addresses get their own copy.
      const addrs = allocs.kzalloc(2 * IN6_ADDR_SIZE);
      if (addrs < 0) return -Errno.ENOMEM;
      env.phys.bytes.set(user.subarray(BPF_SK_LOOKUP.remote_ip6, BPF_SK_LOOKUP.remote_ip6 + IN6_ADDR_SIZE), addrs);
      env.phys.bytes.set(user.subarray(BPF_SK_LOOKUP.local_ip6, BPF_SK_LOOKUP.local_ip6 + IN6_ADDR_SIZE), addrs + IN6_ADDR_SIZE);
      writePtr(view, kern + K.v6_saddr, addrs);
      writePtr(view, kern + K.v6_daddr, addrs + IN6_ADDR_SIZE);
    }
    // The program cannot change its context (every field is read-only), so warm-up runs may use it as it is.
    const run = bpfTestRun(prog, kern, attr.repeat, env.currentCpu, env, () => ({ ctx: kern, free: () => undefined }));
    if (run.err !== 0) return run.err;
    // No socket was selected: the cookie written back is 0.
    u.setBigUint64(BPF_SK_LOOKUP.cookie, 0n, true);
    const err = testFinish(attr, env, out, new Uint8Array(0), 0, run.retval, run.duration);
    return err === 0 ? ctxFinish(attr, env, out, user) : err;
  } finally {
    allocs.freeAll();
  }
};
