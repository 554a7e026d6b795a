/**
 * Our own line after the kernel's error: why the program was refused, in plain words, and what usually
 * fixes it. Linux prints nothing like it; the table is keyed by the kind of failure.
 */
import type { HintKey } from './reject.js';

export const HINTS: Readonly<Record<HintKey, string>> = {
  'unknown-opcode': 'the instruction byte is not an eBPF opcode; the object is corrupt or built for another target (compile with -target bpf)',
  reserved: 'a field this instruction does not use holds a non-zero value; the bytecode is malformed (hand-written or corrupted)',
  'ld-imm64': 'a 64-bit immediate load needs two slots: the second must be all zero except its imm, and nothing may jump into it',
  'bad-call': 'a bpf-to-bpf call points outside the program; relocate calls with libbpf before loading',
  'jump-range': 'a jump leaves its function; jumps may only target instructions of the same subprogram',
  'fall-off': 'execution can run past the last instruction; every path of every function must end with exit',
  'back-edge': 'loops are refused for unprivileged programs; unroll the loop (#pragma unroll) or load with CAP_BPF',
  unreachable: 'no path reaches this instruction; dead code is refused, remove it (or the stray jump that skips it)',
  'too-large': 'the program is longer than the kernel accepts; split it with tail calls or bpf-to-bpf calls',
  'uninit-reg': 'the register is read before any instruction on this path wrote it; after a call only r0 and r6-r9 survive (r1-r5 are clobbered)',
  'fp-readonly': 'r10 is the frame pointer and cannot be written; copy it to another register first (r2 = r10)',
  'invalid-mem': 'the register does not hold a pointer the program may dereference here; check where its value came from',
  'null-deref': 'the pointer may be NULL (a map lookup can fail); test it with `if (ptr == NULL)` before using it',
  'pkt-range': 'packet access without a matching bounds check; compare `data + offset + size` against `data_end` first',
  'map-range': 'the access falls outside the map value; check the offset against the value size (sizeof the value type)',
  'mem-range': 'the access falls outside the memory region the pointer refers to',
  'rdonly-direct':
    'a load from a frozen read-only map is read at verification, which Linux can do only for a single-element array (global data); give the map max_entries 1 or drop BPF_F_RDONLY_PROG',
  'map-neg': 'the index may be negative; use an unsigned type or check `if (index >= 0)` before adding it to the pointer',
  unbounded: 'the verifier cannot bound this value; mask it (`x &= CONST`) or compare it against a constant before using it as an offset or size',
  'stack-range': 'the stack access is outside the 512-byte frame [r10-512, r10)',
  'stack-uninit': 'the stack bytes are read before being written; initialise the variable (or memset the buffer) first',
  spill: 'a spilled pointer on the stack was partially overwritten or read with the wrong size',
  'ctx-access': 'this context field does not exist or cannot be accessed with this size/offset for this program type; check the uapi struct',
  'ctx-modified': 'the context pointer must be dereferenced at its original value; use ctx->field, not (ctx + n)->field',
  'ctx-write': 'this context field is read-only for this program type',
  'ptr-arith': 'this arithmetic on a pointer is not allowed; only adding or subtracting a bounded scalar to a plain pointer is',
  'ptr-leak': 'an unprivileged program may not expose a kernel address (store it to a map, return it, or compare it)',
  'div-zero': 'division by the constant zero',
  shift: 'a shift by a negative amount or by at least the operand width is undefined',
  'helper-unknown': 'no helper has this number in this kernel',
  'helper-type': 'this program type may not call this helper; pick a program type that allows it or use another helper',
  'helper-arg': 'a helper argument has the wrong type; check the helper prototype (bpf-helpers(7))',
  'helper-size': 'the size argument must be a bounded value (and non-zero unless allowed); bound it with a compare or a mask',
  'helper-map': 'this helper cannot be used with this kind of map',
  gpl: 'this helper is GPL-only; declare a GPL-compatible license in SEC("license")',
  'ref-leak': 'a reference acquired on this path (e.g. a ringbuf reservation) is not released; submit or discard it on every path',
  'ref-release': 'release helpers take the exact pointer the acquire helper returned, NULL-checked and unmodified',
  lock: 'a spin lock is held across an operation that is not allowed, or unlocked without being locked',
  'return-code': 'the return value is outside the range this program type allows',
  callback:
    'a callback (bpf_loop, bpf_for_each_map_elem) must be a static function of the object, described by BTF func_info (libbpf passes it), and return 0 (go on) or 1 (stop)',
  dynptr:
    'a dynptr lives in two stack slots made by bpf_dynptr_from_mem or bpf_ringbuf_reserve_dynptr: pass the same 8-byte aligned stack address to the dynptr helpers, do not write over it, and submit or discard a ringbuf dynptr on every path',
  timer:
    "a bpf_timer lives in a map value (a struct bpf_timer member, found through the map's BTF): pass its address, init it with the same map, and make its callback a static function returning 0",
  'infinite-loop': 'the loop can run forever with the same state; make the exit condition depend on a changing counter',
  complexity: 'too many paths or instructions to explore; simplify the control flow, bound loops tighter, or split the program',
  'call-depth': 'bpf-to-bpf calls nest deeper than 8 frames',
  'stack-depth': 'the stack frames of the call chain add up to more than 512 bytes; shrink local buffers or use a per-CPU array map',
  'ld-abs': 'legacy packet loads (LD_ABS/LD_IND) need a socket filter or tc program with the context in r6',
  unsupported: 'the simulator does not model this feature yet',
  'global-func':
    "a global (non-static) function is checked once against its BTF signature: its arguments must be what the signature says (ctx, a scalar, a pointer to memory of the pointee's size that may be NULL unless tagged __arg_nonnull), and it must return an int",
};
