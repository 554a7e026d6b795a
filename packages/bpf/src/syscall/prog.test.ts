/**
 * BPF_PROG_LOAD and the program commands end to end through the user-side libc wrappers, on a real kernel with
 * bpf() registered, checked against this machine's kernel where it can answer (fixtures/prog/linux-prog.txt,
 * made by fixtures/prog/rebuild.sh from prog-load.c, whose programs are the ones built here).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PseudoLd, assembleLlvm, encodeProgram, fromHex } from '@ebpf-sim/isa';
import { createKernel, type Kernel, type TracePipe } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_LOG, CAP, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, Libc, type BpfProgLoadSpec, type UserProgram } from '@ebpf-sim/uapi';
import { loadProgram } from '@ebpf-sim/vm';
import { describe, expect, it } from 'vitest';
import type { BpfHelper } from '../helpers/define.js';
import { HELPERS } from '../helpers/index.js';
import { HTAB_LOOKUP_ELEM_CALL } from '../maps/hashtab.js';
import { ENOTSUPP } from '../maps/map.js';
import { registerBpf, type BpfSyscall } from './bpf-syscall.js';
import { mapRefKind, progTag, readInsns } from './prog-fixups.js';
import type { ProgObject } from './prog.js';

/** The recording: name → value, as prog-load.c printed them. */
const LINUX = new Map(
  readFileSync(fileURLToPath(new URL('../../fixtures/prog/linux-prog.txt', import.meta.url)), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const tab = line.indexOf('\t');
      return [line.slice(0, tab), line.slice(tab + 1)] as const;
    }),
);
const linux = (name: string): string => {
  const value = LINUX.get(name);
  if (value === undefined) throw new Error(`no '${name}' in linux-prog.txt`);
  return value;
};
const linuxErrno = (name: string): number => Number(linux(name));

/** One instruction (struct bpf_insn), little-endian. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, code);
  view.setUint8(1, (src << 4) | dst);
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return [...bytes];
}
const XDP_PASS = 2;
const program = (...insns: number[][]): Uint8Array => Uint8Array.from(insns.flat());

/** prog-load.c's count_packets: key 0 on the stack, map_lookup_elem, atomic add 1 to the value, XDP_PASS. */
const countPackets = (mapFd: number): Uint8Array =>
  program(
    insn(0x62, 10, 0, -4, 0),
    insn(0xbf, 2, 10, 0, 0),
    insn(0x07, 2, 0, 0, -4),
    insn(0x18, 1, PseudoLd.MAP_FD, 0, mapFd),
    insn(0, 0, 0, 0, 0),
    insn(0x85, 0, 0, 0, BPF_FUNC.map_lookup_elem),
    insn(0x15, 0, 0, 2, 0),
    insn(0xb7, 1, 0, 0, 1),
    insn(0xdb, 0, 1, 0, 0),
    insn(0xb7, 0, 0, 0, XDP_PASS),
    insn(0x95, 0, 0, 0, 0),
  );

/** prog-load.c's read_value: the u64 at offset 8 of the single element, through BPF_PSEUDO_MAP_VALUE. */
const readValue = (mapFd: number, src: number = PseudoLd.MAP_VALUE): Uint8Array =>
  program(insn(0x18, 1, src, 0, mapFd), insn(0, 0, 0, 0, 8), insn(0x79, 0, 1, 0, 0), insn(0x95, 0, 0, 0, 0));

/** prog-load.c's printk: bpf_trace_printk (GPL-only) of 8 zero bytes. */
const printk = program(
  insn(0xb7, 1, 0, 0, 0),
  insn(0x7b, 10, 1, -8, 0),
  insn(0xbf, 1, 10, 0, 0),
  insn(0x07, 1, 0, 0, -8),
  insn(0xb7, 2, 0, 0, 8),
  insn(0x85, 0, 0, 0, BPF_FUNC.trace_printk),
  insn(0xb7, 0, 0, 0, XDP_PASS),
  insn(0x95, 0, 0, 0, 0),
);

/** The helper prototypes with test implementations of map_lookup_elem and trace_printk (the real ones are other branches' work). */
function testHelpers(lines: string[]): ReadonlyMap<number, BpfHelper> {
  const helpers = new Map(HELPERS);
  const lookup = HELPERS.get(BPF_FUNC.map_lookup_elem);
  const trace = HELPERS.get(BPF_FUNC.trace_printk);
  if (lookup === undefined || trace === undefined) throw new Error('helper prototypes missing');
  helpers.set(lookup.id, { ...lookup, impl: (env) => (ctx) => env.mapAt(ctx.argNumber(1))?.lookup(ctx.argNumber(2), env.run.cpu) ?? 0 });
  helpers.set(trace.id, {
    ...trace,
    impl: (env) => (ctx) => {
      env.trace.printk(`cpu ${env.run.cpu} type ${env.run.progType}: ${ctx.argU32(2)} bytes`);
      lines.push('printk');
      return 0;
    },
  });
  return helpers;
}

/** Run `body` as `uid` on a kernel with bpf() (test helpers, a recording trace sink); memory baseline is after registerBpf. */
function run(
  body: (libc: Libc, kernel: Kernel, bpf: BpfSyscall) => Generator<number, void, number>,
  uid = 0,
): { kernel: Kernel; bpf: BpfSyscall; traced: string[] } {
  const kernel = createKernel({ cpus: 2 });
  const traced: string[] = [];
  const trace: TracePipe = { printk: (message) => traced.push(message) };
  const bpf = registerBpf(kernel, { helpers: testHelpers([]), trace });
  const user: UserProgram = function* (ctx) {
    yield* body(new Libc(ctx), kernel, bpf);
    return 0;
  };
  kernel.vfs.registerProgram('/bin/test', user);
  const before = kernel.phys.usage().reduce((sum, charge) => sum + charge.bytes, 0);
  kernel.spawn('/bin/test', { uid });
  kernel.run({ untilNs: 100e9 });
  expect(kernel.crashes).toEqual([]);
  // The process has exited: its fds are closed, and whatever it left loaded and unpinned is gone with them.
  if (bpf.progs.progs.size === 0 && bpf.maps.size === 0) {
    expect(kernel.phys.usage().reduce((sum, charge) => sum + charge.bytes, 0)).toBe(before);
  }
  return { kernel, bpf, traced };
}

