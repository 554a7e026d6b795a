import type { RawInsn } from '@ebpf-sim/isa';

/**
 * The registry interface: everything the verifier needs to know about program types, helpers and maps is
 * handed to it as data through these types (the verifier itself holds no table of program types or helpers,
 * like Linux's `bpf_verifier_ops` and `bpf_func_proto`). `@ebpf-sim/bpf` supplies the concrete tables.
 */

/** What a context field holds when a program reads it (Linux: the `reg_type` `is_valid_access` reports). */
export type CtxFieldKind =
  | 'scalar'
  | 'pkt'
  | 'pkt_meta'
  | 'pkt_end'
  | 'btf_id'
  | 'flow_keys'
  // __sk_buff.sk: PTR_TO_SOCK_COMMON_OR_NULL (bpf_skb_is_valid_access).
  | 'sock_common_or_null';

/** Byte width of a converted access: a fixed width, or `access` for the width of the program's own access. */
export type CtxConvertSize = 1 | 2 | 4 | 8 | 'access';

/**
 * One instruction of a context-access conversion (Linux *_convert_ctx_access), with its registers named by
 * role: `ctx` is the register holding the context pointer, `value` the loaded register. A `load` of width
 * `access` reads at the program's own width and at `off` plus the access's offset inside the field (Linux
 * does that for `__sk_buff.cb[]`, whose narrow loads are not widened).
 */
export type CtxConvertInsn =
  /** `value = *(size *)(base + off)`: the first load reads from `ctx`, a chain continues from `value`. */
  | { readonly op: 'load'; readonly base: 'ctx' | 'value'; readonly off: number; readonly size: CtxConvertSize }
  /** `value op= imm` (ALU32 unless `alu64`). */
  | { readonly op: 'and' | 'rsh' | 'lsh' | 'mov'; readonly imm: number; readonly alu64?: boolean }
  /** `if value == imm` / `if value >= imm` (unsigned) / `if value != imm` (64-bit): skip the next `skip` instructions. */
  | { readonly op: 'jeq' | 'jge' | 'jne'; readonly imm: number; readonly skip: number }
  /** `AX = *(size *)(ctx + off)`: a second value in the verifier's scratch register BPF_REG_AX. */
  | { readonly op: 'loadAx'; readonly off: number; readonly size: 1 | 2 | 4 | 8 }
  /** `value += AX` / `value -= AX` (ALU64). */
  | { readonly op: 'addAx' | 'subAx' };

/** A store the program makes into a context field, as the kernel performs it (Linux BPF_EMIT_STORE). */
export interface CtxConvertStore {
  /** Offset of the kernel field the value goes to (plus the access's offset inside the field for `access`). */
  readonly off: number;
  readonly size: CtxConvertSize;
  /** Only values below this are stored; others leave the field as it is (queue_mapping's NO_QUEUE_MAPPING). */
  readonly below?: number;
}

/**
 * How the verifier's rewrite (Linux convert_ctx_accesses) turns an access of a uapi context field into
 * accesses of the kernel object the hook really hands the program. Fields without one are read in place
 * (pt_regs, tracepoint records).
 */
export interface CtxConvert {
  /** The instructions that leave the field's value in the destination register. */
  readonly read: readonly CtxConvertInsn[];
  /** The store of a writable field. */
  readonly write?: CtxConvertStore;
  /**
   * Bytes of the kernel field the read ends with (Linux `target_size`); defaults to the width of the last
   * load. A narrow load (a field with `narrowLoads` whose read has no `access`-width load) is converted as
   * Linux does: the whole field is read, then shifted and masked when the access is narrower than this.
   */
  readonly targetSize?: number;
}

/**
 * One field of a program type's context structure (uapi layout, e.g. `struct xdp_md`). Offsets and sizes are
 * those of the uapi struct the program sees.
 */
