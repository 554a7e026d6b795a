/**
 * bpftool's `link` commands: show (plain and JSON, as tools/bpf/bpftool/link.c show_link_close_plain / _json) and
 * detach (BPF_LINK_DETACH). A link's info is read as do_show_link reads it: once, then again with a buffer for the
 * name the kernel copies out (raw tracepoint, perf event tracepoint or kprobe function).
 */
import {
  BPF_ATTACH_TYPE,
  BPF_LINK_INFO,
  BPF_LINK_INFO_PERF_EVENT,
  BPF_LINK_INFO_RAW_TRACEPOINT,
  BPF_LINK_INFO_TCX,
  BPF_LINK_INFO_TRACING,
  BPF_LINK_INFO_XDP,
  BPF_LINK_TYPE,
  BPF_LINK_TYPE_NAMES,
  BPF_PERF_EVENT_TYPE,
  Errno,
  O,
  PERF_COUNT_SW,
  PERF_TYPE,
  strerror,
  type Libc,
  type Sys,
} from '@ebpf-sim/uapi';
import { CliError, UsageError } from '../../command.js';
import { jsonWriter, progTypeName, writeFields, type JsonField } from './print.js';
import type { StepContext } from './session.js';
import type { Verb } from './verb.js';
import type { Words } from './words.js';

/** libbpf_bpf_attach_type_str: the enum names in lower case (attach_type_name[]). */
const ATTACH_TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(BPF_ATTACH_TYPE).map(([name, value]) => [value, name.toLowerCase()]));
/** bpftool's perf_type_name[] and event_symbols_sw[] (link.c). */
const PERF_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [PERF_TYPE.HARDWARE, 'hardware'],
  [PERF_TYPE.SOFTWARE, 'software'],
  [PERF_TYPE.TRACEPOINT, 'tracepoint'],
  [PERF_TYPE.HW_CACHE, 'hw-cache'],
  [PERF_TYPE.RAW, 'raw'],
  [PERF_TYPE.BREAKPOINT, 'breakpoint'],
]);
/** event_symbols_sw[] entries that are not the enum name in lower case with dashes. */
const SW_EVENT_SPELLING: Readonly<Record<string, string>> = { PAGE_FAULTS_MIN: 'minor-faults', PAGE_FAULTS_MAJ: 'major-faults' };
const SW_EVENT_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(PERF_COUNT_SW)
    .filter(([name]) => name !== 'MAX')
    .map(([name, value]) => [value, SW_EVENT_SPELLING[name] ?? name.toLowerCase().replace(/_/g, '-')]),
);

/** PATH_MAX: the name buffer bpftool passes. */
const NAME_BUFFER = 4096;

/** A link's struct bpf_link_info, with the name the kernel copied out (when its type has one). */
export interface LinkInfo {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly type: number;
  readonly id: number;
  readonly progId: number;
  readonly name: string;
}

/** Where a link type's in/out name pointer and length are, by link type (and perf event type). */
function nameField(type: number, perfType: number): { ptr: number; len: number } | undefined {
  if (type === BPF_LINK_TYPE.RAW_TRACEPOINT) return { ptr: BPF_LINK_INFO_RAW_TRACEPOINT.tp_name, len: BPF_LINK_INFO_RAW_TRACEPOINT.tp_name_len };
  if (type !== BPF_LINK_TYPE.PERF_EVENT) return undefined;
  if (perfType === BPF_PERF_EVENT_TYPE.TRACEPOINT)
    return { ptr: BPF_LINK_INFO_PERF_EVENT.tracepoint.tp_name, len: BPF_LINK_INFO_PERF_EVENT.tracepoint.name_len };
  if (perfType === BPF_PERF_EVENT_TYPE.KPROBE || perfType === BPF_PERF_EVENT_TYPE.KRETPROBE)
    return { ptr: BPF_LINK_INFO_PERF_EVENT.kprobe.func_name, len: BPF_LINK_INFO_PERF_EVENT.kprobe.name_len };
  return undefined;
}

