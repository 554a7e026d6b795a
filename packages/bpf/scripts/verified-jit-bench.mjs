#!/usr/bin/env node
// The ../shared/bench XDP programs on the JIT, verified as XDP programs and rewritten (convertCtxAccesses),
// three ways in one process: every access region-checked (`checked`), only the accesses the verifier did not
// prove in bounds checked (`proven`: LoadOptions.memoryInBounds = facts.memoryInBounds), and no check at all
// (`unchecked`). ns per run (median of ~20 ms rounds of Vm.runRepeat after a warm-up), and each over the
// kernel's net time from the bench README. A timing script, not a test; needs a build (`pnpm run build`).
//
//   node packages/bpf/scripts/verified-jit-bench.mjs [--program NAME] [--rounds 15]
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { XDP_BUFF } from '@ebpf-sim/kernel';
import { XDP, createRegistry } from '@ebpf-sim/bpf';
import { convertCtxAccesses, verify } from '@ebpf-sim/verifier';
import { Arena, LinearMemory, Perm, Vm, bytesFromHex, loadProgram } from '@ebpf-sim/vm';
import { median, parseAnchors } from '@ebpf-sim/vm/node';

const root = resolve(import.meta.dirname, '..', '..', '..');
const bench = resolve(root, '..', 'shared', 'bench');
const { values } = parseArgs({ options: { program: { type: 'string' }, rounds: { type: 'string', default: '15' } } });
if (!existsSync(join(bench, 'manifest.json'))) {
  console.error(`verified-jit-bench: no bench at ${bench}`);
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(bench, 'manifest.json'), 'utf8'));
const anchors = parseAnchors(readFileSync(join(bench, 'README.md'), 'utf8'));
const input = new Uint8Array(readFileSync(join(bench, manifest.input)));
const rounds = Number(values.rounds);

const mem = new LinearMemory();
const arena = new Arena(mem);
const packet = arena.allocBytes(input, Perm.RW, 'packet');
const buff = arena.alloc(XDP_BUFF.size, Perm.RW, 'xdp_buff');
const view = new DataView(mem.memory.buffer);
view.setBigUint64(buff.start + XDP_BUFF.data, BigInt(packet.start), true);
view.setBigUint64(buff.start + XDP_BUFF.data_end, BigInt(packet.start + input.length), true);
const vms = {
  checked: new Vm({ arena, engine: 'jit' }),
  proven: new Vm({ arena, engine: 'jit' }),
  unchecked: new Vm({ arena, engine: 'jit', memoryChecks: 'unchecked' }),
};

function nsPerRun(vm, prog) {
  let repeat = 1;
  for (;;) {
    const t0 = performance.now();
    vm.runRepeat(prog, buff.start, 0, repeat);
    if (performance.now() - t0 >= 20) break;
    repeat *= 2;
  }
  for (let i = 0; i < 5; i++) vm.runRepeat(prog, buff.start, 0, repeat);
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    vm.runRepeat(prog, buff.start, 0, repeat);
    samples.push(((performance.now() - t0) * 1e6) / repeat);
  }
  return median(samples);
}

const rows = [];
for (const [name, entry] of Object.entries(manifest.programs)) {
  if (values.program !== undefined && values.program !== name) continue;
  const bytes = bytesFromHex(readFileSync(join(bench, entry.xdp.hex), 'utf8'));
  const result = verify(bytes, { progType: XDP, registry: createRegistry() });
  if (!result.accepted) throw new Error(`${name}: not verified: ${result.error?.message}`);
  const xlated = convertCtxAccesses(bytes, result.facts, XDP);
  const progs = {
    checked: loadProgram(xlated.insns, { name }),
    proven: loadProgram(xlated.insns, { name, memoryInBounds: xlated.memoryInBounds }),
    unchecked: loadProgram(xlated.insns, { name }),
  };
  const row = { name, accesses: `${xlated.memoryInBounds.length}/${memoryAccesses(progs.checked)}` };
  for (const [how, vm] of Object.entries(vms)) {
    if (!vm.run(progs[how], buff.start)) throw new Error(`${name} (${how}) faulted: ${vm.fault?.message}`);
    if (vm.r0 !== BigInt(entry.xdp.ret)) throw new Error(`${name} (${how}): r0 ${vm.r0}, manifest ${entry.xdp.ret}`);
    row[how] = nsPerRun(vm, progs[how]);
  }
  rows.push(row);
}

function memoryAccesses(prog) {
  return prog.insns.filter((insn) => ['ldx', 'ldxsx', 'st', 'stx', 'atomic'].includes(insn.form.kind)).length;
}

const net = (name) => {
  const kernel = anchors.get(name)?.kernelNet;
  return kernel === null || kernel === undefined ? null : Math.max(kernel, 10);
};
const ratio = (ns, name) => (net(name) === null ? '-' : `${(ns / net(name)).toFixed(2)}x`);
const fmt = (ns) => (ns >= 100 ? ns.toFixed(0) : ns.toFixed(1));
console.log('| program | proven/accesses | checked ns | vs kernel net | proven ns | vs kernel net | unchecked ns | vs kernel net |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
const logs = { checked: [], proven: [], unchecked: [] };
for (const row of rows) {
  const cells = [row.name, row.accesses];
  for (const how of ['checked', 'proven', 'unchecked']) {
    cells.push(fmt(row[how]), ratio(row[how], row.name));
    if (net(row.name) !== null) logs[how].push(Math.log(row[how] / net(row.name)));
  }
  console.log(`| ${cells.join(' | ')} |`);
}
const geo = (list) => `${Math.exp(list.reduce((a, b) => a + b, 0) / list.length).toFixed(2)}x`;
console.log(`geometric mean vs kernel net: checked ${geo(logs.checked)}, proven ${geo(logs.proven)}, unchecked ${geo(logs.unchecked)}`);
