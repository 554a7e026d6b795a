/**
 * Stacks and context helpers end to end: clang-compiled objects (fixtures/attach/src/{stack_vfs,sig_kill}.bpf.c)
 * loaded with the loader, attached with BpfAttachment on the kernel's hook points (what every attach path
 * builds; the attach syscalls land separately), a workload in the simulated kernel, and what user space reads:
 * stack ids from a hash map, the traces from the STACK_TRACE map symbolised through /proc/kallsyms, and a
 * process killed by bpf_send_signal.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfAttachment, registerBpf, type BpfSyscall } from '@ebpf-sim/bpf';
import { createKernel, type Kernel } from '@ebpf-sim/kernel';
import { load, openObject, type LoadedObject } from '@ebpf-sim/loader';
import { Errno, Libc, O, SIG, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

// A copy in a Uint8Array of its own: a Node Buffer shares a pool, and the loader's slice() would not copy it.
const objectBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(join(repoRoot(), 'apps', 'cli', 'fixtures', 'attach', 'obj', `${name}.bpf.o`)));

/** The kernel's program object loaded as `name` (what a link would hold). */
function progNamed(bpf: BpfSyscall, name: string): Parameters<typeof attachAt>[2] {
  for (let id = bpf.progs.progs.nextAfter(0); id !== 0; id = bpf.progs.progs.nextAfter(id)) {
    const prog = bpf.progs.progs.find(id);
    if (prog?.name === name) return prog;
  }
  throw new Error(`no program named ${name}`);
}

/** Attach a loaded program at `hookName` as a link would: returns the detach function. */
function attachAt(kernel: Kernel, bpf: BpfSyscall, prog: ConstructorParameters<typeof BpfAttachment>[1], hookName: string): () => void {
  return kernel.hooks.require(hookName).attach(new BpfAttachment(bpf.runtime, prog));
}

/** Run `body` as root program `path` in `kernel`; rethrows what it throws. */
function runAs(kernel: Kernel, path: string, body: (libc: Libc) => Generator<number, void, number>): void {
  let failure: unknown;
  let finished = false;
  const user: UserProgram = function* (ctx) {
    try {
      yield* body(new Libc(ctx));
      finished = true;
    } catch (error) {
      failure = error;
    }
    return 0;
  };
  kernel.vfs.registerProgram(path, user);
  kernel.spawn(path, { uid: 0 });
  kernel.run({ untilNs: 100e9 });
  if (failure instanceof Error) throw failure;
  if (failure !== undefined) throw new Error(`the program threw ${JSON.stringify(failure)}`);
  expect(finished).toBe(true);
}

/** /proc/kallsyms as user space parses it: address (hex string) → name, sorted by address. */
function parseKallsyms(text: string): Array<{ address: bigint; type: string; name: string }> {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [address = '', type = '', name = ''] = line.split(' ');
      return { address: BigInt(`0x${address}`), type, name };
    });
}

/** Symbolise an address as user space does with /proc/kallsyms: the last symbol at or below it, +offset. */
function symbolise(symbols: ReturnType<typeof parseKallsyms>, ip: bigint): string {
  let best: (typeof symbols)[number] | undefined;
  for (const sym of symbols) if (sym.address <= ip && (sym.type === 'T' || sym.type === 't')) best = sym;
  return best === undefined ? `0x${ip.toString(16)}` : `${best.name}+0x${(ip - best.address).toString(16)}`;
}

const u64s = (bytes: Uint8Array): bigint[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getBigUint64(i * 8, true));
};

