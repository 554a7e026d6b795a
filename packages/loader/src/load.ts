import { BtfError, parseBtf, type Btf } from '@ebpf-sim/btf';
import { PseudoLd, SLOT_SIZE } from '@ebpf-sim/isa';
import { BPF_MAP_TYPE, errnoName, O, type Libc, type Sys } from '@ebpf-sim/uapi';
import { findAttachBtfId } from './attach-btf.js';
import { applyCoreRelocations, CoreTarget, explainPoisonInLog, type PoisonedRelo } from './core/apply.js';
import { LoaderError } from './errors.js';
import { LIBBPF_PIN, type MapSpec } from './maps.js';
import type { KconfigExtern } from './object-btf.js';
import type { ObjectProgram, ObjectSpec } from './object.js';
import { applyPatch, type Patch } from './programs.js';
import { applyKsymPatches, ksymPatches, type KsymExtern } from './ksyms.js';
import { btfInfoOf } from './source-lines.js';
import { mapHandle, programHandle, type HandleLibc, type MapHandle, type ProgramHandle } from './handles.js';
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { kernelStructOps, type KernelStructOps, type LoadedStructOps } from './struct-ops.js';

/** What load uses of user space's libc: the bpf() wrappers and close (a narrow interface, as the verifier's env is). */
export type LoadLibc = Pick<
  Libc,
  'bpfBtfLoad' | 'bpfMapCreate' | 'bpfMapUpdate' | 'bpfMapFreeze' | 'bpfProgLoad' | 'bpfObjGet' | 'bpfObjPin' | 'close' | 'unlink' | 'open' | 'readAll'
> &
  HandleLibc;

export interface LoadOptions {
  /** Values of the `.kconfig` externs (LINUX_KERNEL_VERSION, CONFIG_*), as libbpf reads them from uname and /proc/config.gz. */
  readonly kconfig?: Readonly<Record<string, bigint | number | boolean | string>>;
  /** Where maps with `pinning = LIBBPF_PIN_BY_NAME` are pinned and looked for (libbpf's default pin_root_path). */
  readonly pinRoot?: string;
  /** BPF_PROG_LOAD's log: level and buffer size (libbpf retries with a log on failure; this asks up front). */
  readonly logLevel?: number;
  readonly logSize?: number;
  /**
   * num_possible_cpus, for the handles of per-CPU maps (a value per possible CPU). libbpf reads it from
   * /sys/devices/system/cpu/possible, which this kernel does not expose; without it a per-CPU value throws.
   */
  readonly possibleCpus?: number;
  /**
   * The programs to load, by name (default: all). The others are left out as libbpf's
   * bpf_program__set_autoload(prog, false) leaves them: not relocated, not loaded.
   */
  readonly programs?: readonly string[];
  /** Where the kernel's BTF is read for CO-RE (libbpf's btf_custom_path); default {@link KERNEL_BTF_PATH}. */
  readonly kernelBtfPath?: string;
}

/** Where the running kernel publishes its BTF, which CO-RE relocates against (libbpf's btf__load_vmlinux_btf). */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** Map types libbpf creates without BTF whatever the definition says (bpf_object__create_map's switch). */
const MAP_TYPES_WITHOUT_BTF: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE.PERF_EVENT_ARRAY,
  BPF_MAP_TYPE.CGROUP_ARRAY,
  BPF_MAP_TYPE.STACK_TRACE,
  BPF_MAP_TYPE.ARRAY_OF_MAPS,
  BPF_MAP_TYPE.HASH_OF_MAPS,
  BPF_MAP_TYPE.DEVMAP,
  BPF_MAP_TYPE.DEVMAP_HASH,
  BPF_MAP_TYPE.CPUMAP,
  BPF_MAP_TYPE.XSKMAP,
  BPF_MAP_TYPE.SOCKMAP,
  BPF_MAP_TYPE.SOCKHASH,
  BPF_MAP_TYPE.QUEUE,
  BPF_MAP_TYPE.STACK,
]);

