/**
 * What the verifier and PROG_LOAD need of the kernel's BTF for programs that attach by BTF id (kernel/bpf/btf.c,
 * kernel/bpf/verifier.c): bpf_check_attach_target (the target's FUNC or `btf_trace_` typedef, its FUNC_PROTO),
 * btf_ctx_access (a trampoline context read, typed by the target's arguments) and btf_struct_walk (a read
 * through a PTR_TO_BTF_ID). The verifier sees these as data through its registry (KernelBtfView and
 * ProgramTypeDesc.btfCtxAccess); it imports no BTF reader.
 */
import { BTF_KIND_NAMES, BtfKind, type Btf, type BtfType } from '@ebpf-sim/btf';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, Errno, MAX_BPF_FUNC_ARGS } from '@ebpf-sim/uapi';
import type { BtfAccess, BtfSafeField, KernelBtfView, KsymDesc } from '@ebpf-sim/verifier';
import { errorInjectionType, KALLSYMS, KERNEL_ADDRESS_HI, RAW_TRACEPOINT_PROTOS } from '@ebpf-sim/kernel';

/** The typedef prefix of a raw tracepoint's prototype (`btf_trace_##call`, include/trace/bpf_probe.h). */
export const BTF_TRACE_PREFIX = 'btf_trace_';
/** The prefix of a tracepoint event class's function BPF programs run through (`__bpf_trace_##call`, include/trace/bpf_probe.h). */
export const BPF_TRACE_FUNC_PREFIX = '__bpf_trace_';
/** The prefix of the functions BPF LSM programs attach to (kernel/bpf/bpf_lsm.c: `bpf_lsm_##NAME`). */
export const BPF_LSM_PREFIX = 'bpf_lsm_';
/** check_attach_modify_return: besides the error-injection list, fmod_ret may attach to the LSM's `security_` functions. */
const SECURITY_PREFIX = 'security_';

/**
 * Linux 6.18's BTF_TYPE_SAFE_TRUSTED, _TRUSTED_OR_NULL, _RCU and _RCU_OR_NULL lists (kernel/bpf/verifier.c), by
 * struct and pointer field: a pointer read from such a field of a trusted or RCU object is trusted (or RCU),
 * possibly NULL. Copied from the `<struct>__safe_<kind>` types Linux's own vmlinux BTF carries (bpftool btf dump
 * on Linux 6.18). Fields of structs this kernel does not lay out are kept: the table is Linux's.
 */
const SAFE_FIELDS: Readonly<Record<string, Readonly<Record<string, BtfSafeField>>>> = {
  task_struct: { cpus_ptr: 'rcu', cgroups: 'rcu', real_parent: 'rcu', group_leader: 'rcu' },
  cgroup: { kn: 'rcu' },
  css_set: { dfl_cgrp: 'rcu' },
  cgroup_subsys_state: { cgroup: 'rcu' },
  mm_struct: { exe_file: 'rcu_or_null' },
  sk_buff: { sk: 'rcu_or_null' },
  request_sock: { sk: 'rcu_or_null' },
  bpf_iter_meta: { seq: 'trusted' },
  bpf_iter__task: { meta: 'trusted', task: 'trusted' },
  linux_binprm: { file: 'trusted' },
  file: { f_inode: 'trusted' },
  dentry: { d_inode: 'trusted_or_null' },
  socket: { sk: 'trusted_or_null' },
};

/** Where a program attaches, as bpf_check_attach_target found it (prog->aux->attach_func_name / attach_func_proto). */
export interface AttachTarget {
  readonly btfId: number;
  /** attach_func_name: the function, or the tracepoint's name without `btf_trace_`. */
  readonly funcName: string;
  /** The FUNC_PROTO whose parameters are the context's slots. */
  readonly proto: BtfType;
  /** attach_btf_trace: the proto's first parameter (`void *__data`) is not in the context. */
  readonly btfTrace: boolean;
  /** What bpf_log printed on the way (a tracepoint without its event class's function). */
  readonly log: string;
}

/** Linux's per-CPU data section, whose VARs are per-CPU kernel variables (find_btf_percpu_datasec). */
const PERCPU_DATASEC = '.data..percpu';