/** Every byte the kernel has allocated, but for the running process's own pages (`mm:<pid>`, its stack grows as the test runs). */
const allocated = (kernel: Kernel): number => kernel.phys.usage().reduce((sum, charge) => sum + (charge.owner.startsWith('mm:') ? 0 : charge.bytes), 0);

const xdp = (insns: Uint8Array, more: Partial<BpfProgLoadSpec> = {}): BpfProgLoadSpec => ({
  progType: BPF_PROG_TYPE.XDP,
  insns,
  license: 'GPL',
  name: 'count_packets',
  ...more,
});

function progOf(bpf: BpfSyscall, id: number): ProgObject {
  const prog = bpf.progs.progs.find(id);
  if (prog === undefined) throw new Error(`no program ${id}`);
  return prog;
}

const u64le = (bytes: Uint8Array, off = 0): number => Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(off, true));

describe('BPF_PROG_LOAD', () => {
  it('loads an XDP program that uses a map, runs it, and reports its info with the tag Linux computes', () => {
    run(function* (libc, kernel, bpf) {
      const baseline = allocated(kernel);
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 4, map_name: 'counts' });
      const loaded = yield* libc.bpfProgLoad(xdp(countPackets(mapFd)));
      expect(loaded.ret).toBeGreaterThanOrEqual(0);
      const info = yield* libc.bpfProgGetInfo(loaded.ret, 4, 256);
      if (!info.ok) throw new Error(`info: errno ${info.errno}`);
      const mapInfo = yield* libc.bpfMapGetInfo(mapFd);
      if (!mapInfo.ok) throw new Error('map info');
      expect(info.value).toMatchObject({
        type: BPF_PROG_TYPE.XDP,
        tag: linux('count_packets tag'),
        name: linux('count_packets name'),
        gplCompatible: linux('count_packets gpl_compatible') === '1',
        mapIds: [mapInfo.value.id],
        createdByUid: 0,
        runCnt: 0,
      });
      expect(info.value.mapIds).toHaveLength(Number(linux('count_packets nr_map_ids')));
      expect(info.value.verifiedInsns).toBeGreaterThan(0);
      // The JIT (net.core.bpf_jit_enable = 1 by default) compiled it at load.
      expect(info.value.jitedProgLen).toBeGreaterThan(0);
      // The array lookup is inlined (array_map_gen_lookup), as Linux does for a JIT-compiled program: 11
      // instructions become 17, Linux's 136 bytes; the map fd shows as the map id, the call is gone.
      expect(info.value.xlatedProgLen).toBe(Number(linux('count_packets xlated_prog_len')));
      const xlated = readInsns(info.value.xlatedProgInsns);
      expect(xlated[3]).toMatchObject({ code: 0x18, src: PseudoLd.MAP_FD, imm: mapInfo.value.id });
      expect(xlated.some((insn) => insn.code === 0x85)).toBe(false);

      // Run it twice through the runtime (what hooks and PROG_TEST_RUN call): the value counts 2.
      const prog = progOf(bpf, info.value.id);
      expect(prog.jited).toBe(true);
      expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(BigInt(XDP_PASS));
      expect(bpf.runtime.runProgram(prog, 0, 1)).toBe(BigInt(XDP_PASS));
      const value = yield* libc.bpfMapLookup(mapFd, new Uint8Array(4), 16);
      expect(value.ok && u64le(value.value)).toBe(2);

      // The program holds its map: closing the map fd leaves the map alive until the program goes.
      yield* libc.close(mapFd);
      expect(bpf.maps.size).toBe(1);
      expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(BigInt(XDP_PASS));
      yield* libc.close(loaded.ret);
      expect(bpf.maps.size).toBe(0);
      expect(bpf.progs.progs.size).toBe(0);
      expect(bpf.runtime.placedMaps).toBe(0);
      expect(allocated(kernel)).toBe(baseline);
    });
  });

  it('fixes up BPF_PSEUDO_MAP_VALUE to the value address, with the tag Linux computes, and refuses a multi-element array as Linux does', () => {
    run(function* (libc, _kernel, bpf) {
      const one = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const four = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 4 });
      expect((yield* libc.bpfProgLoad(xdp(readValue(four)))).ret).toBe(linuxErrno('load read_value, 4-element array'));
      expect(linuxErrno('load read_value, 4-element array')).toBe(-ENOTSUPP);
      const value = new Uint8Array(16);
      new DataView(value.buffer).setBigUint64(8, 0x1234_5678_9abcn, true);
      expect(yield* libc.bpfMapUpdate(one, new Uint8Array(4), value)).toBe(0);
      const loaded = yield* libc.bpfProgLoad(xdp(readValue(one)));
      expect(loaded.ret).toBeGreaterThanOrEqual(0);
      const info = yield* libc.bpfProgGetInfo(loaded.ret);
      expect(info.ok && info.value.tag).toBe(linux('read_value tag'));
      expect(info.ok && info.value.xlatedProgLen).toBe(Number(linux('read_value xlated_prog_len')));
      const prog = progOf(bpf, info.ok ? info.value.id : 0);
      expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(0x1234_5678_9abcn);
      // The same through fd_array and BPF_PSEUDO_MAP_IDX_VALUE (index 1 names `one`).
      const byIdx = yield* libc.bpfProgLoad(xdp(readValue(1, PseudoLd.MAP_IDX_VALUE), { fdArray: [four, one] }));
      expect(byIdx.ret).toBeGreaterThanOrEqual(0);
      const idxInfo = yield* libc.bpfProgGetInfo(byIdx.ret);
      expect(bpf.runtime.runProgram(progOf(bpf, idxInfo.ok ? idxInfo.value.id : 0), 0, 0)).toBe(0x1234_5678_9abcn);
      // A map index without an fd_array.
      expect((yield* libc.bpfProgLoad(xdp(readValue(0, PseudoLd.MAP_IDX_VALUE)))).ret).toBe(-Errno.EPROTO);
    });
  });

  it("computes the tag as bpf_prog_calc_tag, whatever the map fd's number", () => {
    expect(Buffer.from(progTag(countPackets(3))).toString('hex')).toBe(linux('count_packets tag'));
    expect(Buffer.from(progTag(countPackets(77))).toString('hex')).toBe(linux('count_packets tag'));
    expect(mapRefKind(PseudoLd.MAP_IDX)).toBe('idx');
  });

  it("refuses a GPL-only helper from a non-GPL program with Linux's message and errno, and loads it under a GPL-compatible licence", () => {
    const { traced } = run(function* (libc, _kernel, bpf) {
      const refused = yield* libc.bpfProgLoad(xdp(printk, { license: 'Proprietary', logLevel: 1, logSize: 65536 }));
      expect(refused.ret).toBe(linuxErrno('load printk non-GPL'));
      const linuxLog = linux('printk non-GPL log').split('\\n');
      expect(refused.log.split('\n')).toContain(linuxLog.find((line) => line.startsWith('cannot call GPL-restricted')));
      const accepted = yield* libc.bpfProgLoad(xdp(printk, { license: 'Dual BSD/GPL' }));
      expect(accepted.ret >= 0 ? 0 : accepted.ret).toBe(linuxErrno('load printk Dual BSD/GPL'));
      const info = yield* libc.bpfProgGetInfo(accepted.ret);
      expect(info.ok && info.value.gplCompatible).toBe(true);
      // The helper sees the run's CPU and program type; the runtime's state is restored after the run.
      bpf.runtime.runProgram(progOf(bpf, info.ok ? info.value.id : 0), 0, 1);
      expect(bpf.runtime.run).toMatchObject({ cpu: 0, progType: 0 });
    });
    expect(traced).toEqual([`cpu 1 type ${BPF_PROG_TYPE.XDP}: 8 bytes`]);
  });

  it('reads at most 127 bytes of the licence, as strncpy_from_bpfptr(license, ..., 127) does', () => {
    run(function* (libc) {
      const long = yield* libc.bpfProgLoad(xdp(program(insn(0xb7, 0, 0, 0, XDP_PASS), insn(0x95, 0, 0, 0, 0)), { license: `GPL${' '.repeat(300)}` }));
      expect(long.ret).toBeGreaterThanOrEqual(0);
      const info = yield* libc.bpfProgGetInfo(long.ret);
      expect(info.ok && info.value.gplCompatible).toBe(false);
    });
  });

  it('refuses a helper the verifier knows but no implementation backs, with a log line saying so', () => {
    run(function* (libc) {
      const noImpl = program(insn(0x85, 0, 0, 0, BPF_FUNC.ktime_get_ns), insn(0xb7, 0, 0, 0, XDP_PASS), insn(0x95, 0, 0, 0, 0));
      const result = yield* libc.bpfProgLoad(xdp(noImpl, { logLevel: 1, logSize: 4096 }));
      if (HELPERS.get(BPF_FUNC.ktime_get_ns)?.impl !== undefined) {
        expect(result.ret).toBeGreaterThanOrEqual(0);
        return;
      }
      expect(result.ret).toBe(-Errno.EINVAL);
      expect(result.log).toContain('helper call bpf_ktime_get_ns#5 is known to the verifier but not implemented');
    });
  });

  it("keeps the log's end when it rotates and its start with BPF_LOG_FIXED, fails with ENOSPC and reports log_true_size, as Linux", () => {
    run(function* (libc, kernel) {
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const baseline = allocated(kernel);
      const whole = yield* libc.bpfProgLoad(xdp(countPackets(mapFd), { logLevel: 2, logSize: 65536 }));
      expect(whole.ret).toBeGreaterThanOrEqual(0);
      expect(whole.logTrueSize).toBe(whole.log.length + 1);
      yield* libc.close(whole.ret);
      const rotated = yield* libc.bpfProgLoad(xdp(countPackets(mapFd), { logLevel: 2, logSize: 16 }));
      expect(rotated.ret).toBe(linuxErrno('log level 2 size 16'));
      expect(rotated.logTrueSize).toBe(whole.logTrueSize);
      expect(rotated.log).toBe(whole.log.slice(-15));
      expect(linux('log level 2 size 16 rotated').replaceAll('\\n', '\n')).toHaveLength(15);
      const fixed = yield* libc.bpfProgLoad(xdp(countPackets(mapFd), { logLevel: 2 | BPF_LOG.FIXED, logSize: 16 }));
      expect(fixed.ret).toBe(linuxErrno('log fixed size 16'));
      expect(fixed.log).toBe(whole.log.slice(0, 15));
      expect(fixed.log.slice(0, 10)).toBe(linux('log fixed size 16 log').replaceAll('\\n', '\n').slice(0, 10));
      const sizeOnly = yield* libc.bpfProgLoad(xdp(countPackets(mapFd), { logLevel: 2 }));
      expect(sizeOnly.ret >= 0 ? 0 : sizeOnly.ret).toBe(linuxErrno('log level 2 no buffer'));
      expect(sizeOnly.logTrueSize).toBe(whole.logTrueSize);
      yield* libc.close(sizeOnly.ret);
      // A failed load frees what it took.
      expect(allocated(kernel)).toBe(baseline);
    });
  });

  it("refuses bad log attributes, insn counts, flags and types with Linux's errnos", () => {
    run(function* (libc) {
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const insns = countPackets(mapFd);
      const results: Record<string, number> = {};
      const raw = function* (name: string, values: Parameters<Libc['bpfAttr']>[1]) {
        const license = libc.stack.pushString('GPL');
        const code = libc.stack.pushBytes(insns);
        results[name] = (yield* libc.bpfAttr('PROG_LOAD', { prog_type: BPF_PROG_TYPE.XDP, insns: code, insn_cnt: insns.length / 8, license, ...values })).ret;
      };
      const buf = libc.stack.alloca(64);
      yield* raw('log buf without size', { log_level: 1, log_buf: buf });
      yield* raw('log size without buf', { log_level: 1, log_size: 64 });
      yield* raw('log buf with level 0', { log_size: 64, log_buf: buf });
      yield* raw('log level 16', { log_level: 16, log_size: 64, log_buf: buf });
      yield* raw('log size over UINT_MAX >> 2', { log_level: 1, log_size: 0x40000000, log_buf: buf });
      yield* raw('insn_cnt 0', { insn_cnt: 0 });
      yield* raw('unknown prog_flags', { prog_flags: 1 << 20 });
      yield* raw('unknown prog_type', { prog_type: 9999 });
      for (const [name, errno] of Object.entries(results)) expect({ name, errno }).toEqual({ name, errno: linuxErrno(name) });
    });
  });
});