/** libbpf's default pin_root_path. */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf';
/**
 * The log buffer asked for when a load fails without one, so the error can show the verifier's reasons. The libc
 * passes it on the simulated process's stack (1 MiB), so it stays well below libbpf's 16 MiB; the kernel's
 * rotating log keeps the end of a longer one, where the reason is.
 */
const FAILURE_LOG_SIZE = 64 * 1024;

/** A created map: its spec, fd and typed methods (handles.ts). */
export type LoadedMap = MapHandle;
/** A loaded program: its spec, fd, log and typed methods (handles.ts). */
export type LoadedProgram = ProgramHandle;

/** The kernel objects of a loaded object, by name (libbpf's bpf_object after bpf_object__load()). */
export interface LoadedObject {
  /** The object's BTF loaded with BPF_BTF_LOAD, or undefined without BTF or when the kernel refused it (then `btfLog` says why). */
  readonly btfFd: number | undefined;
  readonly btfLog: string;
  readonly maps: ReadonlyMap<string, LoadedMap>;
  readonly programs: ReadonlyMap<string, LoadedProgram>;
  /** The struct_ops maps, by name, with their values (programs' fds in), for attachStructOps. */
  readonly structOps?: ReadonlyMap<string, LoadedStructOps>;
  /** Close every fd the load made (bpf_object__close); pinned objects stay. */
  close(): Sys<void>;
}

const u32Bytes = (value: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
};

