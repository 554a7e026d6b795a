/**
 * The simulator's maps against Linux: fixtures/maps/script.txt was replayed through the real bpf() of Linux
 * 6.18 (fixtures/maps/rebuild.sh, map-script.c) and its answers recorded in linux-results.txt; the same
 * script through createMap and the maps' syscall-side ops must print the same lines. See map-script.c for
 * the script's commands.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv } from '../testing/map-env.js';
import type { BpfMap } from './map.js';
import { createMap } from './registry.js';

const recorded = readFileSync(fileURLToPath(new URL('../../fixtures/maps/linux-results.txt', import.meta.url)), 'utf8');

const NAMES: Readonly<Record<string, number>> = { ...BPF_MAP_TYPE, ...BPF_MAP_F, ...BPF_UPDATE };

/** A '|'-separated list of uapi names (without prefix) or numbers, as map-script.c reads them. */
function valueOf(text: string): number {
  return text.split('|').reduce((acc, part) => (acc | (NAMES[part] ?? Number(part))) >>> 0, 0);
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

/** An LPM trie key `<prefixlen>/<byte>.<byte>...` as struct bpf_lpm_trie_key_u8 of `keySize` bytes (the rest zero). */
function lpmKey(text: string, keySize: number): Uint8Array {
  const [prefixlen = '', data = ''] = text.split('/');
  const key = new Uint8Array(Math.max(keySize, 4));
  new DataView(key.buffer).setUint32(0, Number(prefixlen) >>> 0, true);
  data.split('.').forEach((byte, i) => {
    if (4 + i < key.length) key[4 + i] = Number(byte);
  });
  return key;
}

/** An LPM trie key as map-script.c prints it. */
function lpmText(key: Uint8Array, keySize: number): string {
  return `${new DataView(key.buffer).getUint32(0, true)}/${[...key.subarray(4, keySize)].join('.')}`;
}

/** The first min(8, value_size) bytes as an unsigned integer, as map-script.c prints them. */
function firstU64(bytes: Uint8Array, valueSize: number): string {
  const eight = new Uint8Array(8);
  eight.set(bytes.subarray(0, Math.min(8, valueSize)));
  return new DataView(eight.buffer).getBigUint64(0, true).toString();
}

function replay(lines: readonly string[], nrCpus: number): string[] {
  const env = mapTestEnv({ nrCpus, memoryBytes: 64 << 20 });
  let map: BpfMap | undefined;
  const out: string[] = [];
  for (const line of lines) {
    const [op = '', a = '', b = '', c = '', d = '', e = '', f = ''] = line.split(/\s+/);
    if (op === '' || op.startsWith('#')) {
      out.push(line);
      continue;
    }
    // '-' is a NULL key pointer (keyless QUEUE and STACK); the map ops see no key bytes.
    const key = a === '-' ? new Uint8Array(0) : a.includes('/') && map !== undefined ? lpmKey(a, map.keySize) : u32(Number(a));
    const result = (rc: number, extra?: string): void => void out.push(`${line} => ${rc}${extra === undefined ? '' : ` ${extra}`}`);
    if (op === 'create' || op === 'close') {
      map?.free();
      map = undefined;
      if (op === 'close') {
        result(0);
        continue;
      }
      const created = createMap(
        { mapType: valueOf(a), keySize: Number(b), valueSize: Number(c), maxEntries: Number(d), mapFlags: valueOf(e), mapExtra: f === '' ? 0 : Number(f) },
        env,
      );
      if (typeof created !== 'number') map = created;
      result(typeof created === 'number' ? created : 0);
      continue;
    }
    if (map === undefined) {
      result(-Errno.EBADF);
      continue;
    }
    const slot = map.userValueSize === map.valueSize ? map.valueSize : map.userValueSize / nrCpus;
    const value = new Uint8Array(map.userValueSize);
    if (op === 'update') {
      const v = u64(BigInt(b));
      for (let off = 0; off < map.userValueSize; off += slot) value.set(v.subarray(0, Math.min(8, map.valueSize)), off);
      result(map.updateSys(key, value, valueOf(c)));
    } else if (op === 'lookup' || op === 'lookup_and_delete') {
      const flags = b === '' ? 0 : valueOf(b);
      const rc = op === 'lookup' ? map.lookupSys(key, value, flags) : map.lookupAndDeleteSys(key, value, flags);
      result(rc, rc === 0 ? firstU64(value, map.valueSize) : '0');
    } else if (op === 'contains') {
      // MAP_LOOKUP_ELEM with the value to test copied in (a bloom filter's peek).
      value.set(u64(BigInt(a)).subarray(0, Math.min(8, map.valueSize)));
      result(map.lookupSys(new Uint8Array(0), value, b === '' ? 0 : valueOf(b)));
    } else if (op === 'delete') {
      result(map.deleteSys(key));
    } else if (op === 'next') {
      const next = new Uint8Array(Math.max(4, map.keySize));
      const rc = map.getNextKey(a === '-' ? null : key, next);
      result(rc, rc !== 0 ? '0' : map.type === BPF_MAP_TYPE.LPM_TRIE ? lpmText(next, map.keySize) : String(new DataView(next.buffer).getUint32(0, true)));
    } else {
      throw new Error(`linux-results.txt: unknown command '${op}'`);
    }
  }
  map?.free();
  return out;
}

describe('maps replay Linux 6.18', () => {
  const lines = recorded.trimEnd().split('\n');
  const nrCpus = Number(/^# nr_cpus (\d+)$/m.exec(recorded)?.[1] ?? 'NaN');
  const script = lines.filter((line) => !line.startsWith('# linux ') && !line.startsWith('# nr_cpus ')).map((line) => line.split(' => ')[0]!);

  it('records a kernel and its CPU count', () => {
    expect(lines[0]).toMatch(/^# linux \d+\.\d+/);
    expect(nrCpus).toBeGreaterThan(0);
  });

  it('gives every answer Linux gave', () => {
    expect(replay(script, nrCpus)).toEqual(lines.filter((line) => !line.startsWith('# linux ') && !line.startsWith('# nr_cpus ')));
  });
});
