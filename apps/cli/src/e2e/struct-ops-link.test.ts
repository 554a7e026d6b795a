/**
 * struct_ops links end to end (fixtures/attach/src/sopsl_cc.bpf.c): two BPF TCP congestion controls in
 * SEC(".struct_ops.link"), maps made with BPF_F_LINK. The map update only readies a map; BPF_LINK_CREATE
 * (attach_type BPF_STRUCT_OPS, the map's fd) registers it, as libbpf's bpf_map__attach_struct_ops does. A loopback
 * connection runs through the first; LINK_UPDATE moves the link to the second (bpf_link__update_map) and a new
 * connection runs through that; LINK_DETACH and the link's last close unregister. The first answers (load, the map's
 * flags and state, LINK_CREATE before the update) are Linux 6.18's (fixtures/attach/record-sopsl.txt, recorded with
 * record-sopsl.c); the rest follows kernel/bpf/bpf_struct_ops.c and net/ipv4/tcp_cong.c (see record-sopsl.c: the
 * recording run oopsed that kernel in tcp_update_congestion_control, so the later answers could not be recorded).
 */
import { readFileSync } from 'node:fs';
import { attachStructOps, updateStructOpsLink } from '@ebpf-sim/loader';
import { AF, BPF_ATTACH_TYPE, BPF_F_REPLACE, BPF_LINK_TYPE, Errno, SOCK, SOL, TCP_SOCKOPT, sockaddrIn, type Libc, type Sys } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, mapFd } from './rawtp-attach.js';

