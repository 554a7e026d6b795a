/**
 * Test support for helper implementations: a kernel and a VM over its memory (kernel-vm.ts), a HelperEnv made
 * by hand over the kernel's services (what the runtime builds in production), the VM's helper table built
 * from every `impl` of HELPERS, maps created with createMap and placed at kernel addresses `mapAt` resolves,
 * and `exec`, which verifies a program (privileged, GPL) against those maps, fixes its map fds up to the maps'
 * addresses as BPF_PROG_LOAD does, and runs it.
 */
import { PseudoLd, type RawInsn } from '@ebpf-sim/isa';
import type { Kernel, KernelConfigInput, RandomSource, TracePipe } from '@ebpf-sim/kernel';
import { verify, type ProgramTypeDesc, type VerifierRegistry } from '@ebpf-sim/verifier';
import { BPF_FUNC, type BpfFuncName } from '@ebpf-sim/uapi';
import { HelperTable, formatFault, loadProgram, type HelperContext, type Vm } from '@ebpf-sim/vm';
import { bindHelpers } from '../helpers/define.js';
import { HELPERS } from '../helpers/index.js';
import type { BpfMap, MapAttr } from '../maps/map.js';
import { createMap } from '../maps/registry.js';
import { KPROBE } from '../prog-types/index.js';
import { idleRunState, type HelperEnv, type RunState } from '../runtime/env.js';
import { bootKernelVm } from './kernel-vm.js';

/** The opcode of LD imm64 (BPF_LD | BPF_DW | BPF_IMM). */
const LD_IMM64 = 0x18;

export interface HelperRig {
  readonly kernel: Kernel;
  readonly vm: Vm;
  readonly env: HelperEnv;
  /** The run state helpers read (cpu, ctx); set `cpu` before `exec` to run on another CPU. */
  readonly run: RunState;
  /** Every message bpf_trace_printk wrote. */
  readonly printed: string[];
  /** Create a map with every capability; LD imm64 map fd `n` names the n-th map created. */
  map(attr: MapAttr): BpfMap;
  /** `size` zeroed bytes of kernel memory (a context, a string, a buffer a program reads). */
  alloc(size: number): number;
  /** Verify `insns` as `progType` (default kprobe), fix up map fds, run on `ctx`: r0. Throws with the log or fault. */
  exec(insns: readonly RawInsn[], options?: { progType?: ProgramTypeDesc; ctx?: number }): bigint;
  /** Call helper `name`'s implementation directly with arguments r1..r5 (as a program would, without the verifier). */
  call(name: BpfFuncName, ...args: bigint[]): bigint;
}

export function helperRig(options: { config?: KernelConfigInput; random?: RandomSource } = {}): HelperRig {
  const maps: BpfMap[] = [];
  const byAddress = new Map<number, BpfMap>();
  const printed: string[] = [];
  const run: RunState = idleRunState();
  const trace: TracePipe = { printk: (message) => void printed.push(message) };
  let env: HelperEnv | undefined;
  let table = new HelperTable();
  const { kernel, vm } = bootKernelVm(options.config ?? {}, (k) => {
    env = {
      k: { current: k.current, userMemory: k.userMemory, clock: k.clock, random: options.random ?? k.random, phys: k.phys, signals: k.signals },
      run,
      trace,
      mapAt: (address) => byAddress.get(address),
      // The rig runs one program at a time outside a BpfRuntime: it has no loaded program whose callbacks a helper could call.
      runCallback: (fn) => {
        throw new Error(`helper rig: no callbacks (0x${fn.toString(16)}); load the program through bpf() to run callbacks`);
      },
      callbackScratch: () => 0,
      runningJited: false,
      // No loaded program: a timer's callback has nothing to run (the run did not end normally).
      runAsyncCallback: () => false,
    };
    const helperEnv = env;
    table = bindHelpers(helperEnv, HELPERS);
    return table;
  });
  if (env === undefined) throw new Error('the helper table was not built');
  const registry: VerifierRegistry = { helper: (id) => HELPERS.get(id), map: (ref) => maps[ref]?.desc() };
  return {
    kernel,
    vm,
    env,
    run,
    printed,
    map(attr) {
      const map = createMap(attr, { phys: kernel.phys, random: kernel.random, nrCpus: kernel.hookArena.nrCpus, capable: () => true });
      if (typeof map === 'number') throw new Error(`createMap: ${map}`);
      // The map's kernel address (struct bpf_map *): a small allocation of its own, as the runtime gives it.
      map.address = kernel.phys.kmalloc(64, 'test-bpf-map');
      maps.push(map);
      byAddress.set(map.address, map);
      return map;
    },
    alloc(size) {
      const address = kernel.phys.kmalloc(size, 'test-buffer');
      kernel.phys.bytes.fill(0, address, address + size);
      return address;
    },
    exec(insns, { progType = KPROBE, ctx } = {}) {
      const result = verify(insns, { progType, registry });
      if (!result.accepted) throw new Error(`verifier: ${result.error?.message ?? ''}\n${result.log}`);
      const fixed = insns.map((insn) => {
        if (insn.code !== LD_IMM64 || insn.src !== PseudoLd.MAP_FD) return insn;
        const address = maps[insn.imm]?.address ?? 0;
        return { ...insn, src: PseudoLd.NONE, imm: address | 0, imm2: Math.floor(address / 2 ** 32) | 0 };
      });
      const context = ctx ?? this.alloc(progType.ctx.size);
      run.ctx = context;
      if (!vm.run(loadProgram(fixed, { name: 'helper test' }), context)) throw new Error(`program faulted: ${vm.fault ? formatFault(vm.fault) : '?'}`);
      return vm.reg(0);
    },
    call(name, ...args) {
      const fn = table.get(BPF_FUNC[name]);
      if (fn === undefined) throw new Error(`bpf_${name} has no implementation`);
      const arg = (n: number): bigint => BigInt.asUintN(64, args[n - 1] ?? 0n);
      const ctx: HelperContext = {
        mem: vm.mem,
        pc: 0,
        arg,
        argNumber: (n) => Number(arg(n)),
        argU32: (n) => Number(arg(n) & 0xffffffffn),
        requestExit: () => {
          throw new Error(`bpf_${name} asked to stop the program`);
        },
      };
      const result = fn(ctx);
      return BigInt.asUintN(64, BigInt(result ?? 0));
    },
  };
}
