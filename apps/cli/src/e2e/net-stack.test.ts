/**
 * Connection tracing end to end: a clang-compiled object (fixtures/attach/src/net_tcpstates.bpf.c) loaded by the
 * loader, its tracepoint program on sock:inet_sock_set_state and its kprobe on tcp_v4_connect attached with
 * BpfAttachment directly on the hook points (the perf-event attach syscalls land separately), the client/server
 * workload run over lo, and the maps read from user space.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfAttachment, registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { NET_PROGRAMS, registerNetWorkload } from '@ebpf-sim/kernel/demo';
import { load, openObject } from '@ebpf-sim/loader';
import { Libc, TCP_STATE, WEXITSTATUS, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const OBJECT = new Uint8Array(readFileSync(join(repoRoot(), 'apps', 'cli', 'fixtures', 'attach', 'obj', 'net_tcpstates.bpf.o')));

describe('connection tracing over the network stack with a clang object', () => {
  it('counts every TCP state change and every tcp_v4_connect of the client/server workload', () => {
    const kernel = createKernel({ cpus: 2, seed: 5 });
    const bpf = registerBpf(kernel);
    registerNetWorkload(kernel);
    const CLIENTS = 3;
    const result: { status?: number; states?: number[]; connects?: number; error?: string } = {};
    const program: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      try {
        const object = yield* load(openObject(OBJECT, { name: 'net_tcpstates' }), libc);
        const task = kernel.sched.currentTask();
        if (task === undefined) throw new Error('no current task');
        const detach: Array<() => void> = [];
        for (const [name, hook] of [
          ['on_state', 'sock:inet_sock_set_state'],
          ['on_connect', 'kprobe:tcp_v4_connect'],
        ] as const) {
          const prog = bpf.progFromFd(task, object.programs.get(name)?.fd ?? -1);
          if (typeof prog === 'number') throw new Error(`${name}: ${prog}`);
          detach.push(kernel.hooks.require(hook).attach(new BpfAttachment(bpf.runtime, prog)));
        }
        const child = yield* libc.fork(function* (c) {
          return yield* new Libc(c).execve(NET_PROGRAMS.load, ['netload', String(CLIENTS), '2', '9000', 'tcp']);
        });
        result.status = WEXITSTATUS((yield* libc.wait4(child)).status);
        const states = object.maps.get('states');
        const connects = object.maps.get('connects');
        if (states === undefined || connects === undefined) throw new Error('maps missing');
        result.states = [];
        for (let state = 0; state < 13; state++) result.states.push(Number(yield* states.lookup(state)));
        result.connects = Number(yield* connects.lookup(0));
        for (const off of detach) off();
        yield* object.close();
      } catch (error) {
        result.error = error instanceof Error ? error.message : JSON.stringify(error);
      }
      return 0;
    };
    kernel.vfs.registerProgram('/bin/tcpstates', program);
    kernel.spawn('/bin/tcpstates');
    kernel.run({ untilNs: 60e9 });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(0);
    const expected = new Array<number>(13).fill(0);
    // Per connection: the client's SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE and the server child's
    // SYN_RECV, ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE; the listener's LISTEN and CLOSE once.
    expected[TCP_STATE.SYN_SENT] = CLIENTS;
    expected[TCP_STATE.SYN_RECV] = CLIENTS;
    expected[TCP_STATE.ESTABLISHED] = 2 * CLIENTS;
    expected[TCP_STATE.FIN_WAIT1] = CLIENTS;
    expected[TCP_STATE.FIN_WAIT2] = CLIENTS;
    expected[TCP_STATE.CLOSE_WAIT] = CLIENTS;
    expected[TCP_STATE.LAST_ACK] = CLIENTS;
    expected[TCP_STATE.CLOSE] = 2 * CLIENTS + 1;
    expected[TCP_STATE.LISTEN] = 1;
    expect(result.states).toEqual(expected);
    expect(result.connects).toBe(CLIENTS);
  });
});
