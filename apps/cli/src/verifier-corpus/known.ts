/**
 * Every way the simulated kernel's verdict on a verifier-corpus program differs from Linux 6.18's, grouped by the
 * feature behind it, with why. corpus.test.ts fails on a difference not listed here and on a listed one that went
 * away: when a helper closes a gap, delete its lines (and the group when it empties). A program Linux refuses and
 * the simulated kernel loads can never be listed (the test asserts that separately).
 */

export interface KnownDifference {
  /** `gap`: this kernel does not model it yet; `by design`: the simulated kernel differs on purpose. */
  readonly kind: 'gap' | 'by design';
  readonly feature: string;
  readonly why: string;
  /** compareProgram's lines, one per program. */
  readonly differences: readonly string[];
}

export const KNOWN: readonly KnownDifference[] = [
  {
    kind: 'gap',
    feature: 'kfuncs this kernel does not have',
    why: "the loader resolves `__ksym` kfuncs by name in the kernel BTF, which has the generic set (task acquire/release/from_pid, RCU, bpf_iter_num): bpf_cast_to_kern_ctx, bpf_rdonly_cast and the skb/xdp dynptr kfuncs (bpf_dynptr_from_skb/xdp, bpf_dynptr_slice) are not there yet, so libbpf's lookup fails before the verifier sees the program",
    differences: [
      "kf_cast_kern_ctx_tc: Linux loads it; here: loader: extern (func ksym) 'bpf_cast_to_kern_ctx': not found in kernel or module BTFs",
      "kf2_skb_dynptr_read: Linux loads it; here: loader: extern (func ksym) 'bpf_dynptr_from_skb': not found in kernel or module BTFs",
      "kf2_skb_dynptr_slice: Linux loads it; here: loader: extern (func ksym) 'bpf_dynptr_from_skb': not found in kernel or module BTFs",
      'kf2_skb_dynptr_slice_nocheck: Linux refuses it with EACCES: "R0 invalid mem access \'rdonly_mem_or_null\'"; here the loader: "extern (func ksym) \'bpf_dynptr_from_skb\': not found in kernel or module BTFs"',
      'kf2_skb_dynptr_in_xdp: Linux refuses it with EACCES: "calling kernel function bpf_dynptr_from_skb is not allowed"; here the loader: "extern (func ksym) \'bpf_dynptr_from_skb\': not found in kernel or module BTFs"',
      "kf2_xdp_dynptr_read: Linux loads it; here: loader: extern (func ksym) 'bpf_dynptr_from_xdp': not found in kernel or module BTFs",
      "kf2_xdp_dynptr_flags: Linux loads it; here: loader: extern (func ksym) 'bpf_dynptr_from_xdp': not found in kernel or module BTFs",
      "kf2_rdonly_cast: Linux loads it; here: loader: extern (func ksym) 'bpf_rdonly_cast': not found in kernel or module BTFs",
    ],
  },
  {
    kind: 'gap',
    feature: 'SYSCALL program helpers',
    why: "bpf_copy_from_user (#148) is not a helper of this kernel's SYSCALL type yet (bpf_sys_bpf and bpf_sys_close are); for a socket helper Linux checks the argument type first (get_socket_cookie's ARG_PTR_TO_BTF_ID_SOCK_COMMON), here the helper is unknown to the type",
    differences: ['sys_sleepable_probe: Linux loads it; here: EINVAL: invalid func unknown#148'],
  },
  {
    kind: 'gap',
    feature: 'errno of the refusal',
    why: "the same message as Linux, with EACCES where Linux returns EINVAL: a helper's stack access out of the frame (check_stack_access_within_bounds as check_helper_mem_access reaches it)",
    differences: [
      'probe_read_too_big: Linux refuses it with EINVAL: "invalid write to stack R1 off=-16 size=17"; here EACCES: "invalid write to stack R1 off=-16 size=17"',
      'hash_key_short: Linux refuses it with EINVAL: "invalid read from stack R2 off=-4 size=8"; here EACCES: "invalid read from stack R2 off=-4 size=8"',
    ],
  },
  {
    kind: 'gap',
    feature: 'helpers missing or checked differently',
    why: "bpf_snprintf (#165) is not a helper here; a packet pointer passed as bpf_loop's context Linux refuses as `helper access to the packet is not allowed` (may_access_direct_pkt_data), here as a type mismatch; spin locks in global data (.bss with BTF) are not found",
    differences: [
      'snprintf_ok: Linux loads it; here: EINVAL: invalid func unknown#165',
      'snprintf_bad_fmt: Linux refuses it with EINVAL: "Invalid format string"; here EINVAL: "invalid func unknown#165"',
      'loop_ctx_packet: Linux refuses it with EACCES: "helper access to the packet is not allowed"; here EACCES: "R3 type=pkt expected=fp"',
      "lock_global: Linux loads it; here: EACCES: map 'locks.bss' has no valid bpf_spin_lock",
    ],
  },
  {
    kind: 'gap',
    feature: 'BTF pointers as helper memory',
    why: 'Linux lets a trusted BTF pointer be helper memory (ARG_PTR_TO_MEM takes PTR_TO_BTF_ID, checked by btf_struct_access against the struct: `access beyond the end of member ...`, `bpf_map_lookup_elem() may write into memory pointed by R2 type=trusted_ptr_`); here it is a type mismatch',
    differences: [
      'bp_ringbuf_out: Linux refuses it with EACCES: "access beyond the end of member flags (mend:8) in struct thread_info with off 0 size 16"; here EACCES: "R2 type=trusted_ptr_task_struct expected=fp, pkt, pkt_meta, map_key, map_value, mem"',
      'bp_map_key: Linux refuses it with EACCES: "bpf_map_lookup_elem() may write into memory pointed by R2 type=trusted_ptr_"; here EACCES: "R2 type=trusted_ptr_task_struct expected=fp, pkt, pkt_meta, map_key, map_value, mem"',
    ],
  },
  {
    kind: 'gap',
    feature: 'helper argument type lists',
    why: "Linux 6.18's compatible_reg_types lists more types for ARG_PTR_TO_MEM (`ringbuf_mem, buf, trusted_ptr_`), for ARG_PTR_TO_BTF_ID (`trusted_ptr_, rcu_ptr_`) and spin locks (`ptr_`), and release helpers say `... release func or trusted arg to kfunc`; the simulated lists stop earlier",
    differences: [
      'lookup_key_from_ctx: Linux refuses it with EACCES: "R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_"; here EACCES: "R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem"',
      'comm_ctx_buf: Linux refuses it with EACCES: "R1 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_"; here EACCES: "R1 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem"',
      'rb_submit_mid: Linux refuses it with EINVAL: "R1 must have zero offset when passed to release func or trusted arg to kfunc"; here EACCES: "R1 must have zero offset when passed to release func"',
      'lock_stack: Linux refuses it with EACCES: "R1 type=fp expected=map_value, ptr_"; here EACCES: "R1 type=fp expected=map_value"',
    ],
  },
  {
    kind: 'gap',
    feature: 'bounds messages',
    why: "the refusal is right but the message is another check's: Linux's check_packet_access / check_map_access / check_stack_range_initialized see the unbounded offset first (`R1 offset is outside of the packet`, `R1 unbounded memory access`, `invalid unbounded variable-offset read from stack`), here adjust_ptr_min_max_vals' `value N makes ... pointer be out of bounds` does; precise_u32_wrap (`if (a - 1 >= 63) return` on a u32, then tab[a]) Linux loads, here the index stays unbounded; loop_infinite: Linux's key line is the `old state:` dump after `infinite loop detected`, here the message is the last line",
    differences: ['loop_infinite: Linux refuses it with EINVAL: "old state: R1=0 R10=fp0 fp-8=0000????"; here EINVAL: "infinite loop detected at insn 4"'],
  },
  {
    kind: 'gap',
    feature: 'static subprogram exit without R0',
    why: 'clang leaves R0 unset in a static subprogram whose return value no caller uses (`return 0;` dropped); Linux 6.18 accepts that exit, here it is `R0 !read_ok`',
    differences: ['call_write_caller_stack: Linux loads it; here: EACCES: R0 !read_ok', 'call_tail_from_sub: Linux loads it; here: EACCES: R0 !read_ok'],
  },
  {
    kind: 'gap',
    feature: 'tp_btf arguments and iterator targets',
    why: "sched_process_exec's third argument (struct linux_binprm *bprm) is not typed here (`invalid bpf_context access off=16 size=8`: no BTF for linux_binprm in this kernel), iter/task has no BTF target here (`bpf_iter_task`), and bpf_copy_from_user is not a helper here, so Linux's `helper call might sleep in a non-sleepable prog` is not reached",
    differences: [
      'xdp_var_off_u32: Linux refuses it with EACCES: "R1 offset is outside of the packet"; here EINVAL: "value 4294967295 makes pkt pointer be out of bounds"',
      'var_index_unchecked: Linux refuses it with EACCES: "R1 unbounded memory access, make sure to bounds check any such access"; here EINVAL: "value 34359738360 makes map_value pointer be out of bounds"',
      'stack_var_unbounded: Linux refuses it with EACCES: "invalid unbounded variable-offset read from stack R2"; here EINVAL: "value 4294967295 makes fp pointer be out of bounds"',
      'precise_u32_wrap: Linux loads it; here: EINVAL: value 34359738360 makes map_value pointer be out of bounds',
      'tr_exec_filename: Linux loads it; here: EACCES: invalid bpf_context access off=16 size=8',
      'tr_exec_filename_deref: Linux loads it; here: EACCES: invalid bpf_context access off=16 size=8',
      'tr_exec_bprm_write: Linux refuses it with EACCES: "only read is supported"; here EACCES: "invalid bpf_context access off=16 size=8"',
      'tr_tp_btf_sleepable_helper: Linux refuses it with EINVAL: "helper call might sleep in a non-sleepable prog"; here EINVAL: "invalid func unknown#148"',
      "tr_iter_task: Linux loads it; here: loader: prog 'tr_iter_task': failed to find kernel BTF type ID of 'task': -3",
      "tr_iter_task_nocheck: Linux refuses it with EACCES: \"R1 invalid mem access 'trusted_ptr_or_null_'\"; here the loader: \"prog 'tr_iter_task_nocheck': failed to find kernel BTF type ID of 'task': -3\"",
    ],
  },
  {
    kind: 'by design',
    feature: "the simulated kernel's struct layouts",
    why: "the message is Linux's, with the offset of comm in this kernel's task_struct (104) where Linux 6.18's is at 1752",
    differences: [
      'bp_comm_byte_var: Linux refuses it with EACCES: "R1 is ptr_task_struct invalid variable offset: off=1752, var_off=(0x0; 0xf)"; here EACCES: "R1 is ptr_task_struct invalid variable offset: off=104, var_off=(0x0; 0xf)"',
    ],
  },
];
