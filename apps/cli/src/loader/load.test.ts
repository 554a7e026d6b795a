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
    expect([bpf.progs.progs.size, bpf.maps.size]).toEqual([0, 0]);
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
