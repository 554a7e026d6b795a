import { describe, expect, it } from 'vitest';
import { runHookTour } from './hook-tour.js';

describe('hook tour', () => {
  it('counts syscalls, samples tasks, denies an open and filters frames, the same way every time', () => {
    const tour = runHookTour(1, 2);
    const names = Object.fromEntries(tour.syscallsByName);
    expect(names.fork).toBe(4);
    expect(names.execve).toBe(4);
    expect(names.wait4).toBeGreaterThanOrEqual(4);
    expect(tour.syscallsByComm.map(([comm]) => comm)).toContain('producer');
    expect(tour.samplesByComm.length).toBeGreaterThan(0);
    expect(tour.deniedOpens).toEqual(['producer:2 /tmp/job0.in']);
    // The producer of job 0 exits with 10 (open failed): the shell counts one failed child.
    expect(tour.shellStatusWithDenial).toBe(1 << 8);
    expect(tour.xdpFrames).toBe(1000);
    expect(tour.nic.xdpDrop + tour.nic.xdpPass).toBe(1000);
    expect(tour.nic.xdpDrop).toBeGreaterThan(300);
    expect(runHookTour(1, 2)).toEqual(tour);
  });
});
