import { describe, expect, it } from 'vitest';
import { nodesOnCycles, type Graph } from './structure.js';

const graph = (succs: readonly (readonly number[])[]): Graph => ({ size: succs.length, succs: (n) => succs[n] ?? [], end: () => 'goto' });

describe('nodesOnCycles', () => {
  it('marks the nodes of loops (nested, self-loops, the entry as a header) and nothing else', () => {
    // 0 -> 1; 1 -> 2 (outer loop header 1); 2 -> 3, 2 -> 2 (self-loop); 3 -> 1 (back edge), 3 -> 4; 4 -> 5; 5 exits
    expect([...nodesOnCycles(graph([[1], [2], [2, 3], [1, 4], [5], []]))]).toEqual([0, 1, 1, 1, 0, 0]);
    // The entry is the loop header: 0 -> 1 -> 0, 1 -> 2.
    expect([...nodesOnCycles(graph([[1], [0, 2], []]))]).toEqual([1, 1, 0]);
    // A diamond has no cycle; an unreachable node is not visited.
    expect([...nodesOnCycles(graph([[1, 2], [3], [3], [], [4]]))]).toEqual([0, 0, 0, 0, 0]);
  });

  it('handles a chain deeper than the JS stack', () => {
    const n = 200_000;
    const succs = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : [0]));
    const marks = nodesOnCycles(graph(succs));
    expect(marks.every((m) => m === 1)).toBe(true);
  });
});
