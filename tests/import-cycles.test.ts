import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeImportsOf, isTestFile, rel, resolveRelative, sourceFiles, workspaceDirs } from './source-graph.js';

/**
 * Import cycles among the modules of each package: modules that load each other at run time, whose
 * evaluation order then depends on which one is imported first. Type-only imports are erased and do not
 * count. Strongly connected components by Tarjan's algorithm; each cycle is reported as the files in it.
 */
function cyclesIn(files: readonly string[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const targets = runtimeImportsOf(file)
      .map((spec) => resolveRelative(file, spec))
      .filter((t): t is string => t !== undefined && !isTestFile(t));
    edges.set(file, targets);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = (edges.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) components.push(component.map(rel).sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return components;
}

describe('no import cycles inside a package', () => {
  it.each(workspaceDirs().map((dir) => [rel(dir), dir] as const))('%s', (_name, dir) => {
    const files = sourceFiles(join(dir, 'src')).filter((f) => !isTestFile(f));
    expect(cyclesIn(files), 'modules that import each other (directly or through others)').toEqual([]);
  });
});
