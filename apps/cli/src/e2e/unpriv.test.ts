/**
 * Unprivileged BPF end to end (kernel.unprivileged_bpf_disabled 0): a user without capabilities loads the socket
 * filters of packages/bpf/fixtures/unpriv (recorded on Linux 6.18 as uid 65534) through bpf(). The one with a
 * variable map-value offset is accepted with Linux's Spectre v1 masking: root reads back the same xlated
 * instructions as Linux's (BPF_REG_AX masking with alu_limit 7, `nospec` after the key's stack store, the array
 * lookup inlined with its index mask) and the same verified_insns; attached to a UDP socket it runs as Linux runs
 * it, that very program: the VM's instructions are the xlated ones, the BPF_REG_AX (r11) masking and the
 * `nospec` included; an offset within the alu_limit passes the mask unchanged, so the offset selects the byte it
 * should (the datagram is trimmed to that length; the lengths received are those of Linux's run, recorded in
 * linux-run.json). The ones Linux refuses are refused with its errno and line. Loaded by root, the same program gets no masking.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { AF, BPF_MAP_TYPE, BPF_PROG_TYPE, Libc, SO, SOCK, SOL, sockaddrIn, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const DIR = join(repoRoot(), 'packages', 'bpf', 'fixtures', 'unpriv');

interface Fixture {
  readonly name: string;
  readonly slots: readonly string[];
}
interface Recorded {
  readonly name: string;
  readonly errno: number;
  readonly log1: string;
  readonly xlated?: readonly string[];
}

const programs = JSON.parse(readFileSync(join(DIR, 'programs.json'), 'utf8')) as Fixture[];
/** The sanitised san_map_add run on Linux 6.18 (fixtures/unpriv/record_run.py). */
const linuxRun = JSON.parse(readFileSync(join(DIR, 'linux-run.json'), 'utf8')) as {
  readonly payload: number;
  readonly runs: ReadonlyArray<{ readonly selector: number; readonly kept: number; readonly received: number }>;
};
const recorded = (JSON.parse(readFileSync(join(DIR, 'linux-results.json'), 'utf8')) as { programs: Recorded[] }).programs;

function fixture(name: string): { readonly slots: readonly string[]; readonly linux: Recorded } {
  const p = programs.find((x) => x.name === name);
  const linux = recorded.find((x) => x.name === name);
  if (p === undefined || linux === undefined) throw new Error(`no fixture ${name}`);
  return { slots: p.slots, linux };
}

/** The program's bytes, its map's LD imm64 given `mapFd`. */
function insnsWithMap(slots: readonly string[], mapFd: number): Uint8Array {
  const out = new Uint8Array(slots.length * 8);
  slots.forEach((hex, i) => {
    const bytes = Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
    if (bytes[0] === 0x18 && (bytes[1] ?? 0) >> 4 === 1) new DataView(bytes.buffer).setInt32(4, mapFd, true);
    out.set(bytes, i * 8);
  });
  return out;
}

/** Slots as hex, a map's LD imm64 (the kernel's map address) masked. */
function maskedSlots(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const hex = Array.from(bytes.subarray(at, at + 8), (b) => b.toString(16).padStart(2, '0')).join('');
    if (bytes[at] === 0x18 && (bytes[at + 1] ?? 0) >> 4 !== 0) {
      out.push(`${hex.slice(0, 8)}MAP`, 'MAP');
      at += 8;
    } else out.push(hex);
  }
  return out;
}

const maskedHex = (slots: readonly string[]): string[] => {
  const bytes = new Uint8Array(slots.length * 8);
  slots.forEach((hex, i) =>
    bytes.set(
      Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)),
      i * 8,
    ),
  );
  return maskedSlots(bytes);
};

/** The value: byte 0 selects the byte (value[value[0] & 7]) the filter returns as the length to keep (UDP header included). */
function value(selector: number, kept: number): Uint8Array {
  const v = new Uint8Array(16);
  v[0] = selector;
  v[selector & 7] = kept;
  return v;
}

