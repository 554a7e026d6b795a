/**
 * bpftool's `net` commands (tools/bpf/bpftool/net.c): attach / detach a program at XDP or tcx of a device, and
 * show what is attached.
 *
 * tcx is as bpftool does it: BPF_PROG_ATTACH / BPF_PROG_DETACH with the ifindex as target (prepend: BPF_F_BEFORE).
 * XDP differs: bpftool attaches through netlink (IFLA_XDP, bpf_xdp_attach), which the model has no socket for;
 * here an XDP link (BPF_LINK_CREATE with BPF_XDP and the same XDP_FLAGS_* mode flags) is created and held by the
 * commands' process for as long as it lives (the whole batch), and `overwrite` replaces the program of an
 * existing XDP link on the device with BPF_LINK_UPDATE. `net show` lists XDP and tcx links (bpftool asks netlink
 * and BPF_PROG_QUERY: programs attached with BPF_PROG_ATTACH at tcx show once PROG_QUERY is there).
 */
import { BPF_ATTACH_TYPE, BPF_F_ATTACH, BPF_LINK_INFO_XDP, BPF_LINK_TYPE, O, XDP_FLAGS, strerror, type Libc, type Sys } from '@ebpf-sim/uapi';
import { CliError, UsageError } from '../../command.js';
import { PROG_KIND, oneFd, parseProgHandle } from './handles.js';
import { interfaceIndex, interfaceName, linkInfo, type LinkInfo } from './link.js';
import { jsonWriter } from './print.js';
import type { StepContext } from './session.js';
import type { Verb } from './verb.js';
import type { Words } from './words.js';

/** bpftool's attach_type_strings: how `net attach` names where to attach. */
const ATTACH_TYPES = ['xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload', 'tcx_ingress', 'tcx_egress'] as const;
type NetAttachType = (typeof ATTACH_TYPES)[number];

/** The XDP mode flag of each xdp attach type (do_attach_detach_xdp). */
const XDP_MODE: Readonly<Partial<Record<NetAttachType, number>>> = {
  xdp: 0,
  xdpgeneric: XDP_FLAGS.SKB_MODE,
  xdpdrv: XDP_FLAGS.DRV_MODE,
  xdpoffload: XDP_FLAGS.HW_MODE,
};
const TCX_TYPE: Readonly<Partial<Record<NetAttachType, number>>> = { tcx_ingress: BPF_ATTACH_TYPE.TCX_INGRESS, tcx_egress: BPF_ATTACH_TYPE.TCX_EGRESS };

function parseAttachType(words: Words): NetAttachType {
  const word = words.next(`an attach type (${ATTACH_TYPES.join(' | ')})`);
  const found = ATTACH_TYPES.find((t) => t === word);
  if (found === undefined) throw new UsageError(`invalid net attach/detach type: ${word}`);
  return found;
}

function parseDev(words: Words): string {
  const keyword = words.next("'dev'");
  if (keyword !== 'dev') throw new UsageError(`expected 'dev', got: '${keyword}'`);
  return words.next('a device name after dev');
}

function* ifindexOf(libc: Libc, dev: string): Sys<number> {
  const ifindex = yield* interfaceIndex(libc, dev);
  if (ifindex < 1) throw new CliError(`invalid devname ${dev}`);
  return ifindex;
}

/** Every link whose info satisfies `wanted`, with an fd on it (the caller closes the fds). */
function* findLinks(libc: Libc, wanted: (info: LinkInfo) => boolean): Sys<{ fd: number; info: LinkInfo }[]> {
  const found: { fd: number; info: LinkInfo }[] = [];
  let id = 0;
  for (;;) {
    const next = yield* libc.bpfLinkGetNextId(id);
    if (next < 0) return found;
    id = next;
    const fd = yield* libc.bpfLinkGetFdById(id);
    if (fd < 0) continue;
    const info = yield* linkInfo(libc, fd);
    if (wanted(info)) found.push({ fd, info });
    else yield* libc.close(fd);
  }
}

const xdpLinkOn = (ifindex: number) => (info: LinkInfo) => info.type === BPF_LINK_TYPE.XDP && info.view.getUint32(BPF_LINK_INFO_XDP.ifindex, true) === ifindex;

