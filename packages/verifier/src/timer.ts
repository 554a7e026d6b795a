/**
 * bpf_timer arguments (Linux process_timer_func): the `struct bpf_timer` of a map value, at the constant offset
 * the map's BTF put it (map->record->timer_off).
 */
import type { Reg } from './reg.js';
import type { MapDesc, ProgramTypeDesc } from './registry.js';
import { Reject } from './reject.js';
import { tnumIsConst } from './tnum.js';

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
