/**
 * Kfunc calls (BPF_CALL with src_reg BPF_PSEUDO_KFUNC_CALL, imm the kernel BTF id of a FUNC), as Linux's
 * add_kfunc_call (before the walk) and check_kfunc_call / check_kfunc_args (at each call on each path) check
 * them. The kfuncs, their KF_* flags, argument and return types and the program types allowed to call them
 * arrive as data through `VerifierRegistry.kfunc` (the bpf subsystem reads them from its BTF and kfunc sets).
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { checkSrc, type Env } from './env.js';
import { forEachReg } from './calls.js';
import { iterArg, iterDestroy, iterNew, iterNext } from './iter.js';
import { LoopPoint } from './iter-state.js';
import type { Reg } from './reg.js';
import { RegFlag, RegType, markNotInit, markPointer, markUnknown } from './reg.js';
import { KF, type KfuncArg, type KfuncProto, type VerifierRegistry } from './registry.js';
import { Reject } from './reject.js';
import { tnumIsConst } from './tnum.js';

/** BPF_JMP | BPF_CALL. */
const CALL_CODE = 0x85;
/** BPF_PSEUDO_KFUNC_CALL. */
const PSEUDO_KFUNC_CALL = 2;
/** EPROTO: Linux's answer to a module kfunc (offset > 0) without fd_array. */
const EPROTO = 71;

function isKfuncCall(raw: RawInsn): boolean {
  return raw.code === CALL_CODE && raw.src === PSEUDO_KFUNC_CALL;
}

/**
 * add_subprog_and_kfunc / add_kfunc_call, before the walk: every kfunc call (reachable or not) must name a FUNC
 * of the kernel's BTF, from a privileged, GPL-compatible program.
 */
export function checkKfuncCalls(slots: readonly RawInsn[], registry: VerifierRegistry, privileged: boolean, gpl: boolean): void {
  let first = true;
  for (let i = 0; i < slots.length; i++) {
    const raw = slots[i];
    if (!raw || !isKfuncCall(raw)) continue;
    if (i > 0 && slots[i - 1]?.code === 0x18) continue; // the second slot of an LD imm64
    if (!privileged) {
      throw new Reject('loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN', 'helper-type', { errno: 1, insn: i });
    }
    if (first) {
      // The kfunc table is made at the first call: the license is checked there (errno EINVAL).
      if (!gpl) throw new Reject('cannot call kernel function from non-GPL compatible program', 'gpl', { errno: 22, insn: i });
      first = false;
    }
    if (raw.off < 0) throw new Reject('negative offset disallowed for kernel module function call', 'helper-unknown', { errno: 22, insn: i });
    // A module's BTF is named by an fd_array index; no module BTF is modelled, so no fd_array entry is one.
    if (raw.off > 0) throw new Reject('kfunc offset > 0 without fd_array is invalid', 'helper-unknown', { errno: EPROTO, insn: i });
    if (registry.kfunc === undefined) {
      throw new Reject('calling kernel function is not supported without CONFIG_DEBUG_INFO_BTF', 'helper-unknown', { errno: 22, insn: i });
    }
    if (registry.kfunc(raw.imm, raw.off) === undefined) {
      throw new Reject(`kernel btf_id ${raw.imm >>> 0} is not a function`, 'helper-unknown', { errno: 22, insn: i });
    }
  }
}

/** Whether instruction `raw` is a loop head the verifier converges at (an iterator `_next()` call, may_goto). */
export function loopPointOf(raw: RawInsn, registry: VerifierRegistry): number {
  if (raw.code === 0xe5) return LoopPoint.MAY_GOTO;
  if (!isKfuncCall(raw)) return LoopPoint.NONE;
  const proto = registry.kfunc?.(raw.imm, raw.off)?.proto;
  return proto !== undefined && (proto.flags & KF.ITER_NEXT) !== 0 ? LoopPoint.ITER_NEXT : LoopPoint.NONE;
}

interface KfuncMeta {
  /** The reference an argument holds (the one a release kfunc drops, or an iterator's). */
  refObjId: number;
  /** The register a release kfunc releases, 0 when none. */
  releaseRegno: number;
  /** An iterator argument of `_next()`: its frame and slot. */
  iterFrame: number;
  iterSpi: number;
}

function isNullScalar(reg: Reg): boolean {
  return reg.type === RegType.SCALAR && tnumIsConst(reg.varOff) && reg.varOff.value === 0n;
}

