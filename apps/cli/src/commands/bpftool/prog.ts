/**
 * bpftool's `prog` commands: run (BPF_PROG_TEST_RUN), dump xlated / jited, show, load and loadall. Formats follow
 * bpftool 7.1's prog.c (fixtures/bpftool/expected holds what it printed on this machine).
 */
import { CLOCK, errnoName, strerror, type BpfProgInfo, type Libc, type Sys } from '@ebpf-sim/uapi';
import { LoaderError, type Link, type LoadedProgram } from '@ebpf-sim/loader';
import { CliError, UsageError } from '../../command.js';
import { readInputFile, writeBinary } from '../../files.js';
import { formatJitedListing, writeJitedJson } from './jited.js';
import { formatSourceLine, XlatedAnnotations, type ProgSource } from './source-lines.js';
import { PROG_KIND, btfById, loadFile, objectFile, oneFd, parseProgHandle, type ObjectFile } from './handles.js';
import { fdinfoField, hexBytes, hexDump, jsonWriter, progTypeName, writeFields, type JsonField } from './print.js';
import type { StepContext } from './session.js';
import { showObjects, type Shown } from './show.js';
import type { Verb } from './verb.js';
import { formatXlatedGraph } from './visual.js';
import { xlatedLines } from './xlated-insns.js';
import type { Words } from './words.js';

/** bpftool's default room for data_out and ctx_out when no size is given (prog.c: default_size = SZ_32K). */
const DEFAULT_OUT_SIZE = 32 * 1024;
const U32_MAX = 0xffff_ffff;

interface RunOptions {
  dataIn?: Uint8Array;
  dataOut?: string;
  dataSizeOut?: number;
  ctxIn?: Uint8Array;
  ctxOut?: string;
  ctxSizeOut?: number;
  repeat?: number;
}

/** Each keyword of `prog run` and how its value is read (a file read now, an output path, a u32). */
const RUN_KEYWORDS: Readonly<Record<string, (words: Words, keyword: string) => Partial<RunOptions>>> = {
  data_in: (w) => ({ dataIn: readInputFile(w.next('a file after data_in')) }),
  data_out: (w) => ({ dataOut: w.next('a file after data_out') }),
  data_size_out: (w, k) => ({ dataSizeOut: w.uint(k, U32_MAX) }),
  ctx_in: (w) => ({ ctxIn: readInputFile(w.next('a file after ctx_in')) }),
  ctx_out: (w) => ({ ctxOut: w.next('a file after ctx_out') }),
  ctx_size_out: (w, k) => ({ ctxSizeOut: w.uint(k, U32_MAX) }),
  repeat: (w, k) => ({ repeat: w.uint(k, U32_MAX) }),
};

function parseRunOptions(words: Words): RunOptions {
  const o: RunOptions = {};
  const seen = new Set<string>();
  while (!words.done) {
    const keyword = words.next('a keyword');
    const read = Object.hasOwn(RUN_KEYWORDS, keyword) ? RUN_KEYWORDS[keyword] : undefined;
    if (read === undefined) throw new UsageError(`unknown keyword '${keyword}': expected ${Object.keys(RUN_KEYWORDS).join(', ')}`);
    if (seen.has(keyword)) throw new UsageError(`duplicate keyword '${keyword}'`);
    seen.add(keyword);
    Object.assign(o, read(words, keyword));
  }
  if (o.dataSizeOut !== undefined && o.dataOut === undefined) throw new UsageError('data_size_out given without data_out');
  if (o.ctxSizeOut !== undefined && o.ctxOut === undefined) throw new UsageError('ctx_size_out given without ctx_out');
  return o;
}

/** print_run_output: to a file, or to stdout as a hex dump (`-`; a JSON array of bytes with -j). */
function printRunOutput(ctx: StepContext, data: Uint8Array, file: string | undefined, key: string, fields: JsonField[]): void {
  if (file === undefined) return;
  if (file !== '-') {
    writeBinary(file, data);
    return;
  }
  if (ctx.mode === 'plain') ctx.io.out(hexDump(data));
  else fields.push([key, Array.from(data)]);
}

