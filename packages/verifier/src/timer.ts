/**
 * bpf_timer arguments (Linux process_timer_func): the `struct bpf_timer` of a map value, at the constant offset
 * the map's BTF put it (map->record->timer_off).
 */
import type { Reg } from './reg.js';
import type { MapDesc, ProgramTypeDesc } from './registry.js';
import { Reject } from './reject.js';
import { tnumIsConst } from './tnum.js';

/** sizeof(struct bpf_timer). */
const TIMER_SIZE = 16;

/**
 * check_map_access: no load or store (nor helper access) may touch a byte of the value's bpf_timer; `off` is
 * the access's fixed offset, the pointer's variable part is its [smin, umax].
 */
export function checkTimerAccess(reg: Reg, off: number, size: number, timerOff: number): void {
  if (Number(reg.smin) + off < timerOff + TIMER_SIZE && timerOff < Number(reg.umax) + off + size) {
    throw new Reject('bpf_timer cannot be accessed directly by load/store', 'timer');
  }
}

/** The map a timer argument's value belongs to, or throws with Linux's line (EINVAL). */
export function checkTimerArg(regno: number, reg: Reg): MapDesc | null {
  if (!tnumIsConst(reg.varOff)) {
    throw new Reject(`R${regno} doesn't have constant offset. bpf_timer has to be at the constant offset`, 'timer', { errno: 22 });
  }
  const map = reg.map;
  if (!map || map.timerOff === undefined) throw new Reject(`map '${map?.name ?? ''}' has no valid bpf_timer`, 'timer', { errno: 22 });
  const off = Number(BigInt.asIntN(64, reg.varOff.value)) + reg.off;
  if (off !== map.timerOff) throw new Reject(`off ${off} doesn't point to 'struct bpf_timer' that is at ${map.timerOff}`, 'timer', { errno: 22 });
  return map;
}

/**
 * The timer part of Linux check_map_prog_compatibility, for every map the program names (before verifying):
 * tracing program types may not use a map whose value holds a bpf_timer.
 */
export function checkMapProgCompat(maps: ReadonlyArray<MapDesc | null>, progType: ProgramTypeDesc): void {
  if (progType.tracingProg !== true) return;
  maps.forEach((map, i) => {
    if (map?.timerOff !== undefined) throw new Reject('tracing progs cannot use bpf_timer yet', 'timer', { errno: 22, insn: i });
  });
}