/** do_show_link's reads: bpf_link_get_info_by_fd, and again with a name buffer when the type has a name. */
export function* linkInfo(libc: Libc, fd: number): Sys<LinkInfo> {
  const mark = libc.stack.mark();
  try {
    const nameAddress = libc.stack.alloca(NAME_BUFFER);
    let block: Uint8Array = new Uint8Array(BPF_LINK_INFO.size);
    let named = false;
    for (;;) {
      const address = libc.stack.pushBytes(block);
      const { ret } = yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: BPF_LINK_INFO.size, info: address });
      if (ret < 0) throw new CliError(`can't get link info: ${strerror(-ret)}`);
      block = libc.stack.readBytes(address, BPF_LINK_INFO.size);
      const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
      const type = view.getUint32(BPF_LINK_INFO.type, true);
      const field = nameField(type, view.getUint32(BPF_LINK_INFO_PERF_EVENT.type, true));
      if (field !== undefined && !named) {
        view.setBigUint64(field.ptr, BigInt(nameAddress), true);
        view.setUint32(field.len, NAME_BUFFER, true);
        named = true;
        continue;
      }
      let name = '';
      if (field !== undefined) {
        const bytes = libc.stack.readBytes(nameAddress, NAME_BUFFER);
        const nul = bytes.indexOf(0);
        name = new TextDecoder().decode(bytes.subarray(0, nul < 0 ? bytes.length : nul));
      }
      return { bytes: block, view, type, id: view.getUint32(BPF_LINK_INFO.id, true), progId: view.getUint32(BPF_LINK_INFO.prog_id, true), name };
    }
  } finally {
    libc.stack.release(mark);
  }
}

/** if_indextoname through /sys/class/net/<name>/ifindex (the model has no SIOCGIFNAME). */
export function* interfaceName(libc: Libc, ifindex: number): Sys<string | undefined> {
  const dir = yield* libc.open('/sys/class/net', O.RDONLY | O.DIRECTORY);
  if (dir < 0) return undefined;
  const listing = yield* libc.readdir(dir);
  yield* libc.close(dir);
  if (!listing.ok) return undefined;
  for (const entry of listing.value) {
    if (entry.name === '.' || entry.name === '..') continue;
    if ((yield* interfaceIndex(libc, entry.name)) === ifindex) return entry.name;
  }
  return undefined;
}

/** if_nametoindex through /sys/class/net/<name>/ifindex: 0 when there is no such interface. */
export function* interfaceIndex(libc: Libc, name: string): Sys<number> {
  if (name.includes('/') || name === '.' || name === '..') return 0;
  const fd = yield* libc.open(`/sys/class/net/${name}/ifindex`, O.RDONLY);
  if (fd < 0) return 0;
  const got = yield* libc.readAll(fd);
  yield* libc.close(fd);
  const n = got.ok ? parseInt(new TextDecoder().decode(got.value), 10) : NaN;
  return Number.isInteger(n) ? n : 0;
}

const u32 = (info: LinkInfo, at: number): number => info.view.getUint32(at, true);
const u64 = (info: LinkInfo, at: number): bigint => info.view.getBigUint64(at, true);
const attachTypeName = (type: number): string | number => ATTACH_TYPE_NAMES.get(type) ?? type;

/** The program's type, for a tracing link (bpftool's get_prog_info by id). */
function* progTypeOf(libc: Libc, progId: number): Sys<number | undefined> {
  const fd = (yield* libc.bpfAttr('PROG_GET_FD_BY_ID', { id: progId })).ret;
  if (fd < 0) return undefined;
  const info = yield* libc.bpfProgGetInfo(fd, 0);
  yield* libc.close(fd);
  return info.ok ? info.value.type : undefined;
}

