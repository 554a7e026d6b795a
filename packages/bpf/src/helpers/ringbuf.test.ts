/**
 * The ringbuf helpers' implementations, called as the VM calls them (a HelperContext with the program's
 * arguments) with a HelperEnv whose mapAt knows one ring buffer: a hand-made environment, since the runtime
 * that builds the real one is another part of issue 12.
 */
import { idleRunState, type HelperEnv } from '../runtime/env.js';
import type { HelperContext, HelperFn } from '@ebpf-sim/vm';
import { BPF_FUNC, BPF_MAP_TYPE, BPF_RB, BPF_RINGBUF, Errno, PAGE_SIZE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createMap } from '../maps/registry.js';
import { RingBufMap } from '../maps/ringbuf.js';
import { mapTestEnv } from '../testing/map-env.js';
import { HELPERS } from './index.js';

/** The ring's kernel address as a program holds it (struct bpf_map *). */
const MAP_ADDRESS = 0x1000_0000;

function setup() {
  const menv = mapTestEnv();
  const rb = createMap({ mapType: BPF_MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE_SIZE, mapFlags: 0, name: 'events' }, menv);
  if (!(rb instanceof RingBufMap)) throw new Error(`ringbuf: ${typeof rb === 'number' ? rb : 'another map type'}`);
  const env = {
    k: { phys: menv.phys },
    run: idleRunState(),
    trace: { printk: () => undefined },
    mapAt: (address: number) => (address === MAP_ADDRESS ? rb : undefined),
  } as unknown as HelperEnv;
  const fn = (name: 'ringbuf_output' | 'ringbuf_reserve' | 'ringbuf_submit' | 'ringbuf_discard' | 'ringbuf_query'): HelperFn => {
    const impl = HELPERS.get(BPF_FUNC[name])?.impl;
    if (impl === undefined) throw new Error(`${name} has no implementation`);
    return impl(env);
  };
  const call = (helper: HelperFn, ...args: number[]): number => {
    const ctx = {
      arg: (n: number) => BigInt(args[n - 1] ?? 0),
      argNumber: (n: number) => args[n - 1] ?? 0,
      argU32: (n: number) => (args[n - 1] ?? 0) >>> 0,
    } as unknown as HelperContext;
    return Number(helper(ctx) ?? 0);
  };
  return { menv, rb, fn, call };
}

describe('ringbuf helpers', () => {
  it('reserve, submit and discard records, found again from the sample pointer', () => {
    const { menv, rb, fn, call } = setup();
    const reserve = fn('ringbuf_reserve');
    const a = call(reserve, MAP_ADDRESS, 12, 0);
    const b = call(reserve, MAP_ADDRESS, 4, 0);
    expect(a).toBe(rb.data + 8);
    expect(b).toBe(rb.data + 24 + 8);
    expect(call(reserve, MAP_ADDRESS, 4, 1)).toBe(0);
    menv.phys.bytes.set([0xaa, 0xbb, 0xcc], a);
    call(fn('ringbuf_discard'), b, 0);
    call(fn('ringbuf_submit'), a, BPF_RB.FORCE_WAKEUP);
    expect(menv.phys.view.getUint32(rb.data, true)).toBe(12);
    expect(menv.phys.view.getUint32(rb.data + 24, true)).toBe((4 | BPF_RINGBUF.DISCARD_BIT) >>> 0);
    expect(rb.wakeups).toBe(1);
    const query = fn('ringbuf_query');
    expect(call(query, MAP_ADDRESS, BPF_RB.PROD_POS)).toBe(40);
    expect(call(query, MAP_ADDRESS, BPF_RB.AVAIL_DATA)).toBe(40);
    expect(call(query, MAP_ADDRESS, BPF_RB.RING_SIZE)).toBe(PAGE_SIZE);
    expect(call(query, MAP_ADDRESS, BPF_RB.CONS_POS)).toBe(0);
  });

  it('ringbuf_output copies from the program, EINVAL for unknown flags, EAGAIN when full', () => {
    const { menv, rb, fn, call } = setup();
    const output = fn('ringbuf_output');
    const src = menv.put(new Uint8Array([1, 2, 3, 4]));
    expect(call(output, MAP_ADDRESS, src, 4, 0)).toBe(0);
    expect([...menv.read(rb.data + 8, 4)]).toEqual([1, 2, 3, 4]);
    expect(call(output, MAP_ADDRESS, src, 4, 4)).toBe(-Errno.EINVAL);
    expect(call(output, MAP_ADDRESS, src, PAGE_SIZE, 0)).toBe(-Errno.EAGAIN);
  });
});
