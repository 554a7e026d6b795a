/**
 * fd-valued maps, devmaps, CPUMAP, XSKMAP, the socket maps and the batch commands against Linux: fixtures/maps/fd-script.txt was replayed
 * through the real bpf() of this machine's kernel (fixtures/maps/rebuild-fd.sh, fd-script.c) and its answers
 * recorded in linux-fd-results.txt; the same script through this kernel's bpf(), from a user program with the
 * libc wrappers, must print the same lines. See fd-script.c for the commands.
 *
 * The kernel here has what Linux had: lo at ifindex 1 (the devices service), perf events that take BPF output
 * (PERF_COUNT_SW_BPF_OUTPUT fds) and loaded programs (`prog`): the last two are fakes standing in for
 * perf_event_open and PROG_LOAD, behind the same interfaces (`PerfEvents.bpfOutputOf`, `ProgramFds`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createKernel, type FileOperations, type PerfOutputEvent, type Task } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_TYPE, BPF_UPDATE, Errno, Libc, type UserProgram } from '@ebpf-sim/uapi';
import { loadProgram } from '@ebpf-sim/vm';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import type { FdProgram } from './map.js';

const recorded = readFileSync(fileURLToPath(new URL('../../fixtures/maps/linux-fd-results.txt', import.meta.url)), 'utf8');

const NAMES: Readonly<Record<string, number>> = {
  ...BPF_MAP_TYPE,
  ...BPF_MAP_F,
  ...BPF_UPDATE,
  ...BPF_PROG_TYPE,
  XDP_DEVMAP: BPF_ATTACH_TYPE.XDP_DEVMAP,
  XDP_CPUMAP: BPF_ATTACH_TYPE.XDP_CPUMAP,
};

/** strtoul(text, 0, 0) on decimal text: the leading digits, 0 for none. */
const strtoul = (text: string): number => Number(/^\d+/.exec(text)?.[0] ?? '0');

function valueOf(text: string): number {
  return text.split('|').reduce((acc, part) => (acc | (NAMES[part] ?? strtoul(part))) >>> 0, 0);
}

/** `r0 = 2; exit`, what fd-script.c loads. */
const PROGRAM = loadProgram(new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]));

const SLOTS = 16;