/** show_link_close_plain and show_link_close_json of one link. */
export function* showLink(ctx: StepContext, fd: number): Sys<{ plain: string; fields: JsonField[] }> {
  const { libc } = ctx;
  const info = yield* linkInfo(libc, fd);
  const typeName = BPF_LINK_TYPE_NAMES[info.type];
  // show_link_header_plain: a struct_ops link has a map (struct_ops.map_id), no program.
  const holds = info.type === BPF_LINK_TYPE.STRUCT_OPS ? `map ${info.view.getUint32(BPF_LINK_INFO.union, true)}` : `prog ${info.progId}`;
  let plain = `${info.id}: ${typeName ?? `type ${info.type}`}  ${holds}  `;
  const fields: JsonField[] = [
    ['id', info.id],
    ['type', typeName ?? info.type],
    ['prog_id', info.progId],
  ];
  const ifindexOf = function* (ifindex: number): Sys<void> {
    const name = ifindex === 0 ? '(detached)' : ((yield* interfaceName(libc, ifindex)) ?? '(unknown)');
    plain += `ifindex ${ifindex === 0 || name === '(unknown)' ? name : `${name}(${ifindex})`}  `;
    fields.push(['devname', name], ['ifindex', ifindex]);
  };
  switch (info.type) {
    case BPF_LINK_TYPE.STRUCT_OPS:
      fields.push(['map_id', info.view.getUint32(BPF_LINK_INFO.union, true)]);
      break;
    case BPF_LINK_TYPE.RAW_TRACEPOINT: {
      const cookie = u64(info, BPF_LINK_INFO_RAW_TRACEPOINT.cookie);
      plain += `\n\ttp '${info.name}'  ${cookie ? `cookie ${cookie}  ` : ''}`;
      fields.push(['tp_name', info.name], ['cookie', Number(cookie)]);
      break;
    }
    case BPF_LINK_TYPE.TRACING: {
      const progType = yield* progTypeOf(libc, info.progId);
      if (progType === undefined) throw new CliError(`can't get prog info: ${strerror(Errno.ENOENT)}`);
      const attachType = attachTypeName(u32(info, BPF_LINK_INFO_TRACING.attach_type));
      const objId = u32(info, BPF_LINK_INFO_TRACING.target_obj_id);
      const btfId = u32(info, BPF_LINK_INFO_TRACING.target_btf_id);
      const cookie = u64(info, BPF_LINK_INFO_TRACING.cookie);
      plain += `\n\tprog_type ${progTypeName(progType) ?? progType}  attach_type ${attachType}  `;
      if (objId || btfId) plain += `\n\ttarget_obj_id ${objId}  target_btf_id ${btfId}  `;
      if (cookie) plain += `\n\tcookie ${cookie}  `;
      fields.push(
        ['prog_type', progTypeName(progType) ?? progType],
        ['attach_type', attachType],
        ['target_obj_id', objId],
        ['target_btf_id', btfId],
        ['cookie', Number(cookie)],
      );
      break;
    }
    case BPF_LINK_TYPE.XDP:
      plain += '\n\t';
      yield* ifindexOf(u32(info, BPF_LINK_INFO_XDP.ifindex));
      break;
    case BPF_LINK_TYPE.TCX: {
      plain += '\n\t';
      yield* ifindexOf(u32(info, BPF_LINK_INFO_TCX.ifindex));
      const attachType = attachTypeName(u32(info, BPF_LINK_INFO_TCX.attach_type));
      plain += `attach_type ${attachType}  `;
      fields.push(['attach_type', attachType]);
      break;
    }
    case BPF_LINK_TYPE.PERF_EVENT:
      plain += perfEventPlain(info, fields);
      break;
    default:
      break;
  }
  return { plain: `${plain}\n`, fields };
}

/** show_perf_event_{kprobe,tracepoint,event}_plain, and their JSON fields into `fields`. */
function perfEventPlain(info: LinkInfo, fields: JsonField[]): string {
  const P = BPF_LINK_INFO_PERF_EVENT;
  const type = u32(info, P.type);
  if (type === BPF_PERF_EVENT_TYPE.KPROBE || type === BPF_PERF_EVENT_TYPE.KRETPROBE) {
    const addr = u64(info, P.kprobe.addr);
    const offset = u32(info, P.kprobe.offset);
    const missed = u64(info, P.kprobe.missed);
    const cookie = u64(info, P.kprobe.cookie);
    fields.push(
      ['retprobe', type === BPF_PERF_EVENT_TYPE.KRETPROBE],
      ['addr', Number(addr)],
      ['func', info.name],
      ['offset', offset],
      ['missed', Number(missed)],
      ['cookie', Number(cookie)],
    );
    if (info.name === '' && !addr) return '';
    let out = `\n\t${type === BPF_PERF_EVENT_TYPE.KRETPROBE ? 'kretprobe' : 'kprobe'} ${addr ? `${addr.toString(16)} ` : ''}${info.name}`;
    if (offset) out += `+0x${offset.toString(16)}`;
    if (missed) out += `  missed ${missed}`;
    if (cookie) out += `  cookie ${cookie}`;
    return `${out}  `;
  }
  if (type === BPF_PERF_EVENT_TYPE.TRACEPOINT) {
    const cookie = u64(info, P.tracepoint.cookie);
    fields.push(['tracepoint', info.name], ['cookie', Number(cookie)]);
    if (info.name === '') return '';
    return `\n\ttracepoint ${info.name}  ${cookie ? `cookie ${cookie}  ` : ''}`;
  }
  if (type === BPF_PERF_EVENT_TYPE.EVENT) {
    const config = u64(info, P.event.config);
    const eventType = u32(info, P.event.type);
    const cookie = u64(info, P.event.cookie);
    const typeName = PERF_TYPE_NAMES.get(eventType);
    const configName = eventType === PERF_TYPE.SOFTWARE ? SW_EVENT_NAMES.get(Number(config)) : undefined;
    fields.push(['event_type', typeName ?? eventType], ['event_config', configName ?? Number(config)], ['cookie', Number(cookie)]);
    return `\n\tevent ${typeName === undefined ? `${eventType} :` : `${typeName}:`}${configName ?? String(config)}  ${cookie ? `cookie ${cookie}  ` : ''}`;
  }
  return '';
}

