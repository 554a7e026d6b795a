/**
 * cgroup programs end to end: a clang object (fixtures/attach/src/cg_filter.bpf.c) loaded by the loader; its
 * cgroup_skb programs attached to one cgroup with the loader's attach() (cgroup links, as libbpf's
 * bpf_program__attach_cgroup), its sock_create program to another with BPF_PROG_ATTACH; workloads moved into
 * those cgroups through cgroup.procs send UDP over lo and create sockets; user space reads the counters, the
 * per-cgroup storage, the queries and the link info.
 */
import { readFileSync } from 'node:fs';
import { attachProgram, type LoadedObject } from '@ebpf-sim/loader';
import {
  AF,
  BPF_ATTACH_TYPE,
  BPF_F_ATTACH,
  BPF_F_QUERY_EFFECTIVE,
  BPF_LINK_INFO,
  BPF_LINK_INFO_CGROUP,
  BPF_LINK_TYPE,
  Errno,
  ETH_P,
  MSG,
  O,
  SOCK,
  htons,
  Libc,
  sockaddrIn,
  type UserProgram,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel, openAndLoad } from '../loader/corpus.js';
import { arrayU64s, loadAttachObject, mapFd, progFd } from './rawtp-attach.js';

/** Write `text` to `path`: the write's result. */
function* writeFile(libc: Libc, path: string, text: string): Generator<number, number, number> {
  const fd = yield* libc.open(path, O.WRONLY);
  if (fd < 0) return fd;
  const ret = yield* libc.write(fd, text);
  yield* libc.close(fd);
  return ret;
}

/** The inode number of `path` (a cgroup directory's is the cgroup id). */
function* inode(libc: Libc, path: string): Generator<number, number, number> {
  const st = yield* libc.stat(path);
  if (!st.ok) throw new Error(`stat ${path}: ${st.errno}`);
  return st.value.ino;
}

/** Fork a child running `body` and wait for it. */
function* inChild(libc: Libc, body: (child: Libc) => Generator<number, void, number>): Generator<number, void, number> {
  const child: UserProgram = function* (ctx) {
    yield* body(new Libc(ctx));
    return 0;
  };
  expect(yield* libc.fork(child)).toBeGreaterThan(0);
  yield* libc.wait4();
}