describe('the JIT image through OBJ_GET_INFO_BY_FD (jited_prog_insns)', () => {
  it('copies the WebAssembly module to a CAP_SYSLOG caller, one function length, and nothing without CAP_SYSLOG', () => {
    run(function* (libc, kernel) {
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 });
      const fd = (yield* libc.bpfProgLoad(xdp(countPackets(mapFd)))).ret;
      const lengths = yield* libc.bpfProgGetInfo(fd);
      if (!lengths.ok) throw new Error('info');
      const length = lengths.value.jitedProgLen;
      expect(lengths.value.jitedProgInsns).toHaveLength(0);
      const full = yield* libc.bpfProgGetInfo(fd, 4, 0, length);
      if (!full.ok) throw new Error('info');
      const image = full.value.jitedProgInsns;
      expect(image).toHaveLength(length);
      // The module the JIT compiled: it validates, and exports what the engine calls.
      expect(WebAssembly.validate(image)).toBe(true);
      const exported = WebAssembly.Module.exports(new WebAssembly.Module(image)).map((e) => e.name);
      expect(exported).toEqual(expect.arrayContaining(['run', 'repeat', 'resume']));
      // A shorter buffer gets the image's first bytes, and jited_prog_len still says the whole length.
      const part = yield* libc.bpfProgGetInfo(fd, 4, 0, 8);
      expect(part.ok && [part.value.jitedProgLen, Array.from(part.value.jitedProgInsns)]).toEqual([length, Array.from(image.subarray(0, 8))]);
      // bpf_dump_raw_ok: without CAP_SYSLOG the length is there but no bytes are.
      const task = kernel.current.currentTask();
      if (task === undefined) throw new Error('no current task');
      task.group.cred.capEffective -= 2 ** CAP.SYSLOG;
      const refused = yield* libc.bpfProgGetInfo(fd, 4, 0, length);
      expect(refused.ok && [refused.value.jitedProgLen, refused.value.jitedProgInsns.length]).toEqual([length, 0]);
    });
  });
});

