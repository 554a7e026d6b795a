import { describe, expect, it } from 'vitest';
import { Clock } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_RB, BPF_RINGBUF, EPOLL, Errno, MAP, PAGE_SIZE, PROT } from '@ebpf-sim/uapi';
import { mapTestEnv, type MapTestEnv } from '../testing/map-env.js';
import { bpfMapMmap, ENOTSUPP, type MapAttr } from './map.js';
import { createMap } from './registry.js';
import { RingBufMap, RINGBUF_NR_META_PAGES } from './ringbuf.js';
import { ringbufOfSample } from './ringbuf-records.js';

const RING: MapAttr = { mapType: BPF_MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE_SIZE, mapFlags: 0, name: 'rb' };

function ring(env: MapTestEnv, maxEntries = PAGE_SIZE): RingBufMap {
  const map = createMap({ ...RING, maxEntries }, env);
  if (!(map instanceof RingBufMap)) throw new Error(`ringbuf creation failed: ${typeof map === 'number' ? map : 'another map type'}`);
  return map;
}

/** The record header at data offset `off`: [len with its bits, pg_off]. */
function header(env: MapTestEnv, rb: RingBufMap, off: number): [number, number] {
  return [env.phys.view.getUint32(rb.data + off, true), env.phys.view.getInt32(rb.data + off + 4, true)];
}

describe('ringbuf_map_alloc', () => {
  const env = mapTestEnv();
  it.each([
    ['key_size 4', { keySize: 4 }, -Errno.EINVAL],
    ['value_size 8', { valueSize: 8 }, -Errno.EINVAL],
    ['max_entries not a power of 2', { maxEntries: 3 * PAGE_SIZE }, -Errno.EINVAL],
    ['max_entries below a page', { maxEntries: 2048 }, -Errno.EINVAL],
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['flag NO_PREALLOC', { mapFlags: BPF_MAP_F.NO_PREALLOC }, -Errno.EINVAL],
    ['flag MMAPABLE', { mapFlags: BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['more data pages than page offsets reach', { maxEntries: 1 << 30 }, -Errno.ENOMEM],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...RING, ...change }, env)).toBe(errno);
  });

  it('lays out the header page, the two position pages and the data area, and gives it all back', () => {
    const rb = ring(env, 4 * PAGE_SIZE);
    expect(rb.base % PAGE_SIZE).toBe(0);
    expect(rb.data).toBe(rb.base + RINGBUF_NR_META_PAGES * PAGE_SIZE);
    expect(env.phys.usageOf('bpf-map:rb').pages).toBe(3 + 2 * 4);
    rb.free();
    expect(env.phys.usageOf('bpf-map:rb').pages).toBe(0);
  });

  it('answers ENOTSUPP to every element command from user space', () => {
    const rb = ring(env);
    const none = new Uint8Array(0);
    expect(rb.lookupSys(none, none, 0)).toBe(-ENOTSUPP);
    expect(rb.updateSys(none, none, 0)).toBe(-ENOTSUPP);
    expect(rb.deleteSys(none)).toBe(-ENOTSUPP);
    expect(rb.getNextKey(null, none)).toBe(-ENOTSUPP);
    rb.free();
  });
});