export interface CtxField {
  readonly name: string;
  readonly off: number;
  readonly size: number;
  readonly kind: CtxFieldKind;
  /** The program may store into this field. */
  readonly writable?: boolean;
  /** Loads narrower than `size` (at any offset inside the field) are allowed, as for most scalar fields. */
  readonly narrowLoads?: boolean;
  /**
   * Loads (and, when writable, stores) of any width aligned to it anywhere inside the field, each made at its
   * own width and offset (`__sk_buff.cb[]`: bpf_skb_is_valid_access checks only that it stays inside cb[0..4]).
   */
  readonly anyAlignedAccess?: boolean;
  /** The narrowest load `narrowLoads` allows (sk_reuseport_md.eth_protocol: not below skb->protocol's 2 bytes); default 1. */
  readonly minNarrowLoad?: number;
  /** For `btf_id` fields: the BTF type the loaded pointer points to, e.g. `sock`. */
  readonly btfName?: string;
  /** For `flow_keys` fields: the size of the struct the loaded pointer points to (struct bpf_flow_keys). */
  readonly pointeeSize?: number;
  /**
   * The access needs CAP_BPF (Linux bpf_capable() in is_valid_access): `access` any access (cgroup skb's
   * data/data_end), `write` only a store (its tstamp).
   */
  readonly capBpf?: 'access' | 'write';
  /** How the access is rewritten into accesses of the kernel-internal object (Linux convert_ctx_access). */
  readonly convert?: CtxConvert;
}

export interface CtxLayout {
  /** C name of the context structure, e.g. `xdp_md`. */
  readonly structName: string;
  /** Size in bytes of the uapi structure. */
  readonly size: number;
  readonly fields: readonly CtxField[];
  /**
   * Every aligned in-bounds read is allowed and yields a scalar (pt_regs, bpf_perf_event_data's regs,
   * tracepoint records), even where no field is listed.
   */
  readonly anyAlignedRead?: boolean;
  /** `anyAlignedRead` loads start at this offset or above (tracepoint records hide their common header). */
  readonly readableFrom?: number;
  /** Widths allowed for `anyAlignedRead` loads; defaults to 1, 2, 4 and 8. */
  readonly readWidths?: readonly number[];
  /**
   * Every aligned in-bounds store is allowed too, where no field is listed (SYSCALL programs: their context is a
   * copy of user memory, syscall_prog_is_valid_access).
   */
  readonly anyAlignedWrite?: boolean;
}

/** Argument kinds of helper prototypes (Linux `enum bpf_arg_type`, the ones the simulator models). */
export type ArgType =
  | 'anything'
  | 'const_map_ptr'
  | 'ptr_to_map_key'
  | 'ptr_to_map_value'
  | 'ptr_to_uninit_map_value'
  | 'ptr_to_ctx'
  | 'ptr_to_mem' // readable memory, size in the next argument
  | 'ptr_to_mem_or_null'
  | 'ptr_to_uninit_mem' // memory the helper writes, size in the next argument
  | 'const_size'
  | 'const_size_or_zero'
  | 'const_alloc_size_or_zero'
  | 'ptr_to_ringbuf_mem' // a ringbuf record to submit or discard (released)
  | 'ptr_to_spin_lock'
  | 'ptr_to_long'
  | 'ptr_to_int'
  | 'ptr_to_func'
  | 'ptr_to_dynptr' // a dynptr, read only (ARG_PTR_TO_DYNPTR | MEM_RDONLY)
  | 'ptr_to_dynptr_uninit_local' // stack slots a local dynptr is made in (ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_LOCAL | MEM_UNINIT)
  | 'ptr_to_dynptr_uninit_ringbuf' // stack slots a ringbuf dynptr is made in, acquiring a reference (DYNPTR_TYPE_RINGBUF | MEM_UNINIT)
  | 'ptr_to_dynptr_release_ringbuf' // a ringbuf dynptr released (ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE)
  | 'ptr_to_timer' // the struct bpf_timer of a map value (ARG_PTR_TO_TIMER)
  | 'ptr_to_stack_or_null'
  | 'ptr_to_btf_id'
  | 'ptr_to_btf_id_or_null' // a kernel object or NULL (the local storage helpers' owner: task, inode, cgroup)
  | 'ptr_to_btf_id_sock_common' // a socket (ARG_PTR_TO_BTF_ID_SOCK_COMMON: sk_storage_get/delete)
  | 'ptr_to_map_value_or_null' // a value for the map or NULL (the storage helpers' initial value)
  | 'ptr_to_sock_common'; // a socket pointer of any kind (ARG_PTR_TO_SOCK_COMMON: bpf_sk_fullsock, bpf_tcp_sock)

