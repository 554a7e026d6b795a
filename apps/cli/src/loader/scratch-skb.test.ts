import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, openObject } from '@ebpf-sim/loader';
import { it } from 'vitest';
import { inCorpusKernel } from './corpus.js';

const DIR = join(import.meta.dirname, '../../../../packages/loader/fixtures/corpus');
it('scratch', () => {
  inCorpusKernel(function* (libc) {
    for (const [obj, keep] of [
      ['obj/net_more.bpf.o', ['cls_min_length', 'act_mark', 'lwt_in_count', 'lwt_out_drop_empty', 'lwt_xmit_pass', 'dissect_ipv4', 'sk_skb_plain']],
      ['obj/sockets.bpf.o', ['sk_skb_parser', 'sk_skb_verdict', 'reuseport_pick', 'socket_snap']],
      ['obj/cgroup.bpf.o', ['cgroup_ingress', 'cgroup_egress']],
    ] as const) {
      const spec = openObject(new Uint8Array(readFileSync(join(DIR, obj))), { name: obj.replace(/^obj\/|\.bpf\.o$/g, '') });
      for (const name of keep) {
        const one = { ...spec, programs: spec.programs.filter((p) => p.name === name) };
        try {
          const loaded = yield* load(one, libc, {});
          console.log(obj, name, 'loaded');
          const prog = loaded.programs.get(name);
          if (prog !== undefined) {
            for (const input of ['inputs/ipv4_tcp_http.bin', 'inputs/ipv6_udp_dns.bin', 'inputs/arp_request.bin']) {
              const data = new Uint8Array(readFileSync(join(DIR, input)));
              const r = yield* libc.bpfProgTestRun(prog.fd, { data, dataOutSize: data.length });
              console.log('  run', input, r.ret, r.retval);
            }
          }
          yield* loaded.close();
        } catch (e) {
          console.log(obj, name, 'FAILED', String(e).split('\n').slice(0, 12).join('\n'));
        }
      }
    }
  });
});
