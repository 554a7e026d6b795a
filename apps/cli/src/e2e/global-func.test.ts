/**
 * Global functions and source lines end to end: clang objects (fixtures/attach/src/glob_*.bpf.c) loaded through
 * the loader, their verifier logs compared with what Linux 6.18 printed for the same objects
 * (fixtures/global-func/linux-logs.json, recorded by fixtures/global-func/record.sh with libbpf).
 */
import { readFileSync } from 'node:fs';
import { LoaderError, load, openObject, type LoadedObject } from '@ebpf-sim/loader';
import { Errno, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { CORPUS_CPUS, CORPUS_KCONFIG, inCorpusKernel } from '../loader/corpus.js';
import { attachObject } from './rawtp-attach.js';

interface Recorded {
  readonly errno: number;
  readonly log: string;
}
interface Recording {
  readonly kernel: string;
  readonly objects: Readonly<Record<string, { readonly levels: Readonly<Record<'1' | '2', Recorded>>; readonly retval?: number }>>;
}

const LINUX = JSON.parse(readFileSync(new URL('../../fixtures/global-func/linux-logs.json', import.meta.url), 'utf8')) as Recording;

function linux(name: string, level: 1 | 2): Recorded {
  const recorded = LINUX.objects[name]?.levels[level];
  if (recorded === undefined) throw new Error(`no recording of ${name} at level ${level}`);
  return recorded;
}

/** Lines Linux prints that this verifier does not (precision backtracking and stack liveness traces), and our hint. */
const NOT_MODELLED = [/^mark_precise: /, /^\([\d,]+\) frame \d+ insn \d+ /, /^\([\d,]+\) live stack update done/, /^hint: /];
/** The processed-instruction statistics differ where precision does: compared apart. */
const STATS = /^processed \d+ insns/;

/** A map value's address: Linux prints the kernel pointer (a new one each load), this verifier the map's name (and the padding after it). */
const MAP_VALUE_LOAD = /(r\d+ = )(?:0xffff[0-9a-f]{12}|map\[[^\]]+\]) */;

function comparable(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line !== '' && !STATS.test(line) && !NOT_MODELLED.some((re) => re.test(line)))
    .map((line) => line.replace(MAP_VALUE_LOAD, '$1<map value> '));
}

/**
 * Where this verifier's level-2 logs still differ from Linux's, in code that is not about global functions: Linux
 * does not prune the second visit of glob_pair_sum's exit (its checkpoint heuristics count exits as jumps; that
 * visit prints its `32: (95) exit` again). Each entry must still be there: delete it when the difference goes.
 */
const KNOWN: Readonly<Record<string, { readonly missing: readonly string[]; readonly extra: readonly string[] }>> = {
  glob_ok: {
    missing: ['from 28 to 32: R0=0xffffffff R1=0 R10=fp0', '32: R0=0xffffffff R1=0 R10=fp0', '32: (95) exit'],
    extra: ['from 28 to 32: safe'],
  },
  // Also: task_struct's offsets (CO-RE moves tgid and pid to each kernel's layout), a map value's address (Linux
  // prints the raw pointer at level 2) and the live registers of a call of a helper without arguments.
  glob_trusted: {
    missing: [
      '      0: .......... (85) call bpf_get_current_task_btf#158',
      '     18: .1........ (61) r0 = *(u32 *)(r1 +1268)',
      '     22: .1........ (61) r0 = *(u32 *)(r1 +1264)',
      '18: (61) r0 = *(u32 *)(r1 +1268)      ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R1=trusted_ptr_task_struct(id=1)',
      '22: (61) r0 = *(u32 *)(r1 +1264)      ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R1=trusted_ptr_task_struct()',
      'from 21 to 23: R0=0 R1=0 R10=fp0',
      '23: R0=0 R1=0 R10=fp0',
      '23: (95) exit',
    ],
    extra: [
      '      0: .12345.... (85) call bpf_get_current_task_btf#158',
      '     18: .1........ (61) r0 = *(u32 *)(r1 +40)',
      '     22: .1........ (61) r0 = *(u32 *)(r1 +36)',
      '18: (61) r0 = *(u32 *)(r1 +40)        ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R1=trusted_ptr_task_struct(id=1)',
      '22: (61) r0 = *(u32 *)(r1 +36)        ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R1=trusted_ptr_task_struct()',
      'from 21 to 23: safe',
    ],
  },
};

/** `lines` without one occurrence (the last) of each of `known`, each of which must be there. */
function without(lines: readonly string[], known: readonly string[]): string[] {
  const out = [...lines];
  for (const line of known) {
    const at = out.lastIndexOf(line);
    expect(at, `known difference no longer there: ${line}`).toBeGreaterThanOrEqual(0);
    out.splice(at, 1);
  }
  return out;
}

type Outcome = { readonly errno: number; readonly log: string; readonly loaded?: LoadedObject };

/** Load NAME's object with a verifier log at `level`: the errno (0 when loaded) and glob_main's log. */
function* loadWithLog(libc: Libc, name: string, level: 1 | 2): Generator<number, Outcome, number> {
  const spec = openObject(attachObject(name), { name });
  try {
    const loaded = yield* load(spec, libc, { kconfig: CORPUS_KCONFIG, possibleCpus: CORPUS_CPUS, logLevel: level, logSize: 1 << 16 });
    return { errno: 0, log: loaded.programs.get('glob_main')?.log ?? '', loaded };
  } catch (error) {
    if (!(error instanceof LoaderError)) throw error;
    const match = /BPF_PROG_LOAD failed: -([A-Z0-9]+)\n([\s\S]*)$/.exec(error.message);
    if (match === null) throw error;
    return { errno: (Errno as Record<string, number>)[match[1] ?? ''] ?? -1, log: match[2] ?? '' };
  }
}