/** Return kinds of helper prototypes (Linux `enum bpf_return_type`). */
export type RetType =
  | 'integer'
  | 'void'
  | 'ptr_to_map_value_or_null'
  | 'ptr_to_ringbuf_mem_or_null'
  | 'ptr_to_btf_id'
  | 'ptr_to_btf_id_or_null'
  | 'ptr_to_mem_or_btf_id'
  // Memory inside a dynptr or NULL, of the size the size argument names (RET_PTR_TO_DYNPTR_MEM_OR_NULL: bpf_dynptr_data).
  | 'ptr_to_dynptr_mem_or_null'
  // Never NULL (RET_PTR_TO_MAP_VALUE: bpf_get_local_storage's cgroup storage exists while the program runs).
  | 'ptr_to_map_value'
  // RET_PTR_TO_SOCKET_OR_NULL, RET_PTR_TO_TCP_SOCK_OR_NULL, RET_PTR_TO_SOCK_COMMON_OR_NULL (bpf_sk_fullsock, bpf_tcp_sock, ...).
  | 'ptr_to_socket_or_null'
  | 'ptr_to_tcp_sock_or_null'
  | 'ptr_to_sock_common_or_null';

/**
 * How a callback-calling helper sets up its callback's frame (Linux's set_callee_state_fn for helpers):
 * `loop` is set_loop_callback_state (bpf_loop: R1 the index, R2 the helper's R3), `map_elem`
 * set_map_elem_callback_state (bpf_for_each_map_elem: R1 the map, R2 its key, R3 its value, R4 the helper's
 * R3), `user_ringbuf` set_user_ringbuf_callback_state (bpf_user_ringbuf_drain: R1 a local dynptr to the
 * sample, R2 the helper's R3). Each callback returns a value in [0, 1].
 */
export type CallbackKind = 'loop' | 'map_elem' | 'user_ringbuf' | 'timer';

/** One helper's prototype (Linux `struct bpf_func_proto`). */
export interface HelperProto {
  /** Linux helper number (`BPF_FUNC_*`). */
  readonly id: number;
  /** Name without the `bpf_` prefix is never used: this is the full C name, e.g. `bpf_map_lookup_elem`. */
  readonly name: string;
  readonly ret: RetType;
  readonly args: readonly ArgType[];
  /** Only GPL-compatible programs may call it. */
  readonly gplOnly?: boolean;
  /** The helper may sleep (bpf_func_proto.might_sleep): only sleepable programs call it, outside RCU sections. */
  readonly mightSleep?: boolean;
  /** The helper may move packet data: every packet pointer is invalid after the call. */
  readonly changesPktData?: boolean;
  /** Map types the map argument may have (names as in {@link MapDesc.type}); absent: any map type. */
  readonly mapTypes?: readonly string[];
  /** For `ptr_to_btf_id` returns: the BTF type name, e.g. `task_struct`. */
  readonly retBtfName?: string;
  /** Tail call: a jump to another program that does not return on success. */
  readonly tailCall?: boolean;
  /** Takes (spin_lock) or drops (spin_unlock) the program's spin lock. */
  readonly lock?: 'acquire' | 'release';
  /** The memory argument is released (ringbuf submit/discard). */
  readonly releases?: boolean;
  /**
   * For a map-value return: a constant in-range key into an array map never misses, so the pointer is not
   * NULL (Linux 6.12+ can_elide_value_nullness, which it applies to bpf_map_lookup_elem).
   */
  readonly constKeyNeverNull?: boolean;
  /**
   * The helper calls the static subprogram its `ptr_to_func` argument names, an unknown number of times
   * (Linux is_sync_callback_calling_function); the kind says what the callback's registers hold.
   */
  readonly callback?: CallbackKind;
  /**
   * R1 (the dynptr's data) must be a map value (Linux 6.18 check_helper_call for bpf_dynptr_from_mem:
   * `Unsupported reg type fp for bpf_dynptr_from_mem data`).
   */
  readonly dataIsMapValue?: boolean;
  /**
   * Linux bpf_func_proto.pkt_access: the helper may be given packet memory (map operations, csum_diff, the socket
   * lookups); any other helper refuses a packet pointer argument (`helper access to the packet is not allowed`).
   */
  readonly pktAccess?: boolean;
}

