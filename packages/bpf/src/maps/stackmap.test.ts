import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_STACK_BUILD_ID, BPF_STACKID_F, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv, readU32le, u32le, type MapTestEnv } from '../testing/map-env.js';
import type { MapAttr } from './map.js';
import { createMap } from './registry.js';
import { StackTraceMap } from './stackmap.js';
import { jhash } from './jhash.js';

const STACKS: MapAttr = { mapType: BPF_MAP_TYPE.STACK_TRACE, keySize: 4, valueSize: 8 * 4, maxEntries: 3, mapFlags: 0, name: 'stacks' };

function stacks(env: MapTestEnv, attr: Partial<MapAttr> = {}): StackTraceMap {
  const map = createMap({ ...STACKS, ...attr }, env);
  if (!(map instanceof StackTraceMap)) throw new Error(`stack map: ${typeof map === 'number' ? map : 'another type'}`);
  return map;
}

/** A callchain of kernel addresses (0xffffffff8100xxxx), innermost first, as u64 little-endian. */
function chain(...lows: number[]): Uint8Array {
  const out = new Uint8Array(lows.length * 8);
  const view = new DataView(out.buffer);
  lows.forEach((low, i) => {
    view.setUint32(i * 8, 0x81000000 + low, true);
    view.setUint32(i * 8 + 4, 0xffffffff, true);
  });
  return out;
}

describe('stack_map_alloc', () => {
  const env = mapTestEnv();
  it.each([
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['key_size 8', { keySize: 8 }, -Errno.EINVAL],
    ['value_size 4', { valueSize: 4 }, -Errno.EINVAL],
    ['value_size 12', { valueSize: 12 }, -Errno.EINVAL],
    ['128 frames, past perf_event_max_stack', { valueSize: 8 * 128 }, -Errno.EINVAL],
    ['build ids, value not a multiple of 32', { mapFlags: BPF_MAP_F.STACK_BUILD_ID, valueSize: 40 }, -Errno.EINVAL],
    ['128 build ids', { mapFlags: BPF_MAP_F.STACK_BUILD_ID, valueSize: 32 * 128 }, -Errno.EINVAL],
    ['flag NO_PREALLOC', { mapFlags: BPF_MAP_F.NO_PREALLOC }, -Errno.EINVAL],
    ['flag MMAPABLE', { mapFlags: BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['max_entries above 2^31', { maxEntries: 0x80000001 }, -Errno.E2BIG],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...STACKS, ...change }, env)).toBe(errno);
  });

  it('accepts 127 frames, 127 build ids, and a lower kernel.perf_event_max_stack lowers the limit', () => {
    stacks(env, { valueSize: 8 * 127 }).free();
    stacks(env, { valueSize: 32 * 127, mapFlags: BPF_MAP_F.STACK_BUILD_ID }).free();
    expect(createMap({ ...STACKS, valueSize: 8 * 10 }, { ...env, perfEventMaxStack: 9 })).toBe(-Errno.EINVAL);
  });

  it('has roundup_pow_of_two(max_entries) buckets and gives its memory back', () => {
    const map = stacks(env, { maxEntries: 5 });
    expect(map.nBuckets).toBe(8);
    expect(env.phys.usageOf('bpf-map:stacks').bytes).toBe(8 * 8 + 5 * (16 + 32));
    map.free();
    expect(env.phys.usageOf('bpf-map:stacks').bytes).toBe(0);
  });
});