const runVerb: Verb = {
  name: 'prog run',
  summary: 'Load an object (or find a program) and run it once with BPF_PROG_TEST_RUN, as bpftool prog run',
  synopsis: 'PROG [data_in FILE [data_out FILE [data_size_out L]]] [ctx_in FILE [ctx_out FILE [ctx_size_out M]]] [repeat N]',
  description: `Run a program with BPF_PROG_TEST_RUN and print "Return value: X, duration: Y ns" as bpftool does
("duration (average)" when repeat is above 1). PROG is OBJ[:NAME] (an object file, opened and loaded by the
loader; NAME picks its program, default the first), or id ID, pinned PATH, name NAME or tag TAG.
data_in is the packet (XDP, tc, socket filters...); ctx_in the context (for raw_tp, the u64 arguments).
data_out and ctx_out write what the kernel gives back to a file, or as a hex dump on stdout for "-".
A program the verifier refuses prints the verifier's log on stderr and exits 1.`,
  parse(words) {
    const handle = parseProgHandle(words);
    const o = parseRunOptions(words);
    return function* (ctx) {
      const fd = yield* oneFd(ctx.libc, handle, PROG_KIND);
      const dataOutSize = o.dataOut === undefined ? 0 : (o.dataSizeOut ?? DEFAULT_OUT_SIZE);
      const ctxOutSize = o.ctxOut === undefined ? 0 : (o.ctxSizeOut ?? DEFAULT_OUT_SIZE);
      const run = yield* ctx.libc.bpfProgTestRun(fd, {
        ...(o.dataIn === undefined ? {} : { data: o.dataIn }),
        ...(o.ctxIn === undefined ? {} : { ctx: o.ctxIn }),
        ...(dataOutSize === 0 ? {} : { dataOutSize, dataSizeOutHint: dataOutSize }),
        ...(ctxOutSize === 0 ? {} : { ctxOutSize }),
        // Only when given: raw_tp and other context-only test runs refuse a non-zero repeat (Linux's
        // bpf_prog_test_run_raw_tp), which bpftool's default of 1 trips over; 0 is one run for the rest.
        repeat: o.repeat ?? 0,
      });
      if (run.ret < 0) throw new CliError(`failed to run program: ${strerror(-run.ret)}`);
      const fields: JsonField[] = [];
      if (run.dataSizeOut > 0) printRunOutput(ctx, run.dataOut, o.dataOut, 'data_out', fields);
      if (run.ctxSizeOut > 0) printRunOutput(ctx, run.ctxOut, o.ctxOut, 'context_out', fields);
      const retval = run.retval >>> 0;
      if (ctx.mode === 'plain') {
        ctx.io.out(`Return value: ${retval}, duration${(o.repeat ?? 1) > 1 ? ' (average)' : ''}: ${run.duration >>> 0}ns\n`);
        return;
      }
      const w = jsonWriter(ctx.mode);
      writeFields(w, [...fields, ['retval', retval], ['duration', run.duration >>> 0]]);
      ctx.io.out(w.finish());
    };
  },
};

/** The program's info with its xlated instructions. */
function* progInfo(libc: Libc, fd: number, insns = false): Sys<BpfProgInfo> {
  let info = yield* libc.bpfProgGetInfo(fd);
  // As bpftool: a first call for the lengths, a second with room for the instructions.
  if (info.ok && insns && (info.value.xlatedProgLen > 0 || info.value.jitedProgLen > 0)) {
    const records = { funcInfo: info.value.nrFuncInfo, lineInfo: info.value.nrLineInfo };
    info = yield* libc.bpfProgGetInfo(fd, 64, info.value.xlatedProgLen, info.value.jitedProgLen, records);
  }
  if (!info.ok) throw new CliError(`can't get prog info: ${strerror(info.errno)}`);
  return info.value;
}

/** The program's BTF and records, when the kernel gave any (bpftool's dd.btf, dd.func_info, dd.prog_linfo). */
function* progSource(libc: Libc, info: BpfProgInfo): Sys<ProgSource | undefined> {
  if (info.btfId === 0 || (info.funcInfo.length === 0 && info.lineInfo.length === 0)) return undefined;
  return { btf: yield* btfById(libc, info.btfId), funcInfo: info.funcInfo, lineInfo: info.lineInfo };
}