/** A map as the verifier sees it (Linux: the fields of `struct bpf_map` the verifier reads). */
export interface MapDesc {
  /** Name printed in the log (`map=counts`). */
  readonly name: string;
  /** Map type name as in uapi without the prefix, lower case: `array`, `hash`, `ringbuf`, `prog_array`, ... */
  readonly type: string;
  /** uapi number of the type (`BPF_MAP_TYPE_*`), printed in Linux's messages. */
  readonly typeId: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Offset of a `struct bpf_spin_lock` in the value, when the value has one (BTF in Linux). */
  readonly spinLockOff?: number;
  /** Offset of a `struct bpf_timer` in the value, when the value's BTF has one (Linux map->record->timer_off). */
  readonly timerOff?: number;
  /** Helpers that map types forbid in general (Linux check_map_func_compatibility, the map side). */
  readonly allowedHelpers?: readonly number[];
  /**
   * The map type has a direct value address (Linux `map_ops->map_direct_value_addr`): arrays, so global data.
   * Only a single-element array has one: for others `BPF_PSEUDO_MAP_VALUE` and a read of a frozen value fail
   * with ENOTSUPP, as array_map_direct_value_addr does.
   */
  readonly directValue?: boolean;
  /** The program may not write to the value (`BPF_F_RDONLY_PROG`). */
  readonly readOnly?: boolean;
  /**
   * Present when the map is read-only to programs and frozen (Linux bpf_map_is_rdonly: `BPF_F_RDONLY_PROG`,
   * `BPF_MAP_FREEZE` done, no writable mapping left): the value's `size` bytes (1, 2, 4 or 8) at `off`, as an
   * unsigned little-endian number. A load at a constant offset of a pointer into the value of a map with
   * `directValue` then gives this constant (bpf_map_direct_read in check_mem_access), which is how
   * `const volatile` configuration in `.rodata` makes branches dead. The verifier asks only for
   * `0 <= off`, `off + size <= valueSize`.
   */
  readonly readOnlyValue?: (off: number, size: number) => bigint;
  /**
   * The map type walks its elements for bpf_for_each_map_elem (Linux `map_ops->map_for_each_callback` and
   * `map_set_for_each_callback_args`: arrays and hash tables).
   */
  readonly forEachCallback?: boolean;
  /** For ARRAY_OF_MAPS and HASH_OF_MAPS: the inner map every element must match (Linux `inner_map_meta`). */
  readonly innerMap?: MapDesc;
}

/** Linux's BTF_TYPE_SAFE_TRUSTED, _TRUSTED_OR_NULL, _RCU and _RCU_OR_NULL: how a pointer field stays trusted. */
export type BtfSafeField = 'trusted' | 'trusted_or_null' | 'rcu' | 'rcu_or_null';

/**
 * What a read through the kernel's BTF gives (Linux btf_ctx_access / btf_struct_access): a scalar, a pointer to
 * a kernel struct (PTR_TO_BTF_ID, `trusted` as Linux's PTR_TRUSTED), or a refusal with the lines Linux's
 * bpf_log prints for it. `log` holds lines Linux prints for an accepted access (btf_ctx_access's
 * `func '...' arg0 has btf_id ...`).
 */
export type BtfAccess =
  | { readonly kind: 'scalar'; readonly log?: readonly string[] }
  | {
      readonly kind: 'ptr';
      readonly btfName: string;
      readonly trusted: boolean;
      readonly log?: readonly string[];
      /** The pointer may be NULL (PTR_MAYBE_NULL: a struct_ops argument the subsystem marks `__nullable`). */
      readonly nullable?: boolean;
      /**
       * For a pointer field read through a BTF pointer: the Linux BTF_TYPE_SAFE_* list of its struct the field is
       * on, if any (btf-ptr.ts decides the loaded pointer's flags from it).
       */
      readonly safe?: BtfSafeField;
    }
  | { readonly kind: 'refused'; readonly log: readonly string[]; readonly errno: number }
  /**
   * A pointer field to something not a struct (`const char *filename`): Linux 6.18's btf_struct_walk answers
   * WALK_PTR_UNTRUSTED and the load is PTR_TO_MEM | MEM_RDONLY | PTR_UNTRUSTED of size 0, read through probe loads.
   */
  | { readonly kind: 'untrusted_mem'; readonly log?: readonly string[] };

