import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import {
  BPF_ATTR_SIZE,
  BPF_CMD,
  BPF_MAP_F,
  BPF_MAP_INFO,
  BPF_MAP_TYPE,
  BPF_UPDATE,
  Errno,
  Libc,
  O,
  PAGE_SIZE,
  SyscallNr,
  encodeBpfAttr,
  type Result,
  type UserProgram,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { ENOTSUPP } from '../maps/map.js';
import { registerBpf, type BpfSyscall } from './bpf-syscall.js';

const CPUS = 2;

/** Run `program` as root (or `uid`) in a kernel with bpf() registered; returns the kernel and the subsystem. */
function run(
  program: (libc: Libc, kernel: Kernel) => Generator<number, void, number>,
  uid = 0,
): { kernel: Kernel; bpf: BpfSyscall; status: number | undefined } {
  const kernel = createKernel({ cpus: CPUS });
  const bpf = registerBpf(kernel);
  const user: UserProgram = function* (ctx) {
    yield* program(new Libc(ctx), kernel);
    return 0;
  };
  kernel.vfs.registerProgram('/bin/test', user);
  const pid = kernel.spawn('/bin/test', { uid });
  kernel.run({ untilNs: 100e9 });
  // An expect that fails inside the program kills it: the crash record carries the assertion.
  expect(kernel.crashes).toEqual([]);
  return { kernel, bpf, status: kernel.exited.get(pid)?.status };
}

/** Bytes and allocations charged to every bpf map. */
function mapMemory(kernel: Kernel): { bytes: number; allocations: number } {
  let bytes = 0;
  let allocations = 0;
  for (const charge of kernel.phys.usage()) {
    if (!charge.owner.startsWith('bpf-map:')) continue;
    bytes += charge.bytes;
    allocations += charge.allocations;
  }
  return { bytes, allocations };
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);

/** The map types bpf() serves here, with what BPF_MAP_DELETE_ELEM answers for each (arrays cannot delete: EINVAL). */
const TYPES = [
  { type: BPF_MAP_TYPE.ARRAY, percpu: false, deletes: -Errno.EINVAL },
  { type: BPF_MAP_TYPE.PERCPU_ARRAY, percpu: true, deletes: -Errno.EINVAL },
  { type: BPF_MAP_TYPE.HASH, percpu: false, deletes: 0 },
  { type: BPF_MAP_TYPE.PERCPU_HASH, percpu: true, deletes: 0 },
  { type: BPF_MAP_TYPE.LRU_HASH, percpu: false, deletes: 0 },
  { type: BPF_MAP_TYPE.LRU_PERCPU_HASH, percpu: true, deletes: 0 },
] as const;

describe('bpf(2) end to end through the libc wrapper', () => {
  it('creates each map type, updates, looks up, iterates, deletes, freezes, pins, gets, and frees everything', () => {
    const seen: string[] = [];
    const memory: Array<{ bytes: number; allocations: number }> = [];
    const { kernel, bpf, status } = run(function* (libc, k) {
      memory.push(mapMemory(k));
      const fds: number[] = [];
      for (const [index, { type, percpu, deletes }] of TYPES.entries()) {
        const name = `m${index}`;
        const fd = yield* libc.bpfMapCreate({ map_type: type, key_size: 4, value_size: 8, max_entries: 4, map_name: name });
        expect(fd).toBeGreaterThanOrEqual(0);
        fds.push(fd);
        const valueSize = percpu ? 8 * CPUS : 8;
        const value = new Uint8Array(valueSize).fill(index + 1);
        expect(yield* libc.bpfMapUpdate(fd, u32(1), value)).toBe(0);
        expect(yield* libc.bpfMapUpdate(fd, u32(2), value, BPF_UPDATE.ANY)).toBe(0);
        expect(yield* libc.bpfMapLookup(fd, u32(1), valueSize)).toEqual({ ok: true, value });
        // Iteration: from no key, then key by key to ENOENT.
        const keys: number[] = [];
        let key: Uint8Array | null = null;
        for (;;) {
          const next: Result<Uint8Array> = yield* libc.bpfMapGetNextKey(fd, key, 4);
          if (!next.ok) {
            expect(next.errno).toBe(Errno.ENOENT);
            break;
          }
          keys.push(new DataView(next.value.buffer, next.value.byteOffset).getUint32(0, true));
          key = next.value;
        }
        seen.push(`${name} keys=${keys.sort().join(',')}`);
        expect(yield* libc.bpfMapDelete(fd, u32(2))).toBe(deletes);
        const info = yield* libc.bpfMapGetInfo(fd);
        expect(info).toEqual({
          ok: true,
          value: { type, id: index + 1, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0, name, infoLen: BPF_MAP_INFO.size, btfVmlinuxValueTypeId: 0 },
        });
        expect(yield* libc.bpfObjPin(fd, `/sys/fs/bpf/${name}`)).toBe(0);
      }
      // A hash map: lookup-and-delete takes the element away.
      const hash = fds[2] ?? -1;
      expect(yield* libc.bpfMapLookupAndDelete(hash, u32(1), 8)).toEqual({ ok: true, value: new Uint8Array(8).fill(3) });
      expect(yield* libc.bpfMapLookup(hash, u32(1), 8)).toEqual({ ok: false, errno: Errno.ENOENT });
      // Freeze: user-space writes are refused, reads go on.
      const array = fds[0] ?? -1;
      expect(yield* libc.bpfMapFreeze(array)).toBe(0);
      expect(yield* libc.bpfMapUpdate(array, u32(0), u64(7))).toBe(-Errno.EPERM);
      expect(yield* libc.bpfMapLookup(array, u32(1), 8)).toEqual({ ok: true, value: new Uint8Array(8).fill(1) });
      // Ids: walk map_idr, and open one by id.
      const ids: number[] = [];
      for (let start = 0; ;) {
        const { ret, attr } = yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: start });
        if (ret === -Errno.ENOENT) break;
        expect(ret).toBe(0);
        ids.push(attr.next_id);
        start = attr.next_id;
      }
      expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
      const byId = (yield* libc.bpfAttr('MAP_GET_FD_BY_ID', { id: 3 })).ret;
      expect((yield* libc.bpfMapGetInfo(byId)).ok && (yield* libc.bpfMapGetInfo(byId))).toMatchObject({ value: { id: 3, name: 'm2' } });
      expect(yield* libc.close(byId)).toBe(0);
      // Close every fd: the pins keep the maps.
      for (const fd of fds) expect(yield* libc.close(fd)).toBe(0);
      expect(k.phys.usage().some((charge) => charge.owner === 'bpf-map:m1' && charge.allocations > 0)).toBe(true);
      const again = yield* libc.bpfObjGet('/sys/fs/bpf/m1', BPF_MAP_F.RDONLY);
      expect(yield* libc.bpfMapLookup(again, u32(1), 8 * CPUS)).toEqual({ ok: true, value: new Uint8Array(8 * CPUS).fill(2) });
      expect(yield* libc.bpfMapUpdate(again, u32(1), new Uint8Array(8 * CPUS))).toBe(-Errno.EPERM);
      expect(yield* libc.close(again)).toBe(0);
      for (let index = 0; index < TYPES.length; index++) expect(yield* libc.unlink(`/sys/fs/bpf/m${index}`)).toBe(0);
      memory.push(mapMemory(k));
      expect((yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: 0 })).ret).toBe(-Errno.ENOENT);
    });
    expect(status).toBe(0);
    expect(seen).toEqual(TYPES.map((_, index) => `m${index} keys=${index < 2 ? '0,1,2,3' : '1,2'}`));
    expect(memory).toEqual([
      { bytes: 0, allocations: 0 },
      { bytes: 0, allocations: 0 },
    ]);
    expect(bpf.maps.size).toBe(0);
    expect(mapMemory(kernel)).toEqual({ bytes: 0, allocations: 0 });
  });

  it('process exit closes its map fds and frees the maps; ids are not reused at once (idr_alloc_cyclic)', () => {
    const ids: number[] = [];
    let during = 0;
    const { kernel, bpf } = run(function* (libc, k) {
      for (let i = 0; i < 3; i++) {
        const fd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 4, max_entries: 8 });
        const info = yield* libc.bpfMapGetInfo(fd);
        if (info.ok) ids.push(info.value.id);
        if (i === 0) expect(yield* libc.close(fd)).toBe(0);
        else expect(yield* libc.bpfMapUpdate(fd, u32(i), u32(i))).toBe(0);
      }
      during = mapMemory(k).allocations;
    });
    expect(ids).toEqual([1, 2, 3]);
    expect(during).toBeGreaterThan(0);
    expect(bpf.maps.size).toBe(0);
    expect(mapMemory(kernel)).toEqual({ bytes: 0, allocations: 0 });
  });

  it('keyless and prefix maps: a bloom filter is asked with the value (nothing copied back), a queue pops through lookup-and-delete, an LPM trie matches the longest prefix', () => {
    const seen: string[] = [];
    const { kernel, status } = run(function* (libc) {
      // 10000 entries x 5 hashes: a 2^17-bit array, so three values leave no room for a false positive here.
      const bloom = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.BLOOM_FILTER, key_size: 0, value_size: 4, max_entries: 10000 });
      for (const v of [7, 8, 9]) expect(yield* libc.bpfMapUpdate(bloom, null, u32(v))).toBe(0);
      for (const v of [7, 9, 1000, 123456]) seen.push(`bloom ${v}: ${yield* libc.bpfMapContains(bloom, u32(v))}`);
      // A key for a keyless map is EINVAL (Linux __bpf_copy_key).
      const withKey = yield* libc.bpfMapLookup(bloom, u32(0), 4);
      seen.push(`bloom with a key: ${withKey.ok ? 'ok' : -withKey.errno}`);
      const queue = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.QUEUE, key_size: 0, value_size: 4, max_entries: 2 });
      for (const v of [1, 2]) expect(yield* libc.bpfMapUpdate(queue, null, u32(v))).toBe(0);
      const flagged = yield* libc.bpfMapLookupAndDelete(queue, null, 4, BPF_UPDATE.F_LOCK);
      seen.push(`pop with flags: ${flagged.ok ? 'ok' : -flagged.errno}`);
      for (let i = 0; i < 3; i++) {
        const popped = yield* libc.bpfMapLookupAndDelete(queue, null, 4);
        seen.push(`pop: ${popped.ok ? new Uint32Array(popped.value.buffer.slice(0))[0] : -popped.errno}`);
      }
      expect(yield* libc.close(bloom)).toBe(0);
      expect(yield* libc.close(queue)).toBe(0);
      // LPM_TRIE: struct bpf_lpm_trie_key { u32 prefixlen; u8 data[4]; }, the longest prefix wins.
      const lpmKey = (prefixlen: number, ...octets: number[]): Uint8Array => new Uint8Array([...u32(prefixlen), ...octets]);
      const lpm = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.LPM_TRIE, key_size: 8, value_size: 4, max_entries: 8, map_flags: BPF_MAP_F.NO_PREALLOC });
      expect(yield* libc.bpfMapUpdate(lpm, lpmKey(8, 10, 0, 0, 0), u32(8))).toBe(0);
      expect(yield* libc.bpfMapUpdate(lpm, lpmKey(16, 10, 1, 0, 0), u32(16))).toBe(0);
      for (const key of [lpmKey(32, 10, 1, 2, 3), lpmKey(32, 10, 2, 2, 3), lpmKey(32, 11, 1, 2, 3)]) {
        const found = yield* libc.bpfMapLookup(lpm, key, 4);
        seen.push(`lpm ${key.slice(4).join('.')}: ${found.ok ? new Uint32Array(found.value.buffer.slice(0))[0] : -found.errno}`);
      }
      expect(yield* libc.close(lpm)).toBe(0);
    });
    expect(status).toBe(0);
    expect(seen).toEqual([
      'bloom 7: 0',
      'bloom 9: 0',
      `bloom 1000: ${-Errno.ENOENT}`,
      `bloom 123456: ${-Errno.ENOENT}`,
      `bloom with a key: ${-Errno.EINVAL}`,
      `pop with flags: ${-Errno.EINVAL}`,
      'pop: 1',
      'pop: 2',
      `pop: ${-Errno.ENOENT}`,
      'lpm 10.1.2.3: 16',
      'lpm 10.2.2.3: 8',
      `lpm 11.1.2.3: ${-Errno.ENOENT}`,
    ]);
    expect(mapMemory(kernel)).toEqual({ bytes: 0, allocations: 0 });
  });
});