describe("Linux's fixups through BPF_PROG_LOAD", () => {
  const fixture = (name: string): Uint8Array => fromHex(readFileSync(fileURLToPath(new URL(`../../fixtures/fixups/${name}`, import.meta.url)), 'utf8'));

  it('loads a program with a malformed instruction on a dead path, privileged (removed) and unprivileged-rules (trapped) alike', () => {
    const { bpf } = run(function* (libc) {
      const loaded = yield* libc.bpfProgLoad(xdp(fixture('dead_malformed.hex')));
      expect(loaded.ret).toBeGreaterThanOrEqual(0);
      const info = yield* libc.bpfProgGetInfo(loaded.ret, 0, 4096);
      // Linux 6.18's xlated program (fixtures/fixups/dead_malformed.xlated.txt): r0 = 0; exit.
      expect(info.ok && readInsns(info.value.xlatedProgInsns)).toEqual([
        { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
        { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
      ]);
      yield* libc.close(loaded.ret);
    });
    expect(bpf.progs.progs.size).toBe(0);
  });

  it('shows the division guards in the xlated program (BPF_REG_AX included) and loads that very program into the VM', () => {
    run(function* (libc, _kernel, bpf) {
      const loaded = yield* libc.bpfProgLoad(xdp(fixture('divmod.hex')));
      expect(loaded.ret).toBeGreaterThanOrEqual(0);
      const info = yield* libc.bpfProgGetInfo(loaded.ret, 0, 65536);
      if (!info.ok) throw new Error('info');
      expect(readInsns(info.value.xlatedProgInsns).some((i) => i.dst === 11 || i.src === 11)).toBe(true);
      expect(info.value.xlatedProgLen).toBeGreaterThan(fixture('divmod.hex').length);
      // The VM runs the guarded program, r11 and all, as Linux does: its instructions are the xlated ones.
      expect(Array.from(progOf(bpf, info.value.id).program.bytes())).toEqual(Array.from(info.value.xlatedProgInsns));
    });
  });
});

describe('program objects', () => {
  it('hands out ids, finds programs by id, pins them, and frees them with the last reference', () => {
    run(function* (libc, kernel, bpf) {
      const baseline = allocated(kernel);
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const a = (yield* libc.bpfProgLoad(xdp(countPackets(mapFd)))).ret;
      const b = (yield* libc.bpfProgLoad(xdp(readValue(mapFd), { name: 'read_value' }))).ret;
      const idA = (yield* libc.bpfProgGetInfo(a)).ok ? bpf.progs.progs.nextAfter(0) : 0;
      const first = yield* libc.bpfProgGetNextId(0);
      expect(first).toBe(idA);
      const second = yield* libc.bpfProgGetNextId(first);
      expect(second).toBeGreaterThan(first);
      expect(yield* libc.bpfProgGetNextId(second)).toBe(-Errno.ENOENT);
      const again = yield* libc.bpfProgGetFdById(second);
      const info = yield* libc.bpfProgGetInfo(again);
      expect(info.ok && info.value.name).toBe('read_value');
      expect(yield* libc.bpfProgGetFdById(0x7ffffff0)).toBe(-Errno.ENOENT);
      // A pin keeps the program past its fds; OBJ_GET gives a new fd on it (read-write only).
      expect(yield* libc.bpfObjPin(a, '/sys/fs/bpf/count_packets')).toBe(0);
      yield* libc.close(a);
      expect(bpf.progs.progs.find(first)).toBeDefined();
      expect(yield* libc.bpfObjGet('/sys/fs/bpf/count_packets', 8 /* BPF_F_RDONLY */)).toBe(-Errno.EINVAL);
      const got = yield* libc.bpfObjGet('/sys/fs/bpf/count_packets');
      expect(got).toBeGreaterThanOrEqual(0);
      const gotInfo = yield* libc.bpfProgGetInfo(got);
      expect(gotInfo.ok && gotInfo.value.id).toBe(first);
      for (const fd of [b, again, got, mapFd]) yield* libc.close(fd);
      expect(bpf.progs.progs.size).toBe(1);
      expect(yield* libc.unlink('/sys/fs/bpf/count_packets')).toBe(0);
      expect(bpf.progs.progs.size).toBe(0);
      expect(bpf.maps.size).toBe(0);
      expect(allocated(kernel)).toBe(baseline);
      // Ids are not reused until they wrap (idr_alloc_cyclic).
      const c = (yield* libc.bpfProgLoad(xdp(printk))).ret;
      expect(yield* libc.bpfProgGetNextId(0)).toBe(second + 1);
      yield* libc.close(c);
    });
  });

  it('counts runs and their time only while stats are enabled (an ENABLE_STATS fd or kernel.bpf_stats_enabled)', () => {
    run(function* (libc, kernel, bpf) {
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const fd = (yield* libc.bpfProgLoad(xdp(countPackets(mapFd)))).ret;
      const id = bpf.progs.progs.nextAfter(0);
      const prog = progOf(bpf, id);
      bpf.runtime.runProgram(prog, 0, 0);
      const stats = yield* libc.bpfEnableStats();
      expect(stats).toBeGreaterThanOrEqual(0);
      expect(yield* libc.bpfEnableStats(1)).toBe(-Errno.EINVAL);
      for (let i = 0; i < 3; i++) bpf.runtime.runProgram(prog, 0, 0);
      yield* libc.close(stats);
      bpf.runtime.runProgram(prog, 0, 0);
      let info = yield* libc.bpfProgGetInfo(fd);
      expect(info.ok && info.value.runCnt).toBe(3);
      expect(info.ok && info.value.runTimeNs).toBeGreaterThanOrEqual(0);
      // The sysctl holds the static key the same way; it takes 0 or 1 from CAP_SYS_ADMIN only.
      const task = kernel.current.currentTask();
      if (task === undefined) throw new Error('no current task');
      expect(kernel.sysctl.set(task, 'kernel.bpf_stats_enabled', 2)).toBe(-Errno.EINVAL);
      expect(kernel.sysctl.set(task, 'kernel.bpf_stats_enabled', 1)).toBe(0);
      bpf.runtime.runProgram(prog, 0, 0);
      expect(kernel.sysctl.set(task, 'kernel.bpf_stats_enabled', 0)).toBe(0);
      bpf.runtime.runProgram(prog, 0, 0);
      info = yield* libc.bpfProgGetInfo(fd);
      expect(info.ok && info.value.runCnt).toBe(4);
      // A test run counts its `repeat` runs while stats are on, and nothing while they are off.
      const on = yield* libc.bpfEnableStats();
      expect((yield* libc.bpfProgTestRun(fd, { data: new Uint8Array(64), repeat: 5 })).ret).toBe(0);
      yield* libc.close(on);
      expect((yield* libc.bpfProgTestRun(fd, { data: new Uint8Array(64), repeat: 5 })).ret).toBe(0);
      info = yield* libc.bpfProgGetInfo(fd);
      expect(info.ok && info.value.runCnt).toBe(9);
    });
  });

  it('runs on the interpreter when net.core.bpf_jit_enable is 0, and reports no JIT image', () => {
    run(function* (libc, kernel, bpf) {
      const task = kernel.current.currentTask();
      if (task === undefined) throw new Error('no current task');
      expect(kernel.sysctl.set(task, 'net.core.bpf_jit_enable', 0)).toBe(0);
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const fd = (yield* libc.bpfProgLoad(xdp(countPackets(mapFd)))).ret;
      const info = yield* libc.bpfProgGetInfo(fd);
      expect(info.ok && info.value.jitedProgLen).toBe(0);
      const prog = progOf(bpf, info.ok ? info.value.id : 0);
      expect(prog.jited).toBe(false);
      expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(BigInt(XDP_PASS));
      expect(bpf.runtime.vmOf(prog).isCompiled(prog.program)).toBe(false);
    });
  });
});

/**
 * A loop over r6 = 0..count-1 that stores a key at fp-4 with `keyLines` (one slot each), looks it up in the map
 * `mapFd` and sums the u64 values found into r0, adding 1000 for each miss.
 */
function lookupLoop(mapFd: number, keyLines: readonly string[], count: number): Uint8Array {
  // The body from the first key line to `r6 += 1`: the key, r2 (2), the map's LD imm64 (2), the call, the sum (5), r6 += 1.
  const bodySlots = keyLines.length + 11;
  const insns = encodeProgram(
    assembleLlvm(
      [
        'r6 = 0',
        'r7 = 0',
        ...keyLines,
        'r2 = r10',
        'r2 += -4',
        'r1 = 0 ll',
        `call ${BPF_FUNC.map_lookup_elem}`,
        'if r0 != 0 goto +2',
        'r7 += 1000',
        'goto +2',
        'r1 = *(u64 *)(r0 + 0)',
        'r7 += r1',
        'r6 += 1',
        `if r6 < ${count} goto -${bodySlots + 1}`,
        'r0 = r7',
        'exit',
      ].join('\n'),
    ),
  );
  const ld = 8 * (2 + keyLines.length + 2);
  insns[ld + 1] = (PseudoLd.MAP_FD << 4) | (insns[ld + 1]! & 0x0f);
  new DataView(insns.buffer).setInt32(ld + 4, mapFd, true);
  return insns;
}

describe('array lookups inlined for the JIT (array_map_gen_lookup)', () => {
  /** Keys 0..7 looked up in a 5-element array: the values found summed, 1000 for each miss. */
  const sumKeys = (mapFd: number): Uint8Array => lookupLoop(mapFd, ['*(u32 *)(r10 - 4) = r6'], 8);

  for (const jit of [1, 0]) {
    it(`${jit === 1 ? 'inlined for the JIT' : 'a call on the interpreter'}: the values of keys in range, NULL past the end`, () => {
      run(function* (libc, kernel, bpf) {
        const task = kernel.current.currentTask();
        if (task === undefined) throw new Error('no current task');
        expect(kernel.sysctl.set(task, 'net.core.bpf_jit_enable', jit)).toBe(0);
        const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 5 });
        for (let key = 0; key < 5; key++) {
          const value = new Uint8Array(8);
          value[0] = 100 + key;
          expect(yield* libc.bpfMapUpdate(mapFd, Uint8Array.of(key, 0, 0, 0), value)).toBe(0);
        }
        const fd = (yield* libc.bpfProgLoad(xdp(sumKeys(mapFd)))).ret;
        expect(fd).toBeGreaterThanOrEqual(0);
        const info = yield* libc.bpfProgGetInfo(fd, 0, 256);
        if (!info.ok) throw new Error(`info: errno ${info.errno}`);
        const calls = readInsns(info.value.xlatedProgInsns).filter((insn) => insn.code === 0x85);
        // The inlined lookup: 7 instructions (CAP_PERFMON: no index mask) in place of the call.
        expect(calls).toHaveLength(jit === 1 ? 0 : 1);
        expect(info.value.xlatedProgLen).toBe((17 + (jit === 1 ? 6 : 0)) * 8);
        const prog = progOf(bpf, info.value.id);
        expect(prog.jited).toBe(jit === 1);
        expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(BigInt(100 + 101 + 102 + 103 + 104 + 3 * 1000));
      });
    });
  }
});

