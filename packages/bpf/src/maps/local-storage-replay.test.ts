/**
 * The local storages, the cgroup storages and USER_RINGBUF against Linux: fixtures/storage/record-storage.c ran
 * on Linux 6.18 (fixtures/storage/rebuild.sh, root) and its answers are in linux-results.txt. The create checks,
 * fdinfo and user-space element commands are made here through this kernel's bpf() from a user process, as
 * the C program made them; user ring buffer mmap and bpf_user_ringbuf_drain on the map itself (a SYSCALL
 * program with a callback cannot be loaded here yet: the drain's callback is the callbacks work's), with
 * records written through the pages mmap hands out, the callback returning what the C program's returns.
 * Every line must come out as Linux printed it.
 */
import { readFileSync } from 'node:fs';
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_RB, BPF_RINGBUF, BPF_UPDATE, Errno, MAP, O, PAGE_SIZE, PROT, strerror, type BpfAttr, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { mapTestEnv } from '../testing/map-env.js';
import { readFdinfo, runUserProgram } from '../testing/user-program.js';
import { bpfMapMmap } from './map.js';
import { createMap } from './registry.js';
import { UserRingBufMap } from './ringbuf.js';

const recorded = readFileSync(new URL('../../fixtures/storage/linux-results.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'));

/** The recording's BTF: [1] int, [2] u64, [3] u8, [4] FUNC_PROTO int(void), [5] FUNC main, [6] FUNC cb. */
function btfBlob(): Uint8Array {
  const types = [1, 1 << 24, 4, (1 << 24) | 32, 5, 1 << 24, 8, 64, 9, 1 << 24, 1, 8, 0, 13 << 24, 1, 12, 12 << 24, 4, 17, 12 << 24, 4];
  const strings = '\0int\0u64\0u8\0main\0cb\0';
  const blob = new Uint8Array(24 + 4 * types.length + strings.length);
  const view = new DataView(blob.buffer);
  view.setUint16(0, 0xeb9f, true);
  blob[2] = 1;
  [24, 0, 4 * types.length, 4 * types.length, strings.length].forEach((word, i) => view.setUint32(4 + 4 * i, word, true));
  types.forEach((word, i) => view.setUint32(24 + 4 * i, word >>> 0, true));
  blob.set(
    [...strings].map((c) => c.charCodeAt(0)),
    24 + 4 * types.length,
  );
  return blob;
}

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => ` ${b.toString(16).padStart(2, '0')}`).join('');