/**
 * The kernel's BTF as the verifier reads it, a narrow view the bpf subsystem builds from its vmlinux BTF (the
 * verifier holds no BTF reader: layering.json).
 */
export interface KernelBtfView {
  /** btf_struct_access: a read of `size` bytes at `off` of `struct structName` (a field, a pointer field, or a refusal). */
  structAccess(structName: string, off: number, size: number): BtfAccess;
  /**
   * The struct its first member (at offset 0) is, if a struct (btf_struct_ids_match's non-strict walk: a
   * `struct tcp_sock *` passes where a `struct sock *` is expected). Absent: no walk.
   */
  firstMemberStruct?(structName: string): string | undefined;
}

/** A program type (Linux `struct bpf_verifier_ops` plus what `check_return_code` knows). */
export interface ProgramTypeDesc {
  /** Short name as on the command line: `xdp`, `socket_filter`, ... */
  readonly name: string;
  /** uapi number (`BPF_PROG_TYPE_*`). */
  readonly uapiId: number;
  readonly ctx: CtxLayout;
  /** Helpers this type may call (its `*_func_proto`). */
  readonly helpers: ReadonlySet<number>;
  /**
   * The type's own prototypes of helpers whose Linux func_proto differs by program type (the SYSCALL and tracing
   * types' bpf_get_socket_cookie is bpf_get_socket_ptr_cookie_proto, taking a socket pointer): they replace the
   * registry's for this type.
   */
  readonly helperProtos?: ReadonlyMap<number, HelperProto>;
  /** Helpers that need `CAP_PERFMON`/`CAP_SYS_ADMIN` (the privileged part of `bpf_base_func_proto`). */
  readonly privilegedHelpers?: ReadonlySet<number>;
  /**
   * The hook's function returns void (a struct_ops member such as tcp_congestion_ops.cong_avoid): check_return_code
   * reads no R0 at the main program's exit.
   */
  readonly voidReturn?: boolean;
  /** Allowed return value range of the main program, inclusive; absent: any value. */
  readonly retRange?: {
    readonly min: number;
    readonly max: number;
    /** Compare R0's 32-bit bounds (Linux's return_32bit: BPF LSM programs on hooks returning int); else the 64-bit ones. */
    readonly return32?: boolean;
  };
  /** Direct packet access through `data`/`data_end` (Linux may_access_direct_pkt_data). */
  readonly directPacketWrite?: boolean;
  /**
   * Instructions put in front of a program that stores into the packet directly (Linux gen_prologue with
   * `seen_direct_write`: tc un-clones a cloned skb before its data may be written). The program's first
   * instruction follows them; a jump back to it does not run them again.
   */
  readonly directWritePrologue?: readonly RawInsn[];
  /** `BPF_LD | BPF_ABS/IND` legacy packet loads are allowed (socket filters, tc). */
  readonly ldAbs?: boolean;
  /** Unprivileged users may load this type (only socket filters and cgroup skb in Linux). */
  readonly unprivileged?: boolean;
  /**
   * The context is a trampoline's u64 argument slots typed by the attach target's BTF (Linux btf_ctx_access,
   * for TRACING and LSM programs): it decides every context read in place of `ctx.fields`. Context writes are
   * refused.
   */
  readonly btfCtxAccess?: (off: number, size: number) => BtfAccess;
  /**
   * The program type's btf_struct_access for writes through PTR_TO_BTF_ID (struct_ops types that let programs
   * write an argument, e.g. bpf_dummy_ops's state): a scalar for an allowed write, or the refusal. Absent: "only
   * read is supported".
   */
  readonly btfStructWrite?: (structName: string, off: number, size: number) => BtfAccess;
  /**
   * A tracing program type for check_map_prog_compatibility (Linux is_tracing_prog_type: kprobe, tracepoint,
   * perf_event, raw tracepoints): it may not use a map whose value holds a bpf_timer.
   */
  readonly tracingProg?: boolean;
  /**
   * Every helper may take this type's packet pointers (Linux may_access_direct_pkt_data answers true without
   * looking at the helper's pkt_access for CGROUP_SOCKOPT, whose optval is packet memory).
   */
  readonly helpersTakePackets?: boolean;
}