describe("hash lookups as Linux's htab_map_gen_lookup (a direct call of __htab_map_lookup_elem)", () => {
  /** Keys 0..63 (u32, r6 * 2654435761 so they spread) looked up: the values found summed, 1000 for each miss. */
  const sumKeys = (mapFd: number): Uint8Array => lookupLoop(mapFd, ['w1 = w6', 'w1 *= -1640531535', '*(u32 *)(r10 - 4) = r1'], 64);
  const keyOf = (i: number): number => Math.imul(i, -1640531535) >>> 0;
  // Every third key is in the map, with the value 7 * i.
  const expected = Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 7 * i : 1000)).reduce((a, b) => a + b, 0);

  for (const jit of [1, 0]) {
    it(`${jit === 1 ? 'rewritten for the JIT, and the interpreter runs the rewritten program alike' : 'a helper call on the interpreter'}: the same sum`, () => {
      run(function* (libc, kernel, bpf) {
        const task = kernel.current.currentTask();
        if (task === undefined) throw new Error('no current task');
        expect(kernel.sysctl.set(task, 'net.core.bpf_jit_enable', jit)).toBe(0);
        const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 8, max_entries: 1000 });
        for (let i = 0; i < 64; i += 3) {
          const key = new Uint8Array(4);
          new DataView(key.buffer).setUint32(0, keyOf(i), true);
          const value = new Uint8Array(8);
          new DataView(value.buffer).setUint32(0, 7 * i, true);
          expect(yield* libc.bpfMapUpdate(mapFd, key, value)).toBe(0);
        }
        const fd = (yield* libc.bpfProgLoad(xdp(sumKeys(mapFd)))).ret;
        expect(fd).toBeGreaterThanOrEqual(0);
        const info = yield* libc.bpfProgGetInfo(fd, 0, 256);
        if (!info.ok) throw new Error(`info: errno ${info.errno}`);
        const xlated = readInsns(info.value.xlatedProgInsns);
        const call = xlated.findIndex((insn) => insn.code === 0x85);
        if (jit === 1) {
          // Linux's form: call __htab_map_lookup_elem; if r0 == 0x0 goto pc+1; r0 += 56 (htab_elem 48 + the key, 8).
          expect(xlated[call]).toMatchObject({ src: 0, imm: HTAB_LOOKUP_ELEM_CALL });
          expect(xlated[call + 1]).toMatchObject({ code: 0x15, dst: 0, off: 1, imm: 0 });
          expect(xlated[call + 2]).toMatchObject({ code: 0x07, dst: 0, imm: 56 });
        } else {
          expect(xlated[call]).toMatchObject({ src: 0, imm: BPF_FUNC.map_lookup_elem });
        }
        const prog = progOf(bpf, info.value.id);
        expect(prog.jited).toBe(jit === 1);
        expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(BigInt(expected));
        expect(bpf.runtime.vmOf(prog).isCompiled(prog.program)).toBe(jit === 1);
        // The rewritten program on the interpreter: its `call __htab_map_lookup_elem` is a helper-table entry.
        expect(bpf.runtime.runProgram({ ...prog, program: prog.program, jited: false }, 0, 0)).toBe(BigInt(expected));
        expect(yield* libc.bpfMapDelete(mapFd, Uint8Array.of(0, 0, 0, 0))).toBe(0);
        expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(BigInt(expected + 1000));
      });
    });
  }
});

