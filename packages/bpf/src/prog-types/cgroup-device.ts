/**
 * BPF_PROG_TYPE_CGROUP_DEVICE (kernel/bpf/cgroup.c cgroup_dev_is_valid_access, cgroup_dev_func_proto; Linux
 * 6.18). The context is struct bpf_cgroup_dev_ctx itself (Linux has no conversion for it): read-only, whole
 * u32 loads except `access_type`, which may be read narrower. A program returns 0 (deny) or 1 (allow).
 */
import { BPF_CGROUP_DEV_CTX, BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { CGROUP_COMMON } from './cgroup-sock.js';
import { defineProgType } from './define.js';
import { scalar } from './sock.js';

export const CGROUP_DEVICE = defineProgType(
  {
    name: 'cgroup_device',
    uapiId: BPF_PROG_TYPE.CGROUP_DEVICE,
    ctx: {
      structName: 'bpf_cgroup_dev_ctx',
      size: BPF_CGROUP_DEV_CTX.size,
      fields: [
        scalar('access_type', BPF_CGROUP_DEV_CTX.access_type, undefined, { narrow: true }),
        scalar('major', BPF_CGROUP_DEV_CTX.major, undefined),
        scalar('minor', BPF_CGROUP_DEV_CTX.minor, undefined),
      ],
    },
    retRange: { min: 0, max: 1 },
  },
  CGROUP_COMMON,
);
