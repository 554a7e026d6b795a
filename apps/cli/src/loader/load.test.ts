/**
 * The loader's load() end to end: clang-19 objects (packages/loader/fixtures/open) opened, loaded through
 * user space's bpf() into a fresh simulated kernel, and their maps and programs checked through bpf().
 * It lives here because the loader may not depend on the kernel (layering.json); the CLI composes both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoaderError, load, openObject, type LoadedObject, type LoadOptions, type ObjectSpec } from '@ebpf-sim/loader';
import { BPF_MAP_TYPE, Errno, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inKernel } from './in-kernel.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'loader', 'fixtures', 'open');
const CORPUS = join(import.meta.dirname, '..', '..', '..', '..', 'packages', 'loader', 'fixtures', 'corpus');
const open = (file: string): ObjectSpec => openObject(new Uint8Array(readFileSync(join(FIXTURES, file))), { name: file.split('.')[0] ?? '' });
const BENCH = join(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'bench');
const benchManifest = (): { input: string; programs: Record<string, { xdp: { ret: string } }> } | undefined =>
  existsSync(join(BENCH, 'manifest.json')) ? (JSON.parse(readFileSync(join(BENCH, 'manifest.json'), 'utf8')) as never) : undefined;
if (benchManifest() === undefined) console.warn(`load() over the bench objects skipped: ${BENCH} is absent`);
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

function* loadOrThrow(spec: ObjectSpec, libc: Libc, options?: LoadOptions): Generator<number, LoadedObject, number> {
  return yield* load(spec, libc, options);
}

describe('load(spec, libc)', () => {
  it('creates BTF-defined maps, fills map-in-map and PROG_ARRAY slots, and pins a pinning map by name', () => {
    inKernel(function* (libc) {
      const loaded = yield* loadOrThrow(open('maps.bpfel.o'), libc);
      expect([...loaded.maps.keys()]).toEqual(['inner_a', 'inner_b', 'outer', 'jumps', 'counts', 'sized', 'events']);
      expect([...loaded.programs.keys()]).toEqual(['tail_b', 'tail_a', 'entry']);
      expect(loaded.maps.get('counts')?.pinPath).toBe('/sys/fs/bpf/counts');
      // The object's BTF is loaded and maps with key/value types are created with it.
      expect([loaded.btfFd !== undefined, loaded.btfLog]).toEqual([true, '']);
      expect([...loaded.maps.values()].filter((m) => m.withBtf).map((m) => m.spec.name)).toEqual(['inner_a', 'inner_b', 'counts']);
      const pinned = yield* libc.bpfObjGet('/sys/fs/bpf/counts');
      expect(pinned).toBeGreaterThan(0);
      // The outer map's slots hold the inner maps (a lookup from user space gives the inner map's id).
      const outer = loaded.maps.get('outer')?.fd ?? -1;
      const slot0 = yield* libc.bpfMapLookup(outer, u32(0), 4);
      const slot1 = yield* libc.bpfMapLookup(outer, u32(1), 4);
      const innerA = yield* libc.bpfMapGetInfo(loaded.maps.get('inner_a')?.fd ?? -1);
      expect(slot0).toEqual({ ok: true, value: u32(innerA.ok ? innerA.value.id : -1) });
      expect(slot1).toEqual({ ok: false, errno: Errno.ENOENT });
      const jumps = loaded.maps.get('jumps')?.fd ?? -1;
      expect((yield* libc.bpfMapLookup(jumps, u32(0), 4)).ok).toBe(false);
      // The entry program tail-calls slot 1, tail_b, which drops: XDP_DROP (1).
      const run = yield* libc.bpfProgTestRun(loaded.programs.get('entry')?.fd ?? -1, { data: new Uint8Array(64) });
      expect([run.ret, run.retval]).toEqual([0, 1]);
      // A second load finds the pinned map and reuses it instead of creating one.
      const again = yield* loadOrThrow(open('maps.bpfel.o'), libc);
      const first = yield* libc.bpfMapGetInfo(loaded.maps.get('counts')?.fd ?? -1);
      const second = yield* libc.bpfMapGetInfo(again.maps.get('counts')?.fd ?? -1);
      expect(first.ok && second.ok && first.value.id === second.value.id).toBe(true);
    });
  });

  it('gives typed handles: map lookup/update/delete/iteration through BTF (bytes without it), program test run and pin', () => {
    inKernel(function* (libc) {
      const loaded = yield* loadOrThrow(open('maps.bpfel.o'), libc);
      const counts = loaded.maps.get('counts');
      const sized = loaded.maps.get('sized');
      const entry = loaded.programs.get('entry');
      if (counts === undefined || sized === undefined || entry === undefined) throw new Error('maps.bpfel.o has counts, sized and entry');
      // counts: __u32 -> __u64 with BTF, so numbers in and a bigint (a 64-bit value) out.
      expect([counts.keyTypeId !== 0, counts.valueTypeId !== 0]).toEqual([true, true]);
      expect(yield* counts.lookup(0)).toBeUndefined();
      yield* counts.update(0, 41n);
      yield* counts.update(7, 9);
      expect(yield* counts.lookup(0)).toBe(41n);
      // The entry program adds one to counts[0] and tail-calls tail_b (XDP_DROP).
      const run = yield* entry.testRun({ data: new Uint8Array(64) });
      expect(run.retval).toBe(1);
      expect(yield* counts.lookup(0)).toBe(42n);
      const entries = yield* counts.entries();
      expect(entries.map((e) => [e.key, e.value]).sort()).toEqual([
        [0, 42n],
        [7, 9n],
      ]);
      expect(yield* counts.nextKey()).toBe(entries[0]?.key);
      expect([yield* counts.delete(7), yield* counts.delete(7)]).toEqual([true, false]);
      // BPF_NOEXIST on a present key: the kernel's EEXIST, named.
      const failure = function* (body: () => Generator<number, unknown, number>): Generator<number, string, number> {
        try {
          yield* body();
        } catch (error) {
          expect(error).toBeInstanceOf(LoaderError);
          return (error as Error).message;
        }
        return 'no error';
      };
      expect(yield* failure(() => counts.update(0, 1, 1))).toBe("map 'counts': BPF_MAP_UPDATE_ELEM failed: -EEXIST");
      expect(yield* failure(() => counts.update(0, 2n ** 64n))).toBe("map 'counts': value: 18446744073709551616 does not fit in 64 bits");
      // sized has key_size/value_size and no BTF types: bytes out; an integer key is taken as its little-endian bytes.
      expect([sized.keyTypeId, sized.valueTypeId]).toEqual([0, 0]);
      yield* sized.update(1, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      expect(yield* sized.lookup(new Uint8Array([1, 0, 0, 0]))).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      expect(yield* failure(() => sized.update(0, new Uint8Array(4)))).toBe("map 'sized': value of 4 bytes, the map's is 8");
      expect(yield* failure(() => sized.update(0, { x: 1 }))).toBe("map 'sized': value has no BTF type; give its 8 bytes");
      // Pins: the program and a map, found again by path.
      yield* entry.pin('/sys/fs/bpf/entry');
      yield* sized.pin('/sys/fs/bpf/sized');
      expect([(yield* libc.bpfObjGet('/sys/fs/bpf/entry')) > 0, (yield* libc.bpfObjGet('/sys/fs/bpf/sized')) > 0]).toEqual([true, true]);
      expect(yield* failure(() => entry.pin('/sys/fs/bpf/entry'))).toBe("prog 'entry': pinning at /sys/fs/bpf/entry failed: -EEXIST");
      // A test run the kernel refuses (an XDP run without data) throws with the errno.
      let refused: unknown;
      try {
        yield* entry.testRun({});
      } catch (error) {
        refused = error;
      }
      expect(refused instanceof LoaderError && [refused.kind, refused.errno]).toEqual(['syscall', Errno.EINVAL]);
      yield* loaded.close();
    });
  });

  it('decodes a per-CPU value per possible CPU', () => {
    inKernel(
      function* (libc) {
        // Only xdp_stats' PERCPU_ARRAY (its programs are not what this test is about).
        const whole = openObject(new Uint8Array(readFileSync(join(CORPUS, 'obj', 'xdp_stats.bpf.o'))), { name: 'xdp_stats' });
        const spec = { ...whole, programs: [], maps: whole.maps.filter((m) => m.name === 'proto_stats') };
        const loaded = yield* loadOrThrow(spec, libc, { possibleCpus: 2 });
        // A per-CPU value is one value per possible CPU.
        const stats = loaded.maps.get('proto_stats');
        if (stats === undefined) throw new Error('xdp_stats has proto_stats');
        // struct datarec { __u64 packets; __u64 bytes; }, one per CPU.
        yield* stats.update(17, [{ packets: 5n }, { bytes: 7 }]);
        expect(yield* stats.lookup(17)).toEqual([
          { packets: 5n, bytes: 0n },
          { packets: 0n, bytes: 7n },
        ]);
      },
      '/bin/test',
      2,
    );
  });

  it('creates the global data maps with their bytes, freezes .rodata, fills .kconfig and loads the program', () => {
    inKernel(function* (libc) {
      const loaded = yield* loadOrThrow(open('globals.bpfel.o'), libc, { kconfig: { LINUX_KERNEL_VERSION: 0x60c00, CONFIG_BPF_SYSCALL: 'y' } });
      expect([...loaded.programs.keys()]).toEqual(['globals_prog']);
      // Data maps take their DATASEC as the value type.
      expect([...loaded.maps.values()].every((m) => m.withBtf)).toBe(true);
      const rodata = loaded.maps.get('.rodata')?.fd ?? -1;
      const lookup = yield* libc.bpfMapLookup(rodata, u32(0), 7);
      expect(lookup).toEqual({ ok: true, value: new Uint8Array([7, 0, 0, 0, 0x68, 0x69, 0]) });
      // Frozen: user space may no longer write it (map_freeze: EPERM).
      expect(yield* libc.bpfMapUpdate(rodata, u32(0), new Uint8Array(7))).toBe(-Errno.EPERM);
      const kconfig = yield* libc.bpfMapLookup(loaded.maps.get('.kconfig')?.fd ?? -1, u32(0), 9);
      // CONFIG_HZ (weak, absent) 0 at 0, LINUX_KERNEL_VERSION at 4, CONFIG_BPF_SYSCALL = y at 8.
      expect(kconfig).toEqual({ ok: true, value: new Uint8Array([0, 0, 0, 0, 0x00, 0x0c, 0x06, 0, 1]) });
      const value = function* (name: string, size: number): Generator<number, number[], number> {
        const got = yield* libc.bpfMapLookup(loaded.maps.get(name)?.fd ?? -1, u32(0), size);
        return got.ok ? Array.from(got.value) : [];
      };
      expect(yield* value('.data.custom', 4)).toEqual([0xcd, 0xab, 0, 0]);
      // The program through every reference: returns bump('h') + mode = (104 + 7) + 2 and writes each section.
      const run = yield* libc.bpfProgTestRun(loaded.programs.get('globals_prog')?.fd ?? -1, { data: new Uint8Array(64) });
      expect([run.ret, run.retval]).toEqual([0, 113]);
      expect(yield* value('.data', 8)).toEqual([3 + 104, 0, 0, 0, 0, 0, 0, 0]);
      expect(yield* value('.data.custom', 4)).toEqual([0xce, 0xab, 0, 0]);
      expect(yield* value('.bss.extra', 8)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
      // zeroed = LINUX_KERNEL_VERSION + CONFIG_HZ + CONFIG_BPF_SYSCALL = 0x60c00 + 0 + 1.
      expect(yield* value('.bss', 8)).toEqual([0x01, 0x0c, 0x06, 0, 0, 0, 0, 0]);
    });
  });

  it('fails a strong .kconfig extern without a value, naming it', () => {
    inKernel(function* (libc) {
      let error: unknown;
      try {
        yield* loadOrThrow(open('globals.bpfel.o'), libc);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LoaderError);
      expect(String(error)).toContain("extern (kcfg) 'LINUX_KERNEL_VERSION': strong extern not resolved");
    });
  });

  it("fails a program the verifier refuses with its name and the verifier's log, and closes what it made", () => {
    let error: unknown;
    const bpf = inKernel(function* (libc) {
      try {
        yield* loadOrThrow(open('reject.bpfel.o'), libc);
      } catch (e) {
        error = e;
      }
    });
    expect(error).toBeInstanceOf(LoaderError);
    const message = String(error);
    expect(message).toContain("prog 'unchecked_read': BPF_PROG_LOAD failed: -EACCES");
    expect(message).toContain('invalid access to packet');
    // The log shows each instruction's C source line from line_info, as Linux's verifier prints it.
    expect(message).toContain('; bpf_map_update_elem(&seen, &key, first, BPF_ANY); @ reject.c:18\n');
    expect(message).toMatch(/; __u32 \*first = \(__u32 \*\)\(long\)ctx->data; @ reject\.c:17\n\d+: \(61\)/);
    // The BTF left is the kernel's own (vmlinux, object 1).
    expect([bpf.progs.progs.size, bpf.maps.size, bpf.btfs.ids.size]).toEqual([0, 0, 1]);
  });

  it('creates legacy maps and patches the program with their fds', () => {
    inKernel(function* (libc) {
      const loaded = yield* loadOrThrow(open('legacy.bpfel.o'), libc);
      expect([...loaded.maps.keys()]).toEqual(['old_hash', 'old_array']);
      expect(loaded.programs.get('legacy_prog')?.fd).toBeGreaterThan(0);
      const info = yield* libc.bpfMapGetInfo(loaded.maps.get('old_hash')?.fd ?? -1);
      expect(info.ok && info.value).toMatchObject({ type: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
    });
  });

  it.runIf(benchManifest() !== undefined)('loads every XDP bench object, whose program returns the manifest value on the bench input', () => {
    const manifest = benchManifest();
    const input = new Uint8Array(readFileSync(join(BENCH, manifest?.input ?? '')));
    const results: Record<string, number> = {};
    inKernel(function* (libc) {
      for (const name of Object.keys(manifest?.programs ?? {})) {
        const spec = openObject(new Uint8Array(readFileSync(join(BENCH, 'obj', `${name}.xdp.o`))));
        const loaded = yield* loadOrThrow(spec, libc);
        const run = yield* libc.bpfProgTestRun(loaded.programs.get('prog')?.fd ?? -1, { data: input });
        results[name] = run.retval;
      }
    });
    expect(results).toEqual(Object.fromEntries(Object.entries(manifest?.programs ?? {}).map(([name, p]) => [name, Number(p.xdp.ret)])));
  });
});
