#!/usr/bin/env node
// A/B timing of the ../shared/bench XDP programs loaded as bpf() loads them (verified, rewritten, the
// verifier's facts, budgetTests 'loop', exitRegisters 'r0'), on the JIT. Reports the FASTEST of many rounds
// of Vm.runRepeat per program in CPU time (process.cpuUsage): on a loaded machine wall time mostly measures the
// other processes.
// A timing script, not a test; needs a build.   node packages/bpf/scripts/jit-ab.mjs [--program NAME] [--rounds 10] [--budget entry|loop] [--dump]
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { XDP_BUFF } from '@ebpf-sim/kernel';
import { XDP, createRegistry } from '@ebpf-sim/bpf';
import { convertCtxAccesses, inlineLoops, removeDeadCode, verify } from '@ebpf-sim/verifier';
import { Arena, LinearMemory, Perm, Vm, bytesFromHex, disassembleWasm, jitCompiled, loadProgram } from '@ebpf-sim/vm';

const root = resolve(import.meta.dirname, '..', '..', '..');
const bench = resolve(root, '..', 'shared', 'bench');
const { values } = parseArgs({
  options: { budget: { type: 'string', default: 'entry' }, dump: { type: 'boolean' }, program: { type: 'string' }, rounds: { type: 'string', default: '10' } },
});
if (!existsSync(join(bench, 'manifest.json'))) throw new Error(`no bench at ${bench}`);
const manifest = JSON.parse(readFileSync(join(bench, 'manifest.json'), 'utf8'));
const input = new Uint8Array(readFileSync(join(bench, manifest.input)));
const rounds = Number(values.rounds);

const mem = new LinearMemory();
const arena = new Arena(mem);
const packet = arena.allocBytes(input, Perm.RW, 'packet');
const buff = arena.alloc(XDP_BUFF.size, Perm.RW, 'xdp_buff');
const view = new DataView(mem.memory.buffer);
view.setBigUint64(buff.start + XDP_BUFF.data, BigInt(packet.start), true);
view.setBigUint64(buff.start + XDP_BUFF.data_end, BigInt(packet.start + input.length), true);
const vm = new Vm({ arena, engine: 'jit' });

/** CPU time in ms (user + system): time this process was not running does not count. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function fastest(prog) {
  let repeat = 1;
  for (;;) {
    const t0 = cpuMs();
    vm.runRepeat(prog, buff.start, 0, repeat);
    if (cpuMs() - t0 >= 10) break;
    repeat *= 2;
  }
  for (let i = 0; i < 5; i++) vm.runRepeat(prog, buff.start, 0, repeat);
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t0 = cpuMs();
    vm.runRepeat(prog, buff.start, 0, repeat);
    best = Math.min(best, ((cpuMs() - t0) * 1e6) / repeat);
  }
  return best;
}

const out = [];
for (const [name, entry] of Object.entries(manifest.programs)) {
  if (values.program !== undefined && values.program !== name) continue;
  const bytes = bytesFromHex(readFileSync(join(bench, entry.xdp.hex), 'utf8'));
  const result = verify(bytes, { progType: XDP, registry: createRegistry() });
  if (!result.accepted) throw new Error(`${name}: not verified: ${result.error?.message}`);
  let live = removeDeadCode(convertCtxAccesses(bytes, result.facts, XDP), result.facts, { privileged: true });
  live = inlineLoops(live, result.facts, result.stackDepth).program;
  const prog = loadProgram(live.insns, {
    name,
    memoryInBounds: live.memoryInBounds,
    budgetTests: values.budget,
    exitRegisters: 'r0',
    divisorsNonZero: live.divisionsWithoutZeroCheck,
  });
  if (!vm.run(prog, buff.start)) throw new Error(`${name} faulted: ${vm.fault?.message}`);
  if (vm.r0 !== BigInt(entry.xdp.ret)) throw new Error(`${name}: r0 ${vm.r0}, manifest ${entry.xdp.ret}`);
  if (values.dump) {
    for (const f of disassembleWasm(jitCompiled(prog, 'checked').wasm).functions) {
      console.log(`;; ${f.name} ${f.signature} ${f.locals}`);
      let depth = 0;
      for (const i of f.body ?? f.instructions) {
        if (i.op === 'end' || i.op === 'else') depth--;
        console.log(`${String(i.offset).padStart(5)} ${'  '.repeat(Math.max(0, depth))}${i.op} ${i.operands.join(' ')}`);
        if (['block', 'loop', 'if', 'else'].includes(i.op)) depth++;
      }
    }
    continue;
  }
  const ns = fastest(prog);
  out.push(`${name} ${ns >= 100 ? ns.toFixed(0) : ns.toFixed(1)}`);
}
console.log(out.join('  '));
