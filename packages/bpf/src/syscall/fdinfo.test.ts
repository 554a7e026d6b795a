import { readFileSync } from 'node:fs';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno, type BpfAttr, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { recordedBlob } from '../../../btf/fixtures/blobs.js';
import { readFdinfo, runUserProgram } from '../testing/user-program.js';
import { registerBpf } from './bpf-syscall.js';

/** fixtures/fdinfo (rebuild.sh): /proc/self/fdinfo of bpf objects on Linux 6.18, as `case | line` rows. */
function recorded(): Map<string, string[]> {
  const cases = new Map<string, string[]>();
  for (const line of readFileSync(new URL('../../fixtures/fdinfo/linux-results.txt', import.meta.url), 'utf8').split('\n')) {
    const at = line.indexOf(' | ');
    if (line.startsWith('#') || at < 0) continue;
    const name = line.slice(0, at);
    cases.set(name, [...(cases.get(name) ?? []), line.slice(at + 3)]);
  }
  return cases;
}

/** `n` instructions: n-1 `r0 = i`, then exit (as the recording's programs). */
function movs(n: number, imm = (i: number): number => i): Uint8Array {
  const bytes = new Uint8Array(8 * n);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n - 1; i++) {
    bytes[8 * i] = 0xb7;
    view.setInt32(8 * i + 4, imm(i), true);
  }
  bytes[8 * (n - 1)] = 0x95;
  return bytes;
}

function bpfKernel(cpus: number): Kernel {
  const kernel = createKernel({ cpus, devices: { nics: [{ name: 'eth0' }] } });
  registerBpf(kernel);
  return kernel;
}

function* fdinfoOf(libc: Libc, fd: number): Generator<number, string[], number> {
  const lines = yield* readFdinfo(libc, fd);
  return lines.map((line) => line.replace(/^(map_id|prog_id|btf_id):\t\d+$/, '$1:\t<id>'));
}

