/**
 * Ring buffer output end to end: the clang object rb_events.bpf.o (a syscalls:sys_enter_write tracepoint
 * program reserving, submitting and discarding records in a RINGBUF) is loaded with the loader, and a user
 * process reads the events with the loader's RingBuffer (libbpf's ring_buffer__new / __poll: mmap of the
 * consumer and producer pages, epoll_wait on the map fd), blocking in virtual time until a writer process
 * produces them.
 *
 * Attach: until the loader's attach() and perf_event_open for tracepoints land (other branches of issue 14),
 * the program is put on the `syscalls:sys_enter_write` hook with a BpfAttachment, the object every attach
 * path uses.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BpfAttachment, registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { RingBuffer, load, openObject } from '@ebpf-sim/loader';
import { Errno, Libc, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const OBJECT = resolve(repoRoot(), 'apps/cli/fixtures/attach/obj/rb_events.bpf.o');
const MS = 1e6;

interface Event {
  readonly pid: number;
  readonly seq: number;
  readonly count: number;
  readonly comm: string;
  readonly at: number;
}

function decode(data: Uint8Array, at: number): Event {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const comm = data.subarray(16, 32);
  const end = comm.indexOf(0);
  return {
    pid: view.getUint32(0, true),
    seq: view.getUint32(4, true),
    count: Number(view.getBigUint64(8, true)),
    comm: new TextDecoder().decode(end < 0 ? comm : comm.subarray(0, end)),
    at,
  };
}

describe('ringbuf: a tracepoint program to a user-space reader in epoll_wait', () => {
  it('delivers every committed record in order, skips discarded ones, and wakes the reader in virtual time', () => {
    const kernel = createKernel({ cpus: 2 });
    const bpf = registerBpf(kernel);
    const events: Event[] = [];
    const polls: string[] = [];
    let writerPid = 0;
    let wrongMap = 0;
    const writer: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const pipe = yield* libc.pipe();
      if (!pipe.ok) return 1;
      // Batches of writes 2 ms apart: 3, 0 (discarded), 5, 2000 (no wake-up), then 7.
      for (const count of [3, 0, 5, 2000, 7]) {
        yield* libc.nanosleep(2 * MS);
        yield* libc.write(pipe.value[1], new Uint8Array(count));
      }
      return 0;
    };
    kernel.vfs.registerProgram('/bin/writer', writer);
    const reader: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const loaded = yield* load(openObject(new Uint8Array(readFileSync(OBJECT)), { name: 'rb_events' }), libc, { possibleCpus: 2 });
      const prog = loaded.programs.get('rb_write');
      const map = loaded.maps.get('events');
      if (prog === undefined || map === undefined) throw new Error('rb_events.bpf.o lacks rb_write or events');
      const info = yield* libc.bpfProgGetInfo(prog.fd);
      if (!info.ok) throw new Error(`prog info: ${info.errno}`);
      const object = bpf.progs.progs.find(info.value.id);
      if (object === undefined) throw new Error('no program object');
      kernel.hooks.require('syscalls:sys_enter_write').attach(new BpfAttachment(bpf.runtime, object, 0n));
      // ring_buffer__add refuses a map that is not a ring buffer.
      const counter = loaded.maps.get('counter');
      if (counter === undefined) throw new Error('rb_events.bpf.o lacks counter');
      const notRing = yield* RingBuffer.create(libc, counter.fd, () => 0);
      wrongMap = typeof notRing === 'number' ? notRing : 0;
      const rb = yield* RingBuffer.create(libc, map.fd, (data) => {
        events.push(decode(data, kernel.clock.now));
      });
      if (typeof rb === 'number') throw new Error(`ring_buffer__new: ${rb}`);
      writerPid = yield* libc.fork(function* (childCtx) {
        return yield* new Libc(childCtx).execve('/bin/writer', ['writer'], []);
      });
      while (events.length < 4) {
        const n = yield* rb.poll(100);
        if (n < 0) throw new Error(`ring_buffer__poll: ${n}`);
        polls.push(`poll ${n}`);
        // A timeout: what was committed without a wake-up is only found by consuming without waiting.
        if (n === 0 && (yield* libc.clockGettime()) > 50 * MS) polls.push(`consume ${rb.consume()}`);
      }
      yield* libc.wait4(writerPid);
      yield* rb.free();
      yield* loaded.close();
      return 0;
    };
    kernel.vfs.registerProgram('/bin/reader', reader);
    kernel.spawn('/bin/reader', { uid: 0 });
    kernel.run({ untilNs: 10e9 });
    expect(kernel.crashes).toEqual([]);
    expect(wrongMap).toBe(-Errno.EINVAL);
    const fromWriter = events.filter((event) => event.pid === writerPid);
    expect(fromWriter.map((event) => event.count)).toEqual([3, 5, 2000, 7]);
    expect(fromWriter.map((event) => event.comm)).toEqual(['writer', 'writer', 'writer', 'writer']);
    // seq counts every write the program saw, the discarded one included.
    expect(fromWriter.map((event) => event.seq)).toEqual([0, 2, 3, 4]);
    // The reader slept between batches and was woken at each record it had caught up with, the discarded one
    // included (a wake-up with nothing to hand over). The BPF_RB_NO_WAKEUP record woke nobody, and the record
    // after it did not either (the consumer was behind: Linux's adaptive rule), so both waited for the poll's
    // 100 ms timeout and a consume, as with libbpf.
    expect(polls).toEqual(['poll 1', 'poll 0', 'poll 1', 'poll 0', 'consume 2']);
    const times = fromWriter.map((event) => event.at);
    expect(times[0]).toBeGreaterThanOrEqual(2 * MS);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(4 * MS);
    expect(times[3]).toBe(times[2]);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(100 * MS);
  });
});
