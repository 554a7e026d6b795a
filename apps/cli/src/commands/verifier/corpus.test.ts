import { describe, expect, it } from 'vitest';
import { runCaptured } from '../../run-captured.js';

describe('ebpf-sim verify-corpus', () => {
  it("prints each program's decision beside Linux's and a summary", async () => {
    const r = await runCaptured(['verify-corpus', '--group', 'nongpl']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^PROGRAM +GROUP +LINUX +HERE +VERDICT$/);
    // A program without kfuncs from a non-GPL object: both kernels load it.
    expect(lines).toContainEqual(expect.stringMatching(/^kf_nongpl_plain +nongpl +loaded +loaded +agree$/));
    // bpf_trace_printk is GPL-only: both refuse it with Linux's line and errno.
    expect(lines).toContainEqual(expect.stringMatching(/^kf_nongpl_printk +nongpl +EINVAL +EINVAL +agree$/));
    expect(lines).toContain('2 programs (Linux 6.18.44-fc-v1272): 2 agree, 0 other reason, 0 refused here, 0 accepted here');
  });

  it("shows Linux's key line beside ours where they differ, and only such programs with --differences", async () => {
    // The same refusal, with the offset of comm in each kernel's task_struct (a difference by design).
    const r = await runCaptured(['verify-corpus', '--group', 'btfptr', '--differences']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'bp_comm_byte_var             btfptr       EACCES   EACCES   other reason\n' +
        '    linux: R1 is ptr_task_struct invalid variable offset: off=1752, var_off=(0x0; 0xf)\n' +
        '    here:  R1 is ptr_task_struct invalid variable offset: off=104, var_off=(0x0; 0xf)\n',
    );
    expect(r.out).not.toMatch(/ agree\n/);
    expect(r.out).toMatch(/^31 programs \(Linux 6\.18\.44-fc-v1272\): \d+ agree, /m);
  });
});