/**
 * What an LD imm64 of a kernel symbol (BPF_PSEUDO_BTF_ID, a `__ksym` extern) loads, as check_pseudo_btf_id
 * resolved it before verification (Linux insn_aux_data.btf_var): read-only memory of a size (a FUNC: size 0; a
 * VAR of a non-struct type: its size), or a pointer to a kernel struct (MEM_PERCPU for a per-CPU variable).
 */
export type KsymDesc = { readonly kind: 'mem'; readonly size: number } | { readonly kind: 'btf'; readonly btfName: string; readonly percpu: boolean };

/**
 * Kfunc flags (include/linux/btf.h KF_*, Linux's values): what a kfunc's BTF_ID_FLAGS entry says about it.
 */
export const KF = {
  ACQUIRE: 1 << 0,
  RELEASE: 1 << 1,
  RET_NULL: 1 << 2,
  TRUSTED_ARGS: 1 << 4,
  SLEEPABLE: 1 << 5,
  DESTRUCTIVE: 1 << 6,
  RCU: 1 << 7,
  ITER_NEW: 1 << 8,
  ITER_NEXT: 1 << 9,
  ITER_DESTROY: 1 << 10,
  RCU_PROTECTED: 1 << 11,
} as const;

/**
 * One kfunc argument as its BTF FUNC_PROTO types it (what check_kfunc_args reads): a scalar, a pointer to a
 * kernel struct (`struct task_struct *`), or a pointer to an open-coded iterator on the stack
 * (`struct bpf_iter_<iter> *`).
 */
export type KfuncArg =
  | { readonly kind: 'scalar'; readonly name: string }
  | { readonly kind: 'btf_id'; readonly name: string; readonly btfName: string; readonly nullable?: boolean }
  | { readonly kind: 'iter'; readonly name: string; readonly iter: string }
  /** A `__ign` parameter (is_kfunc_arg_ignore): not checked at all. */
  | { readonly kind: 'ignore'; readonly name: string }
  /** A `__k` scalar (is_kfunc_arg_constant): a known constant, which the kfunc's typing reads (meta->arg_constant). */
  | { readonly kind: 'const'; readonly name: string }
  /** KF_ARG_PTR_TO_CTX: the program's context (`struct __sk_buff *` in a tc program; bpf_cast_to_kern_ctx's `void *`). */
  | { readonly kind: 'ctx'; readonly name: string }
  /**
   * KF_ARG_PTR_TO_DYNPTR: a `struct bpf_dynptr *`; `__uninit` ones are made by the call, of `dynptrType` (`skb`, `xdp`:
   * Linux DYNPTR_TYPE_SKB/XDP for bpf_dynptr_from_skb/xdp), the others must be initialised (any type).
   */
  | { readonly kind: 'dynptr'; readonly name: string; readonly uninit: boolean; readonly dynptrType?: string }
  /**
   * KF_ARG_PTR_TO_MEM_SIZE: a `void *` buffer and the size after it (the next parameter, which it consumes): `__opt`
   * buffers may be NULL, a `__szk` size must be a known constant (meta->arg_constant).
   */
  | { readonly kind: 'mem_size'; readonly name: string; readonly optional: boolean; readonly constSize: boolean };

/**
 * A kfunc's return as its BTF type says: nothing, a scalar, a pointer to a kernel struct (PTR_TO_BTF_ID), or a
 * pointer to `size` bytes of a scalar type (PTR_TO_MEM | MEM_RDONLY: bpf_iter_num_next's `int *`).
 */