/** A kernel symbol an LD imm64 names by BTF id, resolved: its address (as two u32 halves) and type for the verifier. */
export interface ResolvedKsym {
  readonly lo: number;
  readonly hi: number;
  readonly desc: KsymDesc;
}

/** A refusal: the lines Linux's bpf_log prints and the errno. */
export interface AttachRefusal {
  readonly log: string;
  readonly errno: number;
}

const kindName = (t: BtfType | undefined): string => (t === undefined ? 'UNKN' : (BTF_KIND_NAMES[t.kind] ?? 'UNKN'));
const isModifier = (k: number): boolean =>
  k === BtfKind.TYPEDEF || k === BtfKind.VOLATILE || k === BtfKind.CONST || k === BtfKind.RESTRICT || k === BtfKind.TYPE_TAG;
const isStruct = (t: BtfType | undefined): boolean => t !== undefined && (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION);

/** The kernel's (vmlinux) BTF, parsed once, with the lookups the attach and access checks make. */
export class KernelBtf implements KernelBtfView {
  private readonly structIds = new Map<string, number>();

  constructor(readonly btf: Btf) {
    for (const t of btf.types) if (isStruct(t) && t.name !== '' && !this.structIds.has(t.name)) this.structIds.set(t.name, t.id);
  }

  private type(id: number): BtfType | undefined {
    return this.btf.types[id];
  }

  /** btf_find_by_name_kind: the first type of `kind` named `name`, or -ENOENT. */
  findByNameKind(name: string, kind: number): number {
    for (const t of this.btf.types) if (t.kind === kind && t.name === name) return t.id;
    return -Errno.ENOENT;
  }

  /** The type after modifiers and typedefs, and the id it has. */
  private skip(id: number): { readonly id: number; readonly t: BtfType | undefined } {
    let t = this.type(id);
    while (t !== undefined && isModifier(t.kind)) {
      id = t.sizeOrType;
      t = this.type(id);
    }
    return { id, t };
  }

  /**
   * bpf_check_attach_target for a vmlinux target (no target program): the FUNC (fentry, fexit, fmod_ret, lsm) or
   * `btf_trace_` typedef (tp_btf) `btfId` names, with Linux's messages; bpf_lsm_verify_prog for LSM programs.
   */
  checkAttachTarget(progType: number, expectedAttachType: number, btfId: number, gpl: boolean): AttachTarget | AttachRefusal {
    const refuse = (line: string, errno = Errno.EINVAL): AttachRefusal => ({ log: line === '' ? '' : `${line}\n`, errno: -errno });
    const t = btfId === 0 ? undefined : this.type(btfId);
    if (t === undefined) return refuse(`attach_btf_id ${btfId} is invalid`);
    if (t.name === '') return refuse(`attach_btf_id ${btfId} doesn't have a name`);
    let tname = t.name;
    let protoOf: BtfType | undefined;
    let fallback = '';
    const btfTrace = progType === BPF_PROG_TYPE.TRACING && expectedAttachType === BPF_ATTACH_TYPE.TRACE_RAW_TP;
    if (btfTrace) {
      if (t.kind !== BtfKind.TYPEDEF) return refuse(`attach_btf_id ${btfId} is not a typedef`);
      if (!tname.startsWith(BTF_TRACE_PREFIX)) return refuse(`attach_btf_id ${btfId} points to wrong type name ${tname}`);
      tname = tname.slice(BTF_TRACE_PREFIX.length);
      // The typedef's FUNC_PROTO has no parameter names: Linux takes the event class's function, found by the
      // tracepoint's bpf_func in kallsyms, and falls back to the typedef when there is none.
      const template = RAW_TRACEPOINT_PROTOS[tname]?.template;
      if (template === undefined) return refuse('');
      const func = this.findByNameKind(`${BPF_TRACE_FUNC_PREFIX}${template}`, BtfKind.FUNC);
      if (func < 0) {
        fallback = `Cannot find btf of tracepoint template, fall back to ${BTF_TRACE_PREFIX}${tname}.\n`;
        const ptr = this.type(t.sizeOrType);
        if (ptr?.kind !== BtfKind.PTR) return refuse('');
        protoOf = this.type(ptr.sizeOrType);
      } else protoOf = this.type(this.type(func)?.sizeOrType ?? 0);
    } else {
      if (t.kind !== BtfKind.FUNC) return refuse(`attach_btf_id ${btfId} is not a function`);
      protoOf = this.type(t.sizeOrType);
    }
    if (protoOf?.kind !== BtfKind.FUNC_PROTO) return refuse('');
    const proto = protoOf;
    if (!btfTrace) {
      // btf_distill_func_proto: at most MAX_BPF_FUNC_ARGS arguments.
      if (proto.params.length > MAX_BPF_FUNC_ARGS) return refuse(`The function ${tname} has ${proto.params.length} arguments. Too many.`);
      // check_attach_modify_return: a function on the error-injection list (ALLOW_ERROR_INJECTION: the syscall
      // wrappers here) or an LSM `security_` function.
      if (expectedAttachType === BPF_ATTACH_TYPE.MODIFY_RETURN && errorInjectionType(tname) === undefined && !tname.startsWith(SECURITY_PREFIX))
        return refuse(`${tname}() is not modifiable`);
    }
    if (progType === BPF_PROG_TYPE.LSM) {
      // bpf_lsm_verify_prog: GPL only, and the target one of the bpf_lsm_<hook> functions.
      if (!gpl) return refuse('LSM programs must have a GPL compatible license');
      if (!tname.startsWith(BPF_LSM_PREFIX)) return refuse(`attach_btf_id ${btfId} points to wrong type name ${tname}`);
    }
    return { btfId, funcName: tname, proto, btfTrace, log: fallback };
  }