describe('get_stackid and the user-space commands', () => {
  it('stores a trace once, finds it again, and reads it back zero-filled', () => {
    const env = mapTestEnv();
    const map = stacks(env);
    const id = map.getStackid(chain(1, 2, 3), 0);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(id).toBeLessThan(4);
    expect(map.getStackid(chain(1, 2, 3), 0)).toBe(id);
    const out = new Uint8Array(32).fill(0xee);
    expect(map.lookupSys(u32le(id), out, 0)).toBe(0);
    expect([...out]).toEqual([...chain(1, 2, 3), ...new Uint8Array(8)]);
    const next = new Uint8Array(4);
    expect(map.getNextKey(null, next)).toBe(0);
    expect(readU32le(next)).toBe(id);
    expect(map.getNextKey(u32le(id), next)).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(id), out, 0)).toBe(-Errno.EINVAL);
    expect(map.deleteSys(u32le(id))).toBe(0);
    expect(map.deleteSys(u32le(id))).toBe(-Errno.ENOENT);
    expect(map.deleteSys(u32le(4))).toBe(-Errno.E2BIG);
    expect(map.lookupSys(u32le(id), out, 0)).toBe(-Errno.ENOENT);
  });

  it('skips frames, cuts the chain at value_size frames, and refuses a skip past the chain', () => {
    const env = mapTestEnv();
    const map = stacks(env, { valueSize: 16 });
    const id = map.getStackid(chain(1, 2, 3, 4, 5), 2);
    const out = new Uint8Array(16);
    expect(map.lookupSys(u32le(id), out, 0)).toBe(0);
    expect([...out]).toEqual([...chain(3, 4)]);
    expect(map.getStackid(chain(1, 2), 2)).toBe(-Errno.EFAULT);
    expect(map.getStackid(chain(1), 1 << 12)).toBe(-Errno.EINVAL);
  });

  it('answers EEXIST for another trace in the bucket, replaces it with REUSE_STACKID, and trusts the hash with FAST_STACK_CMP', () => {
    const env = mapTestEnv();
    // Two elements, two buckets: traces whose jhash2 is even share bucket 0.
    const map = stacks(env, { maxEntries: 2 });
    const even = [...Array(40).keys()].filter((i) => (jhash(chain(i), 0, 8, 0) & 1) === 0).map((i) => chain(i));
    expect(map.getStackid(even[0]!, 0)).toBe(0);
    expect(map.getStackid(even[1]!, 0)).toBe(-Errno.EEXIST);
    expect(map.getStackid(even[1]!, BPF_STACKID_F.FAST_STACK_CMP)).toBe(-Errno.EEXIST);
    expect(map.getStackid(even[1]!, BPF_STACKID_F.REUSE_STACKID)).toBe(0);
    const out = new Uint8Array(32);
    map.lookupSys(u32le(0), out, 0);
    expect([...out.subarray(0, 8)]).toEqual([...even[1]!]);
    // The replaced element went back to the free list: two elements serve any number of replacements.
    for (const trace of even.slice(2)) expect(map.getStackid(trace, BPF_STACKID_F.REUSE_STACKID)).toBe(0);
  });

  it('needs a free element before it lets a bucket go (ENOMEM with one element in use)', () => {
    const env = mapTestEnv();
    const map = stacks(env, { maxEntries: 1 });
    expect(map.getStackid(chain(1), 0)).toBe(0);
    expect(map.getStackid(chain(2), 0)).toBe(-Errno.EEXIST);
    expect(map.getStackid(chain(2), BPF_STACKID_F.REUSE_STACKID)).toBe(-Errno.ENOMEM);
    // Same hash: FAST_STACK_CMP takes the bucket's id without comparing frames.
    expect(map.getStackid(chain(1), BPF_STACKID_F.FAST_STACK_CMP)).toBe(0);
  });

  it('with BPF_F_STACK_BUILD_ID keeps { BPF_STACK_BUILD_ID_IP, no build id, ip } frames', () => {
    const env = mapTestEnv();
    const map = stacks(env, { valueSize: 64, mapFlags: BPF_MAP_F.STACK_BUILD_ID });
    const id = map.getStackid(chain(7, 8, 9), BPF_STACKID_F.USER_STACK);
    expect(map.getStackid(chain(7, 8, 9), BPF_STACKID_F.USER_STACK)).toBe(id);
    const out = new Uint8Array(64);
    expect(map.lookupSys(u32le(id), out, 0)).toBe(0);
    const view = new DataView(out.buffer);
    for (const [frame, low] of [
      [0, 7],
      [1, 8],
    ]) {
      expect(view.getInt32(frame! * 32, true)).toBe(BPF_STACK_BUILD_ID.IP);
      expect([...out.subarray(frame! * 32 + 4, frame! * 32 + 24)]).toEqual(new Array(20).fill(0));
      expect(view.getUint32(frame! * 32 + 24, true)).toBe(0x81000000 + low!);
    }
  });
});
