/**
 * Tests' stand-in for what the runtime and PROG_LOAD give BPF_PROG_TEST_RUN (until they are merged): a kernel
 * and a VM over the kernel's own memory (as ctx-tie.test.ts boots them), programs verified and rewritten by
 * the verifier (verify + convertCtxAccesses) with the helpers bound from HELPERS' implementations, and a user
 * address space holding the caller's buffers.
 */
import type { RawInsn } from '@ebpf-sim/isa';
import type { Kernel, KernelConfigInput, UserCopy } from '@ebpf-sim/kernel';
import { convertCtxAccesses, verify, type ProgramTypeDesc } from '@ebpf-sim/verifier';
import { loadProgram, type Vm } from '@ebpf-sim/vm';
import { bindHelpers } from '../helpers/define.js';
import { HELPERS } from '../helpers/index.js';
import type { BpfMap } from '../maps/map.js';
import { createRegistry } from '../maps.js';
import { idleRunState, type RunState } from '../runtime/env.js';
import { bootKernelVm } from './kernel-vm.js';
import { bpfProgTestRun, type TestRunAttr, type TestRunEnv, type TestRunOutput, type TestRunProgram, type TestRunTiming } from '../test-run/index.js';

/** Where the fake user address space starts. */
export const USER_BASE = 0x1000_0000;

/** A process's memory as copy_{from,to}_user see it: one flat mapping; anything outside faults. */
export class FlatUserMemory implements UserCopy {
  readonly bytes: Uint8Array;
  private top = 0;
  constructor(size = 1 << 20) {
    this.bytes = new Uint8Array(size);
  }

  /** Place `data` (or `size` zero bytes) and return its user address. */
  place(data: Uint8Array | number): number {
    const len = typeof data === 'number' ? data : data.length;
    const at = this.top;
    if (typeof data !== 'number') this.bytes.set(data, at);
    this.top += (len + 15) & ~15;
    return USER_BASE + at;
  }

  /** Forget every placement (the next one starts at the bottom again). */
  reset(): void {
    this.top = 0;
  }

  read(address: number, length: number): Uint8Array {
    return this.bytes.slice(address - USER_BASE, address - USER_BASE + length);
  }

  private inside(address: number, length: number): boolean {
    return address >= USER_BASE && address + length <= USER_BASE + this.bytes.length;
  }

  copyFromUser(address: number, dst: Uint8Array, dstOffset: number, length: number): boolean {
    if (!this.inside(address, length)) return false;
    dst.set(this.bytes.subarray(address - USER_BASE, address - USER_BASE + length), dstOffset);
    return true;
  }

  copyToUser(address: number, src: Uint8Array, srcOffset: number, length: number): boolean {
    if (!this.inside(address, length)) return false;
    this.bytes.set(src.subarray(srcOffset, srcOffset + length), address - USER_BASE);
    return true;
  }

  readCString(): string | number {
    return -14;
  }
}

/** What a test run wrote back, and its errno. */
export interface TestRunCall {
  readonly ret: number;
  readonly out: TestRunOutput;
}

export interface TestRunHarness {
  readonly kernel: Kernel;
  readonly vm: Vm;
  readonly user: FlatUserMemory;
  readonly run: RunState;
  readonly env: TestRunEnv;
  /** Maps programs name by address (bpf_redirect_map's tests put fakes here). */
  readonly maps: Map<number, BpfMap>;
  /** Verify, rewrite and load `insns` as a program of `type`; throws with the verifier log when refused. */
  load(type: ProgramTypeDesc, insns: readonly RawInsn[], expectedAttachType?: number): TestRunProgram;
  /** BPF_PROG_TEST_RUN with the attr fields given (the rest zero). */
  testRun(prog: TestRunProgram, attr: Partial<TestRunAttr>): TestRunCall;
}

/** A kernel (NICs per `config`), a VM over its memory and the helpers bound to it. */
export function testRunHarness(config: KernelConfigInput = {}, timing: TestRunTiming = 'once'): TestRunHarness {
  const run: RunState = idleRunState();
  const maps = new Map<number, BpfMap>();
  const { kernel, vm } = bootKernelVm(config, (k) =>
    bindHelpers(
      {
        k,
        run,
        trace: { printk: () => undefined },
        mapAt: (address) => maps.get(address),
        // The harness runs one program outside a BpfRuntime: no loaded program's callbacks exist.
        runCallback: (fn) => {
          throw new Error(`test-run harness: no callbacks (0x${fn.toString(16)}); load the program through bpf() to run callbacks`);
        },
        callbackScratch: () => 0,
        runningJited: false,
        // No loaded program: a timer's callback has nothing to run (the run did not end normally).
        runAsyncCallback: () => false,
      },
      HELPERS,
    ),
  );
  const user = new FlatUserMemory();
  const env: TestRunEnv = {
    phys: kernel.phys,
    user,
    netdevByIfindex: (ifindex) => kernel.devices.nics.find((nic) => nic.ifindex === ifindex),
    nrCpus: kernel.config.cpus,
    currentCpu: 0,
    now: () => performance.now() * 1e6,
    timing,
  };
  const load = (type: ProgramTypeDesc, insns: readonly RawInsn[], expectedAttachType = 0): TestRunProgram => {
    const result = verify(insns, { progType: type, registry: createRegistry() });
    if (!result.accepted) throw new Error(`the verifier refused the program:\n${result.log}`);
    const program = loadProgram(convertCtxAccesses(insns, result.facts, type).insns);
    return {
      progType: type.uapiId,
      expectedAttachType,
      maxCtxOffset: result.facts.maxCtxOffset,
      runRepeat(ctx, repeat, cpu) {
        run.cpu = cpu;
        run.ctx = ctx;
        run.progType = type.uapiId;
        if (!vm.runRepeat(program, ctx, 0, repeat)) return vm.fault === null ? 'the run faulted' : vm.fault.message;
        return Number(vm.r0 & 0xffffffffn);
      },
    };
  };
  const testRun = (prog: TestRunProgram, attr: Partial<TestRunAttr>): TestRunCall => {
    const full: TestRunAttr = {
      data_in: 0,
      data_size_in: 0,
      data_out: 0,
      data_size_out: 0,
      repeat: 0,
      duration: 0,
      ctx_in: 0,
      ctx_size_in: 0,
      ctx_out: 0,
      ctx_size_out: 0,
      flags: 0,
      cpu: 0,
      batch_size: 0,
      ...attr,
    };
    const out: TestRunOutput = {};
    return { ret: bpfProgTestRun(prog, full, env, out), out };
  };
  return { kernel, vm, user, run, env, maps, load, testRun };
}
