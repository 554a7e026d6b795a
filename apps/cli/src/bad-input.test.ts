/**
 * Bad input, tried as a new user would, for every command: each invocation gives exactly one line on stderr,
 * no stack trace, nothing on stdout, and the convention's exit code (2 for a wrong command line, the command's
 * failure code otherwise: 1, or 2 for verify, whose 1 means "rejected"). Never 70, which is for bugs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ISA_FIXTURES, REPO_ROOT, SHARED, run, type RunResult } from './commands/isa/test-helpers.js';
import { COMMANDS } from './commands/index.js';
import { cliVersion } from './main.js';

const TMP = mkdtempSync(join(tmpdir(), 'ebpf-sim-bad-'));
const file = (name: string, content: string | Uint8Array): string => {
  const path = join(TMP, name);
  writeFileSync(path, content);
  return path;
};
const DIR = join(TMP, 'a-directory');
mkdirSync(DIR);
const HEX_DIR = join(TMP, 'hex');
mkdirSync(HEX_DIR);
writeFileSync(join(HEX_DIR, 'a.xdp.hex'), 'b700000000000000\n9500000000000000\n');
const MISSING = join(TMP, 'missing.o');
const XDP_COUNTER = join(ISA_FIXTURES, 'xdp_counter.bpfel.o');
const XLATED = join(ISA_FIXTURES, 'xlated_check.o');
const CLI_O = join(REPO_ROOT, 'apps', 'cli', 'fixtures', 'bpftool', 'obj', 'cli.o');
const TRUNCATED = file('cut.o', readFileSync(XDP_COUNTER).subarray(0, 200));
const TEXT = file('text.o', 'hello, not an ELF file');
const EMPTY = file('empty.s', '');
const OK_HEX = file('ok.hex', 'b700000001000000\n9500000000000000\n');
const BAD_HEX = file('bad.hex', 'b7000000zz000000\n');
const PROG_S = file('prog.s', 'r0 = 1\nexit\n');
const TESTS_OBJECT = file('object.json', '{}');
const TESTS_NULL = file('null.json', '[null]');
const TESTS_BAD_NAME = file('name.json', '[{"name":1}]');
const TESTS_NOT_JSON = file('broken.json', '[{"name"');
const BENCH = join(SHARED, 'bench');
const BATCH_BAD = file('bad.batch', 'prog show\nprog fly\n');
const BATCH_QUOTE = file('quote.batch', "prog show 'id\n");
const BATCH_FAILS = file('fails.batch', 'prog show\nprog show id 42\n');

type Case = readonly [argv: readonly string[], code: 1 | 2, message: RegExp];

/** The table, by command. Every command in COMMANDS has a row (checked below). */
const CASES: Readonly<Record<string, readonly Case[]>> = {
  '(top level)': [
    [['nope'], 2, /^ebpf-sim: unknown command 'nope'/],
    [['--nope'], 2, /^ebpf-sim: unknown option '--nope'/],
    [['help', 'nope'], 2, /unknown command 'nope'/],
    [['help', 'run', 'verify'], 2, /help takes one command name/],
    [['version', 'x'], 2, /unexpected argument 'x'/],
  ],
  demo: [
    [['demo', 'extra'], 2, /^ebpf-sim demo: unexpected argument 'extra'/],
    [['demo', '--verbose'], 2, /unknown option '--verbose'/],
  ],
  disasm: [
    [['disasm'], 2, /missing FILE\.o/],
    [['disasm', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['disasm', DIR], 1, /a-directory: cannot read file \(EISDIR\)/],
    [['disasm', TEXT], 1, /text\.o: bad ELF file at byte offset 0 \(0x0\): expected the ELF magic/],
    [['disasm', TRUNCATED], 1, /cut\.o: bad ELF file at byte offset \d+ .*section header table/],
    [['disasm', XDP_COUNTER, '--mcpu', 'v9'], 2, /--mcpu must be one of generic, v1, v2, v3, v4, not 'v9'/],
    [['disasm', XDP_COUNTER, '--section'], 2, /option '--section' needs a value/],
    [['disasm', XDP_COUNTER, '--section', ''], 2, /--section needs a non-empty NAME/],
    [['disasm', XDP_COUNTER, '--endian', 'big'], 2, /--endian applies to --hex programs/],
    [['disasm', '--hex', OK_HEX, '--section', 'xdp'], 2, /--hex and --section cannot be used together/],
    [['disasm', '--hex', BAD_HEX], 1, /bad\.hex:1:9: invalid hex digit 'z'/],
    [['disasm', '--hex', XDP_COUNTER], 1, /an ELF object, not hex text/],
  ],
  asm: [
    [['asm'], 2, /missing FILE/],
    [['asm', PROG_S, PROG_S], 2, /unexpected argument/],
    [['asm', MISSING], 1, /cannot read file \(ENOENT\)/],
    [['asm', EMPTY], 1, /empty\.s: no instructions to assemble/],
    [['asm', PROG_S, '--syntax', 'gnu'], 2, /--syntax must be one of llvm, conformance, not 'gnu'/],
    [['asm', PROG_S, '--out', DIR], 1, /a-directory: cannot write file \(EISDIR\)/],
    [['asm', PROG_S, '--out', join(TMP, 'no', 'such', 'dir', 'o.hex')], 1, /o\.hex: cannot write file \(ENOENT\)/],
  ],
  'isa-bench': [
    [['isa-bench', '--insns', '1e12'], 2, /--insns must be an integer from 1 to 1000000, not '1e12'/],
    [['isa-bench', '--rounds', '-1'], 2, /--rounds must be an integer from 1 to 1000, not '-1'/],
    [['isa-bench', '--insns'], 2, /option '--insns' needs a value/],
  ],
  run: [
    [['run'], 2, /--prog-hex FILE is required/],
    [['run', '--repeat', '2147483648'], 2, /--prog-hex FILE is required/],
    [['run', '--prog-hex', OK_HEX, '--repeat', '4294967296'], 2, /--repeat must be an integer from 1 to 4294967295, not '4294967296'/],
    [['run', '--prog-hex', OK_HEX, '--repeat', '99999999999999999999'], 2, /--repeat must be an integer from 1 to 4294967295/],
    [['run', '--prog-hex', OK_HEX, '--repeat', '0'], 2, /--repeat must be an integer/],
    [['run', '--prog-hex', OK_HEX, '--repeat', '1.5'], 2, /--repeat must be an integer/],
    [['run', '--prog-hex', OK_HEX, '--budget', '0'], 2, /--budget must be an integer from 1 to 2147483647/],
    [['run', '--prog-hex', OK_HEX, '--budget', '1'], 1, /execution budget exhausted \(insn 1, after 1 instructions\); hint: .*budget/],
    [['run', '--prog-hex', OK_HEX, '--mem-hex', '00', '--data-in', OK_HEX], 2, /--mem-hex and --data-in cannot be used together/],
    [['run', '--prog-hex', OK_HEX, '--mem-hex', 'zz'], 1, /--mem-hex:1:1: invalid hex digit/],
    [['run', '--prog-hex', OK_HEX, '--data-in', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['run', '--prog-hex', DIR], 1, /cannot read file \(EISDIR\)/],
    [['run', '--prog-hex', BAD_HEX], 1, /bad\.hex:1:9: invalid hex digit/],
    [['run', '--prog-hex', XDP_COUNTER], 1, /xdp_counter\.bpfel\.o: an ELF object, not hex text \(disasm FILE\.o and verify FILE\.o read objects\)/],
    [['run', '--prog-hex', OK_HEX, '--engine'], 2, /option '--engine' needs a value \(--engine interp\|jit\|auto\)/],
    [['run', '--prog-hex', OK_HEX, '--engine', '--repeat', '3'], 2, /option '--engine' needs a value/],
    [['run', '--prog-hex', OK_HEX, '--engine', 'warp'], 2, /--engine must be one of interp, jit, auto, not 'warp'/],
    [['run', '--prog-hex', OK_HEX, 'extra'], 2, /unexpected argument 'extra'/],
  ],
  'conformance-plugin': [
    [['conformance-plugin', '00', '--engine'], 2, /option '--engine' needs a value/],
    [['conformance-plugin', '00', '--engine', 'warp'], 2, /--engine must be one of/],
    [['conformance-plugin', '00', '11'], 2, /unexpected argument '11'/],
    [['conformance-plugin', '--bogus'], 2, /unknown option '--bogus'/],
    [['conformance-plugin', 'zz'], 1, /memory argument:1:1: invalid hex digit/],
    [['conformance-plugin', '--elf'], 1, /ELF input \(--elf\) is not supported/],
    [['conformance-plugin'], 1, /stdin:1:1: empty program/],
  ],
  conformance: [
    [['conformance', '--tests', TESTS_OBJECT], 1, /object\.json: not a list of tests \(expected a JSON array\)/],
    [['conformance', '--tests', TESTS_NULL], 1, /null\.json: test 0 is not an object/],
    [['conformance', '--tests', TESTS_BAD_NAME], 1, /name\.json: test 0: 'name' must be a string/],
    [['conformance', '--tests', TESTS_NOT_JSON], 1, /broken\.json: not JSON: /],
    [['conformance', '--tests', MISSING], 1, /cannot read file \(ENOENT\)/],
    [['conformance', '--plugin', ''], 2, /--plugin needs a non-empty/],
    [['conformance', '--plugin', '   '], 2, /--plugin needs a command/],
    [['conformance', '--plugin', 'ebpf-sim-no-such-plugin'], 1, /cannot run 'ebpf-sim-no-such-plugin': command not found on PATH/],
    [['conformance', '--plugin', 'node', '--engine', 'jit'], 2, /--engine and --plugin cannot be used together/],
  ],
  bench: [
    [['bench', '--rounds', '0'], 2, /--rounds must be an integer from 1 to 10000, not '0'/],
    [['bench', '--method', 'loop'], 2, /--method must be one of repeat, call, not 'loop'/],
    [['bench', '--json=yes'], 2, /option '--json' takes no value/],
    [['bench', '--dir', OK_HEX], 1, /ok\.hex: not a directory \(ENOTDIR\)/],
    [['bench', '--dir', DIR], 1, /cannot load the bench from .*manifest\.json \(ENOENT\)/],
    ...(existsSync(BENCH) ? [[['bench', '--program', 'nope'], 2, /no bench program 'nope' \(have: .*parse_tcp/] as const] : []),
  ],
  verify: [
    [['verify'], 2, /expected one object file or --prog-hex FILE/],
    [['verify', MISSING], 2, /cannot read file \(ENOENT\)/],
    [['verify', TEXT], 2, /bad ELF file/],
    [['verify', TRUNCATED], 2, /bad ELF file/],
    [['verify', XDP_COUNTER], 2, /xdp_counter\.bpfel\.o: elf: SEC\("\.maps"\) needs BTF \(compile with -g\)/],
    [['verify', CLI_O, '--type', 'socket_filter'], 2, /--type cannot change the type of a program with maps or global data/],
    [['verify', CLI_O, '--unprivileged'], 2, /--unprivileged applies to programs without maps or global data/],
    [['verify', XDP_COUNTER, '--section', 'nope'], 2, /no program in section 'nope' \(program sections: xdp\)/],
    [['verify', XDP_COUNTER, '--section', '.text'], 2, /\.text holds sub-programs/],
    [['verify', XLATED, '--log-level', '3'], 2, /--log-level must be one of 1, 2, not '3'/],
    [['verify', XLATED, '--type', 'nope'], 2, /--type must be one of xdp, /],
    [['verify', '--prog-hex', OK_HEX], 2, /--type is required with --prog-hex/],
    [['verify', '--prog-hex', XLATED, '--type', 'xdp'], 2, /xlated_check\.o: an ELF object, not hex text/],
    [['verify', '--prog-hex', OK_HEX, '--type', 'xdp', '--section', 'xdp'], 2, /--prog-hex and --section cannot be used together/],
    [['verify', XLATED, '--prog-hex', OK_HEX], 2, /give either FILE\.o or --prog-hex FILE/],
  ],
  'verify-bench': [
    [['verify-bench', '--nope'], 2, /unknown option '--nope'/],
    [['verify-bench', '--rounds', '-1'], 2, /--rounds must be an integer from 1 to 10000, not '-1'/],
    [['verify-bench', '--dir', OK_HEX], 1, /ok\.hex: not a directory \(ENOTDIR\)/],
    [['verify-bench', '--dir', HEX_DIR, '--program', 'nope'], 2, /no program 'nope' \(have: a, generated-10000\)/],
  ],
  'verify-corpus': [
    [['verify-corpus', '--nope'], 2, /unknown option '--nope'/],
    [['verify-corpus', '--dir', HEX_DIR], 1, /no programs\.json and recording\.json \(not a verifier corpus\)/],
    [['verify-corpus', '--group', 'nope'], 2, /no group 'nope' \(have: pkt, /],
    [['verify-corpus', '--program', 'nope'], 2, /no program 'nope'/],
  ],
  sim: [
    [['sim'], 2, /missing sub-command: workload or hooks/],
    [['sim', 'nope'], 2, /unknown sub-command 'nope'/],
    [['sim', 'hooks', '--cpus', '3'], 2, /^ebpf-sim sim hooks: unknown option '--cpus'/],
    [['sim', 'workload', '--cpus', '0'], 2, /--cpus must be an integer from 1 to 64, not '0'/],
    [['sim', 'workload', '--sched', 'lottery'], 2, /--sched must be one of fifo, rr, cfs, all, not 'lottery'/],
    [['sim', 'workload', '--trace-out', DIR], 1, /a-directory: cannot write file \(EISDIR\)/],
  ],
  'kernel-bench': [
    [['kernel-bench', '--scale', '0'], 2, /--scale must be a number above 0 and at most 100, not '0'/],
    [['kernel-bench', '--scale', 'x'], 2, /--scale must be a number/],
    [['kernel-bench', '--sched', 'lottery'], 2, /--sched must be one of/],
    [['kernel-bench', 'extra'], 2, /unexpected argument 'extra'/],
  ],
  prog: [
    [['prog'], 2, /missing sub-command: show, run, dump, load or loadall/],
    [['prog', 'walk'], 2, /unknown sub-command 'walk'/],
    [['prog', 'run'], 2, /^ebpf-sim prog run: expected PROG \(id \| pinned \| name \| tag \| OBJ\[:NAME\]\)/],
    [['prog', 'run', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['prog', 'run', DIR], 1, /a-directory: cannot read file \(EISDIR\)/],
    [['prog', 'run', TEXT], 1, /text\.o: bad ELF file at byte offset 0/],
    [['prog', 'run', TRUNCATED], 1, /cut\.o: bad ELF file at byte offset \d+/],
    [['prog', 'run', XDP_COUNTER, 'data_in'], 2, /expected a file after data_in/],
    [['prog', 'run', XDP_COUNTER, 'data_in', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['prog', 'run', XDP_COUNTER, 'repeat', 'x'], 2, /can't parse repeat 'x'/],
    [['prog', 'run', XDP_COUNTER, 'repeat', '4294967296'], 2, /can't parse repeat '4294967296' \(a number from 0 to 4294967295\)/],
    [['prog', 'run', XDP_COUNTER, 'data_size_out', '8'], 2, /data_size_out given without data_out/],
    [['prog', 'run', XDP_COUNTER, 'repeat', '1', 'repeat', '2'], 2, /duplicate keyword 'repeat'/],
    [['prog', 'run', XDP_COUNTER, 'bogus'], 2, /unknown keyword 'bogus': expected data_in, /],
    [['prog', 'run', XDP_COUNTER, '--json', '--pretty'], 2, /--json and --pretty cannot be used together/],
    [['prog', 'run', `${CLI_O}:nope`], 1, /cli\.o: no program named 'nope' \(programs: fill, args\)/],
    [['prog', 'run', XDP_COUNTER], 1, /xdp_counter\.bpfel\.o: elf: SEC\("\.maps"\) needs BTF \(compile with -g\)/],
    [['prog', 'run', 'id', '99'], 1, /get by id \(99\): No such file or directory/],
    [['prog', 'run', 'pinned', '/sys/fs/bpf/nope'], 1, /bpf obj get \(\/sys\/fs\/bpf\/nope\): No such file or directory/],
    [['prog', 'run', 'tag', 'xyz'], 2, /can't parse tag 'xyz' \(16 hex digits\)/],
    [['prog', 'show', 'name', 'nope'], 1, /no programs with name nope found/],
    [['prog', 'show', 'id'], 2, /expected a number after 'id'/],
    [['prog', 'dump', 'raw', XDP_COUNTER], 2, /expected xlated or jited, not 'raw'/],
    [['prog', 'dump', 'xlated', XDP_COUNTER, 'sideways'], 2, /unknown keyword 'sideways'/],
    [['prog', 'dump', 'xlated', XDP_COUNTER, 'visual', 'opcodes'], 2, /visual cannot be combined with opcodes or file/],
    [['prog', 'load', XDP_COUNTER], 2, /expected PATH/],
    [['prog', 'loadall', XDP_COUNTER, '/sys/fs/bpf/x', 'pinmaps'], 2, /expected a directory after pinmaps/],
  ],
  map: [
    [['map'], 2, /missing sub-command: show, dump, lookup or update/],
    [['map', 'dump'], 2, /^ebpf-sim map dump: expected MAP \(id \| pinned \| name \| OBJ\[:NAME\]\)/],
    [['map', 'dump', 'tag', '0011223344556677'], 1, /tag: cannot read file \(ENOENT\)/],
    [['map', 'dump', `${CLI_O}:nope`], 1, /cli\.o: no map named 'nope' \(maps: stats, raw\)/],
    [['map', 'dump', 'id', '7'], 1, /get by id \(7\): No such file or directory/],
    [['map', 'dump', 'id', '7', 'extra'], 2, /unexpected argument 'extra'/],
    [['map', 'lookup', `${CLI_O}:raw`], 2, /expected 'key'/],
    [['map', 'lookup', `${CLI_O}:raw`, 'key'], 2, /expected bytes after 'key'/],
    [['map', 'lookup', `${CLI_O}:raw`, 'key', '256', '0', '0', '0'], 2, /error parsing byte: 256/],
    [['map', 'lookup', `${CLI_O}:raw`, 'key', '1', '0'], 2, /key expected 4 bytes got 2/],
    [['map', 'update', `${CLI_O}:raw`, 'key', '1', '0', '0', '0'], 2, /expected 'value'/],
    [['map', 'update', `${CLI_O}:raw`, 'key', '1', '0', '0', '0', 'value', '1'], 2, /value expected 8 bytes got 1/],
    [
      ['map', 'update', `${CLI_O}:raw`, 'key', '1', '0', '0', '0', 'value', '1', '2', '3', '4', '5', '6', '7', '8', 'sometimes'],
      2,
      /unknown update flag 'sometimes'/,
    ],
    [['map', 'update', `${CLI_O}:raw`, 'key', '9', '0', '0', '0', 'value', '1', '2', '3', '4', '5', '6', '7', '8'], 1, /update failed: Argument list too long/],
  ],
  btf: [
    [['btf'], 2, /missing sub-command: dump/],
    [['btf', 'dump'], 2, /expected file FILE or id BTF_ID/],
    [['btf', 'dump', 'map', 'id', '1'], 2, /expected file FILE or id BTF_ID, not 'map'/],
    [['btf', 'dump', 'file', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['btf', 'dump', 'file', TRUNCATED], 1, /cut\.o: bad ELF file/],
    [['btf', 'dump', 'file', XDP_COUNTER], 1, /xdp_counter\.bpfel\.o: no \.BTF section \(compile with -g\)/],
    [['btf', 'dump', 'file', TEXT], 1, /text\.o: .*BTF/],
    [['btf', 'dump', 'file', CLI_O, 'format', 'go'], 2, /unknown format 'go': expected raw or c/],
    [['btf', 'dump', 'file', CLI_O, 'format', 'c', '--json'], 2, /format c does not print JSON/],
    [['btf', 'dump', 'file', '/sys/kernel/btf/nope'], 1, /\/sys\/kernel\/btf\/nope: cannot read file in the simulated kernel \(No such file or directory\)/],
    [['btf', 'dump', 'id', '3'], 1, /get btf by id \(3\): No such file or directory/],
  ],
  struct_ops: [
    [['struct_ops'], 2, /missing sub-command: show, list, register or unregister/],
    [['struct_ops', 'frob'], 2, /unknown sub-command 'frob': expected show, list, register or unregister/],
    [['struct_ops', 'register'], 2, /expected OBJ/],
    [['struct_ops', 'register', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['struct_ops', 'register', CLI_O], 1, /no struct_ops found in .*cli\.o$/m],
    [['struct_ops', 'unregister'], 2, /expected MAP \(id \| pinned \| name \| OBJ\[:NAME\]\)/],
    [['struct_ops', 'unregister', 'name', 'nope'], 1, /no maps with name nope found/],
    [['struct_ops', 'show', 'id', 'x'], 2, /can't parse id 'x'/],
    [['struct_ops', 'show', 'id', '7'], 1, /get by id \(7\): No such file or directory/],
  ],
  link: [
    [['link'], 2, /missing sub-command/],
    [['link', 'detach'], 2, /expected a link \(id ID \| pinned PATH\)/],
    [['link', 'show', 'name', 'x'], 2, /expected 'id' or 'pinned', got: 'name'/],
    [['link', 'detach', 'id', '3'], 1, /failed to get link with ID 3: No such file or directory/],
  ],
  net: [
    [['net'], 2, /missing sub-command/],
    [['net', 'attach', 'xdpx'], 2, /invalid net attach\/detach type: xdpx/],
    [['net', 'detach', 'xdp', 'dev', 'nosuch0'], 1, /invalid devname nosuch0/],
  ],
  perf: [
    [['perf'], 2, /missing sub-command/],
    [['perf', 'show', 'extra'], 2, /unexpected argument 'extra'/],
  ],
  workload: [
    [['workload'], 2, /missing sub-command/],
    [['workload', 'run'], 2, /expected a workload \(shell, packets, clientserver\)/],
    [['workload', 'run', 'shell', 'jobs', 'x'], 2, /can't parse jobs 'x'/],
    [['workload', 'run', 'shell', 'cpus', '0'], 2, /can't parse cpus '0'/],
  ],
  'attach-demo': [[['attach-demo', 'extra'], 2, /^ebpf-sim attach-demo: unexpected argument 'extra'/]],
  batch: [
    [['batch'], 2, /missing file FILE/],
    [['batch', 'file'], 2, /missing file FILE/],
    [['batch', 'lines', OK_HEX], 2, /expected 'file FILE', not 'lines'/],
    [['batch', 'file', MISSING], 1, /missing\.o: cannot read file \(ENOENT\)/],
    [['batch', 'file', BATCH_BAD], 2, /bad\.batch:2: unknown command 'prog fly'/],
    [['batch', 'file', BATCH_QUOTE], 2, /quote\.batch:1: unterminated quoted string/],
    [['batch', 'file', BATCH_FAILS], 1, /fails\.batch:2: get by id \(42\): No such file or directory/],
  ],
  'bpf-bench': [
    [['bpf-bench', '--engine', 'wasm'], 2, /--engine must be one of jit, interp, not 'wasm'/],
    [['bpf-bench', '--program', 'nope', '--linux', 'no'], 2, /no bench program 'nope' \(have: /],
    [['bpf-bench', '--linux', 'maybe'], 2, /--linux must be one of auto, no/],
    [['bpf-bench', '--linux-rounds', '0'], 2, /--linux-rounds must be an integer from 1 to 100, not '0'/],
    [['bpf-bench', '--dir', OK_HEX], 1, /ok\.hex: not a directory \(ENOTDIR\)/],
    [['bpf-bench', '--dir', DIR], 1, /cannot load the bench from .*manifest\.json \(ENOENT\)/],
  ],
  'hook-bench': [
    [['hook-bench', '--rounds', '0'], 2, /--rounds must be an integer from 1 to 100, not '0'/],
    [['hook-bench', '--syscalls', 'many'], 2, /--syscalls must be an integer from 1 to 100000000, not 'many'/],
    [['hook-bench', 'extra'], 2, /unexpected argument 'extra'/],
  ],
  'loader-bench': [
    [['loader-bench', '--rounds', '0'], 2, /--rounds must be an integer from 1 to 1000, not '0'/],
    [['loader-bench', 'extra'], 2, /unexpected argument 'extra'/],
  ],
};

function expectOneLine(result: RunResult, code: number, message: RegExp): void {
  expect(result.out, 'nothing on stdout').toBe('');
  expect(result.err.endsWith('\n'), 'the line ends with a newline').toBe(true);
  expect(result.err.trimEnd().split('\n'), 'exactly one line on stderr').toHaveLength(1);
  expect(result.err).not.toMatch(/^\s+at /m);
  expect(result.err).not.toContain('internal error');
  expect(result.err).toMatch(message);
  expect(result.code).toBe(code);
}

describe('bad input gives one line on stderr and the right exit code', () => {
  it('the table has rows for every command', () => {
    expect(COMMANDS.map((c) => c.name).filter((name) => (CASES[name]?.length ?? 0) === 0)).toEqual([]);
  });

  describe.each(Object.entries(CASES))('%s', (_command, cases) => {
    it.each(cases.map((c) => [c[0].join(' ').replaceAll(TMP, '$TMP'), ...c] as const))('%s', async (_label, argv, code, message) => {
      expectOneLine(await run(...argv), code, message);
    });
  });

  it('no arguments at all: the usage on stderr, exit 2', async () => {
    const result = await run();
    expect(result).toMatchObject({ code: 2, out: '' });
    expect(result.err).toMatch(/^usage: ebpf-sim <command> \[options\]\n/);
  });
});

describe('--help for every command', () => {
  it.each(COMMANDS.map((c) => c.name))('%s --help, -h and help %s print its usage on stdout, exit 0', async (name) => {
    const long = await run(name, '--help');
    expect(long.code).toBe(0);
    expect(long.err).toBe('');
    expect(long.out).toMatch(new RegExp(`^usage: ebpf-sim ${name}\\b`));
    expect(long.out).toMatch(/-h, --help|--help/);
    expect(await run(name, '-h')).toEqual(long);
    expect(await run('help', name)).toEqual(long);
  });

  it('a sub-command has its own help', async () => {
    const hooks = await run('sim', 'hooks', '--help');
    expect(hooks.code).toBe(0);
    expect(hooks.out).toMatch(/^usage: ebpf-sim sim hooks \[--seed N\] \[--jobs N\]\n/);
    expect(hooks.out).not.toContain('--cpus');
  });

  it('--help wins over other options; after -- it is an argument', async () => {
    expect((await run('run', '--repeat', 'x', '--help')).code).toBe(0);
    expect((await run('disasm', '--', '--help')).err).toMatch(/--help: cannot read file \(ENOENT\)/);
  });

  it('help and --version exit 0', async () => {
    expect(await run('help')).toMatchObject({ code: 0, err: '' });
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', 'cli', 'package.json'), 'utf8')) as { version: string };
    expect(cliVersion()).toBe(version.version);
    expect(await run('--version')).toEqual({ code: 0, out: `ebpf-sim ${version.version}\n`, err: '' });
    expect(await run('version')).toEqual({ code: 0, out: `ebpf-sim ${version.version}\n`, err: '' });
  });
});

const BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'ebpf-sim.js');
const BUILT = existsSync(join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js'));
if (!BUILT) console.warn('bad-input tests through the real bin skipped: the CLI is not built (pnpm turbo run build --filter=@ebpf-sim/cli...)');

describe.skipIf(!BUILT)('through the real bin', () => {
  const spawned: readonly Case[] = [
    [['run', '--prog-hex', OK_HEX, '--repeat', '99999999999999999999'], 2, /--repeat must be an integer from 1 to 4294967295/],
    [['verify-bench', '--nope'], 2, /unknown option '--nope'/],
    [['conformance-plugin', '00', '--engine'], 2, /option '--engine' needs a value/],
    [['disasm', TRUNCATED], 1, /bad ELF file/],
    [['verify', XDP_COUNTER], 2, /needs BTF/],
    [['nope'], 2, /unknown command 'nope'/],
  ];
  it.each(spawned.map((c) => [c[0][0] ?? '', ...c] as const))('%s', (_label, argv, code, message) => {
    const child = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', input: '' });
    expectOneLine({ code: child.status ?? -1, out: child.stdout, err: child.stderr }, code, message);
  });
});