describe("hash-of-maps lookups as Linux's htab_of_map_gen_lookup (the inner map's pointer loaded from the value)", () => {
  /** Outer key 0, then the inner array's index 0: its u64, or 1000 when either lookup misses. */
  const innerValue = (outerFd: number): Uint8Array => {
    const insns = encodeProgram(
      assembleLlvm(
        [
          'r1 = 0',
          '*(u32 *)(r10 - 4) = r1',
          'r2 = r10',
          'r2 += -4',
          'r1 = 0 ll',
          `call ${BPF_FUNC.map_lookup_elem}`,
          'if r0 == 0 goto +7',
          'r1 = r0',
          'r2 = r10',
          'r2 += -4',
          `call ${BPF_FUNC.map_lookup_elem}`,
          'if r0 == 0 goto +2',
          'r0 = *(u64 *)(r0 + 0)',
          'exit',
          'r0 = 1000',
          'exit',
        ].join('\n'),
      ),
    );
    insns[4 * 8 + 1] = (PseudoLd.MAP_FD << 4) | (insns[4 * 8 + 1]! & 0x0f);
    new DataView(insns.buffer).setInt32(4 * 8 + 4, outerFd, true);
    return insns;
  };

  for (const jit of [1, 0]) {
    it(`${jit === 1 ? 'rewritten for the JIT (and run on the interpreter too)' : 'a helper call on the interpreter'}: the inner map's value, 1000 once the key is gone`, () => {
      run(function* (libc, kernel, bpf) {
        const task = kernel.current.currentTask();
        if (task === undefined) throw new Error('no current task');
        expect(kernel.sysctl.set(task, 'net.core.bpf_jit_enable', jit)).toBe(0);
        const inner = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 4 });
        const outer = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.HASH_OF_MAPS, key_size: 4, value_size: 4, max_entries: 8, inner_map_fd: inner });
        expect(outer).toBeGreaterThanOrEqual(0);
        const value = new Uint8Array(8);
        new DataView(value.buffer).setUint32(0, 4242, true);
        expect(yield* libc.bpfMapUpdate(inner, Uint8Array.of(0, 0, 0, 0), value)).toBe(0);
        const innerFd = new Uint8Array(4);
        new DataView(innerFd.buffer).setUint32(0, inner, true);
        expect(yield* libc.bpfMapUpdate(outer, Uint8Array.of(0, 0, 0, 0), innerFd)).toBe(0);
        const fd = (yield* libc.bpfProgLoad(xdp(innerValue(outer)))).ret;
        expect(fd).toBeGreaterThanOrEqual(0);
        const info = yield* libc.bpfProgGetInfo(fd, 0, 256);
        if (!info.ok) throw new Error(`info: errno ${info.errno}`);
        const xlated = readInsns(info.value.xlatedProgInsns);
        const call = xlated.findIndex((insn) => insn.code === 0x85);
        if (jit === 1) {
          // call __htab_map_lookup_elem; if r0 == 0x0 goto pc+2; r0 += 56; r0 = *(u64 *)(r0 +0)
          expect(xlated.slice(call, call + 4)).toMatchObject([
            { src: 0, imm: HTAB_LOOKUP_ELEM_CALL },
            { code: 0x15, dst: 0, off: 2, imm: 0 },
            { code: 0x07, dst: 0, imm: 56 },
            { code: 0x79, dst: 0, src: 0, off: 0 },
          ]);
        } else {
          expect(xlated[call]).toMatchObject({ src: 0, imm: BPF_FUNC.map_lookup_elem });
        }
        const prog = progOf(bpf, info.value.id);
        expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(4242n);
        expect(bpf.runtime.runProgram({ ...prog, program: prog.program, jited: false }, 0, 0)).toBe(4242n);
        expect(yield* libc.bpfMapDelete(outer, Uint8Array.of(0, 0, 0, 0))).toBe(0);
        expect(bpf.runtime.runProgram(prog, 0, 0)).toBe(1000n);
      });
    });
  }
});

