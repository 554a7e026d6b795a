/**
 * bpf() under random input: random command numbers, random attribute bytes and sizes (up to past a page,
 * with non-zero tails), and attributes of real commands with random field values (small numbers, fds, user
 * pointers into a scratch mapping, all ones), interleaved with valid map commands (create, update, lookup,
 * delete, iterate, freeze, pin, get, close). Every result must be 0, a non-negative fd or id, or a real
 * -errno (uapi's Errno, or ENOTSUPP 524), never an exception (which would crash the calling process); and when
 * the process has closed every fd and removed every pin, no map id remains and the kernel's memory
 * accounting is back where it started.
 */
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_CMD, BPF_MAP_F, BPF_MAP_TYPE, Errno, Libc, SyscallNr, type AttrField, type AttrLayout, type UserProgram } from '@ebpf-sim/uapi';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENOTSUPP } from '../maps/map.js';
import { registerBpf } from './bpf-syscall.js';

const ERRNOS = new Set<number>([...Object.values(Errno), ENOTSUPP]);
const SCRATCH_BYTES = 2 * 4096;
const MAX_FD = 256;
const PIN_DIR = '/sys/fs/bpf';
const LAYOUTS: ReadonlyArray<readonly [string, AttrLayout]> = Object.entries(BPF_ATTR_LAYOUTS);

/** A field value: small numbers (fds, sizes, types, flags), all ones, a pointer into the scratch mapping, or anything. */
type FieldValue = { kind: 'small'; n: number } | { kind: 'ones' } | { kind: 'scratch'; off: number } | { kind: 'any'; n: bigint };

type Step =
  | { kind: 'raw'; cmd: number; size: number; writes: ReadonlyArray<readonly [number, number]> }
  | { kind: 'typed'; layout: number; values: readonly FieldValue[]; tail: number }
  | { kind: 'create'; type: number; keySize: number; valueSize: number; maxEntries: number; flags: number }
  | { kind: 'elem'; op: 'update' | 'lookup' | 'delete' | 'next' | 'pop' | 'freeze'; fd: number; key: number; flags: number }
  | { kind: 'pin'; fd: number; name: number }
  | { kind: 'get'; name: number; flags: number }
  | { kind: 'unpin'; name: number }
  | { kind: 'close'; fd: number }
  | { kind: 'byId'; id: number };

const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.record({ kind: fc.constant('small' as const), n: fc.integer({ min: 0, max: 16 }) }),
  fc.record({ kind: fc.constant('ones' as const) }),
  fc.record({ kind: fc.constant('scratch' as const), off: fc.integer({ min: 0, max: SCRATCH_BYTES - 1 }) }),
  fc.record({ kind: fc.constant('any' as const), n: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
);

/** Map shapes bpf() accepts, so that the element commands reach live maps. */
const VALID_CREATES = [
  { type: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
  { type: BPF_MAP_TYPE.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
  { type: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 3, flags: 0 },
  { type: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 16, maxEntries: 3, flags: BPF_MAP_F.NO_PREALLOC },
  { type: BPF_MAP_TYPE.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 },
  { type: BPF_MAP_TYPE.LRU_PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
  { type: BPF_MAP_TYPE.QUEUE, keySize: 0, valueSize: 8, maxEntries: 2, flags: 0 },
  { type: BPF_MAP_TYPE.STACK, keySize: 0, valueSize: 4, maxEntries: 2, flags: 0 },
  { type: BPF_MAP_TYPE.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 8, flags: 0 },
  { type: BPF_MAP_TYPE.LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 4, flags: BPF_MAP_F.NO_PREALLOC },
] as const;

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('raw' as const),
    cmd: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    size: fc.oneof(fc.integer({ min: 0, max: 160 }), fc.integer({ min: 0, max: 4200 })),
    writes: fc.array(fc.tuple(fc.integer({ min: 0, max: 4199 }), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
  }),
  fc.record({
    kind: fc.constant('typed' as const),
    layout: fc.integer({ min: 0, max: LAYOUTS.length - 1 }),
    values: fc.array(fieldValue, { minLength: 16, maxLength: 16 }),
    tail: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
  }),
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...VALID_CREATES).map((c) => ({ kind: 'create' as const, ...c })) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('create' as const),
        type: fc.integer({ min: 0, max: 40 }),
        keySize: fc.constantFrom(0, 4, 8, 300),
        valueSize: fc.constantFrom(0, 4, 8, 16, 1 << 20),
        maxEntries: fc.integer({ min: 0, max: 8 }),
        flags: fc.constantFrom(0, 1, 1 << 3, 1 << 7, 1 << 10, 0xffffffff),
      }),
    },
  ),
  fc.record({
    kind: fc.constant('elem' as const),
    op: fc.constantFrom('update', 'lookup', 'delete', 'next', 'pop', 'freeze'),
    fd: fc.integer({ min: 0, max: 12 }),
    key: fc.integer({ min: 0, max: 4 }),
    flags: fc.constantFrom(0, 0, 0, 1, 2, 4, 5),
  }),
  fc.record({ kind: fc.constant('pin' as const), fd: fc.integer({ min: 0, max: 12 }), name: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('get' as const), name: fc.integer({ min: 0, max: 3 }), flags: fc.constantFrom(0, 1 << 3, 1 << 4, 3 << 3) }),
  fc.record({ kind: fc.constant('unpin' as const), name: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('close' as const), fd: fc.integer({ min: 3, max: 12 }) }),
  fc.record({ kind: fc.constant('byId' as const), id: fc.integer({ min: 0, max: 12 }) }),
);