describe('stack_vfs.bpf.o: stacks at the vfs_read kprobe', () => {
  it('collects stack ids whose traces symbolise through /proc/kallsyms to the read(2) path', () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    kernel.vfs.mkdirp('/data');
    let loaded: LoadedObject | undefined;
    let kallsyms = '';
    let counts: Array<{ key: { pid: number; kstack: number; ustack: number }; value: bigint }> = [];
    const traces = new Map<number, bigint[]>();
    let last: { len: bigint; func_ip: bigint; ips: bigint[] } | undefined;
    let myPid = 0;
    runAs(kernel, '/bin/stacker', function* (libc) {
      loaded = yield* load(openObject(objectBytes('stack_vfs'), { name: 'stack_vfs' }), libc);
      const detach = attachAt(kernel, bpf, progNamed(bpf, 'on_vfs_read'), 'kprobe:vfs_read');
      myPid = yield* libc.getpid();
      const fd = yield* libc.open('/data/f', O.RDWR | O.CREAT);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(yield* libc.write(fd, new TextEncoder().encode('hello'))).toBe(5);
      for (let i = 0; i < 3; i++) {
        expect(yield* libc.lseek(fd, 0, 0)).toBe(0);
        expect((yield* libc.read(fd, 5)).ret).toBe(5);
      }
      detach();
      yield* libc.close(fd);
      const entries = yield* (loaded.maps.get('counts') ?? expect.fail('no counts map')).entries();
      counts = entries.map((e) => ({ key: e.key as unknown as { pid: number; kstack: number; ustack: number }, value: BigInt(e.value as unknown as number) }));
      const stackMap = loaded.maps.get('stacks') ?? expect.fail('no stacks map');
      for (const { key } of counts) {
        for (const id of [key.kstack, key.ustack]) {
          if (id < 0 || traces.has(id)) continue;
          const trace = yield* stackMap.lookup(id);
          traces.set(id, u64s(trace as Uint8Array));
        }
      }
      const lastValue = yield* (loaded.maps.get('last') ?? expect.fail('no last map')).lookup(0);
      last = lastValue as unknown as typeof last;
      const kfd = yield* libc.open('/proc/kallsyms');
      const text = yield* libc.readAll(kfd);
      if (!text.ok) throw new Error(`reading /proc/kallsyms: errno ${text.errno}`);
      kallsyms = new TextDecoder().decode(text.value);
      yield* libc.close(kfd);
    });
    expect(loaded).toBeDefined();
    // One (pid, kernel stack, user stack) key, counted once per read(2).
    expect(counts).toHaveLength(1);
    const [entry] = counts;
    expect(entry?.key.pid).toBe(myPid);
    expect(entry?.value).toBe(3n);
    expect(entry?.key.kstack).toBeGreaterThanOrEqual(0);
    expect(entry?.key.ustack).toBeGreaterThanOrEqual(0);

    const symbols = parseKallsyms(kallsyms);
    const kernelTrace = traces.get(entry?.key.kstack ?? -1) ?? [];
    const frames = kernelTrace.filter((ip) => ip !== 0n).map((ip) => symbolise(symbols, ip).split('+')[0]);
    expect(frames).toEqual(['vfs_read', 'ksys_read', '__x64_sys_read', 'x64_sys_call', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    // The kprobe's own frame is one int3 past the function's entry, as kprobe_ftrace_handler leaves regs->ip.
    expect(symbolise(symbols, kernelTrace[0] ?? 0n)).toBe('vfs_read+0x1');
    // Frames past the trace are zero in the map's value.
    expect(kernelTrace.slice(frames.length).every((ip) => ip === 0n)).toBe(true);

    // The user stack is a user-space chain (below the kernel half), innermost first.
    const userTrace = (traces.get(entry?.key.ustack ?? -1) ?? []).filter((ip) => ip !== 0n);
    expect(userTrace.length).toBe(4);
    expect(userTrace.every((ip) => ip < 0x800000000000n)).toBe(true);

    // bpf_get_func_ip is vfs_read's address in /proc/kallsyms; bpf_get_stack skipped the first frame.
    const vfsRead = symbols.find((s) => s.name === 'vfs_read');
    expect(last?.func_ip).toBe(vfsRead?.address);
    expect(last?.len).toBe(BigInt((frames.length - 1) * 8));
    expect(last?.ips.slice(0, frames.length - 1)).toEqual(kernelTrace.slice(1, frames.length));
    expect(last?.ips.slice(frames.length - 1).every((ip) => ip === 0n)).toBe(true);
  });
});

describe('sig_kill.bpf.o: bpf_send_signal from a syscall tracepoint', () => {
  it('kills the target process on its getppid(2), and refuses init (pid 1) with EPERM', () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    kernel.vfs.mkdirp('/data');
    let status = -1;
    let childPid = 0;
    let results: Array<{ key: number; value: bigint }> = [];
    let marker = 0;
    runAs(kernel, '/bin/killer', function* (libc) {
      const loaded = yield* load(openObject(objectBytes('sig_kill'), { name: 'sig_kill' }), libc);
      const cfg = loaded.maps.get('cfg') ?? expect.fail('no cfg map');
      // Target every process first: the controller is pid 1, the global init, which Linux never signals.
      yield* cfg.update(0, { target: 0, sig: SIG.SIGKILL });
      const detach = attachAt(kernel, bpf, progNamed(bpf, 'kill_on_getppid'), 'syscalls:sys_enter_getppid');
      yield* libc.getppid();
      const child: UserProgram = function* (ctx) {
        const c = new Libc(ctx);
        yield* c.getppid();
        // Not reached: SIGKILL is acted on before the task returns to user mode.
        yield* c.open('/data/survived', O.WRONLY | O.CREAT);
        return 0;
      };
      childPid = yield* libc.fork(child);
      const waited = yield* libc.wait4(childPid);
      status = waited.status;
      detach();
      results = (yield* (loaded.maps.get('results') ?? expect.fail('no results map')).entries()).map((e) => ({
        key: e.key as unknown as number,
        value: BigInt(e.value as unknown as number),
      }));
      marker = yield* libc.open('/data/survived');
    });
    expect(childPid).toBeGreaterThan(1);
    // Killed by SIGKILL: the wait status's low 7 bits are the signal.
    expect(status & 0x7f).toBe(SIG.SIGKILL);
    expect(marker).toBe(-Errno.ENOENT);
    const byPid = new Map(results.map((r) => [r.key, r.value]));
    expect(byPid.get(1)).toBe(BigInt(-Errno.EPERM));
    expect(byPid.get(childPid)).toBe(0n);
  });
});