function* syscallSide(libc: Libc, out: string[]): Generator<number, void, number> {
  const btf = (yield* libc.bpfBtfLoad(btfBlob())).fd;
  expect(btf).toBeGreaterThan(0);
  const create = function* (name: string, mapType: number, keySize: number, valueSize: number, entries: number, flags: number, keyId = 0, valueId = 0) {
    const attr: Partial<BpfAttr<'MAP_CREATE'>> = { map_type: mapType, key_size: keySize, value_size: valueSize, max_entries: entries, map_flags: flags };
    const fd = yield* libc.bpfMapCreate(keyId !== 0 || valueId !== 0 ? { ...attr, btf_fd: btf, btf_key_type_id: keyId, btf_value_type_id: valueId } : attr);
    out.push(`${name} | create ${fd < 0 ? strerror(-fd) : 'ok'}`);
    if (fd < 0) out.push(`${name} | errno ${-fd}`);
    return fd;
  };
  const fdinfo = function* (name: string, fd: number) {
    for (const line of yield* readFdinfo(libc, fd)) out.push(`${name} | fdinfo ${line.replace(/^(map_id|btf_id):\t\d+$/, '$1:\t<id>')}`);
  };
  type Cmd = 'lookup' | 'update' | 'delete' | 'next_key';
  const elem = function* (name: string, cmd: Cmd, fd: number, key: Uint8Array | null, flags: number, size: number) {
    let rc: number;
    let value: Uint8Array | undefined;
    if (cmd === 'lookup' || cmd === 'next_key') {
      const got = cmd === 'lookup' ? yield* libc.bpfMapLookup(fd, key, size, flags) : yield* libc.bpfMapGetNextKey(fd, key, size);
      rc = got.ok ? 0 : -got.errno;
      if (got.ok && cmd === 'lookup') value = got.value;
    } else if (cmd === 'update') rc = yield* libc.bpfMapUpdate(fd, key, u64le(0x1122334455667788n, size), flags);
    else rc = yield* libc.bpfMapDelete(fd, key);
    out.push(`${name} | ${cmd} flags ${flags}: ${rc}${value === undefined ? '' : ` value${hex(value)}`}`);
  };
  const { NO_PREALLOC, RDONLY, RDONLY_PROG, WRONLY_PROG, CLONE, NUMA_NODE } = BPF_MAP_F;

  for (const [kind, type] of [
    ['sk_storage', BPF_MAP_TYPE.SK_STORAGE],
    ['inode_storage', BPF_MAP_TYPE.INODE_STORAGE],
    ['task_storage', BPF_MAP_TYPE.TASK_STORAGE],
    ['cgrp_storage', BPF_MAP_TYPE.CGRP_STORAGE],
  ] as const) {
    yield* create(`${kind} no btf`, type, 4, 8, 0, NO_PREALLOC);
    yield* create(`${kind} no no_prealloc`, type, 4, 8, 0, 0, 1, 2);
    yield* create(`${kind} max_entries 1`, type, 4, 8, 1, NO_PREALLOC, 1, 2);
    yield* create(`${kind} key 8`, type, 8, 8, 0, NO_PREALLOC, 2, 2);
    yield* create(`${kind} value 0`, type, 4, 0, 0, NO_PREALLOC, 1, 2);
    yield* create(`${kind} value 65407`, type, 4, 65407, 0, NO_PREALLOC, 1, 3);
    yield* create(`${kind} value 65408`, type, 4, 65408, 0, NO_PREALLOC, 1, 3);
    yield* create(`${kind} rdonly`, type, 4, 8, 0, NO_PREALLOC | RDONLY, 1, 2);
    yield* create(`${kind} rdonly_prog`, type, 4, 8, 0, NO_PREALLOC | RDONLY_PROG, 1, 2);
    yield* create(`${kind} key u64 type`, type, 4, 8, 0, NO_PREALLOC, 2, 2);
    yield* create(`${kind} key u8 type`, type, 4, 8, 0, NO_PREALLOC, 3, 2);
    const clone = yield* create(`${kind} clone`, type, 4, 8, 0, NO_PREALLOC | CLONE, 1, 2);
    if (clone >= 0) yield* libc.close(clone);
    const fd = yield* create(`${kind} k4 v8`, type, 4, 8, 0, NO_PREALLOC, 1, 2);
    expect(fd).toBeGreaterThan(0);
    yield* fdinfo(`${kind} k4 v8`, fd);
    const devnull = yield* libc.open('/dev/null', O.RDONLY);
    const key = u64le(BigInt(devnull), 4);
    const name = `${kind} /dev/null`;
    yield* elem(name, 'lookup', fd, key, 0, 8);
    yield* elem(name, 'update', fd, key, 0, 8);
    yield* elem(name, 'lookup', fd, key, 0, 8);
    yield* elem(name, 'update', fd, key, BPF_UPDATE.NOEXIST, 8);
    yield* elem(name, 'update', fd, key, BPF_UPDATE.F_LOCK, 8);
    yield* elem(name, 'update', fd, key, 8, 8);
    yield* elem(name, 'delete', fd, key, 0, 8);
    yield* elem(name, 'delete', fd, key, 0, 8);
    yield* elem(name, 'update', fd, key, BPF_UPDATE.EXIST, 8);
    yield* elem(name, 'lookup', fd, key, BPF_UPDATE.F_LOCK, 8);
    yield* elem(name, 'next_key', fd, key, 0, 4);
    yield* elem(name, 'next_key', fd, null, 0, 4);
    yield* fdinfo(name, fd);
    const closed = u64le(999n, 4);
    yield* elem(`${kind} closed fd`, 'lookup', fd, closed, 0, 8);
    yield* elem(`${kind} closed fd`, 'update', fd, closed, 0, 8);
    yield* elem(`${kind} closed fd`, 'delete', fd, closed, 0, 8);
    yield* libc.close(devnull);
    yield* libc.close(fd);
  }

  for (const [kind, type, maxValue] of [
    ['cgroup_storage', BPF_MAP_TYPE.CGROUP_STORAGE, 65407],
    ['percpu_cgroup_storage', BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE, 32768],
  ] as const) {
    yield* create(`${kind} key 4`, type, 4, 16, 0, 0);
    yield* create(`${kind} key 12`, type, 12, 16, 0, 0);
    yield* create(`${kind} max_entries 1`, type, 16, 16, 1, 0);
    yield* create(`${kind} value 0`, type, 16, 0, 0, 0);
    let ok = yield* create(`${kind} value max`, type, 16, maxValue, 0, 0);
    if (ok >= 0) yield* libc.close(ok);
    yield* create(`${kind} value max+1`, type, 16, maxValue + 1, 0, 0);
    yield* create(`${kind} no_prealloc`, type, 16, 16, 0, NO_PREALLOC);
    yield* create(`${kind} rdonly_prog wronly_prog`, type, 16, 16, 0, RDONLY_PROG | WRONLY_PROG);
    ok = yield* create(`${kind} rdonly_prog`, type, 16, 16, 0, RDONLY_PROG);
    if (ok >= 0) yield* libc.close(ok);
    ok = yield* create(`${kind} numa_node`, type, 16, 16, 0, NUMA_NODE);
    if (ok >= 0) yield* libc.close(ok);
    const k8 = yield* create(`${kind} k8 v16`, type, 8, 16, 0, 0);
    yield* fdinfo(`${kind} k8 v16`, k8);
    const fd = yield* create(`${kind} k16 v16`, type, 16, 16, 0, 0);
    yield* fdinfo(`${kind} k16 v16`, fd);
    const key = new Uint8Array(16);
    // The C program's value buffer is 16 bytes × 64 CPUs; a lookup prints no value (none succeeds).
    const name = `${kind} empty`;
    const valueSize = type === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE ? 16 * 2 : 16;
    yield* elem(name, 'lookup', fd, key, 0, valueSize);
    yield* elem(name, 'update', fd, key, 0, valueSize);
    yield* elem(name, 'update', fd, key, BPF_UPDATE.EXIST, valueSize);
    yield* elem(name, 'update', fd, key, BPF_UPDATE.NOEXIST, valueSize);
    yield* elem(name, 'update', fd, key, BPF_UPDATE.F_LOCK, valueSize);
    yield* elem(name, 'delete', fd, key, 0, valueSize);
    yield* elem(name, 'next_key', fd, null, 0, 16);
    yield* elem(name, 'next_key', fd, key, 0, 16);
    yield* libc.close(fd);
    yield* libc.close(k8);
  }

  const U = BPF_MAP_TYPE.USER_RINGBUF;
  yield* create('user_ringbuf 4095', U, 0, 0, 4095, 0);
  yield* create('user_ringbuf 0', U, 0, 0, 0, 0);
  yield* create('user_ringbuf 12288', U, 0, 0, 12288, 0);
  yield* create('user_ringbuf key 4', U, 4, 0, 4096, 0);
  yield* create('user_ringbuf value 4', U, 0, 4, 4096, 0);
  yield* create('user_ringbuf no_prealloc', U, 0, 0, 4096, NO_PREALLOC);
  yield* create('user_ringbuf rdonly_prog', U, 0, 0, 4096, RDONLY_PROG);
  const big = yield* create('user_ringbuf 16384', U, 0, 0, 16384, 0);
  yield* fdinfo('user_ringbuf 16384', big);
  yield* libc.close(big);
  const fd = yield* create('user_ringbuf 4096', U, 0, 0, 4096, 0);
  yield* fdinfo('user_ringbuf 4096', fd);
  yield* elem('user_ringbuf', 'lookup', fd, null, 0, 0);
  yield* elem('user_ringbuf', 'update', fd, null, 0, 0);
  yield* elem('user_ringbuf', 'delete', fd, null, 0, 0);
  yield* elem('user_ringbuf', 'next_key', fd, null, 0, 0);
  yield* libc.close(fd);
}

