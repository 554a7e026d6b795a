import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineCommand, formatHelp, opt, parseCommandLine, type CommandSpec, type OptionSpecs } from './args.js';
import { CliError, UsageError, type CliIo } from './command.js';

const TMP = mkdtempSync(join(tmpdir(), 'ebpf-sim-args-'));
const FILE = join(TMP, 'input.bin');
writeFileSync(FILE, 'x');

const SPEC = {
  name: 'try',
  summary: 'a command for the tests',
  description: 'Try the parser.',
  positionals: { name: 'FILE', min: 0, max: 2 },
  options: {
    count: opt.int({ value: 'N', min: 1, max: 10, default: 3, help: 'how many' }),
    mode: opt.choice(['fast', 'slow'], { value: 'M', default: 'fast', help: 'how' }),
    level: opt.choice(['one', 'two', 'three', 'four', 'five', 'six'], { value: 'L', help: 'which level' }),
    scale: opt.number({ value: 'X', above: 0, max: 2, help: 'a factor' }),
    name: opt.text({ value: 'NAME', required: true, help: 'a name' }),
    input: opt.path({ value: 'FILE', must: 'file', help: 'an input' }),
    a: opt.flag('the a flag'),
    b: opt.text({ value: 'B', help: 'not with --a' }),
  },
  conflicts: [['a', 'b']],
} as const satisfies CommandSpec<OptionSpecs>;

const parse = (...args: string[]) => parseCommandLine(SPEC, args);
const usageError = (args: string[]): string => {
  try {
    parse(...args);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('no usage error');
};

describe('parseCommandLine', () => {
  it('gives typed values with defaults, in either spelling', () => {
    const { options, positionals } = parse('--name', 'x', 'f1', '--count=7', '--scale', '1.5', '--a', 'f2');
    expect(options).toEqual({ count: 7, mode: 'fast', level: undefined, scale: 1.5, name: 'x', input: undefined, a: true, b: undefined });
    expect(positionals).toEqual(['f1', 'f2']);
    // The types follow the description: count is always a number, level may be absent.
    const count: number = options.count;
    const level: 'one' | 'two' | 'three' | 'four' | 'five' | 'six' | undefined = options.level;
    expect([count, level]).toEqual([7, undefined]);
  });

  it('takes a value that starts with one dash, and everything after -- as arguments', () => {
    expect(usageError(['--name', 'x', '--count', '-1'])).toBe("--count must be an integer from 1 to 10, not '-1'");
    expect(parse('--name', 'x', '--', '--a', '-h').positionals).toEqual(['--a', '-h']);
  });

  it('reports each kind of mistake in one line', () => {
    expect(usageError([])).toBe("--name NAME is required (see 'ebpf-sim try --help')");
    expect(usageError(['--name'])).toBe("option '--name' needs a value (--name NAME)");
    expect(usageError(['--name', '--a'])).toBe("option '--name' needs a value (--name NAME)");
    expect(usageError(['--name', 'x', '--a=1'])).toBe("option '--a' takes no value");
    expect(usageError(['--name', 'x', '--nope'])).toBe("unknown option '--nope' (see 'ebpf-sim try --help')");
    expect(usageError(['--name', 'x', '-n'])).toBe("unknown option '-n' (see 'ebpf-sim try --help')");
    expect(usageError(['--name', 'x', '1', '2', '3'])).toBe("unexpected argument '3' (see 'ebpf-sim try --help')");
    expect(usageError(['--name', 'x', '--mode', 'warp'])).toBe("--mode must be one of fast, slow, not 'warp'");
    expect(usageError(['--name', 'x', '--count', '0x5'])).toBe("--count must be an integer from 1 to 10, not '0x5'");
    expect(usageError(['--name', 'x', '--scale', '0'])).toBe("--scale must be a number above 0 and at most 2, not '0'");
    expect(usageError(['--name', ''])).toBe('--name needs a non-empty NAME');
    expect(usageError(['--name', 'x', '--a', '--b', 'y'])).toBe('--a and --b cannot be used together');
  });

  it('checks paths as failures, not usage errors', () => {
    expect(parse('--name', 'x', '--input', FILE).options.input).toBe(FILE);
    for (const [path, message] of [
      [join(TMP, 'nope'), 'nope: cannot read file (ENOENT)'],
      [TMP, ': cannot read file (EISDIR)'],
    ] as const) {
      let caught: unknown;
      try {
        parse('--name', 'x', '--input', path);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CliError);
      expect(caught).not.toBeInstanceOf(UsageError);
      expect((caught as CliError).message).toContain(message);
    }
  });
});

describe('formatHelp', () => {
  it('builds the synopsis and the option table from the description', () => {
    const help = formatHelp(SPEC);
    expect(help.split('\n')[0]).toBe(
      'usage: ebpf-sim try --name NAME [FILE...] [--count N] [--mode fast|slow] [--level L] [--scale X] [--input FILE] [--a | --b B]',
    );
    expect(help).toContain('\nTry the parser.\n\noptions:\n');
    expect(help).toContain('  --count N         how many (1 to 10; default 3)\n');
    expect(help).toContain('  --mode fast|slow  how (default fast)\n');
    expect(help).toContain('  --level L         which level (one of one, two, three, four, five, six)\n');
    expect(help).toContain('  --name NAME       a name (required)\n');
    expect(help).toContain('  -h, --help        print this help and exit\n');
  });
});

describe('defineCommand', () => {
  const io = (): CliIo & { text: () => string } => {
    let out = '';
    return { out: (t) => void (out += t), err: () => undefined, readStdin: () => Promise.resolve(''), text: () => out };
  };

  it('prints the help for --help or -h anywhere before --, without running', async () => {
    let ran = false;
    const command = defineCommand(SPEC, () => {
      ran = true;
      return 0;
    });
    for (const args of [['--help'], ['--count', 'bad', '-h']]) {
      const capture = io();
      expect(await command.run(args, capture)).toBe(0);
      expect(capture.text()).toBe(command.usage);
    }
    expect(ran).toBe(false);
  });

  it("names the command in the errors it throws, for the message's prefix", async () => {
    const command = defineCommand({ ...SPEC, name: 'group sub' }, () => {
      throw new CliError('it failed');
    });
    await expect(command.run(['--name', 'x'], io())).rejects.toMatchObject({ message: 'it failed', command: 'group sub' });
  });
});
