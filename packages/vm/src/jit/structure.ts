/**
 * From a control-flow graph to WebAssembly's structured control flow.
 *
 * Reducible graphs (every loop has a single entry, which is what compilers emit) are structured with the
 * dominator-tree algorithm of Ramsey, "Beyond Relooper" (ICFP 2022): a node's code is followed by those of
 * its dominator-tree children that have several forward predecessors (merge nodes), each wrapped so that a
 * forward branch to it is a `br` out of a `block`; a loop header is wrapped in a `loop`, so a back edge is a
 * `br` to that loop; any other successor is emitted inline at the branch. Irreducible graphs (jumps into the
 * middle of a loop: possible in unverified bytecode) fall back to a dispatch loop: a `loop` around a
 * `br_table` over one `block` per node, with a label local selecting the next node.
 *
 * The structurer knows nothing of eBPF: each node is a straight-line body the emitter writes, ended by a
 * goto, a two-way conditional (the body leaves the i32 condition on the stack) or a return.
 */
import { Op, type Code } from './wasm.js';

export type NodeEnd =
  /** Continue at succs[0]. */
  | 'goto'
  /** The body left an i32 on the stack: nonzero goes to succs[0], zero to succs[1]. */
  | 'cond'
  /** The body ended control itself (return, br to the stop label, unreachable). */
  | 'none';

export interface Graph {
  /** Node count; node 0 is the entry. */
  readonly size: number;
  succs(node: number): readonly number[];
  end(node: number): NodeEnd;
}

export interface StructureSink {
  readonly code: Code;
  /**
   * Emit the body of `node`. `depth` is the number of labels enclosing the body; the outermost one (depth - 1
   * from the body) is the function's stop label, which the sink may branch to. `cyclic` is true when control
   * can come back to this node without passing the entry again (a loop header; every node of a dispatch
   * loop) or it is the entry: every cycle of the graph goes through such a node.
   */
  body(node: number, depth: number, cyclic: boolean): void;
  /** Emit code on a loop's entry edge, just before the `loop` that the header `node`'s body begins. */
  enterLoop(node: number): void;
  /** An i32 local the dispatch fallback may use to hold the next node. */
  readonly labelLocal: number;
}

/** How a graph was structured (for tests and statistics). */
export type StructureKind = 'structured' | 'dispatch';

interface Label {
  readonly kind: 'stop' | 'loop' | 'block' | 'if' | 'dispatch';
  /** The node a `loop` is headed by, or a `block` is followed by; -1 otherwise. */
  readonly node: number;
}