describe('unprivileged socket filters sanitised as Linux 6.18 does', () => {
  it("accepts the masked map-value arithmetic, shows Linux's xlated program to root, and runs it on a socket", () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    bpf.sysctls.unprivBpfDisabled.value = 0;
    const seen: Record<string, unknown> = {};
    const user: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const map = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const key = new Uint8Array(4);
      seen.update = yield* libc.bpfMapUpdate(map, key, value(5, 8 + 12));
      const add = fixture('san_map_add');
      const loaded = yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.SOCKET_FILTER,
        insns: insnsWithMap(add.slots, map),
        license: 'GPL',
        name: 'san_map_add',
        logLevel: 1,
        logSize: 1 << 16,
      });
      const fd = loaded.ret;
      seen.fd = fd >= 0 ? true : loaded.log;
      // Refused as Linux refuses them: errno and the line sanitize_check_bounds / sanitize_err print.
      for (const name of ['san_map_sub', 'san_mixed_bounds', 'san_paths']) {
        const f = fixture(name);
        const res = yield* libc.bpfProgLoad({
          progType: BPF_PROG_TYPE.SOCKET_FILTER,
          insns: insnsWithMap(f.slots, map),
          license: 'GPL',
          logLevel: 1,
          logSize: 1 << 16,
        });
        const lines = res.log.split('\n').filter((l) => l !== '' && !l.startsWith('hint: '));
        const linuxLines = f.linux.log1.split('\n').filter((l) => l !== '');
        seen[name] = { ret: res.ret, key: lines[lines.length - 2] };
        expect({ ret: res.ret, key: lines[lines.length - 2] }).toEqual({ ret: -f.linux.errno, key: linuxLines[linuxLines.length - 2] });
      }
      // The filter keeps value[value[0] & 7] bytes of each datagram.
      const rx = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      expect(yield* libc.bind(rx, sockaddrIn('127.0.0.1', 7000))).toBe(0);
      expect(yield* libc.setsockoptInt(rx, SOL.SOCKET, SO.ATTACH_BPF, fd)).toBe(0);
      const tx = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      // Linux's run (fixtures/unpriv/linux-run.json): each value written, then one datagram, its length received.
      const payload = 'x'.repeat(linuxRun.payload);
      const received: number[] = [];
      for (const run of linuxRun.runs) {
        yield* libc.bpfMapUpdate(map, key, value(run.selector, run.kept));
        yield* libc.sendto(tx, payload, 0, sockaddrIn('127.0.0.1', 7000));
        received.push((yield* libc.recvfrom(rx, 64)).ret);
      }
      seen.received = received;
      // The unprivileged loader itself sees no instructions (bpf_prog_get_info_by_fd without CAP_BPF).
      const own = yield* libc.bpfProgGetInfo(fd, 0, 4096);
      seen.ownXlatedLen = own.ok ? own.value.xlatedProgLen : -1;
      // Root inspects the program meanwhile.
      yield* libc.nanosleep(1e9);
      return 0;
    };
    const root: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      yield* libc.nanosleep(5e8);
      const id = yield* libc.bpfProgGetNextId(0);
      const fd = yield* libc.bpfProgGetFdById(id);
      const info = yield* libc.bpfProgGetInfo(fd, 0, 4096);
      if (!info.ok) throw new Error('no info');
      seen.xlated = maskedSlots(info.value.xlatedProgInsns);
      // What the socket runs: the program the VM loaded.
      seen.running = maskedSlots(bpf.progs.progs.find(info.value.id)?.program.bytes() ?? new Uint8Array(0));
      seen.verifiedInsns = info.value.verifiedInsns;
      // Root (CAP_PERFMON) loading the same program: no masking, no barriers.
      const map = yield* libc.bpfMapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 16, max_entries: 1 });
      const privFd = (yield* libc.bpfProgLoad({
        progType: BPF_PROG_TYPE.SOCKET_FILTER,
        insns: insnsWithMap(fixture('san_map_add').slots, map),
        license: 'GPL',
      })).ret;
      const privInfo = yield* libc.bpfProgGetInfo(privFd, 0, 4096);
      const priv = privInfo.ok ? maskedSlots(privInfo.value.xlatedProgInsns) : [];
      seen.privileged = { ax: priv.some((s) => s.slice(2, 4).includes('b')), nospec: priv.some((s) => s.startsWith('c2')) };
      return 0;
    };
    kernel.vfs.registerProgram('/bin/user', user);
    kernel.vfs.registerProgram('/bin/root', root);
    kernel.spawn('/bin/user', { uid: 1000 });
    kernel.spawn('/bin/root');
    kernel.run({ untilNs: 10e9 });
    expect(kernel.crashes).toEqual([]);
    const linux = fixture('san_map_add').linux;
    expect(seen.update).toBe(0);
    expect(seen.fd).toBe(true);
    expect(seen.ownXlatedLen).toBe(0);
    expect(seen.xlated).toEqual(maskedHex(linux.xlated ?? []));
    // The VM runs Linux's xlated program itself: r11 (BPF_REG_AX) and `nospec` included.
    expect(seen.running).toEqual(seen.xlated);
    expect((seen.running as string[]).some((s) => s.startsWith('c2'))).toBe(true);
    expect(seen.verifiedInsns).toBe(Number(/processed (\d+) insns/.exec(linux.log1)?.[1]));
    // A UDP socket's filter sees the UDP header too (sk_filter_trim_cap keeps at least its 8 bytes): the lengths
    // received are Linux's, for the program run with its masking.
    expect(seen.received).toEqual(linuxRun.runs.map((r) => r.received));
    expect(seen.privileged).toEqual({ ax: false, nospec: false });
  });
});