/**
 * The xlated listing: `%4d: (code) insn`, with each instruction's bytes under it for `opcodes`; with BTF, each
 * function's prototype and the `; source` lines (`linum` adds the file, line and column).
 */
export function formatXlatedListing(xlated: Uint8Array, opcodes: boolean, source?: ProgSource, linum = false): string {
  let out = '';
  const notes = source === undefined ? undefined : new XlatedAnnotations(source);
  for (const insn of xlatedLines(xlated)) {
    const proto = notes?.proto(insn.slot);
    if (proto) out += `${proto}:\n`;
    const line = notes?.line(insn.slot);
    if (line !== undefined) out += formatSourceLine(line, linum);
    out += `${String(insn.slot).padStart(4)}: ${insn.text}\n`;
    if (opcodes) out += `       ${hexBytes(xlated.subarray(insn.slot * 8, insn.slot * 8 + insn.slots * 8))}\n`;
  }
  return out;
}

const dumpVerb: Verb = {
  name: 'prog dump',
  summary: "Print a program's xlated instructions, as the kernel rewrote them",
  synopsis: '(xlated | jited) PROG [file FILE | opcodes | visual] [linum]',
  description: `xlated: the instructions as the kernel holds them after verification and fixups, in the kernel's syntax
(bpftool prog dump xlated); opcodes adds each instruction's bytes, file FILE writes the raw instructions instead.
jited: the JIT image. This kernel's JIT makes a WebAssembly module of the program, so the listing is
WebAssembly: the module's imports (the kernel's entry points), then each function, one instruction per line at
its byte offset (opcodes adds its bytes; file FILE writes the module, which WebAssembly tools read).
A program loaded with BTF (func_info, line_info) shows each function's prototype and its "; source" lines;
linum adds each line's file, line number and column. visual prints the control flow graph in DOT, as bpftool
draws it.`,
  parse(words) {
    const kind = words.next('xlated or jited');
    if (kind !== 'xlated' && kind !== 'jited') throw new UsageError(`expected xlated or jited, not '${kind}'`);
    const handle = parseProgHandle(words);
    let file: string | undefined;
    let opcodes = false;
    let visual = false;
    let linum = false;
    while (!words.done) {
      const keyword = words.next('a keyword');
      if (keyword === 'file') file = words.next('a file after file');
      else if (keyword === 'opcodes') opcodes = true;
      else if (keyword === 'linum') linum = true;
      else if (keyword === 'visual') visual = true;
      else throw new UsageError(`unknown keyword '${keyword}': expected file, opcodes, linum or visual`);
    }
    if (visual && (opcodes || file !== undefined)) throw new UsageError('visual cannot be combined with opcodes or file');
    return function* (ctx) {
      const fd = yield* oneFd(ctx.libc, handle, PROG_KIND);
      const info = yield* progInfo(ctx.libc, fd, true);
      if (kind === 'xlated') {
        if (info.xlatedProgLen === 0) throw new CliError('error retrieving insn dump: kernel.kptr_restrict set?');
        if (file !== undefined) writeBinary(file, info.xlatedProgInsns);
        else if (visual) ctx.io.out(formatXlatedGraph(info.xlatedProgInsns));
        else if (ctx.mode === 'plain') ctx.io.out(formatXlatedListing(info.xlatedProgInsns, opcodes, yield* progSource(ctx.libc, info), linum));
        else {
          const w = jsonWriter(ctx.mode);
          const source = yield* progSource(ctx.libc, info);
          const notes = source === undefined ? undefined : new XlatedAnnotations(source);
          w.startArray();
          for (const insn of xlatedLines(info.xlatedProgInsns)) {
            // dump_xlated_json: "proto", then "src" (with linum: "file", "line_num", "line_col" when non-zero), then "disasm".
            const fields: JsonField[] = [];
            const proto = notes?.proto(insn.slot);
            if (proto) fields.push(['proto', proto]);
            const line = notes?.line(insn.slot);
            if (line !== undefined) {
              fields.push(['src', line.src]);
              if (linum) {
                fields.push(['file', line.file]);
                if (line.lineNum) fields.push(['line_num', line.lineNum]);
                if (line.lineCol) fields.push(['line_col', line.lineCol]);
              }
            }
            fields.push(['disasm', insn.text]);
            writeFields(w, fields);
          }
          w.endArray();
          ctx.io.out(w.finish());
        }
        return;
      }
      // bpftool: a program the kernel did not JIT, or a caller without CAP_SYSLOG (bpf_dump_raw_ok), gets no image.
      if (info.jitedProgInsns.length === 0) throw new CliError('no instructions returned');
      if (visual) throw new UsageError('visual is for xlated dumps');
      if (file !== undefined) writeBinary(file, info.jitedProgInsns);
      else if (ctx.mode === 'plain') ctx.io.out(formatJitedListing(info.jitedProgInsns, `bpf_prog_${info.tag}_${info.name}`, opcodes));
      else {
        const w = jsonWriter(ctx.mode);
        writeJitedJson(w, info.jitedProgInsns, opcodes);
        ctx.io.out(w.finish());
      }
    };
  },
};

