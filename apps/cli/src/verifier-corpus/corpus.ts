/**
 * The verifier corpus (apps/cli/fixtures/verifier-corpus) replayed in the simulated kernel, as record.c replays it
 * on Linux: every program loaded ALONE from its object through the loader (every other program left out, as
 * libbpf's bpf_program__set_autoload(prog, false) leaves it) with a verifier log at level 1, and the outcome
 * compared with what Linux 6.18 did (recording.json): the decision, the errno and the key log line. The corpus
 * test and `ebpf-sim verifier corpus` both use it.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LoaderError, load, openObject, type ObjectSpec } from '@ebpf-sim/loader';
import { errnoName, type Libc } from '@ebpf-sim/uapi';
import { CORPUS_CPUS, CORPUS_KCONFIG, inCorpusKernel, objectName } from '../loader/corpus.js';
import { repoRoot } from '../repo.js';

/** The verifier corpus directory of this repository. */
export const VERIFIER_CORPUS_DIR = resolve(repoRoot(), 'apps', 'cli', 'fixtures', 'verifier-corpus');

/** What Linux did with one program (record.py's summary of record.c's answer). */
export interface RecordedProgram {
  readonly object: string;
  readonly program: string;
  /** 0 when the program loaded, else the load's errno (positive). */
  readonly errno: number;
  /** Whether the kernel's verifier ran to its `processed N insns` line (false: refused before it, or by libbpf). */
  readonly verified: boolean;
  /** The last verifier line before `processed N insns` (a refusal's reason), or libbpf's first message. */
  readonly key: string;
  /** The verifier's lines after the last instruction line, before `processed`. */
  readonly reason: readonly string[];
  readonly processed?: number;
  readonly logTail: readonly string[];
  readonly libbpf: readonly string[];
}

/** One program of programs.json: its object, group, SEC and what it aims at. */
export interface CorpusProgram {
  readonly object: string;
  readonly program: string;
  readonly group: string;
  readonly sec: string;
  readonly aim: string;
}

export interface VerifierCorpus {
  readonly kernel: string;
  readonly programs: readonly CorpusProgram[];
  readonly recording: readonly RecordedProgram[];
}

export function readVerifierCorpus(dir = VERIFIER_CORPUS_DIR): VerifierCorpus {
  const index = JSON.parse(readFileSync(join(dir, 'programs.json'), 'utf8')) as { programs: CorpusProgram[] };
  const recording = JSON.parse(readFileSync(join(dir, 'recording.json'), 'utf8')) as { kernel: string; programs: RecordedProgram[] };
  return { kernel: recording.kernel, programs: index.programs, recording: recording.programs };
}

/** What the simulated kernel did with one program. */
export interface ReplayedProgram {
  readonly object: string;
  readonly program: string;
  /** 0 when it loaded, else the errno (positive) of the refusal; for a refusal before BPF_PROG_LOAD, the loader's. */
  readonly loaded: boolean;
  /** The errno's name (`EACCES`) when BPF_PROG_LOAD refused it; undefined when it loaded or the loader stopped first. */
  readonly errno?: string;
  /** The loader's error: its first line and the verifier's log after it. */
  readonly error?: string;
  /** The verifier log's lines (the refusal's, or the success's `processed` line). */
  readonly log: readonly string[];
  readonly processed?: number;
  readonly ms: number;
}

/** The log level and buffer asked for: level 1 as record.c asks; the loader's own failure-log size. */
const LOG_LEVEL = 1;
const LOG_SIZE = 64 * 1024;
const PROCESSED = /^processed (\d+) insns/;
/** The loader's BPF_PROG_LOAD refusal: `prog 'x': BPF_PROG_LOAD failed: -EACCES` then the log. */
const PROG_LOAD_FAILED = /^prog '[^']*': BPF_PROG_LOAD failed: -(E[A-Z0-9?]+)$/;