const attachVerb: Verb = {
  name: 'net attach',
  summary: 'Attach a program to XDP or tcx of a device',
  synopsis: `(${ATTACH_TYPES.join(' | ')}) PROG dev NAME [overwrite | prepend]`,
  description: `Attach PROG at the device's XDP hook (xdp: any mode, xdpgeneric, xdpdrv, xdpoffload) or tcx (BPF_PROG_ATTACH
with BPF_TCX_INGRESS / BPF_TCX_EGRESS; prepend puts it first). Without overwrite an XDP attach fails when a program is
there. The XDP attachment is a link the commands' process holds (bpftool uses netlink, which the model lacks).`,
  parse(words) {
    const type = parseAttachType(words);
    const prog = parseProgHandle(words);
    const dev = parseDev(words);
    let overwrite = false;
    let prepend = false;
    while (!words.done) {
      const word = words.next("'overwrite' or 'prepend'");
      if (word === 'overwrite' && XDP_MODE[type] !== undefined) overwrite = true;
      else if (word === 'prepend' && TCX_TYPE[type] !== undefined) prepend = true;
      else if (word === 'overwrite') throw new UsageError("'overwrite' is only supported for xdp types");
      else if (word === 'prepend') throw new UsageError("'prepend' is only supported for tcx_ingress/tcx_egress");
      else throw new UsageError(`expected 'overwrite' or 'prepend', got: '${word}'?`);
    }
    return function* (ctx: StepContext) {
      const { libc } = ctx;
      const progFd = yield* oneFd(libc, prog, PROG_KIND);
      const ifindex = yield* ifindexOf(libc, dev);
      const tcx = TCX_TYPE[type];
      let ret: number;
      if (tcx !== undefined) {
        ret = (yield* libc.bpfAttr('PROG_ATTACH', {
          target_fd: ifindex,
          attach_bpf_fd: progFd,
          attach_type: tcx,
          attach_flags: prepend ? BPF_F_ATTACH.BEFORE : 0,
        })).ret;
      } else {
        const existing = overwrite ? yield* findLinks(libc, xdpLinkOn(ifindex)) : [];
        const first = existing[0];
        if (first !== undefined) ret = yield* libc.bpfLinkUpdate(first.fd, progFd);
        else {
          // bpf_xdp_link_attach takes mode flags only (EINVAL for any other): without `overwrite` a program
          // already on the device makes it fail with EBUSY, as netlink's XDP_FLAGS_UPDATE_IF_NOEXIST would.
          const flags = XDP_MODE[type] ?? 0;
          ret = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: progFd, target_ifindex: ifindex, attach_type: BPF_ATTACH_TYPE.XDP, flags })).ret;
          // The link fd stays open: the process holds the attachment, as the device holds a netlink one.
          if (ret >= 0) ret = 0;
        }
        for (const { fd } of existing) yield* libc.close(fd);
      }
      yield* libc.close(progFd);
      if (ret < 0) throw new CliError(`interface ${type} attach failed: ${strerror(-ret)}`);
      if (ctx.mode !== 'plain') ctx.io.out('null\n');
    };
  },
};

const detachVerb: Verb = {
  name: 'net detach',
  summary: 'Detach what is attached at XDP or tcx of a device',
  synopsis: `(${ATTACH_TYPES.join(' | ')}) dev NAME`,
  description: `Detach the program at the device's XDP hook (its link, BPF_LINK_DETACH) or at tcx (BPF_PROG_DETACH).`,
  parse(words) {
    const type = parseAttachType(words);
    const dev = parseDev(words);
    words.end();
    return function* (ctx: StepContext) {
      const { libc } = ctx;
      const ifindex = yield* ifindexOf(libc, dev);
      const tcx = TCX_TYPE[type];
      let ret = 0;
      if (tcx !== undefined) ret = (yield* libc.bpfAttr('PROG_DETACH', { target_fd: ifindex, attach_type: tcx })).ret;
      else {
        for (const { fd } of yield* findLinks(libc, xdpLinkOn(ifindex))) {
          const detached = yield* libc.bpfLinkDetach(fd);
          if (detached < 0) ret = detached;
          yield* libc.close(fd);
        }
      }
      if (ret < 0) throw new CliError(`interface ${type} detach failed: ${strerror(-ret)}`);
      if (ctx.mode !== 'plain') ctx.io.out('null\n');
    };
  },
};

/** attach_loc_strings of net.c. */
/** The most programs one tcx direction holds (bpf_mprog's BPF_MPROG_MAX: 64), the room PROG_QUERY is given. */
const MAX_TCX_PROGS = 64;

/** The devices in /sys/class/net with their ifindex, in ifindex order (bpftool walks them through netlink). */
function* interfaces(libc: Libc): Sys<{ devname: string; ifindex: number }[]> {
  const dir = yield* libc.open('/sys/class/net', O.RDONLY | O.DIRECTORY);
  if (dir < 0) return [];
  const listing = yield* libc.readdir(dir);
  yield* libc.close(dir);
  if (!listing.ok) return [];
  const found: { devname: string; ifindex: number }[] = [];
  for (const entry of listing.value) {
    const ifindex = yield* interfaceIndex(libc, entry.name);
    if (ifindex > 0) found.push({ devname: entry.name, ifindex });
  }
  return found.sort((a, b) => a.ifindex - b.ifindex);
}

