/**
 * What the perf-event attach tests share: loading a committed clang object with the loader, and the steps
 * libbpf takes to attach through perf events (tools/lib/bpf/libbpf.c: the tracepoint id from tracefs, the
 * kprobe PMU's type and retprobe bit from sysfs, perf_event_open with pid -1 on CPU 0, then BPF_LINK_CREATE
 * with BPF_PERF_EVENT, or PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE), written against the libc syscalls.
 */
import { readFileSync } from 'node:fs';
import { load, openObject, type LoadedObject } from '@ebpf-sim/loader';
import { BPF_ATTACH_TYPE, BPF_LINK_INFO, PERF_EVENT_IOC, PERF_FLAG, type Libc, type PerfEventAttrInput, type Sys } from '@ebpf-sim/uapi';

/** Load `obj/NAME.bpf.o` of apps/cli/fixtures/attach. */
export function* loadAttachObject(libc: Libc, name: string): Sys<LoadedObject> {
  const bytes = new Uint8Array(readFileSync(new URL(`../../fixtures/attach/obj/${name}.bpf.o`, import.meta.url)));
  return yield* load(openObject(bytes, { name }), libc);
}

/** The fd of a loaded object's program, or a thrown error naming it. */
export function progFd(loaded: LoadedObject, name: string): number {
  const prog = loaded.programs.get(name);
  if (prog === undefined) throw new Error(`the object has no program ${name}`);
  return prog.fd;
}

/** A whole small file as text (tracefs and sysfs files), or a thrown error with the errno. */
export function* readText(libc: Libc, path: string): Sys<string> {
  const fd = yield* libc.open(path);
  if (fd < 0) throw new Error(`open ${path}: ${fd}`);
  const bytes = yield* libc.readAll(fd);
  yield* libc.close(fd);
  if (!bytes.ok) throw new Error(`read ${path}: -${bytes.errno}`);
  return new TextDecoder().decode(bytes.value);
}

/** libbpf's determine_tracepoint_id: events/CAT/NAME/id. */
export function* tracepointId(libc: Libc, category: string, name: string): Sys<number> {
  return Number.parseInt(yield* readText(libc, `/sys/kernel/tracing/events/${category}/${name}/id`), 10);
}

/** perf_event_open(attr, pid -1, cpu 0, group -1, PERF_FLAG_FD_CLOEXEC), as libbpf opens tracepoints and kprobes. */
export function* perfOpen(libc: Libc, attr: PerfEventAttrInput, pid = -1, cpu = 0): Sys<number> {
  return yield* libc.perfEventOpen(attr, pid, cpu, -1, PERF_FLAG.FD_CLOEXEC);
}

/**
 * libbpf's perf_event_open_probe for a kprobe: the PMU type from /sys/bus/event_source/devices/kprobe/type, the
 * retprobe bit from format/retprobe ("config:N"), config1 = a pointer to the function name, config2 = offset.
 */
export function* perfOpenKprobe(libc: Libc, fn: string, retprobe: boolean, offset = 0): Sys<number> {
  const type = Number.parseInt(yield* readText(libc, '/sys/bus/event_source/devices/kprobe/type'), 10);
  const format = yield* readText(libc, '/sys/bus/event_source/devices/kprobe/format/retprobe');
  const bit = Number.parseInt(/^config:(\d+)/.exec(format)?.[1] ?? 'NaN', 10);
  if (!Number.isInteger(type) || !Number.isInteger(bit)) throw new Error(`the kprobe PMU's sysfs files say ${type} and ${format}`);
  const mark = libc.stack.mark();
  try {
    const name = libc.stack.pushString(fn);
    return yield* perfOpen(libc, { type, config: retprobe ? 2 ** bit : 0, config1: name, config2: offset });
  } finally {
    libc.stack.release(mark);
  }
}

/** BPF_LINK_CREATE(prog, perf event, BPF_PERF_EVENT) with a bpf_cookie. */
export function* perfLinkCreate(libc: Libc, prog: number, perfFd: number, cookie = 0, flags = 0): Sys<number> {
  return (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog, target_fd: perfFd, attach_type: BPF_ATTACH_TYPE.PERF_EVENT, flags, bpf_cookie: cookie })).ret;
}

/** PERF_EVENT_IOC_SET_BPF then PERF_EVENT_IOC_ENABLE (libbpf's path without perf links): 0 or the first -errno. */
export function* perfSetBpf(libc: Libc, perfFd: number, prog: number): Sys<number> {
  const set = yield* libc.ioctl(perfFd, PERF_EVENT_IOC.SET_BPF, prog);
  if (set < 0) return set;
  return yield* libc.ioctl(perfFd, PERF_EVENT_IOC.ENABLE, 0);
}

/**
 * bpf_link_info of a perf link, with a name buffer of `nameLen` bytes behind the union's name pointer (at
 * `nameField`; none for 0) and `claimedLen` (default `nameLen`) in its length field.
 */
export function* perfLinkInfo(
  libc: Libc,
  linkFd: number,
  nameField: number,
  nameLenField: number,
  nameLen: number,
  claimedLen = nameLen,
): Sys<{ ret: number; info: DataView; name: string }> {
  const mark = libc.stack.mark();
  try {
    const nameAddress = nameLen === 0 ? 0 : libc.stack.pushBytes(new Uint8Array(nameLen));
    const info = new Uint8Array(BPF_LINK_INFO.size);
    const view = new DataView(info.buffer);
    view.setBigUint64(nameField, BigInt(nameAddress), true);
    view.setUint32(nameLenField, claimedLen, true);
    const infoAddress = libc.stack.pushBytes(info);
    const { ret } = yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: linkFd, info_len: info.length, info: infoAddress });
    const out = libc.stack.readBytes(infoAddress, info.length);
    const nameBytes = nameLen === 0 ? new Uint8Array(0) : libc.stack.readBytes(nameAddress, nameLen);
    const end = nameBytes.indexOf(0);
    return {
      ret,
      info: new DataView(out.buffer, out.byteOffset, out.byteLength),
      name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? nameBytes.length : end)),
    };
  } finally {
    libc.stack.release(mark);
  }
}

/** A value of an ARRAY or HASH map of u64/s64 values at a u32 key (0 when absent), from user space. */
export function* mapU64(loaded: LoadedObject, map: string, key: number): Sys<number> {
  const handle = loaded.maps.get(map);
  if (handle === undefined) throw new Error(`the object has no map ${map}`);
  const keyBytes = new Uint8Array(4);
  new DataView(keyBytes.buffer).setUint32(0, key, true);
  const value = yield* handle.lookup(keyBytes);
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(BigInt.asIntN(64, value));
  if (value instanceof Uint8Array) return Number(new DataView(value.buffer, value.byteOffset).getBigInt64(0, true));
  throw new Error(`map ${map}: a value of unexpected shape ${JSON.stringify(value)}`);
}