  /**
   * btf_ctx_access: a read of the context slot at `off` for a program attached to `target` with
   * `expectedAttachType` (the slot after the arguments is fexit's and LSM's return value). `argsTrusted` is
   * prog_args_trusted (tp_btf, LSM hooks but the few untrusted ones).
   */
  ctxAccess(target: AttachTarget, expectedAttachType: number, argsTrusted: boolean, off: number, size: number): BtfAccess {
    const tname = target.funcName;
    const refused = (line: string): BtfAccess => ({ kind: 'refused', log: [line], errno: Errno.EACCES });
    if (off % 8 !== 0) return refused(`func '${tname}' offset ${off} is not multiple of 8`);
    const arg = Math.floor(off / 8);
    const params = target.btfTrace ? target.proto.params.slice(1) : target.proto.params;
    const nrArgs = params.length;
    if (arg > nrArgs) return refused(`func '${tname}' doesn't have ${arg + 1}-th argument`);
    let typeId: number;
    if (arg === nrArgs) {
      if (expectedAttachType === BPF_ATTACH_TYPE.LSM_MAC || expectedAttachType === BPF_ATTACH_TYPE.TRACE_FEXIT) typeId = target.proto.sizeOrType;
      else if (expectedAttachType === BPF_ATTACH_TYPE.MODIFY_RETURN) {
        typeId = target.proto.sizeOrType;
        const ret = this.skip(typeId).t;
        if (!(ret?.kind === BtfKind.INT && ret.sizeOrType <= 8)) return refused(`ret type ${kindName(ret)} not allowed for fmod_ret`);
      } else return refused(`func '${tname}' doesn't have ${arg + 1}-th argument`);
    } else typeId = params[arg]?.type ?? 0;
    let t = this.type(typeId);
    while (t !== undefined && isModifier(t.kind)) t = this.type(t.sizeOrType);
    // btf_type_is_small_int, any enum, a struct passed by value: a scalar.
    if (t === undefined || t.id === 0 || (t.kind === BtfKind.INT && t.sizeOrType <= 8) || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64 || isStruct(t))
      return { kind: 'scalar' };
    if (t.kind !== BtfKind.PTR) return refused(`func '${tname}' arg${arg} '${t.name}' has type ${kindName(t)}. Only pointer access is allowed`);
    if (size !== 8) return refused(`func '${tname}' size ${size} must be 8`);
    // A pointer to void or to an int is a scalar as far as safety goes: no walking through it.
    const to = this.skip(t.sizeOrType);
    if (to.t === undefined || to.id === 0 || to.t.kind === BtfKind.INT) return { kind: 'scalar' };
    if (to.t === undefined || !isStruct(to.t)) return refused(`func '${tname}' arg${arg} type ${kindName(to.t)} is not a struct`);
    return {
      kind: 'ptr',
      btfName: to.t.name,
      trusted: argsTrusted,
      log: [`func '${tname}' arg${arg} has btf_id ${to.id} type ${kindName(to.t)} '${to.t.name}'`],
    };
  }

