/**
 * `@ebpf-sim/vm`: memory, programs, the VM and its faults, helper tables, and the uBPF-convention runner. No
 * Node API: this entry runs in a browser. The tooling (bench, conformance suite, JIT compile times) is the
 * `@ebpf-sim/vm/node` entry (src/node/index.ts).
 */
export { Arena, LinearMemory, MemoryMapError, NULL_GUARD, Perm, PROBE_ZERO, WASM_PAGE } from './memory.js';
export type { LinearMemoryOptions, PermBits, Region } from './memory.js';
export { BPF_MAX_LOOPS, MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT, VmFaultError, VmLoadError, formatFault, makeFault } from './fault.js';
export type { AccessKind, FaultHints, FaultKind, VmFault } from './fault.js';
export { HelperTable } from './helpers.js';
export type { HelperContext, HelperFn, HelperSpec } from './helpers.js';
export { Program } from './program.js';
export type { BudgetTests, ExitRegisters, WasmCall } from './program.js';
export { loadProgram } from './load.js';
export type { LoadOptions } from './load.js';
export { BPF_FUNC_TAIL_CALL, ENGINES, Vm } from './vm.js';
export type { EngineName, RunResult, TailCallHook, VmOptions } from './vm.js';
export { CONFORMANCE_HELPERS, HexParseError, RawRunner, bytesFromHex, loadRaw, programFromHex } from './raw.js';
export type { RawRunnerOptions } from './raw.js';
export { joinU64, splitU64 } from './int64.js';
export { JitLimitError, MAX_WASM_FUNCTION_BYTES } from './jit/compile.js';
export type { MemoryChecks } from './jit/compile.js';
export { WasmDecodeError, disassembleWasm } from './jit/wasm-text.js';
export type { WasmFunction, WasmInstruction, WasmModuleText } from './jit/wasm-text.js';
export { AUTO_HOT_INSNS, AUTO_HOT_RUNS, MAX_JIT_BUDGET, compiled as jitCompiled } from './jit/engine.js';