describe('reserve, submit, discard', () => {
  it('writes 8-byte headers with BUSY, DISCARD and pg_off, 8-byte aligned, and moves producer_pos', () => {
    const env = mapTestEnv();
    const rb = ring(env);
    const a = rb.reserve(5);
    expect(a).toBe(rb.data + 8);
    expect(header(env, rb, 0)).toEqual([(5 | BPF_RINGBUF.BUSY_BIT) >>> 0, 3]);
    expect(rb.producerPos).toBe(16);
    const b = rb.reserve(16);
    expect(b).toBe(rb.data + 16 + 8);
    expect(rb.producerPos).toBe(40);
    rb.commit(b, 0, true);
    expect(header(env, rb, 16)).toEqual([(16 | BPF_RINGBUF.DISCARD_BIT) >>> 0, 3]);
    rb.commit(a, 0, false);
    expect(header(env, rb, 0)).toEqual([5, 3]);
    expect(rb.query(BPF_RB.AVAIL_DATA)).toBe(40);
    expect(rb.query(BPF_RB.RING_SIZE)).toBe(PAGE_SIZE);
    expect(rb.query(BPF_RB.CONS_POS)).toBe(0);
    expect(rb.query(BPF_RB.PROD_POS)).toBe(40);
    expect(rb.query(99)).toBe(0);
  });

  it('a record on the second data page says pg_off 4, and leads back to its ring', () => {
    const env = mapTestEnv();
    const rb = ring(env, 2 * PAGE_SIZE);
    rb.reserve(PAGE_SIZE - 8);
    const rec = rb.reserve(8);
    expect(rec).toBe(rb.data + PAGE_SIZE + 8);
    expect(header(env, rb, PAGE_SIZE)[1]).toBe(4);
    expect(ringbufOfSample(env.phys.bytes, env.phys.view, rec)).toBe(rb);
  });

  it('refuses a record that does not fit between consumer and producer, or behind an uncommitted one', () => {
    const env = mapTestEnv();
    const rb = ring(env);
    // The producer may run at most size - 1 bytes ahead: a whole-ring record never fits.
    expect(rb.reserve(PAGE_SIZE - 8)).toBe(0);
    const first = rb.reserve(2048 - 8);
    expect(first).not.toBe(0);
    expect(rb.reserve(2048 - 8)).toBe(0);
    const second = rb.reserve(2048 - 16);
    expect(second).not.toBe(0);
    rb.commit(first, 0, false);
    rb.commit(second, 0, false);
    // The consumer reads the first record: room for it again, wrapping to the start.
    env.phys.view.setUint32(rb.base + PAGE_SIZE, 2048, true);
    const third = rb.reserve(2048 - 16);
    // Its header is the last 8 bytes of the data area, its sample runs on into the mirror.
    expect(third).toBe(rb.data + PAGE_SIZE);
    expect(rb.producerPos).toBe(4088 + 2040);
  });

  it('wakes the consumer when it has caught up, never with NO_WAKEUP, always with FORCE_WAKEUP', () => {
    const env = mapTestEnv();
    const rb = ring(env);
    let hooked = 0;
    rb.onWakeup = () => hooked++;
    const a = rb.reserve(8);
    const b = rb.reserve(8);
    rb.commit(b, 0, false); // the consumer waits at a, not b
    expect(rb.wakeups).toBe(0);
    rb.commit(a, BPF_RB.NO_WAKEUP, false);
    expect(rb.wakeups).toBe(0);
    const c = rb.reserve(8);
    rb.commit(c, BPF_RB.FORCE_WAKEUP, true);
    expect(rb.wakeups).toBe(1);
    // The consumer has read up to where the next record goes.
    env.phys.view.setUint32(rb.base + PAGE_SIZE, 48, true);
    expect(rb.output(env.put(new Uint8Array([1, 2, 3])), 3, 0)).toBe(0);
    expect(rb.wakeups).toBe(2);
    expect(hooked).toBe(2);
  });

  it('ringbuf_output copies the sample, and answers EINVAL for unknown flags and EAGAIN when full', () => {
    const env = mapTestEnv();
    const rb = ring(env);
    const src = env.put(new Uint8Array([9, 8, 7, 6, 5]));
    expect(rb.output(src, 5, 4)).toBe(-Errno.EINVAL);
    expect(rb.output(src, 5, 0)).toBe(0);
    expect([...env.read(rb.data + 8, 5)]).toEqual([9, 8, 7, 6, 5]);
    expect(header(env, rb, 0)[0]).toBe(5);
    expect(rb.output(src, PAGE_SIZE, 0)).toBe(-Errno.EAGAIN);
  });
});