function processedOf(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const m = PROCESSED.exec(line);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

/** Load one program of an opened object (the others left out), as record.c does; close what it made. */
export function* replayProgram(libc: Libc, spec: ObjectSpec, object: string, program: string): Generator<number, ReplayedProgram, number> {
  const started = performance.now();
  try {
    const loaded = yield* load(spec, libc, {
      kconfig: CORPUS_KCONFIG,
      possibleCpus: CORPUS_CPUS,
      programs: [program],
      logLevel: LOG_LEVEL,
      logSize: LOG_SIZE,
    });
    const log = (loaded.programs.get(program)?.log ?? '').split('\n').filter((l) => l !== '');
    yield* loaded.close();
    const processed = processedOf(log);
    return { object, program, loaded: true, log, ms: performance.now() - started, ...(processed === undefined ? {} : { processed }) };
  } catch (error) {
    if (!(error instanceof LoaderError)) throw error;
    const [first = '', ...rest] = error.message.split('\n');
    const log = rest.filter((l) => l !== '');
    const errno = PROG_LOAD_FAILED.exec(first)?.[1];
    const processed = processedOf(log);
    return {
      object,
      program,
      loaded: false,
      error: error.message,
      log,
      ms: performance.now() - started,
      ...(errno === undefined ? {} : { errno }),
      ...(processed === undefined ? {} : { processed }),
    };
  }
}

/**
 * Replay every program of the corpus (or those `only` keeps): one fresh simulated kernel per object, the object
 * opened once and each of its programs loaded alone. `onProgram` sees each outcome as it comes.
 */
export function replayVerifierCorpus(
  corpus: VerifierCorpus,
  options: { readonly dir?: string; readonly only?: (p: CorpusProgram) => boolean; readonly onProgram?: (r: ReplayedProgram) => void } = {},
): ReplayedProgram[] {
  const dir = options.dir ?? VERIFIER_CORPUS_DIR;
  const byObject = new Map<string, CorpusProgram[]>();
  for (const p of corpus.programs) {
    if (options.only !== undefined && !options.only(p)) continue;
    const list = byObject.get(p.object) ?? [];
    list.push(p);
    byObject.set(p.object, list);
  }
  const out: ReplayedProgram[] = [];
  for (const [object, programs] of byObject) {
    let spec: ObjectSpec;
    try {
      spec = openObject(new Uint8Array(readFileSync(join(dir, object))), { name: objectName(object) });
    } catch (error) {
      // The loader refuses the whole object at open (libbpf's bpf_object__open failing): every program is refused.
      if (!(error instanceof LoaderError)) throw error;
      for (const p of programs) {
        const replayed: ReplayedProgram = { object, program: p.program, loaded: false, error: error.message, log: [], ms: 0 };
        out.push(replayed);
        options.onProgram?.(replayed);
      }
      continue;
    }
    inCorpusKernel(function* (libc) {
      for (const p of programs) {
        const replayed = yield* replayProgram(libc, spec, object, p.program);
        out.push(replayed);
        options.onProgram?.(replayed);
      }
    });
  }
  return out;
}

/** The lines our verifier adds after Linux's reason to say what to change (packages/verifier hints.ts); not Linux's. */
const HINT = /^hint: /;

/**
 * Our key line, found as record.py finds Linux's: the last log line before `processed` (our own hint lines left
 * out), else the error's first line.
 */
export function ourKeyLine(replayed: ReplayedProgram): string {
  const at = replayed.log.findIndex((l) => PROCESSED.test(l));
  const before = (at < 0 ? replayed.log : replayed.log.slice(0, at)).filter((l) => !HINT.test(l));
  return before[before.length - 1] ?? (replayed.error ?? '').split('\n')[0] ?? '';
}

/** How one program's outcome here compares with Linux's. */
export type Verdict =
  /** Same decision; for a refusal the same errno and Linux's key line among ours. */
  | 'agree'
  /** Both refuse, with another errno or without Linux's key line. */
  | 'other reason'
  /** Linux loads it, the simulated kernel refuses it. */
  | 'refused here'
  /** Linux refuses it and the simulated kernel loads it: the verifier accepts what Linux rejects. */
  | 'accepted here';

export interface Comparison {
  readonly program: string;
  readonly verdict: Verdict;
  /** One line saying how it differs ('' when it agrees). */
  readonly difference: string;
}

/** Compare one program's outcome with Linux's recording. */
export function compareProgram(recorded: RecordedProgram, replayed: ReplayedProgram): Comparison {
  const program = recorded.program;
  const linuxLoads = recorded.errno === 0;
  const ours = ourKeyLine(replayed);
  if (linuxLoads && replayed.loaded) return { program, verdict: 'agree', difference: '' };
  if (linuxLoads) return { program, verdict: 'refused here', difference: `${program}: Linux loads it; here: ${replayed.errno ?? 'loader'}: ${ours}` };
  const linuxErrno = errnoName(recorded.errno);
  if (replayed.loaded) return { program, verdict: 'accepted here', difference: `${program}: Linux refuses it (${linuxErrno}: ${recorded.key}); here it loads` };
  // A refusal libbpf made before the kernel saw the program (no verifier log): its message is in the loader's error.
  const keyFound = recorded.verified ? replayed.log.includes(recorded.key) : (replayed.error ?? '').includes(recorded.key);
  const errnoSame = !recorded.verified || replayed.errno === linuxErrno;
  if (keyFound && errnoSame) return { program, verdict: 'agree', difference: '' };
  return {
    program,
    verdict: 'other reason',
    difference: `${program}: Linux refuses it with ${linuxErrno}: "${recorded.key}"; here ${replayed.errno ?? 'the loader'}: "${ours}"`,
  };
}
