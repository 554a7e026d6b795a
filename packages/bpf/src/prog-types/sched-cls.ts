/**
 * BPF_PROG_TYPE_SCHED_CLS (tc_cls_act_is_valid_access, tc_cls_act_func_proto, tc_cls_act_prologue): direct
 * packet read and write, writable mark/priority/tc_index/tc_classid/queue_mapping/cb[]/tstamp, the skb
 * helpers.
 */
import { asm } from '@ebpf-sim/isa';
import { SKB_CLONED_MASK, SK_BUFF } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_PROG_TYPE, TC_ACT, __SK_BUFF } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { defineProgType } from './define.js';
import { SK_BUFF_HWTSTAMP, SK_BUFF_PACKET, SK_BUFF_TSTAMP, skBuffScalars } from './sk-buff.js';

const { And, Call, Exit, JEq, Ldx, Mov, Xor, label, program, R0, R1, R2, R6 } = asm;

/**
 * Linux bpf_unclone_prologue: before a program that writes packet data runs, a cloned skb (whose data other
 * clones share) is made private with bpf_skb_pull_data(skb, 0); if that fails the packet is dropped with
 * `dropVerdict` (TC_ACT_SHOT for tc and lwt_xmit, SK_DROP for sk_skb).
 */
export const uncloneProlog = (dropVerdict: number): ReturnType<typeof program> =>
  program(
    Ldx.b(R6, R1, SK_BUFF.cloned_byte),
    And.imm32(R6, SKB_CLONED_MASK),
    JEq.imm(R6, 0, 'start'),
    Mov.reg(R6, R1),
    Xor.reg(R2, R2),
    Call.helper(BPF_FUNC.skb_pull_data),
    JEq.imm(R0, 0, 'restore'),
    Mov.imm32(R0, dropVerdict),
    Exit(),
    label('restore'),
    Mov.reg(R1, R6),
    label('start'),
  );

/** tc_cls_act_prologue (and lwt_xmit's): a failed un-clone drops the packet with TC_ACT_SHOT. */
export const TC_UNCLONE_PROLOGUE = uncloneProlog(TC_ACT.SHOT);

/** tc_cls_act_verifier_ops: what SCHED_CLS and SCHED_ACT share (Linux gives both the same ops). */
export function tcClsAct(name: string, uapiId: number): ProgramTypeDesc {
  return defineProgType(
    {
      name,
      uapiId,
      ctx: {
        structName: '__sk_buff',
        size: __SK_BUFF.size,
        fields: [
          ...skBuffScalars(new Set(['mark', 'priority', 'tc_index', 'tc_classid', 'queue_mapping']), new Set()),
          ...SK_BUFF_PACKET,
          { ...SK_BUFF_TSTAMP, writable: true },
          SK_BUFF_HWTSTAMP,
        ],
      },
      directPacketWrite: true,
      directWritePrologue: TC_UNCLONE_PROLOGUE,
      ldAbs: true,
    },
    [
      'skb_store_bytes',
      'skb_load_bytes',
      'skb_pull_data',
      'csum_diff',
      'csum_update',
      'l3_csum_replace',
      'l4_csum_replace',
      'clone_redirect',
      'get_cgroup_classid',
      'skb_vlan_push',
      'skb_vlan_pop',
      'skb_change_proto',
      'skb_adjust_room',
      'skb_change_tail',
      'skb_change_head',
      'redirect',
      'get_hash_recalc',
      'set_hash',
      'perf_event_output',
      'get_smp_processor_id',
      'get_socket_cookie',
      'get_socket_uid',
      'fib_lookup',
      'check_mtu',
      'skb_ecn_set_ce',
      'skb_cgroup_id',
    ],
  );
}

export const SCHED_CLS = tcClsAct('sched_cls', BPF_PROG_TYPE.SCHED_CLS);