/**
 * What Linux 6.18's bpf() answered for the same cases (fixtures/syscall/errnos.c, rebuilt by rebuild.sh as
 * root): one "<case>\t<result>" line each.
 */
const LINUX = new Map(
  readFileSync(fileURLToPath(new URL('../../fixtures/syscall/linux-errnos.txt', import.meta.url)), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [name = '', result = ''] = line.split('\t');
      return [name, Number(result)] as const;
    }),
);

describe('bpf(2) errnos for bad attributes and objects', () => {
  it('answers as Linux for the attr block, CHECK_ATTR, fds, access and pointers', () => {
    const results: Record<string, number> = {};
    run(function* (libc) {
      const raw = function* (cmd: number, bytes: Uint8Array, size = bytes.length): Generator<number, number, number> {
        const mark = libc.stack.mark();
        try {
          return yield* libc.syscall(SyscallNr.bpf, cmd, libc.stack.pushBytes(bytes), size);
        } finally {
          libc.stack.release(mark);
        }
      };
      const create = encodeBpfAttr('MAP_CREATE', { map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 4 });
      const fd = yield* raw(BPF_CMD.MAP_CREATE, create);
      results['create'] = fd >= 0 ? 0 : fd;
      results['unknown command'] = yield* raw(999, create);
      results['negative command'] = yield* raw(-1, create);
      // A larger block: a zero tail is accepted, a non-zero one is E2BIG; more than a page is E2BIG.
      const long = new Uint8Array(BPF_ATTR_SIZE + 16);
      long.set(create);
      const zeroTail = yield* raw(BPF_CMD.MAP_CREATE, long);
      results['larger size, zero tail'] = zeroTail >= 0 ? 0 : zeroTail;
      long[BPF_ATTR_SIZE + 3] = 1;
      results['larger size, non-zero tail'] = yield* raw(BPF_CMD.MAP_CREATE, long);
      results['size over a page'] = yield* raw(BPF_CMD.MAP_CREATE, new Uint8Array(PAGE_SIZE + 8));
      // A smaller block reads as zero-extended (up to max_entries is a whole hash map).
      const short = yield* raw(BPF_CMD.MAP_CREATE, create.subarray(0, 16));
      results['smaller size'] = short >= 0 ? 0 : short;
      results['bad attr pointer'] = yield* libc.syscall(SyscallNr.bpf, BPF_CMD.MAP_CREATE, 16, BPF_ATTR_SIZE);
      // CHECK_ATTR: a byte past the command's last field. (Not in the Linux recording: Linux 6.18 has more
      // MAP_CREATE fields after map_extra, map_token_fd first, which this ABI does not know.)
      const pastLast = create.slice();
      pastLast[72] = 1;
      results['MAP_CREATE field past map_extra'] = yield* raw(BPF_CMD.MAP_CREATE, pastLast);
      const freezePast = encodeBpfAttr('MAP_FREEZE', { map_fd: fd });
      freezePast[4] = 1;
      results['MAP_FREEZE field past map_fd'] = yield* raw(BPF_CMD.MAP_FREEZE, freezePast);
      results['MAP_GET_NEXT_ID open_flags set'] = (yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: 0, open_flags: 1 })).ret;
      // Objects: no fd, not a map, bad pointers, flags.
      results['lookup: fd not open'] = -((yield* libc.bpfMapLookup(77, u32(1), 8)) as { errno: number }).errno;
      const file = yield* libc.open('/sys/fs/bpf', O.RDONLY);
      results['lookup: fd not a map'] = -((yield* libc.bpfMapLookup(file, u32(1), 8)) as { errno: number }).errno;
      results['update: bad key pointer'] = (yield* libc.bpfAttr('MAP_UPDATE_ELEM', { map_fd: fd, key: 16, value: 16 })).ret;
      results['lookup: bad value pointer'] = yield* (function* () {
        expect(yield* libc.bpfMapUpdate(fd, u32(1), u64(1))).toBe(0);
        const mark = libc.stack.mark();
        const key = libc.stack.pushBytes(u32(1));
        const ret = (yield* libc.bpfAttr('MAP_LOOKUP_ELEM', { map_fd: fd, key, value: 16 })).ret;
        libc.stack.release(mark);
        return ret;
      })();
      results['lookup: flag other than F_LOCK'] = -((yield* libc.bpfMapLookup(fd, u32(1), 8, 8)) as { errno: number }).errno;
      results['lookup: F_LOCK without a spin lock'] = -((yield* libc.bpfMapLookup(fd, u32(1), 8, BPF_UPDATE.F_LOCK)) as { errno: number }).errno;
      results['update: flags above BPF_EXIST'] = yield* libc.bpfMapUpdate(fd, u32(1), u64(1), 3);
      const rdonly = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1, map_flags: BPF_MAP_F.RDONLY });
      results['update: BPF_F_RDONLY map'] = yield* libc.bpfMapUpdate(rdonly, u32(0), u64(1));
      results['lookup: BPF_F_RDONLY map'] = (yield* libc.bpfMapLookup(rdonly, u32(0), 8)).ok ? 0 : -1;
      results['freeze: BPF_F_RDONLY map'] = yield* libc.bpfMapFreeze(rdonly);
      const wronly = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1, map_flags: BPF_MAP_F.WRONLY });
      results['lookup: BPF_F_WRONLY map'] = -((yield* libc.bpfMapLookup(wronly, u32(0), 8)) as { errno: number }).errno;
      results['get_next_key: BPF_F_WRONLY map'] = -((yield* libc.bpfMapGetNextKey(wronly, null, 4)) as { errno: number }).errno;
      results['update: BPF_F_WRONLY map'] = yield* libc.bpfMapUpdate(wronly, u32(0), u64(1));
      results['lookup_and_delete: BPF_F_WRONLY map'] = -((yield* libc.bpfMapLookupAndDelete(wronly, u32(0), 8)) as { errno: number }).errno;
      const array = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 });
      results['lookup_and_delete: array'] = -((yield* libc.bpfMapLookupAndDelete(array, u32(0), 8)) as { errno: number }).errno;
      results['create: RDONLY and WRONLY'] = yield* libc.bpfMapCreate({
        map_type: BPF_MAP_TYPE.ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY,
      });
      results['freeze once'] = yield* libc.bpfMapFreeze(fd);
      results['freeze twice'] = yield* libc.bpfMapFreeze(fd);
      results['delete: frozen map'] = yield* libc.bpfMapDelete(fd, u32(1));
      results['pin outside bpffs'] = yield* libc.bpfObjPin(fd, '/tmp/m');
      results['pin twice'] = (yield* libc.bpfObjPin(fd, '/sys/fs/bpf/m')) + (yield* libc.bpfObjPin(fd, '/sys/fs/bpf/m'));
      results['get: nothing pinned'] = yield* libc.bpfObjGet('/sys/fs/bpf/none');
      results['get: RDONLY and WRONLY'] = yield* libc.bpfObjGet('/sys/fs/bpf/m', BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY);
      results['get_fd_by_id: no such id'] = (yield* libc.bpfAttr('MAP_GET_FD_BY_ID', { id: 4242 })).ret;
      results['get_next_id: start INT_MAX'] = (yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: 0x7fffffff })).ret;
      results['info: not a map'] = (yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: file, info_len: 8, info: 16 })).ret;
      // info_len: a shorter struct gets that many bytes and info_len back; a longer one must be zero past ours.
      const mark = libc.stack.mark();
      const info = libc.stack.alloca(BPF_MAP_INFO.size + 8);
      libc.ctx.mem.write(info, new Uint8Array(BPF_MAP_INFO.size + 8).fill(0xee));
      const shortInfo = yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: 8, info });
      results['info: info_len 8 written back'] = shortInfo.ret === 0 ? shortInfo.attr.info_len : -1;
      results['info: bytes past info_len untouched'] = libc.stack.readBytes(info + 8, 1)[0] ?? -1;
      results['info: longer struct, non-zero tail'] = (yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: BPF_MAP_INFO.size + 8, info })).ret;
      libc.stack.release(mark);
    });
    expect(results).toEqual({
      create: 0,
      'unknown command': -Errno.EINVAL,
      'negative command': -Errno.EINVAL,
      'larger size, zero tail': 0,
      'larger size, non-zero tail': -Errno.E2BIG,
      'size over a page': -Errno.E2BIG,
      'smaller size': 0,
      'bad attr pointer': -Errno.EFAULT,
      'MAP_CREATE field past map_extra': -Errno.EINVAL,
      'MAP_FREEZE field past map_fd': -Errno.EINVAL,
      'MAP_GET_NEXT_ID open_flags set': -Errno.EINVAL,
      'lookup: fd not open': -Errno.EBADF,
      'lookup: fd not a map': -Errno.EINVAL,
      'update: bad key pointer': -Errno.EFAULT,
      'lookup: bad value pointer': -Errno.EFAULT,
      'lookup: flag other than F_LOCK': -Errno.EINVAL,
      'lookup: F_LOCK without a spin lock': -Errno.EINVAL,
      'update: flags above BPF_EXIST': -Errno.EINVAL,
      'update: BPF_F_RDONLY map': -Errno.EPERM,
      'lookup: BPF_F_RDONLY map': 0,
      'freeze: BPF_F_RDONLY map': -Errno.EPERM,
      'lookup: BPF_F_WRONLY map': -Errno.EPERM,
      'get_next_key: BPF_F_WRONLY map': -Errno.EPERM,
      'update: BPF_F_WRONLY map': 0,
      'lookup_and_delete: BPF_F_WRONLY map': -Errno.EPERM,
      'lookup_and_delete: array': -ENOTSUPP,
      'create: RDONLY and WRONLY': -Errno.EINVAL,
      'freeze once': 0,
      'freeze twice': -Errno.EPERM,
      'delete: frozen map': -Errno.EPERM,
      'pin outside bpffs': -Errno.EPERM,
      'pin twice': -Errno.EEXIST,
      'get: nothing pinned': -Errno.ENOENT,
      'get: RDONLY and WRONLY': -Errno.EINVAL,
      'get_fd_by_id: no such id': -Errno.ENOENT,
      'get_next_id: start INT_MAX': -Errno.EINVAL,
      'info: not a map': -Errno.EINVAL,
      'info: info_len 8 written back': 8,
      'info: bytes past info_len untouched': 0xee,
      'info: longer struct, non-zero tail': -Errno.E2BIG,
    });
    // Every case Linux answered gives the same answer here.
    expect(LINUX.size).toBeGreaterThan(30);
    for (const [name, linux] of LINUX) expect({ name, result: results[name] }).toEqual({ name, result: linux });
  });

  it('refuses map creation and id walks to an unprivileged user (unprivileged_bpf_disabled = 2, no CAP_SYS_ADMIN)', () => {
    const results: number[] = [];
    run(function* (libc) {
      results.push(yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 }));
      results.push((yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: 0 })).ret);
      results.push((yield* libc.bpfAttr('MAP_GET_FD_BY_ID', { id: 1 })).ret);
    }, 1000);
    expect(results).toEqual([-Errno.EPERM, -Errno.EPERM, -Errno.EPERM]);
  });
});
