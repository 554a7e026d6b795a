import { readFileSync } from 'node:fs';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, Errno, type Libc } from '@ebpf-sim/uapi';
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
  const kernel = createKernel({ cpus });
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
