import { describe, expect, it } from 'vitest';
import { parseBestTime } from './kernel-verify-time.js';

describe("the kernel's verification time as rawload prints it", () => {
  it('reads the best time of the rounds, and -1 (refused) as no figure', () => {
    expect(parseBestTime('344844\n')).toBe(344844);
    expect(parseBestTime('-1\n')).toBeNull();
    expect(parseBestTime('errno 13\nsome log\n')).toBeNull();
  });
});