/** print_boot_time: the load time (boot-based ns) as wall-clock time, `%FT%T%z` in UTC. */
function* wallClockSeconds(libc: Libc, loadTimeNs: number): Sys<number> {
  const real = yield* libc.clockGettime(CLOCK.REALTIME);
  const boot = yield* libc.clockGettime(CLOCK.BOOTTIME);
  return Math.floor((real - boot + loadTimeNs) / 1e9);
}

const isoSeconds = (seconds: number): string => `${new Date(seconds * 1000).toISOString().slice(0, 19)}+0000`;

/** One program as `bpftool prog show` prints it (show_prog_header + print_prog_plain / print_prog_json). */
function* showProg(ctx: StepContext, fd: number): Sys<Shown> {
  const info = yield* progInfo(ctx.libc, fd);
  const memlock = yield* fdinfoField(ctx.libc, fd, 'memlock');
  const type = progTypeName(info.type);
  const loadedAt = yield* wallClockSeconds(ctx.libc, info.loadTime);
  let plain = `${info.id}: ${type === undefined ? `type ${info.type}` : type}  ${info.name ? `name ${info.name}  ` : ''}tag ${info.tag}`;
  if (info.gplCompatible) plain += '  gpl';
  if (info.runTimeNs) plain += ` run_time_ns ${info.runTimeNs} run_cnt ${info.runCnt}`;
  plain += `\n\tloaded_at ${isoSeconds(loadedAt)}  uid ${info.createdByUid}\n\txlated ${info.xlatedProgLen}B`;
  plain += info.jitedProgLen ? `  jited ${info.jitedProgLen}B` : '  not jited';
  if (memlock !== undefined) plain += `  memlock ${memlock}B`;
  if (info.mapIds.length > 0) plain += `  map_ids ${info.mapIds.join(',')}`;
  if (info.btfId) plain += `\n\tbtf_id ${info.btfId}`;
  plain += '\n';
  const fields: JsonField[] = [
    ['id', info.id],
    ['type', type ?? info.type],
  ];
  if (info.name) fields.push(['name', info.name]);
  fields.push(['tag', info.tag], ['gpl_compatible', info.gplCompatible]);
  if (info.runTimeNs) fields.push(['run_time_ns', info.runTimeNs], ['run_cnt', info.runCnt]);
  fields.push(['loaded_at', loadedAt], ['uid', info.createdByUid], ['bytes_xlated', info.xlatedProgLen], ['jited', info.jitedProgLen > 0]);
  if (info.jitedProgLen) fields.push(['bytes_jited', info.jitedProgLen]);
  if (memlock !== undefined) fields.push(['bytes_memlock', Number(memlock)]);
  if (info.mapIds.length > 0) fields.push(['map_ids', info.mapIds]);
  if (info.btfId) fields.push(['btf_id', info.btfId]);
  return { plain, fields };
}

const showVerb: Verb = {
  name: 'prog show',
  summary: 'List programs (all, or those a handle names) as bpftool prog show does',
  synopsis: '[PROG]',
  description: `Print each program's id, type, name, tag, load time, sizes and maps, as bpftool prog show (or JSON).
PROG is OBJ[:NAME] (the object is loaded first), id ID, pinned PATH, name NAME or tag TAG.`,
  parse(words) {
    const handle = words.done ? undefined : parseProgHandle(words);
    words.end();
    return (ctx) => showObjects(ctx, handle, PROG_KIND, showProg);
  },
};

