/**
 * BPF_PROG_TYPE_CGROUP_SYSCTL (kernel/bpf/cgroup.c sysctl_is_valid_access, sysctl_convert_ctx_access,
 * sysctl_func_proto; Linux 6.18). The context is struct bpf_sysctl over struct bpf_sysctl_kern: `write` (is
 * this a write to the sysctl file) read-only, `file_pos` readable and writable (a whole u32 store), both
 * readable narrower. A program returns 0 (refuse: EPERM) or 1.
 */
import { BPF_SYSCTL_KERN } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, BPF_SYSCTL } from '@ebpf-sim/uapi';
import { CGROUP_COMMON } from './cgroup-sock.js';
import { defineProgType } from './define.js';
import { U32, direct, directRw, scalar } from './sock.js';

export const CGROUP_SYSCTL = defineProgType(
  {
    name: 'cgroup_sysctl',
    uapiId: BPF_PROG_TYPE.CGROUP_SYSCTL,
    ctx: {
      structName: 'bpf_sysctl',
      size: BPF_SYSCTL.size,
      fields: [
        scalar('write', BPF_SYSCTL.write, direct(BPF_SYSCTL_KERN.write, U32), { narrow: true }),
        scalar('file_pos', BPF_SYSCTL.file_pos, directRw(BPF_SYSCTL_KERN.file_pos, U32), { narrow: true, writable: true }),
      ],
    },
    retRange: { min: 0, max: 1 },
  },
  [...CGROUP_COMMON, 'sysctl_get_name', 'sysctl_get_current_value', 'sysctl_get_new_value', 'sysctl_set_new_value', 'strtol', 'strtoul', 'ktime_get_coarse_ns'],
);