describe('/proc/PID/fdinfo of bpf objects, as Linux 6.18 shows them', () => {
  const linux = recorded();

  it("a program's lines, and memlock as the pages of struct bpf_prog with its instructions", () => {
    const seen = new Map<string, string[]>();
    runUserProgram(bpfKernel(2), function* (libc) {
      for (const n of [2, 500, 501, 1012, 1013]) {
        // The 2-instruction program is the recording's `r0 = 2; exit` (its tag is Linux's too).
        const insns = n === 2 ? movs(2, () => 2) : movs(n);
        const loaded = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.XDP, insns, license: 'GPL' });
        expect(loaded.ret).toBeGreaterThan(0);
        const lines = yield* fdinfoOf(libc, loaded.ret);
        seen.set(`xdp prog ${n} insns`, n === 2 ? lines : lines.filter((line) => line.startsWith('memlock:')));
        yield* libc.close(loaded.ret);
      }
    });
    for (const [name, lines] of seen) expect(lines, name).toEqual(linux.get(name));
  });

  it("every map type's lines, with memlock as Linux's map_mem_usage, before and after updates where it grows", () => {
    const T = BPF_MAP_TYPE;
    const F = BPF_MAP_F;
    type Shape = [type: number, key: number, value: number, entries: number, flags?: number];
    // The recording's cases (record-fdinfo.c), each created here the same way.
    const shapes: Record<string, Shape> = {
      'array k4 v4 x1': [T.ARRAY, 4, 4, 1],
      'array k4 v8 x100': [T.ARRAY, 4, 8, 100],
      'array k4 v3 x10': [T.ARRAY, 4, 3, 10],
      'array k4 v8 x100 mmapable': [T.ARRAY, 4, 8, 100, F.MMAPABLE],
      'array k4 v8 x100 rdonly_prog': [T.ARRAY, 4, 8, 100, F.RDONLY_PROG],
      'percpu_array k4 v8 x10': [T.PERCPU_ARRAY, 4, 8, 10],
      'percpu_array k4 v12 x3': [T.PERCPU_ARRAY, 4, 12, 3],
      'hash k4 v8 x100': [T.HASH, 4, 8, 100],
      'hash k8 v16 x1000': [T.HASH, 8, 16, 1000],
      'hash k4 v8 x100 no_prealloc': [T.HASH, 4, 8, 100, F.NO_PREALLOC],
      'percpu_hash k4 v8 x100': [T.PERCPU_HASH, 4, 8, 100],
      'percpu_hash k4 v8 x100 no_prealloc': [T.PERCPU_HASH, 4, 8, 100, F.NO_PREALLOC],
      'lru_hash k4 v8 x100': [T.LRU_HASH, 4, 8, 100],
      'lru_hash k4 v8 x100 no_common_lru': [T.LRU_HASH, 4, 8, 100, F.NO_COMMON_LRU],
      'lru_percpu_hash k4 v8 x100': [T.LRU_PERCPU_HASH, 4, 8, 100],
      'lpm_trie k8 v8 x100': [T.LPM_TRIE, 8, 8, 100, F.NO_PREALLOC],
      'queue v8 x100': [T.QUEUE, 0, 8, 100],
      'stack v8 x100': [T.STACK, 0, 8, 100],
      'bloom_filter v8 x100': [T.BLOOM_FILTER, 0, 8, 100],
      'bloom_filter v4 x1000': [T.BLOOM_FILTER, 0, 4, 1000],
      'ringbuf 16384': [T.RINGBUF, 0, 0, 16384],
      'perf_event_array x4': [T.PERF_EVENT_ARRAY, 4, 4, 4],
      'prog_array x10': [T.PROG_ARRAY, 4, 4, 10],
      'inner array k4 v4 x1': [T.ARRAY, 4, 4, 1],
      'array_of_maps x10': [T.ARRAY_OF_MAPS, 4, 4, 10],
      'hash_of_maps x10': [T.HASH_OF_MAPS, 4, 4, 10],
      'devmap x10': [T.DEVMAP, 4, 4, 10],
      'devmap_hash x10': [T.DEVMAP_HASH, 4, 4, 10],
      'stack_trace v1016 x100': [T.STACK_TRACE, 4, 1016, 100],
      'stack_trace v80 x10': [T.STACK_TRACE, 4, 80, 10],
      'cgroup_array x10': [T.CGROUP_ARRAY, 4, 4, 10],
      'cpumap x4': [T.CPUMAP, 4, 4, 4],
      'cpumap v8 x2': [T.CPUMAP, 4, 8, 2],
      'xskmap x10': [T.XSKMAP, 4, 4, 10],
      'sockmap v8 x16': [T.SOCKMAP, 4, 8, 16],
      'sockmap v4 x3': [T.SOCKMAP, 4, 4, 3],
      'sockhash k16 v8 x64': [T.SOCKHASH, 16, 8, 64],
      'sockhash k5 v4 x3': [T.SOCKHASH, 5, 4, 3],
      'reuseport_sockarray v8 x4': [T.REUSEPORT_SOCKARRAY, 4, 8, 4],
      'reuseport_sockarray v4 x100': [T.REUSEPORT_SOCKARRAY, 4, 4, 100],
    };
    const grown: Record<string, number> = {
      'hash k4 v8 x100 no_prealloc': 3,
      'percpu_hash k4 v8 x100 no_prealloc': 3,
      'lpm_trie k8 v8 x100': 3,
      'devmap x10': 1,
      'devmap_hash x10': 1,
      // CPU 0 with a queue of 64 frames: Linux does not count a CPU map's entries.
      'cpumap x4': 1,
    };
    const seen = new Map<string, string[]>();
    runUserProgram(bpfKernel(2), function* (libc) {
      let inner = 0;
      for (const [name, [mapType, keySize, valueSize, maxEntries, flags]] of Object.entries(shapes)) {
        const attr: Partial<BpfAttr<'MAP_CREATE'>> = {
          map_type: mapType,
          key_size: keySize,
          value_size: valueSize,
          max_entries: maxEntries,
          map_flags: flags ?? 0,
        };
        if (mapType === T.BLOOM_FILTER) attr.map_extra = 3;
        if (mapType === T.ARRAY_OF_MAPS || mapType === T.HASH_OF_MAPS) attr.inner_map_fd = inner;
        const fd = yield* libc.bpfMapCreate(attr);
        expect(fd, name).toBeGreaterThan(0);
        if (name.startsWith('inner')) inner = fd;
        seen.set(name, yield* fdinfoOf(libc, fd));
        const updates = grown[name] ?? 0;
        for (let i = 0; i < updates; i++) {
          const key = new Uint8Array(keySize);
          const view = new DataView(key.buffer);
          // LPM keys: prefixlen 32, then 10.0.0.i; devmap: slot 3 holds eth0 (ifindex 2; Linux's recording used lo, which this kernel has not).
          if (mapType === T.LPM_TRIE) {
            view.setUint32(0, 32, true);
            view.setUint32(4, 0x0a000000 + i, true);
          } else view.setUint32(0, mapType === T.DEVMAP || mapType === T.DEVMAP_HASH ? 3 : i, true);
          const value = new Uint8Array(valueSize);
          if (mapType === T.DEVMAP || mapType === T.DEVMAP_HASH) value[0] = 2;
          if (mapType === T.CPUMAP) value[0] = 64;
          expect(yield* libc.bpfMapUpdate(fd, key, value), name).toBe(0);
        }
        if (updates > 0) seen.set(`${name} after ${updates} update${updates === 1 ? '' : 's'}`, yield* fdinfoOf(libc, fd));
      }
    });
    for (const [name, lines] of seen) expect(lines, name).toEqual(linux.get(name));
    expect(seen.size).toBe(46);
  });

  it('TASK_STORAGE, created with the BTF of its int key and value', () => {
    // The recording's blob: header, [1] INT 'int' size 4 (signed, 32 bits), strings "\0int\0".
    const blob = new Uint8Array(24 + 16 + 5);
    const view = new DataView(blob.buffer);
    view.setUint16(0, 0xeb9f, true);
    blob[2] = 1;
    [24, 0, 16, 16, 5].forEach((word, i) => view.setUint32(4 + 4 * i, word, true));
    [1, 1 << 24, 4, (1 << 24) | 32].forEach((word, i) => view.setUint32(24 + 4 * i, word, true));
    blob.set([0, 0x69, 0x6e, 0x74, 0], 40);
    let lines: string[] = [];
    runUserProgram(bpfKernel(2), function* (libc) {
      const btf = yield* libc.bpfBtfLoad(blob);
      expect(btf.fd).toBeGreaterThan(0);
      const attr = { map_type: BPF_MAP_TYPE.TASK_STORAGE, key_size: 4, value_size: 4, map_flags: BPF_MAP_F.NO_PREALLOC };
      const fd = yield* libc.bpfMapCreate({ ...attr, btf_fd: btf.fd, btf_key_type_id: 1, btf_value_type_id: 1 });
      expect(fd).toBeGreaterThan(0);
      lines = yield* fdinfoOf(libc, fd);
    });
    expect(lines).toEqual(linux.get('task_storage v4'));
  });

  it("a BTF object's btf_id, and fdinfo of a descriptor that is gone is ENOENT", () => {
    runUserProgram(bpfKernel(1), function* (libc) {
      const btf = yield* libc.bpfBtfLoad(recordedBlob('valid_int_struct'));
      const info = yield* libc.bpfBtfGetInfo(btf.fd, 0);
      const lines = yield* readFdinfo(libc, btf.fd);
      expect(lines).toEqual([`btf_id:\t${info.ok ? info.value.id : -1}`]);
      yield* libc.close(btf.fd);
      expect(yield* libc.open(`/proc/self/fdinfo/${btf.fd}`, 0)).toBe(-Errno.ENOENT);
    });
  });
});