describe('permissions', () => {
  const socketFilter = program(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));

  it('refuses every load to a user without CAP_BPF while kernel.unprivileged_bpf_disabled is 2 (the default)', () => {
    run(function* (libc) {
      expect((yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SOCKET_FILTER, insns: socketFilter, license: 'GPL' })).ret).toBe(-Errno.EPERM);
      expect((yield* libc.bpfProgLoad(xdp(socketFilter))).ret).toBe(-Errno.EPERM);
      expect(yield* libc.bpfProgGetNextId(0)).toBe(-Errno.EPERM);
      expect(yield* libc.bpfEnableStats()).toBe(-Errno.EPERM);
    }, 1000);
  });

  it('lets an unprivileged user load socket filters (not XDP or kprobes) once the sysctl is 0, under the unprivileged verifier rules', () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    bpf.sysctls.unprivBpfDisabled.value = 0;
    const seen: Record<string, number> = {};
    kernel.vfs.registerProgram('/bin/user', function* (ctx) {
      const libc = new Libc(ctx);
      const fd = (yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.SOCKET_FILTER, insns: socketFilter, license: 'GPL' })).ret;
      seen.socketFilter = fd >= 0 ? 0 : fd;
      const info = yield* libc.bpfProgGetInfo(fd, 0, 64);
      seen.xlatedLen = info.ok ? info.value.xlatedProgLen : -1;
      seen.xdp = (yield* libc.bpfProgLoad(xdp(socketFilter))).ret;
      seen.kprobe = (yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.KPROBE, insns: socketFilter, license: 'GPL' })).ret;
      seen.array = (yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 })) >= 0 ? 0 : -1;
      seen.lru = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.LRU_HASH, key_size: 4, value_size: 8, max_entries: 1 });
      // The unprivileged verifier refuses a pointer leak a privileged one allows: r0 = r10 returned.
      seen.leak = (yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.SOCKET_FILTER,
        insns: program(insn(0xbf, 0, 10, 0, 0), insn(0x95, 0, 0, 0, 0)),
        license: 'GPL',
      })).ret;
      return 0;
    });
    kernel.spawn('/bin/user', { uid: 1000 });
    kernel.run({ untilNs: 10e9 });
    expect(kernel.crashes).toEqual([]);
    expect(seen).toEqual({ socketFilter: 0, xlatedLen: 0, xdp: -Errno.EPERM, kprobe: -Errno.EPERM, array: 0, lru: -Errno.EPERM, leak: -Errno.EACCES });
  });

  it('keeps kernel.unprivileged_bpf_disabled at 1 once set, and lets only CAP_SYS_ADMIN write it', () => {
    run(function* (libc, kernel) {
      expect(yield* libc.getuid()).toBe(0);
      const task = kernel.current.currentTask();
      if (task === undefined) throw new Error('no current task');
      expect(kernel.sysctl.get('kernel.unprivileged_bpf_disabled')?.value).toBe(2);
      expect(kernel.sysctl.set(task, 'kernel.unprivileged_bpf_disabled', 3)).toBe(-Errno.EINVAL);
      expect(kernel.sysctl.set(task, 'kernel.unprivileged_bpf_disabled', 0)).toBe(0);
      expect(kernel.sysctl.set(task, 'kernel.unprivileged_bpf_disabled', 1)).toBe(0);
      expect(kernel.sysctl.set(task, 'kernel.unprivileged_bpf_disabled', 0)).toBe(-Errno.EPERM);
      expect(kernel.sysctl.set(task, 'kernel.unprivileged_bpf_disabled', 2)).toBe(-Errno.EPERM);
      task.group.cred.capEffective = 0;
      expect(kernel.sysctl.set(task, 'net.core.bpf_jit_enable', 0)).toBe(-Errno.EPERM);
      expect(kernel.sysctl.get('kernel.unprivileged_bpf_disabled')?.value).toBe(1);
    });
  });
});

