/**
 * RINGBUF, STACK_TRACE, TASK_STORAGE and map mmap against Linux: fixtures/ringbuf/ringbuf-record.c ran on
 * Linux 6.18 (fixtures/ringbuf/rebuild.sh, root) and its answers are in linux-results.txt. This test makes the
 * same calls on the simulator's maps — the XDP program's reserve/submit/discard/output/query as the ring's
 * ops, user space's reads through the pages mmap hands out — and must print the same lines (comments aside).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_RB, BPF_RINGBUF, MAP, PAGE_SIZE, PROT } from '@ebpf-sim/uapi';
import { mapTestEnv, u32le } from '../testing/map-env.js';
import { bpfMapMmap, type BpfMap } from './map.js';
import { createMap } from './registry.js';
import { RingBufMap } from './ringbuf.js';

const recorded = readFileSync(fileURLToPath(new URL('../../fixtures/ringbuf/linux-results.txt', import.meta.url)), 'utf8');

const RW = PROT.READ | PROT.WRITE;
const { SHARED, PRIVATE } = MAP;
const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

function replay(): string[] {
  const env = mapTestEnv();
  const out: string[] = [];
  // Maps the recording leaves open until it exits; freed at the end, like the process's fds.
  const open: BpfMap[] = [];
  const say = (what: string, answer: number | string): void => void out.push(`${what} => ${answer}`);
  const create = (what: string, mapType: number, keySize: number, valueSize: number, maxEntries: number, mapFlags: number): BpfMap | undefined => {
    const map = createMap({ mapType, keySize, valueSize, maxEntries, mapFlags }, env);
    say(`create ${what}`, typeof map === 'number' ? map : 0);
    if (typeof map === 'number') return undefined;
    open.push(map);
    return map;
  };
  const mmapRc = (map: BpfMap, pages: number, prot: number, flags: number, pgoff: number): number => {
    const frames = bpfMapMmap(map, pgoff, pages, prot, flags);
    return typeof frames === 'number' ? frames : 0;
  };
  const { RINGBUF, ARRAY, PERCPU_ARRAY, HASH, STACK_TRACE, TASK_STORAGE } = BPF_MAP_TYPE;
  const none = new Uint8Array(0);

  create('RINGBUF key 4', RINGBUF, 4, 0, 4096, 0);
  create('RINGBUF value 8', RINGBUF, 0, 8, 4096, 0);
  create('RINGBUF 3 pages', RINGBUF, 0, 0, 3 * 4096, 0);
  create('RINGBUF 2048', RINGBUF, 0, 0, 2048, 0);
  create('RINGBUF 0', RINGBUF, 0, 0, 0, 0);
  create('RINGBUF NO_PREALLOC', RINGBUF, 0, 0, 4096, BPF_MAP_F.NO_PREALLOC);
  create('RINGBUF MMAPABLE', RINGBUF, 0, 0, 4096, BPF_MAP_F.MMAPABLE);
  const rb = create('RINGBUF 4096', RINGBUF, 0, 0, 4096, 0);
  if (!(rb instanceof RingBufMap)) throw new Error('ringbuf not created');
  say('RINGBUF lookup', rb.lookupSys(none, none, 0));
  say('RINGBUF update', rb.updateSys(none, none, 0));
  say('RINGBUF delete', rb.deleteSys(none));
  say('RINGBUF next', rb.getNextKey(null, new Uint8Array(4)));
  say('mmap RINGBUF consumer rw', mmapRc(rb, 1, RW, SHARED, 0));
  say('mmap RINGBUF producer rw', mmapRc(rb, 1, RW, SHARED, 1));
  say('mmap RINGBUF consumer+producer rw', mmapRc(rb, 2, RW, SHARED, 0));
  say('mmap RINGBUF past the end', mmapRc(rb, 4, PROT.READ, SHARED, 1));
  say('mmap RINGBUF private', mmapRc(rb, 1, PROT.READ, PRIVATE, 0));
  say('mmap RINGBUF all ro', mmapRc(rb, 4, PROT.READ, SHARED, 0));

  // User space's two mappings, read and written through the pages mmap handed out.
  const consPage = bpfMapMmap(rb, 0, 1, RW, SHARED);
  const ro = bpfMapMmap(rb, 1, 3, PROT.READ, SHARED);
  if (typeof consPage === 'number' || typeof ro === 'number') throw new Error('ringbuf mmap failed');
  const view = env.phys.view;
  const roAddr = (off: number): number => ro[off >>> 12]! + (off & (PAGE_SIZE - 1));
  const u64 = (addr: number): number => view.getUint32(addr, true) + view.getUint32(addr + 4, true) * 2 ** 32;
  const cons = (): number => u64(consPage[0]!);
  const prod = (): number => u64(roAddr(0));
  const dump = (when: string, from: number): void => {
    say(`${when} consumer_pos`, cons());
    say(`${when} producer_pos`, prod());
    for (let pos = from; pos < prod();) {
      const rec = PAGE_SIZE + (pos & 4095);
      const len = view.getUint32(roAddr(rec), true);
      const size = (len & ~(BPF_RINGBUF.BUSY_BIT | BPF_RINGBUF.DISCARD_BIT)) >>> 0;
      say(`${when} record ${pos}`, `len ${hex8(len)} pg_off ${view.getInt32(roAddr(rec + 4), true)} first ${hex2(env.phys.bytes[roAddr(rec + 8)]!)}`);
      pos += (size + 8 + 7) & ~7;
    }
  };

  // The XDP program of ringbuf-record.c, step for step; a failed reserve jumps to the query.
  const stack = env.put(u32le(0x33445566));
  const run = (): number => {
    const a = rb.reserve(5);
    if (a !== 0) {
      env.phys.bytes[a] = 0xaa;
      rb.commit(a, 0, false);
      const b = rb.reserve(16);
      if (b !== 0) {
        view.setUint32(b, 0x1122, true);
        view.setUint32(b + 4, 0, true);
        rb.commit(b, 0, true);
        rb.output(stack, 4, 0);
      }
    }
    return rb.query(BPF_RB.PROD_POS);
  };
  const repeat = (times: number): number => {
    let retval = 0;
    for (let i = 0; i < times; i++) retval = run();
    return retval;
  };
  say('run 1', repeat(1));
  dump('after run 1', 0);
  say('run 72 more', repeat(72));
  say('run when full', repeat(1));
  dump('when full', 4032);
  view.setUint32(consPage[0]!, prod(), true);
  say('run after consuming', repeat(1));
  dump('wrapped', 4088);

  let arr = create('ARRAY 8 1000 MMAPABLE', ARRAY, 4, 8, 1000, BPF_MAP_F.MMAPABLE)!;
  say('mmap ARRAY 2 pages rw', mmapRc(arr, 2, RW, SHARED, 0));
  say('mmap ARRAY 3 pages', mmapRc(arr, 3, PROT.READ, SHARED, 0));
  say('mmap ARRAY page 1 .. 2', mmapRc(arr, 2, PROT.READ, SHARED, 1));
  say('mmap ARRAY private', mmapRc(arr, 1, PROT.READ, PRIVATE, 0));
  arr.frozen = true;
  say('freeze ARRAY', 0);
  say('mmap frozen ARRAY rw', mmapRc(arr, 1, RW, SHARED, 0));
  say('mmap frozen ARRAY ro', mmapRc(arr, 1, PROT.READ, SHARED, 0));
  arr = create('ARRAY 8 4 MMAPABLE|RDONLY_PROG', ARRAY, 4, 8, 4, BPF_MAP_F.MMAPABLE | BPF_MAP_F.RDONLY_PROG)!;
  say('mmap RDONLY_PROG ARRAY rw', mmapRc(arr, 1, RW, SHARED, 0));
  say('mmap RDONLY_PROG ARRAY ro', mmapRc(arr, 1, PROT.READ, SHARED, 0));
  arr = create('ARRAY 8 4', ARRAY, 4, 8, 4, 0)!;
  say('mmap ARRAY without MMAPABLE', mmapRc(arr, 1, PROT.READ, SHARED, 0));
  arr = create('PERCPU_ARRAY 8 4', PERCPU_ARRAY, 4, 8, 4, 0)!;
  say('mmap PERCPU_ARRAY', mmapRc(arr, 1, PROT.READ, SHARED, 0));
  say('mmap PERCPU_ARRAY private', mmapRc(arr, 1, PROT.READ, PRIVATE, 0));
  arr = create('HASH 4 8 4', HASH, 4, 8, 4, 0)!;
  say('mmap HASH', mmapRc(arr, 1, PROT.READ, SHARED, 0));

  const { STACK_BUILD_ID, NO_PREALLOC, MMAPABLE } = BPF_MAP_F;
  create('STACK_TRACE max 0', STACK_TRACE, 4, 32, 0, 0);
  create('STACK_TRACE key 8', STACK_TRACE, 8, 32, 4, 0);
  create('STACK_TRACE value 4', STACK_TRACE, 4, 4, 4, 0);
  create('STACK_TRACE value 12', STACK_TRACE, 4, 12, 4, 0);
  create('STACK_TRACE 127 frames', STACK_TRACE, 4, 8 * 127, 4, 0);
  create('STACK_TRACE 128 frames', STACK_TRACE, 4, 8 * 128, 4, 0);
  create('STACK_TRACE BUILD_ID value 40', STACK_TRACE, 4, 40, 4, STACK_BUILD_ID);
  create('STACK_TRACE BUILD_ID 127', STACK_TRACE, 4, 32 * 127, 4, STACK_BUILD_ID);
  create('STACK_TRACE BUILD_ID 128', STACK_TRACE, 4, 32 * 128, 4, STACK_BUILD_ID);
  create('STACK_TRACE NO_PREALLOC', STACK_TRACE, 4, 32, 4, NO_PREALLOC);
  create('STACK_TRACE MMAPABLE', STACK_TRACE, 4, 32, 4, MMAPABLE);
  create('STACK_TRACE max 2^31+1', STACK_TRACE, 4, 32, 0x80000001, 0);
  const st = create('STACK_TRACE 4 32 5', STACK_TRACE, 4, 32, 5, 0)!;
  const value = new Uint8Array(32);
  const next = new Uint8Array(4);
  say('STACK_TRACE lookup 0', st.lookupSys(u32le(0), value, 0));
  say('STACK_TRACE lookup 8', st.lookupSys(u32le(8), value, 0));
  say('STACK_TRACE delete 7', st.deleteSys(u32le(7)));
  say('STACK_TRACE delete 8', st.deleteSys(u32le(8)));
  say('STACK_TRACE update 0', st.updateSys(u32le(0), value, 0));
  say('STACK_TRACE next NULL', st.getNextKey(null, next));
  say('STACK_TRACE next 0 (empty map)', st.getNextKey(u32le(0), next));
  say('mmap STACK_TRACE', mmapRc(st, 1, PROT.READ, SHARED, 0));

  create('TASK_STORAGE NO_PREALLOC', TASK_STORAGE, 4, 8, 0, NO_PREALLOC);
  create('TASK_STORAGE 0', TASK_STORAGE, 4, 8, 0, 0);
  create('TASK_STORAGE max 1', TASK_STORAGE, 4, 8, 1, NO_PREALLOC);
  create('TASK_STORAGE key 8', TASK_STORAGE, 8, 8, 0, NO_PREALLOC);
  create('TASK_STORAGE value 0', TASK_STORAGE, 4, 0, 0, NO_PREALLOC);
  for (const map of open) map.free();
  expect(env.phys.usage().filter((charge) => charge.owner.startsWith('bpf-map:'))).toEqual([]);
  return out;
}

describe('ringbuf, stack trace, task storage and map mmap against Linux 6.18', () => {
  it('prints what the real kernel printed (fixtures/ringbuf/linux-results.txt)', () => {
    const expected = recorded.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(replay()).toEqual(expected);
  });
});
