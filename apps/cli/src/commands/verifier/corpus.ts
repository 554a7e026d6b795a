import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errnoName } from '@ebpf-sim/uapi';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import {
  VERIFIER_CORPUS_DIR,
  compareProgram,
  ourKeyLine,
  readVerifierCorpus,
  replayVerifierCorpus,
  type Comparison,
  type RecordedProgram,
  type ReplayedProgram,
} from '../../verifier-corpus/corpus.js';

const VERDICTS: readonly Comparison['verdict'][] = ['agree', 'other reason', 'refused here', 'accepted here'];

/** `loaded`, or the refusal's errno name (`EACCES`), or `loader` for a refusal before BPF_PROG_LOAD. */
const linuxDecision = (r: RecordedProgram): string => (r.errno === 0 ? 'loaded' : errnoName(r.errno));
const ourDecision = (r: ReplayedProgram): string => (r.loaded ? 'loaded' : (r.errno ?? 'loader'));

export const verifyCorpusCommand = defineCommand(
  {
    name: 'verify-corpus',
    summary: "replay the verifier corpus and compare each program's verdict with Linux's recording",
    description: `Loads every program of the verifier corpus (apps/cli/fixtures/verifier-corpus: C and inline-asm programs,
one behaviour each) alone through the loader into a fresh simulated kernel per object, as its recorder loaded
them on Linux 6.18 with libbpf, and prints per program Linux's decision and ours (loaded, or the errno), the
verdict (agree, other reason, refused here, accepted here) and, where they differ, Linux's key log line (the
last line before 'processed N insns') beside ours; then a summary line.`,
    options: {
      dir: opt.path({ value: 'DIR', must: 'dir', help: "the corpus directory (default: the repository's apps/cli/fixtures/verifier-corpus)" }),
      group: opt.text({ value: 'NAME', help: 'only the programs of this group (an object: pkt, mapval, globals, ...)' }),
      program: opt.text({ value: 'NAME', help: 'only this program' }),
      differences: opt.flag('print only the programs whose verdict is not "agree"'),
    },
    epilog: 'Exit status: 0, or 1 when the simulated kernel loads a program Linux refuses.',
  },
  ({ options: values }, io) => {
    const dir = values.dir ?? VERIFIER_CORPUS_DIR;
    if (!existsSync(join(dir, 'recording.json')) || !existsSync(join(dir, 'programs.json')))
      throw new CliError(`${dir}: no programs.json and recording.json (not a verifier corpus)`);
    const corpus = readVerifierCorpus(dir);
    if (values.group !== undefined && !corpus.programs.some((p) => p.group === values.group)) {
      throw new UsageError(`no group '${values.group}' (have: ${[...new Set(corpus.programs.map((p) => p.group))].join(', ')})`);
    }
    if (values.program !== undefined && !corpus.programs.some((p) => p.program === values.program)) throw new UsageError(`no program '${values.program}'`);
    const recorded = new Map(corpus.recording.map((r) => [r.program, r]));
    const counts = new Map<Comparison['verdict'], number>(VERDICTS.map((v) => [v, 0]));
    io.out(`${'PROGRAM'.padEnd(28)} ${'GROUP'.padEnd(12)} ${'LINUX'.padEnd(8)} ${'HERE'.padEnd(8)} VERDICT\n`);
    const replayed = replayVerifierCorpus(corpus, {
      dir,
      only: (p) => (values.group === undefined || p.group === values.group) && (values.program === undefined || p.program === values.program),
      onProgram: (r) => {
        const linux = recorded.get(r.program);
        if (linux === undefined) throw new CliError(`${r.program}: not in recording.json`);
        const c = compareProgram(linux, r);
        counts.set(c.verdict, (counts.get(c.verdict) ?? 0) + 1);
        if (values.differences && c.verdict === 'agree') return;
        const group = corpus.programs.find((p) => p.program === r.program)?.group ?? '';
        io.out(`${r.program.padEnd(28)} ${group.padEnd(12)} ${linuxDecision(linux).padEnd(8)} ${ourDecision(r).padEnd(8)} ${c.verdict}\n`);
        if (c.verdict === 'agree') return;
        const linuxKey = linux.errno === 0 ? `loaded (processed ${linux.processed ?? '?'} insns)` : linux.key;
        io.out(`    linux: ${linuxKey}\n    here:  ${r.loaded ? `loaded (processed ${r.processed ?? '?'} insns)` : ourKeyLine(r)}\n`);
      },
    });
    const summary = VERDICTS.map((v) => `${counts.get(v) ?? 0} ${v}`).join(', ');
    io.out(`${replayed.length} programs (Linux ${corpus.kernel}): ${summary}\n`);
    return (counts.get('accepted here') ?? 0) > 0 ? 1 : 0;
  },
);
