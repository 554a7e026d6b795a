import { describe, expect, it } from 'vitest';
import { runNetWorkload } from './net.js';

describe('client/server network workload', () => {
  it('TCP: every client connects, gets every answer checked, and closes; nothing is left behind', () => {
    const run = runNetWorkload({ cpus: 2, seed: 7 }, { clients: 3, requests: 4 });
    expect(run.status).toBe(0);
    expect(run.console).toContain('netload: 3 tcp clients x 4 requests, 0 failed');
    expect(run.kernel.net.tcp.connections()).toEqual([]);
    expect(run.kernel.net.socketCount).toBe(0);
    expect(run.kernel.net.skbs.live).toBe(0);
  });

  it('UDP: every datagram is answered', () => {
    const run = runNetWorkload({ cpus: 2, seed: 7 }, { clients: 2, requests: 3, proto: 'udp' });
    expect(run.status).toBe(0);
    expect(run.console).toContain('netload: 2 udp clients x 3 requests, 0 failed');
  });

  it('is deterministic for a seed (same virtual time, same packets) and varies with it', () => {
    const fingerprint = (seed: number): string => {
      const run = runNetWorkload({ cpus: 2, seed }, { clients: 2, requests: 2 });
      return `${run.kernel.clock.now} ${run.kernel.net.stats.ipOutRequests} ${run.kernel.net.stats.ipInReceives}`;
    };
    expect(fingerprint(3)).toBe(fingerprint(3));
    expect(fingerprint(3)).not.toBe(fingerprint(4));
  });
});
