/** The struct_ops types this kernel has (Linux registers each with register_bpf_struct_ops). */
import { BPF_DUMMY_OPS } from './dummy-ops.js';
import { TCP_CONGESTION_OPS } from './tcp-ca.js';
import type { StructOpsType } from './types.js';

export const STRUCT_OPS_TYPES: readonly StructOpsType[] = [BPF_DUMMY_OPS, TCP_CONGESTION_OPS];
