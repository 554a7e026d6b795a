/**
 * The loader's end-to-end tests run as a user program of a fresh simulated kernel with the bpf subsystem (the
 * loader may not depend on the kernel: layering.json). Test support only, imported by `*.test.ts`.
 */
import type { registerBpf } from '@ebpf-sim/bpf';
import type { Libc } from '@ebpf-sim/uapi';
import { inCorpusKernel } from './corpus.js';

/** Run `body` as the program at `path` (its comm is the path's last part) of a fresh kernel with `cpus` CPUs; fail on a kernel crash. */
export function inKernel(body: (libc: Libc) => Generator<number, void, number>, path = '/bin/test', cpus = 1): ReturnType<typeof registerBpf> {
  return inCorpusKernel(body, { cpus, path });
}
