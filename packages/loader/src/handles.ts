/**
 * The handles load() returns: a map's lookup / update / delete / iteration (libbpf's bpf_map__lookup_elem,
 * bpf_map__update_elem, bpf_map__delete_elem, bpf_map__get_next_key, bpf_map__pin) and a program's test run and
 * pin (bpf_prog_test_run_opts, bpf_program__pin), over the uapi libc's bpf() wrappers. Keys and values go
 * through the object's BTF when the map spec names their types (btf-codec.ts), as bytes otherwise.
 */
import type { Btf } from '@ebpf-sim/btf';
import { BPF_MAP_TYPE, Errno, errnoName, type BpfTestRunResult, type BpfTestRunSpec, type Libc, type Result, type Sys } from '@ebpf-sim/uapi';
import { attachProgram, autoAttach, type AttachLibc, type AttachOptions } from './attach.js';
import { decodeBtfValue, encodeBtfValue, type BtfValue } from './btf-codec.js';
import { LoaderError } from './errors.js';
import type { Link } from './links.js';
import type { MapSpec } from './maps.js';
import type { ObjectProgram } from './object.js';

/** What the handles use of user space's libc (a program's attach() needs what attaching needs: attach.ts). */
export type HandleLibc = Pick<Libc, 'bpfMapLookup' | 'bpfMapUpdate' | 'bpfMapDelete' | 'bpfMapGetNextKey' | 'bpfObjPin' | 'bpfProgTestRun' | 'close'> &
  AttachLibc;

/** A key or value given to a map handle: a BTF-typed value (when the map has the type) or its bytes. */
export type MapInput = BtfValue | Uint8Array;
/** A key or value a map handle gives back: decoded through BTF when the map has the type, else its bytes. Per-CPU maps give one per CPU. */
export type MapOutput = BtfValue | Uint8Array | readonly (BtfValue | Uint8Array)[];

/** Map types whose value is per CPU from user space: a lookup gives every possible CPU's value, each padded to 8 bytes (bpf_map_value_size). */
const PER_CPU_MAP_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE.PERCPU_HASH,
  BPF_MAP_TYPE.PERCPU_ARRAY,
  BPF_MAP_TYPE.LRU_PERCPU_HASH,
  BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE,
]);

const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

export interface MapHandle {
  readonly spec: MapSpec;
  readonly fd: number;
  /** Where it is pinned, for a `pinning` map. */
  readonly pinPath?: string;
  /** Created with the object's BTF for its key and value (false: without, or reused from a pin). */
  readonly withBtf: boolean;
  /** The BTF type ids keys and values are decoded with (0: bytes). */
  readonly keyTypeId: number;
  readonly valueTypeId: number;
  /** BPF_MAP_LOOKUP_ELEM (a queue or stack: peek, with a null key): the value, or undefined when there is none (ENOENT). */
  lookup(key: MapInput | null, flags?: number): Sys<MapOutput | undefined>;
  /** BPF_MAP_UPDATE_ELEM (BPF_ANY unless `flags`; a queue or stack: push, with a null key). */
  update(key: MapInput | null, value: MapInput | readonly MapInput[], flags?: number): Sys<void>;
  /** BPF_MAP_DELETE_ELEM: true when an element went, false when there was none (ENOENT). */
  delete(key: MapInput): Sys<boolean>;
  /** BPF_MAP_GET_NEXT_KEY: the key after `key` (the first for undefined), undefined after the last. */
  nextKey(key?: MapInput): Sys<MapOutput | undefined>;
  /** Every key and its value, in the kernel's iteration order (get_next_key, then lookup; a key deleted in between is skipped). */
  entries(): Sys<{ key: MapOutput; value: MapOutput }[]>;
  /** BPF_OBJ_PIN at `path` (bpf_map__pin). */
  pin(path: string): Sys<void>;
}