export type KfuncRet =
  | { readonly kind: 'void' }
  | { readonly kind: 'scalar' }
  | { readonly kind: 'btf_id'; readonly btfName: string }
  | { readonly kind: 'mem'; readonly size: number }
  /** bpf_cast_to_kern_ctx: a trusted pointer to the program type's kernel context (`KfuncLookup.kernCtx`). */
  | { readonly kind: 'kern_ctx' }
  /**
   * bpf_rdonly_cast: an untrusted read-only pointer to the struct whose kernel BTF id is the `__k` argument
   * (`KfuncLookup.typeOf`), or read-only memory of size 0 for id 0 (void).
   */
  | { readonly kind: 'rdonly_cast' }
  /**
   * bpf_dynptr_slice(_rdwr): memory of the constant buffer size from the dynptr argument, read-only for
   * bpf_dynptr_slice, writable for the rdwr one where the program type may write packet data.
   */
  | { readonly kind: 'dynptr_slice'; readonly rdwr: boolean };

/** A kfunc (Linux: its FUNC in the kernel's BTF, its BTF_ID_FLAGS and the sets it is registered in). */
export interface KfuncProto {
  readonly name: string;
  /** KF_* flags. */
  readonly flags: number;
  readonly args: readonly KfuncArg[];
  readonly ret: KfuncRet;
  /** Opens or closes an RCU read-side section (bpf_rcu_read_lock / bpf_rcu_read_unlock, Linux's special kfuncs). */
  readonly rcu?: 'lock' | 'unlock';
}

/**
 * What `bpf_call` with BPF_PSEUDO_KFUNC_CALL names (Linux add_kfunc_call and fetch_kfunc_meta): a FUNC of the
 * kernel's BTF, with its prototype when it is a kfunc, and whether the program's type may call it
 * (btf_kfunc_id_set_contains).
 */
export interface KfuncLookup {
  readonly name: string;
  /** Absent: a kernel function that is no kfunc (no set registers it). */
  readonly proto?: KfuncProto;
  readonly allowed: boolean;
  /** The kernel context struct of the program's type (Linux get_kern_ctx_btf_id: bpf_types.h's kern_ctx_type), if any. */
  readonly kernCtx?: string;
  /** What kernel BTF id `id` names, for bpf_rdonly_cast: a struct by name, `void` (id 0), or undefined for anything else. */
  typeOf?(id: number): { readonly kind: 'void' } | { readonly kind: 'struct'; readonly name: string } | undefined;
}

/**
 * What the socket pointers point at, as the program sees it (struct bpf_sock for PTR_TO_SOCKET and, with fewer
 * fields, PTR_TO_SOCK_COMMON; struct bpf_tcp_sock for PTR_TO_TCP_SOCK): their fields and conversions to the
 * kernel's struct sock, read through the pointer register as context fields are through the context (Linux
 * bpf_sock_is_valid_access / bpf_sock_common_is_valid_access / bpf_tcp_sock_is_valid_access and their
 * *_convert_ctx_access). A conversion's `ctx` base is the socket pointer.
 */
export interface SocketLayouts {
  readonly sockCommon: CtxLayout;
  readonly sock: CtxLayout;
  readonly tcpSock: CtxLayout;
}

/** What the verifier asks its caller for. */
export interface VerifierRegistry {
  /** The socket pointers' layouts (absent: every access through a socket pointer is refused). */
  readonly sockets?: SocketLayouts;
  /** The helper with this number, or undefined when Linux has no such helper. */
  helper(id: number): HelperProto | undefined;
  /** The map an LD imm64 pseudo instruction names (`BPF_PSEUDO_MAP_FD`: fd; `MAP_IDX`: index). */
  map(ref: number, how: 'fd' | 'idx'): MapDesc | undefined;
  /**
   * The kernel symbol the LD imm64 (BPF_PSEUDO_BTF_ID) at slot `insn` names, resolved by the caller
   * (check_pseudo_btf_id); absent or undefined: such loads are refused.
   */
  ksym?(insn: number): KsymDesc | undefined;
  /** The kernel's BTF, for loads through PTR_TO_BTF_ID (absent: such loads give an unknown scalar, unwalked). */
  readonly kernelBtf?: KernelBtfView;
  /**
   * The kernel function a kfunc call names: `btfId` in the kernel's BTF (`offset` 0) or in a module's (an
   * fd_array index; no module BTF is modelled). Undefined when the id is no FUNC ("kernel btf_id N is not a
   * function"). Absent: the kernel has no BTF, so no kfunc.
   */
  kfunc?(btfId: number, offset: number): KfuncLookup | undefined;
}
