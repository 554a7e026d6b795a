/**
 * What the raw tracepoint, trampoline and LSM end-to-end tests share: the committed objects, and the attach
 * syscalls as libbpf issues them (bpf_raw_tracepoint_open_opts, bpf_link_create), until the loader's attach()
 * makes them.
 */
import { readFileSync } from 'node:fs';
import type { LoadedObject } from '@ebpf-sim/loader';
import type { Libc } from '@ebpf-sim/uapi';
import { expect } from 'vitest';
import { openAndLoad } from '../loader/corpus.js';

/** The committed clang object fixtures/attach/obj/NAME.bpf.o. */
export function attachObject(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../fixtures/attach/obj/${name}.bpf.o`, import.meta.url)));
}

/** Open and load NAME's object with the loader; fails the test with the loader's message otherwise. */
export function* loadAttachObject(libc: Libc, name: string): Generator<number, LoadedObject, number> {
  const result = yield* openAndLoad(libc, `${name}.bpf.o`, attachObject(name));
  if (!result.ok) throw new Error(`${name}: ${result.error}`);
  return result.loaded;
}

/** The fd of program `name` of `loaded`. */
export function progFd(loaded: LoadedObject, name: string): number {
  const prog = loaded.programs.get(name);
  if (prog === undefined) throw new Error(`no program ${name} (have ${[...loaded.programs.keys()].join(', ')})`);
  return prog.fd;
}

/** The fd of map `name` of `loaded`. */
export function mapFd(loaded: LoadedObject, name: string): number {
  const map = loaded.maps.get(name);
  if (map === undefined) throw new Error(`no map ${name} (have ${[...loaded.maps.keys()].join(', ')})`);
  return map.fd;
}

/** BPF_RAW_TRACEPOINT_OPEN: `name` (null: none, as for tp_btf, fentry and lsm), the program, the cookie. */
export function* rawTracepointOpen(libc: Libc, name: string | null, prog: number, cookie = 0): Generator<number, number, number> {
  const mark = libc.stack.mark();
  try {
    return (yield* libc.bpfAttr('RAW_TRACEPOINT_OPEN', { name: name === null ? 0 : libc.stack.pushString(name), prog_fd: prog, cookie })).ret;
  } finally {
    libc.stack.release(mark);
  }
}

/** BPF_LINK_CREATE for a tracing program: attach_type and link_create.tracing.cookie. */
export function* tracingLinkCreate(libc: Libc, prog: number, attachType: number, cookie = 0): Generator<number, number, number> {
  return (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog, attach_type: attachType, tracing_cookie: cookie })).ret;
}

const u32 = (value: number): Uint8Array => new Uint8Array(new Uint32Array([value]).buffer);
const u64 = (value: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(value)]).buffer);

/** Put `value` at u32 `key` of an array map whose values are u32 or u64 (`size` bytes). */
export function* setArray(libc: Libc, fd: number, key: number, value: number, size: 4 | 8): Generator<number, void, number> {
  expect(yield* libc.bpfMapUpdate(fd, u32(key), size === 4 ? u32(value) : u64(value))).toBe(0);
}

/** The u64 at u32 `key` of a map (undefined when there is none). */
export function* lookupU64(libc: Libc, fd: number, key: number): Generator<number, bigint | undefined, number> {
  const found = yield* libc.bpfMapLookup(fd, u32(key), 8);
  return found.ok ? new DataView(found.value.buffer, found.value.byteOffset).getBigUint64(0, true) : undefined;
}

/** The u64 values of an array map's first `count` slots, as numbers. */
export function* arrayU64s(libc: Libc, fd: number, count: number): Generator<number, number[], number> {
  const out: number[] = [];
  for (let key = 0; key < count; key++) out.push(Number((yield* lookupU64(libc, fd, key)) ?? -1n));
  return out;
}

/** /proc/self/fdinfo/<fd>'s lines after the file's own four (pos, flags, mnt_id, ino). */
export function* fdinfo(libc: Libc, fd: number): Generator<number, string[], number> {
  const file = yield* libc.open(`/proc/self/fdinfo/${fd}`);
  const text = yield* libc.readAll(file);
  yield* libc.close(file);
  if (!text.ok) throw new Error(`fdinfo: ${text.errno}`);
  return libc.decode(text.value).split('\n').slice(4, -1);
}
