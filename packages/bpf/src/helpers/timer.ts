/**
 * bpf_timer (kernel/bpf/helpers.c): a `struct bpf_timer` inside a map value (its place found through the map's
 * BTF, {@link timerOffOf}) that a program initialises, gives a callback and starts; at expiry the kernel runs the
 * callback (bpf_timer_cb: R1 the map, R2 the element's key, R3 its value) outside any program, on the CPU that
 * started it, in virtual time (the kernel's clock events stand for hrtimers). The timers of a map are cancelled
 * and freed when user space lets go of the map (map_release_uref) or the map is freed
 * (bpf_timer_cancel_and_free).
 */
import { BtfKind, type Btf } from '@ebpf-sim/btf';
import type { TimerEvent } from '@ebpf-sim/kernel';
import { BPF_F_TIMER, BPF_MAP_TYPE, CLOCK, Errno, MAX_CLOCKS } from '@ebpf-sim/uapi';
import type { BpfMap } from '../maps/map.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** The name of the struct whose place in a map value btf_parse_fields records (BPF_TIMER). */
const TIMER_STRUCT = 'bpf_timer';
/** sizeof(struct bpf_timer): what the program sees (two opaque u64s; the kernel keeps its pointer there). */
const TIMER_SIZE = 16;
/** The map types that may hold a bpf_timer (map_check_btf's BPF_TIMER case). */
const TIMER_MAP_TYPES: ReadonlySet<number> = new Set([BPF_MAP_TYPE.HASH, BPF_MAP_TYPE.LRU_HASH, BPF_MAP_TYPE.ARRAY]);
/** EOPNOTSUPP: a timer in a map type that cannot hold one. */
const EOPNOTSUPP = 95;

/**
 * map_check_btf's BPF_TIMER field: the offset of the value's `struct bpf_timer` member (-1: none), or
 * -EOPNOTSUPP when the map type cannot hold one.
 */
export function timerOffOf(btf: Btf, valueTypeId: number, mapType: number): number {
  const value = btf.skipModifiers(valueTypeId);
  if (value === undefined || (value.kind !== BtfKind.STRUCT && value.kind !== BtfKind.UNION)) return -1;
  for (const member of value.members) {
    const type = btf.skipModifiers(member.type);
    if (type?.kind === BtfKind.STRUCT && type.name === TIMER_STRUCT) return TIMER_MAP_TYPES.has(mapType) ? member.bitOffset / 8 : -EOPNOTSUPP;
  }
  return -1;
}

/** struct bpf_hrtimer: what bpf_timer_init allocates for one timer. */
interface BpfHrtimer {
  readonly map: BpfMap;
  readonly value: number;
  /** The element's key (an array's index is kept in {@link keyBuf}, as Linux computes it into a u32). */
  readonly key: number;
  readonly keyBuf: number;
  /** The callback's kernel address (0: none yet) and the program that set it. */
  fn: number;
  jited: boolean;
  progType: number;
  cpu: number;
  event: TimerEvent | null;
  /** What the clock calls at expiry (made once, at init: no closure per start). */
  readonly fire: () => void;
  /** The callback is running (Linux hrtimer_running): it may not cancel its own timer. */
  running: boolean;
}

/** The timers of one runtime, by the address of their struct bpf_timer. */
type Timers = Map<number, BpfHrtimer>;
const TIMERS = new WeakMap<HelperEnv, Timers>();
/** The timers of a map's elements, by value address: what a map frees with an element (check_and_free_fields). */
const BY_MAP = new WeakMap<BpfMap, Map<number, { readonly env: HelperEnv; readonly address: number }>>();

function timersOf(env: HelperEnv): Timers {
  let timers = TIMERS.get(env);
  if (timers === undefined) {
    timers = new Map();
    TIMERS.set(env, timers);
  }
  return timers;
}

/** Cancel and free one timer (bpf_timer_cancel_and_free). */
function cancelAndFree(env: HelperEnv, timers: Timers, address: number, t: BpfHrtimer): void {
  if (t.event !== null) env.k.clock.cancel(t.event);
  t.event = null;
  if (t.keyBuf !== 0) env.k.phys.kfree(t.keyBuf);
  timers.delete(address);
  BY_MAP.get(t.map)?.delete(t.value);
}

/**
 * The element whose value is at `value` leaves `map` (deleted, or replaced by an update): its timer, if it has
 * one, is cancelled and freed (check_and_free_fields: bpf_timer_cancel_and_free).
 */
export function freeElemTimer(map: BpfMap, value: number): void {
  const owner = BY_MAP.get(map)?.get(value);
  if (owner === undefined) return;
  const timers = TIMERS.get(owner.env);
  const t = timers?.get(owner.address);
  if (timers !== undefined && t !== undefined) cancelAndFree(owner.env, timers, owner.address, t);
}

/**
 * Every timer of `map` cancelled and freed: user space let go of the map (map_release_uref:
 * array_map_free_timers_wq, htab_free_timers) or the map is freed.
 */
export function freeMapTimers(env: HelperEnv, map: BpfMap): void {
  const timers = TIMERS.get(env);
  if (timers === undefined) return;
  for (const [address, t] of timers) if (t.map === map) cancelAndFree(env, timers, address, t);
}