describe('the runtime', () => {
  it('follows a tail call through a map that offers program slots (PROG_ARRAY) and resolves maps by address', () => {
    run(function* (libc, _kernel, bpf) {
      const mapFd = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 8, max_entries: 1 });
      const object = bpf.maps.find(bpf.maps.nextAfter(0));
      if (object === undefined) throw new Error('no map');
      const map = object.map;
      expect(map.address).toBeGreaterThan(0);
      expect(bpf.runtime.mapAt(map.address)).toBe(map);
      expect(bpf.runtime.mapAt(map.address + 8)).toBeUndefined();
      const target = loadProgram(program(insn(0xb7, 0, 0, 0, 7), insn(0x95, 0, 0, 0, 0)));
      // A stand-in for h-maps' PROG_ARRAY: slot 0 holds `target`.
      Object.assign(map, { programAt: (index: number) => (index === 0 ? { program: target, progType: BPF_PROG_TYPE.XDP } : undefined) });
      const lo = map.address >>> 0;
      const caller = (slot: number) =>
        loadProgram(
          program(
            insn(0x18, 2, 0, 0, lo),
            insn(0, 0, 0, 0, 0),
            insn(0xb7, 3, 0, 0, slot),
            insn(0x85, 0, 0, 0, BPF_FUNC.tail_call),
            insn(0xb7, 0, 0, 0, 1),
            insn(0x95, 0, 0, 0, 0),
          ),
        );
      for (const jited of [false, true]) {
        expect(bpf.runtime.runProgram({ program: caller(0), progType: BPF_PROG_TYPE.XDP, jited, runCnt: 0, runTimeNs: 0 }, 0, 0)).toBe(7n);
        // An empty slot: the tail call falls through.
        expect(bpf.runtime.runProgram({ program: caller(1), progType: BPF_PROG_TYPE.XDP, jited, runCnt: 0, runTimeNs: 0 }, 0, 0)).toBe(1n);
      }
      yield* libc.close(mapFd);
      expect(bpf.runtime.mapAt(lo)).toBeUndefined();
    });
  });
});
