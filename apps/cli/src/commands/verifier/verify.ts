import { PROGRAM_TYPES, createRegistry, licenseIsGplCompatible, progTypeForSection } from '@ebpf-sim/bpf';
import { fromHex } from '@ebpf-sim/isa';
import { LoaderError, TEXT_SECTION, readPrograms } from '@ebpf-sim/loader';
import { verify, type ProgramTypeDesc, type VerifyResult } from '@ebpf-sim/verifier';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { readHexText, readInputFile } from '../../files.js';
import { readBpfObject } from '../isa/objfile.js';
import { verifyThroughLoader } from './verify-loaded.js';

const TYPES = [...PROGRAM_TYPES.keys()];

/** A program to verify: its bytes (little-endian), the section it came from and whether its license is GPL-compatible. */
interface Loaded {
  readonly bytes: Uint8Array;
  readonly section: string | null;
  readonly gpl: boolean;
  /** A program with maps or global data: verified by loading its object (the loader's way) under this name. */
  readonly throughLoader?: { readonly name: string; readonly bytes: Uint8Array };
}

function loadHex(path: string): Loaded {
  const text = readHexText(path);
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text.replace(/#.*$/gm, ''));
  } catch (error) {
    throw new CliError(`${path}: ${(error as Error).message}`);
  }
  if (bytes.length === 0 || bytes.length % 8 !== 0) throw new CliError(`${path}: ${bytes.length} bytes is not a whole number of 8-byte instructions`);
  return { bytes, section: null, gpl: true };
}

/**
 * The program of section `sectionName` (default: the first program), linked by the loader with the `.text`
 * sub-programs it calls. A program with maps, global data or kfuncs goes through the loader's load step.
 */
function loadObject(path: string, sectionName: string | undefined): Loaded {
  const bytes = readInputFile(path);
  const obj = readBpfObject(path, bytes);
  let programs;
  try {
    programs = readPrograms(obj);
  } catch (error) {
    if (error instanceof LoaderError) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
  const sections = [...new Set(programs.map((p) => p.sectionName))];
  const chosen = sectionName === undefined ? programs[0] : programs.find((p) => p.sectionName === sectionName);
  if (chosen === undefined) {
    const have = `program sections: ${sections.join(', ') || 'none'}`;
    if (sectionName === TEXT_SECTION || (sectionName === undefined && obj.section(TEXT_SECTION)?.size)) {
      throw new CliError(`${path}: .text holds sub-programs, which are verified as part of the programs that call them (${have})`);
    }
    throw new CliError(sectionName === undefined ? `${path}: no program` : `${path}: no program in section '${sectionName}' (${have})`);
  }
  if (obj.endian !== 'little') throw new CliError(`${path}: big-endian (bpfeb) objects cannot be loaded on this little-endian kernel`);
  const gpl = licenseIsGplCompatible(chosen.license);
  if (chosen.references.length > 0) return { bytes: chosen.insns, section: chosen.sectionName, gpl, throughLoader: { name: chosen.name, bytes } };
  return { bytes: chosen.insns, section: chosen.sectionName, gpl };
}

function pickType(desc: ProgramTypeDesc | undefined, section: string | null): ProgramTypeDesc {
  if (desc !== undefined) return desc;
  if (section === null) throw new UsageError('--type is required with --prog-hex');
  const t = progTypeForSection(section);
  if (!t) throw new UsageError(`cannot tell the program type from section '${section}'; pass --type (${TYPES.join('|')})`);
  return t;
}

/** The kernel's BPF_LOG_STATS lines, placed before the final `processed` line as Linux prints them. */
function withStats(result: VerifyResult): string {
  const lines = result.log.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  lines.push(`verification time ${result.stats.timeUs} usec`, `stack depth ${result.stackDepth.join('+') || '0'}`, last);
  return `${lines.join('\n')}\n`;
}

export const verifyCommand = defineCommand(
  {
    name: 'verify',
    summary: 'verify a BPF program like Linux and print the verifier log',
    synopsis: [
      'verify FILE.o [--section NAME] [--type TYPE] [--log-level 1|2] [--unprivileged] [--stats]',
      'verify --prog-hex FILE --type TYPE [--log-level 1|2] [--unprivileged] [--stats]',
    ],
    description: `Verify a BPF program as Linux's verifier does and print its log (the path to an error at level 1, every
instruction with the register state at level 2), followed by a plain-words hint when it is rejected.
An object's program is linked with the .text functions it calls, as libbpf links it; programs that use
maps, global data or kfuncs need the loader's load step, which is not available yet.`,
    positionals: { name: 'FILE.o', min: 0, max: 1, path: 'file' },
    options: {
      section: opt.text({ value: 'NAME', help: 'the program section to verify (default: the first one)' }),
      type: opt.choice(TYPES, {
        value: 'TYPE',
        help: 'the program type; default: from the section name as libbpf does\n(xdp, socket, kprobe/, tracepoint/, tp/, raw_tp/, perf_event, lsm/, tc, classifier)',
      }),
      'log-level': opt.choice(['1', '2'], { value: 'N', default: '1', help: 'the log: 1 the path to an error, 2 every instruction' }),
      'prog-hex': opt.path({ value: 'FILE', must: 'file', help: 'raw bytecode instead of an ELF object (hex digits, whitespace ignored); GPL assumed' }),
      unprivileged: opt.flag('apply the rules for users without CAP_BPF'),
      stats: opt.flag("add the verification time and stack depth, as the kernel's BPF_LOG_STATS does"),
    },
    conflicts: [['prog-hex', 'section']],
    epilog: 'Exit status: 0 accepted, 1 rejected (the log on stdout), 2 bad input or a wrong command line.',
    // 1 is the verdict "rejected", so every other failure is 2, as grep does.
    failureExitCode: 2,
  },
  ({ options: values, positionals }, io) => {
    const hex = values['prog-hex'];
    if (hex === undefined && positionals.length !== 1) throw new UsageError("expected one object file or --prog-hex FILE (see 'ebpf-sim verify --help')");
    if (hex !== undefined && positionals.length !== 0) throw new UsageError('give either FILE.o or --prog-hex FILE, not both');
    const loaded = hex !== undefined ? loadHex(hex) : loadObject(positionals[0] ?? '', values.section);
    if (loaded.throughLoader !== undefined) {
      // The kernel decides the type from the section and runs as root, as libbpf's loader would have it.
      if (values.type !== undefined) throw new UsageError('--type cannot change the type of a program with maps or global data (its section decides)');
      if (values.unprivileged) throw new UsageError('--unprivileged applies to programs without maps or global data');
      const verdict = verifyThroughLoader(
        { path: positionals[0] ?? '', bytes: loaded.throughLoader.bytes },
        loaded.throughLoader.name,
        values['log-level'] === '2' ? 2 : 1,
        values.stats,
        io,
      );
      io.out(verdict.log);
      return verdict.accepted ? 0 : 1;
    }
    const progType = pickType(values.type === undefined ? undefined : PROGRAM_TYPES.get(values.type), loaded.section);
    const result = verify(loaded.bytes, {
      progType,
      registry: createRegistry(),
      logLevel: values['log-level'] === '2' ? 2 : 1,
      privileged: !values.unprivileged,
      gpl: loaded.gpl,
    });
    io.out(values.stats ? withStats(result) : result.log);
    return result.accepted ? 0 : 1;
  },
);
