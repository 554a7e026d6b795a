/**
 * Dynptrs end to end: the clang object dynptr_rb.bpf.o (a syscalls:sys_enter_write tracepoint program that
 * reserves each record with bpf_ringbuf_reserve_dynptr, fills it through bpf_dynptr_data, bpf_dynptr_write and
 * bpf_dynptr_read of a local dynptr over a map value made by bpf_dynptr_from_mem, and submits or discards it)
 * is loaded with the loader (the verifier tracks the dynptr's stack slots and the record's reference), and a
 * user process reads the records with the loader's RingBuffer. A failed reservation (a record larger than the
 * ring) leaves a NULL dynptr the program discards: nothing reaches the reader.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BpfAttachment, registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { RingBuffer, load, openObject } from '@ebpf-sim/loader';
import { Libc, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const OBJECT = resolve(repoRoot(), 'apps/cli/fixtures/attach/obj/dynptr_rb.bpf.o');
const MS = 1e6;
/** struct dp_state { u32 seq; u32 failed; char tag[8]; } */
const STATE_SIZE = 16;

interface Event {
  readonly pid: number;
  readonly seq: number;
  readonly count: number;
  readonly comm: string;
  readonly tag: string;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** struct event { u32 pid; u32 seq; u64 count; char comm[16]; char tag[8]; } */
function decode(data: Uint8Array): Event {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    pid: view.getUint32(0, true),
    seq: view.getUint32(4, true),
    count: Number(view.getBigUint64(8, true)),
    comm: cString(data.subarray(16, 32)),
    tag: cString(data.subarray(32, 40)),
  };
}

describe('dynptr: ring buffer records written through dynptrs', () => {
  it('submits records filled through the dynptr, discards on request and after a failed reservation', () => {
    const kernel = createKernel({ cpus: 2 });
    const bpf = registerBpf(kernel);
    const events: Event[] = [];
    const sizes: number[] = [];
    let writerPid = 0;
    let failed = -1;
    const writer: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const pipe = yield* libc.pipe();
      if (!pipe.ok) return 1;
      // 3 bytes, 1 (a record larger than the ring: the reservation fails), 0 (discarded), then 5.
      for (const count of [3, 1, 0, 5]) {
        yield* libc.nanosleep(2 * MS);
        yield* libc.write(pipe.value[1], new Uint8Array(count));
      }
      return 0;
    };
    kernel.vfs.registerProgram('/bin/writer', writer);
    const reader: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const loaded = yield* load(openObject(new Uint8Array(readFileSync(OBJECT)), { name: 'dynptr_rb' }), libc, { possibleCpus: 2 });
      const prog = loaded.programs.get('dynptr_write');
      const ring = loaded.maps.get('events');
      const state = loaded.maps.get('state');
      if (prog === undefined || ring === undefined || state === undefined) throw new Error('dynptr_rb.bpf.o lacks dynptr_write, events or state');
      const key = new Uint8Array(4);
      const initial = new Uint8Array(STATE_SIZE);
      initial.set(new TextEncoder().encode('dyn-tag'), 8);
      if ((yield* libc.bpfMapUpdate(state.fd, key, initial)) !== 0) throw new Error('state update failed');
      const info = yield* libc.bpfProgGetInfo(prog.fd);
      if (!info.ok) throw new Error(`prog info: ${info.errno}`);
      const object = bpf.progs.progs.find(info.value.id);
      if (object === undefined) throw new Error('no program object');
      kernel.hooks.require('syscalls:sys_enter_write').attach(new BpfAttachment(bpf.runtime, object, 0n));
      const rb = yield* RingBuffer.create(libc, ring.fd, (data) => {
        sizes.push(data.length);
        events.push(decode(data));
      });
      if (typeof rb === 'number') throw new Error(`ring_buffer__new: ${rb}`);
      writerPid = yield* libc.fork(function* (childCtx) {
        return yield* new Libc(childCtx).execve('/bin/writer', ['writer'], []);
      });
      while (events.filter((e) => e.pid === writerPid).length < 2) {
        const n = yield* rb.poll(100);
        if (n < 0) throw new Error(`ring_buffer__poll: ${n}`);
      }
      yield* libc.wait4(writerPid);
      const after = yield* libc.bpfMapLookup(state.fd, key, STATE_SIZE);
      if (!after.ok) throw new Error('state lookup failed');
      failed = new DataView(after.value.buffer, after.value.byteOffset).getUint32(4, true);
      yield* rb.free();
      yield* loaded.close();
      return 0;
    };
    kernel.vfs.registerProgram('/bin/reader', reader);
    kernel.spawn('/bin/reader', { uid: 0 });
    kernel.run({ untilNs: 10e9 });
    expect(kernel.crashes).toEqual([]);
    const fromWriter = events.filter((event) => event.pid === writerPid);
    // The count came in through bpf_dynptr_write, the tag through a local dynptr over the map value.
    expect(fromWriter.map((event) => event.count)).toEqual([3, 5]);
    expect(fromWriter.map((event) => event.comm)).toEqual(['writer', 'writer']);
    expect(fromWriter.map((event) => event.tag)).toEqual(['dyn-tag', 'dyn-tag']);
    // seq counts the reserved records (the discarded one included), not the failed reservation.
    expect(fromWriter.map((event) => event.seq)).toEqual([0, 2]);
    expect(sizes.every((size) => size === 40)).toBe(true);
    expect(failed).toBe(1);
  });
});
