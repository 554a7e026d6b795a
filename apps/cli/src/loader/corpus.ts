/**
 * The loader's corpus (packages/loader/fixtures/corpus) replayed in a simulated kernel, as record.mjs replays it on
 * Linux: each object opened and loaded (bpftool prog loadall), what got loaded listed (prog show / map show), the
 * manifest's test runs made (prog run) and the data maps dumped (map dump). The corpus test compares the outcome
 * with recording.json; `ebpf-sim loader-bench` times the open and load beside the recorded loadall time.
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { LoaderError, load, openObject, type LoadedObject, type LoadOptions, type ObjectProgram } from '@ebpf-sim/loader';
import { BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, BPF_PROG_TYPE, Libc, errnoName, type UserProgram } from '@ebpf-sim/uapi';
import { repoRoot } from '../repo.js';

/** The corpus directory of this repository. */
export const CORPUS_DIR = resolve(repoRoot(), 'packages', 'loader', 'fixtures', 'corpus');

export interface CorpusRun {
  readonly program: string;
  readonly dataIn?: string;
  readonly ctxIn?: string;
}
export interface CorpusObject {
  readonly object: string;
  readonly runs: readonly CorpusRun[];
  readonly dumps: readonly string[];
}
export interface RecordedObject {
  readonly object: string;
  readonly loadallMs: number;
  readonly loadall: { readonly ok: boolean; readonly error: string | null; readonly messages: readonly string[] };
  readonly programs?: readonly { readonly name: string; readonly type: string }[];
  readonly maps?: readonly {
    readonly name: string;
    readonly type: string | number;
    readonly flags: number;
    readonly bytes_key: number;
    readonly bytes_value: number;
    readonly max_entries: number;
  }[];
  readonly runs?: readonly (CorpusRun & { readonly retval?: number; readonly bpftoolError?: readonly string[] })[];
  readonly dumps?: Readonly<Record<string, { readonly map: string; readonly entries: readonly { readonly value: readonly string[] }[] }>>;
}

export function readCorpus(dir = CORPUS_DIR): { manifest: readonly CorpusObject[]; recording: readonly RecordedObject[]; kernel: string } {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { objects: CorpusObject[] };
  const recording = JSON.parse(readFileSync(join(dir, 'recording.json'), 'utf8')) as { kernel: string; objects: RecordedObject[] };
  return { manifest: manifest.objects, recording: recording.objects, kernel: recording.kernel };
}

/** bpftool's name of a type: the uapi key in lower case (libbpf_bpf_prog_type_str / libbpf_bpf_map_type_str). */
const typeNames = (table: Readonly<Record<string, number>>): ReadonlyMap<number, string> =>
  new Map(Object.entries(table).map(([k, v]) => [v, k.toLowerCase()]));
export const PROG_TYPE_NAMES = typeNames(BPF_PROG_TYPE);
export const MAP_TYPE_NAMES = typeNames(BPF_MAP_TYPE);

/**
 * The name `bpftool prog show` prints (get_prog_full_name): the kernel's name, unless it fills prog_name
 * (BPF_OBJ_NAME_LEN - 1 bytes, perhaps cut) and the program came with func_info; then its function's name from
 * BTF, which is the program's full name in the object.
 */
function bpftoolProgName(kernelName: string, spec: ObjectProgram): string {
  return kernelName.length === BPF_OBJ_NAME_LEN - 1 && spec.funcInfo.length > 0 ? spec.name : kernelName;
}

/** What the simulated kernel did with one object, in the recording's terms. */
export interface ReplayedObject {
  readonly object: string;
  /** Open and load, or the loader's error (with the verifier's log for a refused program). */
  readonly loadall: { readonly ok: boolean; readonly error: string | null };
  readonly programs: readonly { readonly name: string; readonly type: string }[];
  readonly maps: readonly {
    readonly name: string;
    readonly type: string;
    readonly flags: number;
    readonly bytes_key: number;
    readonly bytes_value: number;
    readonly max_entries: number;
  }[];
  readonly runs: readonly { readonly program: string; readonly input: string; readonly retval?: number; readonly error?: string }[];
  /** Data map bytes after the runs, by section, as bpftool's "0x.." strings. */
  readonly dumps: Readonly<Record<string, readonly string[]>>;
  /** Wall time of openObject and of load(), in milliseconds. */
  readonly openMs: number;
  readonly loadMs: number;
}