describe('mmap of a ring buffer', () => {
  const env = mapTestEnv();
  const rb = ring(env, 2 * PAGE_SIZE);
  const shared = MAP.SHARED;

  it('maps consumer, producer, then the data pages twice', () => {
    const data = rb.data;
    expect(bpfMapMmap(rb, 0, 6, PROT.READ, shared)).toEqual([
      rb.base + PAGE_SIZE,
      rb.base + 2 * PAGE_SIZE,
      data,
      data + PAGE_SIZE,
      data + 2 * PAGE_SIZE,
      data + 3 * PAGE_SIZE,
    ]);
    expect(bpfMapMmap(rb, 0, 1, PROT.READ | PROT.WRITE, shared)).toEqual([rb.base + PAGE_SIZE]);
  });

  it.each([
    ['the producer page writable', 1, 1, PROT.READ | PROT.WRITE, shared, -Errno.EPERM],
    ['consumer and producer writable together', 0, 2, PROT.READ | PROT.WRITE, shared, -Errno.EPERM],
    ['past the doubled data area', 1, 6, PROT.READ, shared, -Errno.EINVAL],
    ['a private mapping', 0, 1, PROT.READ, MAP.PRIVATE, -Errno.EINVAL],
  ] as const)('refuses %s', (_what, pgoff, pages, prot, flags, errno) => {
    expect(bpfMapMmap(rb, pgoff, pages, prot, flags)).toBe(errno);
  });

  it('hands user space the pages a wrapping record was written to, in the order it was written', () => {
    const env2 = mapTestEnv();
    const small = ring(env2);
    env2.phys.view.setUint32(small.base + PAGE_SIZE, 4080, true);
    // Records the consumer has read bring the producer to 4080; the next record wraps.
    for (let i = 0; i < 4080 / 16; i++) small.commit(small.reserve(8), 0, false);
    const rec = small.reserve(16);
    expect(rec - small.data).toBe(4088);
    env2.phys.bytes.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], rec);
    small.commit(rec, 0, false);
    const frames = bpfMapMmap(small, 2, 2, PROT.READ, MAP.SHARED);
    if (typeof frames === 'number') throw new Error(`mmap failed: ${frames}`);
    // User space reads the header at data + 4080 and the sample at 4088 .. 4104 through its mapping.
    const userView = new Uint8Array(2 * PAGE_SIZE);
    userView.set(env2.read(frames[0]!, PAGE_SIZE), 0);
    userView.set(env2.read(frames[1]!, PAGE_SIZE), PAGE_SIZE);
    expect(new DataView(userView.buffer).getUint32(4080, true)).toBe(16);
    expect([...userView.subarray(4088, 4104)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });
});

describe('ringbuf poll and wake-ups (ringbuf_map_poll_kern, bpf_ringbuf_notify)', () => {
  it("is readable while the producer is ahead of the consumer, and registers on the ring's wait queue", () => {
    const env = mapTestEnv();
    const rb = ring(env);
    const queues: unknown[] = [];
    expect(rb.poll({ wait: (queue) => queues.push(queue) })).toBe(0);
    expect(queues).toEqual([rb.waitq]);
    rb.commit(rb.reserve(8), 0, false);
    expect(rb.poll(null)).toBe(EPOLL.IN | EPOLL.RDNORM);
    // The consumer catches up: nothing to read.
    env.phys.view.setUint32(rb.base + PAGE_SIZE, 16, true);
    expect(rb.poll(null)).toBe(0);
  });

  it('wakes the waiters through irq_work: after the program, once per burst, in virtual time', () => {
    const clock = new Clock();
    const env = { ...mapTestEnv(), clock };
    const rb = ring(env);
    let woken = 0;
    rb.waitq.watch({ wake: () => woken++ });
    rb.commit(rb.reserve(8), BPF_RB.FORCE_WAKEUP, false);
    rb.commit(rb.reserve(8), BPF_RB.FORCE_WAKEUP, false);
    expect(rb.wakeups).toBe(2);
    // Nothing is woken while the program runs: the work is queued once.
    expect(woken).toBe(0);
    expect(clock.pending).toBe(1);
    clock.step();
    expect(woken).toBe(1);
  });

  it('a user ring buffer is writable while it has room (ringbuf_map_poll_user)', () => {
    const env = mapTestEnv();
    const map = createMap({ ...RING, mapType: BPF_MAP_TYPE.USER_RINGBUF }, env);
    if (!(map instanceof RingBufMap)) throw new Error('user ringbuf creation failed');
    expect(map.poll(null)).toBe(EPOLL.OUT | EPOLL.WRNORM);
    // User space published a full ring.
    env.phys.view.setUint32(map.base + 2 * PAGE_SIZE, PAGE_SIZE, true);
    expect(map.poll(null)).toBe(0);
  });

  it('other map types answer EPOLLERR (bpf_map_poll without map_poll)', () => {
    const env = mapTestEnv();
    const map = createMap({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, mapFlags: 0, name: 'a' }, env);
    if (typeof map === 'number') throw new Error('array creation failed');
    expect(map.poll(null)).toBe(EPOLL.ERR);
  });
});
