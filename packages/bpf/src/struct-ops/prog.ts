/**
 * check_struct_ops_btf_id (kernel/bpf/verifier.c, Linux 6.18): a STRUCT_OPS program names the ops struct by
 * attach_btf_id and the member it implements by expected_attach_type (the member's index). Refusals come with
 * Linux's log line and errno; an accepted program's context is typed by the member's FUNC_PROTO as
 * btf_ctx_access types it (every pointer argument trusted, `__nullable` ones maybe NULL), and it gets the type's
 * helpers and its btf_struct_access for writes.
 */
import { Errno } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { ENOTSUPP } from '../errno.js';
import type { StructOpsDesc, StructOpsTable } from './registry.js';

/** A refusal before the verifier ran: its log and -errno. */
export interface StructOpsRefusal {
  readonly log: string;
  readonly program: number;
}

/** What the program keeps of its member: the type, the member's index and its parameters (test runs, map updates). */
export interface StructOpsProgInfo {
  readonly desc: StructOpsDesc;
  readonly member: number;
}

/** Any value past the uapi attach types: btf_ctx_access gives a struct_ops member no return-value slot. */
const NO_ATTACH_TYPE = -1;

export function checkStructOpsBtfId(
  table: StructOpsTable | undefined,
  base: ProgramTypeDesc,
  attachBtfId: number,
  memberIdx: number,
  facts: { readonly gpl: boolean; readonly sleepable: boolean },
): { readonly desc: ProgramTypeDesc; readonly info: StructOpsProgInfo } | StructOpsRefusal {
  const refuse = (line: string, errno: number): StructOpsRefusal => ({ log: line === '' ? '' : `${line}\n`, program: -errno });
  if (!facts.gpl) return refuse('struct ops programs must have a GPL compatible license', Errno.EINVAL);
  if (attachBtfId === 0 || table === undefined) return refuse('', ENOTSUPP);
  const desc = table.find(attachBtfId);
  if (desc === undefined) return refuse(`attach_btf_id ${attachBtfId} is not a supported struct`, ENOTSUPP);
  const type = desc.type;
  const member = type.members[memberIdx];
  if (member === undefined) return refuse(`attach to invalid member idx ${memberIdx >>> 0} of struct ${type.name}`, Errno.EINVAL);
  const proto = desc.protos[memberIdx];
  if (member.kind !== 'func' || proto === undefined)
    return refuse(`attach to invalid member ${member.name}(@idx ${memberIdx}) of struct ${type.name}`, Errno.EINVAL);
  const err = type.checkMember?.(member, { sleepable: facts.sleepable }) ?? 0;
  if (err !== 0) return refuse(`attach to unsupported member ${member.name} of struct ${type.name}`, -err);
  const vmlinux = table.vmlinux;
  const target = { btfId: attachBtfId, funcName: member.name, proto, btfTrace: false, log: '' };
  const write = type.btfStructWrite;
  const view: ProgramTypeDesc = {
    ...base,
    ...(member.ret === 'void' ? { voidReturn: true } : {}),
    helpers: new Set(type.helpers ?? []),
    btfCtxAccess: (off, size) => {
      const access = vmlinux.ctxAccess(target, NO_ATTACH_TYPE, true, off, size);
      // An argument in the type's ctx_arg_info (a `__nullable` stub argument): maybe NULL, and no btf_id line.
      if (access.kind === 'ptr' && off % 8 === 0 && member.params[off / 8]?.nullable === true)
        return { kind: 'ptr', btfName: access.btfName, trusted: true, nullable: true };
      const promoted = access.kind === 'ptr' ? type.promoteArgs?.[access.btfName] : undefined;
      return promoted === undefined || access.kind !== 'ptr' ? access : { ...access, btfName: promoted };
    },
    ...(write === undefined ? {} : { btfStructWrite: write }),
  };
  return { desc: view, info: { desc, member: memberIdx } };
}
