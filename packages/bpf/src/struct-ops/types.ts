/**
 * The kernel's struct_ops types as data (Linux's `struct bpf_struct_ops` and the bpf_struct_ops_desc
 * bpf_struct_ops_init builds from the kernel's BTF): the ops struct a subsystem lets BPF programs implement, its
 * members (function pointers with their C prototypes, and plain fields), which arguments may be NULL (Linux's
 * `__nullable` stub arguments), and the callbacks into the subsystem (check_member, init_member, reg, unreg,
 * update, validate, the verifier's btf_struct_access for writes, the test run). The BTF (`struct <name>` and the
 * map's value `struct bpf_struct_ops_<name>`) is made from the same data (btf.ts).
 */
import type { BtfAccess } from '@ebpf-sim/verifier';
import type { KernelServices, TcpCongestionControl } from '@ebpf-sim/kernel';
import type { TailCallTarget } from '../runtime/env.js';
import type { BpfRuntime } from '../runtime/runtime.js';

/**
 * What a struct_ops type's reg reaches of the kernel: the runtime its programs run on (the trampoline), the
 * current CPU, kernel memory for the trampoline's argument slots, and the subsystems that take ops (TCP's
 * congestion controls). Absent (a kernel built without them): reg refuses.
 */
export interface StructOpsKernel {
  readonly runtime: BpfRuntime;
  readonly k: Pick<KernelServices, 'current' | 'phys'>;
  readonly congestion?: TcpCongestionControl;
}

/** One parameter of an ops member's prototype: its C type and whether a NULL may be passed (`__nullable`). */
export interface StructOpsParam {
  readonly ctype: string;
  readonly nullable?: boolean;
}

/** A member of the ops struct: a function pointer (its prototype) or a plain field (its C type). */
export type StructOpsMember =
  | { readonly name: string; readonly kind: 'func'; readonly ret: string; readonly params: readonly StructOpsParam[] }
  | { readonly name: string; readonly kind: 'field'; readonly ctype: string; readonly size: number; readonly align: number };

/** A structure a struct_ops callback reads or writes (e.g. bpf_dummy_ops_state), laid out by this data. */
export interface StructOpsAuxStruct {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly (readonly [name: string, offset: number, ctype: string])[];
}

/** What check_member sees of the program attaching to a member. */
export interface StructOpsProgFacts {
  readonly sleepable: boolean;
}

/** A BPF_PROG_TEST_RUN on a struct_ops program, as the subsystem's test_run op runs it. */
export interface StructOpsTestRunEnv {
  /** Bytes of user memory at an address (ctx_in, pointers in it), or false on a fault. */
  copyFromUser(address: number, dst: Uint8Array, dstOffset: number, length: number): boolean;
  copyToUser(address: number, src: Uint8Array, srcOffset: number, length: number): boolean;
  /** Kernel memory for the run (the trampoline's argument slots, a state the run copies in and out). */
  kmalloc(size: number): number;
  kfree(address: number): void;
  readonly bytes: Uint8Array;
  /** Run the program on the u64 argument slots at `ctx`: its r0 as a u32, or a string saying how it faulted. */
  run(ctx: number): number | string;
}

/** The test run's inputs: ctx_in and its size, and the member's parameters. */
export interface StructOpsTestRunArgs {
  readonly ctxIn: number;
  readonly ctxSizeIn: number;
  readonly params: readonly StructOpsParam[];
}

/**
 * One filled-in ops struct as the subsystem gets it at reg (a struct_ops map's kvalue.data): the plain members'
 * bytes and the program implementing each function member.
 */
export interface StructOpsInstance {
  /** The ops struct's bytes (function members hold no address here: see {@link program}). */
  readonly kdata: Uint8Array;
  /** Each member's offset in kdata. */
  readonly offsets: readonly number[];
  /** The subsystem's own object made at reg (e.g. the registered tcp_congestion_ops), kept for unreg. */
  registered: unknown;
  /** The program implementing member `member` (its VM program and type), or undefined when it has none. */
  program(member: number): TailCallTarget | undefined;
}

/** A kernel struct_ops type: the ops struct and the subsystem's callbacks (Linux `struct bpf_struct_ops`). */
export interface StructOpsType {
  /** The ops struct's name (`tcp_congestion_ops`, `bpf_dummy_ops`); the map value is `bpf_struct_ops_<name>`. */
  readonly name: string;
  readonly members: readonly StructOpsMember[];
  /** Structs the members' prototypes point to, laid out here (the kernel's own when it has none). */
  readonly auxStructs?: readonly StructOpsAuxStruct[];
  /**
   * check_member: 0 or -errno for a program attaching to member `member` (the verifier logs Linux's
   * "attach to unsupported member" line on a refusal).
   */
  checkMember?(member: StructOpsMember, prog: StructOpsProgFacts): number;
  /**
   * init_member: > 0 when the subsystem took a non-function member itself (copied from `udata` into `kdata`),
   * 0 to leave it to the generic rules, -errno to refuse the update.
   */
  initMember(member: StructOpsMember, offset: number, kdata: Uint8Array, udata: Uint8Array): number;
  /** reg: register the ops with the subsystem (the map update without BPF_F_LINK, or a link's creation): 0 or -errno. */
  reg(ops: StructOpsInstance, kernel: StructOpsKernel | undefined): number;
  unreg(ops: StructOpsInstance, kernel: StructOpsKernel | undefined): void;
  /** update: a link moves from the registered `old` ops to `ops` (absent: EOPNOTSUPP, as Linux without .update). */
  update?(ops: StructOpsInstance, old: StructOpsInstance, kernel: StructOpsKernel | undefined): number;
  /** validate: with BPF_F_LINK, the whole struct checked at update time (absent: nothing to check). */
  validate?(ops: StructOpsInstance): number;
  /** The ops struct's alignment when larger than its members' (tcp_congestion_ops is ____cacheline_aligned_in_smp). */
  readonly align?: number;
  /**
   * The context's BTF pointer types the type's is_valid_access promotes (bpf_tcp_ca_is_valid_access: an
   * argument of type `struct sock *` is a `struct tcp_sock *`).
   */
  readonly promoteArgs?: Readonly<Record<string, string>>;
  /** btf_struct_access for writes through an argument (absent: writes are refused, "only read is supported"). */
  readonly btfStructWrite?: (structName: string, off: number, size: number) => BtfAccess;
  /** The helpers its programs may call (get_func_proto; absent: none). */
  readonly helpers?: readonly number[];
  /** bpf_prog_ops.test_run for its programs (absent: ENOTSUPP). */
  readonly testRun?: (args: StructOpsTestRunArgs, env: StructOpsTestRunEnv) => { readonly errno: number; readonly retval: number };
}
