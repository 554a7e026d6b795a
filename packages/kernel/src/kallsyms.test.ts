import { Errno, Libc, SYSCALL_SPECS } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { KALLSYMS, KERNEL_TEXT_LO, kallsymsShowValue, Kallsyms } from './kallsyms.js';
import { KPROBE_FUNCTIONS } from './hooks/registry.js';
import { LSM_HOOKS } from './hooks/lsm.js';
import { runProgram } from './testing/run-program.js';

/** Read /proc/kallsyms as the program's user (kernel.kptr_restrict set first by root when given). */
function readKallsyms(uid: number, kptrRestrict?: number): string | number {
  let text: string | number = -1;
  runProgram(
    function* (ctx) {
      const libc = new Libc(ctx);
      const fd = yield* libc.open('/proc/kallsyms');
      if (fd < 0) {
        text = fd;
        return 0;
      }
      const all = yield* libc.readAll(fd);
      text = all.ok ? libc.decode(all.value) : all.errno;
      return 0;
    },
    {},
    (kernel) => {
      const slot = kernel.sysctl.get('kernel.kptr_restrict');
      if (slot !== undefined && kptrRestrict !== undefined) slot.value = kptrRestrict;
    },
    { uid },
  );
  return text;
}

describe('the kernel symbol table', () => {
  it('lays every function out at stable, sorted, non-overlapping addresses from _text = ffffffff81000000', () => {
    const again = new Kallsyms();
    expect(again.symbols).toEqual(KALLSYMS.symbols);
    expect(KALLSYMS.get('_text')?.lo).toBe(KERNEL_TEXT_LO);
    for (let i = 1; i < KALLSYMS.symbols.length; i++) {
      const prev = KALLSYMS.symbols[i - 1];
      const sym = KALLSYMS.symbols[i];
      expect(sym?.lo).toBeGreaterThanOrEqual((prev?.lo ?? 0) + (prev?.size ?? 0));
    }
  });

  it('names every kprobe site, every __x64_sys_ wrapper and the LSM hooks (security_ and bpf_lsm_)', () => {
    for (const fn of KPROBE_FUNCTIONS) expect(KALLSYMS.get(fn)?.type).toBe('T');
    for (const spec of SYSCALL_SPECS.values()) expect(KALLSYMS.get(`__x64_sys_${spec.name}`)).toBeDefined();
    for (const hook of LSM_HOOKS) expect(KALLSYMS.get(`bpf_lsm_${hook}`)).toBeDefined();
    expect(KALLSYMS.get('security_file_open')).toBeDefined();
    expect(KALLSYMS.get('syscall_trace_enter')?.type).toBe('t');
    expect(KALLSYMS.get('init_task')?.type).toBe('D');
  });

  it('looks an address up to its function and offset, and nothing past the text', () => {
    const vfsRead = KALLSYMS.get('vfs_read');
    if (vfsRead === undefined) throw new Error('no vfs_read');
    expect(KALLSYMS.lookup(vfsRead.lo + 5)).toEqual({ symbol: vfsRead, offset: 5 });
    expect(KALLSYMS.symbolize(vfsRead.lo + 0x10)).toBe(`vfs_read+0x10/0x${vfsRead.size.toString(16)}`);
    expect(KALLSYMS.lookup(KERNEL_TEXT_LO - 1)).toBeUndefined();
  });

  it('shows addresses as kallsyms_show_value decides: kptr_restrict, perf_event_paranoid, CAP_SYSLOG', () => {
    expect(kallsymsShowValue(0, 2, true)).toBe(true);
    expect(kallsymsShowValue(0, 2, false)).toBe(false);
    expect(kallsymsShowValue(0, 1, false)).toBe(true);
    expect(kallsymsShowValue(1, 1, false)).toBe(false);
    expect(kallsymsShowValue(1, 2, true)).toBe(true);
    expect(kallsymsShowValue(2, -1, true)).toBe(false);
  });
});

describe('/proc/kallsyms', () => {
  it('lists `%px %c %s` lines sorted by address, real addresses for root', () => {
    const text = readKallsyms(0);
    if (typeof text === 'number') throw new Error(`read: ${text}`);
    const lines = text.split('\n');
    expect(lines[0]).toBe('ffffffff81000000 T _text');
    expect(lines[1]).toBe('ffffffff81000000 T _stext');
    expect(text.endsWith('\n')).toBe(true);
    const vfsRead = KALLSYMS.get('vfs_read');
    expect(lines).toContain(`ffffffff${vfsRead?.lo.toString(16)} T vfs_read`);
    const addresses = lines.filter((line) => line !== '').map((line) => BigInt(`0x${line.split(' ')[0] ?? ''}`));
    expect([...addresses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(addresses);
  });

  it('shows zeros to a user without CAP_SYSLOG (perf_event_paranoid 2), and to root with kptr_restrict 2', () => {
    for (const text of [readKallsyms(1000), readKallsyms(0, 2)]) {
      if (typeof text === 'number') throw new Error(`read: ${text}`);
      expect(text.split('\n')[0]).toBe('0000000000000000 T _text');
      expect(text).toContain('0000000000000000 T vfs_read\n');
    }
  });

  it('kernel.kptr_restrict takes 0..2 from CAP_SYS_ADMIN only', () => {
    const results: number[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      for (const value of ['2', '3']) {
        const fd = yield* libc.open('/proc/sys/kernel/kptr_restrict', 1);
        results.push(yield* libc.write(fd, value));
        yield* libc.close(fd);
      }
      return 0;
    });
    expect(results).toEqual([1, -Errno.EINVAL]);
  });
});