/** Memory charged to every owner but the process's own address space (`mm:<pid>`), as owner → "bytes/allocations". */
function kernelCharges(kernel: Kernel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const charge of kernel.phys.usage()) {
    if (charge.owner.startsWith('mm:') || (charge.bytes === 0 && charge.allocations === 0)) continue;
    out[charge.owner] = `${charge.bytes}/${charge.allocations}`;
  }
  return out;
}

/** The attribute bytes of a step that builds its own block. */
function attrBytes(s: Extract<Step, { kind: 'raw' | 'typed' }>, scratch: number): { cmd: number; bytes: Uint8Array } {
  if (s.kind === 'raw') {
    const bytes = new Uint8Array(s.size);
    for (const [off, byte] of s.writes) if (off < s.size) bytes[off] = byte;
    return { cmd: s.cmd, bytes };
  }
  const [name, layout] = LAYOUTS[s.layout]!;
  const fields: AttrField[] = Object.values(layout);
  const end = Math.max(...fields.map((f) => f.offset + (f.kind === 'u64' ? 8 : f.kind === 'name' ? 16 : 4)));
  const bytes = new Uint8Array(end + (s.tail === 0 ? 0 : 8));
  const view = new DataView(bytes.buffer);
  fields.forEach((field, i) => {
    const v = s.values[i % s.values.length]!;
    const value = v.kind === 'small' ? BigInt(v.n) : v.kind === 'ones' ? 2n ** 64n - 1n : v.kind === 'scratch' ? BigInt(scratch + v.off) : v.n;
    if (field.kind === 'u64') view.setBigUint64(field.offset, value, true);
    else if (field.kind === 'name') bytes.fill(Number(value & 0x7fn), field.offset, field.offset + 4);
    else view.setUint32(field.offset, Number(value & 0xffffffffn), true);
  });
  if (s.tail !== 0) bytes[bytes.length - 1] = s.tail;
  return { cmd: BPF_CMD[name as keyof typeof BPF_CMD], bytes };
}

