/**
 * `verify OBJ` for a program that uses maps or global data: the object goes the loader's way (openObject, then
 * load() into a simulated kernel, which creates the maps and verifies each program at BPF_PROG_LOAD), and the
 * chosen program's verifier log is the kernel's.
 */
import { BPF_LOG } from '@ebpf-sim/uapi';
import { LoaderError, load } from '@ebpf-sim/loader';
import { CliError, type CliIo } from '../../command.js';
import { VerifierRejection, openFile, type ObjectFile } from '../bpftool/handles.js';
import { execute } from '../bpftool/verb.js';

/**
 * The log buffer for BPF_PROG_LOAD. The libc passes it on the simulated process's stack (128 KiB); the kernel's
 * rotating log keeps the end of a longer one, where a rejection's reason is.
 */
const LOG_SIZE = 64 * 1024;

export interface LoadedVerdict {
  readonly accepted: boolean;
  readonly log: string;
}

/** Load `file` into a fresh kernel with a verifier log at `logLevel` (plus BPF_LOG_STATS for `stats`) and give `programName`'s log. */
export function verifyThroughLoader(file: ObjectFile, programName: string, logLevel: 1 | 2, stats: boolean, io: CliIo): LoadedVerdict {
  const spec = openFile(file);
  let verdict: LoadedVerdict | undefined;
  execute(
    [
      {
        step: function* ({ libc }) {
          try {
            const loaded = yield* load(spec, libc, { logLevel: logLevel | (stats ? BPF_LOG.STATS : 0), logSize: LOG_SIZE });
            verdict = { accepted: true, log: loaded.programs.get(programName)?.log ?? '' };
          } catch (error) {
            if (!(error instanceof LoaderError)) throw error;
            const [first = '', ...log] = error.message.split('\n');
            if (log.length === 0) throw new CliError(`${file.path}: ${error.message}`);
            if (!first.startsWith(`prog '${programName}'`)) throw new VerifierRejection(`${file.path}: ${first}`, `${log.join('\n').trimEnd()}\n`);
            verdict = { accepted: false, log: `${log.join('\n').trimEnd()}\n` };
          }
        },
      },
    ],
    io,
    'plain',
  );
  if (verdict === undefined) throw new CliError(`${file.path}: the object was not loaded`);
  return verdict;
}
