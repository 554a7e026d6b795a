/**
 * The README's demo (`ebpf-sim attach-demo`): a committed clang object loaded, its tracepoint and XDP programs
 * attached, a workload run, and user space printing the map, ring buffer events and trace_pipe lines.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../commands/isa/test-helpers.js';

describe('ebpf-sim attach-demo', () => {
  it('loads the object, attaches both programs, runs the workloads and prints what the programs collected', async () => {
    const r = await run('attach-demo');
    expect(r.out).toMatch(/^ebpf-sim attach-demo: a real eBPF object at the hook points of a simulated Linux kernel\n/);
    expect(r.out).toContain(
      '   maps: opens, events, xdp_verdicts, .rodata; programs: trace_openat (SEC("tracepoint/syscalls/sys_enter_openat")), xdp_filter (SEC("xdp"))\n',
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('   workload shell: 2 pipelines, 5 processes, /bin/sh exited with 0\n');
    // 200 frames from four sources, one of which (10.0.0.2) the program drops.
    expect(r.out).toMatch(/workload packets: 200 frames sent to eth0, 200 received; XDP: (\d+) passed, (\d+) dropped, 0 sent back, 0 redirected, 0 aborted\n/);
    expect(r.out).toMatch(/\n {5}producer +[1-9]\d*\n/);
    expect(r.out).toMatch(/ring buffer "events": [1-9]\d* events/);
    expect(r.out).toMatch(/\n {5}pid \d+ (producer|consumer) +openat\("\/tmp\/job\d/);
    expect(r.out).toMatch(/\n +\S+-\d+ +\[000\] .{4,5} +\d+\.\d{6}: bpf_trace_printk: openat by \S+ \(pid \d+\)\n/);
    expect(r.out).toMatch(/\n {5}XDP_DROP: [1-9]\d*\n {5}XDP_PASS: [1-9]\d*\n/);
    expect(r.out).toMatch(/5\. Closing the links detached both programs/);
  });
});