export interface ProgramHandle {
  readonly spec: ObjectProgram;
  readonly fd: number;
  /** The verifier's log, when a log was asked for. */
  readonly log: string;
  /** BPF_PROG_TEST_RUN (bpf_prog_test_run_opts): the run's outcome; a refusal throws a LoaderError with the errno. */
  testRun(opts?: BpfTestRunSpec): Sys<BpfTestRunResult>;
  /** BPF_OBJ_PIN at `path` (bpf_program__pin). */
  pin(path: string): Sys<void>;
  /**
   * bpf_program__attach by the SEC() name (and bpf_program__attach_xdp / _tcx / _perf_event with opts.ifindex or
   * opts.perfEventFd): the link, or a LoaderError naming the section when it cannot attach (attach.ts).
   */
  attach(opts?: AttachOptions): Sys<Link>;
  /** The skeleton's auto-attach of this program: the link, or undefined when libbpf skips the section. */
  autoAttach(): Sys<Link | undefined>;
}

function syscallError(what: string, ret: number): LoaderError {
  return new LoaderError(`${what} failed: -${errnoName(ret)}`, 'syscall', undefined, -ret);
}

/** A little-endian unsigned integer of `size` bytes (a key without BTF given as a number). */
function integerBytes(value: number | bigint, size: number, what: string): Uint8Array {
  const n = BigInt(value);
  if (n < 0n || n >= 1n << BigInt(size * 8)) throw new LoaderError(`${what}: ${n} does not fit in ${size} bytes`, 'invalid');
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

export interface MapHandleOptions {
  readonly libc: HandleLibc;
  readonly spec: MapSpec;
  readonly fd: number;
  readonly pinPath?: string;
  readonly withBtf: boolean;
  /** The object's BTF (the spec's type ids are in it), or undefined without BTF. */
  readonly btf: Btf | undefined;
  /** num_possible_cpus for per-CPU maps (libbpf reads /sys/devices/system/cpu/possible). */
  readonly possibleCpus: number | undefined;
}

/** A map's handle over its fd. */
export function mapHandle(o: MapHandleOptions): MapHandle {
  const { libc, spec, fd, btf } = o;
  const what = `map '${spec.name}'`;
  const keyTypeId = btf === undefined ? 0 : spec.keyTypeId;
  const valueTypeId = btf === undefined ? 0 : spec.valueTypeId;
  const perCpu = PER_CPU_MAP_TYPES.has(spec.type);
  const cpus = (): number => {
    if (o.possibleCpus === undefined)
      throw new LoaderError(`${what}: a per-CPU value needs the number of possible CPUs`, 'invalid', 'pass LoadOptions.possibleCpus');
    return o.possibleCpus;
  };
  const valueBytes = (): number => (perCpu ? roundUp8(spec.valueSize) * cpus() : spec.valueSize);

  const encode = (input: MapInput, typeId: number, size: number, part: string): Uint8Array => {
    if (input instanceof Uint8Array) {
      if (input.length !== size) throw new LoaderError(`${what}: ${part} of ${input.length} bytes, the map's is ${size}`, 'invalid');
      return input;
    }
    if (btf !== undefined && typeId !== 0) return encodeBtfValue(btf, typeId, input, `${what}: ${part}`);
    if ((typeof input === 'number' || typeof input === 'bigint') && size > 0 && size <= 8) return integerBytes(input, size, `${what}: ${part}`);
    throw new LoaderError(`${what}: ${part} has no BTF type; give its ${size} bytes`, 'invalid');
  };
  const decode = (bytes: Uint8Array, typeId: number, part: string): BtfValue | Uint8Array =>
    btf !== undefined && typeId !== 0 ? decodeBtfValue(btf, typeId, bytes, `${what}: ${part}`) : bytes;
  const encodeKey = (key: MapInput | null): Uint8Array | null => (key === null ? null : encode(key, keyTypeId, spec.keySize, 'key'));
  const encodeValue = (value: MapInput | readonly MapInput[]): Uint8Array => {
    if (!perCpu) {
      if (Array.isArray(value) && !(btf !== undefined && valueTypeId !== 0)) throw new LoaderError(`${what}: value must be one value`, 'invalid');
      return encode(value as MapInput, valueTypeId, spec.valueSize, 'value');
    }
    if (value instanceof Uint8Array) return encode(value, 0, valueBytes(), 'value');
    if (!Array.isArray(value) || value.length !== cpus())
      throw new LoaderError(`${what}: a per-CPU value takes one value per possible CPU (${cpus()})`, 'invalid');
    const values: readonly MapInput[] = value;
    const step = roundUp8(spec.valueSize);
    const out = new Uint8Array(step * values.length);
    values.forEach((v: MapInput, cpu: number) => out.set(encode(v, valueTypeId, spec.valueSize, `value of CPU ${cpu}`), cpu * step));
    return out;
  };
  const decodeValue = (bytes: Uint8Array): MapOutput => {
    if (!perCpu) return decode(bytes, valueTypeId, 'value');
    const step = roundUp8(spec.valueSize);
    return Array.from({ length: bytes.length / step }, (_, cpu) =>
      decode(bytes.slice(cpu * step, cpu * step + spec.valueSize), valueTypeId, `value of CPU ${cpu}`),
    );
  };

  const handle: MapHandle = {
    spec,
    fd,
    ...(o.pinPath === undefined ? {} : { pinPath: o.pinPath }),
    withBtf: o.withBtf,
    keyTypeId,
    valueTypeId,
    *lookup(key, flags = 0) {
      const got = yield* libc.bpfMapLookup(fd, encodeKey(key), valueBytes(), flags);
      if (got.ok) return decodeValue(got.value);
      if (got.errno === Errno.ENOENT) return undefined;
      throw syscallError(`${what}: BPF_MAP_LOOKUP_ELEM`, -got.errno);
    },
    *update(key, value, flags = 0) {
      const ret = yield* libc.bpfMapUpdate(fd, encodeKey(key), encodeValue(value), flags);
      if (ret < 0) throw syscallError(`${what}: BPF_MAP_UPDATE_ELEM`, ret);
    },
    *delete(key) {
      const ret = yield* libc.bpfMapDelete(fd, encode(key, keyTypeId, spec.keySize, 'key'));
      if (ret === -Errno.ENOENT) return false;
      if (ret < 0) throw syscallError(`${what}: BPF_MAP_DELETE_ELEM`, ret);
      return true;
    },
    *nextKey(key) {
      const got = yield* libc.bpfMapGetNextKey(fd, key === undefined ? null : encode(key, keyTypeId, spec.keySize, 'key'), spec.keySize);
      if (got.ok) return decode(got.value, keyTypeId, 'key');
      if (got.errno === Errno.ENOENT) return undefined;
      throw syscallError(`${what}: BPF_MAP_GET_NEXT_KEY`, -got.errno);
    },
    *entries() {
      const out: { key: MapOutput; value: MapOutput }[] = [];
      let key: Uint8Array | null = null;
      for (;;) {
        const next: Result<Uint8Array> = yield* libc.bpfMapGetNextKey(fd, key, spec.keySize);
        if (!next.ok) {
          if (next.errno === Errno.ENOENT) return out;
          throw syscallError(`${what}: BPF_MAP_GET_NEXT_KEY`, -next.errno);
        }
        const current: Uint8Array = next.value;
        key = current;
        const got = yield* libc.bpfMapLookup(fd, current, valueBytes());
        if (got.ok) out.push({ key: decode(current, keyTypeId, 'key'), value: decodeValue(got.value) });
        else if (got.errno !== Errno.ENOENT) throw syscallError(`${what}: BPF_MAP_LOOKUP_ELEM`, -got.errno);
      }
    },
    *pin(path) {
      const ret = yield* libc.bpfObjPin(fd, path);
      if (ret < 0) throw syscallError(`${what}: pinning at ${path}`, ret);
    },
  };
  return handle;
}

/** A program's handle over its fd. */
export function programHandle(libc: HandleLibc, spec: ObjectProgram, fd: number, log: string): ProgramHandle {
  const what = `prog '${spec.name}'`;
  const handle: ProgramHandle = {
    spec,
    fd,
    log,
    *testRun(opts = {}) {
      const result = yield* libc.bpfProgTestRun(fd, opts);
      if (result.ret < 0) throw syscallError(`${what}: BPF_PROG_TEST_RUN`, result.ret);
      return result;
    },
    *pin(path) {
      const ret = yield* libc.bpfObjPin(fd, path);
      if (ret < 0) throw syscallError(`${what}: pinning at ${path}`, ret);
    },
    attach: (opts) => attachProgram(libc, handle, opts),
    autoAttach: () => autoAttach(libc, handle),
  };
  return handle;
}