function replay(lines: readonly string[], nrCpus: number): string[] {
  const kernel = createKernel({ cpus: nrCpus });
  const progFops: FileOperations = { name: 'bpf-prog' };
  const perfFops: FileOperations = { name: 'perf_event' };
  const bpf = registerBpf({
    userMemory: kernel.userMemory,
    kallsyms: kernel.kallsyms,
    fds: kernel.fds,
    phys: kernel.phys,
    random: kernel.random,
    pinning: kernel.pinning,
    hookArena: kernel.hookArena,
    syscalls: kernel.syscalls,
    current: kernel.current,
    clock: kernel.clock,
    signals: kernel.signals,
    sysctl: kernel.sysctl,
    devices: { netByIndex: (ifindex) => (ifindex === 1 ? { ifindex, netdev: 0, rxQueues: 1, rxqInfoOf: () => 0 } : undefined) },
    perfEvents: { bpfOutputOf: (file) => (file.ops === perfFops ? (file.privateData as PerfOutputEvent) : undefined) },
  });
  let nextProgId = 1;
  bpf.programs = {
    progFromFd(task, fd) {
      const file = kernel.fds.fdget(task, fd);
      if (file === undefined) return -Errno.EBADF;
      if (file.ops !== progFops) return -Errno.EINVAL;
      const prog = file.privateData as FdProgram & { id: number };
      return { object: prog, id: prog.id, put: () => undefined };
    },
  };
  const out: string[] = [];
  const user: UserProgram = function* (ctx) {
    const libc = new Libc(ctx);
    const task = kernel.tasks.get(yield* libc.getpid()) as Task;
    const fds = new Array<number>(SLOTS).fill(-1);
    const mapIds = new Array<number>(SLOTS).fill(0);
    const progIds = new Array<number>(SLOTS).fill(0);
    const keySizes = new Array<number>(SLOTS).fill(0);
    const valueSizes = new Array<number>(SLOTS).fill(0);
    const types = new Array<number>(SLOTS).fill(0);
    const tokens: Uint8Array[] = Array.from({ length: SLOTS }, () => new Uint8Array(8));

    const parseValue = (text: string, into: Uint8Array, at: number, size: number): void => {
      const [first = '', second] = text.split('/');
      const scalar = (part: string): bigint => BigInt(part.startsWith('@') ? fds[strtoul(part.slice(1))]! >>> 0 : strtoul(part));
      const eight = new Uint8Array(8);
      new DataView(eight.buffer).setBigUint64(0, scalar(first), true);
      into.set(eight.subarray(0, Math.min(size, 8)), at);
      if (second !== undefined) new DataView(into.buffer, into.byteOffset).setUint32(at + 4, Number(scalar(second)), true);
    };
    const idText = (id: number, prog: boolean): string => {
      const ids = prog ? progIds : mapIds;
      const slot = id === 0 ? -1 : ids.indexOf(id);
      return slot >= 0 ? `@${slot}` : String(id);
    };
    const valueText = (s: number, bytes: Uint8Array, at: number): string => {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const type = types[s]!;
      if (type === BPF_MAP_TYPE.PROG_ARRAY || type === BPF_MAP_TYPE.ARRAY_OF_MAPS || type === BPF_MAP_TYPE.HASH_OF_MAPS) {
        return idText(view.getUint32(at, true), type === BPF_MAP_TYPE.PROG_ARRAY);
      }
      if (type === BPF_MAP_TYPE.DEVMAP || type === BPF_MAP_TYPE.DEVMAP_HASH || type === BPF_MAP_TYPE.CPUMAP) {
        const ifindex = String(view.getUint32(at, true));
        return valueSizes[s] === 8 ? `${ifindex}/${idText(view.getUint32(at + 4, true), true)}` : ifindex;
      }
      const eight = new Uint8Array(8);
      eight.set(bytes.subarray(at, at + Math.min(valueSizes[s]!, 8)));
      return new DataView(eight.buffer).getBigUint64(0, true).toString();
    };
    const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n >>> 0]).buffer);

    for (const line of lines) {
      const [op = '', a = '', b = '', c = '', d = '', e = '', f = '', g = ''] = line.split(/\s+/);
      if (op === '' || op.startsWith('#')) {
        out.push(line);
        continue;
      }
      const s = strtoul(a);
      const result = (text: string): void => void out.push(`${line} => ${text}`);
      if (op === 'map') {
        if (fds[s]! >= 0) yield* libc.close(fds[s]!);
        const rc = yield* libc.bpfMapCreate({
          map_type: valueOf(b),
          key_size: strtoul(c),
          value_size: strtoul(d),
          max_entries: strtoul(e),
          map_flags: valueOf(f),
          inner_map_fd: g === '' ? 0 : fds[strtoul(g)]! >>> 0,
        });
        fds[s] = rc < 0 ? -1 : rc;
        const info = rc < 0 ? undefined : yield* libc.bpfMapGetInfo(rc);
        mapIds[s] = info?.ok === true ? info.value.id : 0;
        progIds[s] = 0;
        keySizes[s] = strtoul(c);
        valueSizes[s] = strtoul(d);
        types[s] = valueOf(b);
        tokens[s]!.fill(0);
        result(String(rc < 0 ? rc : 0));
      } else if (op === 'prog' || op === 'perf') {
        if (fds[s]! >= 0) yield* libc.close(fds[s]!);
        let rc: number;
        if (op === 'prog') {
          const progType = valueOf(b);
          const prog: FdProgram & { id: number } = {
            id: nextProgId++,
            progType,
            expectedAttachType: c === '' ? 0 : valueOf(c),
            jited: true,
            xdpHasFrags: false,
            target: { program: PROGRAM, progType },
          };
          rc = kernel.fds.installFd(task, 'bpf-prog', progFops, prog);
          progIds[s] = prog.id;
        } else {
          const event: PerfOutputEvent = { cpu: 0, outputSample: () => 0 };
          rc = kernel.fds.installFd(task, 'perf_event', perfFops, event);
          progIds[s] = 0;
        }
        fds[s] = rc < 0 ? -1 : rc;
        mapIds[s] = 0;
        result(String(rc < 0 ? rc : 0));
      } else if (op === 'close') {
        const rc = yield* libc.close(fds[s]!);
        fds[s] = -1;
        mapIds[s] = 0;
        progIds[s] = 0;
        result(String(rc));
      } else if (op === 'update') {
        const value = new Uint8Array(valueSizes[s]!);
        parseValue(c, value, 0, valueSizes[s]!);
        result(String(yield* libc.bpfMapUpdate(fds[s]!, u32(strtoul(b)), value, valueOf(d))));
      } else if (op === 'lookup') {
        const found = yield* libc.bpfMapLookup(fds[s]!, u32(strtoul(b)), valueSizes[s]!);
        result(found.ok ? `0 ${valueText(s, found.value, 0)}` : `${-found.errno} 0`);
      } else if (op === 'delete') {
        result(String(yield* libc.bpfMapDelete(fds[s]!, u32(strtoul(b)))));
      } else if (op === 'next') {
        const next = yield* libc.bpfMapGetNextKey(fds[s]!, b === '-' ? null : u32(strtoul(b)), 4);
        result(next.ok ? `0 ${new DataView(next.value.buffer, next.value.byteOffset).getUint32(0, true)}` : `${-next.errno} 0`);
      } else if (op === 'lookup_batch' || op === 'lookup_and_delete_batch') {
        const got = yield* libc.bpfMapLookupBatch(fds[s]!, {
          inBatch: c === 'last' ? tokens[s]! : null,
          count: strtoul(b),
          keys: new Uint8Array(64 * 4),
          values: new Uint8Array(64 * 64),
          elemFlags: valueOf(d),
          flags: valueOf(e),
          andDelete: op === 'lookup_and_delete_batch',
        });
        const view = new DataView(got.keys.buffer, got.keys.byteOffset);
        const shown: string[] = [];
        for (let i = 0; i < got.count && i < 64; i++) shown.push(`${view.getUint32(i * 4, true)}:${valueText(s, got.values, i * valueSizes[s]!)}`);
        const token = new DataView(got.outBatch.buffer, got.outBatch.byteOffset).getUint32(0, true);
        tokens[s] = got.outBatch;
        result(`${got.ret} count=${got.count} keys=${shown.join(',')} out=${token}`);
      } else if (op === 'update_batch' || op === 'delete_batch') {
        const keys = new Uint8Array(64 * 4);
        const values = new Uint8Array(64 * 64);
        const parts = b.split(',');
        parts.forEach((part, n) => {
          const [key = '', value] = part.split('=');
          keys.set(u32(strtoul(key)), n * 4);
          if (value !== undefined) parseValue(value, values, n * valueSizes[s]!, valueSizes[s]!);
        });
        const done =
          op === 'update_batch'
            ? yield* libc.bpfMapUpdateBatch(fds[s]!, keys, values, parts.length, valueOf(c), valueOf(d))
            : yield* libc.bpfMapDeleteBatch(fds[s]!, keys, parts.length, valueOf(c), valueOf(d));
        result(`${done.ret} count=${done.count}`);
      } else {
        throw new Error(`linux-fd-results.txt: unknown command '${op}'`);
      }
    }
    for (const fd of fds) if (fd >= 0) yield* libc.close(fd);
    return 0;
  };
  kernel.vfs.registerProgram('/bin/replay', user);
  kernel.spawn('/bin/replay', { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  expect(kernel.crashes).toEqual([]);
  // Every map is gone with its last fd: the inner maps outer maps held, too.
  expect(kernel.phys.usage().filter((charge) => charge.owner.startsWith('bpf-map:') && charge.bytes > 0)).toEqual([]);
  return out;
}

describe('fd-valued maps, devmaps and batches replay Linux', () => {
  const lines = recorded.trimEnd().split('\n');
  const nrCpus = Number(/^# nr_cpus (\d+)$/m.exec(recorded)?.[1] ?? 'NaN');
  const body = lines.filter((line) => !line.startsWith('# linux ') && !line.startsWith('# nr_cpus '));
  const script = body.map((line) => line.split(' => ')[0]!);

  it('records a kernel and its CPU count', () => {
    expect(lines[0]).toMatch(/^# linux \d+\.\d+/);
    expect(nrCpus).toBeGreaterThan(0);
  });

  it('gives every answer Linux gave', () => {
    expect(replay(script, nrCpus)).toEqual(body);
  });
});