describe('cgroup programs with a clang object (cg_filter.bpf.o)', () => {
  it('count and drop egress UDP of one cgroup, count its ingress, refuse sockets in another; storage, query and link info as Linux', () => {
    const seen: Record<string, unknown> = {};
    inCorpusKernel(function* (libc) {
      const loaded: LoadedObject = yield* loadAttachObject(libc, 'cg_filter');
      expect(yield* libc.mkdir('/sys/fs/cgroup/net')).toBe(0);
      expect(yield* libc.mkdir('/sys/fs/cgroup/nosock')).toBe(0);
      const netId = yield* inode(libc, '/sys/fs/cgroup/net');
      const nosockId = yield* inode(libc, '/sys/fs/cgroup/nosock');
      const netFd = yield* libc.open('/sys/fs/cgroup/net', O.RDONLY | O.DIRECTORY);
      const nosockFd = yield* libc.open('/sys/fs/cgroup/nosock', O.RDONLY | O.DIRECTORY);
      const egress = loaded.programs.get('egress_filter');
      const ingress = loaded.programs.get('ingress_count');
      if (egress === undefined || ingress === undefined) throw new Error('programs missing');
      const egressLink = yield* attachProgram(libc, egress, { cgroupFd: netFd });
      const ingressLink = yield* attachProgram(libc, ingress, { cgroupFd: netFd });
      // sock_create by BPF_PROG_ATTACH without flags: the cgroup holds the program until PROG_DETACH.
      expect(yield* libc.bpfProgAttach(nosockFd, progFd(loaded, 'deny_socket'), BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE)).toBe(0);
      // A non-cgroup fd is EBADF; a CGROUP_SKB program at a sock_create attach type is EINVAL.
      expect(yield* libc.bpfProgAttach(0, progFd(loaded, 'deny_socket'), BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE)).toBe(-Errno.EBADF);
      expect(yield* libc.bpfProgAttach(nosockFd, progFd(loaded, 'egress_filter'), BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE)).toBe(-Errno.EINVAL);

      // A workload in `net`: datagrams to 7777 pass (and arrive), to 9999 fail with EPERM.
      yield* inChild(libc, function* (child) {
        expect(yield* writeFile(child, '/sys/fs/cgroup/net/cgroup.procs', '0\n')).toBe(2);
        const receiver = yield* child.socket(AF.INET, SOCK.DGRAM, 0);
        expect(yield* child.bind(receiver, sockaddrIn('127.0.0.1', 7777))).toBe(0);
        const sender = yield* child.socket(AF.INET, SOCK.DGRAM, 0);
        seen.pass1 = yield* child.sendto(sender, 'hello', 0, sockaddrIn('127.0.0.1', 7777));
        seen.blocked = yield* child.sendto(sender, 'nope', 0, sockaddrIn('127.0.0.1', 9999));
        seen.pass2 = yield* child.sendto(sender, 'again', 0, sockaddrIn('127.0.0.1', 7777));
        const first = yield* child.recvfrom(receiver, 64, MSG.DONTWAIT);
        const second = yield* child.recvfrom(receiver, 64, MSG.DONTWAIT);
        seen.received = [first, second].map((r) => (r.ret > 0 ? child.decode(r.data) : r.ret));
        seen.cgroupOfChild = yield* readText(child, '/proc/self/cgroup');
      });
      // A workload in `nosock`: inet sockets are refused; packet sockets are not inet (no hook).
      yield* inChild(libc, function* (child) {
        expect(yield* writeFile(child, '/sys/fs/cgroup/nosock/cgroup.procs', '0\n')).toBe(2);
        seen.udpRefused = yield* child.socket(AF.INET, SOCK.DGRAM, 0);
        seen.tcpRefused = yield* child.socket(AF.INET, SOCK.STREAM, 0);
        seen.packetAllowed = (yield* child.socket(AF.PACKET, SOCK.RAW, htons(ETH_P.ALL))) >= 0;
      });
      // The root cgroup runs none of them.
      const rootSock = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      seen.rootSend = yield* libc.sendto(rootSock, 'free', 0, sockaddrIn('127.0.0.1', 9999));

      seen.counts = yield* arrayU64s(libc, mapFd(loaded, 'counts'), 4);
      seen.refusedCgroup = (yield* arrayU64s(libc, mapFd(loaded, 'refused_cgroup'), 1))[0];
      seen.nosockId = nosockId;
      // The cgroup storage of (net, egress): struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; }.
      const key = new Uint8Array(16);
      new DataView(key.buffer).setBigUint64(0, BigInt(netId), true);
      new DataView(key.buffer).setUint32(8, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS, true);
      const traffic = yield* libc.bpfMapLookup(mapFd(loaded, 'per_cgroup'), key, 16);
      seen.traffic = traffic.ok ? [new DataView(traffic.value.buffer, traffic.value.byteOffset).getBigUint64(0, true)] : traffic.errno;

      // PROG_QUERY: a link makes the list ALLOW_MULTI; the direct attach has no flags.
      const egressQuery = yield* libc.bpfProgQuery(netFd, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS, 4);
      seen.egressQuery = [egressQuery.ret, egressQuery.count, egressQuery.attachFlags, egressQuery.revision];
      const sockQuery = yield* libc.bpfProgQuery(nosockFd, BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE, 4);
      seen.sockQuery = [sockQuery.ret, sockQuery.count, sockQuery.attachFlags];
      // A child of `net` inherits its effective programs (BPF_F_QUERY_EFFECTIVE), while having none of its own.
      expect(yield* libc.mkdir('/sys/fs/cgroup/net/sub')).toBe(0);
      const subFd = yield* libc.open('/sys/fs/cgroup/net/sub', O.RDONLY | O.DIRECTORY);
      const own = yield* libc.bpfProgQuery(subFd, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS, 4);
      const effective = yield* libc.bpfAttr('PROG_QUERY', {
        target_fd: subFd,
        attach_type: BPF_ATTACH_TYPE.CGROUP_INET_EGRESS,
        query_flags: BPF_F_QUERY_EFFECTIVE,
      });
      seen.subQuery = [own.count, effective.ret, effective.attr.count];
      seen.egressIds = egressQuery.progIds;

      // Link info: BPF_LINK_TYPE_CGROUP with the cgroup id and attach type.
      const info = yield* libc.bpfLinkGetInfo(egressLink.fd);
      if (!info.ok) throw new Error(`link info: ${info.errno}`);
      const union = new DataView(info.value.union.buffer, info.value.union.byteOffset);
      seen.linkInfo = [
        info.value.type === BPF_LINK_TYPE.CGROUP,
        Number(union.getBigUint64(BPF_LINK_INFO_CGROUP.cgroup_id - BPF_LINK_INFO.union, true)) === netId,
        union.getUint32(BPF_LINK_INFO_CGROUP.attach_type - BPF_LINK_INFO.union, true),
      ];

      // Detached, `nosock` allows sockets again; a second detach finds nothing.
      expect(yield* libc.bpfProgDetach(nosockFd, progFd(loaded, 'deny_socket'), BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE)).toBe(0);
      expect(yield* libc.bpfProgDetach(nosockFd, progFd(loaded, 'deny_socket'), BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE)).toBe(-Errno.ENOENT);
      yield* inChild(libc, function* (child) {
        yield* writeFile(child, '/sys/fs/cgroup/nosock/cgroup.procs', '0\n');
        seen.afterDetach = (yield* child.socket(AF.INET, SOCK.DGRAM, 0)) >= 0;
      });
      yield* egressLink.destroy();
      yield* ingressLink.destroy();
      yield* inChild(libc, function* (child) {
        yield* writeFile(child, '/sys/fs/cgroup/net/cgroup.procs', '0\n');
        const sender = yield* child.socket(AF.INET, SOCK.DGRAM, 0);
        seen.afterLinks = yield* child.sendto(sender, 'x', 0, sockaddrIn('127.0.0.1', 9999));
      });
    });
    expect(seen.pass1).toBe(5);
    expect(seen.blocked).toBe(-Errno.EPERM);
    expect(seen.pass2).toBe(5);
    expect(seen.received).toEqual(['hello', 'again']);
    expect(seen.cgroupOfChild).toBe('0::/net\n');
    expect(seen.udpRefused).toBe(-Errno.EPERM);
    expect(seen.tcpRefused).toBe(-Errno.EPERM);
    expect(seen.packetAllowed).toBe(true);
    expect(seen.rootSend).toBe(4);
    // 2 passed, 1 dropped at egress; 2 arrived at the receiver in `net`; 2 sockets refused.
    expect(seen.counts).toEqual([2, 1, 2, 2]);
    expect(seen.refusedCgroup).toBe(seen.nosockId);
    expect(seen.traffic).toEqual([3n]);
    // count 1, BPF_F_ALLOW_MULTI, revision 1 (one attach).
    expect(seen.egressQuery).toEqual([0, 1, BPF_F_ATTACH.ALLOW_MULTI, 1]);
    expect(seen.sockQuery).toEqual([0, 1, 0]);
    expect(seen.subQuery).toEqual([0, 0, 1]);
    expect(seen.linkInfo).toEqual([true, true, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS]);
    expect(seen.afterDetach).toBe(true);
    expect(seen.afterLinks).toBe(1);
  });
});

