/**
 * Callbacks that run, beside Linux 6.18: packages/bpf/fixtures/callbacks/run.bpf.o (clang-19; bpf_loop inlined
 * or called, bpf_for_each_map_elem over an array and a hash, a bpf_loop inside a callback,
 * bpf_user_ringbuf_drain with bpf_dynptr_read) opened and loaded
 * with its BTF func_info into a fresh simulated kernel, each program test-run on a 64-byte packet with the
 * JIT and with the interpreter; the return values must be Linux's (linux-run.json, record-run.sh).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, openObject } from '@ebpf-sim/loader';
import { MAP, O, PAGE_SIZE, PROT, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inKernel } from './in-kernel.js';

const DIR = join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'bpf', 'fixtures', 'callbacks');
const linux = JSON.parse(readFileSync(join(DIR, 'linux-run.json'), 'utf8')) as {
  readonly kernel: string;
  readonly runs: Readonly<Record<string, { readonly retval: number; readonly helperCalls: number }>>;
};

/**
 * Each program's test-run return value with net.core.bpf_jit_enable set to `jit`; then `drain` once more after
 * user space committed two records (u32 5 and 7) to the USER_RINGBUF through its mmap (key `drain 5+7`).
 */
function retvals(jit: '0' | '1'): Record<string, number> {
  const out: Record<string, number> = {};
  inKernel(function* (libc: Libc) {
    const sysctl = yield* libc.open('/proc/sys/net/core/bpf_jit_enable', O.WRONLY);
    expect(sysctl).toBeGreaterThanOrEqual(0);
    expect(yield* libc.write(sysctl, `${jit}\n`)).toBe(2);
    yield* libc.close(sysctl);
    const loaded = yield* load(openObject(new Uint8Array(readFileSync(join(DIR, 'run.bpf.o'))), { name: 'run' }), libc);
    for (const [name, prog] of loaded.programs) {
      const run = yield* libc.bpfProgTestRun(prog.fd, { data: new Uint8Array(64) });
      expect(run.ret, name).toBe(0);
      out[name] = run.retval;
      // optimize_bpf_loop: the calls of bpf_loop (helper 181) left in the xlated program.
      const info = yield* libc.bpfProgGetInfo(prog.fd, 0, 4096);
      const xlated = info.ok ? info.value.xlatedProgInsns : new Uint8Array(0);
      let calls = 0;
      for (let at = 0; at + 8 <= xlated.length; at += 8) if (xlated[at] === 0x85 && xlated[at + 1] === 0 && xlated[at + 4] === 181) calls++;
      out[`${name} bpf_loop calls`] = calls;
    }
    // The producer: the producer page and the data pages (mapped twice, after it) of the ring, writable.
    const ring = loaded.maps.get('commands')?.fd ?? -1;
    const producer = yield* libc.mmapFile(ring, 3 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED, PAGE_SIZE);
    expect(producer).toBeGreaterThan(0);
    const data = producer + PAGE_SIZE;
    let pos = 0;
    for (const value of [5, 7]) {
      // A record: the header (length, no busy or discard bit; pg_off), the u32, padded to 8 bytes.
      libc.ctx.mem.write(data + pos, new Uint8Array(new Uint32Array([4, 0, value]).buffer));
      pos += (4 + 8 + 7) & ~7;
    }
    libc.ctx.mem.write(producer, new Uint8Array(new Uint32Array([pos, 0]).buffer));
    const drained = yield* libc.bpfProgTestRun(loaded.programs.get('drain')?.fd ?? -1, { data: new Uint8Array(64) });
    out['drain 5+7'] = drained.retval;
    yield* loaded.close();
  });
  return out;
}

describe('bpf_loop and bpf_for_each_map_elem run their callbacks as on Linux 6.18', () => {
  // Linux's return values; and for the drain of two committed records (not recorded: the recording has no
  // producer), what bpf_user_ringbuf_drain's callback computes: two records, 5 + 7.
  const expected = {
    ...Object.fromEntries(Object.entries(linux.runs).map(([name, run]) => [name, run.retval])),
    ...Object.fromEntries(Object.entries(linux.runs).map(([name, run]) => [`${name} bpf_loop calls`, run.helperCalls])),
    'drain 5+7': 2012,
  };

  it('records the kernel the return values came from', () => {
    expect(linux.kernel).toMatch(/^6\.18\./);
    expect(Object.keys(linux.runs)).toHaveLength(8);
  });

  it('with the JIT (callbacks re-enter WebAssembly code through the helper)', () => {
    expect(retvals('1')).toEqual(expected);
  });

  it('with the interpreter', () => {
    expect(retvals('0')).toEqual(expected);
  });
});