/** is_trusted_reg: a referenced pointer, or one flagged trusted and not untrusted. */
function isTrustedReg(reg: Reg): boolean {
  if (reg.refObjId !== 0) return true;
  return (reg.flags & (RegFlag.TRUSTED | RegFlag.ALLOC)) !== 0 && (reg.flags & RegFlag.UNTRUSTED) === 0;
}

/** check_kfunc_args for a pointer to a kernel struct (KF_ARG_PTR_TO_BTF_ID). */
function checkBtfIdArg(env: Env, proto: KfuncProto, i: number, arg: KfuncArg & { kind: 'btf_id' }, reg: Reg): void {
  const regno = i + 1;
  if (reg.type !== RegType.PTR_TO_BTF_ID) {
    // get_kfunc_ptr_arg_type: not a BTF pointer, so the pointee must be plain data, which a kernel struct is not.
    throw new Reject(`arg#${i} pointer type STRUCT ${arg.btfName} must point to scalar, or struct with scalar`, 'helper-arg', { errno: 22 });
  }
  if ((proto.flags & (KF.TRUSTED_ARGS | KF.RCU)) !== 0 && !isTrustedReg(reg)) {
    if ((proto.flags & KF.RCU) === 0) throw new Reject(`R${regno} must be referenced or trusted`, 'helper-arg', { errno: 22 });
    if ((reg.flags & RegFlag.RCU) === 0) throw new Reject(`R${regno} must be a rcu pointer`, 'helper-arg', { errno: 22 });
  }
  // process_kf_arg_ptr_to_btf_id: a referenced or trusted argument must be the struct itself (strict match).
  if (reg.btfName !== arg.btfName && !structIdsMatch(env, proto, reg, arg.btfName)) {
    throw new Reject(
      `kernel function ${proto.name} args#${i} expected pointer to STRUCT ${arg.btfName} but R${regno} has a pointer to STRUCT ${reg.btfName}`,
      'helper-arg',
      { errno: 22 },
    );
  }
  // check_func_arg_reg_off: a released or trusted object is passed as it was given.
  if ((reg.off !== 0 || !tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) && ((proto.flags & KF.RELEASE) !== 0 || reg.refObjId !== 0)) {
    throw new Reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`, 'ref-release', { errno: 22 });
  }
}

/**
 * btf_struct_ids_match without strict_type_match (Linux 6.18: strict only for acquiring kfuncs and releasing a
 * referenced pointer): a pointer at offset 0 of a struct whose first member is, nested, the expected struct
 * passes (a `struct tcp_sock *` for `struct sock *`).
 */
function structIdsMatch(env: Env, proto: KfuncProto, reg: Reg, want: string): boolean {
  if ((proto.flags & KF.ACQUIRE) !== 0 || ((proto.flags & KF.RELEASE) !== 0 && reg.refObjId !== 0)) return false;
  if (reg.off !== 0 || !tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) return false;
  const view = env.registry.kernelBtf;
  let name: string | undefined = reg.btfName;
  for (let depth = 0; name !== undefined && depth < 8; depth++) {
    if (name === want) return true;
    name = view?.firstMemberStruct?.(name);
  }
  return false;
}

function checkArgs(env: Env, proto: KfuncProto, meta: KfuncMeta): void {
  for (let i = 0; i < proto.args.length; i++) {
    const arg = proto.args[i];
    if (!arg) continue;
    const regno = i + 1;
    const reg = checkSrc(env, regno);
    if (arg.kind === 'scalar') {
      if (reg.type !== RegType.SCALAR) throw new Reject(`R${regno} is not a scalar`, 'helper-arg', { errno: 22 });
      continue;
    }
    const nullable = arg.kind === 'btf_id' && arg.nullable === true;
    if ((isNullScalar(reg) || (reg.flags & RegFlag.MAYBE_NULL) !== 0) && !nullable) {
      throw new Reject(`Possibly NULL pointer passed to trusted arg${i}`, 'null-deref');
    }
    if (reg.refObjId !== 0) {
      meta.refObjId = reg.refObjId;
      if ((proto.flags & KF.RELEASE) !== 0) meta.releaseRegno = regno;
    }
    if (arg.kind === 'btf_id') {
      if (nullable && isNullScalar(reg)) continue;
      checkBtfIdArg(env, proto, i, arg, reg);
      continue;
    }
    // KF_ARG_PTR_TO_ITER (process_iter_arg).
    if ((proto.flags & KF.ITER_NEW) !== 0) {
      iterNew(env, regno, arg.iter);
      continue;
    }
    const it = iterArg(env, regno, arg.iter);
    meta.refObjId = it.st.refObjId;
    if ((proto.flags & KF.ITER_DESTROY) !== 0) {
      releaseRef(env, it.st.refObjId);
      iterDestroy(env, it.frame, it.spi);
    } else {
      meta.iterFrame = it.frame.frameno;
      meta.iterSpi = it.spi;
    }
  }
}

/** release_reference: the reference goes, and every register holding it (or memory derived from it) is invalid. */
function releaseRef(env: Env, ref: number): boolean {
  const idx = env.state.refs.findIndex((r) => r.id === ref);
  if (idx < 0) return false;
  env.state.refs.splice(idx, 1);
  forEachReg(env.state, (r) => {
    if (r.refObjId === ref && r.type !== RegType.PTR_TO_STACK) {
      if (env.privileged) markUnknown(r);
      else markNotInit(r);
    }
  });
  return true;
}

/** check_kfunc_call: a call of the kfunc `insn.imm` on the current path. */
export function checkKfuncCall(env: Env, insn: RawInsn): void {
  const look = env.registry.kfunc?.(insn.imm, insn.off);
  if (look === undefined) throw new Reject(`kernel btf_id ${insn.imm >>> 0} is not a function`, 'helper-unknown', { errno: 22 });
  const proto = look.proto;
  // fetch_kfunc_meta: the program type's kfunc sets (btf_kfunc_id_set_contains) must hold it.
  if (proto === undefined || !look.allowed) throw new Reject(`calling kernel function ${look.name} is not allowed`, 'helper-type');
  if (env.state.activeLock) throw new Reject('function calls are not allowed while holding a lock', 'lock', { errno: 22 });
  const meta: KfuncMeta = { refObjId: 0, releaseRegno: 0, iterFrame: -1, iterSpi: -1 };
  checkArgs(env, proto, meta);
  if ((proto.flags & KF.RELEASE) !== 0) {
    if (meta.releaseRegno === 0) throw new Reject(`release kernel function ${proto.name} expects refcounted PTR_TO_BTF_ID`, 'ref-release', { errno: 22 });
    if (!releaseRef(env, env.reg(meta.releaseRegno).refObjId)) {
      throw new Reject(`kfunc ${proto.name}#${insn.imm} reference has not been acquired before`, 'ref-release', { errno: 22 });
    }
  }
  if (proto.rcu === 'lock') {
    if (env.state.activeRcu) throw new Reject(`nested rcu read lock (kernel function ${proto.name})`, 'lock', { errno: 22 });
    env.state.activeRcu = true;
  } else if (proto.rcu === 'unlock') {
    if (!env.state.activeRcu) throw new Reject(`unmatched rcu read unlock (kernel function ${proto.name})`, 'lock', { errno: 22 });
    env.state.activeRcu = false;
    // Pointers that were safe only inside the section are no longer trusted (Linux: MEM_RCU becomes PTR_UNTRUSTED).
    forEachReg(env.state, (r) => {
      if ((r.flags & RegFlag.RCU) !== 0) r.flags = (r.flags & ~(RegFlag.RCU | RegFlag.MAYBE_NULL)) | RegFlag.UNTRUSTED;
    });
  }
  // Caller-saved registers are clobbered.
  for (let r = 0; r <= 5; r++) {
    markNotInit(env.reg(r));
    env.scratchRegs |= 1 << r;
  }
  const r0 = env.reg(0);
  const ret = proto.ret;
  switch (ret.kind) {
    case 'void':
      break;
    case 'scalar':
      markUnknown(r0);
      break;
    case 'btf_id':
      markPointer(r0, RegType.PTR_TO_BTF_ID);
      r0.btfName = ret.btfName;
      break;
    case 'mem':
      markPointer(r0, RegType.PTR_TO_MEM, RegFlag.RDONLY);
      r0.memSize = ret.size;
      // Memory handed out from a referenced object dies with it (an iterator's element with its iterator).
      r0.refObjId = meta.refObjId;
      break;
  }
  if (ret.kind === 'btf_id' || ret.kind === 'mem') {
    if ((proto.flags & KF.RET_NULL) !== 0) {
      r0.flags |= RegFlag.MAYBE_NULL;
      r0.id = env.newId();
    }
    if ((proto.flags & KF.ACQUIRE) !== 0) {
      const ref = env.newId();
      env.state.refs.push({ id: ref, insn: env.insnIdx });
      if ((proto.flags & KF.RET_NULL) !== 0) r0.id = ref;
      r0.refObjId = ref;
    }
  }
  if ((proto.flags & KF.ITER_NEXT) !== 0 && meta.iterSpi >= 0) {
    iterNext(env, meta.iterFrame, meta.iterSpi, (queuedR0) => {
      queuedR0.flags &= ~RegFlag.MAYBE_NULL;
    });
  }
}
