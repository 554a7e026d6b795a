/**
 * bpftool struct_ops (tools/bpf/bpftool/struct_ops.c): `show`/`list` the registered struct_ops maps,
 * `register OBJ` (load the object and register each of its struct_ops maps, libbpf's bpf_map__attach_struct_ops)
 * and `unregister` (delete the map's one element). Formats as bpftool 6.18 prints them on this machine:
 * `ID: NAME(%-15s) KERNEL_STRUCT(%-32s)`, JSON `{"id":..,"name":..,"kernel_struct_ops":..}`, "Registered
 * tcp_congestion_ops NAME id ID" and "Unregistered ...". `dump` is not here.
 */
import { BtfKind, type Btf } from '@ebpf-sim/btf';
import { attachStructOps } from '@ebpf-sim/loader';
import { BPF_MAP_TYPE, strerror, type Libc, type Sys } from '@ebpf-sim/uapi';
import { CliError } from '../../command.js';
import { allFds, btfById, handleFds, loadFile, objectFile, parseMapHandle, MAP_KIND, type Handle } from './handles.js';
import { jsonWriter, writeFields } from './print.js';
import type { StepContext } from './session.js';
import type { Verb } from './verb.js';

/** The prefix of a struct_ops map's value type (struct bpf_struct_ops_<name>). */
const VALUE_PREFIX = 'bpf_struct_ops_';
/** The kernel's BTF is BTF object 1, as on Linux. */
const VMLINUX_BTF_ID = 1;

interface StructOpsMapInfo {
  readonly fd: number;
  readonly id: number;
  readonly name: string;
  /** The ops struct's name (`tcp_congestion_ops`), from the value type's name in the kernel's BTF. */
  readonly kernelStruct: string;
}

/** get_struct_ops_map_name: the value type's name without its prefix. */
function kernelStructName(vmlinux: Btf, valueTypeId: number): string {
  const t = vmlinux.types[valueTypeId];
  return t?.kind === BtfKind.STRUCT && t.name.startsWith(VALUE_PREFIX) ? t.name.slice(VALUE_PREFIX.length) : '';
}

/** The struct_ops maps a handle (or, absent, the whole kernel) names: bpftool's get_next_struct_ops_map. */
function* structOpsMaps(libc: Libc, handle: Handle | undefined): Sys<StructOpsMapInfo[]> {
  const fds = handle === undefined ? yield* allFds(libc, MAP_KIND) : yield* handleFds(libc, handle, MAP_KIND);
  let vmlinux: Btf | undefined;
  const out: StructOpsMapInfo[] = [];
  for (const fd of fds) {
    const info = yield* libc.bpfMapGetInfo(fd);
    if (!info.ok || info.value.type !== BPF_MAP_TYPE.STRUCT_OPS) {
      yield* libc.close(fd);
      continue;
    }
    vmlinux ??= yield* btfById(libc, VMLINUX_BTF_ID);
    out.push({ fd, id: info.value.id, name: info.value.name, kernelStruct: kernelStructName(vmlinux, info.value.btfVmlinuxValueTypeId) });
  }
  if (handle !== undefined && out.length === 0) throw new CliError('no struct_ops found');
  return out;
}

function* show(ctx: StepContext, handle: Handle | undefined): Sys<void> {
  const maps = yield* structOpsMaps(ctx.libc, handle);
  if (ctx.mode === 'plain') {
    ctx.io.out(maps.map((m) => `${m.id}: ${m.name.padEnd(15)} ${m.kernelStruct.padEnd(32)}\n`).join(''));
  } else {
    const w = jsonWriter(ctx.mode);
    w.startArray();
    for (const m of maps)
      writeFields(w, [
        ['id', m.id],
        ['name', m.name],
        ['kernel_struct_ops', m.kernelStruct],
      ]);
    w.endArray();
    ctx.io.out(w.finish());
  }
  for (const m of maps) yield* ctx.libc.close(m.fd);
}

const showVerb = (name: string): Verb => ({
  name: `struct_ops ${name}`,
  summary: 'List the struct_ops maps (all, or those a handle names) as bpftool struct_ops show does',
  synopsis: '[id ID | name NAME]',
  description: 'Print each struct_ops map as "ID: NAME KERNEL_STRUCT" (or JSON), as bpftool struct_ops show.',
  parse(words) {
    const handle = words.done ? undefined : parseMapHandle(words);
    words.end();
    return (ctx) => show(ctx, handle);
  },
});

const registerVerb: Verb = {
  name: 'struct_ops register',
  summary: 'Load an object and register each of its struct_ops maps, as bpftool struct_ops register',
  synopsis: 'OBJ',
  description: `Load OBJ (its programs and maps) and register every struct_ops map of it (the map's value written:
the kernel registers the ops), printing "Registered KERNEL_STRUCT NAME id ID" for each.`,
  parse(words) {
    const file = objectFile(words.next('OBJ'));
    words.end();
    return function* (ctx) {
      const { spec, loaded } = yield* loadFile(ctx.libc, file);
      // bpftool loads the object first, then finds no struct_ops map in it: "no struct_ops found in FILE".
      if (spec.structOps.length === 0) throw new CliError(`no struct_ops found in ${file.path}`);
      for (const ops of spec.structOps) {
        const ret = yield* attachStructOps(ctx.libc, loaded, ops.name);
        if (ret < 0) throw new CliError(`can't register struct_ops ${ops.name}: ${strerror(-ret)}`);
        const [m] = yield* structOpsMaps(ctx.libc, { kind: 'name', name: ops.name });
        if (m !== undefined) {
          ctx.io.out(`Registered ${m.kernelStruct} ${m.name} id ${m.id}\n`);
          yield* ctx.libc.close(m.fd);
        }
      }
    };
  },
};

const unregisterVerb: Verb = {
  name: 'struct_ops unregister',
  summary: 'Unregister struct_ops maps (delete their element), as bpftool struct_ops unregister',
  synopsis: 'id ID | name NAME',
  description: 'Unregister each struct_ops map the handle names, printing "Unregistered KERNEL_STRUCT NAME id ID".',
  parse(words) {
    const handle = parseMapHandle(words);
    words.end();
    return function* (ctx) {
      for (const m of yield* structOpsMaps(ctx.libc, handle)) {
        const ret = yield* ctx.libc.bpfMapDelete(m.fd, new Uint8Array(4));
        yield* ctx.libc.close(m.fd);
        if (ret < 0) throw new CliError(`can't unload ${m.kernelStruct} ${m.name}: ${strerror(-ret)}`);
        ctx.io.out(`Unregistered ${m.kernelStruct} ${m.name} id ${m.id}\n`);
      }
    };
  },
};

export const STRUCT_OPS_VERBS: readonly Verb[] = [showVerb('show'), showVerb('list'), registerVerb, unregisterVerb];
