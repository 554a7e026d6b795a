import { describe, expect, it } from 'vitest';
import { parseProgRun } from './linux-probe.js';

describe('parseProgRun', () => {
  it("reads bpftool prog run's return value and average duration", () => {
    // Printed by bpftool v7.1.0 (libbpf 1.1) on Linux 6.18 for ../shared/bench/obj/parse_tcp.xdp.o, repeat 1000000.
    expect(parseProgRun('Return value: 2882143734, duration (average): 7ns\n')).toEqual({ retval: 2882143734, ns: 7 });
  });

  it('answers null for output without the result line', () => {
    expect(parseProgRun('Error: failed to run program: Operation not permitted\n')).toBeNull();
    expect(parseProgRun('')).toBeNull();
  });
});