function fuzzRun(steps: readonly Step[]): void {
  const kernel = createKernel({ cpus: 2 });
  const bpf = registerBpf(kernel);
  const before = kernelCharges(kernel);
  const bad: string[] = [];
  const check = (what: string, ret: number): number => {
    if (!(ret >= 0 || ERRNOS.has(-ret)) || !Number.isSafeInteger(ret)) bad.push(`${what} => ${ret}`);
    return ret;
  };
  let afterClose: Record<string, string> | undefined;
  let idsAfterClose = -1;
  let nextIdAfterClose = 0;
  const user: UserProgram = function* (ctx) {
    const libc = new Libc(ctx);
    const scratch = yield* libc.mmapAnonymous(SCRATCH_BYTES);
    const fds: number[] = [];
    const track = (ret: number): void => void (ret >= 0 && fds.push(ret));
    // Mostly one of the three newest fds (live maps), sometimes an older, closed or never-opened one.
    const fdAt = (i: number): number => (fds.length === 0 ? i : i < 9 ? fds[Math.max(0, fds.length - 1 - (i % 3))]! : fds[i % fds.length]!);
    const key = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n, 0]).buffer);
    for (const s of steps) {
      switch (s.kind) {
        case 'raw':
        case 'typed': {
          const { cmd, bytes } = attrBytes(s, scratch);
          const { ret } = yield* libc.bpf(cmd >>> 0, bytes);
          check(`bpf(${cmd}, ${bytes.length} bytes)`, ret);
          // Any command may have made an fd (MAP_CREATE, OBJ_GET, MAP_GET_FD_BY_ID with good fields).
          if (ret > 2 && (cmd === BPF_CMD.MAP_CREATE || cmd === BPF_CMD.OBJ_GET || cmd === BPF_CMD.MAP_GET_FD_BY_ID)) fds.push(ret);
          break;
        }
        case 'create':
          track(
            check(
              'create',
              yield* libc.bpfMapCreate({ map_type: s.type, key_size: s.keySize, value_size: s.valueSize, max_entries: s.maxEntries, map_flags: s.flags }),
            ),
          );
          break;
        case 'elem': {
          const fd = fdAt(s.fd);
          if (s.op === 'update') check('update', yield* libc.bpfMapUpdate(fd, key(s.key).subarray(0, 4), key(s.key + 100), s.flags));
          else if (s.op === 'lookup') {
            const r = yield* libc.bpfMapLookup(fd, key(s.key).subarray(0, 4), 64);
            if (!r.ok) check('lookup', -r.errno);
          } else if (s.op === 'delete') check('delete', yield* libc.bpfMapDelete(fd, key(s.key).subarray(0, 4)));
          else if (s.op === 'next') {
            const r = yield* libc.bpfMapGetNextKey(fd, s.key === 0 ? null : key(s.key).subarray(0, 4), 8);
            if (!r.ok) check('next', -r.errno);
          } else if (s.op === 'pop') {
            const r = yield* libc.bpfMapLookupAndDelete(fd, null, 64);
            if (!r.ok) check('lookup_and_delete', -r.errno);
          } else check('freeze', yield* libc.bpfMapFreeze(fd));
          break;
        }
        case 'pin':
          check('pin', yield* libc.bpfObjPin(fdAt(s.fd), `${PIN_DIR}/fuzz${s.name}`));
          break;
        case 'get':
          track(check('get', yield* libc.bpfObjGet(`${PIN_DIR}/fuzz${s.name}`, s.flags)));
          break;
        case 'unpin':
          yield* libc.unlink(`${PIN_DIR}/fuzz${s.name}`);
          break;
        case 'close':
          yield* libc.close(fdAt(s.fd));
          break;
        case 'byId':
          track(check('get_fd_by_id', (yield* libc.bpfAttr('MAP_GET_FD_BY_ID', { id: s.id })).ret));
          break;
      }
    }
    // Close every fd the process holds but the standard ones, and remove every pin.
    for (let fd = 3; fd < MAX_FD; fd++) yield* libc.syscall(SyscallNr.close, fd);
    for (let name = 0; name < 4; name++) yield* libc.unlink(`${PIN_DIR}/fuzz${name}`);
    yield* libc.munmap(scratch, SCRATCH_BYTES);
    afterClose = kernelCharges(kernel);
    idsAfterClose = bpf.maps.size;
    nextIdAfterClose = (yield* libc.bpfAttr('MAP_GET_NEXT_ID', { start_id: 0 })).ret;
    return 0;
  };
  kernel.vfs.registerProgram('/bin/fuzz', user);
  kernel.spawn('/bin/fuzz');
  kernel.run({ untilNs: 1000e9 });
  expect(kernel.crashes).toEqual([]);
  expect(bad).toEqual([]);
  expect(idsAfterClose).toBe(0);
  expect(nextIdAfterClose).toBe(-Errno.ENOENT);
  expect(afterClose).toEqual(before);
  expect(kernelCharges(kernel)).toEqual(before);
}

describe('bpf() under random commands and attributes', () => {
  it('answers 0, an fd or id, or -errno; after closing and unpinning everything, no map and no memory is left', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 60 }), (steps) => fuzzRun(steps)),
      { numRuns: 25, seed: 1212 },
    );
  });
});