/** Nodes reachable from the entry in reverse postorder (iterative DFS, so deep graphs do not overflow). */
function reversePostorder(g: Graph): number[] {
  const order: number[] = [];
  const seen = new Uint8Array(g.size);
  const stack: Array<[number, number]> = [[0, 0]];
  seen[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const succs = g.succs(top[0]);
    if (top[1] < succs.length) {
      const next = succs[top[1]++]!;
      if (!seen[next]) {
        seen[next] = 1;
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

/** Immediate dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm"), indexed by node. */
function dominators(g: Graph, rpo: readonly number[], rpoIndex: Int32Array): Int32Array {
  const preds: number[][] = Array.from({ length: g.size }, () => []);
  for (const n of rpo) for (const s of g.succs(n)) preds[s]!.push(n);
  const idom = new Int32Array(g.size).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    let x = a;
    let y = b;
    while (x !== y) {
      while (rpoIndex[x]! > rpoIndex[y]!) x = idom[x]!;
      while (rpoIndex[y]! > rpoIndex[x]!) y = idom[y]!;
    }
    return x;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (const n of rpo) {
      if (n === 0) continue;
      let best = -1;
      for (const p of preds[n]!) {
        if (idom[p] === -1) continue;
        best = best === -1 ? p : intersect(p, best);
      }
      if (best !== idom[n]) {
        idom[n] = best;
        changed = true;
      }
    }
  }
  return idom;
}

/** Emit the whole graph into `sink.code`, inside a stop block the sink can branch to. */
export function structure(g: Graph, sink: StructureSink): StructureKind {
  const rpo = reversePostorder(g);
  const rpoIndex = new Int32Array(g.size).fill(-1);
  rpo.forEach((n, i) => (rpoIndex[n] = i));
  const idom = dominators(g, rpo, rpoIndex);
  const dominates = (a: number, b: number): boolean => {
    let x = b;
    for (;;) {
      if (x === a) return true;
      if (x === 0) return false;
      x = idom[x]!;
    }
  };
  const loopHeader = new Uint8Array(g.size);
  const forwardIn = new Int32Array(g.size);
  let reducible = true;
  for (const n of rpo) {
    for (const s of g.succs(n)) {
      if (rpoIndex[s]! <= rpoIndex[n]!) {
        loopHeader[s] = 1;
        if (!dominates(s, n)) reducible = false;
      } else {
        forwardIn[s]!++;
      }
    }
  }
  const code = sink.code;
  const labels: Label[] = [{ kind: 'stop', node: -1 }];
  code.block();
  const start = code.length;
  let kind: StructureKind = reducible ? 'structured' : 'dispatch';
  if (reducible) {
    const children: number[][] = Array.from({ length: g.size }, () => []);
    for (const n of rpo) if (n !== 0) children[idom[n]!]!.push(n);
    try {
      new Ramsey(g, sink, rpoIndex, loopHeader, forwardIn, children, labels).tree(0);
    } catch (error) {
      // The tree walk recurses along dominator chains; a huge program can exhaust the JS stack. The dispatch
      // loop is iterative: start over with it.
      if (!(error instanceof RangeError)) throw error;
      code.length = start;
      labels.length = 1;
      kind = 'dispatch';
    }
  }
  if (kind === 'dispatch') dispatch(g, sink, rpo, labels);
  code.end();
  return kind;
}

function depthOf(labels: readonly Label[], kind: Label['kind'], node: number): number {
  for (let i = labels.length - 1; i >= 0; i--) {
    const l = labels[i]!;
    if (l.kind === kind && l.node === node) return labels.length - 1 - i;
  }
  throw new Error(`structurer: no enclosing ${kind} label for node ${node}`);
}

class Ramsey {
  constructor(
    private readonly g: Graph,
    private readonly sink: StructureSink,
    private readonly rpoIndex: Int32Array,
    private readonly loopHeader: Uint8Array,
    private readonly forwardIn: Int32Array,
    private readonly children: readonly number[][],
    private readonly labels: Label[],
  ) {}

  private isMerge(n: number): boolean {
    return this.forwardIn[n]! >= 2;
  }

  tree(x: number): void {
    // Merge children, latest first: the outermost block is followed by the latest one.
    const merges = this.children[x]!.filter((c) => this.isMerge(c)).sort((a, b) => this.rpoIndex[b]! - this.rpoIndex[a]!);
    const code = this.sink.code;
    if (this.loopHeader[x]) {
      this.sink.enterLoop(x);
      code.loop();
      this.labels.push({ kind: 'loop', node: x });
      this.within(x, merges, 0);
      this.labels.pop();
      code.end();
      code.op(Op.UNREACHABLE);
    } else {
      this.within(x, merges, 0);
    }
  }

  private within(x: number, merges: readonly number[], i: number): void {
    const code = this.sink.code;
    const y = merges[i];
    if (y !== undefined) {
      code.block();
      this.labels.push({ kind: 'block', node: y });
      this.within(x, merges, i + 1);
      this.labels.pop();
      code.end();
      this.tree(y);
      return;
    }
    this.sink.body(x, this.labels.length, x === 0 || this.loopHeader[x] === 1);
    const succs = this.g.succs(x);
    switch (this.g.end(x)) {
      case 'goto':
        this.branch(x, succs[0]!);
        break;
      case 'cond': {
        const [taken, fall] = [succs[0]!, succs[1]!];
        if (this.isBr(x, taken)) {
          code.brIf(this.brDepth(x, taken));
          this.branch(x, fall);
        } else if (this.isBr(x, fall)) {
          code.op(Op.I32_EQZ);
          code.brIf(this.brDepth(x, fall));
          this.branch(x, taken);
        } else {
          code.if_();
          this.labels.push({ kind: 'if', node: -1 });
          this.branch(x, taken);
          code.op(Op.ELSE);
          this.branch(x, fall);
          this.labels.pop();
          code.end();
          code.op(Op.UNREACHABLE);
        }
        break;
      }
      case 'none':
        break;
    }
  }

  private isBr(x: number, y: number): boolean {
    return this.rpoIndex[y]! <= this.rpoIndex[x]! || this.isMerge(y);
  }

  private brDepth(x: number, y: number): number {
    return this.rpoIndex[y]! <= this.rpoIndex[x]! ? depthOf(this.labels, 'loop', y) : depthOf(this.labels, 'block', y);
  }

  private branch(x: number, y: number): void {
    if (this.isBr(x, y)) this.sink.code.br(this.brDepth(x, y));
    else this.tree(y);
  }
}

/**
 * The fallback for irreducible graphs: `loop $d (block $bn-1 ... (block $b0 (br_table $label)) code0 ...)`.
 * Node `order[k]`'s code follows the end of block k; a branch sets the label and restarts the loop, except
 * when the target's code comes right next (then it falls through).
 */
function dispatch(g: Graph, sink: StructureSink, order: readonly number[], labels: Label[]): void {
  const code = sink.code;
  const n = order.length;
  const position = new Map<number, number>();
  order.forEach((node, k) => position.set(node, k));
  const labelLocal = sink.labelLocal;
  code.loop();
  labels.push({ kind: 'dispatch', node: -1 });
  for (let k = n - 1; k >= 0; k--) {
    code.block();
    labels.push({ kind: 'block', node: order[k]! });
  }
  code.getLocal(labelLocal);
  code.byte(Op.BR_TABLE);
  code.u32(n);
  for (let k = 0; k < n; k++) code.u32(k);
  code.u32(0);
  const go = (from: number, target: number): void => {
    const k = position.get(target)!;
    if (k === from + 1) {
      // Falls into the next node's code, but only if we are not inside an if arm.
      if (labels[labels.length - 1]!.kind !== 'if') return;
    }
    code.i32(k);
    code.setLocal(labelLocal);
    code.br(depthOf(labels, 'dispatch', -1));
  };
  for (let k = 0; k < n; k++) {
    code.end();
    labels.pop();
    const x = order[k]!;
    sink.body(x, labels.length, true);
    const succs = g.succs(x);
    switch (g.end(x)) {
      case 'goto':
        go(k, succs[0]!);
        break;
      case 'cond':
        code.if_();
        labels.push({ kind: 'if', node: -1 });
        go(k, succs[0]!);
        code.op(Op.ELSE);
        go(k, succs[1]!);
        labels.pop();
        code.end();
        // Both arms either branched or fall out of the `if` into the next node, which is the k + 1 case.
        break;
      case 'none':
        break;
    }
    if (k === n - 1 && g.end(x) !== 'none') {
      // The last node cannot fall through to a next one.
      code.op(Op.UNREACHABLE);
    }
  }
  labels.pop();
  code.end();
  code.op(Op.UNREACHABLE);
}

/**
 * The nodes that lie on a cycle (a strongly connected component of two or more nodes, or a node that branches
 * to itself), as 1s, indexed by node. Tarjan's algorithm, iterative (deep graphs do not overflow the JS stack);
 * only nodes reachable from the entry are visited.
 */
export function nodesOnCycles(g: Graph): Uint8Array {
  const onCycle = new Uint8Array(g.size);
  const index = new Int32Array(g.size).fill(-1);
  const low = new Int32Array(g.size);
  const onStack = new Uint8Array(g.size);
  const sccStack: number[] = [];
  const work: Array<[number, number]> = [[0, 0]];
  let next = 0;
  index[0] = low[0] = next++;
  sccStack.push(0);
  onStack[0] = 1;
  while (work.length > 0) {
    const top = work[work.length - 1]!;
    const v = top[0];
    const succs = g.succs(v);
    if (top[1] < succs.length) {
      const w = succs[top[1]++]!;
      if (w === v) onCycle[v] = 1;
      if (index[w] === -1) {
        index[w] = low[w] = next++;
        sccStack.push(w);
        onStack[w] = 1;
        work.push([w, 0]);
      } else if (onStack[w]) {
        low[v] = Math.min(low[v]!, index[w]!);
      }
      continue;
    }
    work.pop();
    const parent = work[work.length - 1];
    if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
    if (low[v] === index[v]) {
      // v roots a component: pop it; two or more nodes make a cycle through each of them.
      const start = sccStack.lastIndexOf(v);
      const members = sccStack.splice(start);
      for (const w of members) {
        onStack[w] = 0;
        if (members.length > 1) onCycle[w] = 1;
      }
    }
  }
  return onCycle;
}