/** Where the element holding the timer at `value` keeps its key: a hash element's own, an array's index in `keyBuf`. */
function findKey(map: BpfMap, value: number, keyBuf: number): number {
  let key = 0;
  map.forEachElem(0, keyBuf, (keyAddr, valueAddr) => {
    if (valueAddr !== value) return false;
    key = keyAddr;
    return true;
  });
  return key;
}

/**
 * bpf_timer_init(timer, map, flags): allocate the timer; flags is the clock (CLOCK_MONOTONIC, REALTIME or
 * BOOTTIME: virtual time for all three); -EINVAL for another, -EBUSY when already initialised.
 */
const timerInit: HelperImpl = (env) => {
  const timers = timersOf(env);
  return (ctx) => {
    const flags = ctx.argNumber(3);
    const clockid = flags & (MAX_CLOCKS - 1);
    if (flags >= MAX_CLOCKS || (clockid !== CLOCK.MONOTONIC && clockid !== CLOCK.REALTIME && clockid !== CLOCK.BOOTTIME)) return -Errno.EINVAL;
    const address = ctx.argNumber(1);
    if (timers.has(address)) return -Errno.EBUSY;
    const map = env.mapAt(ctx.argNumber(2));
    if (map === undefined || map.timerOff < 0) return -Errno.EINVAL;
    const value = address - map.timerOff;
    // An array's key is its index, which bpf_timer_cb computes into a u32 of its own.
    const keyBuf = map.type === BPF_MAP_TYPE.ARRAY ? env.k.phys.kmalloc(8, 'bpf-timer') : 0;
    if (keyBuf < 0) return -Errno.ENOMEM;
    const key = findKey(map, value, keyBuf);
    const fire = (): void => expire(env, timers, address);
    timers.set(address, { map, value, key, keyBuf, fn: 0, jited: false, progType: 0, cpu: 0, event: null, fire, running: false });
    let byValue = BY_MAP.get(map);
    if (byValue === undefined) {
      byValue = new Map<number, { readonly env: HelperEnv; readonly address: number }>();
      BY_MAP.set(map, byValue);
    }
    byValue.set(value, { env, address });
    env.k.phys.bytes.fill(0, address, address + TIMER_SIZE);
    return 0;
  };
};

/** bpf_timer_set_callback(timer, callback_fn): the callback, run by this program's engine; -EINVAL before init. */
const timerSetCallback: HelperImpl = (env) => {
  const timers = timersOf(env);
  return (ctx) => {
    const t = timers.get(ctx.argNumber(1));
    if (t === undefined) return -Errno.EINVAL;
    t.fn = ctx.argNumber(2);
    t.jited = env.runningJited;
    t.progType = env.run.progType;
    return 0;
  };
};

/**
 * bpf_timer_start(timer, nsecs, flags): (re)arm the timer `nsecs` from now, or at `nsecs` with BPF_F_TIMER_ABS;
 * -EINVAL for other flags, or before init and set_callback. The callback runs on this CPU.
 */
const timerStart: HelperImpl = (env) => {
  const timers = timersOf(env);
  const clock = env.k.clock;
  return (ctx) => {
    const flags = ctx.argNumber(3);
    if ((flags & ~(BPF_F_TIMER.ABS | BPF_F_TIMER.CPU_PIN)) !== 0) return -Errno.EINVAL;
    const address = ctx.argNumber(1);
    const t = timers.get(address);
    if (t === undefined || t.fn === 0) return -Errno.EINVAL;
    const nsecs = ctx.argNumber(2);
    if (t.event !== null) clock.cancel(t.event);
    t.cpu = env.run.cpu;
    t.event = (flags & BPF_F_TIMER.ABS) !== 0 ? clock.at(Math.max(nsecs, clock.now), t.fire) : clock.after(nsecs, t.fire);
    return 0;
  };
};

/** bpf_timer_cb: the timer fired: run its callback (R1 map, R2 key, R3 value); it does not re-arm by itself. */
function expire(env: HelperEnv, timers: Timers, address: number): void {
  const t = timers.get(address);
  if (t === undefined) return;
  t.event = null;
  if (t.fn === 0) return;
  t.running = true;
  env.runAsyncCallback(t.fn, t.jited, t.progType, t.cpu, t.map.address, t.key, t.value);
  t.running = false;
}

/**
 * bpf_timer_cancel(timer): 1 when it was armed, 0 when not; -EINVAL before init, -EDEADLK from its own
 * callback.
 */
const timerCancel: HelperImpl = (env) => {
  const timers = timersOf(env);
  return (ctx) => {
    const t = timers.get(ctx.argNumber(1));
    if (t === undefined) return -Errno.EINVAL;
    if (t.running) return -Errno.EDEADLK;
    if (t.event === null) return 0;
    env.k.clock.cancel(t.event);
    t.event = null;
    return 1;
  };
};

export const TIMER_HELPERS: readonly BpfHelper[] = [
  helper('timer_init', { ret: 'integer', args: ['ptr_to_timer', 'const_map_ptr', 'anything'] }, timerInit),
  helper('timer_set_callback', { ret: 'integer', args: ['ptr_to_timer', 'ptr_to_func'], callback: 'timer' }, timerSetCallback),
  helper('timer_start', { ret: 'integer', args: ['ptr_to_timer', 'anything', 'anything'] }, timerStart),
  helper('timer_cancel', { ret: 'integer', args: ['ptr_to_timer'] }, timerCancel),
];