/** A kconfig value in its extern's bytes (little-endian, as the kernel is). libbpf's set_kcfg_value_*(). */
function kconfigBytes(ext: KconfigExtern, value: bigint | number | boolean | string): Uint8Array {
  const out = new Uint8Array(ext.size);
  if (ext.type === 'char-array') {
    const text = String(value);
    for (let i = 0; i < Math.min(text.length, ext.size - 1); i++) out[i] = text.charCodeAt(i) & 0xff;
    return out;
  }
  // bool and tristate take y/n/m as libbpf's set_kcfg_value_tri does: y = 1, m = 2, n = 0.
  const tri: Readonly<Record<string, bigint>> = { y: 1n, n: 0n, m: 2n };
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : typeof value === 'string' ? (tri[value] ?? BigInt(value)) : BigInt(value);
  const view = new DataView(out.buffer);
  const wrapped = BigInt.asUintN(ext.size * 8, n);
  for (let i = 0; i < ext.size; i++) view.setUint8(i, Number((wrapped >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** The `.kconfig` map's value: each extern's value at its offset; a missing strong extern fails as in libbpf. */
function kconfigValue(spec: ObjectSpec, map: MapSpec, values: Readonly<Record<string, bigint | number | boolean | string>>): Uint8Array {
  const out = new Uint8Array(map.valueSize);
  for (const ext of spec.kconfig) {
    const value = values[ext.name];
    if (value === undefined) {
      if (ext.weak) continue;
      throw new LoaderError(
        `extern (kcfg) '${ext.name}': strong extern not resolved`,
        'unsupported',
        'give its value in LoadOptions.kconfig, or declare it __weak',
      );
    }
    out.set(kconfigBytes(ext, value), ext.offset);
  }
  return out;
}

/**
 * The program's instructions with its references patched as libbpf's bpf_object__relocate_data() does: a map
 * becomes `ld_imm64 rX, map_fd` (BPF_PSEUDO_MAP_FD), global data or a `.kconfig` extern
 * `ld_imm64 rX, map_value` (BPF_PSEUDO_MAP_VALUE) with the byte offset in the second slot's immediate.
 */
function relocate(
  prog: Pick<ObjectProgram, 'name' | 'insns' | 'references'>,
  fds: ReadonlyMap<string, number>,
  ksyms: readonly KsymExtern[] = [],
  kernelBtf?: Btf,
): Uint8Array {
  const insns = prog.insns.slice();
  const view = new DataView(insns.buffer);
  for (const ref of prog.references) {
    if (isKsymReference(ref)) {
      applyKsymPatches(view, ksymPatches(prog.name, ref.kind, ref.insn, ref.symbol, ksyms, kernelBtf));
      continue;
    }
    const fd = ref.map === undefined ? undefined : fds.get(ref.map);
    if (fd === undefined)
      throw new LoaderError(`prog '${prog.name}': insn #${ref.insn} refers to map '${ref.map ?? ref.symbol}', which was not created`, 'reloc');
    const patches: Patch[] =
      ref.valueOffset === undefined
        ? [{ slot: ref.insn, imm: fd, src: PseudoLd.MAP_FD }]
        : [
            { slot: ref.insn + 1, imm: view.getInt32(ref.insn * SLOT_SIZE + 4, true) + ref.valueOffset },
            { slot: ref.insn, imm: fd, src: PseudoLd.MAP_VALUE },
          ];
    for (const patch of patches) applyPatch(view, patch, 'little');
  }
  return insns;
}

/** A `__ksym` reference: a kfunc call, or an LD imm64 of an extern that is no `.kconfig` one. */
function isKsymReference(
  ref: ObjectProgram['references'][number],
): ref is ObjectProgram['references'][number] & { readonly kind: 'extern-call' | 'extern-ld64' } {
  return ref.kind === 'extern-call' || (ref.kind === 'extern-ld64' && ref.map === undefined);
}

/**
 * The running kernel's BTF, as libbpf's btf__load_vmlinux_btf() reads it: the file at `path`, parsed with the
 * kernel's own rules. A LoaderError when it cannot be had (libbpf: "failed to find valid kernel BTF").
 */
export function* loadKernelBtf(libc: Pick<LoadLibc, 'open' | 'readAll' | 'close'>, path: string = KERNEL_BTF_PATH): Sys<Btf | LoaderError> {
  const fd = yield* libc.open(path, O.RDONLY);
  if (fd < 0) return new LoaderError(`failed to find valid kernel BTF: open ${path}: -${errnoName(fd)}`, 'unsupported', 'CO-RE needs the kernel BTF');
  const bytes = yield* libc.readAll(fd, 64 * 1024);
  yield* libc.close(fd);
  if (!bytes.ok) return new LoaderError(`failed to find valid kernel BTF: read ${path}: -${errnoName(-bytes.errno)}`, 'unsupported');
  try {
    return parseBtf(bytes.value);
  } catch (error) {
    if (error instanceof BtfError) return new LoaderError(`failed to find valid kernel BTF: ${path}: ${error.message}`, 'format');
    throw error;
  }
}

/**
 * Load an opened object into the kernel through `bpf()`, as libbpf's bpf_object__load() does without CO-RE:
 * load the object's BTF (BPF_BTF_LOAD; a refusal is not fatal), create the maps with their BTF key and value
 * types (an inner template map for each map-in-map, reusing or pinning `pinning`
 * maps), write the global data and `.kconfig` values and freeze `.rodata`/`.kconfig`, fill map-in-map slots,
 * load every program with its references patched, then fill PROG_ARRAY slots. On failure everything created
 * so far is closed and a LoaderError names the map or program and the errno (with the verifier's log).
 */
export function* load(spec: ObjectSpec, libc: LoadLibc, options: LoadOptions = {}): Sys<LoadedObject> {
  if (spec.endian !== 'little') throw new LoaderError(`object endianness (big) does not match the host's (little)`, 'format', 'compile with -target bpfel');
  const maps = new Map<string, LoadedMap>();
  const programs = new Map<string, LoadedProgram>();
  const fds = new Map<string, number>();
  const pinRoot = options.pinRoot ?? DEFAULT_PIN_ROOT;
  const handleBase = { libc, btf: spec.btf?.btf, possibleCpus: options.possibleCpus };
  // libbpf's bpf_object__load_btf(): a BTF the kernel refuses is left out (with a warning), not fatal.
  let btfFd: number | undefined;
  let btfLog = '';
  if (spec.btf !== undefined) {
    const result = yield* libc.bpfBtfLoad(spec.btf.bytes);
    if (result.fd >= 0) btfFd = result.fd;
    else btfLog = (yield* libc.bpfBtfLoad(spec.btf.bytes, 1, FAILURE_LOG_SIZE)).log || `BPF_BTF_LOAD failed: -${errnoName(result.fd)}`;
  }
  const closeBtf = function* (): Sys<void> {
    if (btfFd !== undefined) yield* libc.close(btfFd);
  };

  /** Pins this load made (not ones it reused): a failed load removes them, as libbpf's bpf_object_load does. */
  const pinnedHere: string[] = [];
  const fail = function* (error: LoaderError): Sys<never> {
    for (const fd of [...maps.values(), ...programs.values()].map((o) => o.fd)) yield* libc.close(fd);
    for (const path of pinnedHere) yield* libc.unlink(path);
    yield* closeBtf();
    throw error;
  };
  const check = function* (what: string, ret: number, log = ''): Sys<number> {
    if (ret >= 0) return ret;
    return yield* fail(new LoaderError(`${what} failed: -${errnoName(ret)}${log === '' ? '' : `\n${log}`}`, 'format'));
  };

  /** BPF_MAP_CREATE with the map's BTF key and value types; as libbpf, a refusal with BTF is retried without it. */
  const create = function* (map: MapSpec, innerFd: number): Sys<{ fd: number; withBtf: boolean }> {
    if (btfFd !== undefined && map.valueTypeId !== 0 && !MAP_TYPES_WITHOUT_BTF.has(map.type)) {
      const fd = yield* createAttr(map, innerFd, { btf_fd: btfFd, btf_key_type_id: map.keyTypeId, btf_value_type_id: map.valueTypeId });
      if (fd >= 0) return { fd, withBtf: true };
    }
    return { fd: yield* createAttr(map, innerFd, {}), withBtf: false };
  };
  /** libbpf's map_set_def_max_entries: a PERF_EVENT_ARRAY without max_entries gets one slot per possible CPU. */
  const maxEntries = function* (map: MapSpec): Sys<number> {
    if (map.type !== BPF_MAP_TYPE.PERF_EVENT_ARRAY || map.maxEntries !== 0) return map.maxEntries;
    if (options.possibleCpus !== undefined) return options.possibleCpus;
    return yield* fail(
      new LoaderError(`map '${map.name}': failed to determine number of system CPUs`, 'unsupported', 'pass LoadOptions.possibleCpus (num_possible_cpus)'),
    );
  };
  const createAttr = function* (map: MapSpec, innerFd: number, btf: { btf_fd?: number; btf_key_type_id?: number; btf_value_type_id?: number }): Sys<number> {
    return yield* libc.bpfMapCreate({
      ...btf,
      map_type: map.type,
      key_size: map.keySize,
      value_size: map.valueSize,
      max_entries: yield* maxEntries(map),
      map_flags: map.flags,
      inner_map_fd: innerFd,
      numa_node: map.numaNode,
      map_name: map.kernelName,
      map_extra: map.mapExtra,
    });
  };

  for (const map of spec.maps) {
    const pinPath = map.pinning === LIBBPF_PIN.BY_NAME ? `${pinRoot}/${map.name}` : undefined;
    if (pinPath !== undefined) {
      const existing = yield* libc.bpfObjGet(pinPath);
      if (existing >= 0) {
        maps.set(map.name, mapHandle({ ...handleBase, spec: map, fd: existing, pinPath, withBtf: false }));
        fds.set(map.name, existing);
        continue;
      }
    }
    let innerFd = 0;
    if (map.inner !== undefined) innerFd = yield* check(`map '${map.name}': inner map BPF_MAP_CREATE`, (yield* create(map.inner, 0)).fd);
    const { fd, withBtf } = yield* create(map, innerFd);
    if (innerFd > 0) yield* libc.close(innerFd);
    yield* check(`map '${map.name}': BPF_MAP_CREATE`, fd);
    maps.set(map.name, mapHandle({ ...handleBase, spec: map, fd, withBtf, ...(pinPath === undefined ? {} : { pinPath }) }));
    fds.set(map.name, fd);
    const contents = map.origin === 'kconfig' ? kconfigValue(spec, map, options.kconfig ?? {}) : map.contents;
    if (contents !== undefined) yield* check(`map '${map.name}': writing its initial value`, yield* libc.bpfMapUpdate(fd, u32Bytes(0), contents));
    if (map.freeze) yield* check(`map '${map.name}': BPF_MAP_FREEZE`, yield* libc.bpfMapFreeze(fd));
    if (pinPath !== undefined) {
      yield* check(`map '${map.name}': pinning at ${pinPath}`, yield* libc.bpfObjPin(fd, pinPath));
      pinnedHere.push(pinPath);
    }
  }
  for (const map of spec.maps) {
    for (const slot of map.slots) {
      if (!('map' in slot)) continue;
      const inner = fds.get(slot.map) ?? -1;
      yield* check(
        `map '${map.name}': slot [${slot.index}] = map '${slot.map}'`,
        yield* libc.bpfMapUpdate(fds.get(map.name) ?? -1, u32Bytes(slot.index), u32Bytes(inner)),
      );
    }
  }

  const toLoad = options.programs === undefined ? spec.programs : spec.programs.filter((p) => options.programs?.includes(p.name) === true);
  for (const name of options.programs ?? []) {
    if (!spec.programs.some((p) => p.name === name)) return yield* fail(new LoaderError(`prog '${name}': no such program in the object`, 'format'));
  }
  // CO-RE relocates against the running kernel's BTF, and programs that attach by BTF id find their target in
  // it: read once, only if a program to load needs it.
  let core: CoreTarget | undefined;
  let kernelBtf: Btf | undefined;
  const needsCore = spec.btf !== undefined && toLoad.some((p) => p.coreRelos.length > 0);
  const needsKsyms = toLoad.some((p) => p.references.some(isKsymReference));
  if (needsCore || needsKsyms || spec.structOps.length > 0 || toLoad.some((p) => p.section?.def.flags.includes('attachBtf') === true)) {
    const target = yield* loadKernelBtf(libc, options.kernelBtfPath ?? KERNEL_BTF_PATH);
    if (target instanceof LoaderError) return yield* fail(target);
    kernelBtf = target;
    if (needsCore && spec.btf !== undefined) core = new CoreTarget(spec.btf.btf, target);
  }

  // struct_ops maps (bpf_map__init_kern_struct_ops): the kernel's value type, made before their programs load.
  const structOps = new Map<string, { readonly fd: number; readonly link: boolean; readonly kern: KernelStructOps }>();
  for (const ops of spec.structOps) {
    if (kernelBtf === undefined) break;
    let kern: KernelStructOps;
    try {
      kern = kernelStructOps(ops, kernelBtf);
    } catch (error) {
      if (error instanceof LoaderError) return yield* fail(error);
      throw error;
    }
    const fd = yield* check(
      `map '${ops.name}': BPF_MAP_CREATE`,
      yield* libc.bpfMapCreate({
        map_type: kern.map.type,
        key_size: 4,
        value_size: kern.map.valueSize,
        max_entries: 1,
        map_flags: kern.map.flags,
        map_name: kern.map.kernelName,
        btf_vmlinux_value_type_id: kern.valueTypeId,
        ...(btfFd === undefined ? {} : { btf_fd: btfFd }),
      }),
    );
    maps.set(ops.name, mapHandle({ ...handleBase, spec: kern.map, fd, withBtf: false }));
    structOps.set(ops.name, { fd, link: ops.link, kern });
  }
  const structOpsMember = (name: string): { readonly typeId: number; readonly member: number } | undefined => {
    for (const { kern } of structOps.values()) {
      const at = kern.programs.get(name);
      if (at !== undefined) return { typeId: kern.typeId, member: at.member };
    }
    return undefined;
  };

  for (const prog of toLoad) {
    const what = `prog '${prog.name}'`;
    if (prog.section === undefined)
      return yield* fail(new LoaderError(`${what}: missing BPF prog type, check ELF section name '${prog.sectionName}'`, 'unsupported'));
    // libbpf_prepare_prog_load -> libbpf_find_attach_btf_id: the target named after the `/`, in vmlinux
    // (attach_btf_obj_fd 0). freplace's target is a program (attach_prog_fd), which this loader does not take.
    let attachBtfId = 0;
    if (prog.section.def.flags.includes('attachBtf')) {
      const attachTo = prog.section.attachTo;
      if (prog.section.def.progType === 'EXT' || attachTo === undefined || kernelBtf === undefined)
        return yield* fail(new LoaderError(`${what}: SEC("${prog.sectionName}") needs a target program (attach_prog_fd), not supported`, 'unsupported'));
      attachBtfId = findAttachBtfId(kernelBtf, attachTo, prog.section.expectedAttachType);
      if (attachBtfId < 0) return yield* fail(new LoaderError(`${what}: failed to find kernel BTF type ID of '${attachTo}': ${attachBtfId}`, 'unsupported'));
    }
    // A struct_ops program: the ops struct it implements a member of, and that member's index.
    const member = prog.section.progType === BPF_PROG_TYPE.STRUCT_OPS ? structOpsMember(prog.name) : undefined;
    if (member !== undefined) attachBtfId = member.typeId;
    let insns: Uint8Array;
    let poisoned: readonly PoisonedRelo[] = [];
    try {
      // libbpf's order: CO-RE (bpf_object__relocate_core) before the data and map references.
      const outcome = core === undefined ? undefined : applyCoreRelocations(prog, core);
      poisoned = outcome?.poisoned ?? [];
      insns = relocate({ ...prog, insns: outcome?.insns ?? prog.insns }, fds, spec.btf?.ksyms, kernelBtf);
    } catch (error) {
      if (error instanceof LoaderError) return yield* fail(error);
      throw error;
    }
    const request = {
      progType: prog.section.progType,
      insns,
      license: prog.license,
      name: prog.name.slice(0, 15),
      expectedAttachType: member?.member ?? prog.section.expectedAttachType,
      progFlags: prog.section.progFlags,
      ...(attachBtfId === 0 ? {} : { attachBtfId }),
      logLevel: options.logLevel ?? 0,
      logSize: options.logSize ?? 0,
      ...(btfFd === undefined ? {} : btfInfoOf(prog, btfFd)),
    };
    let result = yield* libc.bpfProgLoad(request);
    // libbpf retries a failed load with a log buffer so the error can say why.
    if (result.ret < 0 && request.logSize === 0) result = yield* libc.bpfProgLoad({ ...request, logLevel: 1, logSize: FAILURE_LOG_SIZE });
    yield* check(`${what}: BPF_PROG_LOAD`, result.ret, result.ret < 0 ? explainPoisonInLog(result.log, poisoned) : '');
    programs.set(prog.name, programHandle(libc, prog, result.ret, result.log));
  }

  for (const map of spec.maps) {
    for (const slot of map.slots) {
      if (!('program' in slot)) continue;
      const prog = programs.get(slot.program)?.fd ?? -1;
      yield* check(
        `map '${map.name}': slot [${slot.index}] = prog '${slot.program}'`,
        yield* libc.bpfMapUpdate(fds.get(map.name) ?? -1, u32Bytes(slot.index), u32Bytes(prog)),
      );
    }
  }
  // The programs' fds into the struct_ops values (what bpf_map__attach_struct_ops writes to the map).
  const loadedStructOps = new Map<string, LoadedStructOps>();
  for (const [name, { fd, link, kern }] of structOps) {
    const value = kern.value.slice();
    const view = new DataView(value.buffer);
    for (const [program, at] of kern.programs) view.setBigUint64(at.offset, BigInt(programs.get(program)?.fd ?? 0), true);
    loadedStructOps.set(name, { fd, link, value });
  }
  return {
    btfFd,
    btfLog,
    maps,
    programs,
    ...(loadedStructOps.size === 0 ? {} : { structOps: loadedStructOps }),
    *close() {
      for (const object of [...programs.values(), ...maps.values()]) yield* libc.close(object.fd);
      yield* closeBtf();
    },
  };
}