/** The `.kconfig` values libbpf would read on the recording machine (uname and /proc/config.gz). */
export const CORPUS_KCONFIG: NonNullable<LoadOptions['kconfig']> = { LINUX_KERNEL_VERSION: 397868, CONFIG_BPF_LSM: 'y' };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** libbpf's object name: the file's base name up to its first dot (bpf_object__new). */
export const objectName = (file: string): string => basename(file).split('.')[0] ?? '';

const hex = (bytes: Uint8Array): string[] => Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, '0')}`);

/** Program types whose test run takes only a context (record.mjs runs them with run-ctx.c). */
const CTX_ONLY_TYPES: ReadonlySet<number> = new Set([BPF_PROG_TYPE.RAW_TRACEPOINT, BPF_PROG_TYPE.SYSCALL]);

/** The recording machine's CPUs (its PERF_EVENT_ARRAY without max_entries got 2 slots): the simulated kernel has as many. */
export const CORPUS_CPUS = 2;

/**
 * Run `body` as a root user program at `path` (its comm is the path's last part) of a fresh kernel with the bpf
 * subsystem (by default with the recording machine's CPUs); rethrow what it throws, fail on a kernel crash.
 * Returns the bpf subsystem, to look inside.
 */
export function inCorpusKernel(
  body: (libc: Libc) => Generator<number, void, number>,
  options: { readonly cpus?: number; readonly path?: string } = {},
): ReturnType<typeof registerBpf> {
  const kernel = createKernel({ cpus: options.cpus ?? CORPUS_CPUS });
  const bpf = registerBpf(kernel);
  let failure: unknown;
  let finished = false;
  const user: UserProgram = function* (ctx) {
    try {
      yield* body(new Libc(ctx));
      finished = true;
    } catch (error) {
      failure = error;
    }
    return 0;
  };
  const path = options.path ?? '/bin/corpus';
  kernel.vfs.registerProgram(path, user);
  kernel.spawn(path, { uid: 0 });
  kernel.run({ untilNs: 1000e9 });
  if (kernel.crashes.length > 0) throw new Error(`the simulated kernel crashed: ${JSON.stringify(kernel.crashes[0])}`);
  if (failure instanceof Error) throw failure;
  if (failure !== undefined) throw new Error(`the corpus program threw ${JSON.stringify(failure)}`);
  if (!finished) throw new Error('the corpus program did not finish');
  return bpf;
}

/** One object opened and loaded (each step timed), or the error that stopped it. */
export type OpenAndLoad =
  | { readonly ok: true; readonly loaded: LoadedObject; readonly openMs: number; readonly loadMs: number }
  | { readonly ok: false; readonly error: string; readonly openMs: number; readonly loadMs: number };

/** openObject then load(), as `bpftool prog loadall` opens and loads; wall time of each. */
export function* openAndLoad(libc: Libc, object: string, bytes: Uint8Array): Generator<number, OpenAndLoad, number> {
  let started = performance.now();
  let spec;
  try {
    spec = openObject(bytes, { name: objectName(object) });
  } catch (error) {
    return { ok: false, error: messageOf(error), openMs: performance.now() - started, loadMs: 0 };
  }
  const openMs = performance.now() - started;
  started = performance.now();
  try {
    const loaded = yield* load(spec, libc, { kconfig: CORPUS_KCONFIG, possibleCpus: CORPUS_CPUS });
    return { ok: true, loaded, openMs, loadMs: performance.now() - started };
  } catch (error) {
    if (!(error instanceof LoaderError)) throw error;
    return { ok: false, error: messageOf(error), openMs, loadMs: performance.now() - started };
  }
}

/** Close what a load made and remove its by-name pins (record.mjs removes them before the next object too). */
export function* unload(libc: Libc, loaded: LoadedObject): Generator<number, void, number> {
  yield* loaded.close();
  for (const map of loaded.maps.values()) if (map.pinPath !== undefined) yield* libc.unlink(map.pinPath);
}

/** Open and load one object (timed), run the manifest's runs and dump its data maps; close everything after. */
export function* replayObject(libc: Libc, entry: CorpusObject, dir = CORPUS_DIR): Generator<number, ReplayedObject, number> {
  const result = yield* openAndLoad(libc, entry.object, new Uint8Array(readFileSync(join(dir, entry.object))));
  const { openMs, loadMs } = result;
  if (!result.ok) return { object: entry.object, loadall: { ok: false, error: result.error }, programs: [], maps: [], runs: [], dumps: {}, openMs, loadMs };
  const loaded = result.loaded;
  const programs: { name: string; type: string }[] = [];
  for (const prog of loaded.programs.values()) {
    const info = yield* libc.bpfProgGetInfo(prog.fd, 0);
    if (info.ok) programs.push({ name: bpftoolProgName(info.value.name, prog.spec), type: PROG_TYPE_NAMES.get(info.value.type) ?? String(info.value.type) });
  }
  const maps: ReplayedObject['maps'][number][] = [];
  for (const map of loaded.maps.values()) {
    const info = yield* libc.bpfMapGetInfo(map.fd);
    if (!info.ok) continue;
    const { name, type, mapFlags, keySize, valueSize, maxEntries } = info.value;
    maps.push({ name, type: MAP_TYPE_NAMES.get(type) ?? String(type), flags: mapFlags, bytes_key: keySize, bytes_value: valueSize, max_entries: maxEntries });
  }
  const runs: ReplayedObject['runs'][number][] = [];
  for (const run of entry.runs) {
    const prog = loaded.programs.get(run.program);
    const input = run.dataIn ?? run.ctxIn ?? '';
    if (prog === undefined) {
      runs.push({ program: run.program, input, error: 'not loaded' });
      continue;
    }
    const data = new Uint8Array(readFileSync(join(dir, input)));
    const ctxOnly = prog.spec.section !== undefined && CTX_ONLY_TYPES.has(prog.spec.section.progType);
    // bpftool prog run gives data_out room as big as data_in; a ctx-only run passes ctx_in alone (run-ctx.c).
    const result = yield* libc.bpfProgTestRun(
      prog.fd,
      run.dataIn !== undefined ? { data, dataOutSize: data.length } : ctxOnly ? { ctx: data } : { ctx: data, ctxOutSize: data.length },
    );
    runs.push(result.ret < 0 ? { program: run.program, input, error: `-${errnoName(result.ret)}` } : { program: run.program, input, retval: result.retval });
  }
  const dumps: Record<string, string[]> = {};
  for (const section of entry.dumps) {
    const map = loaded.maps.get(section);
    if (map === undefined) continue;
    const value = yield* libc.bpfMapLookup(map.fd, new Uint8Array(4), map.spec.valueSize);
    if (value.ok) dumps[section] = hex(value.value);
  }
  yield* unload(libc, loaded);
  return { object: entry.object, loadall: { ok: true, error: null }, programs, maps, runs, dumps, openMs, loadMs };
}

/** strerror() texts bpftool printed for a refused test run, as errno names. */
const STRERROR: Readonly<Record<string, string>> = { 'Invalid argument': 'EINVAL', 'Unknown error 524': 'ENOTSUPP', 'Operation not supported': 'EOPNOTSUPP' };

/**
 * What Linux's refusal says, from the recording: the verifier's reason (the lines after the last instruction
 * before `processed ...`) for a refused program, else libbpf's first message without its `libbpf: ` prefix.
 */
export function recordedReason(messages: readonly string[]): string[] {
  const processed = messages.findIndex((m) => m.startsWith('processed '));
  if (processed >= 0) {
    let first = processed;
    while (first > 0 && !/^\d+: \(/.test(messages[first - 1] ?? '')) first--;
    return messages.slice(first, processed);
  }
  // libbpf's notes on what it skips are not the reason.
  const first = messages.find((m) => !m.startsWith('Error:') && !m.includes(': skipping section'));
  return first === undefined ? [] : [first.replace(/^libbpf: /, '')];
}

/**
 * Every way the simulated kernel's outcome differs from Linux's recording, one line each: the load's success or
 * refusal (with Linux's reason), then for an object both loaded its programs (name, type), maps (name, type,
 * flags, key/value sizes, max_entries), test-run results and data-map bytes.
 */
export function corpusDifferences(recorded: RecordedObject, replayed: ReplayedObject): string[] {
  const where = recorded.object;
  const out: string[] = [];
  if (recorded.loadall.ok !== replayed.loadall.ok) {
    out.push(
      recorded.loadall.ok
        ? `${where}: Linux loads it; here: ${(replayed.loadall.error ?? '').split('\n')[0] ?? ''}`
        : `${where}: Linux refuses it (${recordedReason(recorded.loadall.messages).join(' / ')}); here it loads`,
    );
    return out;
  }
  if (!recorded.loadall.ok) {
    const ours = replayed.loadall.error ?? '';
    for (const reason of recordedReason(recorded.loadall.messages))
      if (!ours.includes(reason)) out.push(`${where}: Linux refuses it with "${reason}"; here: "${ours.split('\n')[0] ?? ''}"`);
    return out;
  }
  const ourProgs = new Map(replayed.programs.map((p) => [p.name, p.type]));
  for (const prog of recorded.programs ?? []) {
    const type = ourProgs.get(prog.name);
    if (type === undefined) out.push(`${where}: program ${prog.name} (${prog.type}) is missing`);
    else if (type !== prog.type) out.push(`${where}: program ${prog.name}: type ${prog.type} on Linux, ${type} here`);
    ourProgs.delete(prog.name);
  }
  for (const name of ourProgs.keys()) out.push(`${where}: program ${name} is extra`);
  const ourMaps = new Map(replayed.maps.map((m) => [m.name, m]));
  for (const map of recorded.maps ?? []) {
    const ours = ourMaps.get(map.name);
    ourMaps.delete(map.name);
    if (ours === undefined) {
      out.push(`${where}: map ${map.name} is missing`);
      continue;
    }
    const linux = { ...map, type: typeof map.type === 'number' ? (MAP_TYPE_NAMES.get(map.type) ?? String(map.type)) : map.type };
    for (const field of ['type', 'flags', 'bytes_key', 'bytes_value', 'max_entries'] as const)
      if (linux[field] !== ours[field]) out.push(`${where}: map ${map.name}: ${field} ${linux[field]} on Linux, ${ours[field]} here`);
  }
  for (const name of ourMaps.keys()) out.push(`${where}: map ${name} is extra`);
  (recorded.runs ?? []).forEach((run, i) => {
    const ours = replayed.runs[i];
    const input = run.dataIn ?? run.ctxIn ?? '';
    const linuxError = /failed to run program: ([^"]*)/.exec(run.bpftoolError?.[0] ?? '')?.[1];
    const linux = run.retval !== undefined ? `retval ${run.retval}` : `-${STRERROR[linuxError ?? ''] ?? linuxError ?? '?'}`;
    const here = ours === undefined ? 'no run' : ours.retval !== undefined ? `retval ${ours.retval}` : (ours.error ?? '?');
    if (linux !== here) out.push(`${where}: run ${run.program} on ${input}: ${linux} on Linux, ${here} here`);
  });
  for (const [section, dump] of Object.entries(recorded.dumps ?? {})) {
    const linux = (dump.entries[0]?.value ?? []).join(' ');
    const here = (replayed.dumps[section] ?? []).join(' ');
    if (linux !== here) out.push(`${where}: map ${section} after the runs: ${linux} on Linux, ${here} here`);
  }
  return out;
}