const LINUX = new Map(
  readFileSync(new URL('../../fixtures/attach/record-sopsl.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.includes(' => '))
    .map((line) => line.split(' => ') as [string, string]),
);
const linux = (name: string): string => {
  const value = LINUX.get(name);
  if (value === undefined) throw new Error(`record-sopsl.txt has no '${name}'`);
  return value;
};

const BPF_STRUCT_OPS = BPF_ATTACH_TYPE.STRUCT_OPS;
const cname = (name: string): Uint8Array => new TextEncoder().encode(`${name}\0`);
const BSS = ['a_init', 'a_cong_avoid', 'a_acked', 'b_init', 'b_cong_avoid', 'b_acked'] as const;

function* readBss(libc: Libc, fd: number): Sys<Record<string, number>> {
  const value = yield* libc.bpfMapLookup(fd, new Uint8Array(4), 8 * BSS.length);
  if (!value.ok) throw new Error(`.bss lookup: ${value.errno}`);
  const view = new DataView(value.value.buffer, value.value.byteOffset);
  return Object.fromEntries(BSS.map((name, i) => [name, Number(view.getBigUint64(8 * i, true))]));
}

/** refcnt and state of a struct_ops map's value (bpf_struct_ops_map_sys_lookup_elem). */
function* header(libc: Libc, fd: number, size: number): Sys<string> {
  const value = yield* libc.bpfMapLookup(fd, new Uint8Array(4), size);
  if (!value.ok) return `-${value.errno}`;
  const view = new DataView(value.value.buffer, value.value.byteOffset);
  return `0 refcnt ${view.getUint32(0, true)} state ${view.getUint32(4, true)}`;
}

/** One loopback connection with congestion control `cc`: two writes read back, then closed. */
function* connection(libc: Libc, cc: string, port: number): Sys<number> {
  const listener = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
  yield* libc.bind(listener, sockaddrIn('127.0.0.1', port));
  yield* libc.listen(listener, 4);
  const fd = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
  const chosen = yield* libc.setsockoptBytes(fd, SOL.TCP, TCP_SOCKOPT.CONGESTION, cname(cc));
  yield* libc.connect(fd, sockaddrIn('127.0.0.1', port));
  const { fd: peer } = yield* libc.accept(listener);
  for (const word of ['one', 'two']) {
    yield* libc.write(fd, word);
    yield* libc.read(peer, 10);
  }
  yield* libc.nanosleep(200_000_000);
  for (const f of [fd, peer, listener]) yield* libc.close(f);
  yield* libc.nanosleep(200_000_000);
  return chosen;
}

/** Which of the two names TCP has registered (setsockopt TCP_CONGESTION on an unconnected socket: 0 or ENOENT). */
function* available(libc: Libc): Sys<string> {
  const probe = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
  const names: string[] = ['reno'];
  for (const name of ['sopsl_cc', 'sopsl_cc2']) if ((yield* libc.setsockoptBytes(probe, SOL.TCP, TCP_SOCKOPT.CONGESTION, cname(name))) === 0) names.push(name);
  yield* libc.close(probe);
  return names.join(' ');
}

describe('struct_ops links: sopsl_cc.bpf.o (two .struct_ops.link TCP congestion controls)', () => {
  it('registers through a link, moves with LINK_UPDATE, unregisters with LINK_DETACH and the last close', () => {
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'sopsl_cc');
      const map1 = mapFd(loaded, 'sopsl_cc');
      const map2 = mapFd(loaded, 'sopsl_cc2');
      const info = yield* libc.bpfMapGetInfo(map1);
      expect(info.ok && `type ${info.value.type} flags 0x${info.value.mapFlags.toString(16)}`).toBe(linux('map'));
      const size = info.ok ? info.value.valueSize : 0;
      expect(yield* header(libc, map1, size)).toBe(linux('lookup before'));
      // Not READY (never written): bpf_struct_ops_valid_to_reg refuses.
      const early = (yield* libc.bpfAttr('LINK_CREATE', { map_fd: map1, attach_type: BPF_STRUCT_OPS })).ret;
      expect(String(early)).toBe(linux('link_create before update'));

      const link = yield* attachStructOps(libc, loaded, 'sopsl_cc');
      expect(link).toBeGreaterThan(0);
      expect(yield* available(libc)).toBe('reno sopsl_cc');
      // READY (3) still: a link map's update does not make it INUSE; the link holds it.
      expect(yield* header(libc, map1, size)).toBe('0 refcnt 1 state 3');
      const mapId = (fd: number): Generator<number, number, number> =>
        (function* () {
          const i = yield* libc.bpfMapGetInfo(fd);
          return i.ok ? i.value.id : -1;
        })();
      const id1 = yield* mapId(map1);
      const id2 = yield* mapId(map2);
      const linkMap = function* (): Sys<string> {
        const li = yield* libc.bpfLinkGetInfo(link);
        if (!li.ok) return `-${li.errno}`;
        const m = new DataView(li.value.union.buffer, li.value.union.byteOffset).getUint32(0, true);
        return `type ${li.value.type} prog_id ${li.value.progId} map ${m === id1 ? 'sopsl_cc' : m === id2 ? 'sopsl_cc2' : String(m)}`;
      };
      expect(yield* linkMap()).toBe(`type ${BPF_LINK_TYPE.STRUCT_OPS} prog_id 0 map sopsl_cc`);
      const fdinfo = function* (): Sys<string> {
        const fd = yield* libc.open(`/proc/self/fdinfo/${link}`);
        const text = yield* libc.readAll(fd);
        yield* libc.close(fd);
        return text.ok ? new TextDecoder().decode(text.value) : '';
      };
      const lines = (yield* fdinfo()).split('\n');
      expect(lines.filter((l) => /^(link_type|prog_|map_id)/.test(l))).toEqual(['link_type:\tstruct_ops', `map_id:\t${id1}`]);

      // The same map again: TCP has the name already (tcp_register_congestion_control's EEXIST).
      expect((yield* libc.bpfAttr('LINK_CREATE', { map_fd: map1, attach_type: BPF_STRUCT_OPS })).ret).toBe(-Errno.EEXIST);
      // libbpf's attach again: the map's second update is EBUSY (its value never changes), skipped; the link then EEXIST.
      expect(yield* libc.bpfMapUpdate(map1, new Uint8Array(4), new Uint8Array(size))).toBe(-Errno.EBUSY);
      expect(yield* attachStructOps(libc, loaded, 'sopsl_cc')).toBe(-Errno.EEXIST);
      // A link map is not unregistered by deleting its element.
      expect(yield* libc.bpfMapDelete(map1, new Uint8Array(4))).toBe(-Errno.EOPNOTSUPP);
      expect(yield* connection(libc, 'sopsl_cc', 9201)).toBe(0);

      const update = (newMap: number, flags: number, oldMap: number): Sys<number> =>
        (function* () {
          return (yield* libc.bpfAttr('LINK_UPDATE', { link_fd: link, new_map_fd: newMap, flags, old_map_fd: oldMap })).ret;
        })();
      // old_map_fd without BPF_F_REPLACE; a map not yet written (not READY); an fd that is no map.
      expect(yield* update(map2, 0, map1)).toBe(-Errno.EINVAL);
      expect(yield* update(map2, 0, 0)).toBe(-Errno.EINVAL);
      expect(yield* update(link, 0, 0)).toBe(-Errno.EINVAL);
      expect(yield* updateStructOpsLink(libc, loaded, link, 'sopsl_cc2')).toBe(0);
      expect(yield* available(libc)).toBe('reno sopsl_cc2');
      expect(yield* linkMap()).toBe(`type ${BPF_LINK_TYPE.STRUCT_OPS} prog_id 0 map sopsl_cc2`);
      expect(yield* header(libc, map1, size)).toBe('0 refcnt 0 state 3');
      expect(yield* header(libc, map2, size)).toBe('0 refcnt 1 state 3');
      // BPF_F_REPLACE with a map the link does not hold: EPERM.
      expect(yield* update(map1, BPF_F_REPLACE, map1)).toBe(-Errno.EPERM);
      expect(yield* connection(libc, 'sopsl_cc2', 9202)).toBe(0);

      expect(yield* libc.bpfLinkDetach(link)).toBe(0);
      expect(yield* available(libc)).toBe('reno');
      expect(yield* linkMap()).toBe(`type ${BPF_LINK_TYPE.STRUCT_OPS} prog_id 0 map 0`);
      expect((yield* fdinfo()).includes('map_id')).toBe(false);
      expect(yield* header(libc, map2, size)).toBe('0 refcnt 0 state 3');
      // Detached: nothing to update (ENOLINK); detaching again is 0.
      expect(yield* update(map1, 0, 0)).toBe(-Errno.ENOLINK);
      expect(yield* libc.bpfLinkDetach(link)).toBe(0);
      yield* libc.close(link);

      // A new link on the first map; its last close unregisters it.
      const relink = (yield* libc.bpfAttr('LINK_CREATE', { map_fd: map1, attach_type: BPF_STRUCT_OPS })).ret;
      expect(relink).toBeGreaterThan(0);
      expect(yield* available(libc)).toBe('reno sopsl_cc');
      yield* libc.close(relink);
      expect(yield* available(libc)).toBe('reno');

      // Each connection ran its own congestion control's programs: init once, cong_avoid per ACK that grew the window.
      const bss = yield* readBss(libc, mapFd(loaded, '.bss'));
      expect(bss.a_init).toBe(1);
      expect(bss.b_init).toBe(1);
      expect(bss.a_cong_avoid).toBeGreaterThan(0);
      expect(bss.b_cong_avoid).toBe(bss.a_cong_avoid);
      expect(bss.b_acked).toBe(bss.a_acked);
    });
  });
});