  /**
   * __check_pseudo_btf_id against the vmlinux BTF: the VAR or FUNC `id` names, its address from kallsyms and the
   * type the verifier gives it, or Linux's refusal (its log line and -errno).
   */
  pseudoBtfId(id: number): ResolvedKsym | AttachRefusal {
    const t = id > 0 ? this.type(id) : undefined;
    if (t === undefined) return { log: `ldimm64 insn specifies invalid btf_id ${id}.\n`, errno: -Errno.ENOENT };
    if (t.kind !== BtfKind.VAR && t.kind !== BtfKind.FUNC) return { log: `pseudo btf_id ${id} in ldimm64 isn't KIND_VAR or KIND_FUNC\n`, errno: -Errno.EINVAL };
    const symbol = KALLSYMS.get(t.name);
    if (symbol === undefined) return { log: `ldimm64 failed to find the address for kernel symbol '${t.name}'.\n`, errno: -Errno.ENOENT };
    const at = { lo: symbol.lo >>> 0, hi: KERNEL_ADDRESS_HI >>> 0 };
    // A function's address is read-only memory of size 0: it can be compared, never read.
    if (t.kind === BtfKind.FUNC) return { ...at, desc: { kind: 'mem', size: 0 } };
    const percpu = this.btf.types.some((s) => s.kind === BtfKind.DATASEC && s.name === PERCPU_DATASEC && s.secinfo.some((v) => v.type === id));
    const type = this.skip(t.sizeOrType);
    if (percpu || (type.t !== undefined && isStruct(type.t))) return { ...at, desc: { kind: 'btf', btfName: type.t?.name ?? '', percpu } };
    const size = this.btf.sizeOf(t.sizeOrType);
    if (size === undefined) return { log: `ldimm64 unable to resolve the size of type '${type.t?.name ?? ''}': ${-Errno.EINVAL}\n`, errno: -Errno.EINVAL };
    return { ...at, desc: { kind: 'mem', size } };
  }

  /** The struct type of `struct structName`'s member at offset 0, if it is one (btf_struct_ids_match's walk). */
  firstMemberStruct(structName: string): string | undefined {
    const id = this.structIds.get(structName);
    const first = id === undefined ? undefined : this.type(id)?.members?.[0];
    if (first === undefined || first.bitOffset !== 0) return undefined;
    const { t } = this.skip(first.type);
    return t !== undefined && isStruct(t) && t.name !== '' ? t.name : undefined;
  }

  /** btf_struct_access: the walk from `struct structName` at `off` down to the field the read lands in. */
  structAccess(structName: string, off: number, size: number): BtfAccess {
    const id = this.structIds.get(structName);
    if (id === undefined) return { kind: 'refused', log: [`Type '${structName}' is not a struct`], errno: Errno.EINVAL };
    let t = this.type(id);
    for (;;) {
      const walked = this.walk(t, off, size);
      if (walked.kind !== 'struct') return walked.access;
      t = walked.t;
      off = 0;
    }
  }

