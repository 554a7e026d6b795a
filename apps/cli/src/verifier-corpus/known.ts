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
    feature: 'helpers missing or checked differently',
    why: 'bpf_snprintf (#165) is not a helper here',
    differences: [
      'snprintf_ok: Linux loads it; here: EINVAL: invalid func unknown#165',
      'snprintf_bad_fmt: Linux refuses it with EINVAL: "Invalid format string"; here EINVAL: "invalid func unknown#165"',
    ],
  },
  {
    kind: 'gap',
    feature: 'linked registers with a constant delta',
    why: 'Linux 6.18.y (the BPF_ADD_CONST32/BPF_ADD_CONST64 backport) keeps `w2 = w1; w2 += -64` linked to w1 with its delta, so `if w2 < -63` bounds w1 too (sync_linked_regs); here an ALU op on a copy breaks the link, the index stays unbounded',
    differences: ['precise_u32_wrap: Linux loads it; here: EACCES: R2 unbounded memory access, make sure to bounds check any such access'],
  },
  {
    kind: 'by design',
    feature: "the simulated kernel's struct layouts",
    why: "the message is Linux's, with the offset of comm in this kernel's task_struct (104) where Linux 6.18's is at 1752; this task_struct does not begin with struct thread_info, so a 16-byte helper read at offset 0 overruns __state, not thread_info.flags",
    differences: [
      'bp_ringbuf_out: Linux refuses it with EACCES: "access beyond the end of member flags (mend:8) in struct thread_info with off 0 size 16"; here EACCES: "access beyond the end of member __state (mend:4) in struct task_struct with off 0 size 16"',
      'bp_comm_byte_var: Linux refuses it with EACCES: "R1 is ptr_task_struct invalid variable offset: off=1752, var_off=(0x0; 0xf)"; here EACCES: "R1 is ptr_task_struct invalid variable offset: off=104, var_off=(0x0; 0xf)"',
    ],
  },
];
