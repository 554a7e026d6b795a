/**
 * Which context accesses the verifier takes, against Linux 6.18: fixtures/ctx-access/ctx-access.c loaded a load
 * and a store of every width at every aligned offset of each skb program type's context (and one word past
 * it) into the real kernel (record.sh) and wrote down each one it took, and each refusal other than the plain
 * EACCES "invalid bpf_context access off=OFF size=SIZE". The same programs go through the simulator's verifier
 * here; the two lists must agree except for the accesses listed below, each with why.
 */
import { readFileSync } from 'node:fs';
import { BPF_ATTACH_TYPE, SK_REUSEPORT_MD, __SK_BUFF } from '@ebpf-sim/uapi';
import { verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../maps.js';
import { progTypeForAttach } from './define.js';
import { PROGRAM_TYPES } from './index.js';

const RESULTS = readFileSync(new URL('../../fixtures/ctx-access/linux-results.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'));

/** The program types ctx-access.c covers, with the expected attach type it loads them with and their context size. */
const COVERED: ReadonlyArray<readonly [name: string, attachType: number, ctxSize: number]> = [
  ['sched_act', 0, __SK_BUFF.size],
  ['lwt_in', 0, __SK_BUFF.size],
  ['lwt_out', 0, __SK_BUFF.size],
  ['lwt_xmit', 0, __SK_BUFF.size],
  ['lwt_seg6local', 0, __SK_BUFF.size],
  ['cgroup_skb', BPF_ATTACH_TYPE.CGROUP_INET_INGRESS, __SK_BUFF.size],
  ['sk_skb', 0, __SK_BUFF.size],
  ['flow_dissector', 0, __SK_BUFF.size],
  ['sk_reuseport', 0, SK_REUSEPORT_MD.size],
];

const SIZE_CODE: Readonly<Record<number, number>> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };

/** The program ctx-access.c loads: `r0 = *(size *)(r1 + off)`, or `r2 = 0; *(size *)(r1 + off) = r2`; then `r0 = 0; exit`. */
function accessProgram(store: boolean, size: number, off: number): Uint8Array {
  const insns: Array<[code: number, regs: number, off: number]> = store
    ? [
        [0xb7, 0x02, 0],
        [0x63 | (SIZE_CODE[size] ?? 0), 0x21, off],
      ]
    : [[0x61 | (SIZE_CODE[size] ?? 0), 0x10, off]];
  insns.push([0xb7, 0x00, 0], [0x95, 0x00, 0]);
  const bytes = new Uint8Array(insns.length * 8);
  const view = new DataView(bytes.buffer);
  insns.forEach(([code, regs, o], i) => {
    view.setUint8(i * 8, code);
    view.setUint8(i * 8 + 1, regs);
    view.setInt16(i * 8 + 2, o, true);
  });
  return bytes;
}

/** The simulator's lines, in ctx-access.c's format and order. */
function ourLines(): string[] {
  const lines: string[] = [];
  const registry = createRegistry();
  for (const [name, attachType, ctxSize] of COVERED) {
    const base = PROGRAM_TYPES.get(name);
    const attached = base === undefined ? undefined : progTypeForAttach(base, attachType);
    if (attached === undefined) throw new Error(`no program type ${name} with attach type ${attachType}`);
    for (const store of [false, true]) {
      for (const size of [1, 2, 4, 8]) {
        for (let off = 0; off < ctxSize + 4; off += size) {
          const result = verify(accessProgram(store, size, off), { progType: attached.desc, registry });
          const head = `${name} ${store ? 'store' : 'load'} ${size} ${off} -> `;
          if (result.accepted) {
            lines.push(`${head}ok`);
            continue;
          }
          const error = result.error;
          const text = error === null ? '' : [error.message, ...error.detail].join(' | ');
          const errno = -(error?.errno ?? 0);
          if (errno !== -13 || text !== `invalid bpf_context access off=${off} size=${size}`) lines.push(`${head}${errno} ${text}`);
        }
      }
    }
  }
  return lines;
}

/** Accesses Linux takes and the simulator refuses: what they read is not modelled yet. */
interface KnownDifference {
  readonly why: string;
  readonly types: readonly string[];
  /** The loads, by offset range [from, to) in the context. */
  readonly from: number;
  readonly to: number;
}

const NO_STRUCT_SOCK = 'the simulated kernel has no struct sock yet, so nothing a socket field or pointer reads exists';
const KNOWN: readonly KnownDifference[] = [
  {
    why: `__sk_buff.sk (PTR_TO_SOCK_COMMON_OR_NULL): ${NO_STRUCT_SOCK}`,
    types: ['sched_act', 'lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local', 'cgroup_skb', 'sk_skb'],
    from: __SK_BUFF.sk,
    to: __SK_BUFF.sk + 8,
  },
  {
    why: `__sk_buff.family .. local_port (through skb->sk): ${NO_STRUCT_SOCK}`,
    types: ['cgroup_skb', 'sk_skb'],
    from: __SK_BUFF.family,
    to: __SK_BUFF.data_meta,
  },
  {
    why: 'tstamp_type: the simulated sk_buff has no tstamp_type bits (no delivery-time timestamps, no tc ingress hook)',
    types: ['sched_act'],
    from: __SK_BUFF.tstamp_type,
    to: __SK_BUFF.tstamp_type + 1,
  },
  {
    why: `sk_reuseport_md.ip_protocol (skb->sk->sk_protocol): ${NO_STRUCT_SOCK}`,
    types: ['sk_reuseport'],
    from: SK_REUSEPORT_MD.ip_protocol,
    to: SK_REUSEPORT_MD.bind_inany,
  },
  { why: `sk_reuseport_md.sk and migrating_sk: ${NO_STRUCT_SOCK}`, types: ['sk_reuseport'], from: SK_REUSEPORT_MD.sk, to: SK_REUSEPORT_MD.size },
];

/** The entry explaining a load Linux takes and the simulator refuses, if any. */
function knownFor(line: string): KnownDifference | undefined {
  const match = /^(\S+) load \d+ (\d+) -> ok$/.exec(line);
  if (match === null) return undefined;
  const [, type = '', off = ''] = match;
  return KNOWN.find((k) => k.types.includes(type) && Number(off) >= k.from && Number(off) < k.to);
}

describe('context accesses of the skb program types, as Linux 6.18 takes them', () => {
  it('recorded on Linux 6.18', () => {
    expect(readFileSync(new URL('../../fixtures/ctx-access/linux-results.txt', import.meta.url), 'utf8')).toMatch(/^# linux 6\.18\./);
  });

  it('takes and refuses the same accesses', () => {
    const ours = new Set(ourLines());
    const linux = new Set(RESULTS);
    const onlyLinux = RESULTS.filter((line) => !ours.has(line));
    const onlyOurs = [...ours].filter((line) => !linux.has(line));
    expect({ unexplained: onlyLinux.filter((line) => knownFor(line) === undefined), onlyOurs }).toEqual({ unexplained: [], onlyOurs: [] });
    // Every listed difference still is one (the list stays true as the model grows).
    const explained = new Set(onlyLinux.map(knownFor));
    expect(KNOWN.filter((k) => !explained.has(k)).map((k) => k.why)).toEqual([]);
  });
});