describe('global functions (BTF_FUNC_GLOBAL) verified on their own, as Linux 6.18 does', () => {
  it('glob_trusted: a trusted kernel pointer argument (PTR_TO_BTF_ID), nullable or not, loads with Linux log at levels 1 and 2', () => {
    const seen: Outcome[] = [];
    inCorpusKernel(function* (libc) {
      for (const level of [1, 2] as const) {
        const outcome = yield* loadWithLog(libc, 'glob_trusted', level);
        seen.push(outcome);
        if (outcome.loaded) yield* outcome.loaded.close();
      }
    });
    expect(seen.map((s) => s.errno)).toEqual([0, 0]);
    expect(comparable(seen[0]?.log ?? '')).toEqual(comparable(linux('glob_trusted', 1).log));
    const known = KNOWN['glob_trusted'] ?? { missing: [], extra: [] };
    expect(without(comparable(seen[1]?.log ?? ''), known.extra)).toEqual(without(comparable(linux('glob_trusted', 2).log), known.missing));
    expect(seen[1]?.log).toContain('Validating glob_tgid() func#1...\n18: R1=trusted_ptr_task_struct(id=1) R10=fp0\n');
  });

  it("glob_static_arg: a static function's BTF is checked at its call too, a mismatch only logged", () => {
    const seen: Outcome[] = [];
    let retval = -1;
    inCorpusKernel(function* (libc) {
      for (const level of [1, 2] as const) {
        const outcome = yield* loadWithLog(libc, 'glob_static_arg', level);
        seen.push(outcome);
        const prog = outcome.loaded?.programs.get('glob_main');
        if (prog !== undefined && level === 1) retval = (yield* prog.testRun({ data: new Uint8Array(64), repeat: 1 })).retval;
        if (outcome.loaded) yield* outcome.loaded.close();
      }
    });
    expect(seen.map((s) => s.errno)).toEqual([0, 0]);
    expect(retval).toBe(LINUX.objects['glob_static_arg']?.retval);
    expect(comparable(seen[0]?.log ?? '')).toEqual(comparable(linux('glob_static_arg', 1).log));
    const call = '0: (85) call pc+1\nR1 is not a scalar\ncaller:\n R10=fp0\ncallee:\n frame1: R1=ctx() R10=fp0\n';
    expect(linux('glob_static_arg', 2).log).toContain(call);
    expect(seen[1]?.log).toContain(call);
  });

  it.each(['glob_ok', 'glob_tags'])('%s loads, runs and returns what Linux returns, with Linux log at levels 1 and 2', (name) => {
    const seen: Outcome[] = [];
    let retval = -1;
    inCorpusKernel(function* (libc) {
      for (const level of [1, 2] as const) {
        const outcome = yield* loadWithLog(libc, name, level);
        seen.push(outcome);
        const prog = outcome.loaded?.programs.get('glob_main');
        if (prog !== undefined && level === 1) retval = (yield* prog.testRun({ data: new Uint8Array(64), repeat: 1 })).retval;
        if (outcome.loaded) yield* outcome.loaded.close();
      }
    });
    expect(seen.map((s) => s.errno)).toEqual([0, 0]);
    expect(retval).toBe(LINUX.objects[name]?.retval);
    // Level 1: each pass that succeeds leaves nothing; the last global function's verdict stays.
    expect(comparable(seen[0]?.log ?? '')).toEqual(comparable(linux(name, 1).log));
    // Level 2: every pass, the calls "assumed valid", each global function's own pass with its typed arguments
    // (mem(sz=8), mem_or_null(id=2,sz=8), ctx() and a scalar), the static callee's tag line, the main program's
    // unsized `void *ctx` line, and the `; source` lines.
    const known = KNOWN[name] ?? { missing: [], extra: [] };
    expect(without(comparable(seen[1]?.log ?? ''), known.extra)).toEqual(without(comparable(linux(name, 2).log), known.missing));
  });

  const REFUSED = ['glob_bad_null', 'glob_bad_args', 'glob_bad_tag', 'glob_bad_void'];
  it('refuses an unchecked nullable pointer, a scalar as ctx, a nullable tag on memory and a void return with Linux errno and lines', () => {
    const seen = new Map<string, Outcome>();
    inCorpusKernel(function* (libc) {
      for (const name of REFUSED) for (const level of [1, 2] as const) seen.set(`${name}/${level}`, yield* loadWithLog(libc, name, level));
    });
    for (const name of REFUSED)
      for (const level of [1, 2] as const) {
        const ours = seen.get(`${name}/${level}`);
        const theirs = linux(name, level);
        expect(ours?.errno, `${name} at level ${level}`).toBe(theirs.errno);
        expect(comparable(ours?.log ?? ''), `${name} at level ${level}`).toEqual(comparable(theirs.log));
      }
    expect(seen.get('glob_bad_null/1')?.log).toContain(
      'Validating glob_unchecked() func#1...\n7: R1=mem_or_null(id=1,sz=8) R10=fp0\n; return p->a + p->b; @ glob_bad_null.bpf.c:14',
    );
    expect(seen.get('glob_bad_args/1')?.log).toContain("arg#0 expects pointer to ctx\nCaller passes invalid args into func#1 ('glob_len')");
  });
});