/** `value` as `size` little-endian bytes (the C program's u64 0x1122334455667788 and fds as int keys). */
function u64le(value: bigint, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

/** mmap and the drain, on the map: the C program's producer writing through the pages mmap gives user space. */
function ringSide(out: string[]): void {
  const env = mapTestEnv();
  const map = createMap({ mapType: BPF_MAP_TYPE.USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 }, env);
  if (!(map instanceof UserRingBufMap)) throw new Error('user ringbuf not created');
  const mmapRc = (pgoff: number, prot: number, flags: number): number => {
    const frames = bpfMapMmap(map, pgoff, 1, prot, flags);
    return typeof frames === 'number' ? frames : 0;
  };
  const RW = PROT.READ | PROT.WRITE;
  out.push(`user_ringbuf mmap consumer rw | ${mmapRc(0, RW, MAP.SHARED)}`);
  out.push(`user_ringbuf mmap consumer ro | ${mmapRc(0, PROT.READ, MAP.SHARED)}`);
  out.push(`user_ringbuf mmap producer rw | ${mmapRc(1, RW, MAP.SHARED)}`);
  out.push(`user_ringbuf mmap data rw | ${mmapRc(2, RW, MAP.SHARED)}`);
  out.push(`user_ringbuf mmap producer private | ${mmapRc(1, PROT.READ, MAP.PRIVATE)}`);
  // The C program's mappings: the consumer page read-only, then producer page + data twice read-write.
  const consumer = bpfMapMmap(map, 0, 1, PROT.READ, MAP.SHARED);
  const producer = bpfMapMmap(map, 1, 3, RW, MAP.SHARED);
  if (typeof consumer === 'number' || typeof producer === 'number') throw new Error('mmap');
  const view = env.phys.view;
  const bytes = env.phys.bytes;
  const readPos = (page: number): number => view.getUint32(page, true) + view.getUint32(page + 4, true) * 2 ** 32;
  const prodPage = producer[0]!;
  // The data pages are contiguous in what mmap gave (the ring is one physical run); address by offset from the first.
  const data = producer[1]!;
  const setProducer = (pos: number): void => {
    view.setUint32(prodPage, pos >>> 0, true);
    view.setUint32(prodPage + 4, Math.floor(pos / 2 ** 32), true);
  };
  const produce = (len: number, bits: number, fill: number): void => {
    const prod = readPos(prodPage);
    const hdr = data + (prod & 4095);
    for (let i = 0; i < len; i++) bytes[data + ((prod + 8 + i) & 4095)] = fill;
    view.setUint32(hdr + 4, 0, true);
    view.setUint32(hdr, (len | bits) >>> 0, true);
    setProducer(prod + ((len + 8 + 7) & ~7));
  };
  // The callbacks the recording's programs passed: `return 0` and `return 1`; each reads its dynptr.
  const seen: number[] = [];
  const callback =
    (stop: number) =>
    (dynptr: number): number => {
      seen.push(view.getUint32(dynptr + 8, true) & 0xffffff);
      return stop;
    };
  const step = (label: string, flags: number, stop = 0): void => {
    const ret = map.drain(flags, callback(stop));
    out.push(`user_ringbuf drain ${label} | ${ret} consumer ${readPos(consumer[0]!)} producer ${readPos(prodPage)}`);
  };
  step('empty', 0);
  step('bad flags', 4);
  produce(4, 0, 0xaa);
  produce(13, 0, 0xbb);
  step('two records', 0);
  produce(4, BPF_RINGBUF.DISCARD_BIT, 0xcc);
  produce(8, 0, 0xdd);
  step('discarded then one', 0);
  produce(4, 0, 0x11);
  produce(4, 0, 0x22);
  step('callback stops', 0, 1);
  step('after stop', BPF_RB.FORCE_WAKEUP);
  produce(4, BPF_RINGBUF.BUSY_BIT, 0xee);
  step('busy', 0);
  view.setUint32(data + (readPos(consumer[0]!) & 4095), 4, true);
  step('busy cleared', 0);
  produce(5000, 0, 0);
  setProducer(readPos(consumer[0]!) + 16);
  step('too long', 0);
  setProducer(readPos(consumer[0]!) + 12);
  step('producer unaligned', 0);
  // Each callback saw its record's length through the dynptr (the discarded and busy ones never reached it).
  expect(seen).toEqual([4, 13, 8, 4, 4, 4]);
  // Wake-ups: after each drain that visited a record, and the forced one (the failed and empty drains visited none).
  expect(map.wakeups).toBe(5);
  map.free();
  expect(env.phys.usageOf(map.owner).bytes).toBe(0);
}

describe('local storages, cgroup storages and USER_RINGBUF against Linux 6.18', () => {
  it('print what the real kernel printed (fixtures/storage/linux-results.txt)', () => {
    const kernel = createKernel({ cpus: 2 });
    registerBpf(kernel);
    const out: string[] = [];
    runUserProgram(kernel, (libc) => syscallSide(libc, out));
    ringSide(out);
    expect(out).toEqual(recorded);
  });

  it('a drain from inside a drain of the same ring is EBUSY, and the outer one goes on', () => {
    const env = mapTestEnv();
    const map = createMap({ mapType: BPF_MAP_TYPE.USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 }, env);
    if (!(map instanceof UserRingBufMap)) throw new Error('user ringbuf');
    const prod = map.base + 2 * PAGE_SIZE;
    env.phys.view.setUint32(map.data, 4, true);
    env.phys.view.setUint32(prod, 16, true);
    let inner = 0;
    expect(map.drain(0, () => ((inner = map.drain(0, () => 0)), 0))).toBe(1);
    expect(inner).toBe(-Errno.EBUSY);
    map.free();
  });
});
