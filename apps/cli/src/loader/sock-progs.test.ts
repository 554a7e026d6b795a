/**
 * The corpus's socket and cgroup programs that need nothing else this kernel lacks (no socket map, no callback
 * helper): cgroup.bpf.o's cgroup/sock_create and cgroup/connect4 and sockets.bpf.o's sk_lookup, each loaded on
 * its own through bpf() with the program type, expected attach type and flags of its SEC() name, as libbpf
 * would, and its xlated dump compared with the one Linux 6.18 gave for the same object (recording.json).
 * The rest of those objects stops earlier (see corpus.test.ts KNOWN); these show the program types are there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProgram, formatXlatedProgram } from '@ebpf-sim/isa';
import { BPF_SOCK_ADDR_KERN, SOCK, SOCKADDR_IN } from '@ebpf-sim/kernel';
import { openObject } from '@ebpf-sim/loader';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR, inCorpusKernel, readCorpus } from './corpus.js';

/** The instructions of a dump, without slot numbers, source lines or the function header. */
const instructions = (lines: readonly string[]): string[] =>
  lines.map((line) => /^\s*\d+: (.*)$/.exec(line)?.[1]).filter((text): text is string => text !== undefined);

/**
 * Where the simulated kernel's objects differ from Linux's, the instructions differ: Linux's run, then ours.
 * - struct sock: sk_type lives elsewhere (only struct sock_common keeps Linux's offsets).
 * - bpf_sock_addr_kern: the simulated hook keeps a copy of the sockaddr inside the object, so `user_port` is one
 *   load where Linux first loads the `uaddr` pointer.
 */
const DIFFERENCES: Readonly<Record<string, { readonly linux: readonly string[]; readonly ours: readonly string[] }>> = {
  cgroup_sock_create: { linux: ['(69) r1 = *(u16 *)(r1 +534)'], ours: [`(69) r1 = *(u16 *)(r1 +${SOCK.sk_type})`] },
  cgroup_connect4: {
    linux: ['(79) r1 = *(u64 *)(r1 +8)', '(69) r1 = *(u16 *)(r1 +2)'],
    ours: [`(69) r1 = *(u16 *)(r1 +${BPF_SOCK_ADDR_KERN.uaddr + SOCKADDR_IN.sin_port})`],
  },
  sk_lookup_pass: { linux: [], ours: [] },
};

const CASES: ReadonlyArray<readonly [object: string, program: string]> = [
  ['obj/cgroup.bpf.o', 'cgroup_sock_create'],
  ['obj/cgroup.bpf.o', 'cgroup_connect4'],
  ['obj/sockets.bpf.o', 'sk_lookup_pass'],
];

describe("the corpus's socket and cgroup programs beside Linux 6.18", () => {
  const recording = readCorpus().recording;
  const ours = new Map<string, string[]>();
  inCorpusKernel(function* (libc) {
    for (const [object, program] of CASES) {
      const spec = openObject(new Uint8Array(readFileSync(join(CORPUS_DIR, object))));
      const prog = spec.programs.find((p) => p.name === program);
      const section = prog?.section;
      if (prog === undefined || section === undefined) throw new Error(`${object} has no program ${program}`);
      const loaded = yield* libc.bpfProgLoad({
        progType: section.progType,
        insns: prog.insns,
        license: prog.license,
        name: program.slice(0, 15),
        expectedAttachType: section.expectedAttachType,
        progFlags: section.progFlags,
        logLevel: 1,
        logSize: 1 << 16,
      });
      if (loaded.ret < 0) throw new Error(`${program}: ${loaded.ret}\n${loaded.log}`);
      const info = yield* libc.bpfProgGetInfo(loaded.ret, 0, 4096);
      if (!info.ok) throw new Error(`${program}: info -${info.errno}`);
      ours.set(program, instructions(formatXlatedProgram(decodeProgram(info.value.xlatedProgInsns)).split('\n')));
      yield* libc.close(loaded.ret);
    }
  });

  it.each(CASES.map(([object, program]) => [program, object] as const))(
    '%s loads and rewrites its context as Linux, but for the listed objects',
    (program, object) => {
      const linux = recording.find((r) => r.object === object)?.programs?.find((p) => p.name === program) as { xlated?: string[] } | undefined;
      const difference = DIFFERENCES[program];
      if (linux?.xlated === undefined || difference === undefined) throw new Error(`no recorded dump of ${program}`);
      const expected = instructions(linux.xlated).join('\n').replace(difference.linux.join('\n'), difference.ours.join('\n'));
      expect(ours.get(program)?.join('\n')).toBe(expected);
    },
  );
});