  /** btf_struct_walk: one struct level; a nested struct at exactly `off` continues the walk in it. */
  private walk(start: BtfType | undefined, off: number, size: number): { kind: 'done'; access: BtfAccess } | { kind: 'struct'; t: BtfType } {
    const done = (access: BtfAccess): { kind: 'done'; access: BtfAccess } => ({ kind: 'done', access });
    const refuse = (line: string, errno: number): { kind: 'done'; access: BtfAccess } => done({ kind: 'refused', log: [line], errno });
    let t = start;
    for (;;) {
      if (t !== undefined && isModifier(t.kind)) t = this.skip(t.sizeOrType).t;
      if (t === undefined || !isStruct(t)) return refuse(`Type '${t?.name ?? ''}' is not a struct`, Errno.EINVAL);
      const tname = t.name;
      if (off + size > t.sizeOrType) {
        // A flexible array of ints or structs at the end may be read past the struct's size.
        const last = t.members[t.members.length - 1];
        const lastType = last === undefined ? undefined : this.skip(last.type).t;
        const moff = (last?.bitOffset ?? 0) / 8;
        if (last === undefined || lastType?.kind !== BtfKind.ARRAY || lastType.arrayNelems !== 0 || off < moff)
          return refuse(`access beyond struct ${tname} at off ${off} size ${size}`, Errno.EACCES);
        const elem = this.skip(lastType.arrayType).t;
        if (elem?.kind === BtfKind.INT) return done({ kind: 'scalar' });
        if (elem === undefined || !isStruct(elem) || elem.sizeOrType === 0)
          return refuse(`access beyond struct ${tname} at off ${off} size ${size}`, Errno.EACCES);
        off = (off - moff) % elem.sizeOrType;
        t = elem;
        continue;
      }
      let found: { kind: 'done'; access: BtfAccess } | { kind: 'struct'; t: BtfType } | { kind: 'again'; t: BtfType; off: number } | undefined;
      for (const member of t.members) {
        let moff = Math.floor(member.bitOffset / 8);
        if (off + size <= moff) break;
        if (member.bitfieldSize !== 0) {
          const endBit = member.bitOffset + member.bitfieldSize;
          if (off <= moff && Math.ceil(endBit / 8) <= off + size) {
            found = done({ kind: 'scalar' });
            break;
          }
          continue;
        }
        if (off < moff) break;
        // __btf_resolve_size: arrays of arrays are one array of their innermost element.
        let m = this.skip(member.type);
        let msize = this.btf.sizeOf(member.type);
        if (msize === undefined) return refuse(`field ${member.name} doesn't have size`, Errno.EFAULT);
        // The end of the whole member: inside an array of ints any read up to it is allowed (skb->cb[] as scratch space).
        const mtrueEnd = moff + msize;
        if (off >= mtrueEnd) continue;
        if (m.t?.kind === BtfKind.ARRAY) {
          // An empty array is skipped; otherwise the walk goes on in the element `off` falls in.
          if (msize === 0) continue;
          let elem = m;
          while (elem.t?.kind === BtfKind.ARRAY) elem = this.skip(elem.t.arrayType);
          const elemSize = this.btf.sizeOf(elem.id) ?? 0;
          if (elemSize === 0) continue;
          moff += Math.floor((off - moff) / elemSize) * elemSize;
          msize = elemSize;
          m = elem;
        }
        if (m.t !== undefined && isStruct(m.t)) {
          found = off === moff ? { kind: 'struct', t: m.t } : { kind: 'again', t: m.t, off: off - moff };
          break;
        }
        if (m.t?.kind === BtfKind.PTR) {
          if (msize !== size || off !== moff) {
            found = refuse(`cannot access ptr member ${member.name} with moff ${moff} in struct ${tname} with off ${off} size ${size}`, Errno.EACCES);
            break;
          }
          const to = this.skip(m.t.sizeOrType).t;
          if (to !== undefined && isStruct(to)) {
            const safe = SAFE_FIELDS[tname]?.[member.name];
            found = done({ kind: 'ptr', btfName: to.name, trusted: safe === 'trusted', ...(safe === undefined ? {} : { safe }) });
            break;
          }
          // Any other pointee: WALK_PTR_UNTRUSTED, read-only untrusted memory (Linux 6.18: bprm->filename[0] loads).
          found = done({ kind: 'untrusted_mem' });
          break;
        }
        // A read inside an int (or an array of them, the scratch space of skb->cb[]) may be any width within it.
        if (off + size > mtrueEnd) {
          found = refuse(`access beyond the end of member ${member.name} (mend:${mtrueEnd}) in struct ${tname} with off ${off} size ${size}`, Errno.EACCES);
          break;
        }
        found = done({ kind: 'scalar' });
        break;
      }
      if (found === undefined) return refuse(`struct ${tname} doesn't have field at offset ${off}`, Errno.EINVAL);
      if (found.kind !== 'again') return found;
      t = found.t;
      off = found.off;
    }
  }
}