describe('cgroup attach rules (kernel/bpf/cgroup.c), as Linux 6.18 answered them with bpftool', () => {
  it('none / override / multi: descendants, replacement, legacy detach, duplicates and the effective order (own programs first)', () => {
    const seen: Record<string, unknown> = {};
    inCorpusKernel(function* (libc) {
      const loaded: LoadedObject = yield* loadAttachObject(libc, 'cg_filter');
      const ingress = progFd(loaded, 'ingress_count');
      const egress = progFd(loaded, 'egress_filter');
      const idOf = function* (fd: number): Generator<number, number, number> {
        const info = yield* libc.bpfProgGetInfo(fd);
        if (!info.ok) throw new Error(`prog info: ${info.errno}`);
        return info.value.id;
      };
      const ingressId = yield* idOf(ingress);
      const egressId = yield* idOf(egress);
      const IN = BPF_ATTACH_TYPE.CGROUP_INET_INGRESS;
      yield* libc.mkdir('/sys/fs/cgroup/r');
      yield* libc.mkdir('/sys/fs/cgroup/r/c');
      const r = yield* libc.open('/sys/fs/cgroup/r', O.RDONLY | O.DIRECTORY);
      const c = yield* libc.open('/sys/fs/cgroup/r/c', O.RDONLY | O.DIRECTORY);
      const ids = function* (fd: number, effective: boolean): Generator<number, number[], number> {
        if (!effective) return (yield* libc.bpfProgQuery(fd, IN, 8)).progIds;
        const mark = libc.stack.mark();
        try {
          const out = libc.stack.pushBytes(new Uint8Array(32));
          const { attr } = yield* libc.bpfAttr('PROG_QUERY', { target_fd: fd, attach_type: IN, query_flags: BPF_F_QUERY_EFFECTIVE, prog_ids: out, count: 8 });
          const raw = libc.stack.readBytes(out, 4 * attr.count);
          return Array.from({ length: attr.count }, (_, i) => new DataView(raw.buffer, raw.byteOffset).getUint32(4 * i, true));
        } finally {
          libc.stack.release(mark);
        }
      };
      const F = BPF_F_ATTACH;
      seen.steps = [
        // A program without flags on r forbids programs below it and a multi list on top of it.
        yield* libc.bpfProgAttach(r, ingress, IN),
        yield* libc.bpfProgAttach(c, egress, IN),
        yield* libc.bpfProgAttach(r, egress, IN, { attachFlags: F.ALLOW_MULTI }),
        // Attaching without flags again replaces it.
        yield* libc.bpfProgAttach(r, egress, IN),
      ];
      seen.replaced = yield* ids(r, false);
      // The legacy detach of a none/override list takes whatever is there, whichever program the fd names.
      seen.legacyDetach = yield* libc.bpfProgDetach(r, ingress, IN);
      seen.empty = (yield* libc.bpfProgQuery(r, IN, 8)).count;
      // An overridable program yields to the child's own.
      seen.override = [yield* libc.bpfProgAttach(r, ingress, IN, { attachFlags: F.ALLOW_OVERRIDE }), yield* libc.bpfProgAttach(c, egress, IN)];
      seen.overridden = yield* ids(c, true);
      yield* libc.bpfProgDetach(c, 0, IN);
      yield* libc.bpfProgDetach(r, 0, IN);
      // Multi: the same program twice is EINVAL; a child runs its own programs, then its parent's.
      seen.multi = [
        yield* libc.bpfProgAttach(r, ingress, IN, { attachFlags: F.ALLOW_MULTI }),
        yield* libc.bpfProgAttach(r, ingress, IN, { attachFlags: F.ALLOW_MULTI }),
        yield* libc.bpfProgAttach(c, egress, IN, { attachFlags: F.ALLOW_MULTI }),
        // BPF_F_REPLACE needs BPF_F_ALLOW_MULTI; override and multi together are EINVAL; detaching from a multi list needs the program.
        yield* libc.bpfProgAttach(r, egress, IN, { attachFlags: F.REPLACE, replaceFd: ingress }),
        yield* libc.bpfProgAttach(r, egress, IN, { attachFlags: F.ALLOW_MULTI | F.ALLOW_OVERRIDE }),
        yield* libc.bpfProgDetach(r, 0, IN),
      ];
      seen.effective = yield* ids(c, true);
      seen.ids = [ingressId, egressId];
    });
    const [ingressId, egressId] = seen.ids as number[];
    expect(seen.steps).toEqual([0, -Errno.EPERM, -Errno.EPERM, 0]);
    expect(seen.replaced).toEqual([egressId]);
    expect(seen.legacyDetach).toBe(0);
    expect(seen.empty).toBe(0);
    expect(seen.override).toEqual([0, 0]);
    expect(seen.overridden).toEqual([egressId]);
    expect(seen.multi).toEqual([0, -Errno.EINVAL, 0, -Errno.EINVAL, -Errno.EINVAL, -Errno.EINVAL]);
    expect(seen.effective).toEqual([egressId, ingressId]);
  });
});

