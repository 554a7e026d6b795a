/**
 * Linux 6.18's answers to the kfunc_/iter_ objects' programs, recorded on a real kernel by
 * fixtures/attach/record-kfunc.c (each program loaded alone with libbpf at log level 1) into
 * fixtures/attach/kfunc-refusals.txt, and a loader run of one program of an object against them.
 */
import { readFileSync } from 'node:fs';
import { LoaderError, load, openObject } from '@ebpf-sim/loader';
import { errnoName, type Libc } from '@ebpf-sim/uapi';
import { CORPUS_CPUS, CORPUS_KCONFIG } from '../loader/corpus.js';
import { attachObject } from './rawtp-attach.js';

export interface Recorded {
  readonly object: string;
  readonly program: string;
  /** 0: loaded; else the errno PROG_LOAD failed with. */
  readonly errno: number;
  /** The verifier's error line (the first line after the instructions), '' when loaded. */
  readonly key: string;
}

/** The recording, one entry per program. */
export function recorded(): Recorded[] {
  const text = readFileSync(new URL('../../fixtures/attach/kfunc-refusals.txt', import.meta.url), 'utf8');
  const out: Recorded[] = [];
  let cur: { object: string; program: string; errno: number; lines: string[] } | undefined;
  const flush = (): void => {
    if (cur === undefined) return;
    // The last lines end with the instruction that failed (`N: (..) ...`), the error, what follows it and `processed`.
    const key = cur.errno === 0 ? '' : (cur.lines.find((l) => !/^\d+: /.test(l) && !l.startsWith('processed ')) ?? '');
    out.push({ object: cur.object, program: cur.program, errno: cur.errno, key });
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('  ')) {
      cur?.lines.push(line.slice(2));
      continue;
    }
    flush();
    const [object = '', program = '', errno = '0'] = line.split(' ');
    cur = { object: object.replace(/\.bpf\.o$/, ''), program, errno: Number(errno), lines: [] };
  }
  flush();
  return out;
}

/** Load only `program` of object `name` (the others' autoload off) and give PROG_LOAD's errno and the log, or 0. */
export function* loadOne(libc: Libc, name: string, program: string): Generator<number, { errno: number; log: string }, number> {
  const spec = openObject(attachObject(name), { name });
  try {
    const loaded = yield* load(spec, libc, { kconfig: CORPUS_KCONFIG, possibleCpus: CORPUS_CPUS, programs: [program], logLevel: 1, logSize: 1 << 16 });
    for (const p of loaded.programs.values()) yield* libc.close(p.fd);
    for (const m of loaded.maps.values()) yield* libc.close(m.fd);
    return { errno: 0, log: '' };
  } catch (error) {
    if (!(error instanceof LoaderError)) throw error;
    const m = /failed: -(E[A-Z0-9]+)/.exec(error.message);
    const errno = m === null ? -1 : Number(Object.entries(ERRNOS).find(([, n]) => n === m[1])?.[0] ?? -1);
    return { errno, log: error.message };
  }
}

/** errno numbers by name, as errnoName prints them. */
const ERRNOS: Readonly<Record<number, string>> = Object.fromEntries([1, 7, 13, 14, 22, 71, 95, 524].map((n) => [n, errnoName(-n)]));