/** prog load / loadall: load the object, pin the first program (load) or every program under a directory (loadall). */
function loadVerb(all: boolean): Verb {
  return {
    name: all ? 'prog loadall' : 'prog load',
    summary: all
      ? "Load an object and pin all its programs in a directory of the kernel's bpffs"
      : "Load an object and pin its first program in the kernel's bpffs",
    synopsis: `OBJ PATH [pinmaps MAP_DIR] [autoattach]`,
    description: `Open OBJ with the loader, create its maps and load its programs into the kernel, then pin ${
      all ? 'every program as PATH/NAME' : 'the first program at PATH'
    }
(in the simulated kernel's /sys/fs/bpf); pinmaps pins every map as MAP_DIR/NAME. With autoattach each program is
attached as its SEC() says (the loader's attach(), libbpf's bpf_program__attach) and its link pinned there instead
(a program that cannot auto-attach is pinned, with a note on stderr). Useful in a batch file, where later commands
find them with pinned PATH.`,
    parse(words) {
      const file: ObjectFile = objectFile(words.next('OBJ'));
      const path = words.next('PATH');
      let pinmaps: string | undefined;
      let autoattach = false;
      while (!words.done) {
        const keyword = words.next('a keyword');
        if (keyword === 'pinmaps') pinmaps = words.next('a directory after pinmaps');
        else if (keyword === 'autoattach') autoattach = true;
        else if (keyword === 'type' || keyword === 'map' || keyword === 'dev' || keyword === 'xdpmeta_dev' || keyword === 'offload_dev')
          throw new UsageError(`keyword '${keyword}' is not supported here`);
        else throw new UsageError(`unknown keyword '${keyword}': expected pinmaps or autoattach`);
      }
      return function* (ctx) {
        const { loaded } = yield* loadFile(ctx.libc, file);
        const pin = function* (fd: number, at: string): Sys<void> {
          const ret = yield* ctx.libc.bpfObjPin(fd, at);
          if (ret < 0) throw new CliError(`can't pin the object (${at}): ${strerror(-ret)}`);
        };
        const mkdir = function* (dir: string): Sys<void> {
          const ret = yield* ctx.libc.mkdir(dir, 0o700);
          if (ret < 0 && errnoName(ret) !== 'EEXIST') throw new CliError(`can't create directory ${dir}: ${strerror(-ret)}`);
        };
        // bpftool's auto_attach_program: bpf_program__attach, then pin the link where the program would be pinned
        // (and let go of the process's link: the pin keeps it); a program that does not attach is pinned instead.
        const pinOrAttach = function* (prog: LoadedProgram, at: string): Sys<void> {
          if (!autoattach) return yield* pin(prog.fd, at);
          let link: Link | undefined;
          try {
            link = yield* prog.autoAttach();
          } catch (error) {
            if (!(error instanceof LoaderError)) throw error;
            // libbpf's pr_warn of the failure; bpf_program__attach then gives NULL as for a section without attach.
            ctx.io.err(`libbpf: ${error.message}\n`);
          }
          if (link === undefined) {
            ctx.io.err(`Program ${prog.spec.name} does not support autoattach, falling back to pinning\n`);
            return yield* pin(prog.fd, at);
          }
          try {
            yield* link.pin(at);
          } catch (error) {
            yield* link.destroy();
            if (error instanceof LoaderError) throw new CliError(`failed to pin the link of ${prog.spec.name} (${at}): ${error.message}`);
            throw error;
          }
          yield* link.destroy();
        };
        if (all) {
          yield* mkdir(path);
          for (const [name, prog] of loaded.programs) yield* pinOrAttach(prog, `${path}/${name}`);
        } else {
          const first = loaded.programs.values().next().value;
          if (first === undefined) throw new CliError(`${file.path}: object file doesn't contain any bpf program`);
          yield* pinOrAttach(first, path);
        }
        if (pinmaps !== undefined) {
          yield* mkdir(pinmaps);
          for (const [name, map] of loaded.maps) yield* pin(map.fd, `${pinmaps}/${name}`);
        }
      };
    },
  };
}

export const PROG_VERBS: readonly Verb[] = [showVerb, runVerb, dumpVerb, loadVerb(false), loadVerb(true)];