/** bpftool's link_parse_fd: `id ID` or `pinned PATH`. */
type LinkHandle = { readonly kind: 'id'; readonly id: number } | { readonly kind: 'pinned'; readonly path: string };

function parseLinkHandle(words: Words): LinkHandle {
  const keyword = words.next('a link (id ID | pinned PATH)');
  if (keyword === 'id') return { kind: 'id', id: words.uint('id', 0xffff_ffff) };
  if (keyword === 'pinned') return { kind: 'pinned', path: words.next('a path after pinned') };
  throw new UsageError(`expected 'id' or 'pinned', got: '${keyword}'?`);
}

function* linkFd(libc: Libc, handle: LinkHandle): Sys<number> {
  if (handle.kind === 'id') {
    const fd = yield* libc.bpfLinkGetFdById(handle.id);
    if (fd < 0) throw new CliError(`failed to get link with ID ${handle.id}: ${strerror(-fd)}`);
    return fd;
  }
  const fd = yield* libc.bpfObjGet(handle.path);
  if (fd < 0) throw new CliError(`bpf obj get (${handle.path}): ${strerror(-fd)}`);
  return fd;
}

/** Every link's fd, through LINK_GET_NEXT_ID and LINK_GET_FD_BY_ID (do_show's loop; a link gone meanwhile is skipped). */
function* allLinkFds(libc: Libc): Sys<number[]> {
  const fds: number[] = [];
  let id = 0;
  for (;;) {
    const next = yield* libc.bpfLinkGetNextId(id);
    if (next < 0) return fds;
    id = next;
    const fd = yield* libc.bpfLinkGetFdById(id);
    if (fd >= 0) fds.push(fd);
  }
}

const showVerb: Verb = {
  name: 'link show',
  summary: 'List links (all, or one by id or pin) as bpftool link show does',
  synopsis: '[id ID | pinned PATH]',
  description: `Print each BPF link: id, type, program, and what it is attached to (tracepoint, kprobe function, raw
tracepoint, interface, attach type, cookie), as bpftool link show (or JSON).`,
  parse(words) {
    const handle = words.done ? undefined : parseLinkHandle(words);
    words.end();
    return function* (ctx) {
      const fds = handle === undefined ? yield* allLinkFds(ctx.libc) : [yield* linkFd(ctx.libc, handle)];
      const shown: { plain: string; fields: JsonField[] }[] = [];
      for (const fd of fds) {
        shown.push(yield* showLink(ctx, fd));
        yield* ctx.libc.close(fd);
      }
      if (ctx.mode === 'plain') {
        ctx.io.out(shown.map((s) => s.plain).join(''));
        return;
      }
      const w = jsonWriter(ctx.mode);
      if (handle === undefined) w.startArray();
      for (const s of shown) writeFields(w, s.fields);
      if (handle === undefined) w.endArray();
      ctx.io.out(w.finish());
    };
  },
};

const detachVerb: Verb = {
  name: 'link detach',
  summary: 'Detach a link (BPF_LINK_DETACH): the link stays, with nothing attached',
  synopsis: 'id ID | pinned PATH',
  description: `Detach the link with BPF_LINK_DETACH, as bpftool link detach: the program stops running at its hook,
the link object stays (and shows with prog 0 where the kernel lets go of the program) until its last fd and pin go.`,
  parse(words) {
    const handle = parseLinkHandle(words);
    words.end();
    return function* (ctx) {
      const fd = yield* linkFd(ctx.libc, handle);
      const ret = yield* ctx.libc.bpfLinkDetach(fd);
      yield* ctx.libc.close(fd);
      if (ret < 0) throw new CliError(`failed link detach: ${strerror(-ret)}`);
      if (ctx.mode !== 'plain') ctx.io.out('null\n');
    };
  },
};

export const LINK_VERBS: readonly Verb[] = [showVerb, detachVerb];