const TCX_KIND: Readonly<Record<number, string>> = { [BPF_ATTACH_TYPE.TCX_INGRESS]: 'tcx/ingress', [BPF_ATTACH_TYPE.TCX_EGRESS]: 'tcx/egress' };

function* progName(libc: Libc, id: number): Sys<string | undefined> {
  const fd = (yield* libc.bpfAttr('PROG_GET_FD_BY_ID', { id })).ret;
  if (fd < 0) return undefined;
  const info = yield* libc.bpfProgGetInfo(fd, 0);
  yield* libc.close(fd);
  return info.ok ? info.value.name : undefined;
}

const showVerb: Verb = {
  name: 'net show',
  summary: 'List the programs attached at XDP and tcx of the devices',
  synopsis: '[dev NAME]',
  description: `Print the xdp:, tc: and flow_dissector: sections of bpftool (7.1) net show: each device's XDP
program (mode and id) and tcx programs (kind, name, prog_id, link_id).`,
  parse(words) {
    const dev = words.done ? undefined : parseDev(words);
    words.end();
    return function* (ctx: StepContext) {
      const { libc } = ctx;
      const only = dev === undefined ? undefined : yield* ifindexOf(libc, dev);
      const links = yield* findLinks(libc, (info) => info.type === BPF_LINK_TYPE.XDP);
      const xdp: { devname: string; ifindex: number; mode: string; id: number }[] = [];
      const tc: { devname: string; ifindex: number; kind: string; name: string; prog_id: number; link_id: number }[] = [];
      for (const { fd, info } of links) {
        yield* libc.close(fd);
        const ifindex = info.view.getUint32(BPF_LINK_INFO_XDP.ifindex, true);
        if (ifindex === 0 || (only !== undefined && ifindex !== only)) continue;
        const devname = (yield* interfaceName(libc, ifindex)) ?? '';
        // The link does not say its mode; the model's NICs run XDP in the driver.
        xdp.push({ devname, ifindex, mode: 'driver', id: info.progId });
      }
      // __show_dev_tc_bpf: BPF_PROG_QUERY of each device's tcx ingress and egress lists links and PROG_ATTACH'd programs alike.
      for (const { devname, ifindex } of yield* interfaces(libc)) {
        if (only !== undefined && ifindex !== only) continue;
        for (const attachType of [BPF_ATTACH_TYPE.TCX_INGRESS, BPF_ATTACH_TYPE.TCX_EGRESS]) {
          const q = yield* libc.bpfProgQuery(ifindex, attachType, MAX_TCX_PROGS);
          if (q.ret < 0) continue;
          for (let i = 0; i < Math.min(q.count, MAX_TCX_PROGS); i++) {
            const progId = q.progIds[i] ?? 0;
            tc.push({
              devname,
              ifindex,
              kind: TCX_KIND[attachType] ?? 'tcx',
              name: (yield* progName(libc, progId)) ?? '',
              prog_id: progId,
              link_id: q.linkIds[i] ?? 0,
            });
          }
        }
      }
      if (ctx.mode === 'plain') {
        let out = 'xdp:\n';
        for (const x of xdp) out += `${x.devname}(${x.ifindex}) ${x.mode} id ${x.id}\n`;
        out += '\ntc:\n';
        for (const t of tc)
          out += `${t.devname}(${t.ifindex}) ${t.kind}${t.name === '' ? '' : ` ${t.name}`} prog_id ${t.prog_id} ${t.link_id === 0 ? '' : `link_id ${t.link_id} `}\n`;
        // bpftool 7.1 (recorded on this machine: `lo(1) generic id 137`) has no netfilter: section yet.
        out += '\nflow_dissector:\n\n';
        ctx.io.out(out);
        return;
      }
      const w = jsonWriter(ctx.mode);
      w.startArray();
      w.startObject();
      w.name('xdp');
      w.startArray();
      for (const x of xdp) {
        w.startObject();
        for (const [k, v] of Object.entries(x)) {
          w.name(k);
          if (typeof v === 'string') w.string(v);
          else w.raw(String(v));
        }
        w.endObject();
      }
      w.endArray();
      w.name('tc');
      w.startArray();
      for (const t of tc) {
        w.startObject();
        for (const [k, v] of Object.entries(t)) {
          w.name(k);
          if (typeof v === 'string') w.string(v);
          else w.raw(String(v));
        }
        w.name('prog_flags');
        w.startArray();
        w.endArray();
        w.name('link_flags');
        w.startArray();
        w.endArray();
        w.endObject();
      }
      w.endArray();
      w.name('flow_dissector');
      w.startArray();
      w.endArray();
      w.endObject();
      w.endArray();
      ctx.io.out(w.finish());
    };
  },
};

export const NET_VERBS: readonly Verb[] = [attachVerb, detachVerb, showVerb];
