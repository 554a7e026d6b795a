import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PROGRAM_TYPES, createRegistry, progTypeForSection } from '@ebpf-sim/bpf';
import { programSections } from '@ebpf-sim/elf';
import { fromHex } from '@ebpf-sim/isa';
import { verify, type ProgramTypeDesc, type VerifyResult } from '@ebpf-sim/verifier';
import { parseWith } from '../../args.js';
import { CliError, type CliIo, type Command } from '../../command.js';
import { readBpfObject, readInputFile } from '../isa/objfile.js';

const TYPES = [...PROGRAM_TYPES.keys()];

const USAGE = `usage: ebpf-sim verify FILE.o [--section NAME] [--type TYPE] [--log-level 1|2] [--unprivileged] [--stats]
       ebpf-sim verify --prog-hex FILE --type TYPE [--log-level 1|2] [--unprivileged] [--stats]

Verify a BPF program as Linux's verifier does and print its log (the path to an error at level 1, every
instruction with the register state at level 2), followed by a plain-words hint when it is rejected.
  --section NAME    the code section to verify (default: the first one)
  --type TYPE       ${TYPES.join('|')}; default: from the section name as libbpf
                    does (xdp, socket, kprobe/, tracepoint/, tp/, raw_tp/, perf_event, lsm/, tc, classifier)
  --prog-hex FILE   raw bytecode instead of an ELF object (hex digits, whitespace ignored); GPL assumed
  --unprivileged    apply the rules for users without CAP_BPF
  --stats           add the verification time and stack depth, as the kernel's BPF_LOG_STATS does
Exit status: 0 accepted, 1 rejected (the log on stdout), 2 bad input.`;

interface Loaded {
  readonly bytes: Uint8Array;
  readonly section: string | null;
  readonly gpl: boolean;
}

function loadHex(path: string): Loaded {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`${path}: cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 2);
  }
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text.replace(/#.*$/gm, ''));
  } catch (error) {
    throw new CliError(`${path}: ${(error as Error).message}`, 2);
  }
  if (bytes.length === 0 || bytes.length % 8 !== 0) throw new CliError(`${path}: ${bytes.length} bytes is not a whole number of 8-byte instructions`, 2);
  return { bytes, section: null, gpl: true };
}

function loadObject(path: string, sectionName: string | undefined): Loaded {
  let obj;
  try {
    obj = readBpfObject(path, readInputFile(path));
  } catch (error) {
    if (error instanceof CliError) throw new CliError(error.message, 2);
    throw error;
  }
  const sections = programSections(obj);
  const chosen = sectionName === undefined ? sections[0] : sections.find((p) => p.section.name === sectionName);
  if (!chosen) {
    const names = sections.map((p) => p.section.name).join(', ') || 'none';
    throw new CliError(sectionName === undefined ? `${path}: no code section` : `${path}: no code section named '${sectionName}' (code sections: ${names})`, 2);
  }
  if (obj.endian !== 'little') throw new CliError(`${path}: big-endian (bpfeb) objects cannot be loaded on this little-endian kernel`, 2);
  const relocs = obj.relocations(chosen.section);
  if (relocs.length > 0) {
    const names = [...new Set(relocs.map((r) => r.symbol?.name ?? '?'))].join(', ');
    throw new CliError(
      `${path}: section '${chosen.section.name}' has ${relocs.length} relocation(s) (${names}); maps and global data need the loader, which is not available yet`,
      2,
    );
  }
  const license = obj.section('license');
  const text = license ? new TextDecoder().decode(license.data).replace(/\0.*$/s, '') : '';
  // Linux license_is_gpl_compatible().
  const gpl = ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'].includes(text);
  return { bytes: chosen.section.data, section: chosen.section.name, gpl };
}

function pickType(name: string | undefined, section: string | null): ProgramTypeDesc {
  if (name !== undefined) {
    const t = PROGRAM_TYPES.get(name);
    if (!t) throw new CliError(`--type must be one of ${TYPES.join(', ')}, not '${name}'`, 2);
    return t;
  }
  if (section === null) throw new CliError('--type is required with --prog-hex', 2);
  const t = progTypeForSection(section);
  if (!t) throw new CliError(`cannot tell the program type from section '${section}'; pass --type (${TYPES.join('|')})`, 2);
  return t;
}

/** The kernel's BPF_LOG_STATS lines, placed before the final `processed` line as Linux prints them. */
function withStats(result: VerifyResult): string {
  const lines = result.log.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  lines.push(`verification time ${result.stats.timeUs} usec`, `stack depth ${result.stackDepth.join('+') || '0'}`, last);
  return `${lines.join('\n')}\n`;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a BPF program like Linux and print the verifier log',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseWith(USAGE, () =>
      parseArgs({
        args: [...args],
        allowPositionals: true,
        options: {
          section: { type: 'string' },
          type: { type: 'string' },
          'log-level': { type: 'string' },
          unprivileged: { type: 'boolean' },
          'prog-hex': { type: 'string' },
          stats: { type: 'boolean' },
        },
      }),
    );
    const level = values['log-level'] ?? '1';
    if (level !== '1' && level !== '2') throw new CliError(`--log-level must be 1 or 2, not '${level}'`, 2);
    const hex = values['prog-hex'];
    if (hex === undefined && positionals.length !== 1) throw new CliError(`expected one object file\n${USAGE}`, 2);
    if (hex !== undefined && positionals.length !== 0) throw new CliError('give either FILE.o or --prog-hex FILE, not both', 2);
    const loaded = hex !== undefined ? loadHex(hex) : loadObject(positionals[0] ?? '', values.section);
    const progType = pickType(values.type, loaded.section);
    const result = verify(loaded.bytes, {
      progType,
      registry: createRegistry(),
      logLevel: level === '2' ? 2 : 1,
      privileged: values.unprivileged !== true,
      gpl: loaded.gpl,
    });
    io.out(values.stats ? withStats(result) : result.log);
    return Promise.resolve(result.accepted ? 0 : 1);
  },
};
