// A micro-check of the NIC model's XDP path, run by hand (not a test: timings depend on the machine):
//   npx pnpm turbo run build --filter=@ebpf-sim/cli... && node apps/cli/scripts/xdp-drop-speed.mjs [frames]
// It loads fixtures/attach/obj/xdp_fw.bpf.o (JIT-compiled: net.core.bpf_jit_enable is 1), links xdp_fw to eth0
// with BPF_LINK_CREATE, blocklists the source of every frame, and pushes frames through the NIC's receive path
// (ring, NAPI poll, xdp_buff, the program, the verdict), printing XDP_DROP frames per second of host time and the
// bytes the JS heap grew per frame (0 when the drop path allocates nothing). The target is >= 10 M/s.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { registerBpf } from '@ebpf-sim/bpf';
import { buildUdpFrame, createKernel } from '@ebpf-sim/kernel';
import { load, openObject } from '@ebpf-sim/loader';
import { BPF_ATTACH_TYPE, Libc } from '@ebpf-sim/uapi';

const frames = Number(process.argv[2] ?? 5_000_000);
const here = dirname(fileURLToPath(import.meta.url));
const object = new Uint8Array(readFileSync(join(here, '../fixtures/attach/obj/xdp_fw.bpf.o')));
const RING = 4096;
const kernel = createKernel({ cpus: 1, devices: { nics: [{ name: 'eth0', rxRingSize: RING }] } });
registerBpf(kernel);
const nic = kernel.devices.nics[0];
let linked = 0;
kernel.vfs.registerProgram('/bin/xdp-speed', function* (ctx) {
  const libc = new Libc(ctx);
  const loaded = yield* load(openObject(object, { name: 'xdp_fw' }), libc, { possibleCpus: 1 });
  yield* libc.bpfMapUpdate(loaded.maps.get('blocklist').fd, new Uint8Array([10, 0, 0, 2]), new Uint8Array([1]));
  linked = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: loaded.programs.get('xdp_fw').fd, target_ifindex: nic.ifindex, attach_type: BPF_ATTACH_TYPE.XDP }))
    .ret;
  // Keep the link open while the frames flow: sleep long in virtual time.
  yield* libc.nanosleep(1e15);
  return 0;
});
kernel.spawn('/bin/xdp-speed', { uid: 0 });
kernel.run({ untilNs: 1e9 });
if (!(linked > 0)) throw new Error(`LINK_CREATE failed: ${linked}`);
const frame = buildUdpFrame(0x0a000002, 0x0a000101, 1000, 53, 18, 0);

function push(count) {
  for (let done = 0; done < count; done += RING) {
    const burst = Math.min(RING, count - done);
    for (let i = 0; i < burst; i++) nic.receive(frame);
    kernel.run({ untilNs: kernel.clock.now + 1e9 });
  }
}

push(200_000); // warm-up: JIT tiers, inline caches
for (let round = 0; round < 3; round++) {
  const before = nic.stats.xdpDrop;
  const heap = process.memoryUsage().heapUsed;
  const start = performance.now();
  push(frames);
  const ms = performance.now() - start;
  const grew = process.memoryUsage().heapUsed - heap;
  const dropped = nic.stats.xdpDrop - before;
  console.log(
    `${dropped} XDP_DROP in ${ms.toFixed(0)} ms: ${(((dropped / ms) * 1e3) / 1e6).toFixed(2)} M frames/s, heap +${(grew / dropped).toFixed(2)} B/frame`,
  );
}