describe('cgroup local storage (CGRP_STORAGE) with the corpus object trace_btf.bpf.o', () => {
  it("tp_btf/cgroup_mkdir counts in the new cgroup's storage; user space reads it by the cgroup directory's fd", () => {
    const seen: Record<string, unknown> = {};
    inCorpusKernel(function* (libc) {
      const bytes = new Uint8Array(readFileSync(new URL('../../../../packages/loader/fixtures/corpus/obj/trace_btf.bpf.o', import.meta.url)));
      const result = yield* openAndLoad(libc, 'trace_btf.bpf.o', bytes);
      if (!result.ok) throw new Error(result.error);
      const prog = result.loaded.programs.get('on_cgroup_mkdir');
      if (prog === undefined) throw new Error('no on_cgroup_mkdir');
      const link = yield* attachProgram(libc, prog);
      expect(yield* libc.mkdir('/sys/fs/cgroup/made')).toBe(0);
      const dir = yield* libc.open('/sys/fs/cgroup/made', O.RDONLY | O.DIRECTORY);
      const key = new Uint8Array(new Int32Array([dir]).buffer);
      const value = yield* libc.bpfMapLookup(mapFd(result.loaded, 'cgroup_mkdirs'), key, 8);
      seen.value = value.ok ? new DataView(value.value.buffer, value.value.byteOffset).getBigUint64(0, true) : value.errno;
      // The root was not made while the program ran: no value; a file that is not a cgroup directory is EBADF.
      const root = yield* libc.open('/sys/fs/cgroup', O.RDONLY | O.DIRECTORY);
      seen.root = (yield* libc.bpfMapLookup(mapFd(result.loaded, 'cgroup_mkdirs'), new Uint8Array(new Int32Array([root]).buffer), 8)).ok;
      const notCgroup = yield* libc.open('/sys/fs/cgroup/made/cgroup.procs', O.RDONLY);
      const bad = yield* libc.bpfMapLookup(mapFd(result.loaded, 'cgroup_mkdirs'), new Uint8Array(new Int32Array([notCgroup]).buffer), 8);
      seen.bad = bad.ok ? 'found' : bad.errno;
      yield* link.destroy();
    });
    expect(seen.value).toBe(1n);
    expect(seen.root).toBe(false);
    expect(seen.bad).toBe(Errno.EBADF);
  });
});

/** A whole file as text. */
function* readText(libc: Libc, path: string): Generator<number, string, number> {
  const fd = yield* libc.open(path, O.RDONLY);
  const all = yield* libc.readAll(fd);
  yield* libc.close(fd);
  return all.ok ? libc.decode(all.value) : `errno ${all.errno}`;
}
